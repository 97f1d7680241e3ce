/* Mail exchangers with udns's asynchronous interface: one MX query, then the
   A and AAAA queries of every host at once, driven by iopause until they end
   or the caller's deadline passes (udns's own retries never outlive it). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <udns.h>
#include <skalibs/bytestr.h>
#include <skalibs/fmtscan.h>
#include <skalibs/iopause.h>
#include <skalibs/random.h>
#include <skalibs/types.h>
#include "mx.h"

#define MX_MAXRR 1024          /* MX records considered (a 4 KB reply holds ~250) */
#define MX_MAXLINE 1024        /* an MX list line: 10 + 253 + 10 * 40 fits */

/* The address queries of one host. */
struct hq {
  struct dns_query *q4, *q6;
  struct dns_rr_a4 *r4;
  struct dns_rr_a6 *r6;
  int temp;                    /* a query failed temporarily or never ended */
};

struct lk {
  struct dns_query *qmx;
  struct dns_rr_mx *mx;
  int mxstatus;
  struct hq h[MX_MAXHOSTS];
};

__attribute__((format(printf, 3, 4)))
static int fail(mx_list *l, int code, char const *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(l->why, sizeof l->why, fmt, ap);
  va_end(ap);
  l->n = 0;
  return code;
}

static int is_letter_digit(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int mx_name_ok(char const *s)
{
  size_t len = strlen(s), lab = 0;
  if (len && s[len - 1] == '.') len--;
  if (!len || len > MX_MAXNAME) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '.') {
      if (!lab) return 0;
      lab = 0;
    } else if (is_letter_digit(c) || c == '-' || c == '_') {
      if (++lab > 63) return 0;
    } else return 0;
  }
  return lab > 0;
}

/* skalibs' ip4_scan wraps octets over 255 ("256" -> 0): check each one. */
static size_t ip4_strict(char const *s, char *ip)
{
  size_t i = 0;
  for (int k = 0; k < 4; k++) {
    unsigned v = 0, d = 0;
    if (k && s[i++] != '.') return 0;
    for (; d < 4 && s[i] >= '0' && s[i] <= '9'; d++) v = v * 10 + (s[i++] - '0');
    if (!d || d > 3 || v > 255) return 0;
    ip[k] = (char)v;
  }
  return i;
}

int mx_literal(mx_host *h, char const *s)
{
  size_t len = strlen(s), n;
  ip46full ip = IP46FULL_ZERO;
  if (s[0] != '[') return 0;
  if (len < 3 || len > MX_MAXNAME || s[len - 1] != ']') return -1;
  if (len > 7 && !strncasecmp(s + 1, "IPv6:", 5)) {
    n = ip6_scan(s + 6, ip.ip);
    ip.is6 = 1;
    if (!n || n != len - 7) return -1;
  } else {
    n = ip4_strict(s + 1, ip.ip);
    if (!n || n != len - 2) return -1;
  }
  h->pref = 0;
  memcpy(h->name, s, len + 1);
  h->naddr = 1;
  h->addr[0] = ip;
  return 1;
}

/* One "IP[:PORT]" or "[IPv6]:PORT" of len bytes. */
static int server_scan(char const *s, size_t len, ip46full *ip, uint16_t *port)
{
  size_t k;
  *port = 53;
  if (s[0] == '[') {
    k = ip6_scan(s + 1, ip->ip);
    if (!k || 2 + k > len || s[1 + k] != ']') return 0;
    ip->is6 = 1;
    k += 2;
  } else if (byte_count(s, len, ':') > 1) {
    k = ip6_scan(s, ip->ip);
    ip->is6 = 1;
    return k && k == len;
  } else {
    k = ip4_strict(s, ip->ip);
    ip->is6 = 0;
    if (!k) return 0;
  }
  if (k == len) return 1;
  if (s[k] != ':' || k + 1 == len) return 0;
  return uint16_scan(s + k + 1, port) == len - k - 1 && *port;
}

int mx_servers_scan(char const *s, ip46full *ip, uint16_t *port)
{
  int n = 0;
  for (;;) {
    size_t len = str_chr(s, ',');
    if (n >= MX_MAXSERV || !len || !server_scan(s, len, ip + n, port + n)) return -1;
    n++;
    if (!s[len]) return n;
    s += len + 1;
  }
}

void mx_order(mx_pref *a, unsigned n, randomgen_func_ref rnd)
{
  unsigned i, j, k;
  /* insertion sort: n is bounded and small */
  for (i = 1; i < n; i++) {
    mx_pref x = a[i];
    for (j = i; j && a[j - 1].pref > x.pref; j--) a[j] = a[j - 1];
    a[j] = x;
  }
  /* RFC 5321 §5.1: spread the load among equal preferences (Fisher-Yates) */
  for (i = 0; i < n; i = j) {
    for (j = i + 1; j < n && a[j].pref == a[i].pref; j++) ;
    for (k = j - i; k > 1; k--) {
      unsigned r = random_uint32_from(k, rnd);
      mx_pref x = a[i + k - 1];
      a[i + k - 1] = a[i + r];
      a[i + r] = x;
    }
  }
}

