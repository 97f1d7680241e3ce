#include <errno.h>
#include <string.h>
#include "saslplain.h"

static int b64val (unsigned char c)
{
  if (c >= 'A' && c <= 'Z') return c - 'A' ;
  if (c >= 'a' && c <= 'z') return c - 'a' + 26 ;
  if (c >= '0' && c <= '9') return c - '0' + 52 ;
  if (c == '+') return 62 ;
  if (c == '/') return 63 ;
  return -1 ;
}

/* Strict base64: length a multiple of 4, '=' only at the end. Decoded
   length, or -1. */
static long b64decode (char const *s, size_t len, char *out, size_t max)
{
  size_t o = 0 ;
  if (len % 4) return -1 ;
  for (size_t i = 0 ; i < len ; i += 4)
  {
    int v[4], pad = 0 ;
    for (unsigned j = 0 ; j < 4 ; j++)
    {
      if (s[i+j] == '=' && i + 4 == len && j >= 2) { v[j] = 0 ; pad++ ; continue ; }
      if (pad || (v[j] = b64val(s[i+j])) < 0) return -1 ;
    }
    if (o + 3 - pad > max) return (errno = E2BIG, -2) ;
    out[o++] = (v[0] << 2) | (v[1] >> 4) ;
    if (pad < 2) out[o++] = (v[1] << 4) | (v[2] >> 2) ;
    if (pad < 1) out[o++] = (v[2] << 6) | v[3] ;
  }
  return o ;
}

int saslplain_decode (char const *b64, size_t len, char *out, char const **user, char const **pass)
{
  long n = b64decode(b64, len, out, SASLPLAIN_MAX) ;
  char *a, *b ;
  if (n == -2) return 0 ;
  if (n < 0) return (errno = EINVAL, 0) ;
  out[n] = 0 ;
  a = memchr(out, 0, n) ;
  b = a ? memchr(a + 1, 0, out + n - a - 1) : 0 ;
  if (!a || !b || b == a + 1 || b + 1 == out + n || memchr(b + 1, 0, out + n - b - 1)) return (errno = EPROTO, 0) ;
  if (a != out && strcmp(out, a + 1)) return (errno = EPERM, 0) ;
  *user = a + 1 ;
  *pass = b + 1 ;
  return 1 ;
}
