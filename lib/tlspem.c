#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/alloc.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include "tlspem.h"

/* The whole file, at most max bytes. 1 ok, 0 error (errno). The buffer
   is the file's size: wiping and faulting in max bytes (256 KB) for a key
   of 300 cost more than parsing it, at every connection. */
static int readfile(char const *file, stralloc *sa, size_t max)
{
  struct stat st;
  size_t cap;
  int fd = open_read(file);
  if (fd < 0) return 0;
  if (fstat(fd, &st) < 0) goto err;
  if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) { errno = EFBIG; goto err; }
  /* a byte more: a file that grew is seen; not a file (a pipe): max */
  cap = (S_ISREG(st.st_mode) ? (size_t)st.st_size : max) + 1;
  if (!stralloc_ready(sa, cap)) goto err;
  sa->len = 0;
  for (;;) {
    ssize_t r = read(fd, sa->s + sa->len, cap - sa->len);
    if (r < 0) { if (errno == EINTR) continue; goto err; }
    if (!r) break;
    sa->len += r;
    /* growing the buffer would leave copies of key bytes behind */
    if (sa->len == cap) { errno = EFBIG; goto err; }
  }
  fd_close(fd);
  return 1;
err:
  fd_close(fd);
  return 0;
}

static void sa_wipe(stralloc *sa)
{
  if (sa->s) explicit_bzero(sa->s, sa->a);
  stralloc_free(sa);
}

struct pemdest { stralloc *der; int nomem; };

static void pem_append(void *ctx, void const *src, size_t len)
{
  struct pemdest *d = ctx;
  /* growing would leave copies of key bytes behind; TLS_PEM_MAX is enough */
  if (d->der->len + len > d->der->a) { d->nomem = 1; return; }
  memcpy(d->der->s + d->der->len, src, len);
  d->der->len += len;
}

int tls_pem_each(char const *s, size_t n, tls_pem_cb *cb, void *arg, char const **why)
{
  br_pem_decoder_context pc;
  stralloc der = STRALLOC_ZERO;
  struct pemdest d = { &der, 0 };
  int inobj = 0, nobj = 0, ok = 0, pass;
  *why = 0;
  if (!stralloc_ready(&der, n + 1)) return 0;
  br_pem_decoder_init(&pc);
  br_pem_decoder_setdest(&pc, &pem_append, &d);
  /* the decoder needs an end of line after the last END line */
  for (pass = 0; pass < 2; pass++) {
    char const *p = pass ? "\n" : s;
    size_t len = pass ? 1 : n;
    while (len) {
      size_t k = br_pem_decoder_push(&pc, p, len);
      p += k;
      len -= k;
      switch (br_pem_decoder_event(&pc)) {
      case BR_PEM_BEGIN_OBJ:
        der.len = 0;
        inobj = 1;
        break;
      case BR_PEM_END_OBJ:
        inobj = 0;
        if (d.nomem) { *why = "PEM object too large"; goto end; }
        if (!cb(br_pem_decoder_name(&pc), (unsigned char *)der.s, der.len, arg)) goto end;
        nobj++;
        break;
      case BR_PEM_ERROR:
        *why = "malformed PEM";
        goto end;
      default:
        break;
      }
    }
  }
  if (inobj) *why = "truncated PEM object";
  else if (!nobj) *why = "no PEM object";
  else ok = 1;
end:
  explicit_bzero(&pc, sizeof pc);
  sa_wipe(&der);
  return ok;
}

/* -- certificate chains ------------------------------------------------ */

struct chainarg { tls_chain *c; char const *why; };

static int chain_cb(char const *name, unsigned char const *der, size_t len, void *arg)
{
  struct chainarg *a = arg;
  br_x509_certificate *x;
  if (strcmp(name, "CERTIFICATE") && strcmp(name, "X509 CERTIFICATE")) return 1;
  if (a->c->n >= TLS_CHAIN_MAX) { a->why = "too many certificates"; return 0; }
  x = &a->c->cert[a->c->n];
  x->data = alloc(len ? len : 1);
  if (!x->data) return 0;
  memcpy(x->data, der, len);
  x->data_len = len;
  a->c->n++;
  return 1;
}

int tls_pem_file_each(char const *file, size_t max, tls_pem_cb *cb, void *arg, char const **why)
{
  stralloc sa = STRALLOC_ZERO;
  int r;
  *why = 0;
  if (!readfile(file, &sa, max)) { sa_wipe(&sa); return 0; }
  r = tls_pem_each(sa.s, sa.len, cb, arg, why);
  sa_wipe(&sa);
  return r;
}

static int withfile(char const *file, tls_pem_cb *cb, void *arg, char const **why)
{
  return tls_pem_file_each(file, TLS_PEM_MAX, cb, arg, why);
}

int tls_chain_read(tls_chain *c, char const *file, char const **why)
{
  struct chainarg a = { c, 0 };
  c->n = 0;
  if (!withfile(file, &chain_cb, &a, why)) {
    if (a.why) *why = a.why;
    tls_chain_free(c);
    return 0;
  }
  if (!c->n) { *why = "no certificate"; return 0; }
  return 1;
}

void tls_chain_free(tls_chain *c)
{
  size_t i;
  for (i = 0; i < c->n; i++) alloc_free(c->cert[i].data);
  c->n = 0;
}

/* -- private keys ------------------------------------------------------ */

struct keyarg { tls_key *k; char const *why; };

static unsigned char *put(unsigned char **p, unsigned char const *s, size_t len)
{
  unsigned char *r = *p;
  memcpy(r, s, len);
  *p += len;
  return r;
}

