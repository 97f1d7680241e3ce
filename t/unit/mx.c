/* Unit tests of lib/mx that need no network: names, literals, DNS_SERVER
   syntax, the order of trial, and the MX list text form. */
#include <stdint.h>
#include <string.h>
#include <skalibs/random.h>
#include <skalibs/stralloc.h>
#include "tap.h"
#include "mx.h"

#define LEN(s) s, sizeof(s) - 1

static void test_names(void)
{
  char label[80], name[300];
  ok(mx_name_ok("kate.test"), "plain name");
  ok(mx_name_ok("kate.test."), "final dot");
  ok(mx_name_ok("localhost"), "one label");
  ok(mx_name_ok("_srv.my-host.example.com"), "underscore and hyphen");
  ok(!mx_name_ok(""), "empty");
  ok(!mx_name_ok("."), "root");
  ok(!mx_name_ok("a..b"), "empty label");
  ok(!mx_name_ok(".a"), "leading dot");
  ok(!mx_name_ok("a.b.."), "two final dots");
  ok(!mx_name_ok("a b"), "space");
  ok(!mx_name_ok("a\nb"), "newline");
  ok(!mx_name_ok("user@host"), "at sign");
  ok(!mx_name_ok("k\xc3\xa4te.test"), "8-bit (not an A-label)");
  memset(label, 'a', 63); label[63] = 0;
  ok(mx_name_ok(label), "63-byte label");
  memset(label, 'a', 64); label[64] = 0;
  ok(!mx_name_ok(label), "64-byte label");
  /* 4 labels of 62 + 3 dots = 251, then ".b" = 253 */
  name[0] = 0;
  for (int i = 0; i < 4; i++) {
    memset(label, 'x', 62); label[62] = 0;
    if (i) strcat(name, ".");
    strcat(name, label);
  }
  strcat(name, ".b");
  ok(strlen(name) == 253 && mx_name_ok(name), "253 bytes");
  strcat(name, ".");
  ok(mx_name_ok(name), "253 bytes and a final dot");
  name[253] = 'c'; name[254] = 0;
  ok(!mx_name_ok(name), "254 bytes");
}

static void test_literals(void)
{
  mx_host h;
  char fmt[IP46_FMT];
  ok(mx_literal(&h, "kate.test") == 0, "a name is not a literal");
  ok(mx_literal(&h, "[127.0.0.1]") == 1 && !h.addr[0].is6 && h.naddr == 1 && h.pref == 0,
     "IPv4 literal");
  fmt[ip46full_fmt(fmt, &h.addr[0])] = 0;
  is_str(fmt, "127.0.0.1", "IPv4 literal address");
  is_str(h.name, "[127.0.0.1]", "literal kept as the host name");
  ok(mx_literal(&h, "[IPv6:::1]") == 1 && h.addr[0].is6, "IPv6 literal");
  fmt[ip46full_fmt(fmt, &h.addr[0])] = 0;
  is_str(fmt, "::1", "IPv6 literal address");
  ok(mx_literal(&h, "[ipv6:2001:db8::25]") == 1 && h.addr[0].is6, "IPv6 tag is case-insensitive");
  ok(mx_literal(&h, "[1.2.3]") < 0, "short IPv4");
  ok(mx_literal(&h, "[256.1.1.1]") < 0, "IPv4 octet > 255");
  ok(mx_literal(&h, "[1.2.3.4.5]") < 0, "five octets");
  ok(mx_literal(&h, "[1.2.3.0004]") < 0, "four digits");
  ok(mx_literal(&h, "[1.2.3.4") < 0, "unterminated");
  ok(mx_literal(&h, "[1.2.3.4]x") < 0, "junk after ]");
  ok(mx_literal(&h, "[]") < 0, "empty literal");
  ok(mx_literal(&h, "[::1]") < 0, "IPv6 without its tag");
  ok(mx_literal(&h, "[IPv6:1.2.3.4]") < 0, "IPv4 with the IPv6 tag");
  ok(mx_literal(&h, "[IPv6:zz::1]") < 0, "bad IPv6");
  ok(mx_literal(&h, "[x-tag:foo]") < 0, "other tags");
}

