/* The SPF resolver on udns: one query at a time, driven until its answer
   or the check's deadline (mx_drive). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <udns.h>
#include "mx.h"
#include "spf/spf.h"

struct wait { int done, status; void *rr; };

static void got(struct dns_ctx *ctx, void *rr, void *data)
{
  struct wait *w = data;
  w->done = 1;
  w->rr = rr;
  w->status = dns_status(ctx);
}

static int put_name(spf_answer *a, char const *name)
{
  size_t len = strlen(name);
  if (len && name[len - 1] == '.') len--;
  return stralloc_catb(&a->text, name, len) && stralloc_0(&a->text);
}

/* Copy the RRset of type into a. 0 on ENOMEM. */
static int take(spf_answer *a, int type, void *rr)
{
  unsigned n = ((struct dns_rr_null *)rr)->dnsn_nrr;
  for (unsigned i = 0; i < n; i++) {
    if (type == SPF_T_A || type == SPF_T_AAAA) {
      if (a->n >= SPF_MAXADDR) { a->n++; continue; }   /* counted, not kept */
      ip46full *ip = a->ip + a->n;
      ip->is6 = type == SPF_T_AAAA;
      memcpy(ip->ip, ip->is6 ? (void *)&((struct dns_rr_a6 *)rr)->dnsa6_addr[i]
                             : (void *)&((struct dns_rr_a4 *)rr)->dnsa4_addr[i], ip->is6 ? 16 : 4);
    } else if (type == SPF_T_TXT) {
      if (a->n >= SPF_MAXTXT) break;
      struct dns_txt *t = ((struct dns_rr_txt *)rr)->dnstxt_txt + i;
      size_t from = a->text.len;
      if (!stralloc_catb(&a->text, (char *)t->txt, t->len) || !stralloc_0(&a->text)) return 0;
      for (size_t k = from; k < a->text.len - 1; k++) if (!a->text.s[k]) a->text.s[k] = 1;
    } else if (type == SPF_T_MX) {
      if (!put_name(a, ((struct dns_rr_mx *)rr)->dnsmx_mx[i].name)) return 0;
    } else if (!put_name(a, ((struct dns_rr_ptr *)rr)->dnsptr_ptr[i])) return 0;
    a->n++;
  }
  return 1;
}

static int query(void *vctx, int type, char const *name, spf_answer *a, tain const *deadline)
{
  struct dns_ctx *ctx = vctx;
  struct wait w = { 0, 0, 0 };
  dns_parse_fn *parse = type == SPF_T_A ? dns_parse_a4 : type == SPF_T_AAAA ? dns_parse_a6
                      : type == SPF_T_MX ? dns_parse_mx : type == SPF_T_TXT ? dns_parse_txt
                      : dns_parse_ptr;
  int r;
  a->n = 0;
  a->text.len = 0;
  struct dns_query *q = dns_submit_p(ctx, name, DNS_C_IN, type, DNS_NOSRCH, parse, got, &w);
  if (!q) return dns_status(ctx) == DNS_E_BADQUERY ? SPF_DNS_NONE : SPF_DNS_TEMP;
  mx_drive(ctx, deadline);
  if (!w.done) {
    /* udns 0.4's dns_cancel unlinks the query without freeing it (seen by
       LeakSanitizer); nothing else refers to it then */
    dns_cancel(ctx, q);
    free(q);
    return SPF_DNS_TEMP;
  }
  if (w.status == DNS_E_NXDOMAIN || w.status == DNS_E_NODATA) r = SPF_DNS_NONE;
  else if (w.status < 0 || !w.rr) r = SPF_DNS_TEMP;
  else r = take(a, type, w.rr) ? SPF_DNS_OK : SPF_DNS_TEMP;
  free(w.rr);
  return r;
}

char const *spf_udns_open(spf_resolver *r, char const *servers)
{
  char const *why = mx_dns_open(&dns_defctx, servers);
  if (why) { dns_close(&dns_defctx); return why; }
  r->query = &query;
  r->ctx = &dns_defctx;
  return 0;
}

void spf_udns_close(spf_resolver *r)
{
  dns_close(r->ctx);
}
