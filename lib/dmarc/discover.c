/* DMARC policy discovery (RFC 7489 6.6.3): the From domain's record, else
   its organizational domain's, through the SPF resolver interface. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "dmarc/dmarc.h"

/* The DMARC record of _dmarc.name: DMARC_FOUND, DMARC_TEMPFAIL, or
   DMARC_NORECORD with *none set when the name has no DMARC record at all
   (the one case that goes on to the organizational domain). */
static int fetch(dmarc_record *r, spf_resolver const *dns, char const *name, tain const *deadline,
                 int *none, char const **why)
{
  char q[300];
  spf_answer a = SPF_ANSWER_ZERO;
  char const *found = 0;
  int res = DMARC_NORECORD, n = 0;
  *none = 0;
  snprintf(q, sizeof q, "_dmarc.%s", name);
  switch (dns->query(dns->ctx, SPF_T_TXT, q, &a, deadline)) {
    case SPF_DNS_TEMP: *why = "DNS failure looking up the DMARC record"; res = DMARC_TEMPFAIL; goto end;
    case SPF_DNS_NONE: a.n = 0; break;
  }
  for (size_t i = 0; a.n && i < a.text.len; i += strlen(a.text.s + i) + 1)
    if (dmarc_is_record(a.text.s + i, strlen(a.text.s + i))) { found = a.text.s + i; n++; }
  if (!n) { *none = 1; *why = "no DMARC record"; goto end; }
  if (n > 1) { *why = "several DMARC records"; goto end; }
  *why = "DMARC record found";
  if (dmarc_parse(r, found, strlen(found), why)) res = DMARC_FOUND;
 end:
  stralloc_free(&a.text);
  return res;
}

int dmarc_discover(dmarc_record *r, char *policydomain, spf_resolver const *dns,
                   dmarc_psl const *psl, char const *domain, tain const *deadline, char const **why)
{
  char org[254];
  int none, res;
  size_t len = strlen(domain);
  if (len && domain[len - 1] == '.') len--;
  if (!len || len > 253) { *why = "malformed domain"; return DMARC_NORECORD; }
  snprintf(policydomain, 254, "%.*s", (int)len, domain);
  res = fetch(r, dns, policydomain, deadline, &none, why);
  if (res != DMARC_NORECORD || !none) return res;
  if (!dmarc_orgdomain(psl, policydomain, org) || !strcasecmp(org, policydomain)) return res;
  strcpy(policydomain, org);
  return fetch(r, dns, policydomain, deadline, &none, why);
}
