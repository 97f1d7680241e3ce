/* Unit tests of lib/dmarc: the record parser (RFC 7489 6.3, 6.4, 6.6.3)
   and the organizational domain, with publicsuffix.org's own test cases
   over a small list in memory and over Debian's list. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include "tap.h"
#include "dmarc/dmarc.h"

#define LEN(s) s, sizeof(s) - 1

static dmarc_record R;
static char const *why;

static int parse(char const *s)
{
  return dmarc_parse(&R, s, strlen(s), &why);
}

static void test_records(void)
{
  ok(parse("v=DMARC1; p=reject") && R.p == DMARC_P_REJECT && R.sp == DMARC_P_REJECT && R.adkim == 'r'
     && R.aspf == 'r' && R.pct == 100 && !R.nrua && !R.nruf && R.fo == DMARC_FO_0 && R.ri == 86400,
     "minimal record, defaults");
  ok(parse("v=DMARC1;p=quarantine;sp=none;adkim=s;aspf=s;pct=20;rua=mailto:a@example.com,"
           "mailto:b@example.com!10m;ruf=mailto:f@example.com;fo=1:d;ri=3600")
     && R.p == DMARC_P_QUARANTINE && R.sp == DMARC_P_NONE && R.adkim == 's' && R.aspf == 's' && R.pct == 20
     && R.nrua == 2 && R.nruf == 1 && R.fo == (DMARC_FO_1 | DMARC_FO_D) && R.ri == 3600, "every tag");
  ok(parse(" v = DMARC1 ;\tp = None ; ") && R.p == DMARC_P_NONE, "spaces, a final ;, case of values");
  ok(parse("v=DMARC1; p=reject; x_unknown=1; future_tag=a b c") && R.p == DMARC_P_REJECT, "unknown tags ignored");
  ok(parse("v=DMARC1; p=reject;; pct=5") && R.pct == 5, "an empty tag-spec skipped");
  ok(parse("v=DMARC1; p=reject; pct=101; adkim=x; aspf=; fo=0:2; ri=99999999999") && R.pct == 100
     && R.adkim == 'r' && R.aspf == 'r' && R.fo == DMARC_FO_0 && R.ri == 86400, "bad values take their defaults");
  ok(parse("v=DMARC1; p=none; fo=0:") && R.fo == DMARC_FO_0, "fo with a trailing colon");
  ok(parse("v=DMARC1; p=none; rua=notauri, mailto:x@example.com!x, mailto:ok@example.com")
     && R.nrua == 1, "only valid rua URIs counted");
  static char const *const notrec[] = {
    "v=DMARC2; p=none", "v=dmarc1; p=none", "p=none; v=DMARC1", "v=DMARC1p=none", "", "v=", "DMARC1",
  };
  for (unsigned i = 0; i < sizeof notrec / sizeof *notrec; i++)
    ok(!parse(notrec[i]) && !strcmp(why, "not a DMARC record"), "not a record: '%s'", notrec[i]);
  ok(!parse("v=DMARC1; p=bogus") && !strcmp(why, "no valid p= tag"), "invalid p, no rua");
  ok(!parse("v=DMARC1") && !strcmp(why, "no valid p= tag"), "no p, no rua");
  ok(parse("v=DMARC1; p=bogus; rua=mailto:x@example.com") && R.p == DMARC_P_NONE, "invalid p with rua: none");
  ok(parse("v=DMARC1; rua=mailto:x@example.com") && R.p == DMARC_P_NONE && R.sp == DMARC_P_NONE, "no p with rua: none");
  ok(!parse("v=DMARC1; p=reject; sp=bogus") && !strcmp(why, "invalid sp= tag"), "invalid sp, no rua");
  ok(parse("v=DMARC1; p=reject; sp=bogus; rua=mailto:x@example.com") && R.p == DMARC_P_NONE
     && R.sp == DMARC_P_NONE, "invalid sp with rua: none");
  ok(!parse("v=DMARC1; p=reject; p=none") && !strcmp(why, "a tag given twice"), "p twice");
  ok(!parse("v=DMARC1; p=reject; P=none"), "p twice, other case");
  ok(!parse("v=DMARC1; v=DMARC1; p=none"), "v twice");
  ok(!parse("v=DMARC1; p=reject; =x") && !strcmp(why, "malformed tag"), "no tag name");
  ok(!parse("v=DMARC1; p=reject; 1a=b"), "tag name not a letter first");
  ok(!parse("v=DMARC1; p=reject; pct"), "no =");
  ok(!parse("v=DMARC1; p=reject; x=\xc3\xa9"), "8-bit value");
  ok(!parse("v=DMARC1; p=reject; x=a\x01"), "control byte in a value");
  stralloc sa = STRALLOC_ZERO;
  stralloc_cats(&sa, "v=DMARC1; p=none");
  for (int i = 0; i < DMARC_MAXTAGS; i++) {
    char t[32];
    snprintf(t, sizeof t, "; t%d=x", i);
    stralloc_cats(&sa, t);
  }
  ok(!dmarc_parse(&R, sa.s, sa.len, &why) && !strcmp(why, "too many tags"), "over %d tags", DMARC_MAXTAGS);
  sa.len = 0;
  stralloc_cats(&sa, "v=DMARC1; p=none; x=");
  while (sa.len <= DMARC_MAXRECORD) stralloc_cats(&sa, "xxxxxxxx");
  ok(!dmarc_parse(&R, sa.s, sa.len, &why) && !strcmp(why, "record too long"), "over %d bytes", DMARC_MAXRECORD);
  stralloc_free(&sa);
  ok(dmarc_is_record(LEN("v=DMARC1")) && dmarc_is_record(LEN("v=DMARC1 ;p=none"))
     && !dmarc_is_record(LEN("v=DMARC10")), "dmarc_is_record");
}

/* publicsuffix.org's tests/test_psl.txt (ASCII cases): domain, org domain. */
static char const *const psltests[][2] = {
  { "com", 0 }, { "example.com", "example.com" }, { "b.example.com", "example.com" },
  { "a.b.example.com", "example.com" }, { "uk.com", 0 }, { "example.uk.com", "example.uk.com" },
  { "b.example.uk.com", "example.uk.com" }, { "test.ac", "test.ac" }, { "mm", 0 }, { "c.mm", 0 },
  { "b.c.mm", "b.c.mm" }, { "a.b.c.mm", "b.c.mm" }, { "jp", 0 }, { "test.jp", "test.jp" },
  { "www.test.jp", "test.jp" }, { "ac.jp", 0 }, { "test.ac.jp", "test.ac.jp" }, { "kyoto.jp", 0 },
  { "test.kyoto.jp", "test.kyoto.jp" }, { "ide.kyoto.jp", 0 }, { "b.ide.kyoto.jp", "b.ide.kyoto.jp" },
  { "a.b.ide.kyoto.jp", "b.ide.kyoto.jp" }, { "c.kobe.jp", 0 }, { "b.c.kobe.jp", "b.c.kobe.jp" },
  { "city.kobe.jp", "city.kobe.jp" }, { "www.city.kobe.jp", "city.kobe.jp" }, { "ck", 0 }, { "test.ck", 0 },
  { "b.test.ck", "b.test.ck" }, { "www.ck", "www.ck" }, { "www.www.ck", "www.ck" }, { "us", 0 },
  { "test.us", "test.us" }, { "www.test.us", "test.us" }, { "ak.us", 0 }, { "test.ak.us", "test.ak.us" },
  { "k12.ak.us", 0 }, { "test.k12.ak.us", "test.k12.ak.us" }, { "example", 0 },
  { "example.example", "example.example" }, { "b.example.example", "example.example" },
  { "WWW.Example.COM.", "example.com" },
};

