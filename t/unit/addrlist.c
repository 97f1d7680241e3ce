/* lib/addrlist: RFC 5322 address lists. */
#include <errno.h>
#include <stdlib.h>
#include "addr.h"
#include "addrlist.h"
#include "tap.h"

/* Parse s; the addresses joined with spaces, or "ERR:code". */
static char const *run(char const *s, size_t len, int bare)
{
  static stralloc out = STRALLOC_ZERO ;
  static char buf[8192] ;
  int n ;
  out.len = 0 ;
  if (!stralloc_catb(&out, "x", 1)) exit(2) ;   /* kept on failure */
  n = bare ? addrlist_parse_bare(&out, s, len) : addrlist_parse(&out, s, len) ;
  if (n < 0) {
    snprintf(buf, sizeof buf, "ERR:%s%s", errno == EINVAL ? "EINVAL" : errno == E2BIG ? "E2BIG" : "other",
             out.len == 1 ? "" : " (out changed)") ;
    return buf ;
  }
  buf[0] = 0 ;
  for (size_t i = 1, k = 0 ; i < out.len ; i += strlen(out.s + i) + 1, k++)
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", k ? " " : "", out.s + i) ;
  { int c = 0 ; for (size_t i = 1 ; i < out.len ; i++) c += !out.s[i] ; if (c != n) return "count mismatch" ; }
  return buf ;
}

/* The input as a test name: line ends shown as \r, \n. */
static char const *name(char const *s)
{
  static char buf[512] ;
  size_t n = 0 ;
  for (; *s && n < sizeof buf - 3 ; s++) {
    if (*s == '\r' || *s == '\n') { buf[n++] = '\\' ; buf[n++] = *s == '\r' ? 'r' : 'n' ; }
    else buf[n++] = *s ;
  }
  buf[n] = 0 ;
  return buf ;
}

#define T(in, want) is_str(run(in, strlen(in), 0), want, name(in))
#define B(in, want) is_str(run(in, strlen(in), 1), want, name("bare: " in))

