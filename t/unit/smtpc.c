/* Unit tests of lib/smtpc: reply reading (through a scripted io that hands
   out input in chunks), EHLO keywords, the DATA encoder, message facts. */
#include <errno.h>
#include <string.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include "tap.h"
#include "smtpc.h"

#define B(s) s, sizeof(s) - 1

/* A peer in memory: input handed out at most `chunk` bytes per read, then
   EOF (or ETIMEDOUT if `hang`); output collected. */
typedef struct mem_s { char const *in; size_t len, pos, chunk; int hang; stralloc out; } mem;

static ssize_t mem_read(void *ctx, char *buf, size_t len, tain const *deadline)
{
  mem *m = ctx;
  size_t n = m->len - m->pos;
  (void)deadline;
  if (!n) {
    if (m->hang) { errno = ETIMEDOUT; return -1; }
    return 0;
  }
  if (n > m->chunk) n = m->chunk;
  if (n > len) n = len;
  memcpy(buf, m->in + m->pos, n);
  m->pos += n;
  return n;
}

static int mem_write(void *ctx, char const *s, size_t len, tain const *deadline)
{
  mem *m = ctx;
  (void)deadline;
  return stralloc_catb(&m->out, s, len);
}

static smtpc c;
static mem m;

static void start(char const *in, size_t len, size_t chunk)
{
  smtpc_io io = { .ctx = &m, .read = &mem_read, .write = &mem_write };
  m.in = in; m.len = len; m.pos = 0; m.chunk = chunk; m.hang = 0;
  m.out.len = 0;
  smtpc_free(&c);
  smtpc_init(&c, &io);
}

static void test_replyline(void)
{
  unsigned int code;
  int last;
  ok(smtpc_replyline(B("250 ok"), &code, &last) && code == 250 && last, "250 ok");
  ok(smtpc_replyline(B("250-ok"), &code, &last) && code == 250 && !last, "250-ok continues");
  ok(smtpc_replyline(B("354"), &code, &last) && code == 354 && last, "bare code");
  ok(!smtpc_replyline(B("25"), &code, &last), "short line");
  ok(!smtpc_replyline(B("250ok"), &code, &last), "no separator");
  ok(!smtpc_replyline(B("2x0 ok"), &code, &last), "non-digit");
  ok(!smtpc_replyline(B("650 ok"), &code, &last), "first digit out of range");
}

