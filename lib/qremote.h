/* Remote delivery for queue-run's engine (lib/qrun): the due remote
   recipients of a message grouped by domain, the concurrency limits (in
   all and per domain) with their wait lists, etc/routes, the command line
   of a job and the outcomes read from its report.

   A job is
     mx-lookup DOMAIN remote-send [OPTS] DOMAIN SENDER RCPT...
     remote-send [OPTS] DOMAIN SENDER RCPT...           (address literal)
     remote-send [OPTS] -r IP:PORT DOMAIN SENDER RCPT... (route to an address)
     mx-lookup HOST remote-send [OPTS] -p PORT DOMAIN SENDER RCPT...
                                                         (route to a host name)
   with the message on stdin and its report (lib/report.h) in a memfd on
   stdout. OPTS: -t/-T/-D from qremote_cfg.

   lib/qrun owns the job table and the recipients' state; it provides the
   qrun_* functions declared at the end, for this module only. */
#ifndef PM_QREMOTE_H
#define PM_QREMOTE_H
#include <stdint.h>
#include "qsched.h"

#define QREMOTE_RCPTMAX 100    /* recipients per job */

typedef struct qremote_cfg_s qremote_cfg ;
struct qremote_cfg_s {
  unsigned int rmax ;          /* concurrent jobs */
  unsigned int dmax ;          /* concurrent jobs per domain */
  unsigned int ctimeout ;      /* remote-send -t, -T, -D; 0: its default */
  unsigned int rtimeout ;
  unsigned int dtimeout ;
} ;

typedef struct qremote_dom_s qremote_dom ;

/* What a running remote job carries (inside qrun's job). */
typedef struct qremote_job_s qremote_job ;
struct qremote_job_s {
  uint32_t *list ;             /* its recipients (indexes in the message) */
  uint32_t n ;
  qremote_dom *dom ;
  int report ;                 /* memfd holding the report */
  int relayname ;              /* to a relay of etc/routes, by name */
} ;

void qremote_init(qremote_cfg const *cfg) ;
/* Look for mx-lookup and remote-send in PATH; 1 if they just appeared
   (the caller then makes every message ready). */
int qremote_check(void) ;
/* Reread ROOT/etc/routes if it changed, or always if force. */
void qremote_routes(int force) ;
/* Start jobs for m's due remote recipients, within the limits; those that
   cannot start wait for a slot (and m is made ready when one frees). */
void qremote_dispatch(smsg *m, uint64_t now) ;
/* A job ended: record each recipient's outcome from its report (else from
   the exit status wstat and errline, its last line of output), free rj,
   give the freed slot to waiting messages. */
void qremote_end(smsg *m, qremote_job *rj, int wstat, char const *errline, uint64_t now) ;

/* Provided by lib/qrun for this module. */
int qrun_islocal(char const *addr) ;
/* The message file, open, positioned at the message; -1 on error. */
int qrun_openmsg(smsg *m) ;
/* Start argv as remote job rj for m (stdin fd0, stdout fd1): 1 ok, 0 on
   error (errno) or no free job. */
int qrun_spawn_remote(smsg *m, char const *const *argv, int fd0, int fd1, qremote_job const *rj) ;
void qrun_ready(smsg *m) ;
#endif