static void test_servers(void)
{
  ip46full ip[MX_MAXSERV];
  uint16_t port[MX_MAXSERV];
  char fmt[IP46_FMT];
  ok(mx_servers_scan("127.0.0.1", ip, port) == 1 && port[0] == 53 && !ip[0].is6, "IPv4, port 53");
  ok(mx_servers_scan("127.0.0.1:5353", ip, port) == 1 && port[0] == 5353, "IPv4:port");
  ok(mx_servers_scan("::1", ip, port) == 1 && port[0] == 53 && ip[0].is6, "bare IPv6");
  ok(mx_servers_scan("[::1]:5353", ip, port) == 1 && port[0] == 5353 && ip[0].is6, "[IPv6]:port");
  ok(mx_servers_scan("[2001:db8::1]", ip, port) == 1 && port[0] == 53, "[IPv6]");
  ok(mx_servers_scan("10.0.0.1,[::1]:54,10.0.0.2:55", ip, port) == 3
     && port[0] == 53 && port[1] == 54 && port[2] == 55 && ip[1].is6 && !ip[2].is6, "a list");
  fmt[ip46full_fmt(fmt, &ip[2])] = 0;
  is_str(fmt, "10.0.0.2", "third address of the list");
  ok(mx_servers_scan("1,2,3,4,5,6", ip, port) < 0, "not addresses");
  ok(mx_servers_scan("1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6", ip, port) == 6, "six servers");
  ok(mx_servers_scan("1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7", ip, port) < 0,
     "seven servers");
  ok(mx_servers_scan("", ip, port) < 0, "empty");
  ok(mx_servers_scan(",", ip, port) < 0, "empty items");
  ok(mx_servers_scan("1.2.3.4,", ip, port) < 0, "trailing comma");
  ok(mx_servers_scan("1.2.3.4:", ip, port) < 0, "empty port");
  ok(mx_servers_scan("1.2.3.4:0", ip, port) < 0, "port 0");
  ok(mx_servers_scan("1.2.3.4:65536", ip, port) < 0, "port too large");
  ok(mx_servers_scan("1.2.3.4:53x", ip, port) < 0, "junk after port");
  ok(mx_servers_scan("1.2.3.256", ip, port) < 0, "octet > 255");
  ok(mx_servers_scan("[::1", ip, port) < 0, "unterminated [");
  ok(mx_servers_scan("[::1]x", ip, port) < 0, "junk after ]");
  ok(mx_servers_scan("dns.example", ip, port) < 0, "a name");
}

/* A deterministic generator: bytes from a counter. */
static unsigned char ctr;
static void fake_random(char *s, size_t n)
{
  while (n--) *s++ = (char)(ctr += 97);
}

static int sorted_groups_ok(mx_pref const *a, unsigned n, unsigned const *want_pref)
{
  for (unsigned i = 0; i < n; i++)
    if (a[i].pref != want_pref[i]) return 0;
  return 1;
}

static void test_order(void)
{
  static unsigned const prefs[] = { 20, 10, 30, 20, 10, 20, 5 };
  static unsigned const want[] = { 5, 10, 10, 20, 20, 20, 30 };
  unsigned n = sizeof prefs / sizeof *prefs;
  mx_pref a[7];
  unsigned seen[6] = { 0 }, first10[2] = { 0 };
  int perm_ok = 1, sorted_ok = 1;
  for (unsigned round = 0; round < 600; round++) {
    unsigned mask = 0;
    for (unsigned i = 0; i < n; i++) { a[i].pref = prefs[i]; a[i].idx = i; }
    mx_order(a, n, &random_buf);
    if (!sorted_groups_ok(a, n, want)) sorted_ok = 0;
    for (unsigned i = 0; i < n; i++) mask |= 1u << a[i].idx;
    if (mask != (1u << n) - 1) perm_ok = 0;
    first10[a[1].idx == 1 ? 0 : 1]++;
    /* the 3 records of preference 20 (indexes 0, 3, 5): which permutation */
    unsigned p = a[3].idx, q = a[4].idx;
    unsigned code = (p == 0 ? 0 : p == 3 ? 2 : 4) + (q < a[5].idx ? 0 : 1);
    seen[code]++;
  }
  ok(sorted_ok, "ascending preference every time");
  ok(perm_ok, "a permutation of the input every time");
  ok(first10[0] && first10[1], "both orders of the two 10s seen (%u/%u)", first10[0], first10[1]);
  int all = 1;
  for (int i = 0; i < 6; i++) if (seen[i] < 40) all = 0;
  ok(all, "all 6 orders of the three 20s seen, roughly evenly (%u %u %u %u %u %u)",
     seen[0], seen[1], seen[2], seen[3], seen[4], seen[5]);
  /* a fixed generator gives a fixed order, groups still in place */
  mx_pref b[7];
  for (unsigned i = 0; i < n; i++) { a[i].pref = b[i].pref = prefs[i]; a[i].idx = b[i].idx = i; }
  ctr = 0; mx_order(a, n, &fake_random);
  ctr = 0; mx_order(b, n, &fake_random);
  ok(!memcmp(a, b, sizeof a) && sorted_groups_ok(a, n, want), "deterministic with a fixed generator");
  a[0].pref = 7; a[0].idx = 0;
  mx_order(a, 1, &random_buf);
  ok(a[0].pref == 7 && a[0].idx == 0, "one record");
  mx_order(a, 0, &random_buf);
  ok(1, "no record");
}

