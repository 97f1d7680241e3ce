/* imap-mailbox's work (see cmd/imap-mailbox.8): the authenticated and
   selected states of IMAP4rev1 (RFC 3501), and of IMAP4rev2 (RFC 9051)
   for a session that ENABLEs it (rev2), on one Maildir++ mailbox, after
   login (lib/imap: the protocol; lib/imapstore: the folders; lib/mime:
   the messages). One module per command group:
     imapdmain.c    startup, the command loop, untagged updates, the
                    commands of any state (CAPABILITY, NOOP, ID, ...)
     imapdfolder.c  SELECT/EXAMINE/CLOSE/UNSELECT, CREATE/DELETE/RENAME,
                    (UN)SUBSCRIBE, LIST/LSUB, STATUS, NAMESPACE
     imapdappend.c  APPEND (the message streamed into the store)
     imapdfetch.c   FETCH
     imapdbinary.c  FETCH BINARY (RFC 3516, lib/mime/mimebin.h)
     imapdsearch.c  SEARCH (the evaluator's view over the store and mime)
     imapdsort.c    SORT, THREAD (RFC 5256, lib/imap/imapsort.h)
     imapdcache.c   the message cache of the selected folder (lib/imapcache)
     imapdmsg.c     STORE, EXPUNGE, COPY, MOVE
     imapdidle.c    IDLE (inotify on new/ and cur/)
     imapdcond.c    CONDSTORE and QRESYNC (RFC 7162): ENABLE, MODSEQ,
                    VANISHED, SELECT (QRESYNC ...)
     imapdquota.c   GETQUOTAROOT, GETQUOTA, SETQUOTA (maildirsize)
     imapdcompress.c COMPRESS DEFLATE (lib/deflateio) */
#ifndef PM_IMAPD_H
#define PM_IMAPD_H
#include <setjmp.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "lineio.h"
#include "imap/imapread.h"
#include "imap/imapcmd.h"
#include "imap/imapseq.h"
#include "imapstore/mbox.h"
#include "imapcache/imapcache.h"
#include "mime/mime.h"
#include "mime/mimesect.h"
#include "imap/imapfetch.h"
#include "imap/imapsearch.h"

#define IMAPD_BADMAX 20            /* BADs before the session ends */
#define IMAPD_TIMEOUT 1800         /* idle autologout (RFC 3501 5.4) */
#define IMAPD_IDLE_MAX 1740        /* an IDLE is ended before 29 minutes */
#define IMAPD_IDLE_POLL 30         /* IDLE's check without inotify (Dovecot's too) */
#define IMAPD_APPENDMAX (64u << 20)   /* APPENDLIMIT */
#define IMAPD_INPUT_MAX 8192       /* $IMAP_INPUT */

typedef struct imapd_s imapd ;
struct imapd_s {
  lineio io ;
  imapread rd ;
  imapcmd c ;
  char const *root ;         /* the Maildir */
  char const *user, *ip ;
  imapbox box ;
  int selected, readonly ;
  int condstore, qresync ;   /* RFC 7162, enabled in this session */
  int rev2 ;                 /* IMAP4rev2 (RFC 9051), enabled in this session */
  stralloc folder ;          /* the selected one's name, NUL-terminated */
  unsigned int bads ;
  unsigned long nfetch, nstore, nappend ;
  /* APPEND in progress (imapdappend.c) */
  int appfd ;
  uint64_t appsize ;
  stralloc sa, sb ;          /* scratch */
  stralloc set ;             /* the messages (size_t indices) of a command */
  imapseq saved ;            /* SEARCHRES "$" (RFC 5182): UIDs, sorted; emptied by (UN)SELECT/CLOSE */
  imapcache cache ;          /* the selected folder's (imapdcache.c) */
  struct deflateio_s *zio ;  /* COMPRESS DEFLATE is on (imapdcompress.c) */
  jmp_buf end ;
} ;

/* Ends the session (log line; back to imapd_main). */
void imapd_leave (imapd *d, char const *why) gccattr_noreturn ;
/* Output; a write error ends the session. */
void imapd_put (imapd *d, char const *s, size_t n) ;
void imapd_puts (imapd *d, char const *s) ;
void imapd_putu (imapd *d, uint64_t n) ;
void imapd_ok (imapd *d, int ok) ;           /* a false imapw_ return ends */
/* A tagged reply to the current command (code may be 0). */
void imapd_tagged (imapd *d, char const *status, char const *code, char const *text) ;
/* A BAD for the current command: counted, too many end the session. */
void imapd_bad (imapd *d, char const *text) ;
/* A system error as NO (errno): [OVERQUOTA], [NONEXISTENT], ... */
void imapd_no_errno (imapd *d, char const *what) ;
void imapd_nomem (imapd *d) gccattr_noreturn ;

