/* imap-mailbox: startup, the command loop, untagged updates and the
   commands of every state. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "maildir.h"
#include "pop3.h"
#include "pop3handback.h"
#include "root.h"
#include "imap/imapwrite.h"
#include "imap/imapflag.h"
#include "imap/imapseq.h"
#include "imapstore/folders.h"
#include "imapd/imapd.h"

#define USAGE "imap-mailbox [MAILDIR]"
#define strerr_warni(...) strerr_warn(PROG, ": info: ", __VA_ARGS__)

#define CAPS "IMAP4rev1 IMAP4rev2 LITERAL+ BINARY IDLE UIDPLUS MOVE NAMESPACE ID ENABLE UNSELECT CHILDREN SPECIAL-USE ESEARCH SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES LIST-EXTENDED LIST-STATUS QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE APPENDLIMIT=67108864 CONDSTORE QRESYNC COMPRESS=DEFLATE SEARCHRES"

static imapd D ;

void imapd_leave (imapd *d, char const *why)
{
  char f[ULONG_FMT], s[ULONG_FMT], a[ULONG_FMT] ;
  lineio_flush(&d->io) ;
  f[ulong_fmt(f, d->nfetch)] = 0 ;
  s[ulong_fmt(s, d->nstore)] = 0 ;
  a[ulong_fmt(a, d->nappend)] = 0 ;
  strerr_warni("user=", d->user, " ip=", d->ip, " fetch=", f, " store=", s, " append=", a, " status=end reason=", why) ;
  longjmp(d->end, 1) ;
}

void imapd_ok (imapd *d, int ok)
{
  if (!ok) imapd_leave(d, errno == ETIMEDOUT ? "timeout" : "disconnect") ;
}

void imapd_put (imapd *d, char const *s, size_t n) { imapd_ok(d, lineio_put(&d->io, s, n)) ; }
void imapd_puts (imapd *d, char const *s) { imapd_put(d, s, strlen(s)) ; }
void imapd_putu (imapd *d, uint64_t n) { imapd_ok(d, imapw_putu(&d->io, n)) ; }

void imapd_nomem (imapd *d)
{
  imapw_status(&d->io, 0, "BYE", "SERVERBUG", "out of memory") ;
  imapd_leave(d, "out of memory") ;
}

int imapd_expunge_ok (char const *name, int uid) ;

/* Untagged updates go before every tagged OK or NO (RFC 3501 7); but
   for a SELECT that just loaded the folder from its index's header
   (whose next command checks it, and syncs). */
void imapd_tagged (imapd *d, char const *status, char const *code, char const *text)
{
  if (d->selected && !d->box.unverified && strcmp(status, "BAD")) imapd_update(d, imapd_expunge_ok(d->c.name, d->c.uid)) ;
  imapd_ok(d, imapw_status(&d->io, d->c.tag, status, code, text)) ;
}

static void badtag (imapd *d, char const *tag, char const *text)
{
  if (++d->bads >= IMAPD_BADMAX)
  {
    imapw_status(&d->io, 0, "BYE", 0, "too many errors") ;
    imapd_leave(d, "errors") ;
  }
  imapd_ok(d, imapw_status(&d->io, tag, "BAD", 0, text)) ;
}

void imapd_bad (imapd *d, char const *text) { badtag(d, d->c.tag, text) ; }

void imapd_no_errno (imapd *d, char const *what)
{
  int e = errno ;
  char const *code = e == EDQUOT ? "OVERQUOTA" : e == ENOENT ? "NONEXISTENT" : e == EEXIST ? "ALREADYEXISTS"
    : e == EINVAL ? "CANNOT" : e == EFBIG ? "TOOBIG" : e == EPERM ? "CANNOT" : e == ENOSPC ? "LIMIT" : "SERVERBUG" ;
  if (!strcmp(code, "SERVERBUG")) strerr_warnwu1sys(what) ;
  stralloc_copys(&d->sb, what) ;
  if (!stralloc_cats(&d->sb, ": ") || !stralloc_cats(&d->sb, strerror(e)) || !stralloc_0(&d->sb)) imapd_nomem(d) ;
  imapd_tagged(d, "NO", code, d->sb.s) ;
}

