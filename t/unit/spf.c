/* Unit tests of lib/spf: the record parser, macro expansion (RFC 7208's
   examples, 7.4) and check_host() over in-memory zones (RFC 7208's
   appendix A, then the limits and edge cases of issue 18's test 4). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include "tap.h"
#include "spf/spf.h"

#define LEN(s) s, sizeof(s) - 1

/* ---- an in-memory zone ------------------------------------------------ */

typedef struct { int type; char const *name, *data; } rr;
static rr const *zone;
static unsigned nqueries;

/* Names under "temp.test" fail temporarily, as SERVFAIL or a timeout do. */
static int zquery(void *ctx, int type, char const *name, spf_answer *a, tain const *deadline)
{
  (void)ctx; (void)deadline;
  nqueries++;
  a->n = 0;
  a->text.len = 0;
  size_t len = strlen(name);
  if (len >= 9 && !strcasecmp(name + len - 9, "temp.test")) return SPF_DNS_TEMP;
  for (rr const *r = zone; r->name; r++) {
    if (r->type != type || strcasecmp(r->name, name)) continue;
    if (type == SPF_T_A || type == SPF_T_AAAA) {
      ip46full *ip = a->ip + a->n;
      ip->is6 = type == SPF_T_AAAA;
      if (!(ip->is6 ? ip6_scan(r->data, ip->ip) : ip4_scan(r->data, ip->ip))) abort();
    } else if (!stralloc_cats(&a->text, r->data) || !stralloc_0(&a->text)) return SPF_DNS_TEMP;
    a->n++;
  }
  return a->n ? SPF_DNS_OK : SPF_DNS_NONE;
}

static spf_resolver zres = { &zquery, 0 };
static spf_check C;

/* check_host(ip, domain, sender) on zone z. */
static int check(rr const *z, char const *ip, char const *domain, char const *sender)
{
  zone = z;
  nqueries = 0;
  C.dns = &zres;
  C.sender = sender;
  C.helo = "helo.example.net";
  C.me = "mx.receiver.test";
  if (!ip46full_scan(ip, &C.ip)) abort();
  tain_now_g();
  tain_addsec_g(&C.deadline, SPF_TIMEOUT);
  return spf_check_host(&C, domain);
}

#define is_result(got, want, name) do { int g_ = (got); ok(g_ == (want), "%s: %s", name, spf_result_name(want)); \
  if (g_ != (want)) printf("#   got %s (%s)\n", spf_result_name(g_), C.why); } while (0)

/* ---- the parser ------------------------------------------------------- */

