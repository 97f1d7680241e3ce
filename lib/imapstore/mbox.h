/* One IMAP session's view of one Maildir folder (INBOX or a Maildir++
   folder): its messages in UID order with their flags, kept in step with
   what other sessions and programs (maildir-deliver, POP3, Dovecot, a
   shell mv) do to the folder.

   The Maildir holds the truth: a message is a file in cur/ (new/ is
   emptied into cur/ at each sync, as lib/mdlist does), its flags are in
   its name (imapstore/flags.h), its UID in dovecot-uidlist
   (imapstore/uidlist.h), its internal date is the file's mtime and its
   sizes come from ",S=" and ",W=" in the name. Nothing else is stored,
   so several sessions and programs need no coordination but the
   uidlist's lock, taken only to give UIDs to new messages. A sync reads
   the directories only if cur/ or new/ changed since the last one (their
   mtimes, trusted only when older than the coarse clock's current tick,
   so that a later change cannot keep the same mtime); a change by another
   program to the uidlist or keywords file alone is seen at the next
   change to a directory.

   \Recent: a message is recent to the session that gave it its UID (under
   the uidlist lock, so exactly one session), which is the first session
   to see it; messages that got their UIDs elsewhere (Dovecot, a COPY by
   another session) are recent to none. Simple and within RFC 3501.

   The folder's index (imapstore/mboxindex.h, "pipemail.index") caches
   what a sync found and adds MODSEQs (RFC 7162). Every sync that reads
   the directories does so under the index lock, then merges what it
   found into the index: each change (flags or keywords, a new message, a
   vanished one) gets the folder's next MODSEQ, the expunged UIDs go into
   the index's expunge log, and the index is rewritten. Scans and merges
   are so serialized over the sessions, and one change gets one MODSEQ,
   whichever session sees it first. A first sync (SELECT) whose cur/, new/
   and dovecot-uidlist are as the index says loads the index and reads no
   directory and no message; any other finds the changes by a scan. A
   session's view keeps the MODSEQ of each message and HIGHESTMODSEQ as of
   its last sync, and the expunge log (for VANISHED (EARLIER)). A view
   loaded from the index is the index file's private map: its records are
   the view's messages (copied out only when a message is added) and its
   names the view's names (paged in only when a message is opened or
   renamed). What a sync reads (the listing, the uidlist) is freed after
   it: a session costs at most 48 bytes per message, and the pages of the
   records that sessions on one folder only read are shared.

   With b->lazy set (imapd's SELECT), that load checks only the index's
   header, which holds what SELECT tells (imapbox_counts): b->unverified
   is then set, and imapbox_verify must check the rest before any record
   is used (imapd: before the next command; imapbox_sync does it too).

   Use by the server: SELECT/EXAMINE = imapbox_init + imapbox_sync (then
   EXISTS = imapbox_len, RECENT and UNSEEN by imapbox_counts, UIDVALIDITY,
   UIDNEXT, FLAGS with the names of b->kw). Before each tagged reply:
   imapbox_sync(b, expunge_ok, &c) and send "* N EXPUNGE" for
   c.expunged in order, then "* n EXISTS" if c.added, then FETCH (FLAGS)
   for c.flagged (imapbox_seq gives their numbers). IDLE: an inotify
   watch on dir/new and dir/cur, then sync. If b->validity_changed after a
   sync: "* BYE" (the UIDs the client holds are void). STATUS of another
   folder: imapstore_status. Folders: imapstore/folders.h.

   Functions return 1 ok, 0 on a system error (errno), unless told. */
#ifndef PM_IMAPSTORE_MBOX_H
#define PM_IMAPSTORE_MBOX_H
#include <stdint.h>
#include <stddef.h>
#include <time.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include "mdlist.h"
#include "imapstore/uidlist.h"
#include "imapstore/flags.h"

/* 48 bytes (checked in mbox.c): a session on a folder of 100,000 keeps
   100,000 of them */
typedef struct imapmsg_s imapmsg ;
struct imapmsg_s {
  uint64_t size, vsize ;   /* file size, size with CRLF line ends */
  uint64_t modseq ;        /* RFC 7162 MODSEQ */
  int64_t date ;           /* internal date; 0: not read yet */
  uint32_t uid ;
  uint32_t kw ;            /* keyword bits: kwlist of the box */
  uint32_t name ;          /* the file in cur/: offset in the box's names,
                              or in its map if IMAPBOX_INMAP is set */
  uint16_t baselen ;       /* unique part of the name */
  uint8_t flags ;          /* IMAPF_* */
  unsigned char recent : 1 ;
  unsigned char gone : 1 ; /* file vanished, not yet reported (see sync) */
} ;

