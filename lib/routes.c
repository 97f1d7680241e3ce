#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <skalibs/djbunix.h>
#include <skalibs/fmtscan.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>
#include "routes.h"

/* Offsets into routes.buf: it grows (moves) while parsing. */
struct routes_ent_s {
  size_t dom, domlen, host ;
  int kind ;
  uint16_t port ;
} ;

static int isws(char c) { return c == ' ' || c == '\t' || c == '\r' ; }

static int isdchar(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
      || c == '-' || c == '.' || c == '_' ;
}

/* A DOMAIN field: "*", a name or ".suffix", or an address literal. */
static int domain_ok(char const *s, size_t n)
{
  if (n == 1 && *s == '*') return 1 ;
  if (!n || n > 255 || (n == 1 && *s == '.')) return 0 ;
  for (size_t i = 0 ; i < n ; i++)
    if (!isdchar(s[i]) && s[i] != ':' && s[i] != '[' && s[i] != ']') return 0 ;
  return 1 ;
}

/* A host name: labels of 1..63 letters, digits, '-', '_', not starting
   with '-' (it would read as an option), at most ROUTES_HOSTMAX bytes, an
   optional final dot; the last label not all digits (a mistyped address,
   RFC 3696 section 2). */
static int name_ok(char const *s, size_t n)
{
  size_t label = 0 ;
  int digits = 1 ;
  if (n > 1 && s[n - 1] == '.') n-- ;
  if (!n || n > ROUTES_HOSTMAX || *s == '-' || *s == '.') return 0 ;
  for (size_t i = 0 ; i < n ; i++) {
    if (s[i] == '.') { if (!label) return 0 ; label = 0 ; digits = 1 ; continue ; }
    if (!isdchar(s[i]) || ++label > 63) return 0 ;
    if (s[i] < '0' || s[i] > '9') digits = 0 ;
  }
  return label && !digits ;
}

static int port_scan(char const *s, size_t n, uint16_t *port)
{
  unsigned int u = 0 ;
  if (!n || n > 5) return 0 ;
  for (size_t i = 0 ; i < n ; i++) {
    if (s[i] < '0' || s[i] > '9') return 0 ;
    u = u * 10 + (s[i] - '0') ;
  }
  if (!u || u > 65535) return 0 ;
  *port = u ;
  return 1 ;
}

/* Four decimal bytes with dots (skalibs' ip4_scan lets 300 wrap). */
static int ip4_strict(char const *s, size_t n)
{
  unsigned int parts = 0, v = 0, digits = 0 ;
  for (size_t i = 0 ; i <= n ; i++) {
    if (i == n || s[i] == '.') {
      if (!digits || v > 255 || ++parts > 4) return 0 ;
      v = digits = 0 ;
    } else if (s[i] >= '0' && s[i] <= '9' && digits < 3) { v = v * 10 + (s[i] - '0') ; digits++ ; }
    else return 0 ;
  }
  return parts == 4 ;
}

/* An address in s[0..n): its canonical text in out. 4 or 6, 0 if none. */
static int ip_scan(char const *s, size_t n, char *out)
{
  char tmp[IP6_FMT + 8], ip[16] ;
  if (!n || n >= sizeof tmp) return 0 ;
  memcpy(tmp, s, n) ; tmp[n] = 0 ;
  if (memchr(s, ':', n)) {
    if (ip6_scan(tmp, ip) != n) return 0 ;
    out[ip6_fmt(out, ip)] = 0 ;
    return 6 ;
  }
  if (!ip4_strict(s, n) || ip4_scan(tmp, ip) != n) return 0 ;
  out[ip4_fmt(out, ip)] = 0 ;
  return 4 ;
}

/* Parse RELAY s[0..n) into e; the host text goes to host. 0 + why if bad. */
static int relay_scan(char const *s, size_t n, struct routes_ent_s *e, char *host, char const **why)
{
  char const *colon ;
  size_t hn ;
  e->port = 25 ;
  host[0] = 0 ;
  if (n == 1 && *s == '-') { e->kind = ROUTE_MX ; return 1 ; }
  if (*s == '[') {
    char const *close = memchr(s, ']', n) ;
    if (!close) { *why = "missing ] in the relay" ; return 0 ; }
    char const *a = s + 1 ;
    hn = close - a ;
    if (hn > 5 && !strncasecmp(a, "IPv6:", 5)) { a += 5 ; hn -= 5 ; }
    if (!ip_scan(a, hn, host)) { *why = "invalid address in [ ]" ; return 0 ; }
    e->kind = ROUTE_IP ;
    size_t rest = n - (close + 1 - s) ;
    if (!rest) return 1 ;
    if (close[1] != ':' || !port_scan(close + 2, rest - 1, &e->port)) { *why = "invalid port" ; return 0 ; }
    return 1 ;
  }
  colon = memchr(s, ':', n) ;
  if (colon && memchr(colon + 1, ':', n - (colon + 1 - s))) {
    /* two colons: a bare IPv6 address, no port */
    if (!ip_scan(s, n, host)) { *why = "invalid IPv6 address (with a port: [IP]:PORT)" ; return 0 ; }
    e->kind = ROUTE_IP ;
    return 1 ;
  }
  hn = colon ? (size_t)(colon - s) : n ;
  if (colon && !port_scan(colon + 1, n - hn - 1, &e->port)) { *why = "invalid port" ; return 0 ; }
  if (ip_scan(s, hn, host)) { e->kind = ROUTE_IP ; return 1 ; }
  if (!name_ok(s, hn)) { *why = "invalid relay host" ; return 0 ; }
  memcpy(host, s, hn) ;
  host[hn] = 0 ;
  if (hn > 1 && host[hn - 1] == '.') host[hn - 1] = 0 ;   /* absolute form */
  e->kind = ROUTE_NAME ;
  return 1 ;
}

