/* A folder's UIDs: Dovecot's "dovecot-uidlist" file in the folder
   (https://doc.dovecot.org/admin_manual/mailbox_formats/maildir/), so
   that a folder Dovecot served keeps its UIDs and UIDVALIDITY, and
   Dovecot can read ours:

     3 V<uidvalidity> N<nextuid> G<128-bit guid in hex>[ other fields]
     <uid>[ <ext fields>] :<file name up to its ':'>

   Versions 1 and 2 ("1 <uidvalidity> <nextuid>", lines "<uid> <name>",
   Courier's courierimapuiddb) are read too. Dovecot appends lines without
   rewriting the header, so the next UID is max(N, last UID + 1). A line's
   extension fields and the header's other fields are kept as read.

   Corrupt (a line not of that form, UIDs not increasing, a last line
   without its newline: a torn write) counts as lost: the caller starts a
   new list with a greater UIDVALIDITY (uidlist_validity), so no UID is
   ever reused under one UIDVALIDITY.

   Writing: under Dovecot's lock "dovecot-uidlist.lock" (O_EXCL; stale
   after 30 s), the new contents go into the lock file, fsynced, renamed
   over dovecot-uidlist, and the folder fsynced, all before the caller
   hands out a UID from it. So after a crash the file on disk is the last
   one written, whose N is past every UID given out: no UID is reused.
   (The Maildir holds the truth about messages; this file only about
   UIDs, which nothing else can give back.) */
#ifndef PM_IMAPSTORE_UIDLIST_H
#define PM_IMAPSTORE_UIDLIST_H
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#define UIDLIST_FILE "dovecot-uidlist"
#define UIDLIST_LINE_MAX 2048         /* bytes in a line */
#define UIDLIST_LOCK_TRIES 100        /* 100 ms apart: wait at most 10 s */

typedef struct uident_s uident ;
struct uident_s {
  uint32_t uid ;
  size_t rest ;         /* offset in text: "[ext ]:name", NUL-terminated */
  size_t base ;         /* offset in text of the unique name */
  unsigned int baselen ;
} ;

typedef struct uidlist_s uidlist ;
struct uidlist_s {
  uint32_t uidvalidity ;
  uint32_t uidnext ;
  stralloc head ;        /* header fields other than version, V and N */
  stralloc text ;
  genalloc ents ;        /* uident, UIDs ascending */
  genalloc byname ;      /* size_t indices of ents, by unique name */
  int sorted ;           /* byname is up to date */
  dev_t dev ; ino_t ino ; off_t size ; int64_t mtime_ns ;  /* of the file read */
} ;
#define UIDLIST_ZERO { .head = STRALLOC_ZERO, .text = STRALLOC_ZERO, .ents = GENALLOC_ZERO, .byname = GENALLOC_ZERO }

#define uidlist_len(u) genalloc_len(uident, &(u)->ents)

/* Read dir/dovecot-uidlist into u. 1 read; 2 unchanged since the last
   read (same file, size and mtime: u kept); -1 absent or corrupt (u is
   emptied, uidvalidity keeps the corrupt file's if it had one, else 0);
   0 system error (errno). */
int uidlist_read (uidlist *u, char const *dir) ;
/* The UID of the message with this unique name, 0 if none. */
uint32_t uidlist_find (uidlist *u, char const *base, size_t len) ;
/* Add a line for name (the message's file name; its part before ':' is
   written) with the next UID, which *uid gets. 0 on ENOMEM or when the
   UIDs are used up (ERANGE). */
int uidlist_add (uidlist *u, char const *name, uint32_t *uid) ;
/* Keep only the lines whose keep(uid, arg) is true. */
void uidlist_filter (uidlist *u, int (*keep)(uint32_t, void *), void *arg) ;
/* Take the folder's lock (fd, or -1: errno, EAGAIN if still taken).
   _try: one attempt, no wait. */
int uidlist_lock (char const *dir) ;
int uidlist_lock_try (char const *dir) ;
/* Write u through the lock fd (see above); the lock is gone after. */
int uidlist_commit (uidlist *u, char const *dir, int lockfd) ;
/* Drop the lock without writing. */
void uidlist_unlock (char const *dir, int lockfd) ;
/* A new UIDVALIDITY: the time, but greater than old and than the last one
   made in this Maildir (root's "dovecot-uidvalidity", hex, as Dovecot
   keeps it), which is updated. 0 on error. */
uint32_t uidlist_validity (char const *root, uint32_t old) ;
/* Empty u for a new list with this UIDVALIDITY (UIDs from 1). */
int uidlist_reset (uidlist *u, uint32_t uidvalidity) ;
void uidlist_free (uidlist *u) ;
#endif
