/* IMAP dates: see imapdate.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "imapdate.h"

static char const months[] = "JanFebMarAprMayJunJulAugSepOctNovDec" ;
static unsigned char const mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 } ;

/* Howard Hinnant's days_from_civil. */
int64_t imapdate_days(int y, int m, int d)
{
  int64_t era, yoe, doy ;
  y -= m <= 2 ;
  era = (y >= 0 ? y : y - 399) / 400 ;
  yoe = y - era * 400 ;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1 ;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468 ;
}

static void civil(int64_t z, int *y, int *m, int *d)
{
  int64_t era, doe, yoe, doy, mp ;
  z += 719468 ;
  era = (z >= 0 ? z : z - 146096) / 146097 ;
  doe = z - era * 146097 ;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365 ;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100) ;
  mp = (5 * doy + 2) / 153 ;
  *d = doy - (153 * mp + 2) / 5 + 1 ;
  *m = mp < 10 ? mp + 3 : mp - 9 ;
  *y = yoe + era * 400 + (*m <= 2) ;
}

static int digits(char const *s, size_t n, int *v)
{
  *v = 0 ;
  for (size_t k = 0 ; k < n ; k++) {
    if (s[k] < '0' || s[k] > '9') return 0 ;
    *v = *v * 10 + (s[k] - '0') ;
  }
  return 1 ;
}

static int isleap(int y) { return !(y % 4) && (y % 100 || !(y % 400)) ; }

/* "d-Mon-yyyy" with a day of 1 or 2 characters (" 1" when space). */
static int ymd(char const *s, size_t len, int space, int *y, int *m, int *d)
{
  size_t dl = len == 10 ? 1 : 2 ;
  char const *p ;
  if (len != 10 && len != 11) return 0 ;
  if (space && dl == 2 && s[0] == ' ') { if (!digits(s + 1, 1, d)) return 0 ; }
  else if (!digits(s, dl, d)) return 0 ;
  if (s[dl] != '-' || s[dl + 4] != '-' || !digits(s + dl + 5, 4, y)) return 0 ;
  for (p = months ; *p ; p += 3) if (!strncasecmp(p, s + dl + 1, 3)) break ;
  if (!*p) return 0 ;
  *m = (p - months) / 3 + 1 ;
  return *y >= 1 && *d >= 1 && *d <= mdays[*m - 1] && (*m != 2 || *d < 29 || isleap(*y)) ;
}

int imapdate_date(char const *s, size_t len, int64_t *day)
{
  int y, m, d ;
  if (!ymd(s, len, 0, &y, &m, &d)) return 0 ;
  *day = imapdate_days(y, m, d) ;
  return 1 ;
}

/* "dd-Mon-yyyy hh:mm:ss +zzzz" (26 bytes; day " 1" or "01") */
int imapdate_datetime(char const *s, size_t len, int64_t *t, int *zone)
{
  int y, m, d, H, M, S, zh, zm ;
  if (len != 26 || !ymd(s, 11, 1, &y, &m, &d)) return 0 ;
  if (s[11] != ' ' || s[14] != ':' || s[17] != ':' || s[20] != ' ' || (s[21] != '+' && s[21] != '-')) return 0 ;
  if (!digits(s + 12, 2, &H) || !digits(s + 15, 2, &M) || !digits(s + 18, 2, &S)
      || !digits(s + 22, 2, &zh) || !digits(s + 24, 2, &zm)) return 0 ;
  if (H > 23 || M > 59 || S > 60 || zm > 59) return 0 ;
  *zone = (zh * 60 + zm) * (s[21] == '-' ? -1 : 1) ;
  *t = imapdate_days(y, m, d) * 86400 + H * 3600 + M * 60 + S - *zone * 60 ;
  return 1 ;
}

int64_t imapdate_day(int64_t t, int zone)
{
  int64_t x = t + (int64_t)zone * 60 ;
  return x >= 0 ? x / 86400 : -((-x + 86399) / 86400) ;
}

size_t imapdate_fmt(char *s, int64_t t, int zone)
{
  int64_t day = imapdate_day(t, zone), sec = t + (int64_t)zone * 60 - day * 86400 ;
  int y, m, d, z = zone < 0 ? -zone : zone ;
  civil(day, &y, &m, &d) ;
  if (y < 1 || y > 9999 || z >= 6000) { y = 1970 ; m = 1 ; d = 1 ; sec = 0 ; z = 0 ; zone = 0 ; }
  return snprintf(s, IMAPDATE_LEN, "\"%02d-%.3s-%04d %02d:%02d:%02d %c%02d%02d\"", d, months + 3 * (m - 1), y,
    (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60), zone < 0 ? '-' : '+', z / 60, z % 60) ;
}