void routes_free(routes *r)
{
  free(r->v) ;
  free(r->buf) ;
  r->v = 0 ; r->n = 0 ; r->buf = 0 ;
}

int routes_parse(routes *r, char const *s, size_t n, unsigned int *line, char const **why)
{
  stralloc buf = STRALLOC_ZERO ;
  struct routes_ent_s *v = 0 ;
  size_t nv = 0, cap = 0 ;
  routes_free(r) ;
  *line = 0 ; *why = 0 ;
  if (!stralloc_catb(&buf, "", 1)) return 0 ;   /* offset 0: "" */
  while (n) {
    char const *eol = memchr(s, '\n', n) ;
    size_t len = eol ? (size_t)(eol - s) : n, i = 0, d0, dn, h0, hn ;
    char const *ln = s ;
    char host[ROUTES_HOSTMAX + 1] ;
    struct routes_ent_s e ;
    s += eol ? len + 1 : len ;
    n -= eol ? len + 1 : len ;
    ++*line ;
    if (len > ROUTES_LINEMAX) { *why = "line too long" ; goto bad ; }
    while (i < len && isws(ln[i])) i++ ;
    if (i == len || ln[i] == '#') continue ;
    d0 = i ;
    while (i < len && !isws(ln[i])) i++ ;
    dn = i - d0 ;
    while (i < len && isws(ln[i])) i++ ;
    h0 = i ;
    while (i < len && !isws(ln[i])) i++ ;
    hn = i - h0 ;
    while (i < len && isws(ln[i])) i++ ;
    if (!hn || ln[h0] == '#') { *why = "no relay after the domain" ; goto bad ; }
    if (i < len && ln[i] != '#') { *why = "more than DOMAIN RELAY" ; goto bad ; }
    if (!domain_ok(ln + d0, dn)) { *why = "invalid domain" ; goto bad ; }
    if (!relay_scan(ln + h0, hn, &e, host, why)) goto bad ;
    if (nv == cap) {
      size_t nc = cap ? cap * 2 : 16 ;
      struct routes_ent_s *nw = realloc(v, nc * sizeof *nw) ;
      if (!nw) goto oom ;
      v = nw ; cap = nc ;
    }
    e.dom = buf.len ; e.domlen = dn ;
    if (!stralloc_catb(&buf, ln + d0, dn) || !stralloc_0(&buf)) goto oom ;
    e.host = 0 ;
    if (host[0]) { e.host = buf.len ; if (!stralloc_cats(&buf, host) || !stralloc_0(&buf)) goto oom ; }
    v[nv++] = e ;
  }
  r->v = v ; r->n = nv ; r->buf = buf.s ;
  *line = 0 ;
  return 1 ;
oom:
  *line = 0 ; *why = 0 ;
bad:
  free(v) ;
  stralloc_free(&buf) ;
  return 0 ;
}

int routes_read(routes *r, char const *file, unsigned int *line, char const **why)
{
  stralloc sa = STRALLOC_ZERO ;
  ssize_t n ;
  int ok ;
  *line = 0 ; *why = 0 ;
  if (!stralloc_ready(&sa, ROUTES_FILEMAX + 1)) return 0 ;
  n = openreadnclose(file, sa.s, ROUTES_FILEMAX + 1) ;
  if (n < 0) {
    int e = errno ;
    stralloc_free(&sa) ;
    routes_free(r) ;
    errno = e ;
    return e == ENOENT ;
  }
  if (n > ROUTES_FILEMAX) { stralloc_free(&sa) ; routes_free(r) ; *why = "file too large" ; return 0 ; }
  ok = routes_parse(r, sa.s, n, line, why) ;
  stralloc_free(&sa) ;
  return ok ;
}

/* How well entry e fits domain d (length dl): 0 not at all; else higher is
   more specific (the domain itself beats any suffix, a longer suffix a
   shorter one). */
static size_t fit(char const *e, size_t n, char const *d, size_t dl)
{
  if (n == 1 && *e == '*') return 1 ;
  if (*e != '.') return n == dl && !strncasecmp(e, d, n) ? 2 + 256 : 0 ;
  return dl > n && !strncasecmp(e, d + dl - n, n) ? 2 + n : 0 ;
}

int routes_find(routes const *r, char const *domain, route *rt)
{
  size_t best = 0, dl = strlen(domain) ;
  struct routes_ent_s const *w = 0 ;
  /* a trailing dot names the same domain */
  if (dl > 1 && domain[dl - 1] == '.') dl-- ;
  for (size_t i = 0 ; i < r->n ; i++) {
    size_t f = fit(r->buf + r->v[i].dom, r->v[i].domlen, domain, dl) ;
    if (f > best) { best = f ; w = &r->v[i] ; }
  }
  rt->kind = w ? w->kind : ROUTE_MX ;
  rt->host = w && w->host ? r->buf + w->host : "" ;
  rt->port = w ? w->port : 25 ;
  return rt->kind != ROUTE_MX ;
}

size_t route_fmt(char *s, route const *rt)
{
  size_t n = 0, hl = strlen(rt->host) ;
  int six = !!strchr(rt->host, ':') ;
  if (hl > IP6_FMT) hl = IP6_FMT ;
  if (six) s[n++] = '[' ;
  memcpy(s + n, rt->host, hl) ; n += hl ;
  if (six) s[n++] = ']' ;
  s[n++] = ':' ;
  n += uint16_fmt(s + n, rt->port) ;
  s[n] = 0 ;
  return n ;
}
