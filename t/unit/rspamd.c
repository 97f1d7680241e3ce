/* Unit tests of lib/rspamd's answer parser and address syntax, and of
   the custom error text of lib/injector (the other end of spam-check's
   refusals). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "injector.h"
#include "rspamd.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

static rspamd_reply r ;

static int parse(char const *s, size_t n, char const **why)
{
  *why = 0 ;
  return rspamd_parse(&r, s, n, why) ;
}

static void test_good(void)
{
  char const *why ;
  char const gtube[] = "{\"is_skipped\":true,\"score\":15.0,\"required_score\":15.0,\"action\":\"reject\","
    "\"symbols\":{\"GTUBE\":{\"name\":\"GTUBE\",\"score\":0.0,\"metric_score\":0.0}},"
    "\"messages\":{\"smtp_message\":\"Gtube pattern\"},\"message-id\":\"undef\",\"time_real\":0.265058}" ;
  ok(parse(S(gtube), &why), "gtube answer parsed") ;
  is_str(r.action, "reject", "action") ;
  ok(r.score == 15.0 && r.required == 15.0, "score, required_score") ;
  is_str(r.message, "Gtube pattern", "smtp_message") ;
  ok(r.nsym == 1 && r.allsym == 1 && !strcmp(r.sym[0].name, "GTUBE"), "one symbol") ;

  char const many[] = " {\"action\" : \"add header\", \"score\": 7.8e0, \"symbols\": {"
    "\"A\": {\"score\": 1}, \"B\": {\"score\": 3.5, \"options\": [\"x\", {\"y\": [1, 2, null]}, true, false]},"
    "\"C\": {\"score\": -0.1}, \"WEIRD name\\u0001\": {}}, \"milter\": {\"remove_headers\": {\"X-Spam\": 0}},"
    "\"messages\": {}} \n" ;
  ok(parse(S(many), &why), "nested answer parsed") ;
  ok(r.nsym == 4 && !strcmp(r.sym[0].name, "B") && !strcmp(r.sym[1].name, "A")
     && !strcmp(r.sym[3].name, "C"), "symbols sorted by score") ;
  is_str(r.sym[2].name, "WEIRD?name?", "symbol name cleaned") ;
  ok(r.required == 0 && !r.message[0], "absent members: zero, empty") ;

  char const esc[] = "{\"action\":\"soft reject\",\"messages\":{\"smtp_message\":\"try \\\"later\\\"\\r\\n\\u00e9\\/\"}}" ;
  ok(parse(S(esc), &why), "escapes parsed") ;
  is_str(r.message, "try \"later\"??" "?/", "escapes decoded, control and non-ASCII as ?") ;
}

static void test_bounds(void)
{
  char const *why ;
  /* 200 symbols: the 64 highest kept */
  size_t cap = 200 * 40 + 100, n = 0 ;
  char *s = malloc(cap) ;
  n += snprintf(s + n, cap - n, "{\"action\":\"no action\",\"symbols\":{") ;
  for (int i = 0 ; i < 200 ; i++) n += snprintf(s + n, cap - n, "%s\"S%d\":{\"score\":%d}", i ? "," : "", i, i) ;
  n += snprintf(s + n, cap - n, "}}") ;
  ok(parse(s, n, &why) && r.nsym == RSPAMD_MAXSYMBOLS && r.allsym == 200, "200 symbols: 64 kept") ;
  ok(!strcmp(r.sym[0].name, "S199") && !strcmp(r.sym[RSPAMD_MAXSYMBOLS - 1].name, "S136"), "the highest ones") ;
  free(s) ;

  /* a long message and a long name are cut, not overflowed */
  cap = 100000 ;
  s = malloc(cap) ;
  n = snprintf(s, cap, "{\"action\":\"reject\",\"messages\":{\"smtp_message\":\"") ;
  memset(s + n, 'x', 50000) ; n += 50000 ;
  n += snprintf(s + n, cap - n, "\"},\"symbols\":{\"") ;
  memset(s + n, 'y', 1000) ; n += 1000 ;
  n += snprintf(s + n, cap - n, "\":{}}}") ;
  ok(parse(s, n, &why) && strlen(r.message) == sizeof r.message - 1 && strlen(r.sym[0].name) == 63, "long strings cut") ;

  /* nesting */
  n = snprintf(s, cap, "{\"action\":\"no action\",\"x\":") ;
  for (int i = 0 ; i < 10000 ; i++) s[n++] = '[' ;
  for (int i = 0 ; i < 10000 ; i++) s[n++] = ']' ;
  s[n++] = '}' ;
  ok(!parse(s, n, &why) && why && strstr(why, "deep"), "10000 nested arrays refused") ;
  free(s) ;
}