unsigned imapd_sysflags (imapbox const *b, size_t i)
{
  imapmsg const *m = imapbox_msg(b, i) ;
  unsigned f = 0 ;
  if (m->flags & IMAPF_SEEN) f |= IMAPFLAG_SEEN ;
  if (m->flags & IMAPF_ANSWERED) f |= IMAPFLAG_ANSWERED ;
  if (m->flags & IMAPF_FLAGGED) f |= IMAPFLAG_FLAGGED ;
  if (m->flags & IMAPF_DELETED) f |= IMAPFLAG_DELETED ;
  if (m->flags & IMAPF_DRAFT) f |= IMAPFLAG_DRAFT ;
  if (m->recent) f |= IMAPFLAG_RECENT ;
  return f ;
}

uint32_t imapd_tostore (unsigned sys)
{
  return (sys & IMAPFLAG_SEEN ? IMAPF_SEEN : 0) | (sys & IMAPFLAG_ANSWERED ? IMAPF_ANSWERED : 0)
    | (sys & IMAPFLAG_FLAGGED ? IMAPF_FLAGGED : 0) | (sys & IMAPFLAG_DELETED ? IMAPF_DELETED : 0)
    | (sys & IMAPFLAG_DRAFT ? IMAPF_DRAFT : 0) ;
}

int imapd_search_rev2 (imapd *d, imapsearch const *q)
{
  if (d->rev2)
    for (uint32_t k = 0 ; k < q->nnodes ; k++)
      if (q->node[k].key == IMAPSK_FLAG && q->node[k].flag == IMAPFLAG_RECENT)
      {
        imapd_bad(d, "no RECENT, NEW or OLD in IMAP4rev2") ;
        return 0 ;
      }
  return 1 ;
}

void imapd_flaglist (imapd *d, size_t i)
{
  char const *kw[KEYWORDS_MAX] ;
  unsigned n = 0 ;
  uint32_t bits = imapbox_msg(&d->box, i)->kw ;
  for (unsigned k = 0 ; k < KEYWORDS_MAX ; k++)
    if (bits & (1u << k) && kwlist_name(&d->box.kw, k)) kw[n++] = kwlist_name(&d->box.kw, k) ;
  unsigned sys = imapd_sysflags(&d->box, i) ;
  /* RFC 9051 2.3.2: \Recent is not IMAP4rev2's */
  if (d->rev2) sys &= ~IMAPFLAG_RECENT ;
  imapd_ok(d, imapw_flags(&d->io, sys, kw, n)) ;
}

void imapd_fetchflags (imapd *d, size_t i, int uid)
{
  imapd_puts(d, "* ") ;
  imapd_putu(d, i + 1) ;
  imapd_puts(d, " FETCH (") ;
  /* once CONDSTORE is on, every untagged FETCH carries the UID (RFC
     7162 3.1.4, erratum 1807 of RFC 5162) */
  if (uid || d->condstore) { imapd_puts(d, "UID ") ; imapd_putu(d, imapbox_msg(&d->box, i)->uid) ; imapd_puts(d, " ") ; }
  imapd_puts(d, "FLAGS ") ;
  imapd_flaglist(d, i) ;
  if (d->condstore) imapd_putmodseq(d, i) ;
  imapd_puts(d, ")\r\n") ;
}

static void exists (imapd *d)
{
  size_t n = imapbox_len(&d->box) ;
  uint32_t recent = 0 ;
  imapd_puts(d, "* ") ; imapd_putu(d, n) ; imapd_puts(d, " EXISTS\r\n") ;
  if (d->rev2) return ;   /* RFC 9051 7.4: no RECENT response */
  for (size_t i = 0 ; i < n ; i++) recent += imapbox_msg(&d->box, i)->recent ;
  imapd_puts(d, "* ") ; imapd_putu(d, recent) ; imapd_puts(d, " RECENT\r\n") ;
}

