#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include "flockwait.h"

static void onalarm (int sig) { (void)sig ; }

int flock_wait (int fd, unsigned int ms)
{
  struct sigaction sa, old ;
  struct itimerval t, oldt ;
  int r, e ;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 1 ;
  if (errno != EWOULDBLOCK) return 0 ;
  memset(&sa, 0, sizeof sa) ;
  sa.sa_handler = &onalarm ;   /* no SA_RESTART: the timer ends flock's wait */
  sigemptyset(&sa.sa_mask) ;
  memset(&t, 0, sizeof t) ;
  t.it_value.tv_sec = ms / 1000 ;
  t.it_value.tv_usec = (ms % 1000) * 1000 ;
  if (sigaction(SIGALRM, &sa, &old) < 0) return 0 ;
  if (setitimer(ITIMER_REAL, &t, &oldt) < 0) { e = errno ; sigaction(SIGALRM, &old, 0) ; errno = e ; return 0 ; }
  r = flock(fd, LOCK_EX) ;
  e = errno ;
  setitimer(ITIMER_REAL, &oldt, 0) ;
  sigaction(SIGALRM, &old, 0) ;
  if (r == 0) return 1 ;
  errno = e == EINTR ? EWOULDBLOCK : e ;
  return 0 ;
}
