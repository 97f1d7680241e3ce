/* Unit tests of lib/lineio: over a socketpair (the io on descriptors),
   and through an io in memory (the indirection TLS uses). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <skalibs/stralloc.h>
#include "tap.h"
#include "lineio.h"

static lineio L;

/* A peer in memory: input handed out at most `chunk` bytes a read, then
   EOF; output collected, writes counted; the deadline of the last call. */
typedef struct mem_s { char const *in; size_t len, pos, chunk; stralloc out; unsigned writes; tain last; } mem;

static ssize_t mem_read(void *ctx, char *buf, size_t len, tain const *deadline)
{
  mem *m = ctx;
  size_t n = m->len - m->pos;
  m->last = *deadline;
  if (n > m->chunk) n = m->chunk;
  if (n > len) n = len;
  memcpy(buf, m->in + m->pos, n);
  m->pos += n;
  return n;
}

static int mem_write(void *ctx, char const *s, size_t len, tain const *deadline)
{
  mem *m = ctx;
  m->last = *deadline;
  m->writes++;
  return stralloc_catb(&m->out, s, len);
}

static mem M;

static int same(tain const *a, tain const *b)
{
  return !tain_less(a, b) && !tain_less(b, a);
}
static lineio_io const memio = { .ctx = &M, .read = &mem_read, .write = &mem_write };

static void mem_start(char const *in, size_t chunk)
{
  M.in = in; M.len = strlen(in); M.pos = 0; M.chunk = chunk;
  M.out.len = 0; M.writes = 0;
}

static void test_io(void)
{
  static lineio l;
  static char big[3 * LINEIO_OUTSIZE + 10];
  char *s;
  size_t n;
  tain d, later;
  mem_start("220 a\r\n250-b\r\n250 c\r\n", 3);
  lineio_init_io(&l, &memio, 10);
  ok(lineio_getline(&l, 100, &s, &n) == LINEIO_LINE && n == 5 && !memcmp(s, "220 a", 5), "a line through the io, 3-byte reads");
  tain_now_g();
  ok(!tain_less(&M.last, &STAMP), "plain form: the timeout from now");
  tain_uint(&d, 5);
  tain_add(&d, &STAMP, &d);
  ok(lineio_getline_until(&l, 100, &s, &n, &d) == LINEIO_LINE && n == 5 && same(&M.last, &d),
     "_until: the read gets the deadline given");
  lineio_deadline(&l, 2);
  tain_uint(&later, 100);
  tain_add(&later, &STAMP, &later);
  ok(lineio_getline_until(&l, 100, &s, &n, &later) == LINEIO_LINE && n == 5 && same(&M.last, &l.deadline),
     "the session deadline comes first");
  ok(lineio_getline(&l, 100, &s, &n) == LINEIO_EOF, "EOF through the io");

  /* STARTTLS: what was buffered before the switch is never read after it */
  mem_start("EHLO x\r\nSTARTTLS\r\nMAIL FROM:<evil@x>\r\n", 1000);
  lineio_init_io(&l, &memio, 10);
  ok(lineio_getline(&l, 100, &s, &n) == LINEIO_LINE && lineio_getline(&l, 100, &s, &n) == LINEIO_LINE
     && n == 8 && !memcmp(s, "STARTTLS", 8), "STARTTLS read, the injected command buffered behind it");
  lineio_puts(&l, "220 go\r\n");
  ok(lineio_flush(&l) && M.out.len == 8, "the go-ahead flushed");
  {
    static mem M2;
    lineio_io io2 = { .ctx = &M2, .read = &mem_read, .write = &mem_write };
    M2.in = "EHLO y\r\n"; M2.len = 8; M2.chunk = 1000;
    ok(lineio_setio(&l, &io2) == 20, "setio drops the 20 bytes pipelined in the clear");
    ok(lineio_getline(&l, 100, &s, &n) == LINEIO_LINE && n == 6 && !memcmp(s, "EHLO y", 6),
       "the next line comes through the new io");
    lineio_puts(&l, "250 ok\r\n");
    ok(lineio_flush(&l) && M2.out.len == 8 && M.out.len == 8, "and replies go to it");
    stralloc_free(&M2.out);
  }

  /* output */
  mem_start("", 1);
  lineio_init_io(&l, &memio, 10);
  memset(big, 'b', sizeof big);
  ok(lineio_put(&l, "x", 1) && lineio_put(&l, big, sizeof big) && M.writes == 4 && M.out.len == 1 + 3 * LINEIO_OUTSIZE,
     "a put larger than the buffer: out in buffer-sized writes, the rest buffered");
  ok(lineio_flush(&l) && M.out.len == 1 + sizeof big && M.writes == 5, "flushed");
  M.writes = 0;
  ok(lineio_put_until(&l, big, sizeof big, &d) && M.writes == 1, "with a deadline: in one write");
  ok(lineio_outroom(&l) == LINEIO_OUTSIZE, "outroom: all free");
  memcpy(lineio_outptr(&l), "abc", 3);
  lineio_outadd(&l, 3);
  M.out.len = 0;
  ok(lineio_outroom(&l) == LINEIO_OUTSIZE - 3 && lineio_flush(&l) && M.out.len == 3 && !memcmp(M.out.s, "abc", 3),
     "written in place, then flushed");
  stralloc_free(&M.out);
}

