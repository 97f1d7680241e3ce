/* Unit tests of lib/tlspolicy: the TLS policy file of the SMTP client. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <skalibs/stralloc.h>
#include "tap.h"
#include "tlspolicy.h"

static int pol(char const *text, char const *domain)
{
  int p = -2;
  unsigned int line;
  char const *why;
  if (!tlspolicy_find(text, strlen(text), domain, &p, &line, &why)) return -1;
  return p;
}

static void bad(char const *text, unsigned int wantline, char const *name)
{
  int p;
  unsigned int line = 0;
  char const *why = 0;
  int r = tlspolicy_find(text, strlen(text), "x.test", &p, &line, &why);
  ok(!r && line == wantline && why && *why, "%s (line %u: %s)", name, line, why ? why : "-");
}

int main(void)
{
  char big[TLSPOLICY_LINEMAX + 20];
  char dir[] = "/tmp/tlspolicy-XXXXXX", file[64];
  stralloc why = STRALLOC_ZERO;
  int p;
  FILE *f;

  ok(pol("", "kate.test") == TLSPOLICY_MAY, "empty: may");
  ok(pol("# only a comment\n\n   \n", "kate.test") == TLSPOLICY_MAY, "comments and blank lines: may");
  ok(pol("kate.test none\n", "kate.test") == TLSPOLICY_NONE, "exact entry");
  ok(pol("KATE.Test VERIFY\n", "kate.TEST") == TLSPOLICY_VERIFY, "case-insensitive domain and policy");
  ok(pol("kate.test encrypt", "kate.test") == TLSPOLICY_ENCRYPT, "no final newline");
  ok(pol("kate.test\tencrypt\r\n", "kate.test") == TLSPOLICY_ENCRYPT, "tab and CRLF");
  ok(pol("  kate.test   none   # why not\n", "kate.test") == TLSPOLICY_NONE, "spaces, trailing comment");
  ok(pol("other.test none\n", "kate.test") == TLSPOLICY_MAY, "no entry: may");
  ok(pol("* encrypt\nother.test none\n", "kate.test") == TLSPOLICY_ENCRYPT, "* is the default");
  ok(pol("* encrypt\nkate.test none\n", "kate.test") == TLSPOLICY_NONE, "an exact entry beats *, wherever it is");
  ok(pol(".kate.test verify\n", "mx.kate.test") == TLSPOLICY_VERIFY, ".suffix: a subdomain");
  ok(pol(".kate.test verify\n", "a.b.kate.test") == TLSPOLICY_VERIFY, ".suffix: a deeper subdomain");
  ok(pol(".kate.test verify\n", "kate.test") == TLSPOLICY_MAY, ".suffix: not the domain itself");
  ok(pol(".kate.test verify\n", "xkate.test") == TLSPOLICY_MAY, ".suffix: not a name ending the same way");
  ok(pol(".test none\n.kate.test verify\n* may\n", "mx.kate.test") == TLSPOLICY_VERIFY, "the longest suffix wins");
  ok(pol(".kate.test none\nmx.kate.test verify\n", "mx.kate.test") == TLSPOLICY_VERIFY, "exact beats suffix");
  ok(pol("kate.test none\nkate.test verify\n", "kate.test") == TLSPOLICY_NONE, "the first of two entries wins");
  ok(pol("[192.0.2.1] encrypt\n", "[192.0.2.1]") == TLSPOLICY_ENCRYPT, "an address literal");

  bad("kate.test\n", 1, "a domain without policy");
  bad("# c\nkate.test sometimes\n", 2, "an unknown policy");
  bad("kate.test may extra\n", 1, "a third word");
  bad("ka/te.test may\n", 1, "a bad domain character");
  bad(". may\n", 1, "a lone dot");
  bad("x.test may\nkate.test\n", 2, "checked after the domain's entry too");
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = 0;
  bad(big, 1, "a line too long");

  for (p = 0; p < 4; p++) ok(tlspolicy_scan(tlspolicy_name(p), strlen(tlspolicy_name(p))) == p, "name %s", tlspolicy_name(p));
  ok(tlspolicy_scan("mayx", 4) < 0 && tlspolicy_scan("ma", 2) < 0, "scan: whole words only");

  /* files */
  if (!mkdtemp(dir)) return 1;
  snprintf(file, sizeof file, "%s/tls-policy", dir);
  ok(tlspolicy_get(file, "kate.test", &p, &why) && p == TLSPOLICY_MAY, "no file: may");
  f = fopen(file, "w");
  fputs("# test\nkate.test verify\n", f);
  fclose(f);
  ok(tlspolicy_get(file, "kate.test", &p, &why) && p == TLSPOLICY_VERIFY, "read from a file");
  f = fopen(file, "w");
  fputs("# test\nkate.test maybe\n", f);
  fclose(f);
  why.len = 0;
  ok(!tlspolicy_get(file, "kate.test", &p, &why) && stralloc_0(&why)
     && strstr(why.s, "tls-policy line 2: unknown policy"), "malformed: FILE line N: reason (%s)", why.s);
  f = fopen(file, "w");
  for (int i = 0; i < TLSPOLICY_FILEMAX / 16 + 1; i++) fputs("# 16 bytes line\n", f);
  fclose(f);
  why.len = 0;
  ok(!tlspolicy_get(file, "kate.test", &p, &why) && stralloc_0(&why) && strstr(why.s, "too large"),
     "a file too large (%s)", why.s);
  unlink(file);
  if (mkdir(file, 0700) == 0) {
    why.len = 0;
    ok(!tlspolicy_get(file, "kate.test", &p, &why) && stralloc_0(&why) && strstr(why.s, "tls-policy: "),
       "unreadable (a directory): FILE: strerror (%s)", why.s);
    rmdir(file);
  }
  rmdir(dir);
  stralloc_free(&why);
  return done_testing();
}