/* Untagged updates of the selected folder: sync, then EXPUNGE (when
   expunge_ok), EXISTS, RECENT, FETCH FLAGS. */
void imapd_update (imapd *d, int expunge_ok) ;
/* A folder selected from its index's header (imapbox_verify): its
   records checked, or the session ended. */
void imapd_checkbox (imapd *d) ;
/* Report changes c (expunges, then added, then flags). */
void imapd_report (imapd *d, imapbox_changes *c) ;
/* "* n FETCH (FLAGS (...))" of message i, with UID when uid. */
void imapd_fetchflags (imapd *d, size_t i, int uid) ;
/* The flags of message i in lib/imap's bits (IMAPFLAG_), \Recent too. */
unsigned imapd_sysflags (imapbox const *b, size_t i) ;
/* Write "(\Seen kw...)" of message i. */
void imapd_flaglist (imapd *d, size_t i) ;
/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" of the selected folder. */
void imapd_flagsinfo (imapd *d) ;
/* lib/imap's flag bits <-> the store's. */
uint32_t imapd_tostore (unsigned sys) ;

/* Node i as a sequence set of the selected folder (uid: UIDs), resolved:
   the indices of its messages, ascending, into idx (size_t). "$" is the
   saved result's messages still there, UID or not (RFC 5182 2.1). 1 ok;
   0 a BAD was sent. */
int imapd_msgset (imapd *d, uint32_t node, int uid, stralloc *idx) ;

/* Argument k as a folder name, canonical modified UTF-7 ("INBOX" for
   any case), NUL-terminated in sa. 0: a BAD was sent. */
int imapd_boxname (imapd *d, unsigned k, stralloc *sa) ;

/* Write a folder's name (modified UTF-7, as stored) as the client reads it:
   as it is, or in UTF-8 for IMAP4rev2 (RFC 9051 5.1). */
void imapd_putbox (imapd *d, char const *name) ;

/* Commands. Each answers the tagged reply itself. */
void imapd_select (imapd *d, int examine) ;
void imapd_close (imapd *d, int expunge) ;
void imapd_create (imapd *d) ;
void imapd_delete (imapd *d) ;
void imapd_rename (imapd *d) ;
void imapd_subscribe (imapd *d, int sub) ;
void imapd_list (imapd *d, int lsub) ;
void imapd_status (imapd *d) ;
void imapd_namespace (imapd *d) ;
void imapd_append (imapd *d) ;
void imapd_fetch (imapd *d) ;
void imapd_search (imapd *d) ;
void imapd_store (imapd *d) ;
void imapd_expunge (imapd *d) ;
void imapd_copy (imapd *d, int move) ;
void imapd_idle (imapd *d) ;
void imapd_getquotaroot (imapd *d) ;
void imapd_getquota (imapd *d) ;
void imapd_setquota (imapd *d) ;
void imapd_compress (imapd *d) ;
/* FETCH's helpers (imapdfetch.c, imapdbinary.c). Send octets
   [from, from + n) of section r (lib/mime/mimesect.h) as a literal, a
   literal8 (RFC 3516 "~{n}") when lit8. */
void imapd_literal (imapd *d, mime_msg const *m, mime_sect const *r, stralloc const *gen, uint64_t from, uint64_t n, int lit8) ;
/* BINARY: 1 if every BINARY section of f names a part of m whose
   encoding is known (or no part), 0 if not (NO [UNKNOWN-CTE]). */
int imapd_binary_check (mime_msg const *m, imapfetch const *f) ;
/* Send "name value" of a BINARY[...] or BINARY.SIZE[...] item. */
void imapd_binary (imapd *d, mime_msg const *m, char const *name, imapfetch_sec const *sec) ;
/* Compressed input is held that the next read returns without waiting. */
int imapd_compress_pending (imapd const *d) ;
/* Before a long wait (IDLE): compression's buffers given back. */
void imapd_compress_release (imapd *d) ;
/* At the end of the session: compression's memory freed. */
void imapd_compress_end (imapd *d) ;

/* The message cache of the selected folder (imapdcache.c), opened at
   first use. Message i's entry: 1 and *e (valid until the next call),
   else 0. */
int imapd_cache_get (imapd *d, size_t i, imapcache_entry *e) ;
/* An entry for message i from its parsed form m, if it has none or one
   without a part this one gets. how: IMAPD_CACHE_WHOLE m is the whole
   message (BODYSTRUCTURE, BODY and ENVELOPE are kept), else its header
   alone; IMAPD_CACHE_ENV the ENVELOPE is kept (else it is only if the
   header block is not: imapd_fetch makes it from the block). */
