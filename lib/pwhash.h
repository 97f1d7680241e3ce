/* Password hashes. New ones: PBKDF2-HMAC-SHA256 in passlib's format
     $pbkdf2-sha256$ITERATIONS$SALT$HASH
   SALT and HASH in passlib's "ab64" base64 ('.' for '+', no padding);
   16-byte salt, 32-byte hash. Hashes made by passlib's pbkdf2_sha256 verify
   here and the other way round.
   Also verified (lib/pwcrypt.c, libcrypt's crypt_rn), for hashes brought
   from /etc/shadow or Dovecot: the crypt(3) forms $y$ (yescrypt), $gy$,
   $7$ (scrypt), $6$ (SHA-512-crypt), $5$ (SHA-256-crypt), $2b$ $2y$ $2a$
   (bcrypt), alone or after Dovecot's {CRYPT}, {SHA512-CRYPT} ($6$),
   {SHA256-CRYPT} ($5$) or {BLF-CRYPT} ($2?$) (scheme in any case).
   Anything else ({PLAIN}, MD5-crypt $1$, DES crypt, ...) is malformed:
   never a match; so is a bcrypt cost above 16 or SHA-crypt rounds above
   10000000 (a bound on the time, as PWHASH_ITERMAX). A program that links
   this module links -lcrypt (see the Makefile). */
#ifndef PM_PWHASH_H
#define PM_PWHASH_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>

#define PWHASH_ITER 50000       /* default for new hashes: ~45 ms here */
#define PWHASH_ITERMAX 10000000 /* a stored hash above this is malformed (bounds CPU) */
#define PWHASH_SALTLEN 16
#define PWHASH_LEN 32

/* Append a new hash of pw (random salt, PWHASH_ITER iterations) to out,
   NUL-terminated (out->len excludes the NUL). 1 ok, 0 ENOMEM. The iteration
   count can be lowered or raised with $PWHASH_ITERATIONS (tests). */
int pwhash_make(stralloc *out, char const *pw, size_t len) ;
/* 1 if pw matches hash, 0 if not, -1 if hash is malformed or of another kind.
   The comparison takes constant time. */
int pwhash_verify(char const *hash, char const *pw, size_t len) ;
/* The work of pwhash_verify on a hash of the kind pwhash_make makes, with
   no result: for an unknown user or a disabled login, so that the failure
   takes as long as a wrong password. */
void pwhash_verify_dummy(char const *pw, size_t len) ;
/* 1 if hash is one pwhash_verify can check (and fits a line of etc/users:
   printable ASCII, no ':' or blank), else 0. */
int pwhash_valid(char const *hash) ;

/* The crypt(3) and Dovecot part of pwhash_verify (lib/pwcrypt.c): -2 if hash
   is not of that family, else as pwhash_verify. */
int pwhash_crypt_verify(char const *hash, char const *pw, size_t len) ;

/* The primitives, exposed for the unit tests. */
void pwhash_pbkdf2_sha256(unsigned char *out, size_t outlen, char const *pw, size_t pwlen,
                          unsigned char const *salt, size_t saltlen, uint32_t iter) ;
/* ab64 of n bytes into out (at most 4*n/3+3 chars); returns the length. */
size_t pwhash_ab64_fmt(char *out, unsigned char const *s, size_t n) ;
/* Decode ab64 (also standard base64, with or without '=' padding) of len chars
   into out (room for max bytes). Returns the byte count, or -1 if malformed. */
long pwhash_ab64_scan(unsigned char *out, size_t max, char const *s, size_t len) ;
#endif