/* Copy the decoded key out of the decoder, whose buffer gets wiped. */
static int key_copy(tls_key *k, br_skey_decoder_context const *dc, char const **why)
{
  unsigned char *p;
  int type = br_skey_decoder_key_type(dc);
  if (type == BR_KEYTYPE_RSA) {
    br_rsa_private_key const *r = br_skey_decoder_get_rsa(dc);
    if (r->n_bitlen < 2048) { *why = "RSA key smaller than 2048 bits"; return 0; }
    k->len = r->plen + r->qlen + r->dplen + r->dqlen + r->iqlen;
    if (!(k->data = p = alloc(k->len))) return 0;
    k->k.rsa = *r;
    k->k.rsa.p = put(&p, r->p, r->plen);
    k->k.rsa.q = put(&p, r->q, r->qlen);
    k->k.rsa.dp = put(&p, r->dp, r->dplen);
    k->k.rsa.dq = put(&p, r->dq, r->dqlen);
    k->k.rsa.iq = put(&p, r->iq, r->iqlen);
  } else if (type == BR_KEYTYPE_EC) {
    br_ec_private_key const *e = br_skey_decoder_get_ec(dc);
    if (e->curve != BR_EC_secp256r1 && e->curve != BR_EC_secp384r1 && e->curve != BR_EC_secp521r1) {
      *why = "unsupported EC curve (use P-256, P-384 or P-521)";
      return 0;
    }
    k->len = e->xlen;
    if (!(k->data = p = alloc(k->len))) return 0;
    k->k.ec = *e;
    k->k.ec.x = put(&p, e->x, e->xlen);
  } else {
    *why = "unknown key type";
    return 0;
  }
  k->type = type;
  return 1;
}

static int key_cb(char const *name, unsigned char const *der, size_t len, void *arg)
{
  struct keyarg *a = arg;
  br_skey_decoder_context dc;
  int ok;
  if (!strcmp(name, "ENCRYPTED PRIVATE KEY")) { a->why = "encrypted private keys are not supported"; return 0; }
  if (strcmp(name, "PRIVATE KEY") && strcmp(name, "RSA PRIVATE KEY") && strcmp(name, "EC PRIVATE KEY"))
    return 1;
  if (a->k->type) { a->why = "more than one private key"; return 0; }
  br_skey_decoder_init(&dc);
  br_skey_decoder_push(&dc, der, len);
  if (br_skey_decoder_last_error(&dc)) { a->why = "undecodable private key"; ok = 0; }
  else ok = key_copy(a->k, &dc, &a->why);
  explicit_bzero(&dc, sizeof dc);
  return ok;
}

int tls_key_read(tls_key *k, char const *file, char const **why)
{
  struct keyarg a = { k, 0 };
  k->type = 0;
  k->data = 0;
  if (!withfile(file, &key_cb, &a, why)) {
    if (a.why) *why = a.why;
    tls_key_free(k);
    return 0;
  }
  if (!k->type) { *why = "no private key"; return 0; }
  return 1;
}

void tls_key_free(tls_key *k)
{
  if (k->data) {
    explicit_bzero(k->data, k->len);
    alloc_free(k->data);
  }
  explicit_bzero(k, sizeof *k);
}

/* -- key and certificate agree ----------------------------------------- */

/* Big-endian integers equal, leading zeros aside. */
static int int_eq(unsigned char const *a, size_t alen, unsigned char const *b, size_t blen)
{
  while (alen && !*a) { a++; alen--; }
  while (blen && !*b) { b++; blen--; }
  return alen == blen && !memcmp(a, b, alen);
}

/* full: an EC key's public point too (a scalar multiplication) */
static int pub_matches(tls_key const *k, br_x509_pkey const *pk, int full)
{
  if (k->type != pk->key_type) return 0;
  if (k->type == BR_KEYTYPE_RSA) {
    unsigned char n[4096 / 8];   /* BearSSL's largest RSA key */
    br_rsa_compute_modulus mod = br_rsa_compute_modulus_get_default();
    size_t len = mod(0, &k->k.rsa);
    if (!len || len > sizeof n || mod(n, &k->k.rsa) != len) return 0;
    return int_eq(n, len, pk->key.rsa.n, pk->key.rsa.nlen);
  } else if (!full) {
    return k->k.ec.curve == pk->key.ec.curve;
  } else {
    unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
    br_ec_public_key pub;
    size_t len = br_ec_compute_pub(br_ec_get_default(), &pub, q, &k->k.ec);
    return len && pub.curve == pk->key.ec.curve
        && len == pk->key.ec.qlen && !memcmp(q, pk->key.ec.q, len);
  }
}

static int check(tls_key const *k, tls_chain const *c, int *issuer_type, int full, char const **why)
{
  br_x509_decoder_context dc;
  br_x509_pkey const *pk;
  *why = 0;
  if (!c->n || !k->type) { *why = "no key or certificate"; return 0; }
  br_x509_decoder_init(&dc, 0, 0);
  br_x509_decoder_push(&dc, c->cert[0].data, c->cert[0].data_len);
  pk = br_x509_decoder_get_pkey(&dc);
  if (!pk || br_x509_decoder_last_error(&dc)) { *why = "undecodable certificate"; return 0; }
  if (!pub_matches(k, pk, full)) { *why = "private key does not match the certificate"; return 0; }
  if (issuer_type) *issuer_type = br_x509_decoder_get_signer_key_type(&dc);
  return 1;
}

int tls_key_matches(tls_key const *k, tls_chain const *c, int *issuer_type, char const **why)
{
  return check(k, c, issuer_type, 1, why);
}

int tls_key_fits(tls_key const *k, tls_chain const *c, int *issuer_type, char const **why)
{
  return check(k, c, issuer_type, 0, why);
}
