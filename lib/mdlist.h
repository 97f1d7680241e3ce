/* The messages of one Maildir folder (new/ and cur/), as the mail readers
   (pop3-mailbox, imap-serve) see them.

   A message is known by its unique name: the file name up to the first
   ',' or ':' ("TIME.MusecPpidQn.HOST" of "TIME.MusecPpidQn.HOST,S=1,W=2:2,S"),
   which stays the same when a reader moves it from new/ to cur/ or changes
   its flags, so that UIDs derived from it are stable across sessions and
   protocols. Sizes come from ",S=" (file) and ",W=" (CRLF line ends, see
   lib/msgcrlf) in the name where they are (maildir-deliver and Dovecot write
   them), else from the file itself. Functions return 1 ok, 0 on a system
   error (errno), unless told otherwise. The folder is named relative to the
   current directory or absolutely. */
#ifndef PM_MDLIST_H
#define PM_MDLIST_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#define MDLIST_MAX 1000000        /* messages listed at most */

typedef struct mdmsg_s mdmsg ;
struct mdmsg_s {
  size_t name ;                  /* offset of the file name (in cur/) in names */
  uint64_t size ;                /* file size */
  uint64_t vsize ;               /* size with CRLF line ends */
  uint64_t time ;                /* the name's leading number: delivery time */
  uint32_t usec ;                /* and its ".M" microseconds, 0 if none */
  unsigned int baselen ;         /* length of the unique part of the name */
} ;

typedef struct mdlist_s mdlist ;
struct mdlist_s {
  stralloc names ;               /* NUL-terminated names */
  genalloc msgs ;                /* mdmsg, oldest first */
  stralloc path ;                /* scratch */
  int lazy ;                     /* sizes not in a name: left 0, not read */
} ;
#define MDLIST_ZERO { .names = STRALLOC_ZERO, .msgs = GENALLOC_ZERO, .path = STRALLOC_ZERO, .lazy = 0 }

#define mdlist_len(l) genalloc_len(mdmsg, &(l)->msgs)
#define mdlist_msg(l, i) (genalloc_s(mdmsg, &(l)->msgs) + (i))
#define mdlist_name(l, i) ((l)->names.s + mdlist_msg(l, i)->name)

/* The length of the unique part of a message's file name. */
size_t mdlist_base (char const *name) ;
/* The number after ",X=" in the name (before its ':'). 1 found, 0 not. */
int mdlist_field (char const *name, char x, uint64_t *v) ;

/* List dir's messages: every file in dir/new is first moved to dir/cur
   (its name + ":2,", as the Maildir specification says a reader does),
   then dir/cur is read. Sorted by delivery time (the leading number and
   the ".M" microseconds, then the name); a unique name seen twice is listed once. Names starting with
   '.' are skipped. Sizes missing from a name are read from the file (a
   message that vanishes meanwhile is left out). 0 with E2BIG past
   MDLIST_MAX messages. */
int mdlist_scan (mdlist *l, char const *dir) ;

/* The list of a listing known otherwise (imapstore's index): names
   pushed (with their sizes), then ordered and deduplicated as
   mdlist_scan's. 0 on error (E2BIG as above). */
int mdlist_push (mdlist *l, char const *name, uint64_t size, uint64_t vsize) ;
void mdlist_order (mdlist *l) ;

/* A message file's sizes (size, size with CRLF line ends), read from
   the file at path. 1 ok, 0 error (ENOENT: gone). For lazy lists, whose
   callers (imapstore) read them once per message, not at every scan. */
int mdlist_sizes (char const *path, uint64_t *size, uint64_t *vsize) ;

/* Open message i read-only. If its file is no longer under its name
   (another reader changed its flags), it is looked for by its unique name
   in dir/cur and dir/new, and the entry takes the name found. The file
   must still have the listed size. Returns the fd, or -1: ENOENT if the
   message is gone, ESTALE if it changed, or another errno. */
int mdlist_open (mdlist *l, char const *dir, size_t i) ;

/* Remove message i (unlink; found again by its unique name as above).
   1 removed or already gone, 0 error. */
int mdlist_remove (mdlist *l, char const *dir, size_t i) ;

void mdlist_free (mdlist *l) ;
#endif
