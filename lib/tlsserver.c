#include <stddef.h>
#include <string.h>
#include <strings.h>
#include "tlsserver.h"

/* Forward secrecy and AEAD only (Mozilla's "intermediate" TLS 1.2 list). */
uint16_t const tls_server_suites[] = {
  BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
  BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
  BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
  BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
  BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};
size_t const tls_server_nsuites = sizeof tls_server_suites / sizeof *tls_server_suites;

int tls_keypair_load(tls_keypair *kp, char const *name, char const *certfile,
                     char const *keyfile, char const **why)
{
  memset(kp, 0, sizeof *kp);
  kp->name = name;
  kp->certfile = certfile;
  kp->keyfile = keyfile;
  if (!tls_chain_read(&kp->chain, certfile, why)) return 0;
  if (!tls_key_read(&kp->key, keyfile, why)) goto err;
  if (!tls_key_fits(&kp->key, &kp->chain, &kp->issuer_type, why)) goto err;
  return 1;
err:
  tls_keypair_free(kp);
  return 0;
}

int tls_keypair_check(tls_keypair const *kp, char const **why)
{
  return tls_key_matches(&kp->key, &kp->chain, 0, why);
}

void tls_keypair_free(tls_keypair *kp)
{
  tls_chain_free(&kp->chain);
  tls_key_free(&kp->key);
  explicit_bzero(&kp->pol, sizeof kp->pol);
}

tls_keypair const *tls_server_pick(tls_server const *s, char const *name)
{
  size_t i;
  char const *dot;
  if (!name || !*name) return &s->kp[0];
  for (i = 1; i < s->n; i++)
    if (!strcasecmp(s->kp[i].name, name)) return &s->kp[i];
  dot = strchr(name, '.');
  if (dot && dot[1])
    for (i = 1; i < s->n; i++)
      if (s->kp[i].name[0] == '*' && !strcasecmp(s->kp[i].name + 1, dot)) return &s->kp[i];
  return &s->kp[0];
}

/* Our policy picks a keypair by SNI, then hands over to BearSSL's own
   single-chain policy for it (kept in the keypair). */
#define SERVER(pctx) ((tls_server *)((char *)(pctx) - offsetof(tls_server, vtable)))
#define CHOSEN(s) ((br_ssl_server_policy_class const **)&((tls_keypair *)(s)->chosen)->pol)

static int sni_choose(br_ssl_server_policy_class const **pctx, br_ssl_server_context const *cc,
                      br_ssl_server_choices *choices)
{
  tls_server *s = SERVER(pctx);
  br_ssl_server_policy_class const **p;
  s->chosen = tls_server_pick(s, br_ssl_engine_get_server_name(&cc->eng));
  p = CHOSEN(s);
  return (*p)->choose(p, cc, choices);
}

static uint32_t sni_keyx(br_ssl_server_policy_class const **pctx, unsigned char *data, size_t *len)
{
  br_ssl_server_policy_class const **p = CHOSEN(SERVER(pctx));
  return (*p)->do_keyx(p, data, len);
}

static size_t sni_sign(br_ssl_server_policy_class const **pctx, unsigned algo_id,
                       unsigned char *data, size_t hv_len, size_t len)
{
  br_ssl_server_policy_class const **p = CHOSEN(SERVER(pctx));
  SERVER(pctx)->hassigned = 1;
  return (*p)->do_sign(p, algo_id, data, hv_len, len);
}

static br_ssl_server_policy_class const sni_vtable = {
  sizeof(tls_server), &sni_choose, &sni_keyx, &sni_sign
};

int tls_server_init(tls_server *s, tls_keypair *kp, size_t n)
{
  br_ssl_server_context *sc = &s->sc;
  size_t i;
  /* the full profile sets up hashes, PRFs, AES-GCM, ChaCha20 and ECDHE... */
  if (kp[0].key.type == BR_KEYTYPE_RSA)
    br_ssl_server_init_full_rsa(sc, kp[0].chain.cert, kp[0].chain.n, &kp[0].key.k.rsa);
  else
    br_ssl_server_init_full_ec(sc, kp[0].chain.cert, kp[0].chain.n, kp[0].issuer_type, &kp[0].key.k.ec);
  /* ...then we keep only TLS 1.2 and the suites above */
  br_ssl_engine_set_versions(&sc->eng, BR_TLS12, BR_TLS12);
  br_ssl_engine_set_suites(&sc->eng, tls_server_suites, tls_server_nsuites);
  br_ssl_engine_add_flags(&sc->eng, BR_OPT_ENFORCE_SERVER_PREFERENCES | BR_OPT_NO_RENEGOTIATION);
  /* BearSSL's single-chain policies, signing only (no RSA key exchange),
     set up in the context and copied into each keypair */
  for (i = 0; i < n; i++) {
    if (kp[i].key.type == BR_KEYTYPE_RSA) {
      br_ssl_server_set_single_rsa(sc, kp[i].chain.cert, kp[i].chain.n, &kp[i].key.k.rsa,
        BR_KEYTYPE_SIGN, br_rsa_private_get_default(), br_rsa_pkcs1_sign_get_default());
      kp[i].pol.rsa = sc->chain_handler.single_rsa;
    } else {
      br_ssl_server_set_single_ec(sc, kp[i].chain.cert, kp[i].chain.n, &kp[i].key.k.ec,
        BR_KEYTYPE_SIGN, kp[i].issuer_type, br_ec_get_default(), br_ecdsa_sign_asn1_get_default());
      kp[i].pol.ec = sc->chain_handler.single_ec;
    }
  }
  s->kp = kp;
  s->n = n;
  s->chosen = &kp[0];
  s->hassigned = 0;
  s->vtable = &sni_vtable;
  br_ssl_server_set_policy(sc, &s->vtable);
  br_ssl_engine_set_buffer(&sc->eng, s->iobuf, sizeof s->iobuf, 1);
  return br_ssl_server_reset(sc);
}
