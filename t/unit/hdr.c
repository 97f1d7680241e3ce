/* Unit tests of lib/hdr. */
#include <string.h>
#include <skalibs/stralloc.h>
#include "hdr.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

static void test_split (void)
{
  size_t h = 99 ;
  ok(hdr_split(S("A: 1\nB: 2\n\nbody\n"), 100, &h) == HDR_END && h == 10, "split: end found");
  ok(hdr_split(S("A: 1\r\nB: 2\r\n\r\nbody"), 100, &h) == HDR_END && h == 12, "split: CRLF end found");
  ok(hdr_split(S("\nbody\n"), 100, &h) == HDR_END && h == 0, "split: empty header");
  ok(hdr_split(S("A: 1\nB: 2"), 100, &h) == HDR_MORE && h == 5, "split: more, last line incomplete");
  ok(hdr_split(S(""), 100, &h) == HDR_MORE && h == 0, "split: nothing yet");
  ok(hdr_split(S("A: 1\nB: 2\nC: 3\n\n"), 2, &h) == HDR_LIMIT && h == 10, "split: line limit");
  ok(hdr_split(S("A: 1\nB: 2\n\n"), 2, &h) == HDR_END && h == 10, "split: end right at the limit");
  ok(hdr_split(S("A: 1\n\r"), 100, &h) == HDR_MORE && h == 5, "split: lone CR waits for more");
}

static void test_next (void)
{
  char const m[] = "Subject: hello\n  world\nX-Bad line\nTo : a@b\r\n\tc@d\r\nEmpty:\n\nBody: no\n" ;
  size_t pos = 0 ;
  hdr_field f ;
  ok(hdr_next(m, sizeof m - 1, &pos, &f) && hdr_is(&f, "subject") && f.valuelen == 14
     && !memcmp(f.value, " hello\n  world", 14), "next: folded field");
  ok(hdr_next(m, sizeof m - 1, &pos, &f) && f.namelen == 0 && f.valuelen == 10, "next: a line that is no field");
  ok(hdr_next(m, sizeof m - 1, &pos, &f) && hdr_is(&f, "TO") && f.namelen == 2, "next: blank before colon");
  ok(hdr_value_is(&f, "a@b\tc@d"), "next: CRLF continuation unfolded");
  ok(hdr_next(m, sizeof m - 1, &pos, &f) && hdr_is(&f, "Empty") && f.valuelen == 0, "next: empty value");
  ok(!hdr_next(m, sizeof m - 1, &pos, &f), "next: stops at the empty line");
  pos = 0 ;
  ok(hdr_next(S("A: no newline"), &pos, &f) && hdr_value_is(&f, "no newline") && pos == 13, "next: last line without LF");
  ok(!hdr_next(S("A: no newline"), &pos, &f), "next: then the end");
  pos = 0 ;
  ok(hdr_next(S(" cont\nA: b\n"), &pos, &f) && f.namelen == 0, "next: leading continuation is no field");
  ok(hdr_next(S(" cont\nA: b\n"), &pos, &f) && hdr_is(&f, "a"), "next: then the field");
  pos = 0 ;
  ok(hdr_next(S(":x\n"), &pos, &f) && f.namelen == 0, "next: empty name is no field");
}

static void test_values (void)
{
  stralloc sa = STRALLOC_ZERO ;
  size_t pos = 0 ;
  hdr_field f ;
  ok(hdr_next(S("X-Spam-Flag:   YeS \t\n"), &pos, &f) && hdr_value_is(&f, "yes"), "value_is: trimmed, any case");
  ok(!hdr_value_is(&f, "ye") && !hdr_value_is(&f, "yess") && !hdr_value_is(&f, ""), "value_is: exact length");
  ok(hdr_unfold(&sa, &f) && sa.len == 3 && !strcmp(sa.s, "YeS"), "unfold: trimmed");
  pos = 0 ;
  ok(hdr_next(S("Delivered-To: a\n\t@b\n"), &pos, &f) && hdr_unfold(&sa, &f) && !strcmp(sa.s, "a\t@b"), "unfold: keeps the blank");
  pos = 0 ;
  ok(hdr_next(S("Delivered-To:\n"), &pos, &f) && hdr_unfold(&sa, &f) && sa.len == 0 && !sa.s[0], "unfold: empty");
  ok(hdr_value_is(&f, ""), "value_is: empty");
  stralloc_free(&sa) ;
}

static void test_has (void)
{
  char const m[] = "Received: x\nDelivered-To: Other@x\nDELIVERED-TO:  User@Example.TEST\n\nDelivered-To: body@x\n" ;
  size_t h ;
  ok(hdr_split(m, sizeof m - 1, 100, &h) == HDR_END, "has: split");
  ok(hdr_has(m, h, "Delivered-To", "user@example.test"), "has: case-insensitive name and value");
  ok(hdr_has(m, h, "delivered-to", "other@x"), "has: first one too");
  ok(!hdr_has(m, h, "Delivered-To", "body@x"), "has: not in the body");
  ok(!hdr_has(m, h, "Delivered", "other@x"), "has: whole name only");
  ok(!hdr_has(m, 0, "Received", "x"), "has: empty header");
}

int main (void)
{
  test_split() ;
  test_next() ;
  test_values() ;
  test_has() ;
  return done_testing() ;
}