static void test_getreply(void)
{
  tain dl = TAIN_ZERO;
  static char big[SMTPC_LINEMAX + 200];
  stralloc many = STRALLOC_ZERO;

  start(B("220 mx.test ESMTP\r\n"), 1000);
  ok(smtpc_getreply(&c, &dl) == 220 && !strcmp(c.reply.s, "220 mx.test ESMTP") && c.nlines == 1, "one-line reply");

  start(B("250-mx.test hi\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"), 3);
  ok(smtpc_getreply(&c, &dl) == 250 && c.nlines == 3
     && !strcmp(c.reply.s, "250-mx.test hi\n250-PIPELINING\n250 SIZE 1000"), "multiline reply, 3-byte reads");

  start(B("250 a\r\n550 5.1.1 b\r\n354 go\n"), 1000);
  ok(smtpc_getreply(&c, &dl) == 250, "pipelined replies: first");
  ok(smtpc_getreply(&c, &dl) == 550 && !strcmp(c.reply.s, "550 5.1.1 b"), "second");
  ok(smtpc_getreply(&c, &dl) == 354 && !strcmp(c.reply.s, "354 go"), "third, bare LF tolerated");
  ok(smtpc_getreply(&c, &dl) == SMTPC_EOF, "then EOF");

  start(B("250-a\r\n250-b"), 1000);
  ok(smtpc_getreply(&c, &dl) == SMTPC_EOF, "EOF inside a multiline reply");
  start(B("250-a\r\n"), 1000);
  m.hang = 1;
  ok(smtpc_getreply(&c, &dl) == SMTPC_ERROR && errno == ETIMEDOUT, "timeout inside a reply");
  start(B("hello\r\n"), 1000);
  ok(smtpc_getreply(&c, &dl) == SMTPC_BADREPLY && !strcmp(c.why, "malformed reply line"), "garbage");
  start(B("250-a\r\n\r\n"), 1000);
  ok(smtpc_getreply(&c, &dl) == SMTPC_BADREPLY, "empty line in a reply");

  memcpy(big, "250 ", 4);
  memset(big + 4, 'x', SMTPC_LINEMAX - 4);
  memcpy(big + SMTPC_LINEMAX, "\r\n", 2);
  start(big, SMTPC_LINEMAX + 2, 700);
  ok(smtpc_getreply(&c, &dl) == 250 && c.reply.len == SMTPC_LINEMAX, "line of SMTPC_LINEMAX bytes");
  memset(big + 4, 'x', sizeof big - 4);
  memcpy(big + SMTPC_LINEMAX + 1, "\r\n", 2);
  start(big, SMTPC_LINEMAX + 3, 700);
  ok(smtpc_getreply(&c, &dl) == SMTPC_BADREPLY && !strcmp(c.why, "reply line too long"), "one byte more");
  memset(big + 4, 'x', sizeof big - 4);
  start(big, sizeof big, 700);
  ok(smtpc_getreply(&c, &dl) == SMTPC_BADREPLY, "endless line without LF");

  for (int i = 0; i < SMTPC_LINESMAX - 1; i++) stralloc_cats(&many, "250-x\r\n");
  stralloc_cats(&many, "250 x\r\n");
  start(many.s, many.len, 4096);
  ok(smtpc_getreply(&c, &dl) == 250 && c.nlines == SMTPC_LINESMAX, "SMTPC_LINESMAX lines");
  many.len -= 7;
  stralloc_cats(&many, "250-x\r\n250 x\r\n");
  start(many.s, many.len, 4096);
  ok(smtpc_getreply(&c, &dl) == SMTPC_BADREPLY && !strcmp(c.why, "too many reply lines"), "one line more");
  stralloc_free(&many);

  start(B("250 ok\r\n"), 1000);
  smtpc_puts(&c, "MAIL FROM:<a@b>\r\n", &dl);
  smtpc_puts(&c, "RCPT TO:<c@d>\r\n", &dl);
  ok(m.out.len == 0, "output buffered");
  ok(smtpc_getreply(&c, &dl) == 250 && m.out.len == 32, "flushed in one write before waiting");

  /* STARTTLS: a reply the server sent in the clear after 220 is not read
     as if it had come through TLS (CVE-2011-0411 family) */
  start(B("220 go ahead\r\n250 injected in the clear\r\n"), 1000);
  ok(smtpc_getreply(&c, &dl) == 220, "220 to STARTTLS, more buffered behind it");
  {
    static mem m2;
    smtpc_io io2 = { .ctx = &m2, .read = &mem_read, .write = &mem_write };
    m2.in = "250-tls.test\r\n250 PIPELINING\r\n"; m2.len = strlen(m2.in); m2.chunk = 5;
    smtpc_puts(&c, "unsent\r\n", &dl);
    smtpc_setio(&c, &io2);
    smtpc_puts(&c, "EHLO me\r\n", &dl);
    ok(smtpc_getreply(&c, &dl) == 250 && !strcmp(c.reply.s, "250-tls.test\n250 PIPELINING"),
       "after smtpc_setio the reply comes through the new io only");
    ok(m2.out.len == 9 && !memcmp(m2.out.s, "EHLO me\r\n", 9) && m.out.len == 0, "output before the switch dropped");
    stralloc_free(&m2.out);
  }
  smtpc_free(&c);
}

static void test_oneline(void)
{
  stralloc sa = STRALLOC_ZERO;
  ok(smtpc_oneline(&sa, B("550-5.1.1 no such\n550-5.1.1 user here\n550 5.1.1")) && stralloc_0(&sa)
     && !strcmp(sa.s, "550 5.1.1 no such user here"), "repeated codes dropped, one-line form");
  sa.len = 0;
  ok(smtpc_oneline(&sa, B("550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
                          "550-5.1.1 double-checking the recipient's email address for typos or\n"
                          "550 5.1.1 unnecessary spaces. x-gmail")) && stralloc_0(&sa)
     && !strcmp(sa.s, "550 5.1.1 The email account that you tried to reach does not exist. Please try "
                      "double-checking the recipient's email address for typos or unnecessary spaces. x-gmail"),
     "a Gmail-style reply");
  sa.len = 0;
  ok(smtpc_oneline(&sa, B("554-mx.test\n554 go away")) && stralloc_0(&sa)
     && !strcmp(sa.s, "554 mx.test go away"), "no enhanced code");
  sa.len = 0;
  ok(smtpc_oneline(&sa, B("421-\n421 4.3.2 bye")) && stralloc_0(&sa) && !strcmp(sa.s, "421 4.3.2 bye"),
     "empty first line text");
  sa.len = 0;
  stralloc_catb(&sa, "x-", 2);
  ok(smtpc_oneline(&sa, B("450-4.2.1 a\n450 4.2.1 b")) && stralloc_0(&sa) && !strcmp(sa.s, "x-450 4.2.1 a b"),
     "appends, only its own hyphen changed");
  sa.len = 0;
  ok(smtpc_oneline(&sa, B("250 ok")) && sa.len == 6, "one line");
  sa.len = 0;
  ok(smtpc_oneline(&sa, B("250\n250-\n250 5.0.0 x")) && stralloc_0(&sa) && !strcmp(sa.s, "250 5.0.0 x"),
     "short lines");
  sa.len = 0;
  ok(smtpc_oneline(&sa, "", 0) && sa.len == 0, "empty reply");
  stralloc_free(&sa);
  ok(smtpc_esc(B("5.1.1 x")) == 5 && smtpc_esc(B("4.7.100")) == 7 && smtpc_esc(B("2.0.0")) == 5, "enhanced codes");
  ok(!smtpc_esc(B("5.1.1x")) && !smtpc_esc(B("3.1.1 ")) && !smtpc_esc(B("5.1111.1")) && !smtpc_esc(B("5..1")),
     "not enhanced codes");
}

