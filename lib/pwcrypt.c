/* pwhash: the crypt(3) hashes of /etc/shadow and Dovecot, through
   libcrypt (libxcrypt) crypt_rn. See pwhash.h. */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pwhash.h"

/* The crypt(3) kinds taken: strong ones only (no MD5-crypt, no DES). */
static char const *const kinds[] = { "$y$", "$gy$", "$7$", "$6$", "$5$", "$2b$", "$2y$", "$2a$", 0 } ;

/* Dovecot's schemes that are crypt(3) strings, and the kinds each allows. */
static struct { char const *name ; char const *kinds ; } const schemes[] = {
  { "CRYPT", "" },                    /* any of kinds[] */
  { "SHA512-CRYPT", "$6$" },
  { "SHA256-CRYPT", "$5$" },
  { "BLF-CRYPT", "$2b$ $2y$ $2a$" },
} ;

static int kind_ok(char const *hash, char const *allowed)
{
  for (unsigned i = 0 ; kinds[i] ; i++) {
    size_t n = strlen(kinds[i]) ;
    if (strncmp(hash, kinds[i], n)) continue ;
    return !*allowed || strstr(allowed, kinds[i]) != 0 ;
  }
  return 0 ;
}

/* The cost a stored hash may ask for, as PWHASH_ITERMAX bounds PBKDF2's:
   each takes a few seconds at most. (yescrypt and scrypt costs are left
   to libcrypt's own limits.) */
#define BCRYPT_COSTMAX 16           /* 2^16 rounds; 12 is a common default */
#define SHACRYPT_ROUNDSMAX 10000000 /* 5000 is the default */

static int cost_ok(char const *h)
{
  unsigned long n ;
  char *end ;
  if (h[1] == '2') {                /* $2b$NN$ */
    if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9') return 0 ;
    return (h[4] - '0') * 10 + (h[5] - '0') <= BCRYPT_COSTMAX ;
  }
  if ((h[1] == '5' || h[1] == '6') && !strncmp(h + 3, "rounds=", 7)) {
    if (h[10] < '0' || h[10] > '9') return 0 ;
    n = strtoul(h + 10, &end, 10) ;
    return *end == '$' && n <= SHACRYPT_ROUNDSMAX ;
  }
  return 1 ;
}

/* hash without its {SCHEME} prefix, if the scheme and kind are taken; else 0. */
static char const *crypt_string(char const *hash)
{
  char const *end ;
  if (hash[0] != '{') return kind_ok(hash, "") ? hash : 0 ;
  end = strchr(hash, '}') ;
  if (!end) return 0 ;
  for (unsigned i = 0 ; i < sizeof schemes / sizeof *schemes ; i++) {
    size_t n = strlen(schemes[i].name) ;
    if ((size_t)(end - hash - 1) == n && !strncasecmp(hash + 1, schemes[i].name, n))
      return kind_ok(end + 1, schemes[i].kinds) ? end + 1 : 0 ;
  }
  return 0 ;
}

/* crypt_rn's work area (~32 KiB, off the stack), wiped after each use: it
   holds state derived from the password. */
static struct crypt_data cd ;

int pwhash_crypt_verify(char const *hash, char const *pw, size_t len)
{
  char const *h = crypt_string(hash), *out ;
  char in[CRYPT_MAX_PASSPHRASE_SIZE] ;
  size_t hlen ;
  unsigned char diff = 0 ;
  int r ;
  if (!h || !cost_ok(h)) return -1 ;
  /* crypt(3) takes a C string: such a password cannot be the one */
  if (len >= sizeof in || memchr(pw, 0, len)) return 0 ;
  memcpy(in, pw, len) ;
  in[len] = 0 ;
  memset(&cd, 0, sizeof cd) ;
  out = crypt_rn(in, h, &cd, sizeof cd) ;
  hlen = strlen(h) ;
  /* a setting crypt refuses, or a hash part of the wrong length for it,
     can match no password: malformed */
  if (!out || out[0] == '*' || strlen(out) != hlen) r = -1 ;
  else {
    for (size_t i = 0 ; i < hlen ; i++) diff |= (unsigned char)(out[i] ^ h[i]) ;
    r = !diff ;
  }
  explicit_bzero(in, sizeof in) ;
  explicit_bzero(&cd, sizeof cd) ;
  return r ;
}
