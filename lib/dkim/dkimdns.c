#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <udns.h>
#include "mx.h"
#include "dkim/dns.h"

static int add_servers(struct dns_ctx *ctx, char const *servers)
{
  ip46full ip[MX_MAXSERV];
  uint16_t port[MX_MAXSERV];
  int n = mx_servers_scan(servers, ip, port);
  if (n < 0) return 0;
  dns_add_serv(ctx, 0);
  for (int i = 0; i < n; i++) {
    struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port[i]) };
    struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port[i]) };
    memcpy(&s6.sin6_addr, ip[i].ip, 16);
    memcpy(&s4.sin_addr, ip[i].ip, 4);
    if (dns_add_serv_s(ctx, ip[i].is6 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4) < 0) return 0;
  }
  return 1;
}

static int take(struct dns_rr_txt const *r, stralloc *out)
{
  size_t total = 0;
  for (int i = 0; i < r->dnstxt_nrr; i++) {
    struct dns_txt const *t = r->dnstxt_txt + i;
    total += t->len + 1;
    if (total > DKIM_TXTMAX || memchr(t->txt, 0, t->len)) return 0;
  }
  for (int i = 0; i < r->dnstxt_nrr; i++)
    if (!stralloc_catb(out, (char const *)r->dnstxt_txt[i].txt, r->dnstxt_txt[i].len)
     || !stralloc_0(out)) return -1;
  return r->dnstxt_nrr > 0;
}

int dkim_dns_txt(void *vctx, char const *name, stralloc *out)
{
  dkim_dns const *d = vctx;
  /* udns's default context, made afresh for each lookup (as lib/mx does) */
  struct dns_ctx *ctx = &dns_defctx;
  struct dns_rr_txt *r;
  int ret = -1;
  if (dns_init(ctx, 0) < 0 || (d->servers && !add_servers(ctx, d->servers))) goto end;
  dns_set_opt(ctx, DNS_OPT_TIMEOUT, d->timeout ? (int)d->timeout : 5);
  dns_set_opt(ctx, DNS_OPT_NTRIES, 2);
  if (dns_open(ctx) < 0) goto end;
  /* udns joins the strings of each record */
  r = dns_resolve_txt(ctx, name, DNS_C_IN, DNS_NOSRCH);
  if (r) { ret = take(r, out); free(r); }
  else if (dns_status(ctx) == DNS_E_NXDOMAIN || dns_status(ctx) == DNS_E_NODATA) ret = 0;
end:
  dns_close(ctx);
  return ret;
}
