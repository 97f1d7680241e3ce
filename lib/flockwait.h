/* flock(2) LOCK_EX that waits in the kernel's queue (no polling: a
   thousand sessions woken at once by one delivery are served in turn,
   not as their retries happen to fall), bounded in time. */
#ifndef PM_FLOCKWAIT_H
#define PM_FLOCKWAIT_H
/* 1 locked; 0 not within ms milliseconds (errno EWOULDBLOCK) or another
   error (errno). Uses SIGALRM and ITIMER_REAL for the wait, and puts
   back what the caller had. */
int flock_wait (int fd, unsigned int ms) ;
#endif