static void test_ehlo(void)
{
  uint64_t sz = 1;
  char const *name;
  size_t n;
  unsigned int e = smtpc_ehlo(B("250-mx.test Hello\n250-pipelining\n250-SIZE 10240000\n250-8BITMIME\n"
                                "250-SMTPUTF8\n250-STARTTLS\n250-XFOO\n250 ENHANCEDSTATUSCODES"), &sz);
  ok(e == (SMTPC_PIPELINING | SMTPC_SIZE | SMTPC_8BITMIME | SMTPC_SMTPUTF8 | SMTPC_STARTTLS
           | SMTPC_ENHANCEDSTATUSCODES) && sz == 10240000, "all keywords, any case, SIZE value");
  e = smtpc_ehlo(B("250-PIPELINING is the name\n250 SIZE"), &sz);
  ok(e == (SMTPC_SIZE) && sz == 0, "first line skipped; SIZE without a value: no limit");
  e = smtpc_ehlo(B("250-x\n250-SIZE 99999999999999999999999\n250 8BITMIMEX"), &sz);
  ok(e == SMTPC_SIZE && sz == 0, "SIZE out of range: no limit; keyword prefix is not a match");
  e = smtpc_ehlo(B("250 mx.test"), &sz);
  ok(e == 0, "HELO-style reply: nothing");
  n = smtpc_replyname(B("220  mx.test ESMTP ready"), &name);
  ok(n == 7 && !memcmp(name, "mx.test", 7), "greeting name");
  n = smtpc_replyname(B("250-mx.test\n250 SIZE"), &name);
  ok(n == 7 && !memcmp(name, "mx.test", 7), "EHLO name");
  ok(smtpc_replyname(B("220"), &name) == 0, "no name");
}

static void test_data(void)
{
  char out[64];
  unsigned char bol = 1;
  size_t n = smtpc_dotstuff(&bol, B(".a\n..b\nc.\n."), out);
  ok(n == 17 && !memcmp(out, "..a\r\n...b\r\nc.\r\n..", 17) && !bol, "dot-stuffing and CRLF");
  n = smtpc_dotstuff(&bol, B("x\n"), out);
  ok(n == 3 && !memcmp(out, "x\r\n", 3) && bol, "state carries over chunks");
  n = smtpc_dotstuff(&bol, B("."), out);
  ok(n == 2 && !memcmp(out, "..", 2), "dot at the start of a chunk after LF");

  /* through the connection: a small buffer boundary never splits state */
  {
    static char msg[40000];
    tain dl = TAIN_ZERO;
    size_t i, dots = 0, lfs = 0;
    for (i = 0; i < sizeof msg; i++) {
      msg[i] = i % 7 == 0 ? '\n' : i % 7 == 1 ? '.' : 'a';
      if (msg[i] == '\n') lfs++;
    }
    for (i = 0; i < sizeof msg; i++) if (msg[i] == '.' && msg[i-1] == '\n') dots++;
    start("", 0, 1);
    smtpc_data_begin(&c);
    ok(smtpc_data_put(&c, msg, 12345, &dl) && smtpc_data_put(&c, msg + 12345, sizeof msg - 12345, &dl)
       && smtpc_data_end(&c, &dl), "encode 40000 bytes");
    ok(m.out.len == sizeof msg + lfs + dots + 2 + 3, "length: CRs, stuffed dots, CRLF, dot line");
    ok(!memcmp(m.out.s + m.out.len - 6, "aa\r\n.\r\n", 6) || !memcmp(m.out.s + m.out.len - 5, "\r\n.\r\n", 5),
       "ends with CRLF.CRLF");
    smtpc_free(&c);
  }
  {
    tain dl = TAIN_ZERO;
    start("", 0, 1);
    smtpc_data_begin(&c);
    ok(smtpc_data_end(&c, &dl) && m.out.len == 3 && !memcmp(m.out.s, ".\r\n", 3), "empty message");
    start("", 0, 1);
    smtpc_data_begin(&c);
    ok(smtpc_data_put(&c, B("no newline"), &dl) && smtpc_data_end(&c, &dl)
       && m.out.len == 15 && !memcmp(m.out.s, "no newline\r\n.\r\n", 15), "last line completed");
  }
}

