/* Unit tests of lib/dkim: tag-lists, base64, canonicalization (RFC 6376
   §3.4.5's example), key records, signature fields, and signing and
   verifying with a resolver table instead of DNS. */
#include <string.h>
#include <skalibs/stralloc.h>
#include <bearssl.h>
#include "hdr.h"
#include "dkim/b64.h"
#include "dkim/canon.h"
#include "dkim/key.h"
#include "dkim/sig.h"
#include "dkim/sign.h"
#include "dkim/tags.h"
#include "dkim/verify.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

static int tags_ok(char const *s)
{
  dkim_tags t;
  char const *why;
  return dkim_tags_parse(&t, s, strlen(s), &why);
}

static void test_tags(void)
{
  dkim_tags t;
  char const *why = 0;
  char const s[] = " v=1; a = rsa-sha256 ;\r\n\tb=abc\r\n def ; e=;";
  ok(dkim_tags_parse(&t, S(s), &why) && t.n == 4, "tags: parsed, FWS around names and values");
  dkim_tag const *b = dkim_tags_get(&t, "b");
  ok(b && b->vallen == 9 && !memcmp(b->val, "abc\r\n def", 9), "tags: inner FWS kept, outer removed");
  ok(dkim_tag_is(dkim_tags_get(&t, "a"), "rsa-sha256") && dkim_tags_get(&t, "e")->vallen == 0, "tags: values, an empty one");
  ok(!dkim_tags_get(&t, "A"), "tags: names are case-sensitive");
  ok(!memcmp(s + b->vstart, "abc", 3) && s[b->vend] == ';', "tags: the value's span for the b= cut");
  ok(!tags_ok(""), "tags: empty list refused");
  ok(!tags_ok("v=1; v=2"), "tags: duplicate refused");
  ok(!tags_ok("v=1;; a=2"), "tags: empty tag-spec refused");
  ok(!tags_ok("=1"), "tags: no name refused");
  ok(!tags_ok("1v=1"), "tags: name starting with a digit refused");
  ok(!tags_ok("v 1"), "tags: no '=' refused");
  ok(!tags_ok("v=a\001b"), "tags: control byte refused");
  ok(!tags_ok("v=\xc3\xa9"), "tags: 8-bit byte refused");
  ok(tags_ok("v=1;") && tags_ok("v=1 ; \r\n "), "tags: final ';' and FWS allowed");
  char many[400] = "";
  for (int i = 0; i < DKIM_TAGS_MAX + 1; i++) sprintf(many + strlen(many), "t%d=1;", i);
  ok(!tags_ok(many), "tags: more than DKIM_TAGS_MAX refused");
}

static void test_b64(void)
{
  unsigned char out[16];
  char enc[16];
  ok(dkim_b64_decode(out, sizeof out, S("aGVs bG8=")) == 5 && !memcmp(out, "hello", 5), "b64: decode with FWS");
  ok(dkim_b64_decode(out, sizeof out, S("aGk=\r\n")) == 2, "b64: one pad");
  ok(dkim_b64_decode(out, sizeof out, S("aA==")) == 1, "b64: two pads");
  ok(dkim_b64_decode(out, sizeof out, S("aGVs*G8=")) < 0, "b64: junk refused");
  ok(dkim_b64_decode(out, sizeof out, S("aGVsbG8")) < 0, "b64: missing padding refused");
  ok(dkim_b64_decode(out, sizeof out, S("aA==aA==")) < 0, "b64: data after padding refused");
  ok(dkim_b64_decode(out, sizeof out, S("a===")) < 0, "b64: three pads refused");
  ok(dkim_b64_decode(out, 2, S("aGVsbG8=")) < 0, "b64: over the room refused");
  ok(dkim_b64_encode(enc, (unsigned char const *)"hello", 5) == 8 && !memcmp(enc, "aGVsbG8=", 8), "b64: encode");
}

/* RFC 6376 §3.4.5 */
static char const ex[] = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";

static void canon_headers(int relaxed, stralloc *sa)
{
  dkim_msg m;
  char const *why;
  sa->len = 0;
  if (!dkim_msg_split(&m, S(ex), &why)) return;
  for (unsigned i = 0; i < m.n; i++) dkim_canon_header(sa, relaxed, m.f + i, 0, 0);
}

