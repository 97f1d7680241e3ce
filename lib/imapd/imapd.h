/* imap-mailbox's work (see cmd/imap-mailbox.8): the authenticated and
   selected states of IMAP4rev1 (RFC 3501) on one Maildir++ mailbox, after
   login (lib/imap: the protocol; lib/imapstore: the folders; lib/mime:
   the messages). One module per command group:
     imapdmain.c    startup, the command loop, untagged updates, the
                    commands of any state (CAPABILITY, NOOP, ID, ...)
     imapdfolder.c  SELECT/EXAMINE/CLOSE/UNSELECT, CREATE/DELETE/RENAME,
                    (UN)SUBSCRIBE, LIST/LSUB, STATUS, NAMESPACE
     imapdappend.c  APPEND (the message streamed into the store)
     imapdfetch.c   FETCH
     imapdsearch.c  SEARCH (the evaluator's view over the store and mime)
     imapdmsg.c     STORE, EXPUNGE, COPY, MOVE
     imapdidle.c    IDLE (inotify on new/ and cur/)
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
#include "imapstore/mbox.h"

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
  stralloc folder ;          /* the selected one's name, NUL-terminated */
  unsigned int bads ;
  unsigned long nfetch, nstore, nappend ;
  /* APPEND in progress (imapdappend.c) */
  int appfd ;
  uint64_t appsize ;
  stralloc sa, sb ;          /* scratch */
  stralloc set ;             /* the messages (size_t indices) of a command */
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
   the indices of its messages, ascending, into idx (size_t). 1 ok; 0 a
   BAD was sent. */
int imapd_msgset (imapd *d, uint32_t node, int uid, stralloc *idx) ;

/* Argument k as a folder name, canonical modified UTF-7 ("INBOX" for
   any case), NUL-terminated in sa. 0: a BAD was sent. */
int imapd_boxname (imapd *d, unsigned k, stralloc *sa) ;

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
/* Compressed input is held that the next read returns without waiting. */
int imapd_compress_pending (imapd const *d) ;
/* Before a long wait (IDLE): compression's buffers given back. */
void imapd_compress_release (imapd *d) ;
/* At the end of the session: compression's memory freed. */
void imapd_compress_end (imapd *d) ;

/* APPEND's hooks for imapread (imapdappend.c). */
int imapd_msgstart (void *ctx, uint32_t idx, uint64_t size, char const **err) ;
int imapd_msgdata (void *ctx, char const *s, size_t n, char const **err) ;

int imapd_main (int argc, char const *const *argv) ;
#endif
