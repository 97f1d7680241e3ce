/* The queue: one file per message, one fsync per commit.

   ROOT/queue/tmp/ID        being written by queue-inject (never delivered)
   ROOT/queue/msg/H/ID      committed; H is the id's last hex digit, so that
                            commits spread over 16 directories
   ROOT/queue/state/ID      per-recipient delivery log, appended (only for
                            messages that needed more than one attempt or
                            have several recipients)
   ROOT/queue/trigger       FIFO; queue-inject writes "ID\n" to wake queue-run
                            ("!\n": run the whole queue now, queue_wake)
   ROOT/queue/pool/N        finished message files kept for reuse (N < QUEUE_POOL):
                            creating and deleting a file per message is costly on
                            ext4 (the inode allocator skips recently freed
                            inodes one by one), so a finished file is renamed
                            here and the next injection renames it back to
                            tmp/ and overwrites it, instead of unlink + create.
                            Only files up to QUEUE_POOL_FILEMAX bytes are kept,
                            so the pool holds at most 4096 x 64 KB of disk.

   A message file is a header block followed by the message bytes:
     "PMQ1 HHHHHHHHHH AAAAAAAAAAAAAAAAAAAA EEEEEEEEEE\n"   (QUEUE_MAGICLEN bytes)
     envelope (E bytes, qmail-queue form: Fsender\0 Trcpt\0 ... \0), padding
   H is the header block length (where the message starts), A the arrival
   time (unix seconds), E the envelope length. Delivery agents get the file
   on stdin, positioned at H; the message runs to end of file.

   State log lines: "IDX CODE TIME NEXT TEXT\n"; CODE is
     D delivered, F failed permanently (TEXT = reason), B bounce sent for F,
     T temporary failure (NEXT = when to try again), plus TEXT = reason.
   The last line for an index wins; a partial last line (crash) is ignored.
*/
#ifndef PM_QUEUE_H
#define PM_QUEUE_H
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <skalibs/stralloc.h>

#define QUEUE_IDLEN 32          /* max id length; ids are [0-9a-f.] */
#define QUEUE_MAGICLEN 48
#define QUEUE_HDRMIN 1024       /* header block of a fresh file */
#define QUEUE_POOL 4096         /* slots in queue/pool: above a burst's backlog */
#define QUEUE_POOL_FILEMAX 65536 /* larger files are removed, not kept */
#define QUEUE_MAXRCPT 100000
#define QUEUE_MAXADDR 1024      /* longer envelope addresses: qmail-queue's 11 */

enum { QR_PENDING = 0, QR_TEMP = 'T', QR_DONE = 'D', QR_FAILED = 'F', QR_BOUNCED = 'B' } ;

typedef struct qrcpt_s qrcpt ;
struct qrcpt_s {
  char const *addr ;    /* points into qmsg.env, NUL-terminated */
  char state ;          /* QR_* */
  uint32_t attempts ;
  uint64_t last ;       /* time of the last attempt, 0 if none */
  uint64_t next ;       /* earliest next attempt (QR_TEMP) */
  size_t reason ;       /* offset in qmsg.reasons, NUL-terminated; 0 = none */
} ;

typedef struct qmsg_s qmsg ;
struct qmsg_s {
  char id[QUEUE_IDLEN + 1] ;
  uint64_t arrival ;
  uint32_t hdrlen ;
  uint64_t size ;        /* message bytes (file size - hdrlen) */
  stralloc env ;         /* raw envelope */
  char const *sender ;   /* into env */
  qrcpt *rcpt ;
  uint32_t nrcpt ;
  stralloc reasons ;     /* reason texts; offset 0 holds "" */
} ;
#define QMSG_ZERO { .id = "", .env = STRALLOC_ZERO, .rcpt = 0, .nrcpt = 0, .reasons = STRALLOC_ZERO }

/* A new unique id into id (QUEUE_IDLEN+1 bytes). */
void queue_id_make(char *id) ;
/* ROOT/queue/msg/H/ID etc.; NUL-terminated. 0 on ENOMEM. */
int queue_path_msg(stralloc *sa, char const *id) ;
int queue_path_state(stralloc *sa, char const *id) ;
int queue_path_tmp(stralloc *sa, char const *id) ;
int queue_path(stralloc *sa, char const *rel) ;   /* ROOT/queue/rel */
/* Create ROOT/queue and its subdirectories and FIFO if absent. */
int queue_init_dirs(void) ;

/* Envelope: validate raw bytes in qmail-queue form. Returns 0 if valid,
   else the qmail-queue exit code (11 address too long, 91 format error). */
int queue_env_check(char const *s, size_t len) ;

/* Load message id: header, envelope, state log. Returns 1 ok, 0 if it has
   vanished (ENOENT), -1 on other errors (errno set). fd, if not null, gets
   the open file (O_RDONLY|O_CLOEXEC), else it is closed. */
int queue_load(qmsg *m, char const *id, int *fd) ;
void queue_free(qmsg *m) ;
/* Apply one state line to m (used by queue_load; exposed for tests). */
int queue_state_apply(qmsg *m, char const *line, size_t len) ;
/* Append a state line; fsync if dosync. 1 ok, 0 error. */
int queue_state_append(char const *id, uint32_t idx, char code, uint64_t t, uint64_t next, char const *text, int dosync) ;
/* 1 when no recipient is pending, temporary or failed-unbounced. */
int queue_msg_finished(qmsg const *m) ;
/* Remove a message (its file goes to the pool) and its state log. */
int queue_remove(char const *id) ;
/* Take a file from the pool as path (an absent path), open it O_RDWR,
   not truncated (the writer cuts it). Returns the fd, or -1 if the pool
   had none to give. */
int queue_pool_take(char const *path) ;
/* Wake queue-run: write "ID\n" to the trigger FIFO, nonblocking; never fails. */
void queue_trigger(char const *id) ;
/* Ask queue-run to run the whole queue now (sendmail -q): "!\n" on the
   trigger FIFO makes every deferred recipient due and the queue scanned.
   1 ok, 0 error (errno; ENXIO: no queue-run is reading the FIFO). */
int queue_wake(void) ;
#endif
