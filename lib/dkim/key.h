/* DKIM public key records (RFC 6376 §3.6.1), "v=DKIM1; k=rsa; p=...",
   parsed strictly, and the RSA key in p= (a SubjectPublicKeyInfo, or a
   bare RSAPublicKey as some signers publish), by a bounded DER walk. */
#ifndef PM_DKIM_KEY_H
#define PM_DKIM_KEY_H
#include <stddef.h>
#include <bearssl.h>

#define DKIM_KEY_MINBITS 1024     /* RFC 8301 §3.2: smaller keys refused */
#define DKIM_KEY_MAXBITS 4096     /* BearSSL's limit (BR_MAX_RSA_SIZE) */
#define DKIM_KEY_DERMAX 1024      /* a 4096-bit SPKI is ~550 bytes */

typedef struct dkim_key_s dkim_key;
struct dkim_key_s {
  br_rsa_public_key pk;           /* n and e point into der */
  unsigned bits;
  unsigned char der[DKIM_KEY_DERMAX];
  char whybuf[80];                /* *why of a refused key size */
};

/* Parse record s[0..len). 1 ok; 0 refused, with *why: syntax, v= not
   first or not DKIM1, k= other than rsa (ed25519: BearSSL has no Ed25519
   signatures), h= without sha256, s= without email or *, an empty p=
   (revoked), bad base64 or DER, a key under DKIM_KEY_MINBITS or over
   DKIM_KEY_MAXBITS bits. */
int dkim_key_parse(dkim_key *k, char const *s, size_t len, char const **why);

/* The RSA public key of der[0..len) (SPKI or RSAPublicKey) into pk
   (pointing into der), its size in bits into *bits. 1 ok, 0 malformed. */
int dkim_key_der(br_rsa_public_key *pk, unsigned *bits, unsigned char const *der, size_t len);

/* The SubjectPublicKeyInfo DER of pk into out (at most max bytes), as
   p= carries it; its length, or 0 if it does not fit. */
size_t dkim_key_spki(unsigned char *out, size_t max, br_rsa_public_key const *pk);
#endif