static void test_text(void)
{
  static mx_list l, m;
  stralloc sa = STRALLOC_ZERO;
  char const *text = "10 mx1.kate.test 127.0.0.1 ::1\n20 mx2.kate.test 2001:db8::1:0:0:5\n"
                     "0 [127.0.0.2] 127.0.0.2\n";
  ok(mx_parse(&l, text, strlen(text)) && l.n == 3, "parse 3 lines");
  ok(l.host[0].pref == 10 && l.host[0].naddr == 2 && l.host[0].addr[1].is6, "first line");
  is_str(l.host[2].name, "[127.0.0.2]", "literal host");
  ok(mx_fmt(&sa, &l) && stralloc_0(&sa), "format");
  is_str(sa.s, text, "format(parse(x)) = x");
  ok(mx_parse(&m, LEN("5 a.test 1.2.3.4")) && m.n == 1, "last newline optional");
  ok(!mx_parse(&m, LEN("")) && !m.n, "empty list");
  ok(!mx_parse(&m, LEN("5 a.test 1.2.3.4\n\n")), "empty line");
  ok(!mx_parse(&m, LEN("5 a.test\n")), "no address");
  ok(!mx_parse(&m, LEN("x a.test 1.2.3.4\n")), "bad preference");
  ok(!mx_parse(&m, LEN("-5 a.test 1.2.3.4\n")), "negative preference");
  ok(!mx_parse(&m, LEN("5 a..test 1.2.3.4\n")), "bad host name");
  ok(!mx_parse(&m, LEN("5 [1.2.3] 1.2.3.4\n")), "bad literal");
  ok(!mx_parse(&m, LEN("5 a.test 1.2.3.400\n")), "bad address");
  ok(!mx_parse(&m, LEN("5 a.test 1.2.3.4x\n")), "junk after an address");
  ok(!mx_parse(&m, LEN("5  a.test 1.2.3.4\n")), "two spaces");
  ok(!mx_parse(&m, LEN("5 a.test 1.2.3.4 \n")), "trailing space");
  ok(!mx_parse(&m, LEN("5 a.test 1.2.3.4\r\n")), "CR");
  ok(mx_parse(&m, LEN("5 a.test 1 2 3 4 5 6 7 8 9 10\n")) == 0, "numbers are not addresses");
  ok(mx_parse(&m, LEN("5 a.test 1.0.0.1 1.0.0.2 1.0.0.3 1.0.0.4 1.0.0.5 1.0.0.6 1.0.0.7 1.0.0.8 1.0.0.9 ::a\n"))
     && m.host[0].naddr == 10, "10 addresses");
  ok(!mx_parse(&m, LEN("5 a.test 1.0.0.1 1.0.0.2 1.0.0.3 1.0.0.4 1.0.0.5 1.0.0.6 1.0.0.7 1.0.0.8 1.0.0.9 ::a ::b\n")),
     "11 addresses");
  sa.len = 0;
  for (int i = 0; i < MX_MAXHOSTS; i++) stralloc_cats(&sa, "1 h.test 10.0.0.1\n");
  ok(mx_parse(&m, sa.s, sa.len) && m.n == MX_MAXHOSTS, "%d lines", MX_MAXHOSTS);
  stralloc_cats(&sa, "1 h.test 10.0.0.1\n");
  ok(!mx_parse(&m, sa.s, sa.len), "%d lines", MX_MAXHOSTS + 1);
  ok(strstr(m.why, "too many") != 0, "reason: %s", m.why);
  sa.len = 0;
  stralloc_cats(&sa, "1 h.test ");
  for (int i = 0; i < 200; i++) stralloc_cats(&sa, "10.0.0.1 ");
  ok(!mx_parse(&m, sa.s, sa.len), "line too long");
  stralloc_free(&sa);
}

int main(void)
{
  test_names();
  test_literals();
  test_servers();
  test_order();
  test_text();
  return done_testing();
}
