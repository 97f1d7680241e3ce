#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/iopause.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include "tls.h"
#include "tlsclient.h"
#include "tlspem.h"
#include "tlsserver.h"

/* -- trust anchors ------------------------------------------------------- */

struct tasarg { tls_tas *t; char const *why; };

static void dn_append(void *ctx, void const *s, size_t len)
{
  stralloc *dn = ctx;
  /* on ENOMEM the DN is cut, and the anchor never matches an issuer */
  if (!stralloc_catb(dn, s, len)) dn->len = 0;
}

/* One allocation for the DN and the key numbers of an anchor. */
static int ta_make(br_x509_trust_anchor *ta, stralloc const *dn, br_x509_pkey const *pk, int isca)
{
  size_t klen = pk->key_type == BR_KEYTYPE_RSA ? pk->key.rsa.nlen + pk->key.rsa.elen : pk->key.ec.qlen;
  unsigned char *p = malloc(dn->len + klen + 1);
  if (!p) return 0;
  memcpy(p, dn->s, dn->len);
  ta->dn.data = p;
  ta->dn.len = dn->len;
  ta->flags = isca ? BR_X509_TA_CA : 0;
  ta->pkey = *pk;
  p += dn->len;
  if (pk->key_type == BR_KEYTYPE_RSA) {
    memcpy(p, pk->key.rsa.n, pk->key.rsa.nlen);
    ta->pkey.key.rsa.n = p;
    memcpy(p + pk->key.rsa.nlen, pk->key.rsa.e, pk->key.rsa.elen);
    ta->pkey.key.rsa.e = p + pk->key.rsa.nlen;
  } else {
    memcpy(p, pk->key.ec.q, pk->key.ec.qlen);
    ta->pkey.key.ec.q = p;
  }
  return 1;
}

static int ta_cb(char const *name, unsigned char const *der, size_t len, void *arg)
{
  struct tasarg *a = arg;
  tls_tas *t = a->t;
  br_x509_decoder_context dc;
  br_x509_pkey const *pk;
  stralloc dn = STRALLOC_ZERO;
  int ok;
  if (strcmp(name, "CERTIFICATE") && strcmp(name, "X509 CERTIFICATE") && strcmp(name, "TRUSTED CERTIFICATE"))
    return 1;
  if (t->n >= TLS_TAS_MAX) { a->why = "too many certificates"; return 0; }
  if (t->n == t->a) {
    size_t na = t->a ? 2 * t->a : 64;
    br_x509_trust_anchor *p = realloc(t->ta, na * sizeof *p);
    if (!p) return 0;
    t->ta = p;
    t->a = na;
  }
  br_x509_decoder_init(&dc, &dn_append, &dn);
  br_x509_decoder_push(&dc, der, len);
  pk = br_x509_decoder_get_pkey(&dc);
  if (!pk || !dn.len) { t->skipped++; stralloc_free(&dn); return 1; }
  ok = ta_make(&t->ta[t->n], &dn, pk, br_x509_decoder_isCA(&dc));
  stralloc_free(&dn);
  if (ok) t->n++;
  return ok;
}

int tls_tas_read(tls_tas *t, char const *file, char const **why)
{
  struct tasarg a = { t, 0 };
  if (!tls_pem_file_each(file, TLS_CAFILE_MAX, &ta_cb, &a, why)) {
    int e = errno;
    if (a.why) *why = a.why;
    tls_tas_free(t);
    errno = e;
    return 0;
  }
  if (!t->n) { *why = "no usable certificate"; tls_tas_free(t); return 0; }
  return 1;
}

int tls_tas_load(tls_tas *t, char const *file, stralloc *why)
{
  char const *w;
  if (!file) file = TLS_CAFILE_DEFAULT;
  if (tls_tas_read(t, file, &w)) return 1;
  if (!w) w = strerror(errno);
  if (stralloc_cats(why, file) && stralloc_cats(why, ": ")) stralloc_cats(why, w);
  return 0;
}

void tls_tas_free(tls_tas *t)
{
  for (size_t i = 0; i < t->n; i++) free(t->ta[i].dn.data);
  free(t->ta);
  t->ta = 0;
  t->n = t->a = t->skipped = 0;
}

/* -- the certificate check ------------------------------------------------ */

#define X(ctx) ((tls_x509 *)(void *)(ctx))
#define INNER(x) (&(x)->xm.vtable)

static void xa_start_chain(br_x509_class const **ctx, char const *name)
{
  tls_x509 *x = X(ctx);
  x->ncert = 0;
  x->err = 0;
  (*INNER(x))->start_chain(INNER(x), name);
}

static void xa_start_cert(br_x509_class const **ctx, uint32_t len)
{
  tls_x509 *x = X(ctx);
  (*INNER(x))->start_cert(INNER(x), len);
  if (!x->ncert++) br_x509_decoder_init(&x->dc, 0, 0);
}

