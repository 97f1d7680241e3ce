/* IMAP mailbox names and modified UTF-7: see imapmbox.h. */
#include <string.h>
#include <strings.h>
#include "imapmbox.h"

static char const b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+," ;

static int put8(stralloc *sa, uint32_t u)
{
  char b[4] ;
  size_t n ;
  if (u < 0x80) { b[0] = u ; n = 1 ; }
  else if (u < 0x800) { b[0] = 0xc0 | u >> 6 ; b[1] = 0x80 | (u & 63) ; n = 2 ; }
  else if (u < 0x10000) { b[0] = 0xe0 | u >> 12 ; b[1] = 0x80 | (u >> 6 & 63) ; b[2] = 0x80 | (u & 63) ; n = 3 ; }
  else { b[0] = 0xf0 | u >> 18 ; b[1] = 0x80 | (u >> 12 & 63) ; b[2] = 0x80 | (u >> 6 & 63) ; b[3] = 0x80 | (u & 63) ; n = 4 ; }
  return stralloc_catb(sa, b, n) ? 1 : -1 ;
}

/* One shifted run s[0..n) (between "&" and "-"): UTF-16BE in base64. */
static int run(stralloc *sa, char const *s, size_t n)
{
  uint32_t bits = 0, hi = 0 ;
  unsigned nbits = 0, units = 0 ;
  for (size_t k = 0 ; k < n ; k++) {
    char const *p = memchr(b64, s[k], 64) ;
    if (!s[k] || !p) return 0 ;
    bits = bits << 6 | (p - b64) ;
    nbits += 6 ;
    if (nbits < 16) continue ;
    nbits -= 16 ;
    uint32_t u = bits >> nbits & 0xffff ;
    units++ ;
    if (hi) {
      if (u < 0xdc00 || u > 0xdfff) return 0 ;
      u = 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00) ;
      hi = 0 ;
    } else if (u >= 0xd800 && u <= 0xdbff) { hi = u ; continue ; }
    else if (u >= 0xdc00 && u <= 0xdfff) return 0 ;
    else if (u >= 0x20 && u < 0x7f) return 0 ;   /* must have been written as itself */
    int r = put8(sa, u) ;
    if (r != 1) return r ;
  }
  /* leftover bits: fewer than 6 and all zero */
  return !hi && units && nbits < 6 && !(bits & ((1u << nbits) - 1)) ;
}

int imapmbox_mutf7_decode(stralloc *sa, char const *s, size_t len)
{
  for (size_t k = 0 ; k < len ;) {
    unsigned char ch = s[k] ;
    if (ch < 0x20 || ch >= 0x7f) return 0 ;
    if (ch != '&') {
      if (!stralloc_catb(sa, s + k++, 1)) return -1 ;
      continue ;
    }
    char const *e = memchr(s + k + 1, '-', len - k - 1) ;
    if (!e) return 0 ;
    if (e == s + k + 1) { if (!stralloc_catb(sa, "&", 1)) return -1 ; }
    else {
      int r = run(sa, s + k + 1, e - s - k - 1) ;
      if (r != 1) return r ;
    }
    k = e - s + 1 ;
  }
  return 1 ;
}

/* The next code point of UTF-8 s[*k..len), strictly; -1: invalid. */
static int32_t next8(char const *s, size_t len, size_t *k)
{
  unsigned char c = s[*k] ;
  unsigned n = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : 9 ;
  uint32_t u ;
  if (n == 9 || len - *k <= n) return -1 ;
  u = n ? c & (0x3f >> n) : c ;
  for (unsigned j = 1 ; j <= n ; j++) {
    unsigned char x = s[*k + j] ;
    if ((x & 0xc0) != 0x80) return -1 ;
    u = u << 6 | (x & 63) ;
  }
  if ((n == 2 && u < 0x800) || (n == 3 && (u < 0x10000 || u > 0x10ffff)) || (u >= 0xd800 && u <= 0xdfff)) return -1 ;
  *k += n + 1 ;
  return u ;
}

static int flush(stralloc *sa, uint32_t *bits, unsigned *nbits)
{
  char o[3] ;
  size_t n = 0 ;
  while (*nbits >= 6) { *nbits -= 6 ; o[n++] = b64[*bits >> *nbits & 63] ; if (n == 3) { if (!stralloc_catb(sa, o, n)) return 0 ; n = 0 ; } }
  return stralloc_catb(sa, o, n) ;
}

int imapmbox_mutf7_encode(stralloc *sa, char const *s, size_t len)
{
  size_t k = 0 ;
  while (k < len) {
    unsigned char c = s[k] ;
    if (c >= 0x20 && c < 0x7f) {
      if (!stralloc_catb(sa, c == '&' ? "&-" : s + k, c == '&' ? 2 : 1)) return -1 ;
      k++ ;
      continue ;
    }
    uint32_t bits = 0 ;
    unsigned nbits = 0 ;
    if (!stralloc_catb(sa, "&", 1)) return -1 ;
    while (k < len && ((unsigned char)s[k] < 0x20 || (unsigned char)s[k] >= 0x7f)) {
      int32_t u = next8(s, len, &k) ;
      if (u < 0) return 0 ;
      if (u >= 0x10000) {
        u -= 0x10000 ;
        bits = bits << 16 | (0xd800 + (u >> 10)) ; nbits += 16 ;
        if (!flush(sa, &bits, &nbits)) return -1 ;
        u = 0xdc00 + (u & 0x3ff) ;
      }
      bits = bits << 16 | u ; nbits += 16 ;
      if (!flush(sa, &bits, &nbits)) return -1 ;
    }
    if (nbits) { bits <<= 6 - nbits ; nbits = 6 ; if (!flush(sa, &bits, &nbits)) return -1 ; }
    if (!stralloc_catb(sa, "-", 1)) return -1 ;
  }
  return 1 ;
}

static int valid8(char const *s, size_t len)
{
  for (size_t k = 0 ; k < len ;) {
    int32_t u = next8(s, len, &k) ;
    if (u < 0x20 || u == 0x7f) return 0 ;
  }
  return 1 ;
}

int imapmbox_name(imapcmd const *c, uint32_t i, int utf8, stralloc *sa, char const **err)
{
  char const *s ;
  size_t len ;
  int r ;
  sa->len = 0 ;
  if (!imapcmd_astring(c, i, &s, &len) || !len) { *err = "bad mailbox name" ; return 0 ; }
  if (len == 5 && !strncasecmp(s, "INBOX", 5)) s = "INBOX" ;
  if (utf8) r = valid8(s, len) ? (stralloc_catb(sa, s, len) ? 1 : -1) : 0 ;
  else r = imapmbox_mutf7_decode(sa, s, len) ;
  if (r == 1 && sa->len > IMAPMBOX_MAXLEN) r = 0 ;
  if (r == 1 && !stralloc_0(sa)) r = -1 ;
  if (r == 1) sa->len-- ;
  if (!r) *err = "bad mailbox name" ;
  return r ;
}
