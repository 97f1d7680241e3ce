#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include "tls.h"

void tls_io_init(tls_io *io, int netin, int netout, int appin, int appout,
                 unsigned int hssecs, unsigned int idlesecs)
{
  memset(io, 0, sizeof *io);
  io->netin = netin;
  io->netout = netout;
  io->appin = appin;
  io->appout = appout;
  ndelay_on(netin);
  ndelay_on(netout);
  /* BearSSL hands us a flight record by record (ChangeCipherSpec, then
     Finished): under Nagle the second waits for the peer's delayed ACK,
     40 ms a handshake. Not a TCP socket (a pipe): nothing to do. */
  setsockopt(netout, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
  if (appin >= 0) ndelay_on(appin);
  if (appout >= 0) ndelay_on(appout);
  tain_now_g();
  tain_addsec_g(&io->hsdeadline, hssecs);
  if (idlesecs) tain_uint(&io->idle, idlesecs);
  else io->idle = tain_infinite_relative;
}

static void closefd(int *fd)
{
  if (*fd >= 0) fd_close(*fd);
  *fd = -1;
}

/* Follow record boundaries in the ciphertext we feed to the engine, so that
   an EOF in the middle of a record can be told from one between records. */
static void track(tls_io *io, unsigned char const *s, size_t n)
{
  while (n) {
    if (io->rechdr < 5) {
      io->hdr[io->rechdr++] = *s++;
      n--;
      if (io->rechdr == 5) io->recleft = (size_t)io->hdr[3] << 8 | io->hdr[4];
    } else {
      size_t k = n < io->recleft ? n : io->recleft;
      io->recleft -= k;
      s += k;
      n -= k;
    }
    if (io->rechdr == 5 && !io->recleft) io->rechdr = 0;
  }
}

static int fail(tls_io *io, int err)
{
  if (err == TLS_ERR_IO) io->syserr = errno;
  io->err = err;
  closefd(&io->appout);
  closefd(&io->appin);
  return TLS_RUN_FAIL;
}

static int done(tls_io *io)
{
  closefd(&io->appout);
  closefd(&io->appin);
  return TLS_RUN_DONE;
}

/* The ciphertext side. 1 go on, 0 stop (return *ret). */
static int net_write(br_ssl_engine_context *eng, tls_io *io, int neteof, int *ret)
{
  size_t len;
  unsigned char *b = br_ssl_engine_sendrec_buf(eng, &len);
  ssize_t w;
  if (!len) return 1;
  w = write(io->netout, b, len);
  if (w < 0) {
    if (errno == EAGAIN || errno == EINTR) return 1;
    /* the peer went away after its EOF: nothing left to tell it */
    *ret = neteof ? done(io) : fail(io, TLS_ERR_IO);
    return 0;
  }
  br_ssl_engine_sendrec_ack(eng, w);
  return 1;
}

static int net_read(br_ssl_engine_context *eng, tls_io *io, int *neteof, int *ret)
{
  size_t len;
  unsigned char *b = br_ssl_engine_recvrec_buf(eng, &len);
  ssize_t r;
  if (!len) return 1;
  r = read(io->netin, b, len);
  if (r < 0) {
    if (errno == EAGAIN || errno == EINTR) return 1;
    *ret = fail(io, TLS_ERR_IO);
    return 0;
  }
  if (!r) {
    *neteof = 1;
    if (!io->hsdone || io->rechdr) {
      *ret = fail(io, io->rechdr ? TLS_ERR_TRUNCATED : TLS_ERR_EOF);
      return 0;
    }
    io->err = TLS_ERR_EOF;   /* no close_notify: noted, not an error */
    return 1;
  }
  track(io, b, r);
  br_ssl_engine_recvrec_ack(eng, r);
  return 1;
}

/* The plaintext side. A write error means the application is gone: what
   arrives for it from then on is dropped. */
static void app_write(br_ssl_engine_context *eng, tls_io *io, int *discard)
{
  size_t len;
  unsigned char *b = br_ssl_engine_recvapp_buf(eng, &len);
  ssize_t w;
  if (!len) return;
  w = write(io->appout, b, len);
  if (w < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    closefd(&io->appout);
    *discard = 1;
    return;
  }
  br_ssl_engine_recvapp_ack(eng, w);
  io->inbytes += w;
}

static void app_read(br_ssl_engine_context *eng, tls_io *io)
{
  size_t len;
  unsigned char *b = br_ssl_engine_sendapp_buf(eng, &len);
  ssize_t r;
  if (!len) return;
  r = read(io->appin, b, len);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (r <= 0) { closefd(&io->appin); return; }
  br_ssl_engine_sendapp_ack(eng, r);
  /* a record per read: the application wrote what it had to say */
  br_ssl_engine_flush(eng, 0);
  io->outbytes += r;
}

static void feed_pre(br_ssl_engine_context *eng, tls_io *io)
{
  size_t len;
  unsigned char *b = br_ssl_engine_recvrec_buf(eng, &len);
  if (len > io->prelen) len = io->prelen;
  memcpy(b, io->pre, len);
  track(io, io->pre, len);
  io->pre += len;
  io->prelen -= len;
  br_ssl_engine_recvrec_ack(eng, len);
}

enum { NETIN, NETOUT, APPIN, APPOUT };

int tls_run(br_ssl_engine_context *eng, tls_io *io, int until_handshake)
{
  int discard = 0, closing = 0, neteof = io->netin < 0, ret = TLS_RUN_FAIL;
  tain last;
  tain_now_g();
  last = STAMP;
  for (;;) {
    iopause_fd x[4];
    int ix[4] = { -1, -1, -1, -1 };
    unsigned int n = 0, st = br_ssl_engine_current_state(eng);
    tain deadline;
    size_t len;
    int r, i;

    if (st & BR_SSL_CLOSED) {
      int e = br_ssl_engine_last_error(eng);
      return e ? fail(io, e) : done(io);
    }
    if (!io->hsdone && st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) { io->hsdone = 1; last = STAMP; }
    if (io->hsdone && until_handshake && !(st & BR_SSL_SENDREC)) return TLS_RUN_HANDSHAKE;
    if (io->prelen && st & BR_SSL_RECVREC) { feed_pre(eng, io); continue; }
    if (discard && st & BR_SSL_RECVAPP) {
      br_ssl_engine_recvapp_buf(eng, &len);
      br_ssl_engine_recvapp_ack(eng, len);
      continue;
    }
    /* the peer is done: the application gets EOF once it has everything */
    if (neteof && io->appout >= 0 && !(st & BR_SSL_RECVAPP)) closefd(&io->appout);
    if (io->hsdone && !until_handshake && io->appin < 0) {
      if (!closing) {
        br_ssl_engine_flush(eng, 0);
        br_ssl_engine_close(eng);
        closing = 1;
        continue;
      }
      /* our close_notify is out: no need to wait for the peer's (RFC 5246 7.2.1) */
      if (!(st & BR_SSL_SENDREC)) return done(io);
    }

    if (!neteof && st & BR_SSL_RECVREC) { x[n].fd = io->netin; x[n].events = IOPAUSE_READ; ix[NETIN] = n++; }
    if (st & BR_SSL_SENDREC) { x[n].fd = io->netout; x[n].events = IOPAUSE_WRITE; ix[NETOUT] = n++; }
    if (io->appin >= 0 && io->hsdone && !until_handshake && st & BR_SSL_SENDAPP) {
      x[n].fd = io->appin; x[n].events = IOPAUSE_READ; ix[APPIN] = n++;
    }
    if (io->appout >= 0 && st & BR_SSL_RECVAPP) { x[n].fd = io->appout; x[n].events = IOPAUSE_WRITE; ix[APPOUT] = n++; }
    if (!n) return neteof ? done(io) : fail(io, BR_ERR_BAD_STATE);

    if (io->hsdone) tain_add(&deadline, &last, &io->idle);
    else deadline = io->hsdeadline;
    r = iopause_g(x, n, &deadline);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail(io, TLS_ERR_IO);
    }
    if (!r) return fail(io, TLS_ERR_TIMEOUT);
    last = STAMP;
    for (i = 0; i < 4; i++) {
      iopause_fd const *p = ix[i] >= 0 ? &x[ix[i]] : 0;
      if (!p || !(p->revents & (p->events | IOPAUSE_EXCEPT))) continue;
      switch (i) {
      case NETOUT: if (!net_write(eng, io, neteof, &ret)) return ret; break;
      case APPOUT: if (io->appout >= 0) app_write(eng, io, &discard); break;
      case NETIN: if (!net_read(eng, io, &neteof, &ret)) return ret; break;
      case APPIN: if (io->appin >= 0) app_read(eng, io); break;
      }
    }
  }
}