int mx_fmt(stralloc *sa, mx_list const *l)
{
  char fmt[UINT_FMT > IP46_FMT ? UINT_FMT : IP46_FMT];
  for (unsigned i = 0; i < l->n; i++) {
    mx_host const *h = l->host + i;
    if (!stralloc_catb(sa, fmt, uint_fmt(fmt, h->pref))
     || !stralloc_catb(sa, " ", 1) || !stralloc_cats(sa, h->name)) return 0;
    for (unsigned j = 0; j < h->naddr; j++)
      if (!stralloc_catb(sa, " ", 1)
       || !stralloc_catb(sa, fmt, ip46full_fmt(fmt, h->addr + j))) return 0;
    if (!stralloc_catb(sa, "\n", 1)) return 0;
  }
  return 1;
}

/* One token of an address: the whole of s must be an IPv4 or IPv6 address. */
static int addr_scan(char const *s, ip46full *ip)
{
  size_t n = ip4_strict(s, ip->ip);
  ip->is6 = !n;
  if (!n) n = ip6_scan(s, ip->ip);
  return n && !s[n];
}

/* One line, NUL-terminated in buf (modified), into l->host[l->n]. */
static int parse_line(mx_list *l, char *buf)
{
  mx_host *h = l->host + l->n;
  char *tok[2 + MX_MAXADDRS];
  unsigned ntok = 0;
  for (char *p = buf; ; ) {
    if (ntok == 2 + MX_MAXADDRS || !*p || *p == ' ') return 0;
    tok[ntok++] = p;
    p += str_chr(p, ' ');
    if (!*p) break;
    *p++ = 0;
  }
  if (ntok < 3 || tok[0][uint_scan(tok[0], &h->pref)] || !tok[0][0]) return 0;
  if (mx_literal(h, tok[1]) < 0 || (tok[1][0] != '[' && !mx_name_ok(tok[1]))) return 0;
  strcpy(h->name, tok[1]);
  h->naddr = ntok - 2;
  for (unsigned i = 0; i < h->naddr; i++)
    if (!addr_scan(tok[2 + i], h->addr + i)) return 0;
  l->n++;
  return 1;
}

int mx_parse(mx_list *l, char const *s, size_t len)
{
  char buf[MX_MAXLINE];
  l->n = 0;
  while (len) {
    size_t eol = byte_chr(s, len, '\n');
    if (l->n == MX_MAXHOSTS) return fail(l, 0, "too many hosts in the MX list");
    if (eol >= sizeof buf) return fail(l, 0, "MX list line too long");
    memcpy(buf, s, eol);
    buf[eol] = 0;
    if (!parse_line(l, buf)) {
      unsigned line = l->n + 1;
      return fail(l, 0, "malformed MX list line %u", line);
    }
    s += eol; len -= eol;
    if (len) { s++; len--; }
  }
  if (!l->n) return fail(l, 0, "empty MX list");
  return 1;
}

/* ---- resolving ---------------------------------------------------------- */

static int is_temp(int status)
{
  return status != DNS_E_NXDOMAIN && status != DNS_E_NODATA && status != DNS_E_BADQUERY;
}

static void got_mx(struct dns_ctx *ctx, struct dns_rr_mx *r, void *data)
{
  struct lk *k = data;
  k->qmx = 0;
  k->mx = r;
  k->mxstatus = dns_status(ctx);
}

static void got_a4(struct dns_ctx *ctx, struct dns_rr_a4 *r, void *data)
{
  struct hq *h = data;
  h->q4 = 0;
  h->r4 = r;
  if (!r) h->temp |= is_temp(dns_status(ctx));
}

static void got_a6(struct dns_ctx *ctx, struct dns_rr_a6 *r, void *data)
{
  struct hq *h = data;
  h->q6 = 0;
  h->r6 = r;
  if (!r) h->temp |= is_temp(dns_status(ctx));
}

/* udns counts its retries in whole seconds. */
int mx_drive(struct dns_ctx *ctx, tain const *deadline)
{
  iopause_fd x = { .fd = dns_sock(ctx), .events = IOPAUSE_READ, .revents = 0 };
  for (;;) {
    tain d = *deadline;
    int t = dns_timeouts(ctx, -1, 0);
    if (!dns_active(ctx)) return 1;
    tain_now_g();
    if (!tain_future(deadline)) return 0;
    if (t >= 0) {
      tain w;
      tain_addsec_g(&w, t);
      if (tain_less(&w, &d)) d = w;
    }
    int r = iopause_g(&x, 1, &d);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r) dns_ioevent(ctx, 0);
  }
}

