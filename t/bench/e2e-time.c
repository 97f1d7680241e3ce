/* e2e-time [-n SAMPLES] [-s SIZE] IP PORT NEWDIR RCPT: one message at a
 * time, the time from connect() to the message's file appearing in NEWDIR
 * (a Maildir's new/), and to the server's 250 for the dot. Benchmark use
 * only (make bench), not installed.
 *
 * Why not the shared harness: it starts smtp-source and polls the Maildir
 * with a shell loop, which costs ~16 ms before any server does anything.
 * Here the client is one process that speaks SMTP itself and learns of the
 * new file from inotify while it waits for replies, so what is left is the
 * server's time (and loopback TCP). Both servers are timed with it.
 *
 * Output: a line per sample, "e2e new_ms=X ack_ms=Y"; exit 111 on error. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int sock = -1, ino = -1;
static double t0, tnew;

static void die(char const *what)
{
  fprintf(stderr, "e2e-time: fatal: %s: %s\n", what, errno ? strerror(errno) : "failed");
  exit(111);
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void drain_ino(void)
{
  char ev[4096];
  while (read(ino, ev, sizeof ev) > 0)
    if (tnew == 0) tnew = now_ms();
}

/* Waits for sock (or, with sock < 0, for the file alone), noting the time
 * the file shows up whenever it does. */
static void wait_for(int fd, int timeout_ms)
{
  struct pollfd p[2] = { { ino, POLLIN, 0 }, { fd, POLLIN, 0 } };
  for (;;) {
    int r = poll(p, fd < 0 ? 1 : 2, timeout_ms);
    if (r < 0) { if (errno == EINTR) continue; die("poll"); }
    if (r == 0) { errno = ETIMEDOUT; die("waiting for the server or the file"); }
    if (p[0].revents) drain_ino();
    if (fd < 0 ? tnew != 0 : p[1].revents != 0) return;
  }
}

static char rbuf[8192];
static size_t rlen;

/* Reads a whole reply; dies unless its code is CODE. */
static void expect(char const *code)
{
  for (;;) {
    char *nl;
    while (!(nl = memchr(rbuf, '\n', rlen))) {
      ssize_t r;
      if (rlen == sizeof rbuf) { errno = 0; die("reply line too long"); }
      wait_for(sock, 30000);
      r = read(sock, rbuf + rlen, sizeof rbuf - rlen);
      if (r <= 0) { if (r == 0) errno = ECONNRESET; die("read"); }
      rlen += r;
    }
    size_t len = nl + 1 - rbuf;
    int last = len < 4 || rbuf[3] != '-';
    if (strncmp(rbuf, code, 3)) {
      fprintf(stderr, "e2e-time: fatal: expected %s, got: %.*s", code, (int)len, rbuf);
      exit(111);
    }
    memmove(rbuf, rbuf + len, rlen - len);
    rlen -= len;
    if (last) return;
  }
}

static void say(char const *s, size_t n)
{
  while (n) {
    ssize_t w = write(sock, s, n);
    if (w < 0) { if (errno == EINTR) continue; die("write"); }
    s += w; n -= w;
  }
}

static void cmd(char const *line, char const *code)
{
  say(line, strlen(line));
  expect(code);
}

static void one(struct sockaddr_in const *sa, char const *rcpt, char const *msg, size_t msglen)
{
  char line[600];
  double tack;
  drain_ino();
  tnew = 0;
  rlen = 0;
  t0 = now_ms();
  sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) die("socket");
  if (connect(sock, (struct sockaddr const *)sa, sizeof *sa) < 0) die("connect");
  expect("220");
  cmd("EHLO e2e.bench.test\r\n", "250");
  cmd("MAIL FROM:<e2e@bench.test>\r\n", "250");
  snprintf(line, sizeof line, "RCPT TO:<%s>\r\n", rcpt);
  cmd(line, "250");
  cmd("DATA\r\n", "354");
  say(msg, msglen);
  expect("250");
  tack = now_ms();
  cmd("QUIT\r\n", "221");
  close(sock);
  if (tnew == 0) wait_for(-1, 30000);
  printf("e2e new_ms=%.3f ack_ms=%.3f\n", tnew - t0, tack - t0);
  fflush(stdout);
}

int main(int argc, char **argv)
{
  unsigned samples = 10, size = 2048;
  struct sockaddr_in sa = { .sin_family = AF_INET };
  int opt;
  while ((opt = getopt(argc, argv, "n:s:")) != -1) {
    if (opt == 'n') samples = strtoul(optarg, 0, 10);
    else if (opt == 's') size = strtoul(optarg, 0, 10);
    else goto usage;
  }
  if (argc - optind != 4 || !samples || size < 200 || size > 1 << 24 || strlen(argv[optind + 3]) > 500)
    goto usage;
  if (inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1) goto usage;
  sa.sin_port = htons(atoi(argv[optind + 1]));
  ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (ino < 0) die("inotify_init1");
  if (inotify_add_watch(ino, argv[optind + 2], IN_CREATE | IN_MOVED_TO) < 0) die(argv[optind + 2]);

  /* SIZE bytes: a few headers, then lines of 'x', then the dot */
  char *msg = malloc(size + 8);
  if (!msg) die("malloc");
  size_t n = snprintf(msg, size, "From: <e2e@bench.test>\r\nTo: <%s>\r\nSubject: e2e\r\n\r\n", argv[optind + 3]);
  while (n + 80 < size) { memset(msg + n, 'x', 76); memcpy(msg + n + 76, "\r\n", 2); n += 78; }
  memcpy(msg + n, ".\r\n", 3);
  n += 3;

  for (unsigned i = 0; i < samples; i++) {
    one(&sa, argv[optind + 3], msg, n);
    usleep(100000); /* a lone message each time: let the server go idle */
  }
  return 0;
usage:
  fprintf(stderr, "usage: e2e-time [-n SAMPLES] [-s SIZE] IP PORT NEWDIR RCPT\n");
  return 100;
}