void imapd_report (imapd *d, imapbox_changes *c)
{
  size_t n = d->qresync ? 0 : genalloc_len(uint32_t, &c->expunged) ;
  /* RFC 7162 3.2.10: VANISHED instead of EXPUNGE once QRESYNC is on */
  if (d->qresync) imapd_putvanished(d, 0, &c->vanished) ;
  for (size_t k = 0 ; k < n ; k++)
  {
    imapd_puts(d, "* ") ;
    imapd_putu(d, genalloc_s(uint32_t, &c->expunged)[k]) ;
    imapd_puts(d, " EXPUNGE\r\n") ;
  }
  if (c->rebuilt)
  {
    imapd_puts(d, "* OK [HIGHESTMODSEQ ") ; imapd_putu(d, imapbox_highestmodseq(&d->box)) ;
    imapd_puts(d, "] the folder's index was damaged: rebuilt\r\n") ;
  }
  if (c->added) exists(d) ;
  n = genalloc_len(uint32_t, &c->flagged) ;
  for (size_t k = 0 ; k < n ; k++)
  {
    uint32_t seq = imapbox_seq(&d->box, genalloc_s(uint32_t, &c->flagged)[k]) ;
    if (seq) imapd_fetchflags(d, seq - 1, 0) ;
  }
}

void imapd_update (imapd *d, int expunge_ok)
{
  imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
  if (!d->selected) return ;
  if (!imapbox_sync(&d->box, expunge_ok, &c))
  {
    strerr_warnwu2sys("read folder ", d->folder.s) ;
    imapbox_changes_free(&c) ;
    return ;
  }
  if (d->box.validity_changed)
  {
    imapw_status(&d->io, 0, "BYE", 0, "the folder's UIDs were renumbered, please reconnect") ;
    imapd_leave(d, "uidvalidity") ;
  }
  imapd_report(d, &c) ;
  imapbox_changes_free(&c) ;
}

void imapd_checkbox (imapd *d)
{
  if (!d->selected || !d->box.unverified) return ;
  imapd_update(d, 0) ;
  /* not checked (a system error, logged): no command may use it */
  if (d->box.unverified)
  {
    imapw_status(&d->io, 0, "BYE", 0, "unable to read the folder, please reconnect") ;
    imapd_leave(d, "folder error") ;
  }
}

int imapd_msgset (imapd *d, uint32_t node, int uid, stralloc *idx)
{
  imapseq q = IMAPSEQ_ZERO ;
  size_t n = imapbox_len(&d->box) ;
  imapnode const *a = node ? &d->c.node[node] : 0 ;
  idx->len = 0 ;
  if (!a || a->type != IMAPN_ATOM) { imapd_bad(d, "a sequence set is needed") ; return 0 ; }
  if (imapseq_issaved(a->s, a->len))
  {
    for (size_t i = 0 ; i < n ; i++)
      if (imapseq_has_sorted(&d->saved, imapbox_msg(&d->box, i)->uid) && !stralloc_catb(idx, (char *)&i, sizeof i)) imapd_nomem(d) ;
    return 1 ;
  }
  int r = imapseq_parse(&q, a->s, a->len) ;
  if (r < 0) imapd_nomem(d) ;
  if (!r) { imapseq_free(&q) ; imapd_bad(d, "invalid sequence set") ; return 0 ; }
  if (uid)
  {
    imapseq_resolve(&q, n ? imapbox_msg(&d->box, n - 1)->uid : 0) ;
    for (size_t i = 0 ; i < n ; i++)
      if (imapseq_has_sorted(&q, imapbox_msg(&d->box, i)->uid) && !stralloc_catb(idx, (char *)&i, sizeof i)) imapd_nomem(d) ;
  }
  else
  {
    if (imapseq_max(&q, n) > n || !n)
    {
      imapseq_free(&q) ;
      imapd_bad(d, "no such message") ;
      return 0 ;
    }
    imapseq_resolve(&q, n) ;
    for (uint32_t k = 0 ; k < q.n ; k++)
      for (size_t i = q.r[k].lo - 1 ; i < q.r[k].hi ; i++)
        if (!stralloc_catb(idx, (char *)&i, sizeof i)) imapd_nomem(d) ;
  }
  imapseq_free(&q) ;
  return 1 ;
}

static void c_capability (imapd *d)
{
  imapd_puts(d, "* CAPABILITY " CAPS "\r\n") ;
  imapd_tagged(d, "OK", 0, "CAPABILITY completed") ;
}

