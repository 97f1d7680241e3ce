/* Unit tests of lib/smtpdata (the DATA decoder), lib/smtpcmd (command
   arguments) and lib/datefmt. Every decoder vector is fed whole, byte by
   byte, and split at every position: the result must not depend on how
   the bytes arrive. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tap.h"
#include "smtpdata.h"
#include "smtpcmd.h"
#include "datefmt.h"

/* Decode in, chunked by step (0 = split once at pos). Returns the output
   (static), *used = input bytes consumed, *done. */
static char outbuf[4096];
static size_t run(char const *in, size_t len, size_t step, size_t pos, size_t *used, int *done, smtpdata *d)
{
  char tmp[4096 + SMTPDATA_SLACK];
  size_t o = 0, i = 0;
  if (len >= sizeof outbuf) abort();
  smtpdata_init(d);
  while (i < len && !d->done) {
    size_t n = step ? step : (i < pos ? pos - i : len - i), olen, u;
    if (n > len - i) n = len - i;
    u = smtpdata_decode(d, in + i, n, tmp, &olen);
    if (olen > n + SMTPDATA_SLACK) { *done = -1; return 0; }
    memcpy(outbuf + o, tmp, olen);
    o += olen;
    i += u;
  }
  *used = i;
  *done = d->done;
  outbuf[o] = 0;
  return o;
}

/* want: expected output, or 0 if DATA must not end; rest: the bytes
   that must remain unconsumed after the terminator. */
static void vec(char const *name, char const *in, char const *want, char const *rest)
{
  size_t len = strlen(in), used, olen;
  int done, good = 1;
  smtpdata d;
  char const *why = "";
  for (size_t mode = 0; mode < len + 2 && good; mode++) {
    /* mode 0: whole; 1: byte by byte; 2..: split at mode-1 */
    size_t step = mode == 0 ? len : mode == 1 ? 1 : 0;
    olen = run(in, len, step, mode - 1, &used, &done, &d);
    if (done < 0) { good = 0; why = "output exceeds input + slack"; break; }
    if (want) {
      if (!done) { good = 0; why = "did not end"; }
      else if (olen != strlen(want) || memcmp(outbuf, want, olen)) { good = 0; why = "wrong output"; }
      else if (used != len - strlen(rest)) { good = 0; why = "wrong amount consumed"; }
      else if (d.size != olen) { good = 0; why = "wrong size"; }
    } else if (done) { good = 0; why = "ended"; }
    else if (used != len) { good = 0; why = "did not consume all"; }
  }
  ok(good, "%s", name);
  if (!good) printf("#   %s (mode output '%s')\n", why, outbuf);
}

static void decoder(void)
{
  vec("empty message", ".\r\n", "", "");
  vec("simple", "a\r\nb\r\n.\r\n", "a\nb\n", "");
  vec("pipelined commands stay", "a\r\n.\r\nQUIT\r\n", "a\n", "QUIT\r\n");
  vec("second message text after dot stays", "a\r\n.\r\nMAIL FROM:<x>\r\nRCPT TO:<y>\r\nDATA\r\n", "a\n",
      "MAIL FROM:<x>\r\nRCPT TO:<y>\r\nDATA\r\n");
  vec("dot-stuffing undone", "..a\r\n..\r\n...\r\n.\r\n", ".a\n.\n..\n", "");
  vec("leading dot of a normal line removed", ".abc\r\n.\r\n", "abc\n", "");
  vec("bare LF line end kept", "a\nb\r\n.\r\n", "a\nb\n", "");
  vec("bare CR kept", "a\rb\r\n.\r\n", "a\rb\n", "");
  vec("CR CR LF", "a\r\r\n.\r\n", "a\r\n", "");
  vec("CR at end of chunk then text", "x\r\ry\r\n.\r\n", "x\r\ry\n", "");
  vec("empty lines", "\r\n\r\n.\r\n", "\n\n", "");
  vec("8-bit bytes", "caf\xc3\xa9 \xff\x80\r\n.\r\n", "caf\xc3\xa9 \xff\x80\n", "");
  /* smuggling vectors: none of these end DATA */
  vec("<LF>.<LF> does not end", "a\n.\nb\r\n", 0, 0);
  vec("<CR>.<CR> does not end", "a\r.\rb\r\n", 0, 0);
  vec("<LF>.<CR><LF> does not end", "a\n.\r\nb\r\n", 0, 0);
  vec("<CR><LF>.<LF> does not end", "a\r\n.\nb\r\n", 0, 0);
  vec("<CR><LF>.<CR> does not end", "a\r\n.\rMAIL FROM:<x>\r\n", 0, 0);
  vec("<CR>.<CR><LF> does not end", "a\r.\r\nb\r\n", 0, 0);
  vec("<CR><LF>.<CR><CR><LF> does not end", "a\r\n.\r\r\nb\r\n", 0, 0);
  vec("leading <LF>.<LF> does not end", ".\nb\r\n", 0, 0);
  vec("leading .<CR>x does not end", ".\rx\r\n", 0, 0);
  /* ... and how they decode once a real terminator comes */
  vec("<LF>.<LF> kept as text", "a\n.\nb\r\n.\r\n", "a\n.\nb\n", "");
  vec("<CR>.<CR> kept as text", "a\r.\rb\r\n.\r\n", "a\r.\rb\n", "");
  vec("<LF>.<CR><LF> kept as text", "a\n.\r\nb\r\n.\r\n", "a\n.\nb\n", "");
  vec("<CR><LF>.<LF> kept as text", "a\r\n.\nb\r\n.\r\n", "a\n.\nb\n", "");
  vec("<CR><LF>.<CR>x loses the dot", "a\r\n.\rMAIL\r\n.\r\n", "a\n\rMAIL\n", "");
  vec("smuggled second message is text", "a\n.\nMAIL FROM:<e@x>\nRCPT TO:<v@y>\nDATA\nevil\n.\r\n.\r\nQUIT\r\n",
      "a\n.\nMAIL FROM:<e@x>\nRCPT TO:<v@y>\nDATA\nevil\n.\n", "QUIT\r\n");
  vec("<LF>.<CR><LF> then CRLF.CRLF ends there", "a\n.\r\n.\r\nX", "a\n.\n", "X");
}