/* -- names ------------------------------------------------------------- */

#define E(x) [BR_ERR_##x] = "BR_ERR_" #x
static char const *const brerr[] = {
  E(OK), E(BAD_PARAM), E(BAD_STATE), E(UNSUPPORTED_VERSION), E(BAD_VERSION),
  E(BAD_LENGTH), E(TOO_LARGE), E(BAD_MAC), E(NO_RANDOM), E(UNKNOWN_TYPE),
  E(UNEXPECTED), E(BAD_CCS), E(BAD_ALERT), E(BAD_HANDSHAKE), E(OVERSIZED_ID),
  E(BAD_CIPHER_SUITE), E(BAD_COMPRESSION), E(BAD_FRAGLEN), E(BAD_SECRENEG),
  E(EXTRA_EXTENSION), E(BAD_SNI), E(BAD_HELLO_DONE), E(LIMIT_EXCEEDED),
  E(BAD_FINISHED), E(RESUME_MISMATCH), E(INVALID_ALGORITHM), E(BAD_SIGNATURE),
  E(WRONG_KEY_USAGE), E(NO_CLIENT_AUTH), E(IO),
  E(X509_INVALID_VALUE), E(X509_TRUNCATED), E(X509_EMPTY_CHAIN),
  E(X509_INNER_TRUNC), E(X509_BAD_TAG_CLASS), E(X509_BAD_TAG_VALUE),
  E(X509_INDEFINITE_LENGTH), E(X509_EXTRA_ELEMENT), E(X509_UNEXPECTED),
  E(X509_NOT_CONSTRUCTED), E(X509_NOT_PRIMITIVE), E(X509_PARTIAL_BYTE),
  E(X509_BAD_BOOLEAN), E(X509_OVERFLOW), E(X509_BAD_DN), E(X509_BAD_TIME),
  E(X509_UNSUPPORTED), E(X509_LIMIT_EXCEEDED), E(X509_WRONG_KEY_TYPE),
  E(X509_BAD_SIGNATURE), E(X509_TIME_UNKNOWN), E(X509_EXPIRED),
  E(X509_DN_MISMATCH), E(X509_BAD_SERVER_NAME), E(X509_CRITICAL_EXTENSION),
  E(X509_NOT_CA), E(X509_FORBIDDEN_KEY_USAGE), E(X509_WEAK_PUBLIC_KEY),
  E(X509_NOT_TRUSTED),
};
#undef E