static void c_noop (imapd *d) { imapd_tagged(d, "OK", 0, "NOOP completed") ; }

static void c_logout (imapd *d)
{
  imapd_ok(d, imapw_status(&d->io, 0, "BYE", 0, "logging out")) ;
  imapd_ok(d, imapw_status(&d->io, d->c.tag, "OK", 0, "LOGOUT completed")) ;
  imapd_leave(d, "logout") ;
}

static void c_id (imapd *d)
{
  imapd_puts(d, "* ID (\"name\" \"pipemail\")\r\n") ;
  imapd_tagged(d, "OK", 0, "ID completed") ;
}

static void c_check (imapd *d) { imapd_tagged(d, "OK", 0, "CHECK completed") ; }

static void c_select (imapd *d) { imapd_select(d, 0) ; }
static void c_examine (imapd *d) { imapd_select(d, 1) ; }
static void c_close (imapd *d) { imapd_close(d, 1) ; }
static void c_unselect (imapd *d) { imapd_close(d, 0) ; }
static void c_subscribe (imapd *d) { imapd_subscribe(d, 1) ; }
static void c_unsubscribe (imapd *d) { imapd_subscribe(d, 0) ; }
static void c_list (imapd *d) { imapd_list(d, 0) ; }
static void c_lsub (imapd *d) { imapd_list(d, 1) ; }
static void c_copy (imapd *d) { imapd_copy(d, 0) ; }
static void c_move (imapd *d) { imapd_copy(d, 1) ; }

/* sel: needs a selected folder; uid: takes the UID prefix; exp: untagged
   EXPUNGE may be sent after it (RFC 3501 7.4.1). */
static struct { char const *name ; void (*f)(imapd *) ; unsigned char sel, uid, exp ; } const cmds[] = {
  { "CAPABILITY", &c_capability, 0, 0, 1 },
  { "NOOP", &c_noop, 0, 0, 1 },
  { "LOGOUT", &c_logout, 0, 0, 0 },
  { "ID", &c_id, 0, 0, 1 },
  { "ENABLE", &imapd_enable, 0, 0, 1 },
  { "NAMESPACE", &imapd_namespace, 0, 0, 1 },
  { "SELECT", &c_select, 0, 0, 0 },
  { "EXAMINE", &c_examine, 0, 0, 0 },
  { "CREATE", &imapd_create, 0, 0, 1 },
  { "DELETE", &imapd_delete, 0, 0, 1 },
  { "RENAME", &imapd_rename, 0, 0, 1 },
  { "SUBSCRIBE", &c_subscribe, 0, 0, 1 },
  { "UNSUBSCRIBE", &c_unsubscribe, 0, 0, 1 },
  { "LIST", &c_list, 0, 0, 1 },
  { "LSUB", &c_lsub, 0, 0, 1 },
  { "STATUS", &imapd_status, 0, 0, 1 },
  { "APPEND", &imapd_append, 0, 0, 1 },
  { "IDLE", &imapd_idle, 0, 0, 1 },
  { "GETQUOTAROOT", &imapd_getquotaroot, 0, 0, 1 },
  { "GETQUOTA", &imapd_getquota, 0, 0, 1 },
  { "SETQUOTA", &imapd_setquota, 0, 0, 1 },
  { "COMPRESS", &imapd_compress, 0, 0, 1 },
  { "CHECK", &c_check, 1, 0, 1 },
  { "CLOSE", &c_close, 1, 0, 0 },
  { "UNSELECT", &c_unselect, 1, 0, 0 },
  { "EXPUNGE", &imapd_expunge, 1, 1, 1 },
  { "SEARCH", &imapd_search, 1, 1, 0 },
  { "SORT", &imapd_sort, 1, 1, 0 }, { "THREAD", &imapd_thread, 1, 1, 0 },
  { "FETCH", &imapd_fetch, 1, 1, 0 },
  { "STORE", &imapd_store, 1, 1, 0 },
  { "COPY", &c_copy, 1, 1, 1 },
  { "MOVE", &c_move, 1, 1, 1 },
} ;

