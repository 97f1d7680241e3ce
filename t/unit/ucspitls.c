/* Unit tests of lib/ucspitls: the protocol program's side of UCSPI-TLS,
   against a fake server on a socketpair. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "tap.h"
#include "ucspitls.h"

static int seen;   /* the fake server reports the command it got here */

/* A fake server that reads the command, reports it, sleeps delay seconds,
   then writes reply (n bytes; none if n <= 0) and closes. */
static pid_t fake(char const *reply, int n, int delay)
{
  int sv[2], p[2];
  char num[16];
  pid_t pid;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(p) < 0) return -1;
  pid = fork();
  if (!pid) {
    char c = 0;
    close(sv[0]);
    close(p[0]);
    if (read(sv[1], &c, 1) != 1) c = '-';
    if (write(p[1], &c, 1) != 1) _exit(1);
    if (delay) sleep(delay);
    if (n > 0 && write(sv[1], reply, n) != n) _exit(1);
    _exit(0);
  }
  close(sv[1]);
  close(p[1]);
  seen = p[0];
  snprintf(num, sizeof num, "%d", sv[0]);
  setenv("SSLCTLFD", num, 1);
  setenv("SSLREADFD", "7", 1);
  setenv("SSLWRITEFD", "8", 1);
  return pid;
}

static char command(pid_t pid)
{
  char c = '?';
  if (read(seen, &c, 1) != 1) c = '?';
  close(seen);
  waitpid(pid, 0, 0);
  return c;
}

int main(void)
{
  static char const reply[] = "SSL_PROTOCOL=TLSv1.2\0SSL_CIPHER=ECDHE-RSA-AES128-GCM-SHA256\0";
  char env[UCSPITLS_ENV_MAX];
  int r = -1, w = -1, ret;
  pid_t pid;

  unsetenv("SSLCTLFD");
  ok(!ucspitls_available(), "no SSLCTLFD: not available");
  ok(!ucspitls_start(&r, &w, 0, 0, 5) && errno == EINVAL, "start without the variables: EINVAL");

  pid = fake(reply, sizeof reply, 0);
  ok(ucspitls_available(), "variables set: available");
  ret = ucspitls_start(&r, &w, env, sizeof env, 5);
  ok(command(pid) == 'Y', "'Y' sent on the control socket");
  ok(ret && r == 7 && w == 8, "handshake done: read fd 7, write fd 8");
  ok(!strcmp(env, "SSL_PROTOCOL=TLSv1.2") && !strcmp(env + 21, "SSL_CIPHER=ECDHE-RSA-AES128-GCM-SHA256"),
     "variables passed on");

  pid = fake("\0", 1, 0);
  ret = ucspitls_start(&r, &w, env, sizeof env, 5);
  command(pid);
  ok(ret, "a lone \\0 then EOF: no variables, TLS up");

  pid = fake("", 0, 0);
  errno = 0;
  ret = ucspitls_start(&r, &w, env, sizeof env, 5);
  command(pid);
  ok(!ret && errno == EPROTO, "closed without an answer (failed handshake): EPROTO");

  pid = fake(reply, 10, 0);
  errno = 0;
  ret = ucspitls_start(&r, &w, env, sizeof env, 5);
  command(pid);
  ok(!ret && errno == EPROTO, "cut answer: EPROTO");

  pid = fake(reply, sizeof reply, 3);
  errno = 0;
  ret = ucspitls_start(&r, &w, env, sizeof env, 1);
  command(pid);
  ok(!ret && errno == ETIMEDOUT, "no answer in time: ETIMEDOUT");
  return done_testing();
}
