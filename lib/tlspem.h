/* Certificates and private keys from PEM files, for BearSSL (which has
   no file or PEM-to-object layer of its own). Shared by the TLS server
   (tls-serve) and the TLS client. Key material is wiped when freed. */
#ifndef PM_TLSPEM_H
#define PM_TLSPEM_H
#include <stddef.h>
#include <bearssl.h>

#define TLS_PEM_MAX (256 * 1024)   /* largest PEM file read */
#define TLS_CHAIN_MAX 10           /* certificates in a chain */

typedef struct tls_chain_s tls_chain;
struct tls_chain_s {
  br_x509_certificate cert[TLS_CHAIN_MAX];   /* leaf first; DER owned */
  size_t n;
};
#define TLS_CHAIN_ZERO { .n = 0 }

typedef struct tls_key_s tls_key;
struct tls_key_s {
  int type;                 /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC; 0: none */
  union { br_rsa_private_key rsa; br_ec_private_key ec; } k;
  unsigned char *data;      /* storage for the numbers k points into */
  size_t len;
};
#define TLS_KEY_ZERO { .type = 0, .data = 0, .len = 0 }

/* Each PEM object of s[0..n) in turn: cb(name, der, derlen, arg), which
   returns 1 to go on, 0 to stop with an error. 1 ok (at least one object);
   0 error: *why says what, or is 0 with errno set (cb failed). */
typedef int tls_pem_cb(char const *name, unsigned char const *der, size_t len, void *arg);
int tls_pem_each(char const *s, size_t n, tls_pem_cb *cb, void *arg, char const **why);
/* tls_pem_each over a file of at most max bytes (larger: 0, errno EFBIG),
   e.g. a CA bundle, which can be larger than TLS_PEM_MAX. */
int tls_pem_file_each(char const *file, size_t max, tls_pem_cb *cb, void *arg, char const **why);

/* Read a certificate chain (leaf first, as in a web server's "fullchain"
   file) or a private key (PKCS#1 RSA, SEC1 EC or unencrypted PKCS#8).
   1 ok; 0 error: *why is a reason ("no certificate", "bad key") or 0 for a
   system error (errno). Files larger than TLS_PEM_MAX are refused. */
int tls_chain_read(tls_chain *c, char const *file, char const **why);
int tls_key_read(tls_key *k, char const *file, char const **why);
void tls_chain_free(tls_chain *c);
void tls_key_free(tls_key *k);   /* wipes the key */

/* Does the key belong to the chain's leaf certificate? Also gives the key
   type of the leaf's issuer (BR_KEYTYPE_RSA/EC), which BearSSL's EC policy
   wants. 1 yes; 0 no or undecodable, with *why. */
int tls_key_matches(tls_key const *k, tls_chain const *c, int *issuer_type, char const **why);
/* The same, except that an EC key is only checked to be of the
   certificate's curve: computing its public point is a scalar
   multiplication, as long as a handshake's signature. A wrong EC key then
   shows in the handshake (the client refuses its signature), which is
   where tls-serve calls tls_key_matches. */
int tls_key_fits(tls_key const *k, tls_chain const *c, int *issuer_type, char const **why);
#endif
