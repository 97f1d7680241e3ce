/* lib/addr: validity and canonical form of envelope addresses. */
#include "tap.h"
#include "addr.h"

#define V(s) addr_valid(s, sizeof(s) - 1)

static void canon(char const *in, char const *want)
{
  stralloc sa = STRALLOC_ZERO ;
  ok(addr_canon(&sa, in, strlen(in)) && sa.len == strlen(want), "canon length %s", in) ;
  is_str(sa.s, want, in) ;
  stralloc_free(&sa) ;
}

int main(void)
{
  char big[300] ;

  ok(addr_at("a@b@c", 5) == 3, "addr_at: last @") ;
  ok(addr_at("abc", 3) == 3, "addr_at: none") ;
  ok(addr_at("\"a@b\"@c", 7) == 5, "addr_at: quoted @") ;

  ok(V("demo@example.test"), "plain") ;
  ok(V("Demo.Name+tag@Example.TEST"), "dots, tag, case") ;
  ok(V("a!#$%&'*+-/=?^_`{|}~@x"), "all atext") ;
  ok(V("x@[192.0.2.1]"), "address literal") ;
  ok(V("x@[IPv6:2001:db8::1]"), "IPv6 literal") ;
  ok(V("\"a b\"@x.test"), "quoted with space") ;
  ok(V("\"a\\\"b\"@x.test"), "quoted with escaped quote") ;
  ok(V("\"a@b\"@x.test"), "quoted with @") ;
  ok(V("j\xc3\xb6rg@b\xc3\xbc" "cher.test"), "UTF-8 in both parts") ;
  ok(V("a@b"), "one-label domain") ;
  ok(V("a..b@x"), "double dot taken (as Postfix does)") ;

  ok(!V(""), "empty") ;
  ok(!V("demo"), "no @") ;
  ok(!V("@example.test"), "empty local part") ;
  ok(!V("demo@"), "empty domain") ;
  ok(!V("a@b@c"), "two @") ;
  ok(!V("a b@x"), "space outside quotes") ;
  ok(!V("a\tb@x"), "tab") ;
  ok(!V("a\r\n@x"), "CRLF") ;
  ok(!V("a\x7f@x"), "DEL") ;
  ok(!V("a\"b@x"), "stray quote") ;
  ok(!V("\"ab@x"), "unclosed quote") ;
  ok(!V("\"a\"b\"@x"), "unescaped quote inside quotes") ;
  ok(!V("\"a\nb\"@x"), "control byte inside quotes") ;
  ok(!V("a(b)@x"), "parentheses") ;
  ok(!V("a<b@x"), "angle bracket") ;
  ok(!V("a,b@x"), "comma") ;
  ok(!V("a:b@x"), "colon") ;
  ok(!V("a@x..y"), "empty label") ;
  ok(!V("a@.x"), "leading dot in domain") ;
  ok(!V("a@x."), "trailing dot in domain") ;
  ok(!V("a@x y"), "space in domain") ;
  ok(!V("a@x/y"), "slash in domain") ;
  ok(!V("a@[]"), "empty literal") ;
  ok(!V("a@[1.2.3.4"), "unclosed literal") ;
  ok(!V("a@[1 2]"), "space in literal") ;
  ok(!addr_valid("a\0b@x", 5), "NUL byte") ;

  memset(big, 'a', sizeof big) ;
  memcpy(big + 64, "@x", 2) ;
  ok(addr_valid(big, 66), "local part of 64") ;
  memcpy(big + 65, "@x", 2) ;
  ok(!addr_valid(big, 67), "local part of 65") ;
  memcpy(big, "a@", 2) ;
  for (int i = 2 ; i < 254 ; i++) big[i] = i % 60 == 0 ? '.' : 'b' ;
  ok(addr_valid(big, 254), "254 bytes") ;
  big[254] = 'b' ;
  ok(!addr_valid(big, 255), "255 bytes") ;
  for (int i = 0 ; i < 64 ; i++) big[2 + i] = 'c' ;
  big[66] = '.' ;
  ok(!addr_valid(big, 100), "label of 64") ;
  ok(addr_domain_valid("example.test", 12), "domain") ;
  ok(!addr_domain_valid("", 0), "empty domain") ;
  ok(!addr_domain_valid("a@b", 3), "domain with @") ;

  canon("Demo@Example.TEST", "demo@example.test") ;
  canon("demo@example.test", "demo@example.test") ;
  canon("\"Demo\"@X", "demo@x") ;
  canon("\"a.b\"@x", "a.b@x") ;
  canon("\"a b\"@X", "\"a b\"@x") ;
  canon("\"a..b\"@x", "\"a..b\"@x") ;
  canon("\".a\"@x", "\".a\"@x") ;
  canon("\"\"@x", "\"\"@x") ;
  canon("J\xc3\x96RG@X", "j\xc3\x96rg@x") ;
  canon("", "") ;
  canon("NoDomain", "nodomain") ;
  {
    stralloc sa = STRALLOC_ZERO ;
    ok(stralloc_cats(&sa, "junk") && addr_canon(&sa, "A@B", 3) && sa.len == 3, "canon replaces sa") ;
    stralloc_free(&sa) ;
  }
  return done_testing() ;
}
