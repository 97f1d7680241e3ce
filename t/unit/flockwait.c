/* Unit tests of lib/flockwait: the lock taken at once when free, a wait
   bounded when another process holds it, taken as soon as it is let go,
   and the caller's SIGALRM handler and timer put back. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include "tap.h"
#include "flockwait.h"

static void mine (int sig) { (void)sig ; }

/* A child that holds the lock on path for ms milliseconds. */
static pid_t holder (char const *path, unsigned int ms, int ready)
{
  pid_t pid = fork() ;
  if (pid) return pid ;
  int fd = open(path, O_RDWR) ;
  if (fd < 0 || flock(fd, LOCK_EX) < 0) _exit(1) ;
  if (write(ready, "x", 1) != 1) _exit(1) ;
  usleep(ms * 1000) ;
  _exit(0) ;
}

static void wait_ready (int fd)
{
  char c ;
  if (read(fd, &c, 1) != 1) exit(1) ;
}

int main (void)
{
  char path[] = "/tmp/pm-flockwait-XXXXXX" ;
  int fd = mkstemp(path), p[2], fd2, st ;
  struct sigaction sa = { .sa_handler = &mine }, now ;
  struct itimerval t = { .it_value = { .tv_sec = 100 } }, tnow ;
  pid_t pid ;
  if (fd < 0 || pipe(p) < 0) return 1 ;
  fd2 = open(path, O_RDWR) ;
  ok(flock_wait(fd, 100), "a free lock is taken at once") ;
  flock(fd, LOCK_UN) ;

  sigaction(SIGALRM, &sa, 0) ;
  setitimer(ITIMER_REAL, &t, 0) ;
  pid = holder(path, 3000, p[1]) ;
  wait_ready(p[0]) ;
  errno = 0 ;
  ok(!flock_wait(fd2, 100) && errno == EWOULDBLOCK, "held by another process: not taken within the bound, EWOULDBLOCK") ;
  sigaction(SIGALRM, 0, &now) ;
  getitimer(ITIMER_REAL, &tnow) ;
  ok(now.sa_handler == &mine && tnow.it_value.tv_sec > 90, "the caller's SIGALRM handler and timer put back") ;
  kill(pid, SIGKILL) ;
  waitpid(pid, &st, 0) ;

  pid = holder(path, 200, p[1]) ;
  wait_ready(p[0]) ;
  ok(flock_wait(fd2, 10000), "taken once the other process lets go, within the bound") ;
  waitpid(pid, &st, 0) ;
  unlink(path) ;
  return done_testing() ;
}