typedef struct imapbox_s imapbox ;
struct imapbox_s {
  stralloc root ;          /* the Maildir */
  stralloc dir ;           /* this folder's Maildir */
  uidlist u ;
  kwlist kw ;
  genalloc msgs ;          /* imapmsg, by UID ascending: index = seq - 1 */
  stralloc names ;
  int loaded ;
  int validity_changed ;   /* the uidlist was lost: UIDs renumbered */
  uint32_t uidvalidity ;   /* the view's */
  int stamped ;            /* cur/ and new/ unchanged since curt, newt: */
  struct timespec curt, newt ;   /* their mtimes at the last full sync */
  uint64_t hms ;           /* HIGHESTMODSEQ as of the last sync */
  uint64_t logfloor ;      /* log: every expunge after logfloor, */
  genalloc log ;           /* imapbox_gone, by MODSEQ ascending */
  int lockfd ;             /* the index lock, when held */
  unsigned int locks ;     /* imapbox_lock depth */
  void *ix ;               /* the index file, read during a sync */
  int datesnew ;           /* dates read since: for the index */
  char *map ;              /* the index file the view was loaded from, */
  size_t maplen ;          /* mapped: the names not changed since, */
  int recmap ;             /* and msgs, until a message is added */
  size_t namesoff ;        /* where its names start */
  int lazy ;               /* load the view with only the header checked, */
  int unverified ;         /* as it was: imapbox_verify before a record is used */
  uint32_t hkwall, hunseen ;   /* the header's keywords in use, first unseen */
  /* scratch */
  mdlist scan, scan2 ;
  stralloc tmp, tmp2, host ;
  genalloc idx, where, fresh ;
} ;
#define IMAPBOX_ZERO { .root = STRALLOC_ZERO, .dir = STRALLOC_ZERO, .u = UIDLIST_ZERO, .kw = KWLIST_ZERO, \
  .msgs = GENALLOC_ZERO, .names = STRALLOC_ZERO, .loaded = 0, .validity_changed = 0, .uidvalidity = 0, .scan = MDLIST_ZERO, \
  .scan2 = MDLIST_ZERO, .tmp = STRALLOC_ZERO, .tmp2 = STRALLOC_ZERO, .host = STRALLOC_ZERO, \
  .idx = GENALLOC_ZERO, .where = GENALLOC_ZERO, .fresh = GENALLOC_ZERO, .hms = 0, .logfloor = 0, .log = GENALLOC_ZERO, \
  .lockfd = -1, .locks = 0, .ix = 0, .datesnew = 0, .map = 0, .maplen = 0, .recmap = 0, .namesoff = 0, \
  .lazy = 0, .unverified = 0, .hkwall = 0, .hunseen = 0 }

#define imapbox_len(b) genalloc_len(imapmsg, &(b)->msgs)
#define imapbox_msg(b, i) (genalloc_s(imapmsg, &(b)->msgs) + (i))
#define IMAPBOX_INMAP 0x80000000u
#define imapbox_mname(b, m) (((m)->name & IMAPBOX_INMAP) ? (b)->map + ((m)->name & ~IMAPBOX_INMAP) : (b)->names.s + (m)->name)
#define imapbox_name(b, i) imapbox_mname(b, imapbox_msg(b, i))
#define imapbox_uidvalidity(b) ((b)->uidvalidity)
#define imapbox_uidnext(b) ((b)->u.uidnext)
#define imapbox_highestmodseq(b) ((b)->hms)

/* An expunged UID and its MODSEQ (the view's log). */
typedef struct imapbox_gone_s imapbox_gone ;
struct imapbox_gone_s { uint64_t modseq ; uint32_t uid ; } ;

/* What changed in a sync, for the server to report, in this order. */
typedef struct imapbox_changes_s imapbox_changes ;
struct imapbox_changes_s {
  genalloc expunged ;      /* uint32_t: "* N EXPUNGE" in this order (each
                              number right at its time: descending) */
  genalloc vanished ;      /* uint32_t: the same messages' UIDs */
  genalloc flagged ;       /* uint32_t: UIDs whose flags another changed */
  uint32_t added ;         /* new messages, at the end of the view */
  int rebuilt ;            /* a damaged index found by imapbox_verify: the
                              view rebuilt, every MODSEQ new (announce
                              HIGHESTMODSEQ) */
} ;
#define IMAPBOX_CHANGES_ZERO { .expunged = GENALLOC_ZERO, .vanished = GENALLOC_ZERO, .flagged = GENALLOC_ZERO, .added = 0, \
  .rebuilt = 0 }
void imapbox_changes_free (imapbox_changes *c) ;

/* The folder's Maildir: root for INBOX (any case), else root/.NAME.
   0 with EINVAL for an invalid name (imapstore_name_valid). */
int imapstore_folder_dir (stralloc *sa, char const *root, char const *name) ;

/* Set b up for a folder (nothing read yet: imapbox_sync loads it). */
int imapbox_init (imapbox *b, char const *root, char const *folder) ;
/* Bring the view in step with the folder: new files get UIDs (in
   delivery order), flag changes and vanished files are found. With
   expunge_ok 0 (RFC 3501 7.4.1: during FETCH, STORE, SEARCH), vanished
   messages stay in the view marked gone and are reported by a later
   sync with expunge_ok 1. The first sync (the load) reports only
   added. If the uidlist was lost (absent with messages in a folder we
   had loaded, or corrupt), b->validity_changed is set: the server ends
   the session (BYE) as it cannot report new UIDs for old messages. */
