/* Shared between imapstore's mbox*.c; not for callers. */
#ifndef PM_IMAPSTORE_MBOXPRIV_H
#define PM_IMAPSTORE_MBOXPRIV_H
#include "maildir.h"
#include "imapstore/mbox.h"
#include "imapstore/folders.h"
/* Remove the messages marked gone from the view, reporting them in c. */
int imapbox_remove_gone (imapbox *b, imapbox_changes *c) ;
/* Add b->fresh (scan indices) to the view; see mbox.c. */
int imapbox_add_fresh (imapbox *b, int lockfd, imapbox_changes *c) ;
/* Give UIDs, under dir's uidlist lock, to the files names (NUL-separated,
   n of them) just put into dir/cur: uids[k] gets name k's. */
int imapstore_assign (char const *root, char const *dir, char const *names, size_t n,
                      uint32_t *uidvalidity, uint32_t *uids) ;
/* The index side of a sync (mboxix.c), under the index lock. Read the
   index into b->ix (kept until imapbox_ixdone; an invalid one counts as
   none): 0 on a system error. */
int imapbox_ixread (imapbox *b) ;
/* The same with only its header checked (imapindex_open). */
int imapbox_ixopen (imapbox *b) ;
void imapbox_ixdone (imapbox *b) ;
/* Load the view from the index if it is the folder as it is now (1;
   c->added), 0 if not (scan), -1 on error. Its records are checked
   first, unless b->lazy (then b->unverified). */
int imapbox_ixload (imapbox *b, int stamp, struct timespec const *curt, struct timespec const *newt, imapbox_changes *c) ;
/* The listing of the folder from the index instead of readdir, into
   b->scan, if the index is the folder as it is now (another session
   scanned and merged since our last sync; its MODSEQs then hold, and no
   lock is needed): 1, 0 if not (scan under the lock), -1 on error. */
int imapbox_ixlist (imapbox *b, int stamp, struct timespec const *curt, struct timespec const *newt) ;
/* Merge the view just synced into the index: MODSEQs, the expunge log,
   the file rewritten (when the lock is held). */
int imapbox_ixmerge (imapbox *b, int stamp, struct timespec const *curt, struct timespec const *newt) ;
/* The dates read since the last sync into the index, if it is the view
   (no change since): FETCH INTERNALDATE then reads no file next time. */
void imapbox_ixdates (imapbox *b) ;
/* Drop b's map of an index (its names must no longer be used, nor its
   records: the view is thrown away). */
void imapbox_unmap (imapbox *b) ;
/* The view's records out of the map into memory of its own, before the
   view grows (0 out of memory). */
int imapbox_own (imapbox *b) ;
/* The map's pages not written to back to the page cache. */
void imapbox_release (imapbox *b) ;
/* A fresh file's sizes and date from the index read for this sync (m's
   uid and baselen set): 1 found, 0 not. */
int imapbox_ixknown (imapbox *b, char const *name, imapmsg *m) ;
#endif
