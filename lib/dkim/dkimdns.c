#include <stdlib.h>
#include <string.h>
#include <udns.h>
#include "mx.h"
#include "dkim/dns.h"

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
  if (mx_dns_open(ctx, d->servers)) goto end;
  /* udns reads these at each query: they may follow dns_open */
  dns_set_opt(ctx, DNS_OPT_TIMEOUT, d->timeout ? (int)d->timeout : 5);
  dns_set_opt(ctx, DNS_OPT_NTRIES, 2);
  /* udns joins the strings of each record */
  r = dns_resolve_txt(ctx, name, DNS_C_IN, DNS_NOSRCH);
  if (r) { ret = take(r, out); free(r); }
  else if (dns_status(ctx) == DNS_E_NXDOMAIN || dns_status(ctx) == DNS_E_NODATA) ret = 0;
end:
  dns_close(ctx);
  return ret;
}
