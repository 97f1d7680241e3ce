/* SPF (RFC 7208): the record parser (4.5-4.6, 5, 6), macro expansion (7)
   and check_host() (4) with its limits, over a small resolver interface so
   that the evaluator runs on udns (spf_udns_open) or on an in-memory zone
   (tests). Nothing here prints or exits. */
#ifndef PM_SPF_H
#define PM_SPF_H
#include <stddef.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#define SPF_MAXRECORD 4096  /* an SPF record, its TXT strings joined */
#define SPF_MAXTERMS 128    /* directives and modifiers of one record */
#define SPF_MAXDOMAIN 253   /* a target name after expansion (7.3) */
#define SPF_MAXLOOKUPS 10   /* DNS-querying terms of a whole check (4.6.4) */
#define SPF_MAXVOID 2       /* void lookups of a whole check (4.6.4) */
#define SPF_MAXNAMES 10     /* MX names of an mx term; PTR names used (4.6.4) */
#define SPF_MAXADDR 32      /* addresses of one A/AAAA answer compared */
#define SPF_MAXTXT 64       /* TXT records of one name looked at */
#define SPF_MAXEXP 512      /* an explanation after expansion (kept) */
#define SPF_TIMEOUT 20      /* seconds for a whole check (4.6.4) */

enum spf_result { SPF_NONE, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL,
                  SPF_TEMPERROR, SPF_PERMERROR };
/* "none", "neutral", ... as in RFC 8601 */
char const *spf_result_name(int result);

/* ---- records ---------------------------------------------------------- */

enum spf_mech { SPF_ALL, SPF_INCLUDE, SPF_A, SPF_MX, SPF_PTR, SPF_IP4, SPF_IP6, SPF_EXISTS };

typedef struct spf_term_s spf_term;
struct spf_term_s {
  unsigned char mech;          /* enum spf_mech */
  char qual;                   /* '+', '-', '~' or '?' */
  unsigned char cidr4, cidr6;  /* prefix lengths: 32 and 128 when not given */
  char ip[16];                 /* ip4 (4 bytes) and ip6 */
  unsigned short spec, speclen;  /* domain-spec in text; speclen 0: none */
};

typedef struct spf_record_s spf_record;
struct spf_record_s {
  char text[SPF_MAXRECORD + 1];  /* the record, NUL-terminated */
  unsigned nterms;
  spf_term term[SPF_MAXTERMS];   /* directives in order */
  unsigned short redirect, redirectlen, exp, explen;  /* len 0: absent */
};

/* s (len bytes) is an SPF record: "v=spf1" (any case) then SP or end. */
int spf_is_record(char const *s, size_t len);
/* Parse an SPF record (spf_is_record true) into r: 1, or 0 (permerror:
   syntax, unknown mechanism, bad CIDR length, over a bound, a second
   redirect= or exp=) with *why set to a static text. Unknown modifiers are
   checked for syntax and ignored. */
int spf_parse(spf_record *r, char const *s, size_t len, char const **why);

/* ---- macros ----------------------------------------------------------- */

typedef struct spf_macro_s spf_macro;
struct spf_macro_s {
  char const *sender;   /* %{s}: local@domain ("postmaster" if no local part) */
  char const *domain;   /* %{d}: the current domain */
  char const *helo;     /* %{h} */
  ip46full ip;          /* %{i}, %{v}, %{c} */
  char const *ptr;      /* %{p}: a validated name, NULL for "unknown" */
  char const *me;       /* %{r} (explanations only): the receiving host */
  unsigned long long now;  /* %{t} (explanations only) */
};

/* Append the expansion of the macro-string s (len bytes) to out: 1, 0 if
   s is malformed (permerror), -1 out of memory. exp: an explanation
   string, where %{c} %{r} %{t} are allowed too. Each macro's value is
   bounded (SPF_MAXRECORD). */
int spf_expand(stralloc *out, char const *s, size_t len, spf_macro const *m, int exp);
/* A domain-spec expanded into name (SPF_MAXDOMAIN + 1 bytes), left labels
   dropped until it fits (7.3), a final dot removed: 1, 0 malformed (also
   an empty label or one over 63 bytes), -1 ENOMEM. */
int spf_expand_domain(char *name, char const *s, size_t len, spf_macro const *m);
/* The reverse name of ip: "4.3.2.1" or the 32 nibbles "b.a.9...." (no
   ".in-addr.arpa"), into out (64 bytes); its length. */
size_t spf_ip_reverse(char *out, ip46full const *ip);

/* ---- the resolver ----------------------------------------------------- */

enum { SPF_T_A = 1, SPF_T_PTR = 12, SPF_T_MX = 15, SPF_T_TXT = 16, SPF_T_AAAA = 28 };
enum { SPF_DNS_OK, SPF_DNS_NONE, SPF_DNS_TEMP };

typedef struct spf_answer_s spf_answer;
struct spf_answer_s {
  unsigned n;                  /* records (ip[] holds at most SPF_MAXADDR) */
  ip46full ip[SPF_MAXADDR];    /* A and AAAA */
  stralloc text;               /* TXT (its strings joined, a NUL byte made
                                  0x01), MX and PTR names without final dot:
                                  n items each NUL-terminated */
};
#define SPF_ANSWER_ZERO { .n = 0, .text = STRALLOC_ZERO }

/* One query of type for name, within deadline: SPF_DNS_OK with a->n >= 0
   records (a->text reset first), SPF_DNS_NONE (NXDOMAIN or no record of
   that type), SPF_DNS_TEMP (SERVFAIL, timeout, out of memory...). */
typedef int spf_query_func(void *ctx, int type, char const *name, spf_answer *a,
                           tain const *deadline);
typedef struct spf_resolver_s spf_resolver;
struct spf_resolver_s { spf_query_func *query; void *ctx; };

/* r on udns, the servers "IP[:PORT],..." or NULL for /etc/resolv.conf
   (see mx_servers_scan): NULL, or the reason (errno set). One resolver
   at a time (udns's default context). */
char const *spf_udns_open(spf_resolver *r, char const *servers);
void spf_udns_close(spf_resolver *r);

/* ---- check_host() ----------------------------------------------------- */

typedef struct spf_check_s spf_check;
struct spf_check_s {
  /* set by the caller */
  spf_resolver const *dns;
  ip46full ip;          /* the client; an IPv4-mapped IPv6 one counts as IPv4 */
  char const *sender;   /* local@domain, or postmaster@HELO for the HELO identity */
  char const *helo;
  char const *me;       /* this host, for %{r} */
  tain deadline;        /* for the whole check */
  /* results */
  unsigned lookups, voids;
  char why[256];        /* what decided: the mechanism, or the error */
  stralloc exp;         /* on fail: the explanation (best effort), its NUL
                           counted in exp.len; else exp.len 0 */
};

/* RFC 7208 check_host(ip, domain, sender): the result (enum spf_result).
   c->exp is reset; free it with stralloc_free. */
int spf_check_host(spf_check *c, char const *domain);
#endif
