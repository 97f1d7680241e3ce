/* Unit tests of lib/lineio over a socketpair. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "tap.h"
#include "lineio.h"

static lineio L;

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
  ok(lineio_getline(&L, 100, &s, &n) == LINEIO_TOOLONG, "101 bytes with max 100: too long");
  memcpy(buf + 100, "\r\n", 2);
  r = write(sv[1], buf, 102);
  ok(line_is("yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"),
     "100 bytes and CRLF with max 100: fine");

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
  return done_testing();
}
