#include <errno.h>
#include <ifaddrs.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include "smtpc.h"

/* ---- the connection ---- */

void smtpc_fdio_init(smtpc_io *io, smtpc_fdio *f, int rfd, int wfd)
{
  lineio_fdio_init(io, f, rfd, wfd);
}

void smtpc_init(smtpc *c, smtpc_io const *io)
{
  lineio_init_io(&c->l, io, 0);
  c->reply = stralloc_zero;
  c->nlines = 0;
  c->why = "";
  c->bol = 1;
}

void smtpc_setio(smtpc *c, smtpc_io const *io)
{
  lineio_setio(&c->l, io);
}

void smtpc_free(smtpc *c)
{
  stralloc_free(&c->reply);
}

int smtpc_flush(smtpc *c, tain const *deadline)
{
  return lineio_flush_until(&c->l, deadline);
}

int smtpc_put(smtpc *c, char const *s, size_t n, tain const *deadline)
{
  return lineio_put_until(&c->l, s, n, deadline);
}

int smtpc_puts(smtpc *c, char const *s, tain const *deadline)
{
  return lineio_put_until(&c->l, s, strlen(s), deadline);
}

/* ---- replies ---- */

int smtpc_replyline(char const *s, size_t len, unsigned int *code, int *last)
{
  if (len < 3) return 0;
  if (s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9') return 0;
  if (len > 3 && s[3] != ' ' && s[3] != '-') return 0;
  *code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
  *last = len == 3 || s[3] == ' ';
  return 1;
}

_Static_assert(SMTPC_LINEMAX < LINEIO_INSIZE - 1, "a reply line and its CRLF fit in lineio's buffer");

/* Next line of input: 1 with *line, *len (no CRLF); or a getreply result. */
static int read_line(smtpc *c, tain const *deadline, char **line, size_t *len)
{
  int r = lineio_getline_until(&c->l, SMTPC_LINEMAX, line, len, deadline);
  if (r == LINEIO_LINE) return 1;
  if (r == LINEIO_EOF) return SMTPC_EOF;
  if (r < 0) return SMTPC_ERROR;
  c->why = "reply line too long";
  return SMTPC_BADREPLY;
}

int smtpc_getreply(smtpc *c, tain const *deadline)
{
  c->reply.len = 0;
  c->nlines = 0;
  if (!smtpc_flush(c, deadline)) return SMTPC_ERROR;
  for (;;) {
    char *line;
    size_t len;
    unsigned int code;
    int last;
    int r = read_line(c, deadline, &line, &len);
    if (r != 1) return r;
    if (!smtpc_replyline(line, len, &code, &last)) {
      c->why = "malformed reply line";
      return SMTPC_BADREPLY;
    }
    if (++c->nlines > SMTPC_LINESMAX) {
      c->why = "too many reply lines";
      return SMTPC_BADREPLY;
    }
    if ((c->reply.len && !stralloc_catb(&c->reply, "\n", 1))
     || !stralloc_catb(&c->reply, line, len)
     || !stralloc_0(&c->reply)) return SMTPC_ERROR;
    c->reply.len--;
    if (last) return code;
  }
}

size_t smtpc_esc(char const *s, size_t len)
{
  size_t i = 0;
  if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return 0;
  i = 2;
  for (int part = 0; part < 2; part++) {
    size_t d = 0;
    while (i < len && d < 4 && s[i] >= '0' && s[i] <= '9') { i++; d++; }
    if (!d || d > 3) return 0;
    if (!part) {
      if (i >= len || s[i] != '.') return 0;
      i++;
    }
  }
  return i == len || s[i] == ' ' ? i : 0;
}

int smtpc_oneline(stralloc *sa, char const *reply, size_t len)
{
  char const *nl1 = len ? memchr(reply, '\n', len) : 0;
  size_t e = nl1 ? (size_t)(nl1 - reply) : len;
  char const *esc = reply + 4;
  size_t esclen = e > 4 ? smtpc_esc(esc, e - 4) : 0;
  if (!len) return 1;
  /* "550-5.1.1 a" -> "550 5.1.1 a": the hyphen only said more lines follow */
  if (!stralloc_catb(sa, reply, e == 4 ? 3 : e)) return 0;
  if (e > 4 && reply[3] == '-') sa->s[sa->len - e + 3] = ' ';
  while (e < len) {
    char const *s = reply + e + 1;
    size_t n = len - e - 1;
    char const *nl = memchr(s, '\n', n);
    if (nl) n = nl - s;
    e = s + n - reply;
    if (n <= 4) continue;
    s += 4; n -= 4;
    /* Postfix style: "550-5.1.1 a\n550 5.1.1 b" -> "550 5.1.1 a b" */
    if (esclen && n >= esclen && !memcmp(s, esc, esclen) && (n == esclen || s[esclen] == ' ')) {
      s += esclen; n -= esclen;
      while (n && *s == ' ') { s++; n--; }
    }
    if (n && (!stralloc_catb(sa, " ", 1) || !stralloc_catb(sa, s, n))) return 0;
  }
  return 1;
}

size_t smtpc_replyname(char const *reply, size_t len, char const **name)
{
  size_t n = 0;
  if (len <= 4) return 0;
  reply += 4; len -= 4;
  while (len && *reply == ' ') { reply++; len--; }
  while (n < len && reply[n] != ' ' && reply[n] != '\n') n++;
  *name = reply;
  return n;
}

/* Decimal in s[0..n) fitting in 64 bits, else 0. */
static uint64_t scan_size(char const *s, size_t n)
{
  uint64_t u = 0;
  if (!n) return 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    if (u > (UINT64_MAX - 9) / 10) return 0;
    u = u * 10 + (s[i] - '0');
  }
  return u;
}