char const *tls_error_name(int err, char *buf)
{
  char const *base;
  size_t n;
  switch (err) {
  case TLS_ERR_TIMEOUT: return "timeout";
  case TLS_ERR_EOF: return "eof";
  case TLS_ERR_TRUNCATED: return "truncated";
  case TLS_ERR_IO: return "io";
  }
  if (err >= 0 && (size_t)err < sizeof brerr / sizeof *brerr && brerr[err]) return brerr[err];
  if (err >= BR_ERR_SEND_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT + 256) {
    base = "BR_ERR_SEND_FATAL_ALERT+";
    err -= BR_ERR_SEND_FATAL_ALERT;
  } else if (err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_RECV_FATAL_ALERT + 256) {
    base = "BR_ERR_RECV_FATAL_ALERT+";
    err -= BR_ERR_RECV_FATAL_ALERT;
  } else {
    base = "unknown+";
    if (err < 0) err = 0;
  }
  n = strlen(base);
  memcpy(buf, base, n);
  buf[n + uint_fmt(buf + n, (unsigned int)err)] = 0;
  return buf;
}

char const *tls_version_name(unsigned int v)
{
  switch (v) {
  case BR_TLS12: return "TLSv1.2";
  case BR_TLS11: return "TLSv1.1";
  case BR_TLS10: return "TLSv1";
  default: return 0;
  }
}

static struct { uint16_t id; char const *name; } const suites[] = {
  { BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256" },
  { BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384" },
  { BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384" },
  { BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305" },
  { BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256" },
  { BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE-RSA-AES128-SHA256" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, "ECDHE-ECDSA-AES256-SHA384" },
  { BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, "ECDHE-RSA-AES256-SHA384" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA" },
  { BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA" },
  { BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA" },
  { BR_TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256" },
  { BR_TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384" },
  { BR_TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA" },
  { BR_TLS_RSA_WITH_AES_256_CBC_SHA, "AES256-SHA" },
};

char const *tls_suite_name(uint16_t id)
{
  size_t i;
  for (i = 0; i < sizeof suites / sizeof *suites; i++)
    if (suites[i].id == id) return suites[i].name;
  return 0;
}

/* -- environment ------------------------------------------------------- */

static int cat(char *buf, size_t max, size_t *n, char const *s, size_t len)
{
  if (*n + len >= max) return 0;
  memcpy(buf + *n, s, len);
  *n += len;
  return 1;
}

size_t tls_env_fmt(br_ssl_engine_context const *eng, char *buf, size_t max, int unset_absent)
{
  br_ssl_session_parameters sp;
  char const *v = tls_version_name(br_ssl_engine_get_version(eng));
  char const *c;
  char const *sni = br_ssl_engine_get_server_name(eng);
  char name[256];
  size_t n = 0, i;
  br_ssl_engine_get_session_parameters(eng, &sp);
  c = tls_suite_name(sp.cipher_suite);
  explicit_bzero(&sp, sizeof sp);
  /* the client chose the name: keep it to host name characters */
  for (i = 0; sni && sni[i] && i < sizeof name - 1; i++) {
    char ch = sni[i];
    name[i] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
              || ch == '.' || ch == '-' || ch == '_' || ch == '*' ? ch : '?';
  }
  name[i] = 0;
  if (!v) v = "unknown";
  if (!c) c = "unknown";
  if (!cat(buf, max, &n, "SSL_PROTOCOL=", 13) || !cat(buf, max, &n, v, strlen(v) + 1)
   || !cat(buf, max, &n, "SSL_CIPHER=", 11) || !cat(buf, max, &n, c, strlen(c) + 1)) return 0;
  if (name[0]) {
    if (!cat(buf, max, &n, "SSL_TLS_SNI_SERVERNAME=", 23) || !cat(buf, max, &n, name, i + 1)) return 0;
  } else if (unset_absent && !cat(buf, max, &n, "SSL_TLS_SNI_SERVERNAME", 23)) return 0;
  if (!cat(buf, max, &n, "", 1)) return 0;
  return n;
}
