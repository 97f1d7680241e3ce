/* IMAP dates (RFC 3501 date, date-time): SEARCH's "1-Feb-1994" (bare or
   quoted) and APPEND's / INTERNALDATE's "01-Feb-1994 21:03:59 +0100". */
#ifndef PM_IMAPDATE_H
#define PM_IMAPDATE_H
#include <stddef.h>
#include <stdint.h>

#define IMAPDATE_LEN 29   /* a quoted date-time and its NUL */

/* Days since 1970-01-01 of year y (1..9999), month m (1..12), day d. */
int64_t imapdate_days(int y, int m, int d) ;
/* s[0..len) as a date (d-Mon-yyyy, day of 1 or 2 digits, year
   1..9999): 1 and its day number (imapdate_days), or 0. */
int imapdate_date(char const *s, size_t len, int64_t *day) ;
/* s[0..len) as a date-time (without its quotes): 1, the time in seconds
   since the epoch (UTC) and the zone in minutes east of UTC; or 0. */
int imapdate_datetime(char const *s, size_t len, int64_t *t, int *zone) ;
/* The day number of time t seen in zone (minutes east): what SEARCH
   compares, "disregarding time and timezone" (RFC 3501 6.4.4). */
int64_t imapdate_day(int64_t t, int zone) ;
/* t in zone as a quoted date-time, NUL-terminated in s
   ("\"06-Dec-2026 19:20:18 +0000\""); its length. */
size_t imapdate_fmt(char *s, int64_t t, int zone) ;
#endif