static int kw_is(char const *s, size_t n, char const *kw)
{
  return strlen(kw) == n && !strncasecmp(s, kw, n);
}

unsigned int smtpc_ehlo(char const *reply, size_t len, uint64_t *sizemax)
{
  static struct { char const *kw; unsigned int bit; } const kws[] = {
    { "PIPELINING", SMTPC_PIPELINING }, { "SIZE", SMTPC_SIZE },
    { "8BITMIME", SMTPC_8BITMIME }, { "SMTPUTF8", SMTPC_SMTPUTF8 },
    { "STARTTLS", SMTPC_STARTTLS }, { "ENHANCEDSTATUSCODES", SMTPC_ENHANCEDSTATUSCODES },
  };
  unsigned int ext = 0;
  char const *p = memchr(reply, '\n', len);
  *sizemax = 0;
  while (p) {
    char const *s = p + 1;
    size_t n = len - (s - reply), k = 0;
    p = memchr(s, '\n', n);
    if (p) n = p - s;
    if (n <= 4) continue;
    s += 4; n -= 4;
    while (k < n && s[k] != ' ') k++;
    for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++) {
      if (!kw_is(s, k, kws[i].kw)) continue;
      ext |= kws[i].bit;
      if (kws[i].bit == SMTPC_SIZE) {
        size_t v = k;
        while (v < n && s[v] == ' ') v++;
        *sizemax = scan_size(s + v, n - v);
      }
    }
  }
  return ext;
}

/* ---- DATA ---- */

size_t smtpc_dotstuff(unsigned char *bol, char const *in, size_t n, char *out)
{
  size_t o = 0;
  unsigned char b = *bol;
  for (size_t i = 0; i < n; i++) {
    char ch = in[i];
    if (b && ch == '.') out[o++] = '.';
    if (ch == '\n') out[o++] = '\r';
    out[o++] = ch;
    b = ch == '\n';
  }
  *bol = b;
  return o;
}

void smtpc_data_begin(smtpc *c)
{
  c->bol = 1;
}

int smtpc_data_put(smtpc *c, char const *s, size_t n, tain const *deadline)
{
  while (n) {
    size_t room = lineio_outroom(&c->l);
    size_t k;
    if (room < 2) {
      if (!smtpc_flush(c, deadline)) return 0;
      room = lineio_outroom(&c->l);
    }
    k = room / 2 < n ? room / 2 : n;
    lineio_outadd(&c->l, smtpc_dotstuff(&c->bol, s, k, lineio_outptr(&c->l)));
    s += k;
    n -= k;
  }
  return 1;
}

int smtpc_data_end(smtpc *c, tain const *deadline)
{
  if (!c->bol && !smtpc_put(c, "\r\n", 2, deadline)) return 0;
  c->bol = 1;
  return smtpc_put(c, ".\r\n", 3, deadline) && smtpc_flush(c, deadline);
}

static tain const *secs_from_now(tain *d, unsigned int secs)
{
  tain_now_g();
  tain_addsec_g(d, secs);
  return d;
}

int smtpc_data_file(smtpc *c, int fd, off_t start, unsigned int secs)
{
  char buf[32768];
  tain d;
  if (lseek(fd, start, SEEK_SET) < 0) return -1;
  smtpc_data_begin(c);
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    if (!r) break;
    if (!smtpc_data_put(c, buf, r, secs_from_now(&d, secs))) return 0;
  }
  return smtpc_data_end(c, secs_from_now(&d, secs));
}

void smtpc_msginfo_add(smtpc_msginfo *m, char const *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = s[i];
    if (ch == '\n') m->size++;
    if (ch & 0x80) m->eightbit = 1;
  }
  m->size += n;
  if (n) m->lastlf = s[n-1] == '\n';
}

uint64_t smtpc_msginfo_size(smtpc_msginfo const *m)
{
  return m->size + (m->lastlf ? 0 : 2);
}

/* ---- where to connect ---- */

/* s[0..n) as an address (a bounded copy, the skalibs scanners need a NUL). */
static int scan_ipn(char const *s, size_t n, ip46 *ip)
{
  char buf[IP6_FMT + 1];
  if (!n || n >= sizeof buf) return 0;
  memcpy(buf, s, n);
  buf[n] = 0;
  return smtpc_scan_ip(buf, ip);
}

int smtpc_scan_ip(char const *s, ip46 *ip)
{
  size_t n = ip4_scan(s, ip->ip);
  if (n && !s[n]) { ip->is6 = 0; return 1; }
  n = ip6_scan(s, ip->ip);
  if (n && !s[n]) { ip->is6 = 1; return 1; }
  return 0;
}

