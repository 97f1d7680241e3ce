/* Writing one message into the queue (the work of queue-inject), usable
   in-process: smtp-recv injects this way when no filter is configured,
   which saves a fork, an exec and a pipe copy per message.

   Results are qmail-queue exit codes (0 ok; 11 address too long, 91
   envelope format error: permanent; 51 no memory, 53 write error, 62 queue
   directory problem: temporary), with a reason in q->why. A failure or an
   abort removes everything written: nothing half-queued is ever delivered. */
#ifndef PM_QINJECT_H
#define PM_QINJECT_H
#include <stddef.h>
#include <sys/types.h>
#include <skalibs/stralloc.h>
#include "queue.h"

#define QINJECT_BUFSIZE 65536

typedef struct qinject_s qinject ;
struct qinject_s {
  char id[QUEUE_IDLEN + 1] ;
  int fd ;                 /* the tmp file, -1 when closed */
  int code ;               /* first failure (qmail-queue code), 0 if none */
  char const *why ;        /* what failed, for a fatal message */
  stralloc tmp ;           /* path of the tmp file, "" when none */
  off_t stale ;            /* size of the file when taken from queue/pool */
  size_t buflen ;
  char *buf ;              /* QINJECT_BUFSIZE bytes */
} ;
#define QINJECT_ZERO { .fd = -1, .tmp = STRALLOC_ZERO, .buf = 0 }

/* Create the tmp file. Returns 0 or a code. */
int qinject_open(qinject *q) ;
/* Append message bytes (buffered). Returns 0 or a code; after a failure
   every call returns the first code. */
int qinject_write(qinject *q, char const *s, size_t n) ;
/* Copy fd to EOF into the message. 0 or a code (54 on a read error). */
int qinject_copyfd(qinject *q, int fd) ;
/* Check the envelope (qmail-queue form, final \0 included), write it,
   fsync, rename into queue/msg/H, fsync that directory, wake queue-run.
   Returns 0 once the message is durable, or a code (nothing left). */
int qinject_commit(qinject *q, char const *env, size_t envlen) ;
/* Give up: remove the tmp file. Safe to call at any time, twice. */
void qinject_abort(qinject *q) ;
#endif
