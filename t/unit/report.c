/* Unit tests of lib/report: the qmail-remote report, written and parsed. */
#include <string.h>
#include <skalibs/stralloc.h>
#include "tap.h"
#include "report.h"

#define B(s) s, sizeof(s) - 1

static int text_is(report_entry const *e, char const *want)
{
  return e->len == strlen(want) && !memcmp(e->text, want, e->len);
}

static void test_write(void)
{
  stralloc sa = STRALLOC_ZERO;
  char big[REPORT_TEXTMAX + 50];
  ok(report_adds(&sa, 'r', "") && sa.len == 2 && !memcmp(sa.s, "r\0", 2), "empty text");
  sa.len = 0;
  ok(report_add(&sa, 'h', B("a\nb\rc\0d\x7f" "e")) && sa.len == 11
     && !memcmp(sa.s, "ha?b?c?d?e\0", 11), "control bytes, NUL, CR, LF become '?'");
  sa.len = 0;
  ok(report_adds(&sa, 'K', "h\xc3\xa9llo") && sa.len == 8 && !memcmp(sa.s, "Kh\xc3\xa9llo\0", 8), "UTF-8 kept");
  sa.len = 0;
  memset(big, 'x', sizeof big);
  ok(report_add(&sa, 'D', big, sizeof big) && sa.len == REPORT_TEXTMAX + 2 && !sa.s[sa.len-1],
     "text cut to REPORT_TEXTMAX");
  sa.len = 0;
  /* a two-byte character straddling the limit is dropped whole */
  big[REPORT_TEXTMAX - 1] = '\xc3';
  big[REPORT_TEXTMAX] = '\xa9';
  ok(report_add(&sa, 'D', big, sizeof big) && sa.len == REPORT_TEXTMAX + 1
     && sa.s[sa.len-2] == 'x', "cut at a UTF-8 boundary");
  stralloc_free(&sa);
}

static void test_parse(void)
{
  report_entry r[3], m;
  char const *t;
  size_t n;

  ok(report_parse(B("r\0hno such user\0s\0Kok\0"), 3, r, &m), "full report parses");
  ok(r[0].code == 'r' && r[1].code == 'h' && r[2].code == 's' && m.code == 'K', "codes");
  ok(text_is(&r[1], "no such user") && text_is(&m, "ok") && text_is(&r[0], ""), "texts");
  ok(report_outcome(&r[0], &m, &t, &n) == REPORT_OK && n == 2 && !memcmp(t, "ok", 2), "r + K -> ok, message text");
  ok(report_outcome(&r[1], &m, &t, &n) == REPORT_PERM && n == 12, "h -> permanent, own text");
  ok(report_outcome(&r[2], &m, &t, &n) == REPORT_TEMP && n == 0, "s -> temporary");

  ok(report_parse(B("r\0r\0Dbody rejected\0"), 2, r, &m), "r r D");
  ok(report_outcome(&r[0], &m, &t, &n) == REPORT_PERM && n == 13, "r + D -> permanent with message text");
  ok(report_parse(B("r\0h5.1.1 x\0Zlost connection\0"), 2, r, &m), "r h Z");
  ok(report_outcome(&r[0], &m, &t, &n) == REPORT_TEMP, "r + Z -> temporary");
  ok(report_outcome(&r[1], &m, &t, &n) == REPORT_PERM, "h stays permanent under Z");

  /* qmail-remote: no recipient entries when it fails before RCPT */
  ok(report_parse(B("ZSorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n\0"), 3, r, &m),
     "message entry alone");
  ok(r[2].code == 'Z' && report_outcome(&r[2], &m, &t, &n) == REPORT_TEMP && n > 10, "every recipient gets it");
  ok(report_parse(B("Dno such domain\0"), 1, r, &m) && report_outcome(&r[0], &m, &t, &n) == REPORT_PERM,
     "D alone -> permanent");

  ok(!report_parse(B(""), 1, r, &m), "empty output");
  ok(!report_parse(B("r\0"), 1, r, &m), "no message entry");
  ok(!report_parse(B("r\0Kok"), 1, r, &m), "truncated message entry");
  ok(!report_parse(B("r\0Kok\0r\0"), 1, r, &m), "bytes after the message entry");
  ok(!report_parse(B("r\0r\0Kok\0"), 3, r, &m), "too few recipient entries");
  ok(!report_parse(B("r\0r\0r\0r\0Kok\0"), 3, r, &m), "too many recipient entries");
  ok(!report_parse(B("x\0Kok\0"), 1, r, &m), "unknown code");
  ok(!report_parse(B("\0Kok\0"), 1, r, &m), "empty entry");
  ok(!report_parse(B("Kok\0"), 1, r, &m), "K without any accepted recipient");
  ok(!report_parse(B("h\0Kok\0"), 1, r, &m), "K with no 'r' entry");
}

static void test_roundtrip(void)
{
  stralloc sa = STRALLOC_ZERO;
  report_entry r[2], m;
  ok(report_adds(&sa, 'r', "a[1.2.3.4] said: 250 ok") && report_adds(&sa, 's', "a[1.2.3.4] said: 451 later")
     && report_adds(&sa, 'K', "a[1.2.3.4] said: 250 queued"), "write three entries");
  ok(report_parse(sa.s, sa.len, 2, r, &m) && r[1].code == 's' && text_is(&m, "a[1.2.3.4] said: 250 queued"),
     "what is written parses back");
  stralloc_free(&sa);
}

int main(void)
{
  test_write();
  test_parse();
  test_roundtrip();
  return done_testing();
}