int smtpc_scan_route(char const *s, ip46 *ip, unsigned int *port)
{
  char const *rest;
  unsigned int p;
  size_t n;
  if (*s == '[') {
    char const *e = strchr(s, ']');
    if (!e || !scan_ipn(s + 1, e - s - 1, ip)) return 0;
    rest = e + 1;
  } else if ((n = ip4_scan(s, ip->ip)) && (!s[n] || s[n] == ':')) {
    ip->is6 = 0;
    rest = s + n;
  } else return smtpc_scan_ip(s, ip);
  if (!*rest) return 1;
  if (*rest != ':' || !rest[1]) return 0;
  n = uint_scan(rest + 1, &p);
  if (!n || rest[1 + n] || !p || p > 65535) return 0;
  *port = p;
  return 1;
}

int smtpc_scan_literal(char const *d, ip46 *ip)
{
  size_t n = strlen(d);
  if (n < 3 || d[0] != '[' || d[n-1] != ']') return 0;
  if (n > 7 && !strncasecmp(d + 1, "IPv6:", 5)) {
    if (!scan_ipn(d + 6, n - 7, ip) || !ip->is6) return 0;
    return 1;
  }
  return scan_ipn(d + 1, n - 2, ip) && !ip->is6;
}

int smtpc_ip_is_mine(ip46 const *ip)
{
  struct ifaddrs *ifs, *i;
  int r = !memcmp(ip->ip, IP6_ANY, ip->is6 ? 16 : 4);
  if (r || getifaddrs(&ifs) < 0) return r;
  for (i = ifs; i && !r; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET && !ip->is6)
      r = !memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip->ip, 4);
    else if (i->ifa_addr->sa_family == AF_INET6 && ip->is6)
      r = !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, ip->ip, 16);
  }
  freeifaddrs(ifs);
  return r;
}

/* ---- the exchangers ---- */

void smtpc_target_add(smtpc_target *t, unsigned int *n, unsigned int max,
                      char const *host, unsigned long pref, ip46 const *ip)
{
  smtpc_target *x = t + *n;
  if (*n >= max) return;
  x->pref = pref;
  x->ip = *ip;
  x->ipfmt[ip46_fmt(x->ipfmt, ip)] = 0;
  x->named = !!host;
  x->host = host ? host : x->ipfmt;
  ++*n;
}

int smtpc_mxlist(char const *s, stralloc *copy, smtpc_target *t, unsigned int *n,
                 unsigned int max, unsigned int *line, char const **bad)
{
  char *p;
  *line = 0;
  *bad = 0;
  if (!stralloc_copys(copy, s) || !stralloc_0(copy)) return 0;
  p = copy->s;
  while (*p) {
    char *tok[2 + 100], *save = 0;
    unsigned int k = 0;
    unsigned long pref;
    char *eol = strchr(p, '\n');
    if (eol) *eol = 0;
    ++*line;
    for (char *w = strtok_r(p, " \t\r", &save); w && k < sizeof tok / sizeof *tok; w = strtok_r(0, " \t\r", &save))
      tok[k++] = w;
    if (k) {
      if (k < 3 || tok[0][ulong_scan(tok[0], &pref)] || strlen(tok[1]) > 255) return 0;
      for (unsigned int i = 2; i < k; i++) {
        ip46 ip;
        if (!smtpc_scan_ip(tok[i], &ip)) { *bad = tok[i]; return 0; }
        smtpc_target_add(t, n, max, tok[1], pref, &ip);
      }
    }
    if (!eol) break;
    p = eol + 1;
  }
  *line = 0;
  return 1;
}

/* ---- the message ---- */

static int copy_all(int from, int to)
{
  char buf[65536];
  for (;;) {
    ssize_t r = read(from, buf, sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; return 0; }
    if (!r) return 1;
    if (allwrite(to, buf, r) != (size_t)r) return 0;
  }
}

int smtpc_msg_open(int fd, int *msgfd, off_t *start, smtpc_msginfo *info)
{
  char buf[65536];
  *msgfd = fd;
  *start = lseek(fd, 0, SEEK_CUR);
  if (*start < 0) {
    int m = memfd_create("smtpc-message", MFD_CLOEXEC);
    if (m < 0) return 0;
    if (!copy_all(fd, m) || lseek(m, 0, SEEK_SET) < 0) { int e = errno; close(m); errno = e; return 0; }
    *msgfd = m;
    *start = 0;
  }
  for (;;) {
    ssize_t r = read(*msgfd, buf, sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; return 0; }
    if (!r) return 1;
    smtpc_msginfo_add(info, buf, r);
  }
}

int smtpc_addr_check(char const *a)
{
  size_t n = strlen(a);
  if (n > 998) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = a[i];
    if (ch < 0x20 || ch == 0x7f || ch == '<' || ch == '>') return -1;
  }
  return 1;
}

int smtpc_8bit(char const *s)
{
  for (; *s; s++) if (*s & 0x80) return 1;
  return 0;
}
