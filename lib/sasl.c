/* SASL base64 and PLAIN: see sasl.h. */
#include <string.h>
#include <strings.h>
#include "sasl.h"

static char const b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" ;

static int val(unsigned char c)
{
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

ssize_t sasl_b64decode(char *out, char const *s, size_t n)
{
  size_t o = 0;
  if (n % 4) return -1;
  for (size_t i = 0; i < n; i += 4) {
    int v[4], pad = 0;
    for (int k = 0; k < 4; k++) {
      if (s[i+k] == '=' && i + 4 == n && k >= 2) { v[k] = 0; pad++; continue; }
      if (pad || (v[k] = val(s[i+k])) < 0) return -1;   /* data after '=' */
    }
    out[o++] = (char)(v[0] << 2 | v[1] >> 4);
    if (pad < 2) out[o++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
    if (pad < 1) out[o++] = (char)((v[2] & 3) << 6 | v[3]);
    /* canonical: the bits the padding drops are zero (RFC 4648 3.5) */
    if ((pad == 2 && (v[1] & 15)) || (pad == 1 && (v[2] & 3))) return -1;
  }
  return (ssize_t)o;
}

size_t sasl_b64encode(char *out, char const *s, size_t n)
{
  size_t o = 0;
  unsigned char const *u = (unsigned char const *)s;
  for (size_t i = 0; i < n; i += 3) {
    unsigned int w = (unsigned int)u[i] << 16 | (i + 1 < n ? u[i+1] << 8 : 0) | (i + 2 < n ? u[i+2] : 0);
    out[o++] = b64[w >> 18 & 63];
    out[o++] = b64[w >> 12 & 63];
    out[o++] = i + 1 < n ? b64[w >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? b64[w & 63] : '=';
  }
  return o;
}

int sasl_userok(char const *s, size_t n)
{
  return n && n <= SASL_USERMAX && !memchr(s, 0, n);
}

int sasl_passok(char const *s, size_t n)
{
  return n <= SASL_PASSMAX && !memchr(s, 0, n);
}

int sasl_plain(char const *s, size_t n, sasl_cred *c)
{
  char const *z1 = memchr(s, 0, n), *z2;
  size_t zlen;
  if (!z1) return SASL_MALFORMED;
  zlen = (size_t)(z1 - s);
  z2 = memchr(z1 + 1, 0, n - zlen - 1);
  if (!z2) return SASL_MALFORMED;
  c->user = z1 + 1;
  c->userlen = (size_t)(z2 - c->user);
  c->pass = z2 + 1;
  c->passlen = n - (size_t)(c->pass - s);
  if (!c->userlen || memchr(c->pass, 0, c->passlen)) return SASL_MALFORMED;
  if (c->userlen > SASL_USERMAX || c->passlen > SASL_PASSMAX || zlen > SASL_USERMAX) return SASL_TOOLONG;
  if (zlen && (zlen != c->userlen || strncasecmp(s, c->user, zlen)))
    return SASL_AUTHZID;
  return SASL_OK;
}