static void xa_append(br_x509_class const **ctx, unsigned char const *s, size_t len)
{
  tls_x509 *x = X(ctx);
  (*INNER(x))->append(INNER(x), s, len);
  if (x->ncert == 1) br_x509_decoder_push(&x->dc, s, len);
}

static void xa_end_cert(br_x509_class const **ctx)
{
  tls_x509 *x = X(ctx);
  (*INNER(x))->end_cert(INNER(x));
}

static unsigned xa_end_chain(br_x509_class const **ctx)
{
  tls_x509 *x = X(ctx);
  x->err = (*INNER(x))->end_chain(INNER(x));
  if (x->verify) return x->err;
  if (!x->ncert) return BR_ERR_X509_EMPTY_CHAIN;
  if (!br_x509_decoder_get_pkey(&x->dc)) return br_x509_decoder_last_error(&x->dc);
  return 0;
}

static br_x509_pkey const *xa_get_pkey(br_x509_class const *const *ctx, unsigned *usages)
{
  tls_x509 *x = X(ctx);
  if (x->verify) return (*INNER(x))->get_pkey(INNER(x), usages);
  /* no check: the key may serve any purpose, as with br_x509_knownkey */
  if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
  return br_x509_decoder_get_pkey(&x->dc);
}

static br_x509_class const xa_vtable = {
  sizeof(tls_x509), &xa_start_chain, &xa_start_cert, &xa_append, &xa_end_cert,
  &xa_end_chain, &xa_get_pkey
};

int tls_is_x509_error(int err)
{
  return err > BR_ERR_X509_OK && err < BR_ERR_X509_OK + 32;
}

char const *tls_x509_why(int err)
{
  switch (err) {
  case BR_ERR_X509_NOT_TRUSTED: return "not signed by a trusted authority";
  case BR_ERR_X509_BAD_SERVER_NAME: return "the certificate is not for this host name";
  case BR_ERR_X509_EXPIRED: return "the certificate has expired or is not valid yet";
  case BR_ERR_X509_EMPTY_CHAIN: return "no certificate";
  case BR_ERR_X509_NOT_CA: return "an intermediate certificate is not a CA";
  case BR_ERR_X509_BAD_SIGNATURE: return "bad signature in the certificate chain";
  case BR_ERR_X509_WEAK_PUBLIC_KEY: return "weak public key";
  default: return 0;
  }
}

/* -- the connection --------------------------------------------------------- */

static int fail(tls_client *c, int err)
{
  int e = errno;
  if (!c->err) {
    c->err = err;
    if (err == TLS_ERR_IO) c->syserr = e;
  }
  errno = c->err == TLS_ERR_TIMEOUT ? ETIMEDOUT : c->err == TLS_ERR_IO ? c->syserr : EPROTO;
  return -1;
}

static int await(tls_client *c, short events, tain const *deadline)
{
  iopause_fd x = { .fd = c->fd, .events = events, .revents = 0 };
  for (;;) {
    int r;
    tain_now_g();
    r = iopause_g(&x, 1, deadline);
    if (r > 0) return 1;   /* errors and hang-ups show in read/write */
    if (!r) return fail(c, TLS_ERR_TIMEOUT);
    if (errno != EINTR) return fail(c, TLS_ERR_IO);
  }
}

/* Run the engine until its state has a bit of want (want 0: until all
   records are sent), as BearSSL's br_sslio does, but non-blocking and by
   a deadline. 1 done; 0 the session ended (close_notify, or EOF after the
   handshake); -1 failure (c->err, errno). */
static int run_until(tls_client *c, unsigned int want, tain const *deadline)
{
  br_ssl_engine_context *eng = &c->cc.eng;
  int flushed = 0;
  for (;;) {
    unsigned int st = br_ssl_engine_current_state(eng);
    unsigned char *b;
    size_t len;
    ssize_t r;
    if (st & BR_SSL_CLOSED) {
      int e = br_ssl_engine_last_error(eng);
      if (e) return fail(c, e);
      errno = EPIPE;
      return 0;
    }
    if (st & BR_SSL_SENDREC) {
      b = br_ssl_engine_sendrec_buf(eng, &len);
      r = write(c->fd, b, len);
      if (r > 0) { br_ssl_engine_sendrec_ack(eng, r); flushed = 0; continue; }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (await(c, IOPAUSE_WRITE, deadline) < 0) return -1;
        continue;
      }
      return fail(c, TLS_ERR_IO);
    }
    if (!want || st & want) return 1;
    if (c->eof) { errno = EPIPE; return 0; }
    if (st & BR_SSL_RECVREC) {
      b = br_ssl_engine_recvrec_buf(eng, &len);
      r = read(c->fd, b, len);
      if (r > 0) { br_ssl_engine_recvrec_ack(eng, r); flushed = 0; continue; }
      if (!r) {
        c->eof = 1;
        if (!c->hsdone) return fail(c, TLS_ERR_EOF);
        errno = EPIPE;
        return 0;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (await(c, IOPAUSE_READ, deadline) < 0) return -1;
        continue;
      }
      return fail(c, TLS_ERR_IO);
    }
    /* stuck: push out what the engine holds, once */
    if (flushed) return fail(c, BR_ERR_BAD_STATE);
    br_ssl_engine_flush(eng, 0);
    flushed = 1;
  }
}