int imapbox_sync (imapbox *b, int expunge_ok, imapbox_changes *c) ;
/* Check the records of a view loaded lazily (see above). If the index
   turns out damaged, the view is rebuilt by a scan and c->rebuilt set
   (with b->validity_changed set if it then differs from what SELECT
   told: other messages or another UIDVALIDITY). 0 on a system error. */
int imapbox_verify (imapbox *b, imapbox_changes *c) ;
/* SELECT's figures: messages with recent set, the first unseen (1-based,
   0 none); from the index's header if the view is unverified. */
void imapbox_counts (imapbox const *b, uint32_t *recent, uint32_t *unseen) ;
/* Hold the folder's index lock across several calls (STORE
   UNCHANGEDSINCE: its test and its change at once); nested calls count.
   Never hold it while waiting for the client. 0 on error (errno). */
int imapbox_lock (imapbox *b) ;
void imapbox_unlock (imapbox *b) ;
/* The UIDs expunged after modseq, from the view's log, into uids
   (uint32_t, ascending). 1 exact; 0 if the log does not go back that far
   (then the caller takes every UID it may know of that is not in the
   view), -1 out of memory. */
int imapbox_vanished (imapbox const *b, uint64_t modseq, genalloc *uids) ;
/* Sequence number (1-based) of a UID, 0 if not in the view. */
uint32_t imapbox_seq (imapbox const *b, uint32_t uid) ;

#define IMAPBOX_SET 0
#define IMAPBOX_ADD 1
#define IMAPBOX_DEL 2
/* Change message i's flags and keyword bits (op as above) by renaming its
   file; if another session or program renamed it first, it is found again
   by its unique name and the change applied to its flags as they are now.
   0 with ENOENT if the message is gone (then marked gone), EBUSY if
   others kept renaming it for 2 s. The change
   gets its MODSEQ at the next sync (under the same lock if held). */
int imapbox_store (imapbox *b, size_t i, int op, uint32_t flags, uint32_t kw) ;
/* Remove the messages marked \Deleted (of the UIDs in uids, sorted, if
   uids is not 0); c gets their sequence numbers as for sync. */
int imapbox_expunge (imapbox *b, uint32_t const *uids, size_t n, imapbox_changes *c) ;
/* Open message i read-only (found again if renamed). fd or -1. */
int imapbox_open (imapbox *b, size_t i) ;
/* Internal date: the file's mtime (the delivery time for maildir-deliver
   and APPEND's date for an appended one), kept in the view and the index
   once read. -1 on error. */
time_t imapbox_date (imapbox *b, size_t i) ;

/* APPEND: read a message from fd (to EOF, at most maxbytes) into the
   folder's cur/ with these flags and keywords (names; new ones are added
   to the folder's dovecot-keywords) and mtime date (0: now). Quota of
   root's maildirsize checked (EDQUOT) and counted. *uidvalidity and *uid
   for APPENDUID. 0 with EFBIG past maxbytes, ENOENT if no such folder. */
int imapstore_append (char const *root, char const *folder, int fd, uint64_t maxbytes,
                      uint32_t flags, char const *const *kw, size_t nkw, time_t date,
                      uint32_t *uidvalidity, uint32_t *uid) ;
/* COPY (move 0) or MOVE (move 1) the messages of indices idx[0..n) into
   folder (hard links where possible, else copies; same flags, keywords by
   name, dates). uids[k] gets idx[k]'s new UID, for COPYUID. MOVE then
   removes them here and c gets them as for sync. */
int imapbox_copy (imapbox *b, size_t const *idx, size_t n, char const *folder, int move,
                  uint32_t *uidvalidity, uint32_t *uids, imapbox_changes *c) ;
void imapbox_free (imapbox *b) ;

/* STATUS of a folder that is not selected, without taking anything from
   the session that selects it next: files not yet numbered count as
   recent (they will be to that session) and UIDNEXT counts them as
   numbered (RFC 3501: it must grow when mail arrives). Only a folder
   with no uidlist yet is numbered here (its UIDVALIDITY must stay). */
typedef struct imapstatus_s imapstatus ;
struct imapstatus_s {
  uint32_t messages, recent, unseen, uidnext, uidvalidity ;
  uint32_t deleted ;   /* RFC 9051 6.3.11: flagged Deleted */
  uint64_t size ;      /* RFC 8438 STATUS=SIZE, and QUOTA's usage */
} ;
int imapstore_status (char const *root, char const *folder, imapstatus *st) ;
/* The folder's HIGHESTMODSEQ: the index's if it is up to date, else
   after a sync (which brings it up to date). 0 on error. */
uint64_t imapstore_highestmodseq (char const *root, char const *folder) ;
#endif
