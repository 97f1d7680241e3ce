/* Unit tests of lib/dsn: status codes, header cut, the report, routing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include "tap.h"
#include "dsn.h"

static void test_status(void)
{
  static char const *const cases[][2] = {
    { "5.2.2 mailbox full (quota 200 bytes)", "5.2.2" },
    { "gave up after 3 attempts: 4.3.5 mailbox missing", "4.3.5" },
    { "mx.example said: 550 5.1.1 <x@y> unknown", "5.1.1" },
    { "(4.4.1) no answer", "4.4.1" },
    { "no code at all", "5.0.0" },
    { "", "5.0.0" },
    { "5.2 short", "5.0.0" },
    { "15.2.2 not a code", "5.0.0" },
    { "2.0.0 not a failure", "5.0.0" },
    { "5.1.1234 detail too long", "5.0.0" },
    { "5.1.1x glued", "5.0.0" },
    { "5.7.1; semicolon", "5.7.1" },
    { "mx[1.2.3.4] said: 550-5.1.1 as it came", "5.1.1" },
    { "550-5.2.2 at the start", "5.2.2" },
    { "x-5.1.1 not after a reply code", "5.0.0" },
  } ;
  char st[16] ;
  for (size_t i = 0 ; i < sizeof cases / sizeof *cases ; i++) {
    dsn_status(st, cases[i][0]) ;
    is_str(st, cases[i][1], cases[i][0]) ;
  }
  is_str(dsn_diagtype("550 5.1.1 unknown"), "smtp", "diag type smtp for a reply code") ;
  is_str(dsn_diagtype("421-busy"), "smtp", "diag type smtp for a multiline reply") ;
  is_str(dsn_diagtype("5.1.1 unknown"), "x-pipemail", "diag type x-pipemail otherwise") ;
  is_str(dsn_diagtype("55 x"), "x-pipemail", "two digits are no reply code") ;
}

static void remote_is(char const *reason, char const *host, char const *reply, char const *what)
{
  char const *h = 0, *r = 0 ;
  size_t hl = 0, rl = 0 ;
  int got = dsn_remote(reason, &h, &hl, &r, &rl) ;
  if (!host) { ok(!got, "%s", what) ; return ; }
  ok(got && hl == strlen(host) && !strncmp(h, host, hl) && rl == strlen(reply) && !strncmp(r, reply, rl),
     "%s (%.*s | %.*s)", what, got ? (int)hl : 0, got ? h : "", got ? (int)rl : 0, got ? r : "") ;
}

static void test_remote(void)
{
  remote_is("mx.example.test[192.0.2.1] said: 550 5.1.1 no such user (in reply to RCPT TO command)",
            "mx.example.test", "550 5.1.1 no such user", "said, in reply to") ;
  remote_is("gave up after 3 attempts: mx.test[::1] said: 451 4.3.0 try (later) (in reply to end of DATA command)",
            "mx.test", "451 4.3.0 try (later)", "after a prefix; the last note cut") ;
  remote_is("host mx.test[192.0.2.1] refused to talk to me: 554 5.7.1 go away",
            "mx.test", "554 5.7.1 go away", "refused to talk (greeting)") ;
  remote_is("mx.test[192.0.2.1] said: 550 no (in reply to x)", "mx.test", "550 no (in reply to x)",
            "a note without command) is kept") ;
  remote_is("mx said: 550 5.1.1 unknown", 0, 0, "no [IP]: not remote-send's wording") ;
  remote_is("[192.0.2.1] said: 550 5.1.1 unknown", 0, 0, "no host") ;
  remote_is("mx[1.2.3.4] said: 5.1.1 unknown", 0, 0, "no reply code") ;
  remote_is("mx[1.2.3.4] said: ", 0, 0, "no reply") ;
  remote_is("5.2.2 mailbox full", 0, 0, "local reason") ;
  remote_is("4.7.4 TLS is required, but host mx.test[1.2.3.4] refused to start TLS: 554 no", 0, 0,
            "our own words about a reply") ;
}

static void test_headers(void)
{
  char const *m = "A: b\nC: d\n\nbody\n" ;
  ok(dsn_headers(m, strlen(m)) == 10, "header ends at the empty line") ;
  m = "A: b\nC: d" ;
  ok(dsn_headers(m, strlen(m)) == 5, "no empty line: up to the last whole line") ;
  ok(dsn_headers("\nbody", 5) == 0, "empty header") ;
  char *big = malloc(DSN_HDRMAX * 2) ;
  for (size_t i = 0 ; i < DSN_HDRMAX * 2 ; i++) big[i] = i % 100 == 99 ? '\n' : 'x' ;
  size_t n = dsn_headers(big, DSN_HDRMAX * 2) ;
  ok(n <= DSN_HDRMAX && n > DSN_HDRMAX - 100 && big[n-1] == '\n', "huge header cut at a line end within DSN_HDRMAX") ;
  free(big) ;
}

static void test_build(void)
{
  stralloc out = STRALLOC_ZERO ;
  char longreason[2000] ;
  memset(longreason, 'r', sizeof longreason - 1) ;
  longreason[sizeof longreason - 1] = 0 ;
  dsn_rcpt r[3] = {
    { "a@example.test", "5.2.2 mailbox full" },
    { "b\001c@example.test", "mx said: 550 5.1.1 no\tsuch user" },
    { "d@example.test", longreason },
  } ;
  char const *hdr = "Subject: hello\nMessage-ID: <x@y>\n" ;
  dsn d = { .me = "mx.example.test", .qid = "abc.1", .sender = "s@example.test", .to = "s@example.test",
            .arrival = 1700000000, .now = 1700000100, .rcpt = r, .n = 3, .hdr = hdr, .hdrlen = strlen(hdr) } ;
  ok(dsn_build(&out, &d), "dsn_build") ;
  stralloc_0(&out) ;
  char const *s = out.s ;
  char const *start = "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\nTo: <s@example.test>\n" ;
  ok(!strncmp(s, start, strlen(start)), "From, To first") ;
  ok(strstr(s, "\nSubject: Undelivered Mail Returned to Sender\n") != 0, "Subject") ;
  ok(strstr(s, "\nAuto-Submitted: auto-replied\n") && strstr(s, "\nMIME-Version: 1.0\n") && strstr(s, "\nDate: ")
     && strstr(s, "\nMessage-ID: <1700000100.abc.1.bounce@mx.example.test>\n"), "Auto-Submitted, MIME-Version, Date, Message-ID") ;
  ok(strstr(s, "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"=_abc.1.1700000100_=\"\n") != 0, "multipart/report") ;
  ok(strstr(s, "\n--=_abc.1.1700000100_=\nContent-Type: text/plain") && strstr(s, "\n--=_abc.1.1700000100_=\nContent-Type: message/delivery-status")
     && strstr(s, "\n--=_abc.1.1700000100_=\nContent-Type: text/rfc822-headers") && strstr(s, "\n--=_abc.1.1700000100_=--\n"), "three parts and the end") ;
  ok(strstr(s, "\nReporting-MTA: dns; mx.example.test\n") && strstr(s, "\nArrival-Date: ") != 0, "Reporting-MTA, Arrival-Date") ;
  ok(strstr(s, "\nFinal-Recipient: rfc822; a@example.test\nAction: failed\nStatus: 5.2.2\nDiagnostic-Code: x-pipemail; 5.2.2 mailbox full\n") != 0, "per-recipient block") ;
  ok(strstr(s, "rfc822; b?c@example.test\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: x-pipemail; mx said: 550 5.1.1 no?such user\n") != 0, "control bytes made '?'") ;
  ok(strstr(s, "\nStatus: 5.0.0\n") != 0, "no code: 5.0.0") ;
  ok(!strstr(s, "Remote-MTA"), "no Remote-MTA for our own reasons") ;
  ok(strstr(s, "rrr...\n") != 0 && !strstr(s, longreason), "long reason cut") ;
  ok(strstr(s, "\n\nSubject: hello\nMessage-ID: <x@y>\n\n--=_abc.1.1700000100_=--\n") != 0, "original header in part 3") ;
  ok(strstr(s, "<a@example.test>:\n    5.2.2 mailbox full\n") != 0, "human part lists recipient and reason") ;
  int maxline = 0, cur = 0 ;
  for (char const *p = s ; *p ; p++) { if (*p == '\n') cur = 0 ; else if (++cur > maxline) maxline = cur ; }
  ok(maxline <= 998, "no line longer than 998 bytes (%d)", maxline) ;
  out.len = 0 ;
  dsn_rcpt rr[3] = {
    { "e@example.test", "mx1.example.test[192.0.2.1] said: 550 5.1.1 The email account that you tried to reach does"
                        " not exist. (in reply to RCPT TO command)" },
    { "f@example.test", "gave up after 5 attempts: mx2.example.test[192.0.2.2] said: 452 too busy (in reply to"
                        " MAIL FROM command)" },
    { "g@example.test", "host mx3.example.test[192.0.2.3] refused to talk to me: 554 5.7.1 go\001away" },
  } ;
  d.rcpt = rr ;
  ok(dsn_build(&out, &d) && stralloc_0(&out), "dsn_build with remote replies") ;
  s = out.s ;
  ok(strstr(s, "\nFinal-Recipient: rfc822; e@example.test\nAction: failed\nStatus: 5.1.1\n"
               "Remote-MTA: dns; mx1.example.test\n"
               "Diagnostic-Code: smtp; 550 5.1.1 The email account that you tried to reach does not exist.\n") != 0,
     "remote reply: Status from it, Remote-MTA, Diagnostic-Code smtp; the reply") ;
  ok(strstr(s, "\nStatus: 4.0.0\nRemote-MTA: dns; mx2.example.test\nDiagnostic-Code: smtp; 452 too busy\n") != 0,
     "a 4xx without enhanced code given up on: 4.0.0") ;
  ok(strstr(s, "\nStatus: 5.7.1\nRemote-MTA: dns; mx3.example.test\nDiagnostic-Code: smtp; 554 5.7.1 go?away\n") != 0,
     "greeting refused: Remote-MTA, control bytes made '?'") ;
  ok(strstr(s, "<e@example.test>:\n    mx1.example.test[192.0.2.1] said: 550 5.1.1 The email") != 0,
     "the human part keeps the whole reason") ;
  out.len = 0 ;
  d.rcpt = r ;
  d.sender = "" ; d.to = "postmaster@example.test" ; d.n = 1 ; d.hdrlen = 0 ;
  ok(dsn_build(&out, &d) && stralloc_0(&out), "double bounce built") ;
  ok(strstr(out.s, "null sender") != 0 && strstr(out.s, "To: <postmaster@example.test>\n"), "double bounce says so") ;
  stralloc_free(&out) ;
}

static void writefile(char const *root, char const *rel, char const *s)
{
  char p[4096] ;
  snprintf(p, sizeof p, "%s/%s", root, rel) ;
  FILE *f = fopen(p, "w") ;
  if (f) { fputs(s, f) ; fclose(f) ; }
}

static void test_route(void)
{
  char root[] = "/tmp/pm-unit-dsn-XXXXXX" ;
  char p[4096] ;
  stralloc to = STRALLOC_ZERO ;
  char const *bs = "x" ;
  if (!mkdtemp(root)) { ok(0, "mkdtemp") ; return ; }
  setenv("PIPEMAIL_ROOT", root, 1) ;
  snprintf(p, sizeof p, "%s/etc", root) ;
  mkdir(p, 0755) ;
  writefile(root, "etc/me", "mx.example.test\n") ;
  ok(dsn_route(&to, &bs, "a@b.test") == 1 && !strcmp(to.s, "a@b.test") && !strcmp(bs, ""), "bounce goes to the sender, from <>") ;
  ok(dsn_route(&to, &bs, "") == 1 && !strcmp(to.s, "postmaster@mx.example.test") && !strcmp(bs, "#@[]"),
     "no etc/domains: postmaster@me, from #@[]") ;
  writefile(root, "etc/domains", "# local domains\n\n  Example.test  \nother.test\n") ;
  ok(dsn_route(&to, &bs, "") == 1 && !strcmp(to.s, "postmaster@Example.test"), "postmaster@ first domain") ;
  writefile(root, "etc/doublebounceto", "\nadmin@example.test\n") ;
  ok(dsn_route(&to, &bs, "") == 1 && !strcmp(to.s, "admin@example.test") && !strcmp(bs, "#@[]"), "etc/doublebounceto") ;
  ok(dsn_route(&to, &bs, "#@[]") == 0, "a double bounce is never bounced") ;
  stralloc_free(&to) ;
  snprintf(p, sizeof p, "rm -rf %s", root) ;
  if (system(p)) {}
}

int main(void)
{
  PROG = "unit-dsn" ;
  test_status() ;
  test_remote() ;
  test_headers() ;
  test_build() ;
  test_route() ;
  return done_testing() ;
}