int tls_client_start(tls_client *c, int fd, tls_tas const *tas, int verify,
                     char const *name, tain const *deadline)
{
  br_ssl_engine_context *eng = &c->cc.eng;
  /* the full profile sets up hashes, PRFs, ciphers and the minimal
     validator; then only TLS 1.2 and tls-serve's suites are kept */
  br_ssl_client_init_full(&c->cc, &c->x509.xm, tas ? tas->ta : 0, tas ? tas->n : 0);
  br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
  br_ssl_engine_set_suites(eng, tls_server_suites, tls_server_nsuites);
  br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION);
  c->x509.vtable = &xa_vtable;
  c->x509.verify = verify;
  c->x509.ncert = 0;
  c->x509.err = BR_ERR_X509_EMPTY_CHAIN;
  br_ssl_engine_set_x509(eng, &c->x509.vtable);
  br_ssl_engine_set_buffer(eng, c->iobuf, sizeof c->iobuf, 1);
  c->fd = fd;
  c->hsdone = c->eof = c->err = c->syserr = 0;
  if (!br_ssl_client_reset(&c->cc, name && *name ? name : 0, 0)) {
    c->err = br_ssl_engine_last_error(eng);
    if (!c->err) c->err = BR_ERR_BAD_STATE;
    return 0;
  }
  if (run_until(c, BR_SSL_SENDAPP | BR_SSL_RECVAPP, deadline) <= 0) {
    if (!c->err) c->err = TLS_ERR_EOF;
    return 0;
  }
  c->hsdone = 1;
  return 1;
}

ssize_t tls_client_read(void *ctx, char *buf, size_t len, tain const *deadline)
{
  tls_client *c = ctx;
  unsigned char *b;
  size_t n;
  int r = run_until(c, BR_SSL_RECVAPP, deadline);
  if (r <= 0) return r;
  b = br_ssl_engine_recvapp_buf(&c->cc.eng, &n);
  if (n > len) n = len;
  memcpy(buf, b, n);
  br_ssl_engine_recvapp_ack(&c->cc.eng, n);
  return n;
}

int tls_client_write(void *ctx, char const *s, size_t len, tain const *deadline)
{
  tls_client *c = ctx;
  while (len) {
    unsigned char *b;
    size_t n;
    if (run_until(c, BR_SSL_SENDAPP, deadline) <= 0) return 0;
    b = br_ssl_engine_sendapp_buf(&c->cc.eng, &n);
    if (n > len) n = len;
    memcpy(b, s, n);
    br_ssl_engine_sendapp_ack(&c->cc.eng, n);
    s += n;
    len -= n;
  }
  br_ssl_engine_flush(&c->cc.eng, 0);
  return run_until(c, 0, deadline) > 0;
}

void tls_client_close(tls_client *c, tain const *deadline)
{
  if (br_ssl_engine_current_state(&c->cc.eng) & BR_SSL_CLOSED) return;
  br_ssl_engine_close(&c->cc.eng);
  run_until(c, 0, deadline);
}

int tls_client_logfmt(tls_client const *c, stralloc *sa)
{
  br_ssl_session_parameters sp;
  char const *v = tls_version_name(br_ssl_engine_get_version(&c->cc.eng));
  char const *s;
  char buf[TLS_ERRNAME_MAX];
  br_ssl_engine_get_session_parameters(&c->cc.eng, &sp);
  s = tls_suite_name(sp.cipher_suite);
  explicit_bzero(&sp, sizeof sp);
  return stralloc_cats(sa, " tls=") && stralloc_cats(sa, v ? v : "unknown")
      && stralloc_cats(sa, " cipher=") && stralloc_cats(sa, s ? s : "unknown")
      && stralloc_cats(sa, c->x509.err ? " verified=no verifyerr=" : " verified=yes")
      && (!c->x509.err || stralloc_cats(sa, tls_error_name(c->x509.err, buf)));
}

int tls_client_whyfmt(tls_client const *c, stralloc *sa)
{
  char buf[TLS_ERRNAME_MAX];
  char const *x = c->err == TLS_ERR_IO ? strerror(c->syserr) : tls_x509_why(c->err);
  return stralloc_cats(sa, tls_error_name(c->err, buf))
      && (!x || (stralloc_cats(sa, " (") && stralloc_cats(sa, x) && stralloc_cats(sa, ")")));
}