static void test_bad(void)
{
  static char const *const bad[] = {
    "", "   ", "null", "[]", "{", "{\"action\":\"reject\"", "{\"action\":\"reject\",}",
    "{\"action\":reject}", "{\"action\":\"reject\"} x", "{\"score\":1}", "{\"action\":\"a\nb\"}",
    "{\"action\":\"x\\q\"}", "{\"action\":\"x\\u12\"}", "{\"action\":\"no action\",\"score\":\"high\"}",
    "{\"action\":\"no action\",\"score\":1.2.3}", "{\"action\":\"no action\",\"score\":-}",
    "{\"action\":\"no action\",\"x\":tru}", "{\"action\":\"no action\",\"symbols\":[1]}",
    "{\"action\":\"no action\",\"symbols\":{\"A\":1}}", "<html>502 Bad Gateway</html>",
    "{\"action\":\"no action\",\"score\":1111111111111111111111111111111111111111111}", 0
  } ;
  char const *why ;
  for (int i = 0 ; bad[i] ; i++) ok(!parse(bad[i], strlen(bad[i]), &why) && why, "bad answer %d refused (%s)", i, why ? why : "?") ;
  ok(!parse("{\"action\":\"reject\"}\0", 20, &why), "NUL after the object refused") ;
  ok(parse("{\"action\":\"reject\",\"score\":1e999}", 33, &why), "huge exponent: a number (clamped when printed)") ;
}

static void test_addr(void)
{
  rspamd_addr a ;
  ok(rspamd_addr_scan(&a, "127.0.0.1:11333") && !a.is6 && a.port == 11333 && !memcmp(a.ip, "\177\0\0\1", 4), "IPv4:PORT") ;
  ok(rspamd_addr_scan(&a, "[::1]:2") && a.is6 && a.port == 2 && a.ip[15] == 1, "[IPv6]:PORT") ;
  static char const *const bad[] = { "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
    "127.0.0.1:1x", "localhost:11333", "::1:11333", "[::1]11333", "[127.0.0.1:1", 0 } ;
  for (int i = 0 ; bad[i] ; i++) ok(!rspamd_addr_scan(&a, bad[i]), "address refused: '%s'", bad[i]) ;
}

static void test_reply_text(void)
{
  static injector q = INJECTOR_ZERO ;
  strcpy(q.errtext, "D5.7.1 Gtube pattern") ;
  is_str(injector_reply_text(&q, 31), "554 5.7.1 Gtube pattern", "31 + D text") ;
  is_str(injector_reply_text(&q, 82), "554 5.7.1 Gtube pattern", "82 + D text") ;
  is_str(injector_reply_text(&q, 88), "554 5.7.1 Gtube pattern", "88 (indimail) + D text") ;
  is_str(injector_reply_text(&q, 71), injector_reply(71), "71 + D text: text ignored") ;
  is_str(injector_reply_text(&q, 0), injector_reply(0), "0: 250 whatever the text") ;
  strcpy(q.errtext, "Zgreylisted (#4.7.1)") ;
  is_str(injector_reply_text(&q, 82), "451 4.3.0 greylisted (#4.7.1)", "82 + Z text, no code: 4.3.0 added") ;
  is_str(injector_reply_text(&q, 71), "451 4.3.0 greylisted (#4.7.1)", "71 + Z text") ;
  strcpy(q.errtext, "Z5.7.1 wrong class") ;
  is_str(injector_reply_text(&q, 71), "451 4.3.0 5.7.1 wrong class", "Z with a 5.x code: ours put first") ;
  strcpy(q.errtext, "X what") ;
  is_str(injector_reply_text(&q, 31), injector_reply(31), "not D or Z: ignored") ;
  strcpy(q.errtext, "D") ;
  is_str(injector_reply_text(&q, 82), injector_reply(31), "82 + empty D: the default refusal") ;
  q.errtext[0] = 0 ;
  is_str(injector_reply_text(&q, 82), injector_reply(71), "82 without text: temporary") ;
}

int main(void)
{
  test_good() ;
  test_bounds() ;
  test_bad() ;
  test_addr() ;
  test_reply_text() ;
  return done_testing() ;
}