static int line_is(char const *want)
{
  char *s;
  size_t n;
  int r = lineio_getline(&L, 100, &s, &n);
  return r == LINEIO_LINE && n == strlen(want) && !memcmp(s, want, n);
}

int main(void)
{
  int sv[2];
  char buf[4096];
  char *s;
  size_t n;
  ssize_t r;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return 111;
  lineio_init(&L, sv[0], sv[0], 1);

  r = write(sv[1], "one\r\ntwo\nthree\r", 15);
  ok(r == 15, "write");
  ok(line_is("one"), "CRLF line");
  ok(line_is("two"), "LF line");
  r = write(sv[1], "\nfour", 5);
  ok(line_is("three"), "line ending across reads");
  ok(lineio_avail(&L) == 4 && !memcmp(lineio_peek(&L), "four", 4), "raw access to the rest");
  lineio_skip(&L, 4);

  memset(buf, 'x', sizeof buf);
  for (int i = 0; i < 16; i++) r = write(sv[1], buf, sizeof buf);   /* 64 KB line: more than the buffer */
  r = write(sv[1], "\r\nafter\r\n", 9);
  ok(lineio_getline(&L, 100, &s, &n) == LINEIO_TOOLONG, "overlong line reported once");
  ok(line_is("after"), "next line fine");
  memset(buf, 'y', 101);
  memcpy(buf + 101, "\n", 1);
  r = write(sv[1], buf, 102);
  ok(lineio_getline(&L, 100, &s, &n) == LINEIO_TOOLONG && n == 100 && s[0] == 'y' && s[99] == 'y',
     "101 bytes with max 100: too long, its first 100 given");
  memcpy(buf + 100, "\r\n", 2);
  r = write(sv[1], buf, 102);
  ok(line_is("yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"),
     "100 bytes and CRLF with max 100: fine");
  r = write(sv[1], buf, 101);
  ok(lineio_getline(&L, 100, &s, &n) == -1 && errno == ETIMEDOUT, "100 bytes and CR without LF: may still fit");
  r = write(sv[1], "zz", 2);
  ok(lineio_getline(&L, 100, &s, &n) == LINEIO_TOOLONG, "overlong line reported before its LF comes");
  r = write(sv[1], "zzz\r\nnext\r\n", 11);
  ok(line_is("next"), "its rest skipped by the next call, once its LF comes");

  ok(lineio_puts(&L, "250 ok\r\n") && lineio_avail(&L) == 0, "output buffered");
  ok(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == EAGAIN, "nothing sent yet");
  r = write(sv[1], "x", 1);
  ok(lineio_getline(&L, 100, &s, &n) == -1 && errno == ETIMEDOUT, "timeout on a partial line");
  r = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
  ok(r == 8 && !memcmp(buf, "250 ok\r\n", 8), "output flushed before waiting for input");

  /* the session deadline cuts a wait shorter than the timeout */
  lineio_init(&L, sv[0], sv[0], 30);
  ok(!lineio_overtime(&L), "no deadline: never overtime");
  lineio_deadline(&L, 1);
  {
    tain t0, t1;
    tain_now(&t0);
    r = lineio_getline(&L, 100, &s, &n);
    tain_now(&t1);
    tain_sub(&t1, &t1, &t0);
    ok(r == -1 && errno == ETIMEDOUT && tain_to_millisecs(&t1) < 5000, "deadline before the timeout: ETIMEDOUT at the deadline");
  }
  ok(lineio_overtime(&L), "and overtime says why");
  lineio_deadline(&L, 0);
  ok(!lineio_overtime(&L), "deadline 0: none");

  close(sv[1]);
  ok(lineio_getline(&L, 100, &s, &n) == LINEIO_EOF, "EOF (partial last line dropped)");
  test_io();
  return done_testing();
}
