/* The server side of TLS with BearSSL: the "full" server profile cut down
   to TLS 1.2 with ECDHE key exchange and AEAD ciphers only, and one
   certificate chain per server name (SNI), with a default. */
#ifndef PM_TLSSERVER_H
#define PM_TLSSERVER_H
#include <stddef.h>
#include <stdint.h>
#include <bearssl.h>
#include "tlspem.h"

/* In our order of preference (the server's order is enforced). */
extern uint16_t const tls_server_suites[];
extern size_t const tls_server_nsuites;

typedef struct tls_keypair_s tls_keypair;
struct tls_keypair_s {
  char const *name;       /* server name served: "" (default), "host.example" or "*.example" */
  char const *certfile, *keyfile;
  tls_chain chain;
  tls_key key;
  int issuer_type;        /* key type of the leaf's issuer */
  union { br_ssl_server_policy_rsa_context rsa; br_ssl_server_policy_ec_context ec; } pol;
};

/* Read certfile (chain, leaf first) and keyfile; check that they agree
   (tls_key_fits: an EC key's public point is checked by tls_keypair_check).
   The names are kept, not copied. 1 ok; 0 error with *why, or *why == 0
   and errno for a system error. */
int tls_keypair_load(tls_keypair *kp, char const *name, char const *certfile,
                     char const *keyfile, char const **why);
void tls_keypair_free(tls_keypair *kp);   /* wipes the key */
/* The full check (tls_key_matches): 1 the key is the certificate's. */
int tls_keypair_check(tls_keypair const *kp, char const **why);

typedef struct tls_server_s tls_server;
struct tls_server_s {
  br_ssl_server_context sc;
  br_ssl_server_policy_class const *vtable;   /* our SNI policy */
  tls_keypair *kp;                            /* kp[0] is the default */
  size_t n;
  tls_keypair const *chosen;                  /* after the ClientHello */
  int hassigned;                              /* chosen's key signed in this handshake */
  unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
};

/* Ready for a handshake; the keypairs must outlive s. 1 ok, 0 error
   (br_ssl_engine_last_error: e.g. no random source). */
int tls_server_init(tls_server *s, tls_keypair *kp, size_t n);

/* The keypair serving name (exact match, then "*." plus its parent
   domain, then the default); name may be 0 or "". */
tls_keypair const *tls_server_pick(tls_server const *s, char const *name);
#endif
