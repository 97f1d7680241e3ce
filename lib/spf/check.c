/* check_host() (RFC 7208 4-6): fetch the record, evaluate its directives
   in order, then redirect=; every limit of 4.6.4 counted over the whole
   check, includes and redirects included. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "spf/spf.h"

#define NOMATCH 0
#define MATCH 1
/* else an spf_result to return at once (SPF_TEMPERROR, SPF_PERMERROR) */
#define ERR(r) (10 + (r))

typedef struct ev_s ev;
struct ev_s {
  spf_check *c;
  char const *chain[SPF_MAXLOOKUPS + 2];   /* domains being evaluated */
  unsigned depth;
  spf_answer names, addrs;
  char ptr[SPF_MAXDOMAIN + 1];             /* %{p}: once computed */
  int ptrdone;
};

__attribute__((format(printf, 3, 4)))
static int fail(ev *e, int result, char const *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->c->why, sizeof e->c->why, fmt, ap);
  va_end(ap);
  return ERR(result);
}

/* RFC 4.3: labels of 1..63 bytes, at least two of them, 253 bytes at most. */
static int domain_ok(char const *d)
{
  size_t len = strlen(d), lab = 0, dots = 0;
  if (len && d[len - 1] == '.') len--;
  if (!len || len > SPF_MAXDOMAIN) return 0;
  for (size_t i = 0; i < len; i++) {
    if (d[i] == '.') { if (!lab) return 0; lab = 0; dots++; }
    else if ((unsigned char)d[i] <= 0x20 || (unsigned char)d[i] >= 0x7f || ++lab > 63) return 0;
  }
  return lab && dots;
}

/* A query; void ones counted when countvoid. MATCH if it has records,
   NOMATCH if void, ERR(...) on a DNS failure or past the void limit. */
static int lookup(ev *e, int type, char const *name, spf_answer *a, int countvoid)
{
  int r = e->c->dns->query(e->c->dns->ctx, type, name, a, &e->c->deadline);
  if (r == SPF_DNS_TEMP) return fail(e, SPF_TEMPERROR, "DNS failure or timeout looking up %s", name);
  if (r == SPF_DNS_OK && a->n) return MATCH;
  a->n = 0;
  if (countvoid && ++e->c->voids > SPF_MAXVOID)
    return fail(e, SPF_PERMERROR, "more than %d void lookups (at %s)", SPF_MAXVOID, name);
  return NOMATCH;
}

static int count_term(ev *e)
{
  if (++e->c->lookups > SPF_MAXLOOKUPS)
    return fail(e, SPF_PERMERROR, "more than %d DNS-querying terms", SPF_MAXLOOKUPS);
  return NOMATCH;
}

static int in_net(ip46full const *ip, char const *net, int is6, unsigned bits)
{
  unsigned char const *a = (unsigned char const *)ip->ip, *b = (unsigned char const *)net;
  if (!ip->is6 != !is6) return 0;
  for (unsigned i = 0; bits; i++) {
    unsigned k = bits < 8 ? bits : 8;
    unsigned char mask = (unsigned char)(0xff00 >> k);
    if ((a[i] ^ b[i]) & mask) return 0;
    bits -= k;
  }
  return 1;
}

static int addr_type(ev *e) { return e->c->ip.is6 ? SPF_T_AAAA : SPF_T_A; }

/* name's addresses of the client's family contain it (within the prefix). */
static int addr_match(ev *e, char const *name, spf_term const *t, int countvoid)
{
  int r = lookup(e, addr_type(e), name, &e->addrs, countvoid);
  if (r != MATCH) return r;
  for (unsigned i = 0; i < e->addrs.n && i < SPF_MAXADDR; i++)
    if (in_net(&e->c->ip, e->addrs.ip[i].ip, e->c->ip.is6, e->c->ip.is6 ? t->cidr6 : t->cidr4))
      return MATCH;
  return NOMATCH;
}

static int mx_match(ev *e, char const *target, spf_term const *t)
{
  int r = lookup(e, SPF_T_MX, target, &e->names, 1);
  if (r != MATCH) return r;
  if (e->names.n > SPF_MAXNAMES)
    return fail(e, SPF_PERMERROR, "more than %d MX names for %s", SPF_MAXNAMES, target);
  for (size_t i = 0; i < e->names.text.len; i += strlen(e->names.text.s + i) + 1) {
    r = addr_match(e, e->names.text.s + i, t, 0);
    if (r != NOMATCH) return r;
  }
  return NOMATCH;
}

static int is_sub(char const *name, char const *domain)
{
  size_t n = strlen(name), d = strlen(domain);
  if (d && domain[d - 1] == '.') d--;
  if (n < d || strncasecmp(name + n - d, domain, d)) return 0;
  return n == d || name[n - d - 1] == '.';
}