static int body_is(int relaxed, char const *body, size_t len, char const *want, uint64_t limit)
{
  br_sha256_context c;
  unsigned char a[32], b[32];
  uint64_t total;
  br_sha256_init(&c);
  dkim_canon_body(&c, relaxed, body, len, limit, &total);
  br_sha256_out(&c, a);
  br_sha256_init(&c);
  br_sha256_update(&c, want, strlen(want) < limit ? strlen(want) : limit);
  br_sha256_out(&c, b);
  return !memcmp(a, b, 32) && total == strlen(want);
}

static void test_canon(void)
{
  stralloc sa = STRALLOC_ZERO;
  dkim_msg m;
  char const *why;
  canon_headers(1, &sa);
  ok(sa.len == 12 && !memcmp(sa.s, "a:X\r\nb:Y Z\r\n", 12), "canon: RFC 6376 example, relaxed header");
  canon_headers(0, &sa);
  ok(sa.len == 20 && !memcmp(sa.s, "A: X\r\nB : Y\t\r\n\tZ  \r\n", 20), "canon: RFC 6376 example, simple header");
  ok(dkim_msg_split(&m, S(ex), &why) && m.n == 2, "canon: two fields");
  ok(body_is(1, m.body, m.bodylen, " C\r\nD E\r\n", UINT64_MAX), "canon: RFC 6376 example, relaxed body");
  ok(body_is(0, m.body, m.bodylen, " C \r\nD \t E\r\n", UINT64_MAX), "canon: RFC 6376 example, simple body");
  ok(body_is(0, S(""), "\r\n", UINT64_MAX) && body_is(1, S(""), "", UINT64_MAX), "canon: empty body");
  ok(body_is(0, S("\n\n"), "\r\n", UINT64_MAX) && body_is(1, S(" \n\t\n"), "", UINT64_MAX), "canon: only empty lines");
  ok(body_is(0, S("a\nb"), "a\r\nb\r\n", UINT64_MAX), "canon: LF lines, no final line end");
  ok(body_is(1, S("a \n\n b\r\n"), "a\r\n\r\n b\r\n", UINT64_MAX), "canon: inner empty line kept");
  ok(body_is(0, S("hello\nworld\n"), "hello\r\nworld\r\n", 7), "canon: l= limits what is hashed");
  hdr_field f;
  size_t pos = 0;
  hdr_next(S("DKIM-Signature: a=1; b= abc ;c=2\n"), &pos, &f);
  sa.len = 0;
  ok(dkim_canon_header(&sa, 1, &f, 8, 13) && sa.len == 28 && !memcmp(sa.s, "dkim-signature:a=1; b=;c=2\r\n", 28),
     "canon: the b= cut");
  stralloc_free(&sa);
}

#define K1024 "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDdyrJnJ+gvXbUKXyYuOgrmTU21cXbJku4MEok6Zq577oqncO/WLbtbmhdN5/swq85D3Bm+80gjtg2hKFylqsX2Qqua+PJlRzUetjQzMPLknrceNX1ym9jE8Pl8bzvyxM8lmR3DdZtgNe84RLwgK5ZUL3YEqIS7bWYeww2xEtcKLwIDAQAB"
#define K1024RAW "MIGJAoGBAN3Ksmcn6C9dtQpfJi46CuZNTbVxdsmS7gwSiTpmrnvuiqdw79Ytu1uaF03n+zCrzkPcGb7zSCO2DaEoXKWqxfZCq5r48mVHNR62NDMw8uSetx41fXKb2MTw+XxvO/LEzyWZHcN1m2A17zhEvCArllQvdgSohLttZh7DDbES1wovAgMBAAE="
#define K512 "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBANTd/K8JIDuFUFGMQlVUTFA3bJjkWPACIhLU2Fwz0ostPlPGr8qJiBP1TnxkHv4u8IFS7ZA9qnvbEuLA4OS5H+8CAwEAAQ=="

static char const *key_why(char const *rec)
{
  static dkim_key k;
  char const *why = 0;
  return dkim_key_parse(&k, rec, strlen(rec), &why) ? 0 : why;
}

