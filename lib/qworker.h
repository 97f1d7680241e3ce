/* queue-run's delivery workers: processes forked once that run a built-in
   delivery program (maildir-deliver's code) job after job. A fork per
   delivery costs more CPU than the delivery itself (the child's page
   faults, its exit, the clone: half of queue-run's time per message), and
   Postfix's local(8) is reused the same way.

   A job is what qjob_spawn would have run in a forked child: same argv,
   environment changes, descriptors and exit code. The worker gets them
   over a socketpair (the descriptors with SCM_RIGHTS), puts the fds on 0
   and 1, runs the function, puts /dev/null back and answers with the exit
   code. The job's fd 2 (and fd 1, if it was given none) is the parent's
   fd 2, or, for queue-run, the worker's capture: a file in memory made at the worker's start, which queue-run
   holds too, so it can read what a job wrote even if the job took the
   worker with it; a pipe per job cost a pipe, its closes and a wake-up
   more per delivery. A function that exits (a fatal error) takes the
   worker with it: the job's status is then the worker's wait status, as
   with a forked child. A worker retires after its last job (QWORKER_JOBS
   by default), saying so in its answer, so that no job is ever handed to
   a worker on its way out. One idle too long is let go: its socket is
   closed, it reads EOF and exits (the parent decides, so no job can cross
   its exit).

   tcp-serve runs its SMTP sessions the same way (smtp-recv's code). */
#ifndef PM_QWORKER_H
#define PM_QWORKER_H
#include <sys/types.h>
#include <skalibs/iopause.h>
#include "builtin.h"

/* Then a fresh process: leaks stay bounded. Not fewer: each fork costs
   the parent a copy-on-write fault for every page it writes afterwards
   (a fork per 100 jobs was 15% of the CPU per message on a VM). */
#define QWORKER_JOBS 1000
#define QWORKER_MSGMAX 65536    /* argv + environment of one job */
#define QWORKER_CAPMAX 65536    /* output of one job; writes past it fail */

/* At most max workers at once (0: none; every job then forks), each for
   at most jobs jobs (0: QWORKER_JOBS), each with a capture if capture is
   1, else writing to our fd 2. */
void qworker_init(unsigned int max, unsigned int jobs, int capture) ;

/* Let go of the workers idle for maxidle seconds or more. Returns the
   seconds until the next one would be, or 0 if none is idle. */
unsigned int qworker_expire(unsigned int maxidle) ;

/* Run f(argv) with envmod (n "NAME=value", or "NAME" to unset) in an
   idle worker for f, or a new one: fd 0 = fd0, fd 1 = fd1 (fd 2 if
   fd1 < 0), fd 2 = the capture or our fd 2. Returns the worker's pid, which stands for
   the job until qworker_pollread or qworker_reaped gives its status; 0 if
   no worker could take it (the caller then forks as before). If cap is
   not null, *cap is the capture (-1 if none): the job's output is its
   bytes from 0 to its file offset, the caller's to read (not to close)
   until done() for the job returns. */
pid_t qworker_run(builtin_main_func *f, char const *const *argv, char const *const *envmod, unsigned int n, int fd0, int fd1, int *cap) ;

/* The control sockets of busy workers, into x (at most max). */
unsigned int qworker_pollfds(iopause_fd *x, unsigned int max) ;
/* After the poll: done(pid, wstat) for each job that ended. */
void qworker_pollread(iopause_fd const *x, void (*done)(pid_t, int)) ;
/* A child was reaped: done(pid, status) for what it stood for. A worker
   with a job gives its job's status (an answer it sent before it went,
   else wstat) and is forgotten; one without a job, only forgotten. Any
   other child: done(pid, wstat). */
void qworker_reaped(pid_t pid, int wstat, void (*done)(pid_t, int)) ;
#endif