/* The validated names of the client (5.5): into out the first one under
   target (or, if none is, the first validated one when out is for %{p}).
   MATCH if one is under target; DNS failures only skip names. */
static int ptr_names(ev *e, char const *target, char *out, int countvoid)
{
  char rev[80];
  size_t n = spf_ip_reverse(rev, &e->c->ip);
  int r;
  strcpy(rev + n, e->c->ip.is6 ? ".ip6.arpa" : ".in-addr.arpa");
  r = lookup(e, SPF_T_PTR, rev, &e->names, countvoid);
  if (r == ERR(SPF_TEMPERROR)) return NOMATCH;
  if (r != MATCH) return r;
  spf_term host = { .cidr4 = 32, .cidr6 = 128 };
  unsigned k = 0;
  for (size_t i = 0; i < e->names.text.len && k < SPF_MAXNAMES; i += strlen(e->names.text.s + i) + 1, k++) {
    char const *name = e->names.text.s + i;
    r = addr_match(e, name, &host, 0);
    if (r != MATCH) continue;      /* DNS errors skip the name (5.5) */
    if (is_sub(name, target)) {
      if (out) snprintf(out, SPF_MAXDOMAIN + 1, "%s", name);
      return MATCH;
    }
    if (out && !out[0]) snprintf(out, SPF_MAXDOMAIN + 1, "%s", name);
  }
  return NOMATCH;
}

/* The target of a term: its domain-spec expanded, or the current domain. */
static int target(ev *e, spf_macro *m, char const *text, unsigned spec, unsigned len, char *name)
{
  if (!len) { snprintf(name, SPF_MAXDOMAIN + 1, "%s", m->domain); return NOMATCH; }
  if (!e->ptrdone && (memmem(text + spec, len, "%{p", 3) || memmem(text + spec, len, "%{P", 3))) {
    e->ptrdone = 1;
    e->ptr[0] = 0;
    ptr_names(e, m->domain, e->ptr, 0);
  }
  m->ptr = e->ptrdone && e->ptr[0] ? e->ptr : 0;
  int r = spf_expand_domain(name, text + spec, len, m);
  if (r < 0) return fail(e, SPF_TEMPERROR, "out of memory");
  if (!r) return fail(e, SPF_PERMERROR, "malformed domain-spec after expansion");
  return NOMATCH;
}

static int check(ev *e, char const *domain, int top);

static int include(ev *e, char const *name)
{
  switch (check(e, name, 0)) {
    case SPF_PASS: return MATCH;
    case SPF_FAIL: case SPF_SOFTFAIL: case SPF_NEUTRAL: return NOMATCH;
    case SPF_TEMPERROR: return ERR(SPF_TEMPERROR);
    case SPF_NONE: return fail(e, SPF_PERMERROR, "include:%s has no SPF record", name);
    default: return ERR(SPF_PERMERROR);
  }
}

static int mechanism(ev *e, spf_macro *m, spf_record const *rec, spf_term const *t)
{
  char name[SPF_MAXDOMAIN + 1];
  int r;
  switch (t->mech) {
    case SPF_ALL: return MATCH;
    case SPF_IP4: case SPF_IP6:
      return in_net(&e->c->ip, t->ip, t->mech == SPF_IP6, t->mech == SPF_IP6 ? t->cidr6 : t->cidr4);
    default: break;
  }
  if ((r = count_term(e)) || (r = target(e, m, rec->text, t->spec, t->speclen, name))) return r;
  switch (t->mech) {
    case SPF_INCLUDE: return include(e, name);
    case SPF_A: return addr_match(e, name, t, 1);
    case SPF_MX: return mx_match(e, name, t);
    case SPF_PTR: return ptr_names(e, name, 0, 1);
    default: return lookup(e, SPF_T_A, name, &e->addrs, 1);     /* exists */
  }
}

/* exp= (6.2): best effort, any failure leaves no explanation. */
static void explain1(ev *e, spf_macro *m, spf_record const *rec)
{
  char name[SPF_MAXDOMAIN + 1];
  spf_check *c = e->c;
  if (target(e, m, rec->text, rec->exp, rec->explen, name)) return;
  if (lookup(e, SPF_T_TXT, name, &e->names, 0) != MATCH || e->names.n != 1) return;
  char const *s = e->names.text.s;
  size_t len = strlen(s);
  for (size_t i = 0; i < len; i++) if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) return;
  c->exp.len = 0;
  if (spf_expand(&c->exp, s, len, m, 1) <= 0) { c->exp.len = 0; return; }
  if (c->exp.len > SPF_MAXEXP) c->exp.len = SPF_MAXEXP;
  if (!stralloc_0(&c->exp)) c->exp.len = 0;
}