static void dispatch (imapd *d)
{
  for (size_t k = 0 ; k < sizeof cmds / sizeof *cmds ; k++)
  {
    if (strcmp(d->c.name, cmds[k].name)) continue ;
    if (d->c.uid && !cmds[k].uid) { imapd_bad(d, "no UID form of this command") ; return ; }
    if (cmds[k].sel && !d->selected) { imapd_bad(d, "no folder selected") ; return ; }
    /* a folder selected from its index's header: the records checked
       before a command may use them (SELECT and LOGOUT do not) */
    if (cmds[k].f != &c_select && cmds[k].f != &c_examine && cmds[k].f != &c_logout) imapd_checkbox(d) ;
    (*cmds[k].f)(d) ;
    return ;
  }
  if (!strcmp(d->c.name, "LOGIN") || !strcmp(d->c.name, "AUTHENTICATE") || !strcmp(d->c.name, "STARTTLS"))
    imapd_bad(d, "already authenticated") ;
  else imapd_bad(d, "unknown command") ;
}

/* Whether the command allows untagged EXPUNGE before its tagged reply. */
int imapd_expunge_ok (char const *name, int uid)
{
  if (uid) return 1 ;   /* RFC 3501 7.4.1: UID commands may get EXPUNGE */
  for (size_t k = 0 ; k < sizeof cmds / sizeof *cmds ; k++)
    if (!strcmp(name, cmds[k].name)) return cmds[k].exp ;
  return 1 ;
}

static int go (void *ctx)
{
  imapd *d = ctx ;
  return lineio_puts(&d->io, "+ go ahead\r\n") && lineio_flush(&d->io) ;
}

static void serve (imapd *d)
{
  for (;;)
  {
    char const *err ;
    int r = imapread_command(&d->rd) ;
    if (r == IMAPREAD_EOF) imapd_leave(d, "disconnect") ;
    if (r == IMAPREAD_ERROR && errno == ETIMEDOUT)
    {
      imapw_status(&d->io, 0, "BYE", 0, "autologout: idle for too long") ;
      imapd_leave(d, "timeout") ;
    }
    if (r == IMAPREAD_ERROR) imapd_leave(d, "read error") ;
    if (r == IMAPREAD_FATAL)
    {
      imapw_status(&d->io, 0, "BYE", 0, d->rd.err) ;
      imapd_leave(d, "protocol error") ;
    }
    if (r == IMAPREAD_BAD) { badtag(d, d->rd.tag, d->rd.err) ; continue ; }
    if (r == IMAPREAD_NO)
    {
      if (d->appfd >= 0) { fd_close(d->appfd) ; d->appfd = -1 ; }
      imapd_ok(d, imapw_status(&d->io, d->rd.tag, "NO", 0, d->rd.err)) ;
      continue ;
    }
    r = imapcmd_parse(&d->c, d->rd.cmd.s, d->rd.cmd.len, &err) ;
    if (r < 0) imapd_nomem(d) ;
    if (!r) { badtag(d, d->c.tag, err) ; continue ; }
    dispatch(d) ;
    if (d->appfd >= 0) { fd_close(d->appfd) ; d->appfd = -1 ; }
  }
}

static char const *envor (char const *name, char const *def)
{
  char const *s = getenv(name) ;
  return s && *s ? s : def ;
}

/* $IMAP_INPUT (pipelined after the login) goes first into the input
   buffer: the reader then takes it as if it had come from the client. */
static void input (imapd *d)
{
  char const *s = getenv("IMAP_INPUT") ;
  if (s)
  {
    size_t n = strlen(s) ;
    if (n > IMAPD_INPUT_MAX) n = 0 ;
    memcpy(d->io.in, s, n) ;
    d->io.w = n ;
    unsetenv("IMAP_INPUT") ;
  }
}

static void greet (imapd *d)
{
  char const *tag = getenv("IMAP_LOGIN_TAG") ;
  if (tag && *tag)
  {
    imapd_ok(d, imapw_status(&d->io, tag, "OK", "CAPABILITY " CAPS, "Logged in")) ;
    unsetenv("IMAP_LOGIN_TAG") ;
  }
  else imapd_ok(d, imapw_status(&d->io, 0, "PREAUTH", "CAPABILITY " CAPS, "pipemail IMAP ready")) ;
}

