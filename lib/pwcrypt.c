/* pwhash: the crypt(3) hashes of /etc/shadow and Dovecot, through
   libcrypt (libxcrypt) crypt_rn. See pwhash.h. */
#include <crypt.h>
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
  if (!h) return -1 ;
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