char const *mx_dns_open(struct dns_ctx *ctx, char const *servers)
{
  if (dns_init(ctx, 0) < 0) return "4.3.0 unable to initialise the resolver";
  if (servers) {
    ip46full ip[MX_MAXSERV];
    uint16_t port[MX_MAXSERV];
    int n = mx_servers_scan(servers, ip, port);
    if (n < 0) { errno = EINVAL; return "4.3.5 malformed DNS server list"; }
    dns_add_serv(ctx, 0);
    for (int i = 0; i < n; i++) {
      struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port[i]) };
      struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port[i]) };
      memcpy(&s6.sin6_addr, ip[i].ip, 16);
      memcpy(&s4.sin_addr, ip[i].ip, 4);
      if (dns_add_serv_s(ctx, ip[i].is6 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4) < 0)
        return "4.3.5 unable to use a DNS server of the list";
    }
  }
  if (dns_open(ctx) < 0) return "4.3.0 unable to open the resolver socket";
  return 0;
}

static int resolver_open(struct dns_ctx *ctx, char const *servers, mx_list *l)
{
  char const *why = mx_dns_open(ctx, servers);
  if (why) return fail(l, 111, "%s: %s", why, strerror(errno));
  return 0;
}

static int submit_failed(mx_list *l, struct dns_ctx *ctx)
{
  if (dns_status(ctx) == DNS_E_BADQUERY) return fail(l, 100, "5.1.2 invalid domain name");
  return fail(l, 111, "4.3.0 unable to submit a DNS query: %s",
              dns_status(ctx) == DNS_E_NOMEM ? "out of memory" : "resolver error");
}

static int is_root(char const *name)
{
  return !name[0] || (name[0] == '.' && !name[1]);
}

/* Copy name without its final dot. */
static void name_set(char *to, char const *name)
{
  size_t len = strlen(name);
  if (len && name[len - 1] == '.') len--;
  memcpy(to, name, len);
  to[len] = 0;
}

/* The hosts of the MX set in order, valid and unique names only. */
static int take_mx(mx_list *l, struct dns_rr_mx const *mx, char const *domain)
{
  mx_pref a[MX_MAXRR];
  unsigned n = mx->dnsmx_nrr < MX_MAXRR ? mx->dnsmx_nrr : MX_MAXRR;
  if (n == 1 && is_root(mx->dnsmx_mx[0].name))
    return fail(l, 100, "5.1.10 %s does not accept mail (null MX)", domain);
  for (unsigned i = 0; i < n; i++) {
    a[i].pref = mx->dnsmx_mx[i].priority;
    a[i].idx = i;
  }
  mx_order(a, n, &random_buf);
  l->n = 0;
  for (unsigned i = 0; i < n && l->n < MX_MAXHOSTS; i++) {
    char const *name = mx->dnsmx_mx[a[i].idx].name;
    mx_host *h = l->host + l->n;
    unsigned j;
    if (!mx_name_ok(name)) continue;
    name_set(h->name, name);
    for (j = 0; j < l->n && strcasecmp(l->host[j].name, h->name); j++) ;
    if (j < l->n) continue;      /* listed again with a larger preference */
    h->pref = a[i].pref;
    h->naddr = 0;
    l->n++;
  }
  if (!l->n) return fail(l, 100, "5.4.4 %s: no valid mail exchanger name", domain);
  return 0;
}

static int find_mx(mx_list *l, struct lk *k, struct dns_ctx *ctx, char const *domain,
                   tain const *deadline)
{
  k->qmx = dns_submit_mx(ctx, domain, DNS_NOSRCH, &got_mx, k);
  if (!k->qmx) return submit_failed(l, ctx);
  int d = mx_drive(ctx, deadline);
  if (d < 0) return fail(l, 111, "4.3.0 unable to wait for DNS: %s", strerror(errno));
  if (!d) return fail(l, 111, "4.4.3 DNS lookup of the MX of %s timed out", domain);
  switch (k->mxstatus) {
    case 0:
      if (k->mx->dnsmx_nrr > 0) return take_mx(l, k->mx, domain);
      /* fall through */
    case DNS_E_NODATA:           /* RFC 5321 §5.1: the domain is its own MX */
      l->n = 1;
      l->host[0].pref = 0;
      name_set(l->host[0].name, domain);
      l->host[0].naddr = 0;
      return 0;
    case DNS_E_NXDOMAIN:
      return fail(l, 100, "5.1.2 %s does not exist (NXDOMAIN)", domain);
    case DNS_E_BADQUERY:
      return fail(l, 100, "5.1.2 invalid domain name");
    default:
      return fail(l, 111, "4.4.3 temporary DNS failure looking up the MX of %s", domain);
  }
}

