/* lib/dmarc/authres: DMARC alignment and policy over an in-memory zone
   (SPF ip4 records only: no DKIM key is looked up), the Authentication-
   Results field, and which fields claim this host. */
#include <string.h>
#include <strings.h>
#include "dmarc/authres.h"
#include "tap.h"

typedef struct { char const *name, *txt; } rr;
static rr const zone[] = {
  { "john.test", "v=spf1 ip4:192.0.2.1 -all" },
  { "bounce.john.test", "v=spf1 ip4:192.0.2.1 -all" },
  { "_dmarc.john.test", "v=DMARC1; p=reject; sp=quarantine" },
  { "strict.test", "v=spf1 ip4:192.0.2.1 -all" },
  { "b.strict.test", "v=spf1 ip4:192.0.2.1 -all" },
  { "_dmarc.strict.test", "v=DMARC1; p=reject; aspf=s" },
  { "_dmarc.half.test", "v=DMARC1; p=reject; pct=50" },
  { 0, 0 },
};

/* TXT from the zone; names ending in "temp.test" fail. */
static int zquery(void *ctx, int type, char const *name, spf_answer *a, tain const *deadline)
{
  size_t len = strlen(name);
  (void)ctx; (void)deadline;
  a->n = 0;
  a->text.len = 0;
  if (len >= 9 && !strcasecmp(name + len - 9, "temp.test")) return SPF_DNS_TEMP;
  if (type != SPF_T_TXT) return SPF_DNS_NONE;
  for (rr const *r = zone; r->name; r++)
    if (!strcasecmp(r->name, name)) {
      if (!stralloc_cats(&a->text, r->txt) || !stralloc_0(&a->text)) return SPF_DNS_TEMP;
      a->n++;
    }
  return a->n ? SPF_DNS_OK : SPF_DNS_NONE;
}

static spf_resolver dns = { &zquery, 0 };
static dmarc_psl psl = DMARC_PSL_ZERO;
static authres r;

/* Check a message From: from, MAIL FROM sender, client 192.0.2.1. */
static void run(char const *from, char const *sender, unsigned roll)
{
  char msg[512];
  snprintf(msg, sizeof msg, "From: %s\nSubject: x\n\nbody\n", from);
  authres_in in = { .dns = &dns, .psl = &psl, .haveip = 1, .mailfrom = sender, .helo = "h.test",
                    .me = "mx.example.test", .msg = msg, .len = strlen(msg), .now = 0, .roll = roll };
  ip46full_scan("192.0.2.1", &in.ip);
  tain_now_g();
  tain_addsec_g(&in.deadline, 5);
  authres_check(&r, &in);
}

static void test_check(void)
{
  run("john@john.test", "john@john.test", 0);
  ok(r.spf == SPF_PASS && r.dmarc == AUTHRES_DMARC_PASS && r.action == AUTHRES_ACCEPT, "aligned SPF: pass");
  run("john@john.test", "x@bounce.john.test", 0);
  ok(r.dmarc == AUTHRES_DMARC_PASS, "relaxed: the same organizational domain");
  run("x@strict.test", "x@b.strict.test", 0);
  ok(r.spf == SPF_PASS && r.dmarc == AUTHRES_DMARC_FAIL && r.action == AUTHRES_REJECT, "aspf=s: a subdomain is not aligned");
  run("x@a.john.test", "x@a.john.test", 0);
  ok(r.dmarc == AUTHRES_DMARC_FAIL && r.action == AUTHRES_QUARANTINE && !strcmp(r.why, "sp=quarantine"),
     "a subdomain: sp= of the organizational domain (%s)", r.why);
  run("x@half.test", "x@half.test", 49);
  ok(r.action == AUTHRES_REJECT, "pct=50, roll 49: reject");
  run("x@half.test", "x@half.test", 50);
  ok(r.action == AUTHRES_QUARANTINE && r.sampled, "pct=50, roll 50: quarantine (%s)", r.why);
  run("john@john.test", "x@temp.test", 0);
  ok(r.spf == SPF_TEMPERROR && r.dmarc == AUTHRES_DMARC_TEMPERROR && r.action == AUTHRES_DEFER, "temperror under reject: defer");
  run("x@a.john.test", "x@temp.test", 0);
  ok(r.dmarc == AUTHRES_DMARC_TEMPERROR && r.action == AUTHRES_ACCEPT, "temperror under quarantine: accept");
  run("x@nothing.test", "x@nothing.test", 0);
  ok(r.dmarc == AUTHRES_DMARC_NONE && r.action == AUTHRES_ACCEPT, "no policy: none");
  run("x@nopolicy.temp.test", "john@john.test", 0);
  ok(r.dmarc == AUTHRES_DMARC_TEMPERROR && r.action == AUTHRES_ACCEPT, "policy lookup failed: temperror, accept");
  run("not an address", "john@john.test", 0);
  ok(r.dmarc == AUTHRES_DMARC_PERMERROR && r.action == AUTHRES_ACCEPT, "no From domain: permerror");

  stralloc sa = STRALLOC_ZERO;
  run("john@john.test", "", 0);
  ok(r.spfhelo && authres_fmt(&sa, &r, "mx.example.test", "\n") && stralloc_0(&sa), "null sender: HELO");
  is_str(sa.s, "Authentication-Results: mx.example.test;\n\tspf=none smtp.helo=h.test;\n\tdkim=none;\n"
               "\tdmarc=fail (p=reject) header.from=john.test\n", "the field");
  stralloc_free(&sa);
}

static int claims(char const *field, char const *id)
{
  hdr_field f;
  size_t pos = 0;
  return hdr_next(field, strlen(field), &pos, &f) && authres_claims(&f, id);
}

static void test_claims(void)
{
  ok(claims("Authentication-Results: mx.example.test; spf=pass\n", "mx.example.test"), "ours");
  ok(claims("authentication-results:MX.EXAMPLE.TEST;none\n", "mx.example.test"), "any case, no space");
  ok(claims("Authentication-Results: (c (nested)) \"mx.example.test\" 1; none\n", "mx.example.test"), "quoted, after a comment, a version");
  ok(claims("Authentication-Results:\n mx.example.test\n ; none\n", "mx.example.test"), "folded");
  ok(!claims("Authentication-Results: mx.example.test.evil; none\n", "mx.example.test"), "a longer name: not ours");
  ok(!claims("Authentication-Results: other.test; none\n", "mx.example.test"), "another host's");
  ok(!claims("X-Authentication-Results: mx.example.test; none\n", "mx.example.test"), "another field");
  ok(!claims("Authentication-Results: ; none\n", ""), "an empty id never matches");
}

int main(void)
{
  if (!dmarc_psl_parse(&psl, "test\n", 5)) return 111;
  test_check();
  test_claims();
  dmarc_psl_free(&psl);
  return done_testing();
}
