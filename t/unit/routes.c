/* Unit tests of lib/routes: etc/routes, the smarthost table of queue-run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "tap.h"
#include "routes.h"

/* "KIND HOST PORT" of domain's route in text, "MX" for none, "BAD n" if
   the text is malformed. */
static char const *look(char const *text, char const *domain)
{
  static char out[512];
  routes r = ROUTES_ZERO;
  route rt;
  unsigned int line;
  char const *why;
  if (!routes_parse(&r, text, strlen(text), &line, &why)) {
    snprintf(out, sizeof out, "BAD %u", line);
    return out;
  }
  int found = routes_find(&r, domain, &rt);
  if (!found) snprintf(out, sizeof out, "MX%s", rt.kind == ROUTE_MX && !*rt.host ? "" : "?");
  else snprintf(out, sizeof out, "%s %s %u", rt.kind == ROUTE_IP ? "IP" : "NAME", rt.host, (unsigned)rt.port);
  routes_free(&r);
  return out;
}

static void bad(char const *text, unsigned int wantline, char const *name)
{
  routes r = ROUTES_ZERO;
  unsigned int line = 0;
  char const *why = 0;
  int ok_ = routes_parse(&r, text, strlen(text), &line, &why);
  ok(!ok_ && line == wantline && why && *why && !r.n, "%s (line %u: %s)", name, line, why ? why : "-");
  routes_free(&r);
}

static char const *fmt(char const *text)
{
  static char out[ROUTE_FMT];
  routes r = ROUTES_ZERO;
  route rt;
  unsigned int line;
  char const *why;
  out[0] = 0;
  if (routes_parse(&r, text, strlen(text), &line, &why) && routes_find(&r, "x.test", &rt)) {
    size_t n = route_fmt(out, &rt);
    if (n != strlen(out)) strcpy(out, "LEN?");
  }
  routes_free(&r);
  return out;
}

