/* Scheduling state for queue-run: the loaded messages (looked up by id),
   a timer heap (earliest next attempt) and a FIFO of messages that have
   work to do now. Plus the retry policy and queue directory scanning.

   A message stays in memory from its load until it is finished and
   removed. Timer entries and the ready FIFO hold references, so that
   qsched_remove() can be called at any time: the memory is released when
   the last reference goes. */
#ifndef PM_QSCHED_H
#define PM_QSCHED_H
#include <stdint.h>
#include <stddef.h>
#include "queue.h"

/* Per-recipient flags (smsg.flags[i]). */
#define SF_BUSY 1        /* a job runs for this recipient */
#define SF_NOTED 2       /* "remote delivery not available" logged */
#define SF_DWAIT 4       /* waiting for a slot of its domain */

typedef struct smsg_s smsg ;
struct smsg_s {
  qmsg q ;
  unsigned char *flags ;  /* q.nrcpt bytes, SF_* */
  uint32_t inflight ;     /* jobs running for this message */
  uint32_t refs ;         /* timer entries + ready FIFO membership */
  uint64_t timer ;        /* earliest pending timer entry, 0 if none */
  uint64_t bounceat ;     /* no bounce attempt before this (after a failure) */
  unsigned int dead : 1 ;
  unsigned int inready : 1 ;
  unsigned int gwait : 1 ;   /* waiting for a remote slot */
  smsg *hnext ;           /* hash chain */
  smsg *rnext ;           /* ready FIFO */
} ;

typedef struct stimer_s stimer ;
struct stimer_s { uint64_t when ; smsg *m ; } ;

typedef struct qsched_s qsched ;
struct qsched_s {
  smsg **tab ;            /* hash table, tabsize buckets (power of 2) */
  size_t tabsize ;
  size_t count ;
  stimer *heap ;
  size_t heaplen, heapcap ;
  smsg *rhead, *rtail ;
} ;
#define QSCHED_ZERO { .tab = 0, .tabsize = 0, .count = 0, .heap = 0, .heaplen = 0, .heapcap = 0, .rhead = 0, .rtail = 0 }

smsg *qsched_find(qsched const *s, char const *id) ;
/* Take over *q (which is zeroed) into a new message, put it in the ready
   FIFO. 0 on ENOMEM (q untouched). */
smsg *qsched_add(qsched *s, qmsg *q) ;
/* Forget m: out of the table now, freed when unreferenced. */
void qsched_remove(qsched *s, smsg *m) ;
/* Call f on every live message. f must not add or remove messages. */
void qsched_each(qsched *s, void (*f)(qsched *, smsg *, void *), void *data) ;

/* Timer: make m ready at when (unless an earlier timer is set). 0 ENOMEM. */
int qsched_at(qsched *s, smsg *m, uint64_t when) ;
/* Earliest timer, UINT64_MAX if none. */
uint64_t qsched_next(qsched const *s) ;
/* Move every message whose timer is <= now to the ready FIFO. */
void qsched_expire(qsched *s, uint64_t now) ;
/* Ready FIFO: push (no-op if already in), peek, pop. */
void qsched_ready(qsched *s, smsg *m) ;
smsg *qsched_peek(qsched *s) ;
void qsched_pop(qsched *s) ;
void qsched_free(qsched *s) ;
/* Hold / release a reference (e.g. from a wait list) to m. */
void qsched_ref(smsg *m) ;
void qsched_unref(smsg *m) ;

/* Delay before attempt n+1 after n failed attempts (n >= 1):
   min * 2^(n-1), at most max. */
uint64_t qsched_delay(uint32_t n, uint64_t min, uint64_t max) ;

/* 1 if id looks like a queue id ([0-9a-f.], 1..QUEUE_IDLEN bytes). */
int qsched_idvalid(char const *s, size_t len) ;
/* Call f with every id in ROOT/queue/msg/{0..f}/. 0 on a directory error
   other than ENOENT (errno set), else 1. */
int qsched_scan(void (*f)(char const *id, void *), void *data) ;
/* Remove files in ROOT/queue/tmp older than maxage seconds; returns the
   count removed. */
unsigned int qsched_cleantmp(uint64_t now, uint64_t maxage) ;
#endif