/* The host's addresses: IPv4 first; a family never gets less than half
   of the room when the other one has more than its half. */
static void take_addrs(mx_host *h, struct hq const *q)
{
  unsigned c4 = q->r4 ? (unsigned)q->r4->dnsa4_nrr : 0;
  unsigned c6 = q->r6 ? (unsigned)q->r6->dnsa6_nrr : 0;
  unsigned half = MX_MAXADDRS / 2;
  unsigned n4 = c4, n6;
  if (n4 > MX_MAXADDRS - (c6 < half ? c6 : half)) n4 = MX_MAXADDRS - (c6 < half ? c6 : half);
  n6 = c6 < MX_MAXADDRS - n4 ? c6 : MX_MAXADDRS - n4;
  h->naddr = 0;
  for (unsigned i = 0; i < n4; i++) {
    ip46full *a = h->addr + h->naddr++;
    memcpy(a->ip, &q->r4->dnsa4_addr[i], 4);
    a->is6 = 0;
  }
  for (unsigned i = 0; i < n6; i++) {
    ip46full *a = h->addr + h->naddr++;
    memcpy(a->ip, &q->r6->dnsa6_addr[i], 16);
    a->is6 = 1;
  }
}

static int find_addrs(mx_list *l, struct lk *k, struct dns_ctx *ctx, char const *domain,
                      int implicit, tain const *deadline)
{
  unsigned i, j;
  int temp = 0;
  for (i = 0; i < l->n; i++) {
    struct hq *q = k->h + i;
    q->q4 = dns_submit_a4(ctx, l->host[i].name, DNS_NOSRCH, &got_a4, q);
    if (!q->q4) q->temp |= is_temp(dns_status(ctx));
    q->q6 = dns_submit_a6(ctx, l->host[i].name, DNS_NOSRCH, &got_a6, q);
    if (!q->q6) q->temp |= is_temp(dns_status(ctx));
  }
  if (mx_drive(ctx, deadline) < 0)
    return fail(l, 111, "4.3.0 unable to wait for DNS: %s", strerror(errno));
  for (i = j = 0; i < l->n; i++) {
    struct hq *q = k->h + i;
    if (q->q4 || q->q6) q->temp = 1;          /* still running at the deadline */
    take_addrs(l->host + i, q);
    if (!l->host[i].naddr) {
      temp |= q->temp;
      continue;
    }
    if (j != i) l->host[j] = l->host[i];
    j++;
  }
  l->n = j;
  if (j) return 0;
  if (temp)
    return fail(l, 111, "4.4.3 temporary DNS failure looking up the address of %s",
                implicit ? domain : "the mail exchangers");
  if (implicit) return fail(l, 100, "5.1.2 %s has no MX and no address record", domain);
  return fail(l, 100, "5.4.4 no mail exchanger of %s has an address", domain);
}

/* udns 0.4's dns_cancel unlinks a query without freeing it (as lib/spf
   notes): a query still running at the deadline is ours to free. */
static void cancel(struct dns_ctx *ctx, struct dns_query *q)
{
  if (!q) return;
  dns_cancel(ctx, q);
  free(q);
}

static void cleanup(struct lk *k, struct dns_ctx *ctx)
{
  cancel(ctx, k->qmx);
  free(k->mx);
  for (unsigned i = 0; i < MX_MAXHOSTS; i++) {
    struct hq *q = k->h + i;
    cancel(ctx, q->q4);
    cancel(ctx, q->q6);
    free(q->r4);
    free(q->r6);
  }
  dns_close(ctx);
}

int mx_lookup(mx_list *l, char const *domain, char const *servers, tain const *deadline)
{
  struct dns_ctx *ctx = &dns_defctx;
  struct lk k;
  int r;
  l->n = 0;
  l->why[0] = 0;
  r = mx_literal(l->host, domain);
  if (r > 0) { l->n = 1; return 0; }
  if (r < 0) return fail(l, 100, "5.1.3 invalid address literal");
  if (!mx_name_ok(domain)) return fail(l, 100, "5.1.2 invalid domain name");
  r = resolver_open(ctx, servers, l);
  if (r) { dns_close(ctx); return r; }
  memset(&k, 0, sizeof k);
  r = find_mx(l, &k, ctx, domain, deadline);
  if (!r) r = find_addrs(l, &k, ctx, domain, k.mxstatus != 0 || !k.mx || !k.mx->dnsmx_nrr, deadline);
  cleanup(&k, ctx);
  return r;
}