static void opened (imapd *d)
{
  char const *tag = getenv("IMAP_LOGIN_TAG") ;
  if (maildir_check(d->root) && (imapstore_special(d->root) || errno == EACCES || errno == EROFS)) return ;
  strerr_warnwu2sys("open Maildir ", d->root) ;
  imapw_status(&d->io, tag && *tag ? tag : 0, tag && *tag ? "NO" : "BYE", "UNAVAILABLE", "mailbox unavailable") ;
  imapd_leave(d, "unavailable") ;
}

/* A file the session maps (a message, the folder's pipemail.index) cut
   short by another program under it: the mapping faults. Nothing is lost
   (the Maildir holds the truth, the index is rebuilt), so the session
   ends with a log line, not a core dump. */
static void sigbus (int sig)
{
  static char const m[] = "imap-mailbox: fatal: a file mapped by the session (a message or pipemail.index) was truncated under it\n" ;
  ssize_t r = write(2, m, sizeof m - 1) ;
  (void)r ; (void)sig ;
  _exit(111) ;
}

int imapd_main (int argc, char const *const *argv)
{
  imapd *d = &D ;
  imapread_hooks h = { .ctx = d, .go = &go, .msgstart = &imapd_msgstart, .msgdata = &imapd_msgdata } ;
  /* LITERAL+ (not LITERAL-): a non-synchronizing literal has the bound
     of its kind, an APPEND's message the APPENDLIMIT */
  imapread_limits lim = { .message = IMAPD_APPENDMAX, .nonsync = IMAPD_APPENDMAX } ;
  PROG = "imap-mailbox" ;
  if (argc > 2) strerr_dieusage(100, USAGE) ;
  pop3handback_offer(argc, argv) ;   /* imap-serve's process may go on as us */
  {
    /* from scratch (but io, first, which lineio_init sets): a fuzzer
       runs many sessions in one process; z static, not on the stack,
       whose pages would stay resident all the session (its io is 48 KB) */
    static imapd const z = { .box = IMAPBOX_ZERO, .c = IMAPCMD_ZERO, .folder = STRALLOC_ZERO, .sa = STRALLOC_ZERO,
                .sb = STRALLOC_ZERO, .set = STRALLOC_ZERO, .saved = IMAPSEQ_ZERO, .cache = IMAPCACHE_ZERO, .appfd = -1 } ;
    memcpy((char *)d + offsetof(imapd, rd), (char *)&z + offsetof(imapd, rd), sizeof *d - offsetof(imapd, rd)) ;
  }
  if (setjmp(d->end))
  {
    if (d->appfd >= 0) fd_close(d->appfd) ;
    imapbox_free(&d->box) ;   /* even unselected: a failed SELECT may hold some */
    imapcache_free(&d->cache) ;
    imapread_free(&d->rd) ;
    imapcmd_free(&d->c) ;
    stralloc_free(&d->folder) ;
    stralloc_free(&d->sa) ;
    stralloc_free(&d->sb) ;
    stralloc_free(&d->set) ;
    imapseq_free(&d->saved) ;
    imapd_compress_end(d) ;
    return 0 ;
  }
  d->root = argc == 2 ? argv[1] : "." ;
  d->user = envor("AUTHUSER", envor("USER", "unknown")) ;
  d->ip = envor("TCPREMOTEIP", "unknown") ;
  signal(SIGPIPE, SIG_IGN) ;
  signal(SIGBUS, &sigbus) ;
  {
    unsigned long t = pm_env_ulong("IMAP_TIMEOUT", IMAPD_TIMEOUT) ;
    lineio_init(&d->io, 0, 1, t ? t : IMAPD_TIMEOUT) ;
  }
  /* a FETCH's answer and its tagged OK are separate writes: without it
     the second waits for the client's delayed ACK */
  pop3_nodelay(1) ;
  input(d) ;
  imapread_init(&d->rd, &d->io, &lim, &h) ;
  unsetenv("IMAP_ID") ;
  opened(d) ;
  greet(d) ;
  strerr_warni("user=", d->user, " ip=", d->ip, " status=login") ;
  serve(d) ;
  return 0 ;
}