static void test_parser(void)
{
  static spf_record r;
  char const *why;
  static char const *const good[] = {
    "v=spf1", "V=SPF1 -ALL", "v=spf1  +all ", "v=spf1 a mx ptr -all", "v=spf1 a/24 mx//64 a:x.example.com/24//64",
    "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all", "v=spf1 include:_spf.example.com ?all",
    "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all", "v=spf1 redirect=_spf.example.com",
    "v=spf1 -all exp=explain._spf.%{d}", "v=spf1 foo=bar -all", "v=spf1 moo.cow-far_out=man:dog/cat ~all",
    "v=spf1 a:foo.example.com.", "v=spf1 ip4:0.0.0.0/0", "v=spf1 ip6:::/0", "v=spf1 a:x.%{d}",
    "v=spf1 a:ex.1-2", "v=spf1 unknown=",
  };
  static char const *const bad[] = {
    "v=spf1 foo", "v=spf1 a:", "v=spf1 include", "v=spf1 exists", "v=spf1 ip4", "v=spf1 ip4:1.2.3",
    "v=spf1 ip4:1.2.3.4/33", "v=spf1 ip4:1.2.3.256", "v=spf1 ip4:1.2.3.4/024", "v=spf1 ip6:2001:db8::/129",
    "v=spf1 ip6:1.2.3.4", "v=spf1 a/33", "v=spf1 a//129", "v=spf1 a/", "v=spf1 all:x.com", "v=spf1 -all/24",
    "v=spf1 a:localhost", "v=spf1 a:foo.123", "v=spf1 a:foo.com-", "v=spf1 redirect=a.com redirect=b.com",
    "v=spf1 exp=a.com exp=b.com", "v=spf1 a:%{x}.com", "v=spf1 a:%{d0}.com", "v=spf1 a:%{d.com",
    "v=spf1 a:x%y.com", "v=spf1 a:%{c}.com", "v=spf1 -", "v=spf1 a\tmx", "v=spf1 a:\xc3\xa9.com",
    "v=spf1 1a", "v=spf1 =x", "v=spf1 ++all",
  };
  for (unsigned i = 0; i < sizeof good / sizeof *good; i++)
    ok(spf_parse(&r, good[i], strlen(good[i]), &why), "parses: %s", good[i]);
  for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++)
    ok(!spf_parse(&r, bad[i], strlen(bad[i]), &why), "permerror: %s", bad[i]);
  ok(spf_is_record(LEN("v=spf1")) && spf_is_record(LEN("v=SPF1 a")), "is a record");
  ok(!spf_is_record(LEN("v=spf10")) && !spf_is_record(LEN("v=spf")) && !spf_is_record(LEN(" v=spf1")),
     "is not a record");
  ok(spf_parse(&r, LEN("v=spf1 -a:x.example.com/24//64 ~mx ?ptr:y.example ip4:10.1.2.3/8 redirect=z.example"), &why)
     && r.nterms == 4, "terms counted");
  ok(r.term[0].mech == SPF_A && r.term[0].qual == '-' && r.term[0].cidr4 == 24 && r.term[0].cidr6 == 64
     && r.term[0].speclen == 13 && !memcmp(r.text + r.term[0].spec, "x.example.com", 13), "a with both lengths");
  ok(r.term[1].mech == SPF_MX && r.term[1].qual == '~' && !r.term[1].speclen && r.term[1].cidr4 == 32
     && r.term[1].cidr6 == 128, "mx without argument");
  ok(r.term[2].mech == SPF_PTR && r.term[2].qual == '?', "ptr with a domain");
  ok(r.term[3].mech == SPF_IP4 && r.term[3].cidr4 == 8 && !memcmp(r.term[3].ip, "\x0a\x01\x02\x03", 4), "ip4");
  ok(r.redirectlen == 9 && !memcmp(r.text + r.redirect, "z.example", 9) && !r.explen, "redirect kept");
  /* bounds */
  stralloc sa = STRALLOC_ZERO;
  stralloc_cats(&sa, "v=spf1");
  for (int i = 0; i < SPF_MAXTERMS + 1; i++) stralloc_cats(&sa, " ip4:10.0.0.1");
  ok(!spf_parse(&r, sa.s, sa.len, &why) && !strcmp(why, "too many terms"), "over %d terms", SPF_MAXTERMS);
  sa.len = 0;
  stralloc_cats(&sa, "v=spf1 a:");
  while (sa.len <= SPF_MAXRECORD) stralloc_cats(&sa, "aaaaaaaa.");
  stralloc_cats(&sa, "com");
  ok(!spf_parse(&r, sa.s, sa.len, &why), "record over %d bytes", SPF_MAXRECORD);
  stralloc_free(&sa);
}

/* ---- macros ----------------------------------------------------------- */

static void expand_is(spf_macro const *m, char const *in, char const *want, int exp)
{
  stralloc sa = STRALLOC_ZERO;
  int r = spf_expand(&sa, in, strlen(in), m, exp);
  stralloc_0(&sa);
  ok(r == 1 && !strcmp(sa.s, want), "%s -> %s", in, want);
  if (r != 1 || strcmp(sa.s, want)) printf("#   got %d '%s'\n", r, sa.s);
  stralloc_free(&sa);
}

