#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bearssl.h>
#include <skalibs/random.h>
#include <skalibs/types.h>
#include "pwhash.h"

#define PREFIX "$pbkdf2-sha256$"
#define PREFIXLEN (sizeof(PREFIX) - 1)

static char const ab64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./" ;

void pwhash_pbkdf2_sha256(unsigned char *out, size_t outlen, char const *pw, size_t pwlen,
                          unsigned char const *salt, size_t saltlen, uint32_t iter)
{
  br_hmac_key_context kc ;
  br_hmac_context hc ;
  unsigned char u[32], t[32], ctr[4] ;
  uint32_t block = 1 ;
  br_hmac_key_init(&kc, &br_sha256_vtable, pw, pwlen) ;
  while (outlen) {
    size_t n = outlen < 32 ? outlen : 32 ;
    ctr[0] = block >> 24 ; ctr[1] = block >> 16 ; ctr[2] = block >> 8 ; ctr[3] = block ;
    br_hmac_init(&hc, &kc, 0) ;
    br_hmac_update(&hc, salt, saltlen) ;
    br_hmac_update(&hc, ctr, 4) ;
    br_hmac_out(&hc, u) ;
    memcpy(t, u, 32) ;
    for (uint32_t i = 1 ; i < iter ; i++) {
      br_hmac_init(&hc, &kc, 0) ;
      br_hmac_update(&hc, u, 32) ;
      br_hmac_out(&hc, u) ;
      for (unsigned j = 0 ; j < 32 ; j++) t[j] ^= u[j] ;
    }
    memcpy(out, t, n) ;
    out += n ; outlen -= n ; block++ ;
  }
  explicit_bzero(u, sizeof u) ; explicit_bzero(t, sizeof t) ;
  explicit_bzero(&kc, sizeof kc) ; explicit_bzero(&hc, sizeof hc) ;
}

size_t pwhash_ab64_fmt(char *out, unsigned char const *s, size_t n)
{
  size_t w = 0 ;
  for (size_t i = 0 ; i < n ; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 ;
    if (i + 1 < n) v |= (uint32_t)s[i+1] << 8 ;
    if (i + 2 < n) v |= s[i+2] ;
    out[w++] = ab64[v >> 18] ;
    out[w++] = ab64[(v >> 12) & 63] ;
    if (i + 1 < n) out[w++] = ab64[(v >> 6) & 63] ;
    if (i + 2 < n) out[w++] = ab64[v & 63] ;
  }
  return w ;
}

static int ab64_val(char c)
{
  if (c >= 'A' && c <= 'Z') return c - 'A' ;
  if (c >= 'a' && c <= 'z') return c - 'a' + 26 ;
  if (c >= '0' && c <= '9') return c - '0' + 52 ;
  if (c == '.' || c == '+') return 62 ;
  if (c == '/') return 63 ;
  return -1 ;
}

long pwhash_ab64_scan(unsigned char *out, size_t max, char const *s, size_t len)
{
  size_t w = 0 ;
  uint32_t acc = 0 ;
  unsigned bits = 0 ;
  while (len && s[len-1] == '=') len-- ;
  if (len % 4 == 1) return -1 ;
  for (size_t i = 0 ; i < len ; i++) {
    int v = ab64_val(s[i]) ;
    if (v < 0) return -1 ;
    acc = (acc << 6) | (uint32_t)v ; bits += 6 ;
    if (bits >= 8) {
      bits -= 8 ;
      if (w >= max) return -1 ;
      out[w++] = (unsigned char)(acc >> bits) ;
      acc &= (1u << bits) - 1 ;
    }
  }
  return (long)w ;
}

static uint32_t iterations(void)
{
  char const *x = getenv("PWHASH_ITERATIONS") ;
  uint32_t n ;
  if (x && *x && !x[uint32_scan(x, &n)] && n >= 1 && n <= PWHASH_ITERMAX) return n ;
  return PWHASH_ITER ;
}

int pwhash_make(stralloc *out, char const *pw, size_t len)
{
  unsigned char salt[PWHASH_SALTLEN], dk[PWHASH_LEN] ;
  char buf[PREFIXLEN + UINT32_FMT + 1 + 24 + 1 + 44 + 1] ;
  size_t w = PREFIXLEN ;
  uint32_t iter = iterations() ;
  random_buf((char *)salt, sizeof salt) ;
  pwhash_pbkdf2_sha256(dk, sizeof dk, pw, len, salt, sizeof salt, iter) ;
  memcpy(buf, PREFIX, PREFIXLEN) ;
  w += uint32_fmt(buf + w, iter) ;
  buf[w++] = '$' ;
  w += pwhash_ab64_fmt(buf + w, salt, sizeof salt) ;
  buf[w++] = '$' ;
  w += pwhash_ab64_fmt(buf + w, dk, sizeof dk) ;
  explicit_bzero(dk, sizeof dk) ;
  if (!stralloc_catb(out, buf, w) || !stralloc_0(out)) return 0 ;
  out->len-- ;
  return 1 ;
}

static int pbkdf2_verify(char const *hash, char const *pw, size_t len)
{
  unsigned char salt[64], want[PWHASH_LEN], got[PWHASH_LEN] ;
  uint32_t iter ;
  size_t n, saltend, hlen = strlen(hash) ;
  long saltlen ;
  unsigned char diff = 0 ;
  if (hlen < PREFIXLEN || memcmp(hash, PREFIX, PREFIXLEN)) return -1 ;
  hash += PREFIXLEN ; hlen -= PREFIXLEN ;
  n = uint32_scan(hash, &iter) ;
  if (!n || n >= hlen || hash[n] != '$' || iter < 1 || iter > PWHASH_ITERMAX) return -1 ;
  hash += n + 1 ; hlen -= n + 1 ;
  saltend = 0 ;
  while (saltend < hlen && hash[saltend] != '$') saltend++ ;
  if (saltend == hlen) return -1 ;
  saltlen = pwhash_ab64_scan(salt, sizeof salt, hash, saltend) ;
  if (saltlen < 0) return -1 ;
  hash += saltend + 1 ; hlen -= saltend + 1 ;
  if (pwhash_ab64_scan(want, sizeof want, hash, hlen) != PWHASH_LEN) return -1 ;
  pwhash_pbkdf2_sha256(got, sizeof got, pw, len, salt, (size_t)saltlen, iter) ;
  for (unsigned i = 0 ; i < PWHASH_LEN ; i++) diff |= got[i] ^ want[i] ;
  explicit_bzero(got, sizeof got) ;
  return !diff ;
}

int pwhash_verify(char const *hash, char const *pw, size_t len)
{
  if (!strncmp(hash, PREFIX, PREFIXLEN)) return pbkdf2_verify(hash, pw, len) ;
  return pwhash_crypt_verify(hash, pw, len) ;
}

void pwhash_verify_dummy(char const *pw, size_t len)
{
  static unsigned char const salt[PWHASH_SALTLEN] = "pipemail-dummy" ;
  unsigned char got[PWHASH_LEN] ;
  pwhash_pbkdf2_sha256(got, sizeof got, pw, len, salt, sizeof salt, PWHASH_ITER) ;
  explicit_bzero(got, sizeof got) ;
}

int pwhash_valid(char const *hash)
{
  if (!*hash) return 0 ;
  for (char const *p = hash ; *p ; p++)
    if (*p <= ' ' || *p >= 0x7f || *p == ':') return 0 ;
  return pwhash_verify(hash, "", 0) >= 0 ;
}
