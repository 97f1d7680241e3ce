/* DMARC (RFC 7489): the policy record parser (6.3, 6.4) and the
   organizational domain (3.2) from the Public Suffix List. The policy
   alignment checks are left to the caller (auth-verify).
   Nothing here prints or exits. */
#ifndef PM_DMARC_H
#define PM_DMARC_H
#include <stddef.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include "spf/spf.h"      /* the resolver interface, shared */

#define DMARC_MAXRECORD 4096   /* a DMARC record, its TXT strings joined */
#define DMARC_MAXTAGS 32       /* tags of one record */
#define DMARC_MAXURIS 16       /* URIs of rua= or ruf= counted */

enum dmarc_policy { DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };

typedef struct dmarc_record_s dmarc_record;
struct dmarc_record_s {
  int p, sp;             /* enum dmarc_policy; sp defaults to p */
  char adkim, aspf;      /* 'r' (relaxed, the default) or 's' (strict) */
  unsigned pct;          /* 0..100, default 100 */
  unsigned nrua, nruf;   /* valid URIs given (at most DMARC_MAXURIS counted) */
  unsigned fo;           /* DMARC_FO_* bits, default DMARC_FO_0 */
  unsigned long ri;      /* report interval, default 86400 */
};
#define DMARC_FO_0 1
#define DMARC_FO_1 2
#define DMARC_FO_D 4
#define DMARC_FO_S 8

/* s (len bytes) is a DMARC record: "v" [WSP] "=" [WSP] "DMARC1", then
   WSP, ";" or the end (how 6.6.3 sorts the TXT records of _dmarc.DOMAIN). */
int dmarc_is_record(char const *s, size_t len);
/* Parse a DMARC record into r: 1, or 0 when no DMARC processing applies
   (*why set): not a DMARC record, a tag-list syntax error, a tag given
   twice, over the bounds, or no valid p= (nor sp=) without a valid rua=
   URI. A missing or invalid p= with a valid rua= URI reads as p=none
   (6.6.3); other invalid values take their defaults; unknown tags are
   ignored. */
int dmarc_parse(dmarc_record *r, char const *s, size_t len, char const **why);

/* ---- the Public Suffix List ------------------------------------------- */

#define DMARC_PSL "/usr/share/publicsuffix/public_suffix_list.dat"
#define DMARC_PSL_MAXSIZE (8 << 20)   /* bytes of the file read */
#define DMARC_PSL_MAXRULES 100000
#define DMARC_PSL_MAXRULE 253        /* longer rules are skipped */

typedef struct dmarc_psl_s dmarc_psl;
struct dmarc_psl_s {
  stralloc rules;        /* rules, lower case, each NUL-terminated */
  size_t *idx;           /* offsets into rules, sorted */
  size_t n;
};
#define DMARC_PSL_ZERO { .rules = STRALLOC_ZERO, .idx = 0, .n = 0 }

/* Read the list at path (DMARC_PSL if NULL): 1, or 0 with errno set
   (EFBIG over DMARC_PSL_MAXSIZE or DMARC_PSL_MAXRULES). Comments, blank
   lines and rules over DMARC_PSL_MAXRULE bytes are skipped; the ICANN
   and private sections are both used, as RFC 7489 3.2 leaves open. */
int dmarc_psl_load(dmarc_psl *p, char const *path);
/* The same from bytes in memory (tests, fuzzing). */
int dmarc_psl_parse(dmarc_psl *p, char const *s, size_t len);
void dmarc_psl_free(dmarc_psl *p);
/* The organizational domain of domain (ASCII, a final dot allowed): its
   public suffix (the longest matching rule, "*" by default, exceptions
   "!" taking one label off) plus one label, lower case, into out
   (254 bytes): 1; 0 if domain is itself a public suffix or malformed.
   Rules in Unicode (U-labels) never match: names are compared in their
   ASCII form. */
int dmarc_orgdomain(dmarc_psl const *p, char const *domain, char *out);

/* ---- policy discovery (6.6.3) ----------------------------------------- */

enum { DMARC_NORECORD, DMARC_FOUND, DMARC_TEMPFAIL };

/* The policy of the RFC5322.From domain: the one DMARC record of
   _dmarc.DOMAIN, or, when that name has none at all, of _dmarc.ORGDOMAIN.
   DMARC_FOUND with r and the policy domain (254 bytes; when it is not
   domain, r->sp applies); DMARC_NORECORD (no record, several, or an
   invalid one: no DMARC processing); DMARC_TEMPFAIL (DNS failure).
   *why says what was found or not. */
int dmarc_discover(dmarc_record *r, char *policydomain, spf_resolver const *dns,
                   dmarc_psl const *psl, char const *domain, tain const *deadline, char const **why);
#endif