static void test_macros(void)
{
  spf_macro m = { .sender = "strong-bad@email.example.com", .domain = "email.example.com",
                  .helo = "mx.example.org", .me = "mx.receiver.test", .now = 1234567890 };
  ip46full_scan("192.0.2.3", &m.ip);
  static char const *const rfc[][2] = {     /* RFC 7208 7.4 */
    { "%{s}", "strong-bad@email.example.com" }, { "%{o}", "email.example.com" },
    { "%{d}", "email.example.com" }, { "%{d4}", "email.example.com" }, { "%{d3}", "email.example.com" },
    { "%{d2}", "example.com" }, { "%{d1}", "com" }, { "%{dr}", "com.example.email" },
    { "%{d2r}", "example.email" }, { "%{l}", "strong-bad" }, { "%{l-}", "strong.bad" },
    { "%{lr}", "strong-bad" }, { "%{lr-}", "bad.strong" }, { "%{l1r-}", "strong" },
    { "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
    { "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
    { "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
    { "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com" },
    { "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net" },
  };
  for (unsigned i = 0; i < sizeof rfc / sizeof *rfc; i++) expand_is(&m, rfc[i][0], rfc[i][1], 0);
  expand_is(&m, "%{S}", "strong-bad%40email.example.com", 0);
  expand_is(&m, "%%%_%-x", "% %20x", 0);
  expand_is(&m, "%{h}.%{p}.%{i}", "mx.example.org.unknown.192.0.2.3", 0);
  expand_is(&m, "%{l+_=,/}", "strong-bad", 0);
  expand_is(&m, "%{d9999}", "email.example.com", 0);
  expand_is(&m, "%{i} is not one of %{d}'s designated mail servers, %{c} %{r} %{t}",
            "192.0.2.3 is not one of email.example.com's designated mail servers, 192.0.2.3 "
            "mx.receiver.test 1234567890", 1);
  stralloc sa = STRALLOC_ZERO;
  ok(spf_expand(&sa, LEN("%{c}"), &m, 0) == 0, "%%{c} outside explanations");
  ok(spf_expand(&sa, LEN("a b"), &m, 0) == 0, "space outside explanations");
  ok(spf_expand(&sa, LEN("%{d0}"), &m, 0) == 0, "digit zero");
  ok(spf_expand(&sa, LEN("%"), &m, 0) == 0 && spf_expand(&sa, LEN("%x"), &m, 0) == 0, "lone %%");
  ok(spf_expand(&sa, LEN("%{d"), &m, 0) == 0 && spf_expand(&sa, LEN("%{dx}"), &m, 0) == 0, "unclosed, bad transformer");
  stralloc_free(&sa);
  /* IPv6 (7.4), and a sender without a local part */
  ip46full_scan("2001:db8::cb01", &m.ip);
  expand_is(&m, "%{ir}.%{v}._spf.%{d2}",
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com", 0);
  expand_is(&m, "%{i}", "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1", 0);
  m.sender = "example.com";
  expand_is(&m, "%{l}@%{o}", "postmaster@example.com", 0);
  /* values as long as a record, all delimiters; longer ones refused */
  static char big[SPF_MAXRECORD + 2];
  memset(big, '.', SPF_MAXRECORD - 1);
  big[SPF_MAXRECORD - 1] = 'a';
  m.sender = big;
  expand_is(&m, "%{s1}", "a", 0);
  sa.len = 0;
  ok(spf_expand(&sa, LEN("%{sr}"), &m, 0) == 1 && sa.len == SPF_MAXRECORD, "%%{sr} of %d bytes", SPF_MAXRECORD);
  big[SPF_MAXRECORD] = '.';
  ok(spf_expand(&sa, LEN("%{s}"), &m, 0) == 0, "a value over %d bytes", SPF_MAXRECORD);
  stralloc_free(&sa);
  m.sender = "example.com";
  /* a name over 253 bytes loses its left labels */
  char name[SPF_MAXDOMAIN + 1], spec[600];
  m.domain = "x.example.com";
  memset(spec, 0, sizeof spec);
  for (int i = 0; i < 60; i++) strcat(spec, "abcdefgh.");
  strcat(spec, "%{d}");
  ok(spf_expand_domain(name, spec, strlen(spec), &m) == 1 && strlen(name) <= SPF_MAXDOMAIN
     && strlen(name) > 240 && name[0] == 'a' && !strcmp(name + strlen(name) - 13, "x.example.com"), "long name cut at the left");
  ok(spf_expand_domain(name, LEN("%{d}."), &m) == 1 && !strcmp(name, "x.example.com"), "final dot removed");
  ok(spf_expand_domain(name, LEN("a..%{d}"), &m) == 0, "empty label");
  memset(spec, 'a', 64);
  strcpy(spec + 64, ".%{d}");
  ok(spf_expand_domain(name, spec, strlen(spec), &m) == 0, "label over 63 bytes");
  ok(spf_expand_domain(name, spec + 1, strlen(spec + 1), &m) == 1, "label of 63 bytes");
}

/* ---- RFC 7208 appendix A ---------------------------------------------- */

#define ZA \
  { SPF_T_MX, "example.com", "mail-a.example.com" }, { SPF_T_MX, "example.com", "mail-b.example.com" }, \
  { SPF_T_A, "example.com", "192.0.2.10" }, { SPF_T_A, "example.com", "192.0.2.11" }, \
  { SPF_T_A, "amy.example.com", "192.0.2.65" }, { SPF_T_A, "bob.example.com", "192.0.2.66" }, \
  { SPF_T_A, "mail-a.example.com", "192.0.2.129" }, { SPF_T_A, "mail-b.example.com", "192.0.2.130" }, \
  { SPF_T_A, "mail-c.example.org", "192.0.2.140" }, { SPF_T_MX, "example.org", "mail-c.example.org" }, \
  { SPF_T_PTR, "10.2.0.192.in-addr.arpa", "example.com" }, { SPF_T_PTR, "11.2.0.192.in-addr.arpa", "example.com" }, \
  { SPF_T_PTR, "65.2.0.192.in-addr.arpa", "amy.example.com" }, { SPF_T_PTR, "66.2.0.192.in-addr.arpa", "bob.example.com" }, \
  { SPF_T_PTR, "129.2.0.192.in-addr.arpa", "mail-a.example.com" }, \
  { SPF_T_PTR, "130.2.0.192.in-addr.arpa", "mail-b.example.com" }, \
  { SPF_T_PTR, "140.2.0.192.in-addr.arpa", "mail-c.example.org" }, \
  { SPF_T_PTR, "4.0.0.10.in-addr.arpa", "bob.example.com" }

static void appendix(char const *record, char const *const *pass, char const *const *fails)
{
  rr z[] = { ZA, { SPF_T_TXT, "example.com", record }, { 0, 0, 0 } };
  for (; *pass; pass++) is_result(check(z, *pass, "example.com", "a@example.com"), SPF_PASS, *pass);
  for (; *fails; fails++) is_result(check(z, *fails, "example.com", "a@example.com"), SPF_FAIL, *fails);
}

static void test_appendix(void)
{
  printf("# RFC 7208 appendix A.1\n");
  appendix("v=spf1 +all", (char const *[]){ "192.0.2.1", "10.0.0.4", 0 }, (char const *[]){ 0 });
  appendix("v=spf1 a -all", (char const *[]){ "192.0.2.10", "192.0.2.11", 0 },
           (char const *[]){ "192.0.2.12", "192.0.2.129", 0 });
  appendix("v=spf1 a:example.org -all", (char const *[]){ 0 }, (char const *[]){ "192.0.2.10", 0 });
  appendix("v=spf1 mx -all", (char const *[]){ "192.0.2.129", "192.0.2.130", 0 },
           (char const *[]){ "192.0.2.10", "192.0.2.140", 0 });
  appendix("v=spf1 mx:example.org -all", (char const *[]){ "192.0.2.140", 0 }, (char const *[]){ "192.0.2.129", 0 });
  appendix("v=spf1 mx mx:example.org -all", (char const *[]){ "192.0.2.129", "192.0.2.130", "192.0.2.140", 0 },
           (char const *[]){ "192.0.2.10", 0 });
  appendix("v=spf1 mx/30 mx:example.org/30 -all", (char const *[]){ "192.0.2.131", "192.0.2.141", "192.0.2.128", 0 },
           (char const *[]){ "192.0.2.132", "192.0.2.144", 0 });
  appendix("v=spf1 ptr -all",
           (char const *[]){ "192.0.2.10", "192.0.2.11", "192.0.2.65", "192.0.2.66", "192.0.2.129", "192.0.2.130", 0 },
           (char const *[]){ "192.0.2.140", "10.0.0.4", "192.0.2.1", 0 });
  appendix("v=spf1 ip4:192.0.2.128/28 -all", (char const *[]){ "192.0.2.128", "192.0.2.143", 0 },
           (char const *[]){ "192.0.2.127", "192.0.2.144", "2001:db8::1", 0 });
}

/* ---- the limits and edge cases --------------------------------------- */

static void test_edges(void)
{
  static rr const z[] = {
    { SPF_T_TXT, "loop1.test", "v=spf1 include:loop2.test -all" },
    { SPF_T_TXT, "loop2.test", "v=spf1 include:LOOP1.test -all" },
    { SPF_T_TXT, "self.test", "v=spf1 redirect=self.test" },
    { SPF_T_TXT, "ten.test", "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test a:h5.test a:h6.test a:h7.test "
                             "mx:h8.test exists:nx9.test include:inc.test -all" },
    { SPF_T_TXT, "eleven.test", "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test a:h5.test a:h6.test a:h7.test "
                                "a:h8.test a:h9.test a:h10.test ptr -all" },
    { SPF_T_TXT, "viainc.test", "v=spf1 include:six.test include:six2.test -all" },
    { SPF_T_TXT, "six.test", "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test ?all" },
    { SPF_T_TXT, "six2.test", "v=spf1 a:h5.test a:h6.test a:h7.test a:h8.test ?all" },
    { SPF_T_TXT, "inc.test", "v=spf1 ip4:10.9.9.9 -all" },
    { SPF_T_TXT, "void2.test", "v=spf1 a:nx1.test mx:nx2.test ip4:10.0.0.0/8 -all" },
    { SPF_T_TXT, "void3.test", "v=spf1 a:nx1.test mx:nx2.test exists:nx3.test ip4:10.0.0.0/8 -all" },
    { SPF_T_TXT, "macro.test", "v=spf1 exists:%{i}.%{l}.rbl.test -all" },
    { SPF_T_A, "192.0.2.7.john.rbl.test", "127.0.0.2" },
    { SPF_T_TXT, "redir.test", "v=spf1 ip4:10.1.1.1 redirect=inc.test" },
    { SPF_T_TXT, "redir-all.test", "v=spf1 ?all redirect=inc.test" },
    { SPF_T_TXT, "redir-none.test", "v=spf1 redirect=nothing.test" },
    { SPF_T_TXT, "redir-exp.test", "v=spf1 redirect=exp.test" },
    { SPF_T_TXT, "exp.test", "v=spf1 ip4:10.0.0.1 -all exp=why.%{d}" },
    { SPF_T_TXT, "why.exp.test", "%{i} is not one of %{d}'s designated mail servers." },
    { SPF_T_TXT, "expinc.test", "v=spf1 include:exp.test -all exp=why2.test" },
    { SPF_T_TXT, "why2.test", "outer explanation for %{s}" },
    { SPF_T_TXT, "expbad.test", "v=spf1 -all exp=nowhere.test" },
    { SPF_T_TXT, "expt.test", "v=spf1 -all exp=x.temp.test" },
    { SPF_T_TXT, "emptylabel.test", "v=spf1 a:foo..%{d} -all" },
    { SPF_T_TXT, "soft.test", "v=spf1 ip4:10.0.0.1 ~all" },
    { SPF_T_TXT, "hard.test", "v=spf1 ip4:10.0.0.1 -all" },
    { SPF_T_TXT, "query.test", "v=spf1 ip4:10.0.0.1 ?all" },
    { SPF_T_TXT, "nothing-matches.test", "v=spf1 ip4:10.0.0.1" },
    { SPF_T_TXT, "v6.test", "v=spf1 ip6:2001:db8::/32 ip6:2001:db9:0:1::/64 a:six.host.test//48 -all" },
    { SPF_T_AAAA, "six.host.test", "2001:dba:1::1" },
    { SPF_T_A, "six.host.test", "10.6.6.6" },
    { SPF_T_TXT, "v4a.test", "v=spf1 a:six.host.test/24 -all" },
    { SPF_T_TXT, "two.test", "v=spf1 +all" }, { SPF_T_TXT, "two.test", "v=spf1 -all" },
    { SPF_T_TXT, "other.test", "google-site-verification=xyz" }, { SPF_T_TXT, "other.test", "v=spf10 +all" },
    { SPF_T_TXT, "bad.test", "v=spf1 ip4:10.0.0.1 foo:bar -all" },
    { SPF_T_TXT, "badlate.test", "v=spf1 +all a:" },
    { SPF_T_TXT, "tmp.test", "v=spf1 a:x.temp.test -all" },
    { SPF_T_TXT, "tmpinc.test", "v=spf1 include:temp.test -all" },
    { SPF_T_TXT, "incnone.test", "v=spf1 include:nothing.test -all" },
    { SPF_T_TXT, "manymx.test", "v=spf1 mx -all" },
    { SPF_T_TXT, "mapped.test", "v=spf1 ip4:10.0.0.0/8 -all" },
    { SPF_T_TXT, "helo.test", "v=spf1 a:%{h} -all" },
    { SPF_T_A, "helo.example.net", "10.7.7.7" },
    { SPF_T_TXT, "pmacro.test", "v=spf1 exists:%{p}.ok.test -all" },
    { SPF_T_PTR, "3.3.3.10.in-addr.arpa", "host.pmacro.test" },
    { SPF_T_A, "host.pmacro.test", "10.3.3.3" },
    { SPF_T_A, "host.pmacro.test.ok.test", "127.0.0.2" },
#define MX(n) { SPF_T_MX, "manymx.test", "m" #n ".test" }
    MX(1), MX(2), MX(3), MX(4), MX(5), MX(6), MX(7), MX(8), MX(9), MX(10), MX(11),
#define H(n) { SPF_T_A, "h" #n ".test", "10.99.0." #n }
    H(1), H(2), H(3), H(4), H(5), H(6), H(7), H(8), H(9), H(10),
    { 0, 0, 0 },
  };
  is_result(check(z, "10.0.0.1", "loop1.test", "a@loop1.test"), SPF_PERMERROR, "include loop");
  ok(strstr(C.why, "loop"), "loop reported: %s", C.why);
  is_result(check(z, "10.0.0.1", "self.test", "a@self.test"), SPF_PERMERROR, "redirect to itself");
  is_result(check(z, "10.0.0.1", "ten.test", "a@ten.test"), SPF_FAIL, "10 DNS-querying terms");
  ok(C.lookups == 10, "10 terms counted (%u)", C.lookups);
  is_result(check(z, "10.0.0.1", "eleven.test", "a@eleven.test"), SPF_PERMERROR, "11 DNS-querying terms");
  ok(strstr(C.why, "more than 10"), "limit reported: %s", C.why);
  is_result(check(z, "10.0.0.1", "viainc.test", "a@viainc.test"), SPF_FAIL, "10 terms across includes");
  is_result(check(z, "10.0.0.1", "void2.test", "a@void2.test"), SPF_PASS, "2 void lookups");
  is_result(check(z, "10.0.0.1", "void3.test", "a@void3.test"), SPF_PERMERROR, "3 void lookups");
  ok(C.voids == 3 && strstr(C.why, "void"), "void limit reported: %s", C.why);
  is_result(check(z, "192.0.2.7", "macro.test", "john@macro.test"), SPF_PASS, "exists with %%{i} and %%{l}");
  is_result(check(z, "192.0.2.8", "macro.test", "john@macro.test"), SPF_FAIL, "exists with macros, no match");
  is_result(check(z, "10.1.1.1", "redir.test", "a@redir.test"), SPF_PASS, "matched before redirect=");
  is_result(check(z, "10.9.9.9", "redir.test", "a@redir.test"), SPF_PASS, "redirect= followed");
  is_result(check(z, "10.9.9.8", "redir.test", "a@redir.test"), SPF_FAIL, "redirect= target's -all");
  is_result(check(z, "10.9.9.8", "redir-all.test", "a@redir-all.test"), SPF_NEUTRAL, "redirect= ignored after all");
  is_result(check(z, "10.9.9.8", "redir-none.test", "a@redir-none.test"), SPF_PERMERROR, "redirect= to no record");
  is_result(check(z, "10.0.0.2", "exp.test", "a@exp.test"), SPF_FAIL, "exp=: fail");
  ok(C.exp.len && !strcmp(C.exp.s, "10.0.0.2 is not one of exp.test's designated mail servers."),
     "exp= explanation: %s", C.exp.len ? C.exp.s : "");
  is_result(check(z, "10.0.0.2", "redir-exp.test", "a@redir-exp.test"), SPF_FAIL, "exp= through redirect=");
  ok(C.exp.len && !strcmp(C.exp.s, "10.0.0.2 is not one of exp.test's designated mail servers."),
     "explanation of the redirect= target, its domain in %%{d}");
  is_result(check(z, "10.0.0.5", "expinc.test", "bob@expinc.test"), SPF_FAIL, "fail after include");
  ok(C.exp.len && !strcmp(C.exp.s, "outer explanation for bob@expinc.test"), "the outer record's exp=");
  is_result(check(z, "10.0.0.1", "expbad.test", "a@expbad.test"), SPF_FAIL, "exp= without TXT: still fail");
  ok(!C.exp.len, "and no explanation");
  is_result(check(z, "10.0.0.1", "expt.test", "a@expt.test"), SPF_FAIL, "exp= lookup fails: still fail");
  ok(!C.exp.len && !strcmp(C.why, "-all matched in expt.test"), "no explanation, the why of the fail: %s", C.why);
  is_result(check(z, "10.0.0.1", "emptylabel.test", "a@emptylabel.test"), SPF_PERMERROR, "empty label after expansion");
  is_result(check(z, "10.0.0.2", "soft.test", "a@soft.test"), SPF_SOFTFAIL, "~all");
  is_result(check(z, "10.0.0.2", "hard.test", "a@hard.test"), SPF_FAIL, "-all");
  is_result(check(z, "10.0.0.2", "query.test", "a@query.test"), SPF_NEUTRAL, "?all");
  is_result(check(z, "10.0.0.1", "query.test", "a@query.test"), SPF_PASS, "ip4 before ?all");
  is_result(check(z, "10.0.0.2", "nothing-matches.test", "a@x.test"), SPF_NEUTRAL, "no match, no all");
  is_result(check(z, "2001:db8:ffff::1", "v6.test", "a@v6.test"), SPF_PASS, "ip6 /32");
  is_result(check(z, "2001:db9:0:1:ffff::1", "v6.test", "a@v6.test"), SPF_PASS, "ip6 /64");
  is_result(check(z, "2001:db9:0:2::1", "v6.test", "a@v6.test"), SPF_FAIL, "outside the ip6 /64");
  is_result(check(z, "2001:dba:1:ffff::9", "v6.test", "a@v6.test"), SPF_PASS, "a//48 with AAAA");
  is_result(check(z, "2001:dba:2::1", "v6.test", "a@v6.test"), SPF_FAIL, "outside a//48");
  is_result(check(z, "10.6.6.6", "v6.test", "a@v6.test"), SPF_PASS, "IPv4 client: a//48 uses the A record, /32");
  is_result(check(z, "10.6.6.7", "v6.test", "a@v6.test"), SPF_FAIL, "IPv4 client, ip6 terms skipped");
  is_result(check(z, "10.6.6.200", "v4a.test", "a@v4a.test"), SPF_PASS, "a/24 with A");
  is_result(check(z, "2001:dba:1::1", "v4a.test", "a@v4a.test"), SPF_PASS, "a/24, IPv6 client: AAAA");
  is_result(check(z, "2001:dba:1::2", "v4a.test", "a@v4a.test"), SPF_FAIL, "a/24, IPv6 client: /128");
  is_result(check(z, "10.0.0.1", "two.test", "a@two.test"), SPF_PERMERROR, "two SPF records");
  is_result(check(z, "10.0.0.1", "other.test", "a@other.test"), SPF_NONE, "TXT records, none SPF");
  is_result(check(z, "10.0.0.1", "absent.test", "a@absent.test"), SPF_NONE, "no TXT record");
  is_result(check(z, "10.0.0.1", "localhost", "a@localhost"), SPF_NONE, "single-label domain");
  is_result(check(z, "10.0.0.1", "a..test", "a@a..test"), SPF_NONE, "malformed domain");
  ok(!nqueries, "not looked up");
  is_result(check(z, "10.0.0.1", "bad.test", "a@bad.test"), SPF_PERMERROR, "unknown mechanism");
  is_result(check(z, "10.0.0.1", "badlate.test", "a@badlate.test"), SPF_PERMERROR,
            "syntax error after a matching +all");
  is_result(check(z, "10.0.0.1", "x.temp.test", "a@x.temp.test"), SPF_TEMPERROR, "TXT lookup fails");
  is_result(check(z, "10.0.0.1", "tmp.test", "a@tmp.test"), SPF_TEMPERROR, "a: lookup fails");
  is_result(check(z, "10.0.0.1", "tmpinc.test", "a@tmpinc.test"), SPF_TEMPERROR, "include: lookup fails");
  is_result(check(z, "10.0.0.1", "incnone.test", "a@incnone.test"), SPF_PERMERROR, "include: of no record");
  is_result(check(z, "10.0.0.1", "manymx.test", "a@manymx.test"), SPF_PERMERROR, "11 MX names");
  is_result(check(z, "::ffff:a01:203", "mapped.test", "a@mapped.test"), SPF_PASS, "IPv4-mapped client");
  is_result(check(z, "10.7.7.7", "helo.test", "postmaster@helo.example.net"), SPF_PASS, "%%{h}");
  is_result(check(z, "10.3.3.3", "pmacro.test", "a@pmacro.test"), SPF_PASS, "%%{p} validated");
  is_result(check(z, "10.3.3.4", "pmacro.test", "a@pmacro.test"), SPF_FAIL, "%%{p} unknown");
  stralloc_free(&C.exp);
}

int main(void)
{
  test_parser();
  test_macros();
  test_appendix();
  test_edges();
  return done_testing();
}
