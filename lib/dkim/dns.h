/* TXT records through udns, for dkim_verify's resolver function. */
#ifndef PM_DKIM_DNS_H
#define PM_DKIM_DNS_H
#include <skalibs/stralloc.h>

#define DKIM_TXTMAX 8192          /* bytes of TXT records kept per name */

typedef struct dkim_dns_s dkim_dns;
struct dkim_dns_s {
  char const *servers;   /* "IP[:PORT],..." as $DNS_SERVER, or 0: resolv.conf */
  unsigned timeout;      /* seconds per try (two tries per server) */
};

/* A dkim_txt_fn; ctx is a dkim_dns. An answer that cannot hold a key
   (records over DKIM_TXTMAX bytes in all, or with a NUL) counts as none:
   0. Time bounded by timeout, tries and servers (udns retries). */
int dkim_dns_txt(void *ctx, char const *name, stralloc *out);
#endif
