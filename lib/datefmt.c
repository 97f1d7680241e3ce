#include <time.h>
#include <skalibs/types.h>
#include "datefmt.h"

/* Written by hand, not strftime: %a/%b follow the locale, RFC 5322 wants
   the English names whatever the locale. */
static char const days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" } ;
static char const months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" } ;

static size_t two(char *s, unsigned int n)
{
  s[0] = '0' + n / 10 % 10;
  s[1] = '0' + n % 10;
  return 2;
}

static size_t fmt(char *s, struct tm const *tm, long off)
{
  size_t n = 0;
  unsigned int a;
  for (int i = 0; i < 3; i++) s[n++] = days[tm->tm_wday % 7][i];
  s[n++] = ','; s[n++] = ' ';
  n += uint_fmt(s + n, tm->tm_mday);
  s[n++] = ' ';
  for (int i = 0; i < 3; i++) s[n++] = months[tm->tm_mon % 12][i];
  s[n++] = ' ';
  n += uint_fmt(s + n, tm->tm_year + 1900);
  s[n++] = ' ';
  n += two(s + n, tm->tm_hour); s[n++] = ':';
  n += two(s + n, tm->tm_min); s[n++] = ':';
  n += two(s + n, tm->tm_sec > 59 ? 59 : tm->tm_sec);   /* no leap seconds in RFC 5322 */
  s[n++] = ' ';
  s[n++] = off < 0 ? '-' : '+';
  a = (unsigned int)((off < 0 ? -off : off) / 60);
  n += two(s + n, a / 60 % 100);
  n += two(s + n, a % 60);
  s[n] = 0;
  return n;
}

size_t datefmt_rfc5322(char *s, time_t t)
{
  struct tm tm;
  if (!localtime_r(&t, &tm)) return datefmt_rfc5322_utc(s, t);
  return fmt(s, &tm, tm.tm_gmtoff);
}

size_t datefmt_rfc5322_utc(char *s, time_t t)
{
  struct tm tm;
  if (!gmtime_r(&t, &tm)) { tm = (struct tm){ .tm_mday = 1, .tm_year = 70, .tm_wday = 4 }; }
  return fmt(s, &tm, 0);
}
