/* A per-folder cache of what IMAP clients ask first: a message's
   ENVELOPE, BODYSTRUCTURE, BODY and a block of its header fields
   (imapcachehdr.h), in the file IMAPCACHE_FILE of the folder's Maildir.

   It is a cache: the Maildir holds the truth and deleting the file loses
   nothing. An entry is keyed by the folder's UIDVALIDITY (one per file)
   and the UID, and holds the message file's unique name (the part before
   ':') and size: an entry whose name or size differ from the message's
   is stale and never used. Each entry carries a checksum: a torn, garbage
   or foreign entry is skipped, a file with a bad header is made anew.
   Nothing is fsynced: a crash loses entries, never correctness.

   The file: a header (magic, UIDVALIDITY, where the directory is,
   checksum), the entries, a directory (UID, offset, length per entry,
   sorted by UID, checksummed) and a key section (each entry's KEYS
   part with the entry's offset and the identity of its name and size,
   checksummed) written by the last compaction, then the entries
   appended since (O_APPEND, by any session). Loading reads the
   header, the directory (12 bytes an entry) and scans only the entries
   appended after it; a session keeps just that directory in memory and
   reads entries through one window (IMAPCACHE_WINDOW bytes), so a
   session costs 12 bytes a message plus the window. SORT and SEARCH
   read the key section (imapcache_keys: a few dozen bytes a message,
   held for one command) instead of every entry. Compaction (tmp file
   and rename) keeps the entries the caller says are live, sorted by UID,
   and writes the directory; an appender that still holds the old file
   writes into the renamed-over inode: lost, harmless.

   Bounds: an entry IMAPCACHE_ENTRYMAX bytes (a part that does not fit is
   left out and comes from the file), the file IMAPCACHE_FILEMAX (no
   appends beyond it until compacted). Every error leaves the cache unused
   (state -1): the caller then reads the messages. */
#ifndef PM_IMAPCACHE_H
#define PM_IMAPCACHE_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>

#define IMAPCACHE_FILE "pipemail.cache"
#define IMAPCACHE_ENTRYMAX (64u << 10)
#define IMAPCACHE_FILEMAX (1u << 30)
#define IMAPCACHE_WINDOW (256u << 10)
#define IMAPCACHE_NAMEMAX 255
#define IMAPCACHE_BATCH (64u << 10)   /* entries put are written by this much */

/* the parts of an entry; KEYS is the caller's compact form of what
   SORT and SEARCH read most (imap-mailbox: sent date, decoded subject) */
enum { IMAPCACHE_ENV, IMAPCACHE_BS, IMAPCACHE_BODY, IMAPCACHE_HDR, IMAPCACHE_KEYS, IMAPCACHE_N } ;

typedef struct imapcache_entry_s imapcache_entry ;
struct imapcache_entry_s {
  char const *s[IMAPCACHE_N] ;   /* 0: not cached */
  uint32_t len[IMAPCACHE_N] ;
} ;

typedef struct imapcache_ref_s imapcache_ref ;
struct imapcache_ref_s { uint32_t uid, off, len ; } ;

typedef struct imapcache_s imapcache ;
struct imapcache_s {
  int state ;              /* 0 not opened, 1 open, -1 unusable */
  int fd ;
  uint32_t uidvalidity ;
  stralloc dir ;           /* the folder's Maildir, NUL-terminated */
  imapcache_ref *ref ;     /* by UID ascending, one per UID */
  uint32_t n, cap ;
  uint64_t end ;           /* file bytes known (scanned or appended) */
  uint64_t tail ;          /* where the entries after the directory start */
  uint64_t live, dead ;    /* bytes of referenced and superseded entries */
  stralloc win ;           /* the read window: file bytes at winoff */
  uint64_t winoff ;
  stralloc rec ;           /* entries put, not yet written (IMAPCACHE_BATCH) */
  imapcache_ref *pend ;    /* theirs, off relative to rec */
  uint32_t np, pcap ;
  uint64_t keyoff, keylen, keysum ;  /* the key section (0 long: none) */
  int keystate ;           /* 0 not loaded, 1 loaded, -1 unusable */
  char *keys ;             /* the loaded key section */
  uint32_t *kx ;           /* where each of its records starts */
  uint32_t nk ;
  uint32_t khint, rhint ;  /* the last found: UIDs come in order */
} ;
#define IMAPCACHE_ZERO { .state = 0, .fd = -1, .dir = STRALLOC_ZERO, .ref = 0, .n = 0, .cap = 0, .win = STRALLOC_ZERO, .rec = STRALLOC_ZERO, .pend = 0, .np = 0, .pcap = 0, .keylen = 0, .keystate = 0, .keys = 0, .kx = 0, .nk = 0 }

/* Open (creating it if need be) and load the cache of the folder dir for
   uidvalidity. 1 open, 0 unusable (errno; c->state -1, c->dir set). */
int imapcache_open (imapcache *c, char const *dir, uint32_t uidvalidity) ;
/* Whether c is open, or was tried, for dir and uidvalidity. */
int imapcache_for (imapcache const *c, char const *dir, uint32_t uidvalidity) ;
/* The entry of uid if it is there, whole, and for this name[0..namelen)
   and size: 1 and *e (pointing into c: valid until the next call on
   c), else 0. */
int imapcache_get (imapcache *c, uint32_t uid, char const *name, size_t namelen, uint64_t size, imapcache_entry *e) ;
/* Append an entry (parts with s 0 are left out, as are those that do
   not fit in IMAPCACHE_ENTRYMAX): held in c (imapcache_get sees it)
   and written with others in one write once IMAPCACHE_BATCH bytes
   wait, or at imapcache_flush. 1 done, 0 not (full, I/O error). */
int imapcache_put (imapcache *c, uint32_t uid, char const *name, size_t namelen, uint64_t size, imapcache_entry const *e) ;
/* Write the entries put and not yet written (one write, O_APPEND: the
   entries of sessions appending at once do not mix). 1 done, 0 not
   (they are lost: harmless). imapcache_free and _compact flush. */
int imapcache_flush (imapcache *c) ;
/* Whether compaction would pay: many entries since the last directory,
   or as many dead bytes as live ones. */
int imapcache_wants_compact (imapcache const *c) ;
/* Rewrite the file with the entries for which live(ctx, uid, name,
   namelen, size) is true. 1 done, 0 not (the cache stays usable if it
   was). */
int imapcache_compact (imapcache *c, int (*live)(void *, uint32_t, char const *, size_t, uint64_t), void *ctx) ;
void imapcache_free (imapcache *c) ;
/* The KEYS part of uid's entry if it is there and for this name and
   size: from the key section (loaded whole at the first call, checked),
   else from the entry. 1 and *s, *len (valid until the next call on c),
   else 0. */
int imapcache_keys (imapcache *c, uint32_t uid, char const *name, size_t namelen, uint64_t size, char const **s, uint32_t *len) ;
/* Free the loaded key section (after a command). */
void imapcache_keys_drop (imapcache *c) ;

/* The file's format, for the fuzzer and the unit test: parse the entry
   at s[0..n) (a whole record): its length, and its uid/name/size/parts,
   or 0 if it is not a valid one. */
size_t imapcache_parse (char const *s, size_t n, uint32_t *uid, char const **name, size_t *namelen, uint64_t *size, imapcache_entry *e) ;
#endif
