/* The exchange with rspamd (rspamd.h): one HTTP/1.0 request on a fresh
   TCP connection, the answer read whole (bounded), then parsed. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/djbunix.h>
#include <skalibs/ip46.h>
#include <skalibs/socket.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include "lineio.h"
#include "rspamd.h"

#define MAXLINE 1000          /* an HTTP status or header line */
#define MAXHEADERS 100

int rspamd_addr_scan(rspamd_addr *a, char const *s)
{
  ip46 ip;
  size_t n;
  uint16_t port;
  int br = *s == '[';
  n = ip46_scan(s + br, &ip);
  if (!n) return 0;
  s += br + n;
  if (br && *s++ != ']') return 0;
  if (!br && ip46_is6(&ip)) return 0;   /* "::1:11333" is ambiguous */
  if (*s++ != ':') return 0;
  n = uint160_scan(s, &port);
  if (!n || s[n] || !port) return 0;
  memcpy(a->ip, ip.ip, 16);
  a->is6 = ip46_is6(&ip);
  a->port = port;
  return 1;
}

/* "Name: value\r\n", the value cut at the first control byte: a header
   must stay one line, whatever came in the environment or envelope. */
static int hdr(stralloc *sa, char const *name, char const *value)
{
  if (!value || !*value) return 1;
  size_t n = 0;
  while (value[n] && (unsigned char)value[n] >= 32 && value[n] != 127 && n < 1000) n++;
  return stralloc_cats(sa, name) && stralloc_catb(sa, ": ", 2) && stralloc_catb(sa, value, n)
    && stralloc_catb(sa, "\r\n", 2);
}

static int request_head(stralloc *sa, rspamd_request const *q)
{
  char len[UINT64_FMT];
  char const *e = q->env, *end = q->env + q->envlen;
  unsigned int nrcpt = 0;
  len[uint64_fmt(len, q->msglen)] = 0;
  if (!stralloc_cats(sa, "POST /checkv2 HTTP/1.0\r\n") || !hdr(sa, "Content-Length", len)
   || !hdr(sa, "IP", q->ip) || !hdr(sa, "Helo", q->helo) || !hdr(sa, "Hostname", q->hostname)
   || !hdr(sa, "User", q->user) || !hdr(sa, "Queue-Id", q->queueid)
   || !hdr(sa, "TLS-Version", q->tlsversion) || !hdr(sa, "TLS-Cipher", q->tlscipher)) return 0;
  /* the envelope: F then T entries, each NUL-terminated (checked by the caller) */
  if (e < end && *e == 'F' && !hdr(sa, "From", e[1] ? e + 1 : "<>")) return 0;
  for (e += strlen(e) + 1; e < end && *e == 'T' && nrcpt < RSPAMD_MAXRCPT; e += strlen(e) + 1, nrcpt++)
    if (!hdr(sa, "Rcpt", e + 1)) return 0;
  return stralloc_cats(sa, "\r\n");
}

static int send_all(lineio *l, rspamd_request const *q, stralloc const *head, char const **why)
{
  char buf[32768];
  uint64_t left = q->msglen;
  if (!lineio_put(l, head->s, head->len)) { *why = "send the request"; return 0; }
  if (lseek(q->msgfd, 0, SEEK_SET) < 0) { *why = "rewind the message"; return 0; }
  while (left) {
    ssize_t r = read(q->msgfd, buf, left < sizeof buf ? left : sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) { if (!r) errno = EPIPE; *why = "read the message"; return 0; }
    if (!lineio_put(l, buf, r)) { *why = "send the message"; return 0; }
    left -= r;
  }
  if (!lineio_flush(l)) { *why = "send the message"; return 0; }
  return 1;
}

/* Status line and headers: 1 and *clen (-1: not given) if the status is
   200 and the body is plain. */