#define IMAPD_CACHE_WHOLE 1
#define IMAPD_CACHE_ENV 2
void imapd_cache_put (imapd *d, size_t i, mime_msg const *m, unsigned how) ;
/* Message i's entry again, with the ENVELOPE env[0..len) it lacked. */
void imapd_cache_addenv (imapd *d, size_t i, char const *env, size_t len) ;
/* Message i's keys (the cache's KEYS part): its Date: as SEARCH's
   SENTDATE reads it (KEYS_DATED: imapd_rfcdate's answer was 1) and
   its Subject: fields as imapd_hdrvalue gives them (KEYS_SUBJKEPT:
   subj[0..subjlen) is that value; KEYS_SUBJFOUND: there was one). 1,
   or 0 not cached. subj is valid until the next cache call. */
#define KEYS_DATED 1
#define KEYS_SUBJFOUND 2
#define KEYS_SUBJKEPT 4
#define KEYS_SUBJMAX 2048
typedef struct imapd_keys_s imapd_keys ;
struct imapd_keys_s { int64_t date ; int zone ; unsigned flags ; char const *subj ; size_t subjlen ; } ;
int imapd_cache_keys (imapd *d, size_t i, imapd_keys *k) ;
/* At the end of a command that used the cache: write the entries put
   (imapcache_flush), free what imapd_cache_keys loaded. */
void imapd_cache_done (imapd *d) ;
/* The header of the message file open on fd parsed into *m over buf:
   the bytes through its empty line only (1), or the file mapped whole
   when the header is long (2); 0 error. */
int imapd_readheader (int fd, mime_msg *m, stralloc *buf) ;
/* Whether f's items need no more than a message's header. */
int imapd_headeronly (imapfetch const *f) ;
/* Message i's cached header fields (imapcachehdr.h) parsed as a message
   into *h (valid until the next call): 1, or 0 not cached. */
int imapd_cache_header (imapd *d, size_t i, mime_msg *h) ;
/* Message i's header for the cached field names into *m: the cache's
   (1) or the message file, mapped, which then fills the cache (2); 0 the
   message is gone or unreadable. mime_free(m) after use. */
int imapd_headers (imapd *d, size_t i, mime_msg *m) ;
/* Whether the cache can answer all of f's items that need a message's
   contents (ENVELOPE, BODYSTRUCTURE, BODY, HEADER.FIELDS of cached
   names). */
int imapd_cache_fetchable (imapfetch const *f) ;

/* SEARCH's evaluation (imapdsearch.c): the indices of the messages that
   match q, ascending, into v (room for every message); their number. */
size_t imapd_searchmatch (imapd *d, imapsearch *q, uint32_t *v) ;
/* Every field called name in m's header, decoded (RFC 2047), each
   followed by LF, appended to value: 1 found, 0 none, -1 ENOMEM. */
int imapd_hdrvalue (mime_msg const *m, char const *name, stralloc *value) ;
/* An RFC 5322 date-time s[0..e): 1 and *t (UTC), *zone (minutes), or 0. */
int imapd_rfcdate (char const *s, char const *e, int64_t *t, int *zone) ;
/* RFC 9051 6.4.4: an IMAP4rev2 session has no SEARCH RECENT, NEW, OLD:
   0 and a BAD if q has one. */
int imapd_search_rev2 (imapd *d, imapsearch const *q) ;
void imapd_sort (imapd *d) ;
void imapd_thread (imapd *d) ;

/* CONDSTORE and QRESYNC (imapdcond.c). */
void imapd_enable (imapd *d) ;
/* A CONDSTORE enabling command (RFC 7162 3.1): MODSEQ in every untagged
   FETCH from now on; HIGHESTMODSEQ sent if a folder is selected. */
void imapd_condstore (imapd *d) ;
/* " MODSEQ (n)" of message i. */
void imapd_putmodseq (imapd *d, size_t i) ;
/* "* VANISHED [(EARLIER) ]uids" (uint32_t; sorted here), if any. */
void imapd_putvanished (imapd *d, int earlier, genalloc *uids) ;
/* VANISHED (EARLIER) of the UIDs expunged after modseq, of those in the
   UID set at node (0: any) or known (if not 0). */
void imapd_vanished_since (imapd *d, uint64_t modseq, uint32_t node, imapseq *known) ;
/* What SELECT (QRESYNC (...)) answers after the usual (s: imapselect). */
struct imapselect_s ;
void imapd_qresync (imapd *d, struct imapselect_s *s) ;

/* APPEND's hooks for imapread (imapdappend.c). */
int imapd_msgstart (void *ctx, uint32_t idx, uint64_t size, char const **err) ;
int imapd_msgdata (void *ctx, char const *s, size_t n, char const **err) ;

int imapd_main (int argc, char const *const *argv) ;
#endif
