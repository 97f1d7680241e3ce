/* queue-inject: put one message into the queue, durably (qmail-queue protocol).
   Message on fd 0, envelope on fd 1. Exit 0 only once the message file and
   its directory entry are on disk; any failure removes what was written.
   The work is done by lib/qinject, which smtp-recv also uses in-process.
   Installed setgid to the queue's group (ROOT/bin/queue-inject, by
   instance-setup run as root), it is how any local user's mail-inject or
   sendmail reaches the queue: it then trusts nothing from its caller's
   environment and takes ROOT from where it is installed. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "datefmt.h"
#include "qinject.h"
#include "queue.h"
#include "root.h"

#define ENVMAX (16u << 20)

static qinject q = QINJECT_ZERO;

static void die(int code, char const *what)
{
  qinject_abort(&q);
  strerr_diefusys(code, what);
}

/* Length of a complete envelope in s, or 0 if more is needed. */
static size_t env_complete(char const *s, size_t len, size_t *scan)
{
  size_t i = *scan;
  while (i < len) {
    if (!s[i] && i) return i + 1;       /* an empty item ends the list */
    size_t e = byte_chr(s + i, len - i, 0);
    if (i + e >= len) break;
    i += e + 1;
  }
  *scan = i;
  return 0;
}

/* qmail-queue reads the envelope up to its end, not to EOF. */
static void read_envelope(stralloc *env)
{
  size_t scan = 0, n;
  for (;;) {
    if (!stralloc_readyplus(env, 4096)) die(51, "allocate");
    ssize_t r = read(1, env->s + env->len, 4096);
    if (r < 0) { if (errno == EINTR) continue; die(54, "read envelope"); }
    if (!r) { errno = EPIPE; die(54, "read envelope: premature end"); }
    env->len += r;
    if ((n = env_complete(env->s, env->len, &scan))) { env->len = n; return; }
    if (env->len > ENVMAX) { errno = EMSGSIZE; die(91, "read envelope: too large"); }
  }
}

/* Setgid (or setuid): ROOT is the directory above the one this program
   is installed in (ROOT/bin/queue-inject), never $PIPEMAIL_ROOT, which
   would let the caller write with the queue's group anywhere; files are
   made readable by the group whatever the caller's umask. */
static int privileged(void)
{
  static char exe[4096];
  ssize_t n;
  char *slash;
  if (getegid() == getgid() && geteuid() == getuid()) return 0;
  n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0 || n >= (ssize_t)sizeof exe - 1) strerr_diefusys(62, "find where I am installed");
  exe[n] = 0;
  for (int i = 0; i < 2; i++) {
    if (!(slash = strrchr(exe, '/')) || slash == exe) strerr_dief(62, "installed outside ROOT/bin: ", exe);
    *slash = 0;
  }
  if (setenv("PIPEMAIL_ROOT", exe, 1) < 0) strerr_diefusys(51, "setenv");
  umask(007);
  return 1;
}

/* Setgid, the one trusted fact about a local message is who handed it
   over: a trace field with the caller's uid, as Postfix's "from userid". */
static int trace(void)
{
  char buf[300 + DATEFMT_LEN], uid[UINT_FMT];
  size_t n;
  uid[uint_fmt(uid, getuid())] = 0;
  n = (size_t)snprintf(buf, 300, "Received: (from uid %s)\n\tby %.200s (pipemail queue-inject); ", uid, pm_me());
  n += datefmt_rfc5322(buf + n, time(0));
  buf[n++] = '\n';
  return qinject_write(&q, buf, n);
}

/* -w: run the whole queue now (sendmail -q). */
static int wake(void)
{
  if (queue_wake()) return 0;
  if (errno == ENXIO) strerr_dief(111, "queue-run is not running");
  strerr_diefusys(111, "write to queue/trigger");
}

int main(int argc, char const *const *argv)
{
  static stralloc env = STRALLOC_ZERO;  /* static: reachable at exit, for leak checkers */
  int code, setgid;
  PROG = "queue-inject";
  setgid = privileged();
  if (argc == 2 && !strcmp(argv[1], "-w")) return wake();
  if (argc > 1) strerr_dieusage(100, "queue-inject < message 1< envelope | queue-inject -w");
  signal(SIGPIPE, SIG_IGN);
  alarm(86400);           /* a stuck writer does not pin a tmp file forever */
  if ((code = qinject_open(&q)) || (setgid && (code = trace())) || (code = qinject_copyfd(&q, 0)))
    strerr_diefusys(code, q.why);
  read_envelope(&env);
  if ((code = qinject_commit(&q, env.s, env.len))) strerr_diefusys(code, q.why);
  return 0;
}
