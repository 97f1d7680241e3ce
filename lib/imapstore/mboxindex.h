/* A folder's index: the file "pipemail.index" in the folder's Maildir,
   next to dovecot-uidlist. It is a cache of what a full sync of the
   folder found (imapstore/mbox.h) plus what the Maildir cannot hold: the
   MODSEQ of each message, the folder's HIGHESTMODSEQ and a bounded log of
   the UIDs expunged with their MODSEQ (RFC 7162 VANISHED).

   Binary, host byte order (a file of another byte order or version is
   not ours: rebuilt), in one piece:
     header (IMAPINDEX_HEAD bytes, its own checksum)
     nrec records, by UID ascending: each the view's imapmsg (mbox.h)
       as a session keeps it, its name field the offset of its name in
       the file (IMAPBOX_INMAP set), recent and gone clear
     nlog expunge entries (modseq uid), by MODSEQ ascending
     the records' file names, each NUL-terminated, in record order
   and a checksum of all after the header in the header. The records
   being the view's own, a session maps the file (private, writable: its
   changes stay its own) and its view is the map: a SELECT copies no
   record and touches none, and sessions on one folder share the pages
   they only read. It is written to
   "pipemail.index.tmp" and renamed over, under the folder's index lock
   ("pipemail.index.lock", flock), without fsync: a crash may leave it
   torn or empty, which the checksums and sizes detect, and it is then
   rebuilt from the Maildir and dovecot-uidlist, which hold the truth.
   What a rebuild cannot give back is the MODSEQs: a rebuilt index starts
   its HIGHESTMODSEQ at the clock in microseconds (imapindex_clock), above
   every MODSEQ handed out before as long as the folder had fewer changes
   than one per microsecond of its life, and the expunge log then starts
   empty with its floor there (a client that knew an older MODSEQ gets
   every UID it may know of that is gone, which RFC 7162 allows).

   What SELECT tells of a folder is in the header (counts, the first
   unseen message, the keywords in use), so that a SELECT reads only the
   header: imapindex_open. The rest is checked (imapindex_verify) before
   the session's first use of a record, that is before its next command.

   The header records the mtimes of cur/ and new/ (when they could be
   trusted: see mbox.h) and dovecot-uidlist's size, mtime and inode at the
   time of the scan it reflects: when they are still the same, the
   index is the folder, and a SELECT loads it without reading the
   directories or any message. */
#ifndef PM_IMAPSTORE_MBOXINDEX_H
#define PM_IMAPSTORE_MBOXINDEX_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define IMAPINDEX_FILE "pipemail.index"
#define IMAPINDEX_HEAD 192
#define IMAPINDEX_REC 48               /* sizeof (imapmsg), checked */
#define IMAPINDEX_LOG 16
#define IMAPINDEX_LOG_MAX 16384        /* expunge log entries kept */
#define IMAPINDEX_LOCK_MS 10000       /* the longest wait for the lock */
#define IMAPINDEX_NAME_MAX 1024        /* bytes in a file name */
#define IMAPINDEX_MODSEQ_MAX (((uint64_t)1 << 62))   /* RFC 7162: < 2^63 */

typedef struct imapindex_head_s imapindex_head ;
struct imapindex_head_s {
  uint32_t nrec, nlog, uidvalidity, uidnext ;
  uint32_t stamped ;                  /* 1: curt, newt were trusted */
  uint64_t hms ;                      /* HIGHESTMODSEQ */
  uint64_t logfloor ;                 /* every expunge above it is logged */
  struct timespec curt, newt ;
  uint64_t ulsize, ulino ;            /* dovecot-uidlist's */
  int64_t ulmtime ;                   /* in ns */
  uint64_t nameslen ;
  uint32_t kwall ;                    /* the records' keyword bits, or'ed */
  uint32_t unseen ;                   /* the first record without \Seen, 1-based; 0 none */
} ;

typedef struct imapindex_rec_s imapindex_rec ;
struct imapindex_rec_s {
  uint32_t uid, flags, kw ;
  unsigned int namelen, baselen ;
  uint64_t size, vsize, modseq ;
  int64_t date ;                      /* 0: not known yet */
  char const *name ;                  /* in the file's buffer */
} ;

typedef struct imapindex_s imapindex ;
struct imapindex_s {
  imapindex_head h ;
  char *buf ;                         /* the whole file: */
  size_t len ;
  int mapped ;                        /* mapped (private, writable), else malloc'd */
  int verified ;                      /* every record, log entry and name checked */
} ;
#define IMAPINDEX_ZERO { .buf = 0, .len = 0, .mapped = 0, .verified = 0 }

/* Check and take a file's contents (buf, len; malloc'd, owned by x after
   the call either way). 1 valid, 0 not (x emptied). */
int imapindex_parse (imapindex *x, char *buf, size_t len) ;
/* A whole file's contents checked, its header into h: 1 valid, 0 not. */
int imapindex_check (char const *buf, size_t len, imapindex_head *h) ;
/* Put the right checksums into a file's contents (len bytes): for the
   fuzzer, which so gets past them to the checks of the contents. */
void imapindex_seal (char *buf, size_t len) ;
/* Read dir's index (mapped read-only: what a reader keeps of it, the
   names, stays in the page cache until used). 1 valid, 0 absent or
   invalid (x emptied), -1 system error (errno). */
int imapindex_read (imapindex *x, char const *dir) ;
/* The same, with only the header and the file's size checked (the rest
   by imapindex_verify before a record is used). */
int imapindex_open (imapindex *x, char const *dir) ;
/* Check the rest of a file opened so: 1 valid, 0 not (x emptied). */
int imapindex_verify (imapindex *x) ;
/* Only the header, checked (its checksum, the file's size): 1, 0, -1. */
int imapindex_readhead (imapindex_head *h, char const *dir) ;
/* Record i. */
void imapindex_get (imapindex const *x, size_t i, imapindex_rec *r) ;
/* The record of a UID, or (size_t)-1. */
size_t imapindex_find (imapindex const *x, uint32_t uid) ;
/* Expunge log entry i. */
void imapindex_logent (imapindex const *x, size_t i, uint64_t *modseq, uint32_t *uid) ;
void imapindex_free (imapindex *x) ;

/* Writing: h (nrec, nlog, nameslen as given), then the records, log
   entries and names by the callbacks (i-th each). tmp+rename, no fsync. */
typedef struct imapindex_src_s imapindex_src ;
struct imapindex_src_s {
  void *ctx ;
  void (*rec)(void *ctx, size_t i, imapindex_rec *r) ;   /* name included */
  void (*log)(void *ctx, size_t i, uint64_t *modseq, uint32_t *uid) ;
} ;
int imapindex_write (char const *dir, imapindex_head const *h, imapindex_src const *src) ;

/* The folder's index lock (flock on dir/pipemail.index.lock): fd, or -1
   (EWOULDBLOCK: held for too long). */
int imapindex_lock (char const *dir) ;
void imapindex_unlock (int fd) ;
/* The clock in microseconds: where a rebuilt index starts its MODSEQs. */
uint64_t imapindex_clock (void) ;
#endif
