/* Unit tests of lib/qalias: the message an alias forwards. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/strerr.h>
#include "tap.h"
#include "qalias.h"

static char root[] = "/tmp/unit-qalias.XXXXXX";

/* A descriptor on "JUNK" + msg, positioned after JUNK (as queue-run
   hands over a queued message: past its envelope). */
static int queued(char const *msg, size_t len)
{
  char path[64];
  int fd;
  strcpy(path, root);
  strcat(path, "/queue/m");
  fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  unlink(path);
  if (fd < 0 || write(fd, "JUNK", 4) != 4 || write(fd, msg, len) != (ssize_t)len) return -1;
  lseek(fd, 4, SEEK_SET);
  return fd;
}

/* All of fd from its offset, into a malloc'd buffer. */
static char *slurp(int fd, size_t *len)
{
  size_t cap = 1 << 16;
  char *b = malloc(cap);
  ssize_t r;
  *len = 0;
  while (b && (r = read(fd, b + *len, cap - *len)) > 0)
    if ((*len += r) == cap) b = realloc(b, cap *= 2);
  return b;
}

static int check(char const *msg, size_t len, char const *alias, char const *name)
{
  int loop = 7, fd = queued(msg, len), out;
  size_t got;
  char *b, want[600];
  out = fd >= 0 ? qalias_message(fd, alias, &loop) : -1;
  if (!ok(out >= 0 && !loop, "%s: a copy", name)) return 0;
  ok(lseek(fd, 0, SEEK_CUR) == 4, "%s: the queued message's offset is left alone", name);
  snprintf(want, sizeof want, "Delivered-To: %s\n", alias);
  b = slurp(out, &got);
  ok(b && got == strlen(want) + len && !memcmp(b, want, strlen(want)) && !memcmp(b + strlen(want), msg, len),
     "%s: Delivered-To on top, then the message byte for byte", name);
  free(b);
  close(out);
  close(fd);
  return 1;
}

int main(void)
{
  char path[64];
  PROG = "unit-qalias";
  if (!mkdtemp(root)) strerr_diefu1sys(111, "mkdtemp");
  strcpy(path, root);
  strcat(path, "/queue");
  mkdir(path, 0700);
  strcat(path, "/tmp");
  mkdir(path, 0700);
  setenv("PIPEMAIL_ROOT", root, 1);

  check("Subject: x\n\nbody\n", 17, "a@example.test", "small");
  check("", 0, "a@example.test", "empty message");
  {
    size_t n = 3 * 1024 * 1024 + 17;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = i % 77 == 76 ? '\n' : 'a' + i % 26;
    memcpy(big, "Subject: big\n\n", 14);
    check(big, n, "big@example.test", "3 MB");
    free(big);
  }

  char const *looped[] = {
    "Delivered-To: a@example.test\nSubject: x\n\nx\n",
    "Subject: x\nDELIVERED-TO:   A@Example.Test  \n\nx\n",
    "Received: x\nDelivered-To: b@example.test\nDelivered-To: a@example.test\n\nx\n",
  };
  for (unsigned i = 0; i < sizeof looped / sizeof *looped; i++) {
    int loop = 0, fd = queued(looped[i], strlen(looped[i]));
    ok(qalias_message(fd, "a@example.test", &loop) < 0 && loop, "Delivered-To: the alias already (%u): a loop", i);
    close(fd);
  }
  char const *fine[] = {
    "Subject: x\n\nDelivered-To: a@example.test\n",      /* in the body */
    "Delivered-To: b@example.test\nSubject: x\n\nx\n",    /* another address */
    "X-Delivered-To: a@example.test\n\nx\n",             /* another field */
  };
  for (unsigned i = 0; i < sizeof fine / sizeof *fine; i++) {
    int loop = 0, fd = queued(fine[i], strlen(fine[i])), out = qalias_message(fd, "a@example.test", &loop);
    ok(out >= 0 && !loop, "not a loop (%u)", i);
    if (out >= 0) close(out);
    close(fd);
  }
  {
    /* a header is looked at up to 10000 lines or 1 MB: a Delivered-To:
       past that does not count (the line limit comes first here) */
    size_t n = 1100 * 1024;
    char *h = malloc(n + 64);
    size_t k = 0;
    while (k + 40 < n) { memcpy(h + k, "X-Filler: 0123456789012345678901234567\n", 39); k += 39; }
    k += sprintf(h + k, "Delivered-To: a@example.test\n\nx\n");
    int loop = 0, fd = queued(h, k), out = qalias_message(fd, "a@example.test", &loop);
    ok(out >= 0 && !loop, "a header is looked at up to its limit");
    if (out >= 0) close(out);
    close(fd);
    free(h);
  }
  rmdir(path);
  path[strlen(path) - 4] = 0;
  rmdir(path);
  rmdir(root);
  return done_testing();
}