static int read_head(lineio *l, long *clen, char const **why)
{
  char *line;
  size_t len;
  unsigned int n = 0;
  int r = lineio_getline(l, MAXLINE, &line, &len);
  *clen = -1;
  if (r != LINEIO_LINE) { *why = r < 0 ? "read the answer" : "no answer"; if (r >= 0) errno = EPROTO; return 0; }
  line[len] = 0;
  if (len < 12 || strncmp(line, "HTTP/1.", 7) || strncmp(line + 8, " 200", 4)) {
    errno = EPROTO; *why = "answer is not HTTP 200"; return 0;
  }
  for (;;) {
    r = lineio_getline(l, MAXLINE, &line, &len);
    if (r < 0) { *why = "read the answer"; return 0; }
    if (r != LINEIO_LINE || ++n > MAXHEADERS) { errno = EPROTO; *why = "bad HTTP header"; return 0; }
    if (!len) return 1;
    line[len] = 0;
    if (!strncasecmp(line, "Content-Length:", 15)) {
      uint64_t v;
      char const *s = line + 15;
      while (*s == ' ' || *s == '\t') s++;
      size_t k = uint64_scan(s, &v);
      if (!k || v > RSPAMD_MAXREPLY) { errno = EPROTO; *why = "answer too large or bad Content-Length"; return 0; }
      *clen = (long)v;
    } else if (!strncasecmp(line, "Transfer-Encoding:", 18) || !strncasecmp(line, "Content-Encoding:", 17)) {
      errno = EPROTO; *why = "encoded answer"; return 0;
    }
  }
}

static int read_body(lineio *l, stralloc *body, long clen, char const **why)
{
  for (;;) {
    size_t n = lineio_avail(l);
    if (body->len + n > RSPAMD_MAXREPLY) { errno = EPROTO; *why = "answer too large"; return 0; }
    if (!stralloc_catb(body, lineio_peek(l), n)) { *why = "allocate"; return 0; }
    lineio_skip(l, n);
    if (clen >= 0 && body->len >= (size_t)clen) { body->len = clen; return 1; }
    ssize_t r = lineio_fill(l);
    if (r < 0) { *why = "read the answer"; return 0; }
    if (!r) {
      if (clen < 0) return 1;
      errno = EPROTO; *why = "answer cut short"; return 0;
    }
  }
}

static int exchange(int fd, rspamd_reply *r, rspamd_request const *q, unsigned int secs, char const **why)
{
  static lineio l;           /* 48 KB: not on the stack */
  stralloc head = STRALLOC_ZERO, body = STRALLOC_ZERO;
  long clen;
  int ok = 0;
  lineio_init(&l, fd, fd, secs);
  lineio_deadline(&l, secs);
  if (!request_head(&head, q)) *why = "allocate";
  else if (send_all(&l, q, &head, why) && read_head(&l, &clen, why) && read_body(&l, &body, clen, why)) {
    ok = rspamd_parse(r, body.s ? body.s : "", body.len, why);
    if (!ok) errno = EPROTO;
  }
  stralloc_free(&head);
  stralloc_free(&body);
  return ok;
}

int rspamd_check(rspamd_reply *r, rspamd_addr const *a, rspamd_request const *q,
                 unsigned int secs, char const **why)
{
  ip46 ip;
  tain deadline;
  int fd, ok, e;
  memcpy(ip.ip, a->ip, 16);
  ip.is6 = a->is6;
  fd = socket_tcp46_nbcoe(a->is6);
  if (fd < 0) { *why = "create a socket"; return 0; }
  tain_now_set_stopwatch_g();
  tain_addsec_g(&deadline, secs);
  if (!socket_deadlineconnstamp46_g(fd, &ip, a->port, &deadline)) {
    e = errno; fd_close(fd); errno = e;
    *why = "connect";
    return 0;
  }
  ok = exchange(fd, r, q, secs, why);
  e = errno; fd_close(fd); errno = e;
  return ok;
}
