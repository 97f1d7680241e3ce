/* Run a checkpassword program: see checkpw.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "checkpw.h"

#define CREDMAX 4096   /* one write into an empty pipe: never blocks */

static void child(int fd, char const *const *argv) gccattr_noreturn ;
static void child(int fd, char const *const *argv)
{
  int nul;
  setpgid(0, 0);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGALRM, SIG_DFL);
  if (fd == 3 ? uncoe(3) < 0 : fd_move(3, fd) < 0) _exit(111);
  nul = open("/dev/null", O_RDWR);
  if (nul < 0 || fd_copy(0, nul) < 0 || fd_copy(1, nul) < 0) _exit(111);
  if (nul > 3) fd_close(nul);
  execvp(argv[0], (char *const *)argv);
  _exit(111);
}

static void onalarm(int sig) { (void)sig; }

/* The exit code of pid, waiting at most secs; killed after that. */
static int reap(pid_t pid, unsigned int secs)
{
  struct sigaction sa, old;
  int wstat;
  pid_t r;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = onalarm;        /* no SA_RESTART: waitpid returns EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, &old);
  alarm(secs ? secs : 1);
  r = waitpid(pid, &wstat, 0);
  alarm(0);
  sigaction(SIGALRM, &old, 0);
  if (r != pid) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    wait_pid(pid, &wstat);
    errno = ETIMEDOUT;
    return -1;
  }
  if (!WIFEXITED(wstat)) { errno = EINTR; return -1; }
  return WEXITSTATUS(wstat);
}

int checkpw_run(char const *const *argv, char const *user, size_t ulen,
                char const *pass, size_t plen, unsigned int secs)
{
  char buf[CREDMAX];
  char stamp[UINT64_FMT + 1];
  size_t n = 0, sl;
  int p[2];
  pid_t pid;
  ssize_t w;
  sl = uint64_fmt(stamp, (uint64_t)time(0));
  stamp[sl++] = 0;
  if (ulen + plen + sl + 2 > sizeof buf) { errno = ENAMETOOLONG; return -1; }
  memcpy(buf, user, ulen); n += ulen; buf[n++] = 0;
  memcpy(buf + n, pass, plen); n += plen; buf[n++] = 0;
  memcpy(buf + n, stamp, sl); n += sl;
  if (pipecoe(p) < 0) { explicit_bzero(buf, sizeof buf); return -1; }
  w = write(p[1], buf, n);
  explicit_bzero(buf, sizeof buf);
  fd_close(p[1]);
  if (w != (ssize_t)n) { fd_close(p[0]); if (w >= 0) errno = EPIPE; return -1; }
  pid = fork();
  if (!pid) child(p[0], argv);
  fd_close(p[0]);
  if (pid < 0) return -1;
  setpgid(pid, pid);              /* both sides: a kill reaches its children */
  return reap(pid, secs);
}