/* Its failures leave the why of the fail itself. */
static void explain(ev *e, spf_macro *m, spf_record const *rec)
{
  char why[sizeof e->c->why];
  if (!rec->explen) return;
  memcpy(why, e->c->why, sizeof why);
  explain1(e, m, rec);
  memcpy(e->c->why, why, sizeof why);
}

/* The one SPF record of domain into rec: MATCH, or NOMATCH for none. */
static int fetch(ev *e, char const *domain, spf_record *rec)
{
  char const *why, *found = 0;
  int r = lookup(e, SPF_T_TXT, domain, &e->names, 0);
  if (r != MATCH) return r;
  for (size_t i = 0; i < e->names.text.len; i += strlen(e->names.text.s + i) + 1) {
    char const *s = e->names.text.s + i;
    if (!spf_is_record(s, strlen(s))) continue;
    if (found) return fail(e, SPF_PERMERROR, "two SPF records for %s", domain);
    found = s;
  }
  if (!found) return NOMATCH;
  if (!spf_parse(rec, found, strlen(found), &why))
    return fail(e, SPF_PERMERROR, "%s in the SPF record of %s", why, domain);
  return MATCH;
}

static int qual_result(char q)
{
  return q == '-' ? SPF_FAIL : q == '~' ? SPF_SOFTFAIL : q == '?' ? SPF_NEUTRAL : SPF_PASS;
}

static int evaluate(ev *e, spf_macro *m, spf_record const *rec, char const *domain, int top)
{
  static char const *const name[] = { "all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists" };
  char target_name[SPF_MAXDOMAIN + 1];
  int r;
  for (unsigned i = 0; i < rec->nterms; i++) {
    spf_term const *t = rec->term + i;
    r = mechanism(e, m, rec, t);
    if (r >= ERR(0)) return r - ERR(0);
    if (r != MATCH) continue;
    snprintf(e->c->why, sizeof e->c->why, "%c%s matched in %s", t->qual, name[t->mech], domain);
    r = qual_result(t->qual);
    if (r == SPF_FAIL && top) explain(e, m, rec);
    return r;
  }
  if (!rec->redirectlen) {
    snprintf(e->c->why, sizeof e->c->why, "no mechanism matched in %s", domain);
    return SPF_NEUTRAL;
  }
  if ((r = count_term(e)) || (r = target(e, m, rec->text, rec->redirect, rec->redirectlen, target_name)))
    return r - ERR(0);
  r = check(e, target_name, top);
  if (r == SPF_NONE) { fail(e, 0, "redirect=%s has no SPF record", target_name); return SPF_PERMERROR; }
  return r;
}

static int check(ev *e, char const *domain, int top)
{
  spf_macro m = { .sender = e->c->sender, .domain = domain, .helo = e->c->helo,
                  .ip = e->c->ip, .me = e->c->me };
  int r;
  m.now = (unsigned long long)time(0);
  if (!domain_ok(domain)) {
    snprintf(e->c->why, sizeof e->c->why, "not a domain name: %.200s", domain);
    return SPF_NONE;
  }
  for (unsigned i = 0; i < e->depth; i++)
    if (!strcasecmp(e->chain[i], domain)) return fail(e, SPF_PERMERROR, "loop at %s", domain) - ERR(0);
  if (e->depth >= sizeof e->chain / sizeof *e->chain) return fail(e, SPF_PERMERROR, "too deep") - ERR(0);
  spf_record *rec = malloc(sizeof *rec);
  if (!rec) return fail(e, SPF_TEMPERROR, "out of memory") - ERR(0);
  r = fetch(e, domain, rec);
  if (r == NOMATCH) snprintf(e->c->why, sizeof e->c->why, "no SPF record for %s", domain);
  if (r == NOMATCH) r = SPF_NONE;
  else if (r != MATCH) r -= ERR(0);
  else {
    e->chain[e->depth++] = domain;
    r = evaluate(e, &m, rec, domain, top);
    e->depth--;
  }
  free(rec);
  return r;
}

int spf_check_host(spf_check *c, char const *domain)
{
  static char const mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (char)0xff, (char)0xff };
  ev e = { .c = c, .names = SPF_ANSWER_ZERO, .addrs = SPF_ANSWER_ZERO };
  int r;
  if (c->ip.is6 && !memcmp(c->ip.ip, mapped, 12)) {
    memmove(c->ip.ip, c->ip.ip + 12, 4);
    c->ip.is6 = 0;
  }
  c->lookups = c->voids = 0;
  c->why[0] = 0;
  c->exp.len = 0;
  r = check(&e, domain, 1);
  stralloc_free(&e.names.text);
  stralloc_free(&e.addrs.text);
  return r;
}