int main(void)
{
  /* plain and display names */
  T("a@b.example", "a@b.example") ;
  T("  a@b.example  ", "a@b.example") ;
  T("Joe Q. Public <john.q.public@example.com>", "john.q.public@example.com") ;
  T("\"Joe, Q.\" <joe@example.com>, mary@x.test", "joe@example.com mary@x.test") ;
  T("<a@b>", "a@b") ;
  T("Ünïcödé Nämé <u@exämple.test>", "u@exämple.test") ;
  T("=?utf-8?q?J=C3=B6?= <jo@x.test>", "jo@x.test") ;
  /* comments, nested, with escapes; in and around the addr-spec */
  T("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", "pete@silly.test") ;
  T("(c (nested (deep)) c) a@b (trailing)", "a@b") ;
  T("a(x)@(y)b.test", "a@b.test") ;
  /* obsolete forms: spaces in the addr-spec, routes, empty elements */
  T("john . doe @ example . com", "john.doe@example.com") ;
  T("<@r1.test,@r2.test:x@y.test>", "x@y.test") ;
  T("<@r1.test,,@r2.test:x@y.test>", "x@y.test") ;
  T("a@b, , c@d,", "a@b c@d") ;
  T(",", "") ;
  T("", "") ;
  T("   ", "") ;
  /* groups */
  T("undisclosed-recipients:;", "") ;
  T("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, z@z.test",
    "c@a.test joe@where.test jdoe@one.test z@z.test") ;
  T("G: a@b ;", "a@b") ;
  T("G:,a@b,,;", "a@b") ;
  /* quoted local parts stay as written; domain literals */
  T("\"a b\"@x.test", "\"a b\"@x.test") ;
  T("\"a\\\"b\"@x.test", "\"a\\\"b\"@x.test") ;
  T("Who <\"john..doe\"@x.test>", "\"john..doe\"@x.test") ;
  T("a@[192.0.2.1]", "a@[192.0.2.1]") ;
  T("a@[IPv6:2001:db8::1], b@c", "a@[IPv6:2001:db8::1] b@c") ;
  /* folding: CRLF or LF followed by a blank */
  T("Joe\r\n <a@b>,\r\n\tc@d", "a@b c@d") ;
  T("Joe\n <a@b>,\n c@d", "a@b c@d") ;
  T("\"quoted\r\n name\" <a@b>", "a@b") ;
  T("\"x\r\n y\"@b", "\"x y\"@b") ;
  T("a@b\r\n", "a@b") ;
  /* malformed */
  T("a@b\r\nc@d", "ERR:EINVAL") ;
  T("a@b\rc", "ERR:EINVAL") ;
  T("a", "ERR:EINVAL") ;
  T("Joe <a>", "ERR:EINVAL") ;
  T("a@b c@d", "ERR:EINVAL") ;
  T("a@b; c@d", "ERR:EINVAL") ;
  T("<a@b", "ERR:EINVAL") ;
  T("a@b>", "ERR:EINVAL") ;
  T("<>", "ERR:EINVAL") ;
  T("@b.test", "ERR:EINVAL") ;
  T("a@", "ERR:EINVAL") ;
  T("a@b.", "ERR:EINVAL") ;
  T("\"unclosed@b", "ERR:EINVAL") ;
  T("(unclosed a@b", "ERR:EINVAL") ;
  T("a@[1.2.3.4", "ERR:EINVAL") ;
  T("a@b)", "ERR:EINVAL") ;
  T("G: a@b", "ERR:EINVAL") ;
  T("G: H: a@b;;", "ERR:EINVAL") ;
  T("a\\b@c", "ERR:EINVAL") ;
  T("a\x01@b", "ERR:EINVAL") ;
  T("<@r1:>", "ERR:EINVAL") ;
  is_str(run("a@b\0c", 5, 0), "ERR:EINVAL", "NUL byte") ;
  is_str(run("\"a\0\"@b", 6, 0), "ERR:EINVAL", "NUL in a quoted string") ;
  is_str(run("a@b, \"x", 7, 0), "ERR:EINVAL", "out untouched on error") ;
  /* bare local parts, for scripts */
  B("root", "root") ;
  B("root, Joe <joe>, a@b", "root joe a@b") ;
  B("G: root;", "root") ;
  T("root", "ERR:EINVAL") ;
  B("a b", "ERR:EINVAL") ;
  T("a b@c", "ERR:EINVAL") ;
  T("a..b@c, .x.@d", "a..b@c .x.@d") ;
  /* bounds: the length of an addr-spec, the count */
  {
    static char big[400000] ;
    char *p = big ;
    memset(big, 0, sizeof big) ;
    memcpy(p, "x@", 2) ; memset(p + 2, 'a', ADDR_MAX - 2) ;
    is_str(run(big, ADDR_MAX, 0), big, "address of ADDR_MAX bytes") ;
    p[ADDR_MAX] = 'a' ;
    is_str(run(big, ADDR_MAX + 1, 0), "ERR:EINVAL", "address of ADDR_MAX+1 bytes") ;
    p = big ;
    for (int i = 0 ; i < ADDRLIST_MAX ; i++) p += sprintf(p, "a%d@b,", i) ;
    ok(strncmp(run(big, (size_t)(p - big), 0), "a0@b a1@b", 9) == 0, "ADDRLIST_MAX addresses") ;
    p += sprintf(p, "one@more") ;
    is_str(run(big, (size_t)(p - big), 0), "ERR:E2BIG", "ADDRLIST_MAX+1 addresses") ;
    p = big ;
    for (int i = 0 ; i < 50000 ; i++) *p++ = '(' ;
    is_str(run(big, (size_t)(p - big), 0), "ERR:EINVAL", "50000 open comments") ;
    for (int i = 0 ; i < 50000 ; i++) *p++ = ')' ;
    p += sprintf(p, "a@b") ;
    is_str(run(big, (size_t)(p - big), 0), "a@b", "deeply nested comment") ;
  }
  return done_testing() ;
}
