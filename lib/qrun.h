/* The delivery engine of queue-run: loads queued messages, starts
   delivery jobs within the concurrency limits, records their results in
   the queue's state logs, schedules retries and sends bounces.

   Jobs (children, found via PATH):
     local mailbox   maildir-deliver [-q QUOTA] MAILDIR, message on stdin,
                     env SENDER RECIPIENT DELIVERY_ID QUEUE_ARRIVAL
     local alias     queue-inject, message on stdin (with Delivered-To: the
                     alias on top, lib/qalias), envelope on fd 1 (same
                     sender, the expanded addresses)
     bounce          queue-inject, the DSN on stdin, envelope on fd 1
     remote          mx-lookup DOMAIN remote-send ..., see lib/qremote.h
                     (etc/routes, grouping by domain, the report)
   Their stdout/stderr go to a pipe (or a delivery worker's capture, see
   lib/qworker.h); the last line is the reason. Results and log lines:
   lib/qresult.h. */
#ifndef PM_QRUN_H
#define PM_QRUN_H
#include <stdint.h>
#include <skalibs/iopause.h>

typedef struct qrun_cfg_s qrun_cfg ;
struct qrun_cfg_s {
  unsigned int lmax ;     /* concurrent local jobs (bounces count here) */
  unsigned int rmax ;     /* concurrent remote jobs */
  unsigned int dmax ;     /* concurrent remote jobs per domain */
  unsigned int wjobs ;    /* jobs per delivery worker; 0: QWORKER_JOBS */
  uint64_t retrymin ;     /* first retry delay, seconds */
  uint64_t retrymax ;     /* longest retry delay */
  uint64_t lifetime ;     /* give up on temporary failures after this */
  unsigned int ctimeout ; /* remote-send -t (connect), -T (reply), -D (end */
  unsigned int rtimeout ; /* of data) in seconds; 0: remote-send's default */
  unsigned int dtimeout ;
} ;

/* Open users.cdb, allocate the job table. 0 on error (errno). */
int qrun_init(qrun_cfg const *cfg) ;
/* Load message id unless known. */
void qrun_load(char const *id) ;
/* Load every unknown message; remove orphan state logs. */
void qrun_scan(void) ;
/* Make every deferred recipient due now. All times given to qrun come
   from one clock (the caller's): mixing time() and clock_gettime() can
   disagree by up to a second on some systems. */
void qrun_alarm(uint64_t now) ;
/* Reopen users.cdb and reread etc/routes if they changed (checked at most
   once a second), or always if force (then also look for remote-send). */
void qrun_users(int force) ;
/* Start what can be started now. */
void qrun_dispatch(uint64_t now) ;
/* Start no more jobs; qrun_dispatch() then only records and removes
   what running jobs finish. */
void qrun_stop(void) ;
/* Earliest time something is scheduled, UINT64_MAX if nothing. */
uint64_t qrun_next(void) ;
/* Number of running jobs. */
unsigned int qrun_running(void) ;
/* Put the jobs' output pipes in x (at most max); returns how many. */
unsigned int qrun_pollfds(iopause_fd *x, unsigned int max) ;
/* After iopause: read the pipes that qrun_pollfds put in x. */
void qrun_pollread(iopause_fd const *x) ;
/* Reap finished children and record their results. */
void qrun_reap(uint64_t now) ;
/* Write the log lines of this turn (queue-run calls it before it waits;
   lib/qresult.c). */
void qrun_logflush(void) ;
#endif
