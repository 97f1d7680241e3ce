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
#endif