static void received_count(void)
{
  smtpdata d;
  size_t used;
  int done;
  char in[8192];
  strcpy(in, "Received: a\r\nreceived:b\r\nX-Received: c\r\nRECEIVED: d\r\n  received: e\r\nReceivedx: f\r\n\r\nReceived: body\r\n.\r\n");
  run(in, strlen(in), 1, 0, &used, &done, &d);
  ok(done && d.received == 3, "Received: counted in the header only (%u)", d.received);
  in[0] = 0;
  for (int i = 0; i < 150; i++) strcat(in, "Received: x\r\n");
  strcat(in, "\r\n.\r\n");
  run(in, strlen(in), 7, 0, &used, &done, &d);
  ok(done && d.received == 150, "150 Received: counted across chunks (%u)", d.received);
  strcpy(in, "Subject: x\r\n\r\n.\r\n");
  run(in, strlen(in), 0, 5, &used, &done, &d);
  ok(done && d.received == 0, "no Received:");
}

static void cmdargs(void)
{
  char buf[256], *a, *p, *k, *v;
  size_t n;
  strcpy(buf, "FROM:<a@b.c> SIZE=100 BODY=8BITMIME SMTPUTF8");
  ok(smtpcmd_path(buf, "FROM", &a, &n, &p) == 1 && !strcmp(a, "a@b.c") && n == 5, "path");
  ok(smtpcmd_param(&p, &k, &v) == 1 && !strcmp(k, "SIZE") && v && !strcmp(v, "100"), "param SIZE");
  ok(smtpcmd_param(&p, &k, &v) == 1 && !strcmp(k, "BODY") && !strcmp(v, "8BITMIME"), "param BODY");
  ok(smtpcmd_param(&p, &k, &v) == 1 && !strcmp(k, "SMTPUTF8") && !v, "param without value");
  ok(smtpcmd_param(&p, &k, &v) == 0, "end of params");
  strcpy(buf, "from: <>");
  ok(smtpcmd_path(buf, "FROM", &a, &n, &p) == 1 && !*a && !n && !*p, "null path, space after colon");
  strcpy(buf, "TO:<@r1,@r2:u@d>");
  ok(smtpcmd_path(buf, "TO", &a, &n, &p) == 1 && !strcmp(a, "u@d"), "source route dropped");
  strcpy(buf, "TO:<\"a> b\"@d> X=1");
  ok(smtpcmd_path(buf, "TO", &a, &n, &p) == 1 && !strcmp(a, "\"a> b\"@d") && !strcmp(p, "X=1"), "quoted > in local part");
  strcpy(buf, "TO:u@d");
  ok(smtpcmd_path(buf, "TO", &a, &n, &p) == 1 && !strcmp(a, "u@d"), "path without brackets");
  strcpy(buf, "TO:<u@d");
  ok(!smtpcmd_path(buf, "TO", &a, &n, &p), "unclosed path");
  strcpy(buf, "TO:<u@d>x");
  ok(!smtpcmd_path(buf, "TO", &a, &n, &p), "junk after path");
  strcpy(buf, "FROM:<u@d>");
  ok(!smtpcmd_path(buf, "TO", &a, &n, &p), "wrong keyword");
  strcpy(buf, "TO <u@d>");
  ok(!smtpcmd_path(buf, "TO", &a, &n, &p), "missing colon");
  strcpy(buf, "=x");
  p = buf;
  ok(smtpcmd_param(&p, &k, &v) == -1, "empty key");
  strcpy(buf, "A=\x01");
  p = buf;
  ok(smtpcmd_param(&p, &k, &v) == -1, "control byte");
}

static void dates(void)
{
  char s[DATEFMT_LEN];
  datefmt_rfc5322_utc(s, 0);
  is_str(s, "Thu, 1 Jan 1970 00:00:00 +0000", "epoch");
  datefmt_rfc5322_utc(s, 1709641496);
  is_str(s, "Tue, 5 Mar 2024 12:24:56 +0000", "2024");
  setenv("TZ", "EST5", 1); tzset();
  datefmt_rfc5322(s, 1709641496);
  is_str(s, "Tue, 5 Mar 2024 07:24:56 -0500", "local time with offset");
  setenv("TZ", "IST-5:30", 1); tzset();
  datefmt_rfc5322(s, 1709641496);
  is_str(s, "Tue, 5 Mar 2024 17:54:56 +0530", "half-hour offset");
}

int main(void)
{
  decoder();
  received_count();
  cmdargs();
  dates();
  return done_testing();
}