int main(void)
{
  char big[ROUTES_LINEMAX + 40];
  char dir[] = "/tmp/routes-XXXXXX", file[64];
  routes r = ROUTES_ZERO;
  route rt;
  unsigned int line;
  char const *why;
  FILE *f;

  /* forms of RELAY */
  is_str(look("", "kate.test"), "MX", "empty file: no route");
  is_str(look("# comment\n\n  \t\n", "kate.test"), "MX", "comments and blank lines only");
  is_str(look("kate.test 192.0.2.1\n", "kate.test"), "IP 192.0.2.1 25", "IPv4, port 25 by default");
  is_str(look("kate.test 192.0.2.1:2525\n", "kate.test"), "IP 192.0.2.1 2525", "IPv4:port");
  is_str(look("kate.test [192.0.2.1]:26\n", "kate.test"), "IP 192.0.2.1 26", "[IPv4]:port");
  is_str(look("kate.test [192.0.2.1]\n", "kate.test"), "IP 192.0.2.1 25", "[IPv4]");
  is_str(look("kate.test [2001:db8::1]:587\n", "kate.test"), "IP 2001:db8::1 587", "[IPv6]:port");
  is_str(look("kate.test [IPv6:2001:DB8::1]\n", "kate.test"), "IP 2001:db8::1 25", "[IPv6:...] literal form, canonical text");
  is_str(look("kate.test 2001:db8::1\n", "kate.test"), "IP 2001:db8::1 25", "bare IPv6");
  is_str(look("kate.test relay.example.org\n", "kate.test"), "NAME relay.example.org 25", "a host name");
  is_str(look("kate.test relay.example.org.:2525\n", "kate.test"), "NAME relay.example.org 2525", "name:port, trailing dot dropped");
  is_str(look("kate.test -\n* relay.test\n", "kate.test"), "MX", "- exempts a domain from *");
  is_str(look("kate.test 10.0.0.1 # the relay\n", "kate.test"), "IP 10.0.0.1 25", "comment after the fields");
  is_str(look("  kate.test\t10.0.0.1\r\n", "kate.test"), "IP 10.0.0.1 25", "tabs, leading space and CRLF");
  is_str(look("kate.test 10.0.0.1", "kate.test"), "IP 10.0.0.1 25", "last line without a newline");

  /* which entry wins */
  char const *tab = "* star.test\n.test suffix.test\n.kate.test sub.test\nkate.test exact.test\nKATE.TEST second.test\n";
  is_str(look(tab, "kate.test"), "NAME exact.test 25", "the domain itself wins, the first of two");
  is_str(look(tab, "KaTe.TeSt"), "NAME exact.test 25", "case-insensitive");
  is_str(look(tab, "kate.test."), "NAME exact.test 25", "a trailing dot on the domain");
  is_str(look(tab, "mx.kate.test"), "NAME sub.test 25", "the longest suffix next");
  is_str(look(tab, "john.test"), "NAME suffix.test 25", "a shorter suffix");
  is_str(look(tab, "example.org"), "NAME star.test 25", "* last");
  is_str(look(".kate.test sub.test\n", "kate.test"), "MX", ".suffix does not match the domain itself");
  is_str(look("xkate.test a.test\n", "kate.test"), "MX", "no partial match");
  is_str(look(".kate.test a.test\n", "xkate.test"), "MX", "suffix only at a dot");
  is_str(look("[192.0.2.9] 10.0.0.1\n", "[192.0.2.9]"), "IP 10.0.0.1 25", "an address literal domain");
  is_str(look("kate.test 10.0.0.1\n", "john.test"), "MX", "other domains: no route");

  /* malformed files: the line and a reason */
  bad("kate.test\n", 1, "no relay");
  bad("kate.test # 10.0.0.1\n", 1, "relay commented out");
  bad("# x\nkate.test 10.0.0.1 extra\n", 2, "three fields");
  bad("kate.test 10.0.0.1:0\n", 1, "port 0");
  bad("kate.test 10.0.0.1:65536\n", 1, "port too large");
  bad("kate.test 10.0.0.1:\n", 1, "empty port");
  bad("kate.test 10.0.0.1:2x\n", 1, "port not a number");
  bad("kate.test [10.0.0.1\n", 1, "missing ]");
  bad("kate.test [10.0.0.300]\n", 1, "bad address in brackets");
  bad("kate.test 10.0.0.256:25\n", 1, "an IPv4 byte over 255 is not a name either");
  bad("k 10.0.0.1.5\n", 1, "five numbers: neither an address nor a name");
  is_str(look("k 10.0.0.1.a5\n", "k"), "NAME 10.0.0.1.a5 25", "numeric labels but the last");
  bad("kate.test [relay.test]\n", 1, "a name in brackets");
  bad("kate.test [10.0.0.1]x\n", 1, "junk after ]");
  bad("kate.test 2001:db8::1:25:x\n", 1, "bad bare IPv6");
  bad("kate.test -relay.test\n", 1, "a name that would read as an option");
  bad("kate.test relay..test\n", 1, "empty label");
  bad("kate.test re/lay.test\n", 1, "bad character in the name");
  bad("kate/test relay.test\n", 1, "bad character in the domain");
  bad(". relay.test\n", 1, "a lone dot as the domain");
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = 0;
  memcpy(big, "kate.test ", 10);
  bad(big, 1, "overlong line");
  {
    char name[100] = "k ";
    memset(name + 2, 'b', 64);
    strcpy(name + 66, ".test\n");
    bad(name, 1, "a label of 64 bytes");
    strcpy(name + 65, ".test\n");
    is_str(look(name, "k"), "NAME bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.test 25", "a label of 63 bytes");
  }

  /* route_fmt, for remote-send -r */
  is_str(fmt("* 192.0.2.1\n"), "192.0.2.1:25", "fmt IPv4");
  is_str(fmt("* [2001:db8::1]:2525\n"), "[2001:db8::1]:2525", "fmt IPv6");

  /* a failed parse leaves the table empty */
  ok(routes_parse(&r, "* 10.0.0.1\n", 11, &line, &why) && r.n == 1, "parse one entry");
  ok(!routes_parse(&r, "* bad..name\n", 12, &line, &why) && r.n == 0 && !routes_find(&r, "x.test", &rt),
     "a malformed text replaces the table with an empty one");

  /* routes_read */
  ok(mkdtemp(dir) != 0, "temp dir");
  snprintf(file, sizeof file, "%s/routes", dir);
  ok(routes_read(&r, file, &line, &why) && r.n == 0, "no file: no route");
  f = fopen(file, "w");
  fputs("# smarthost\n* 127.0.0.1:2525\n", f);
  fclose(f);
  ok(routes_read(&r, file, &line, &why) && routes_find(&r, "kate.test", &rt)
     && rt.kind == ROUTE_IP && rt.port == 2525 && !strcmp(rt.host, "127.0.0.1"), "read from a file");
  f = fopen(file, "w");
  for (size_t i = 0; i < ROUTES_FILEMAX / 20 + 10; i++) fputs("x.test 10.0.0.1    \n", f);
  fclose(f);
  ok(!routes_read(&r, file, &line, &why) && line == 0 && why && r.n == 0, "file too large");
  unlink(file);
  ok(mkdir(file, 0700) == 0 && !routes_read(&r, file, &line, &why) && !why && errno == EISDIR,
     "unreadable: a system error");
  rmdir(file);
  rmdir(dir);
  routes_free(&r);
  return done_testing();
}