static void test_key(void)
{
  static dkim_key k;
  char const *why;
  ok(!key_why("v=DKIM1; k=rsa; p=" K1024) && dkim_key_parse(&k, S("p=" K1024), &why) && k.bits == 1024,
     "key: SPKI, 1024 bits");
  ok(!key_why("v=DKIM1; p=" K1024RAW), "key: bare RSAPublicKey accepted");
  ok(!key_why("v=DKIM1; h=sha1:sha256; s=email; t=y; p=" K1024), "key: h=, s=, t= accepted");
  why = key_why("v=DKIM1; k=rsa; p=" K512);
  ok(why && strstr(why, "512 bits"), "key: 512 bits refused (%s)", why ? why : "");
  ok(key_why("k=rsa; v=DKIM1; p=" K1024) != 0, "key: v= not first refused");
  ok(key_why("v=DKIM2; p=" K1024) != 0, "key: v=DKIM2 refused");
  why = key_why("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ok(why && strstr(why, "ed25519"), "key: ed25519 said unsupported");
  ok(key_why("v=DKIM1; h=sha1; p=" K1024) != 0, "key: h=sha1 only refused");
  ok(key_why("v=DKIM1; s=other; p=" K1024) != 0, "key: s= without email refused");
  why = key_why("v=DKIM1; p=");
  ok(why && strstr(why, "revoked"), "key: empty p= is revoked");
  ok(key_why("v=DKIM1; k=rsa") != 0, "key: no p= refused");
  ok(key_why("v=DKIM1; p=MIGf!!MA0G") != 0, "key: junk base64 refused");
  ok(key_why("v=DKIM1; p=aGVsbG8=") != 0, "key: base64 of no DER refused");
  ok(key_why("v=DKIM1; p=MA==") != 0 && key_why("v=DKIM1; p=MIIEAAAA") != 0, "key: truncated DER refused");
}

/* -- signing and verifying ------------------------------------------------ */

struct table { char const *rec; int ret; };

static int table_txt(void *ctx, char const *name, stralloc *out)
{
  struct table const *t = ctx;
  if (strcmp(name, "sel._domainkey.example.test")) return 0;
  if (t->ret <= 0) return t->ret;
  return stralloc_cats(out, t->rec) && stralloc_0(out) ? 1 : -1;
}

static br_rsa_private_key sk;
static br_rsa_public_key pk;
static unsigned char kpriv[BR_RSA_KBUF_PRIV_SIZE(2048)], kpub[BR_RSA_KBUF_PUB_SIZE(2048)];
static stralloc rec = STRALLOC_ZERO;

static int make_key(unsigned bits)
{
  br_hmac_drbg_context rng;
  unsigned char spki[600];
  char b64[DKIM_B64_LEN(600)];
  br_hmac_drbg_init(&rng, &br_sha256_vtable, "unit test seed", 14);
  if (!br_rsa_keygen_get_default()(&rng.vtable, &sk, kpriv, &pk, kpub, bits, 65537)) return 0;
  size_t n = dkim_key_spki(spki, sizeof spki, &pk);
  rec.len = 0;
  return n && stralloc_cats(&rec, "v=DKIM1; k=rsa; p=")
      && stralloc_catb(&rec, b64, dkim_b64_encode(b64, spki, n)) && stralloc_0(&rec);
}

static int verify1(char const *msg, size_t len, struct table const *t, dkim_result *r)
{
  dkim_result rs[DKIM_MAXSIGS];
  unsigned n = dkim_verify(rs, msg, len, 1800000000, &table_txt, (void *)t);
  if (n) *r = rs[0];
  return n;
}

static void test_sign_verify(void)
{
  char const msg[] = "From: John <john@example.test>\nTo: kate@kate.test\nSubject: hi\n\nHello.\n";
  stralloc sa = STRALLOC_ZERO, m2 = STRALLOC_ZERO;
  dkim_signer s = { .domain = "example.test", .selector = "sel", .sk = &sk, .t = 1700000000 };
  struct table t = { 0, 1 };
  dkim_result r;
  char const *why;
  if (!ok(make_key(2048), "keygen 2048")) return;
  t.rec = rec.s;
  ok(dkim_sign(&sa, &s, S(msg), &why), "sign");
  ok(strstr(sa.s, "h=From:From:To:Subject;") != 0, "sign: From oversigned, fields present listed");
  stralloc_catb(&m2, sa.s, sa.len);
  stralloc_catb(&m2, S(msg));
  ok(verify1(m2.s, m2.len, &t, &r) == 1 && r.result == DKIM_PASS, "verify: pass (%s)", r.why);
  stralloc out = STRALLOC_ZERO;
  dkim_result_fmt(&out, &r);
  stralloc_0(&out);
  is_str(out.s, "dkim=pass header.d=example.test header.s=sel", "result text");
  m2.s[m2.len - 3] = 'X';
  ok(verify1(m2.s, m2.len, &t, &r) == 1 && r.result == DKIM_FAIL && strstr(r.why, "body"), "verify: body altered fails");
  m2.s[m2.len - 3] = 'o';
  char *subj = strstr(m2.s, "Subject: hi");
  subj[10] = 'o';
  ok(verify1(m2.s, m2.len, &t, &r) == 1 && r.result == DKIM_FAIL && strstr(r.why, "signature"), "verify: header altered fails (%d %s)", r.result, r.why);
  subj[10] = 'i';
  stralloc m3 = STRALLOC_ZERO;
  stralloc_cats(&m3, "From: evil@example.test\n");
  stralloc_catb(&m3, m2.s, m2.len);
  ok(verify1(m3.s, m3.len, &t, &r) == 1 && r.result == DKIM_FAIL, "verify: a From added on top fails (oversigned)");
  t.ret = -1;
  ok(verify1(m2.s, m2.len, &t, &r) == 1 && r.result == DKIM_TEMPERROR, "verify: DNS failure is temperror");
  t.ret = 0;
  ok(verify1(m2.s, m2.len, &t, &r) == 1 && r.result == DKIM_PERMERROR, "verify: no key is permerror");
  t.ret = 1;
  t.rec = "v=DKIM1; p=" K512;
  ok(verify1(m2.s, m2.len, &t, &r) == 1 && r.result == DKIM_PERMERROR && strstr(r.why, "512"), "verify: 512-bit key refused");
  t.rec = "v=DKIM1; p=" K1024;
  ok(verify1(m2.s, m2.len, &t, &r) == 1 && r.result == DKIM_FAIL, "verify: another key fails");
  ok(verify1(S(msg), &t, &r) == 0, "verify: no signature, no result");
  stralloc_free(&sa); stralloc_free(&m2); stralloc_free(&m3); stralloc_free(&out);
}

static int sig_why(char const *fields, char const **why)
{
  dkim_result rs[DKIM_MAXSIGS];
  struct table t = { rec.s, 1 };
  stralloc sa = STRALLOC_ZERO;
  stralloc_cats(&sa, "DKIM-Signature: ");
  stralloc_cats(&sa, fields);
  stralloc_cats(&sa, "\nFrom: a@example.test\n\nbody\n");
  unsigned n = dkim_verify(rs, sa.s, sa.len, 1800000000, &table_txt, &t);
  static char w[128];
  strcpy(w, n ? rs[0].why : "");
  *why = w;
  stralloc_free(&sa);
  return n == 1 ? rs[0].result : -1;
}

static void test_bad_sigs(void)
{
  static char const *const bad[] = {
    "v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=AAAA; b=AAAA; v=1",
    "v=2; a=rsa-sha256; d=example.test; s=sel; h=from; bh=AAAA; b=AAAA",
    "v=1; a=rsa-sha1; d=example.test; s=sel; h=from; bh=AAAA; b=AAAA",
    "v=1; a=ed25519-sha256; d=example.test; s=sel; h=from; bh=AAAA; b=AAAA",
    "v=1; a=rsa-sha256; d=example.test; s=sel; h=to; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA",
    "v=1; a=rsa-sha256; d=exa mple.test; s=sel; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA",
    "v=1; a=rsa-sha256; d=../etc; s=sel; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA",
    "v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=A*A!",
    "v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA; c=fancy",
    "v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA; l=x",
    "v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA; i=a@evil.test",
    "v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA; x=1000",
    "v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA; l=99999",
    "garbage", "", ";;;", "v=1; a",
  };
  char const *why;
  for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
    int r = sig_why(bad[i], &why);
    ok(r == DKIM_PERMERROR && *why, "bad signature %u: permerror (%s)", i, why);
  }
  /* a 100 KB header field: a clear result */
  stralloc big = STRALLOC_ZERO;
  stralloc_cats(&big, "v=1; a=rsa-sha256; d=example.test; s=sel; h=from; b=AAAA; bh=");
  for (int i = 0; i < 100000; i++) stralloc_catb(&big, "A", 1);
  stralloc_0(&big);
  ok(sig_why(big.s, &why) == DKIM_PERMERROR && strstr(why, "bh="), "100 KB DKIM-Signature: permerror (%s)", why);
  stralloc_free(&big);
}

int main(void)
{
  test_tags();
  test_b64();
  test_canon();
  test_key();
  test_sign_verify();
  test_bad_sigs();
  return done_testing();
}