static void psl_cases(dmarc_psl const *p, char const *which)
{
  char out[254];
  for (unsigned i = 0; i < sizeof psltests / sizeof *psltests; i++) {
    char const *d = psltests[i][0], *want = psltests[i][1];
    int r = dmarc_orgdomain(p, d, out);
    ok(want ? r == 1 && !strcmp(out, want) : r == 0, "%s: %s -> %s", which, d, want ? want : "(public suffix)");
    if (want ? r != 1 || strcmp(out, want) : r != 0) printf("#   got %d '%s'\n", r, r ? out : "");
  }
}

static void test_psl(void)
{
  static char const list[] =
    "// comment\n\n// ===BEGIN ICANN DOMAINS===\ncom\nac\nmm\n*.mm\njp\nac.jp\nkyoto.jp\nide.kyoto.jp\n"
    "*.kobe.jp\n!city.kobe.jp\n*.ck\n!www.ck\nus\nak.us\nk12.ak.us\r\n\xe4\xb8\xad\xe5\x9b\xbd\n"
    "// ===BEGIN PRIVATE DOMAINS===\nUK.com  trailing words ignored\n";
  dmarc_psl p = DMARC_PSL_ZERO;
  char out[254];
  ok(dmarc_psl_parse(&p, list, sizeof list - 1) && p.n == 17, "the small list: %zu rules", p.n);
  psl_cases(&p, "small list");
  ok(!dmarc_orgdomain(&p, "a..example.com", out) && !dmarc_orgdomain(&p, "", out)
     && !dmarc_orgdomain(&p, ".", out) && !dmarc_orgdomain(&p, "a b.com", out), "malformed names");
  stralloc sa = STRALLOC_ZERO;
  stralloc_cats(&sa, "com\n");
  for (int i = 0; i < 300; i++) stralloc_catb(&sa, "a", 1);
  stralloc_cats(&sa, ".com\n");
  ok(dmarc_psl_parse(&p, sa.s, sa.len) && p.n == 1, "a rule over %d bytes skipped", DMARC_PSL_MAXRULE);
  sa.len = 0;
  for (int i = 0; i <= DMARC_PSL_MAXRULES; i++) stralloc_cats(&sa, "x\n");
  ok(!dmarc_psl_parse(&p, sa.s, sa.len) && errno == EFBIG && !p.n, "over %d rules", DMARC_PSL_MAXRULES);
  stralloc_free(&sa);
  ok(dmarc_psl_parse(&p, "", 0) && dmarc_orgdomain(&p, "a.b.example", out) && !strcmp(out, "b.example"),
     "an empty list: the default rule *");
  if (access(DMARC_PSL, R_OK) < 0) printf("ok %d # skip no %s (package publicsuffix)\n", ++tap_n, DMARC_PSL);
  else {
    ok(dmarc_psl_load(&p, 0) && p.n > 5000, "Debian's list: %zu rules", p.n);
    psl_cases(&p, "Debian's list");
  }
  ok(!dmarc_psl_load(&p, "/nonexistent/psl.dat") && errno == ENOENT, "no such file");
  dmarc_psl_free(&p);
}

