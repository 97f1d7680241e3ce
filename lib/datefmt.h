/* Dates for mail headers (RFC 5322 3.3): "Tue, 5 Mar 2024 12:34:56 +0100". */
#ifndef PM_DATEFMT_H
#define PM_DATEFMT_H
#include <stddef.h>
#include <time.h>

#define DATEFMT_LEN 40   /* room for the longest date and its NUL */

/* Format t in local time (with its UTC offset) into s, NUL-terminated.
   Returns the length, without the NUL. */
size_t datefmt_rfc5322(char *s, time_t t) ;
/* Same in UTC (+0000); stable output for tests and logs. */
size_t datefmt_rfc5322_utc(char *s, time_t t) ;
#endif
