/* The client side of TLS with BearSSL, in process (remote-send's STARTTLS):
   TLS 1.2 with tls-serve's suites (ECDHE, AEAD; lib/tlsserver.h), SNI, and
   the server's certificate either verified (chain to a trust anchor, name)
   or only looked at. The connection then reads and writes with deadlines,
   as the functions of a lineio_io (lib/lineio.h, lib/smtpc.h). */
#ifndef PM_TLSCLIENT_H
#define PM_TLSCLIENT_H
#include <stddef.h>
#include <sys/types.h>
#include <bearssl.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

/* -- trust anchors ------------------------------------------------------- */

#define TLS_CAFILE_DEFAULT "/etc/ssl/certs/ca-certificates.crt"   /* Debian's bundle */
#define TLS_CAFILE_MAX (4 * 1024 * 1024)   /* bytes of a CA file */
#define TLS_TAS_MAX 2000                   /* certificates in it */

typedef struct tls_tas_s tls_tas;
struct tls_tas_s {
  br_x509_trust_anchor *ta;   /* each with its DN and key in one allocation */
  size_t n, a;
  size_t skipped;             /* certificates BearSSL cannot decode (e.g. Ed25519) */
};
#define TLS_TAS_ZERO { .ta = 0, .n = 0, .a = 0, .skipped = 0 }

/* Every certificate of a PEM file (a CA bundle) as a trust anchor: a CA
   anchor if it says it is a CA, else one for that server alone. 1 ok (at
   least one); 0 error: *why, or *why 0 and errno. */
int tls_tas_read(tls_tas *t, char const *file, char const **why);
void tls_tas_free(tls_tas *t);
/* tls_tas_read of file (0: TLS_CAFILE_DEFAULT), with the reason for a
   failure appended to why as "FILE: reason". */
int tls_tas_load(tls_tas *t, char const *file, stralloc *why);

/* -- the certificate check ------------------------------------------------ */

/* BearSSL has no "accept any certificate" validator, and its minimal
   validator gives no key at all for most failures (wrong name, expired).
   This one runs the minimal validator for its verdict, and decodes the
   leaf itself for the key: with verify it is the minimal validator (its
   verdict decides), without it any decodable certificate is accepted and
   the verdict is only kept, for the log. */
typedef struct tls_x509_s tls_x509;
struct tls_x509_s {
  br_x509_class const *vtable;
  br_x509_minimal_context xm;
  br_x509_decoder_context dc;   /* the leaf certificate */
  int verify;
  unsigned int ncert;
  int err;                      /* the verdict: 0 trusted, else BR_ERR_X509_* */
};

/* -- the connection --------------------------------------------------------- */

typedef struct tls_client_s tls_client;
struct tls_client_s {
  br_ssl_client_context cc;
  tls_x509 x509;
  int fd;                       /* the socket (non-blocking) */
  int hsdone, eof;
  int err;                      /* BR_ERR_* or TLS_ERR_* (lib/tls.h) after a failure */
  int syserr;                   /* errno for TLS_ERR_IO */
  unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
};

/* Handshake on fd (non-blocking) by the deadline. name: the server's host
   name, sent as SNI and checked against the certificate (0: neither).
   tas may be 0 (no anchors: nothing is trusted). verify: a certificate that
   is not trusted, or does not match name, fails the handshake. 1 ok; 0
   failed: c->err (tls_error_name; a BR_ERR_X509_* for a certificate). */
int tls_client_start(tls_client *c, int fd, tls_tas const *tas, int verify,
                     char const *name, tain const *deadline);

/* lineio_io (smtpc_io) functions, ctx a tls_client after tls_client_start.
   read: >0 bytes, 0 end (close_notify or the peer closed the connection),
   -1 error (errno: ETIMEDOUT, EPROTO for a TLS error in c->err, or that of
   the socket). write: 1 ok, 0 error (errno). */
ssize_t tls_client_read(void *ctx, char *buf, size_t len, tain const *deadline);
int tls_client_write(void *ctx, char const *s, size_t len, tain const *deadline);

/* Send close_notify (without waiting for the peer's). */
void tls_client_close(tls_client *c, tain const *deadline);

/* Append " tls=TLSv1.2 cipher=NAME verified=yes" (or "verified=no
   verifyerr=BR_ERR_X509_..."), for a log line. 0 on ENOMEM. */
int tls_client_logfmt(tls_client const *c, stralloc *sa);

/* Why tls_client_start failed, appended to sa: "BR_ERR_X509_NOT_TRUSTED
   (not signed by a trusted authority)", "io (Connection reset by peer)".
   0 on ENOMEM. */
int tls_client_whyfmt(tls_client const *c, stralloc *sa);

/* A few words on a certificate error ("not signed by a trusted
   authority"), 0 for other errors. */
char const *tls_x509_why(int err);
/* Is err about the certificate (BR_ERR_X509_*)? */
int tls_is_x509_error(int err);
#endif