/* An in-memory zone of TXT records; names ending in "temp.test" fail. */
typedef struct { char const *name, *txt; } rr;
static rr const *zone;
static unsigned nq;

static int zquery(void *ctx, int type, char const *name, spf_answer *a, tain const *deadline)
{
  (void)ctx; (void)deadline;
  size_t len = strlen(name);
  nq++;
  a->n = 0;
  a->text.len = 0;
  if (type != SPF_T_TXT) return SPF_DNS_NONE;
  if (len >= 9 && !strcasecmp(name + len - 9, "temp.test")) return SPF_DNS_TEMP;
  for (rr const *r = zone; r->name; r++)
    if (!strcasecmp(r->name, name)) {
      if (!stralloc_cats(&a->text, r->txt) || !stralloc_0(&a->text)) return SPF_DNS_TEMP;
      a->n++;
    }
  return a->n ? SPF_DNS_OK : SPF_DNS_NONE;
}

static void test_discover(void)
{
  static rr const z[] = {
    { "_dmarc.john.test", "v=DMARC1; p=reject; sp=quarantine" },
    { "_dmarc.sub.john.test", "v=DMARC1; p=none" },
    { "_dmarc.two.test", "v=DMARC1; p=reject" }, { "_dmarc.two.test", "v=DMARC1; p=none" },
    { "_dmarc.other.test", "some text" },
    { "_dmarc.bad.test", "v=DMARC1; p=bogus" },
    { "_dmarc.badsub.john.test", "v=DMARC1; p=bogus" },
    { "_dmarc.many.test", "v=DMARC1; p=none" }, { "_dmarc.many.test", "v=DMARC1; p=none" },
    { 0, 0 },
  };
  static char const list[] = "test\n";
  dmarc_psl p = DMARC_PSL_ZERO;
  spf_resolver dns = { &zquery, 0 };
  char pd[254];
  tain deadline;
  dmarc_record r;
  char const *w;
  zone = z;
  dmarc_psl_parse(&p, list, sizeof list - 1);
  tain_now_g();
  tain_addsec_g(&deadline, 10);
#define DISC(d) (nq = 0, dmarc_discover(&r, pd, &dns, &p, d, &deadline, &w))
  ok(DISC("john.test") == DMARC_FOUND && !strcmp(pd, "john.test") && r.p == DMARC_P_REJECT && nq == 1,
     "the domain's own record");
  ok(DISC("a.b.John.test.") == DMARC_FOUND && !strcmp(pd, "john.test") && r.sp == DMARC_P_QUARANTINE && nq == 2,
     "no record: the organizational domain's, sp= applies");
  ok(DISC("sub.john.test") == DMARC_FOUND && !strcmp(pd, "sub.john.test") && r.p == DMARC_P_NONE,
     "a subdomain's own record first");
  ok(DISC("x.other.test") == DMARC_NORECORD && nq == 2 && !strcmp(w, "no DMARC record"),
     "no DMARC record anywhere (TXT without one)");
  ok(DISC("two.test") == DMARC_NORECORD && !strcmp(w, "several DMARC records"), "two records: none");
  ok(DISC("x.many.test") == DMARC_NORECORD && nq == 2 && !strcmp(pd, "many.test")
     && !strcmp(w, "several DMARC records"), "two records at the org domain");
  ok(DISC("bad.test") == DMARC_NORECORD && !strcmp(w, "no valid p= tag") && nq == 1, "invalid record: none");
  ok(DISC("badsub.john.test") == DMARC_NORECORD && nq == 1, "an invalid record stops the search");
  ok(DISC("temp.test") == DMARC_TEMPFAIL, "DNS failure: temporary");
  ok(DISC("x.temp.test") == DMARC_TEMPFAIL, "DNS failure at the org domain: temporary");
  ok(DISC("test") == DMARC_NORECORD && nq == 1, "a public suffix: no org domain to try");
  ok(DISC("") == DMARC_NORECORD && !nq, "empty domain");
  dmarc_psl_free(&p);
}

int main(void)
{
  test_records();
  test_psl();
  test_discover();
  return done_testing();
}