static void test_msginfo(void)
{
  smtpc_msginfo mi = SMTPC_MSGINFO_ZERO;
  smtpc_msginfo_add(&mi, B("a\nb\n"));
  ok(smtpc_msginfo_size(&mi) == 6 && !mi.eightbit, "size counts CRLF");
  smtpc_msginfo_add(&mi, B("\xc3\xa9"));
  ok(smtpc_msginfo_size(&mi) == 10 && mi.eightbit, "8-bit, last line completed");
  mi = (smtpc_msginfo)SMTPC_MSGINFO_ZERO;
  ok(smtpc_msginfo_size(&mi) == 0, "empty message");
}

static void test_where(void)
{
  ip46 ip;
  unsigned int port = 25;
  ok(smtpc_scan_route("10.0.0.2", &ip, &port) && !ip.is6 && !memcmp(ip.ip, "\12\0\0\2", 4) && port == 25, "route IPv4");
  ok(smtpc_scan_route("10.0.0.2:2525", &ip, &port) && !ip.is6 && port == 2525, "route IPv4:PORT");
  port = 25;
  ok(smtpc_scan_route("2001:db8::1", &ip, &port) && ip.is6 && port == 25, "route bare IPv6");
  ok(smtpc_scan_route("[2001:db8::1]:587", &ip, &port) && ip.is6 && port == 587, "route [IPv6]:PORT");
  ok(smtpc_scan_route("[10.0.0.2]", &ip, &port) && !ip.is6, "route [IPv4]");
  ok(!smtpc_scan_route("mx.example.test:25", &ip, &port), "route: a name is refused");
  ok(!smtpc_scan_route("10.0.0.2:", &ip, &port) && !smtpc_scan_route("10.0.0.2:0", &ip, &port)
     && !smtpc_scan_route("10.0.0.2:65536", &ip, &port) && !smtpc_scan_route("10.0.0.2:25x", &ip, &port)
     && !smtpc_scan_route("[::1", &ip, &port) && !smtpc_scan_route("[::1]x", &ip, &port)
     && !smtpc_scan_route("10.0.0.2.5", &ip, &port) && !smtpc_scan_route("", &ip, &port), "bad routes");
  ok(smtpc_scan_literal("[192.0.2.1]", &ip) && !ip.is6, "literal IPv4");
  ok(smtpc_scan_literal("[IPv6:2001:db8::1]", &ip) && ip.is6 && smtpc_scan_literal("[ipv6:::1]", &ip), "literal IPv6");
  ok(!smtpc_scan_literal("[2001:db8::1]", &ip) && !smtpc_scan_literal("[IPv6:1.2.3.4]", &ip)
     && !smtpc_scan_literal("example.test", &ip) && !smtpc_scan_literal("[]", &ip)
     && !smtpc_scan_literal("[1.2.3.4", &ip), "not literals");
  smtpc_scan_ip("127.0.0.1", &ip);
  ok(smtpc_ip_is_mine(&ip), "127.0.0.1 is ours");
  smtpc_scan_ip("0.0.0.0", &ip);
  ok(smtpc_ip_is_mine(&ip), "0.0.0.0 is ours");
  smtpc_scan_ip("192.0.2.77", &ip);
  ok(!smtpc_ip_is_mine(&ip), "192.0.2.77 (TEST-NET) is not");
}

int main(void)
{
  test_where();
  test_replyline();
  test_getreply();
  test_oneline();
  test_ehlo();
  test_data();
  test_msginfo();
  stralloc_free(&m.out);
  return done_testing();
}
