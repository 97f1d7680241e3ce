/* SORT and THREAD (RFC 5256) over per-message records, no storage:
   the caller (the server, from its cache) fills one imapsort_msg per
   message in mailbox order (index i is sequence number i+1: ties end
   in that order), then sorts or threads them.

   Base subject (2.1): imapsort_basesubj decodes RFC 2047 words to UTF-8
   (lib/mime's mime_words), folds white space, then strips "(fwd)"
   trailers, "Re:"/"Fw:"/"Fwd:" leaders with [blob]s, leading [blob]s and
   "[Fwd: ...]" wrappers until nothing changes. Comparisons of subjects
   and addr-mailboxes are i;ascii-casemap.

   Sent date (2.2): the Date: header's time in UTC; a message without a
   parsable one has date IMAPSORT_NODATE and its INTERNALDATE is used,
   for SORT and THREAD alike (RFC 5256 2.2).

   THREAD REFERENCES follows section 4 step by step (id_table, loops
   refused, dummies, pruning, subject grouping of roots, siblings by sent
   date); ORDEREDSUBJECT groups by base subject. Nothing recurses: deep
   threads are walked with explicit stacks. */
#ifndef PM_IMAPSORT_H
#define PM_IMAPSORT_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>

#define IMAPSORT_MAXSUBJ 4096      /* subject bytes looked at */
#define IMAPSORT_MAXID   1000      /* msg-id bytes; a longer one is ignored */
#define IMAPSORT_MAXREFS 1000      /* References ids used: the last ones */
#define IMAPSORT_MAXMSGS 16000000  /* messages in one SORT/THREAD */
#define IMAPSORT_NODATE INT64_MIN

typedef struct imapsort_msg_s imapsort_msg ;
struct imapsort_msg_s {
  uint32_t num ;          /* written by the formatter: seq or UID */
  int64_t date ;          /* sent date (UTC seconds) or IMAPSORT_NODATE */
  int64_t arrival ;       /* INTERNALDATE */
  uint64_t size ;         /* RFC822.SIZE */
  char const *from, *to, *cc ;  /* first addr-mailbox, NUL-ended; 0 none */
  char const *subj ;      /* base subject (imapsort_basesubj), 0 = "" */
  int reply ;             /* its reply/forward flag */
  char const *msgid, *refs, *irt ;  /* raw Message-ID, References,
                             In-Reply-To values, NUL-ended; 0 absent */
} ;

/* Append the base subject of the raw Subject value s[0..n) to sa (no NUL).
   *reply: 1 if a Re:/Fwd: leader, (fwd) trailer or [Fwd: ] wrapper was
   removed. 1 ok, 0 out of memory. */
int imapsort_basesubj(stralloc *sa, char const *s, size_t n, int *reply) ;

/* SORT keys: a key, or'ed with IMAPSORT_REVERSE when REVERSE precedes it. */
enum { IMAPSORT_ARRIVAL = 1, IMAPSORT_CC, IMAPSORT_DATE, IMAPSORT_FROM,
       IMAPSORT_SIZE, IMAPSORT_SUBJECT, IMAPSORT_TO } ;
#define IMAPSORT_REVERSE 0x80
#define IMAPSORT_MAXKEYS 16
/* The key named s[0..n) (case-insensitive; "REVERSE" gives
   IMAPSORT_REVERSE alone), or -1. */
int imapsort_key(char const *s, size_t n) ;
/* order[0..n) := the indexes 0..n-1 of m sorted by keys[0..nkeys), the
   index (sequence number) last. 1 ok, 0 out of memory or too many. */
int imapsort_sort(uint32_t *order, imapsort_msg const *m, size_t n,
                  unsigned char const *keys, size_t nkeys) ;

/* Helpers shared by imapsort.c and imapthread.c, usable by callers:
   i;ascii-casemap comparison (0 as ""), the sent date with its fallback,
   a stable merge sort of indexes with a context. */
int imapsort_casecmp(char const *a, char const *b) ;
int64_t imapsort_sentdate(imapsort_msg const *m) ;
int imapsort_msort(uint32_t *v, size_t n, int (*cmp)(void const *, uint32_t, uint32_t), void const *ctx) ;

/* THREAD */
enum { IMAPSORT_ORDEREDSUBJECT = 1, IMAPSORT_REFERENCES } ;
int imapsort_threadalg(char const *s, size_t n) ;   /* or -1 */

#define IMAPSORT_NONE UINT32_MAX
typedef struct imapsort_node_s imapsort_node ;
struct imapsort_node_s {
  uint32_t msg ;                 /* index in m, IMAPSORT_NONE for a dummy */
  uint32_t parent, first, last, next, prev ;  /* IMAPSORT_NONE ends */
} ;
typedef struct imapsort_tree_s imapsort_tree ;
struct imapsort_tree_s {
  imapsort_node *node ;   /* malloc'd; node[root] is the virtual root */
  uint32_t n, cap, root ; /* the threads are root's children, in order */
} ;
#define IMAPSORT_TREE_ZERO { 0, 0, 0, 0 }

/* Thread m[0..n) with alg into t (which it replaces). 1 ok, 0 out of
   memory or too many messages. */
int imapsort_thread(imapsort_tree *t, imapsort_msg const *m, size_t n, int alg) ;
/* Append the threads as IMAP writes them, "(1 2 (3 4)(5))(6)", without
   "* THREAD ". 1 ok, 0 out of memory. */
int imapsort_thread_fmt(stralloc *sa, imapsort_tree const *t, imapsort_msg const *m) ;
void imapsort_tree_free(imapsort_tree *t) ;
#endif
