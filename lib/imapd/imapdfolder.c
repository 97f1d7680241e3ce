/* imap-mailbox: SELECT, EXAMINE, CLOSE, UNSELECT, CREATE, DELETE, RENAME,
   SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS, NAMESPACE. Folder names are
   kept in modified UTF-7, as rev1 clients send them (imapstore/folders.h);
   an IMAP4rev2 session reads and writes them in UTF-8 (RFC 9051 5.1). */
#include <errno.h>
#include <string.h>
#include <skalibs/strerr.h>
#include "maildir.h"
#include "imap/imapwrite.h"
#include "imap/imapmbox.h"
#include "imap/imaplist.h"
#include "imap/imapselect.h"
#include "imapd/imapd.h"
/* lib/imap's LIST option and lib/imapstore's attribute share a name */
enum { SEL_SUBSCRIBED = IMAPLIST_SUBSCRIBED } ;
#undef IMAPLIST_SUBSCRIBED
#include "imapstore/folders.h"

#define SYSFLAGS "\\Answered \\Flagged \\Deleted \\Seen \\Draft"

/* Argument k as a folder name: canonical modified UTF-7 ("INBOX" for any
   case) in sa, NUL-terminated; given in UTF-8 by an IMAP4rev2 client.
   0: a BAD was sent. */
int imapd_boxname (imapd *d, unsigned k, stralloc *sa)
{
  char const *err ;
  int r = imapmbox_name(&d->c, imapcmd_arg(&d->c, k), d->rev2, &d->sb, &err) ;
  if (r < 0) imapd_nomem(d) ;
  if (!r) { imapd_bad(d, err) ; return 0 ; }
  sa->len = 0 ;
  if (imapmbox_mutf7_encode(sa, d->sb.s, d->sb.len - (d->sb.len && !d->sb.s[d->sb.len - 1])) < 0 || !stralloc_0(sa)) imapd_nomem(d) ;
  return 1 ;
}

void imapd_putbox (imapd *d, char const *name)
{
  /* kept from call to call: a write error ends the session (longjmp) */
  static stralloc u = STRALLOC_ZERO ;
  size_t len = strlen(name) ;
  if (d->rev2)
  {
    int r ;
    u.len = 0 ;
    r = imapmbox_mutf7_decode(&u, name, len) ;
    if (r < 0) imapd_nomem(d) ;
    /* a name not in modified UTF-7 (made by hand on disk) goes as it is */
    if (r) { imapd_ok(d, imapw_mailbox(&d->io, u.s, u.len, 1)) ; return ; }
  }
  imapd_ok(d, imapw_astring(&d->io, name, len)) ;
}

static void keywords (imapd *d)
{
  for (unsigned k = 0 ; k < KEYWORDS_MAX ; k++)
    if (kwlist_name(&d->box.kw, k)) { imapd_puts(d, " ") ; imapd_puts(d, kwlist_name(&d->box.kw, k)) ; }
}

void imapd_flagsinfo (imapd *d)
{
  imapd_puts(d, "* FLAGS (" SYSFLAGS) ; keywords(d) ; imapd_puts(d, ")\r\n") ;
  imapd_puts(d, "* OK [PERMANENTFLAGS (") ;
  if (!d->readonly) { imapd_puts(d, SYSFLAGS) ; keywords(d) ; imapd_puts(d, " \\*") ; }
  imapd_puts(d, ")] flags\r\n") ;
}

static void unselect (imapd *d)
{
  imapbox z = IMAPBOX_ZERO ;
  imapbox_free(&d->box) ;
  d->box = z ;
  d->selected = 0 ;
  imapseq_free(&d->saved) ;   /* RFC 5182 2.1: "$" is the selected folder's */
}

static void selected_list (imapd *d) ;

static void selected_info (imapd *d)
{
  size_t n = imapbox_len(&d->box) ;
  uint32_t recent, unseen ;
  imapbox_counts(&d->box, &recent, &unseen) ;
  imapd_flagsinfo(d) ;
  imapd_puts(d, "* ") ; imapd_putu(d, n) ; imapd_puts(d, " EXISTS\r\n") ;
  /* RFC 9051 6.3.2: no RECENT, no [UNSEEN]; a LIST of the folder instead */
  if (d->rev2) selected_list(d) ;
  else
  {
    imapd_puts(d, "* ") ; imapd_putu(d, recent) ; imapd_puts(d, " RECENT\r\n") ;
    if (unseen) { imapd_puts(d, "* OK [UNSEEN ") ; imapd_putu(d, unseen) ; imapd_puts(d, "] first unseen\r\n") ; }
  }
  imapd_puts(d, "* OK [UIDVALIDITY ") ; imapd_putu(d, imapbox_uidvalidity(&d->box)) ; imapd_puts(d, "] UIDs valid\r\n") ;
  imapd_puts(d, "* OK [UIDNEXT ") ; imapd_putu(d, imapbox_uidnext(&d->box)) ; imapd_puts(d, "] next UID\r\n") ;
  /* RFC 7162 3.1.2.1: every folder keeps MODSEQs */
  imapd_puts(d, "* OK [HIGHESTMODSEQ ") ; imapd_putu(d, imapbox_highestmodseq(&d->box)) ; imapd_puts(d, "] modseq\r\n") ;
}

/* SELECT's parameters (RFC 7162): 0 if a BAD was sent. */
static int selparams (imapd *d, imapselect *s)
{
  char const *err ;
  int r = imapselect_parse(&d->c, imapcmd_nargs(&d->c) > 1 ? imapcmd_arg(&d->c, 1) : 0, s, &err) ;
  if (r < 0) imapd_nomem(d) ;
  if (!r) { imapd_bad(d, err) ; return 0 ; }
  if (s->qresync && !d->qresync) { imapd_bad(d, "QRESYNC is not enabled") ; return 0 ; }
  if (s->condstore) d->condstore = 1 ;
  return 1 ;
}

static void select1 (imapd *d, int examine, imapselect *sel) ;

void imapd_select (imapd *d, int examine)
{
  imapselect sel = IMAPSELECT_ZERO ;
  if (imapcmd_nargs(&d->c) < 1 || imapcmd_nargs(&d->c) > 2) { imapd_bad(d, "SELECT takes a folder name and parameters") ; return ; }
  if (!selparams(d, &sel)) { imapselect_free(&sel) ; return ; }
  if (!imapd_boxname(d, 0, &d->folder)) { imapselect_free(&sel) ; return ; }
  select1(d, examine, &sel) ;
  imapselect_free(&sel) ;
}

static void select1 (imapd *d, int examine, imapselect *sel)
{
  imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
  /* RFC 7162 3.2.11 */
  if (d->selected) imapd_puts(d, "* OK [CLOSED] previous folder closed\r\n") ;
  unselect(d) ;   /* RFC 3501 6.3.1: even if the new one fails */
  if (!imapstore_name_valid(d->folder.s)) { imapd_tagged(d, "NO", "NONEXISTENT", "no such folder") ; return ; }
  if (!imapbox_init(&d->box, d->root, d->folder.s)) { unselect(d) ; imapd_no_errno(d, "open folder") ; return ; }
  /* SELECT reads the index's header only; its records are checked before
     the next command (imapd_checkbox) */
  d->box.lazy = 1 ;
  if (!imapbox_sync(&d->box, 1, &c))
  {
    int e = errno ;
    imapbox_changes_free(&c) ;
    imapbox_free(&d->box) ;
    { imapbox z = IMAPBOX_ZERO ; d->box = z ; }
    errno = e ;
    if (e == ENOENT) imapd_tagged(d, "NO", "NONEXISTENT", "no such folder") ;
    else imapd_no_errno(d, "open folder") ;
    return ;
  }
  imapbox_changes_free(&c) ;
  d->selected = 1 ;
  d->readonly = examine ;
  selected_info(d) ;
  if (sel->qresync) { imapd_checkbox(d) ; if (d->selected) imapd_qresync(d, sel) ; }
  imapd_tagged(d, "OK", examine ? "READ-ONLY" : "READ-WRITE", examine ? "EXAMINE completed" : "SELECT completed") ;
}

void imapd_close (imapd *d, int expunge)
{
  if (imapcmd_nargs(&d->c)) { imapd_bad(d, "no arguments expected") ; return ; }
  if (expunge && !d->readonly)
  {
    imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
    if (!imapbox_expunge(&d->box, 0, 0, &c)) strerr_warnwu2sys("expunge ", d->folder.s) ;
    imapbox_changes_free(&c) ;
  }
  unselect(d) ;
  imapd_tagged(d, "OK", 0, expunge ? "CLOSE completed" : "UNSELECT completed") ;
}

void imapd_create (imapd *d)
{
  if (imapcmd_nargs(&d->c) != 1) { imapd_bad(d, "CREATE takes a folder name") ; return ; }
  if (!imapd_boxname(d, 0, &d->sa)) return ;
  /* a trailing delimiter says a parent is meant (RFC 3501 6.3.3) */
  while (d->sa.len > 2 && d->sa.s[d->sa.len - 2] == '.') d->sa.s[--d->sa.len - 1] = 0 ;
  if (!strcmp(d->sa.s, "INBOX")) { imapd_tagged(d, "NO", "ALREADYEXISTS", "INBOX exists") ; return ; }
  if (!imapstore_create(d->root, d->sa.s)) { imapd_no_errno(d, "create folder") ; return ; }
  imapd_tagged(d, "OK", 0, "CREATE completed") ;
}

static int noselect_parent (imapd *d, char const *name) ;

void imapd_delete (imapd *d)
{
  if (imapcmd_nargs(&d->c) != 1) { imapd_bad(d, "DELETE takes a folder name") ; return ; }
  if (!imapd_boxname(d, 0, &d->sa)) return ;
  if (d->selected && !strcmp(d->sa.s, d->folder.s)) unselect(d) ;
  if (!imapstore_delete(d->root, d->sa.s))
  {
    int e = errno ;
    /* RFC 9051 6.3.4, 7.1: a \Noselect name with children stays */
    if (e == ENOENT && noselect_parent(d, d->sa.s)) { imapd_tagged(d, "NO", "HASCHILDREN", "its children must be deleted first") ; return ; }
    errno = e ;
    imapd_no_errno(d, "delete folder") ;
    return ;
  }
  imapd_tagged(d, "OK", 0, "DELETE completed") ;
}

void imapd_rename (imapd *d)
{
  /* kept from command to command: a BAD may end the session (longjmp) */
  static stralloc to = STRALLOC_ZERO ;
  if (imapcmd_nargs(&d->c) != 2) { imapd_bad(d, "RENAME takes two folder names") ; return ; }
  if (!imapd_boxname(d, 0, &d->sa)) return ;
  if (!imapd_boxname(d, 1, &to)) return ;
  if (!imapstore_rename(d->root, d->sa.s, to.s)) { imapd_no_errno(d, "rename folder") ; return ; }
  imapd_tagged(d, "OK", 0, "RENAME completed") ;
}

void imapd_subscribe (imapd *d, int sub)
{
  if (imapcmd_nargs(&d->c) != 1) { imapd_bad(d, "a folder name is needed") ; return ; }
  if (!imapd_boxname(d, 0, &d->sa)) return ;
  if (!(sub ? maildir_subscribe(d->root, d->sa.s) : maildir_unsubscribe(d->root, d->sa.s)))
  {
    imapd_no_errno(d, "change the subscriptions") ;
    return ;
  }
  imapd_tagged(d, "OK", 0, sub ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed") ;
}

static void attrs (imapd *d, unsigned a, int lsub)
{
  static struct { unsigned bit ; char const *name ; } const names[] = {
    { IMAPLIST_NOSELECT, "\\Noselect" }, { IMAPLIST_NONEXISTENT, "\\NonExistent" },
    { IMAPLIST_HASCHILDREN, "\\HasChildren" }, { IMAPLIST_HASNOCHILDREN, "\\HasNoChildren" },
    { IMAPLIST_SENT, "\\Sent" }, { IMAPLIST_DRAFTS, "\\Drafts" }, { IMAPLIST_TRASH, "\\Trash" },
    { IMAPLIST_JUNK, "\\Junk" }, { IMAPLIST_ARCHIVE, "\\Archive" }, { IMAPLIST_SUBSCRIBED, "\\Subscribed" },
  } ;
  int sp = 0 ;
  /* RFC 3501 6.3.9: LSUB's \Noselect for a subscribed folder that is gone */
  if (lsub && a & IMAPLIST_NONEXISTENT) a = (a & ~IMAPLIST_NONEXISTENT) | IMAPLIST_NOSELECT ;
  if (a & IMAPLIST_NONEXISTENT) a |= IMAPLIST_NOSELECT ;
  if (lsub) a &= ~IMAPLIST_SUBSCRIBED ;
  imapd_puts(d, "(") ;
  for (size_t k = 0 ; k < sizeof names / sizeof *names ; k++)
    if (a & names[k].bit) { if (sp) imapd_puts(d, " ") ; imapd_puts(d, names[k].name) ; sp = 1 ; }
  imapd_puts(d, ")") ;
}

static void statusline (imapd *d, char const *name, unsigned items, imapstatus const *st) ;

/* Does the folder (modified UTF-7 name) match one of l's patterns? */
static int matches (imapd *d, imaplist const *l, char const *name)
{
  char const *p = l->pats.s ;
  d->sb.len = 0 ;
  if (imapmbox_mutf7_decode(&d->sb, name, strlen(name)) <= 0) return 0 ;
  for (unsigned k = 0 ; k < l->npat ; k++, p += strlen(p) + 1)
  {
    d->sa.len = 0 ;
    if (!stralloc_cats(&d->sa, l->ref.s) || !stralloc_cats(&d->sa, p)) imapd_nomem(d) ;
    if (imaplist_match(d->sa.s, d->sa.len, d->sb.s, d->sb.len, '.')) return 1 ;
  }
  return 0 ;
}

static unsigned const SPECIAL = IMAPLIST_SENT | IMAPLIST_DRAFTS | IMAPLIST_TRASH | IMAPLIST_JUNK | IMAPLIST_ARCHIVE ;

/* Whether name is in the sorted list f. */
static int listed (imapfolders const *f, char const *name)
{
  size_t lo = 0, hi = imapfolders_len(f) ;
  while (lo < hi)
  {
    size_t mid = (lo + hi) / 2 ;
    int r = strcmp(imapfolders_name(f, mid), name) ;
    if (!r) return 1 ;
    if (r < 0) lo = mid + 1 ; else hi = mid ;
  }
  return 0 ;
}

static void listone (imapd *d, imaplist const *l, int lsub, char const *name, unsigned a, int childinfo)
{
  imapd_puts(d, lsub ? "* LSUB " : "* LIST ") ;
  attrs(d, a, lsub) ;
  imapd_puts(d, " \".\" ") ;
  imapd_putbox(d, name) ;
  if (childinfo) imapd_puts(d, " (\"CHILDINFO\" (\"SUBSCRIBED\"))") ;
  imapd_puts(d, "\r\n") ;
  /* RFC 5819: STATUS of each selectable folder listed */
  if (l->ret & IMAPLIST_RET_STATUS && !(a & (IMAPLIST_NOSELECT | IMAPLIST_NONEXISTENT)))
  {
    imapstatus st ;
    if (imapstore_status(d->root, name, &st)) statusline(d, name, l->status, &st) ;
  }
}

/* The attributes of name in f (sorted); absent: \NonExistent. */
static unsigned attrof (imapfolders const *f, char const *name)
{
  size_t lo = 0, hi = imapfolders_len(f) ;
  while (lo < hi)
  {
    size_t mid = (lo + hi) / 2 ;
    int r = strcmp(imapfolders_name(f, mid), name) ;
    if (!r) return imapfolders_get(f, mid)->attr ;
    if (r < 0) lo = mid + 1 ; else hi = mid ;
  }
  return IMAPLIST_NONEXISTENT ;
}

/* Whether name is listed \Noselect with children. */
static int noselect_parent (imapd *d, char const *name)
{
  imapfolders f = IMAPFOLDERS_ZERO ;
  unsigned a = imapstore_list(&f, d->root, "*", 0) ? attrof(&f, name) : 0 ;
  imapfolders_free(&f) ;
  return (a & (IMAPLIST_NOSELECT | IMAPLIST_HASCHILDREN | IMAPLIST_NONEXISTENT)) == (IMAPLIST_NOSELECT | IMAPLIST_HASCHILDREN) ;
}

/* RFC 5258 (SUBSCRIBED RECURSIVEMATCH): the folders that match without
   being subscribed but have a subscribed descendant, with CHILDINFO. subs
   holds the subscribed ones; each such ancestor is listed once. */
static void childinfo (imapd *d, imaplist const *l, imapfolders const *subs)
{
  imapfolders all = IMAPFOLDERS_ZERO ;
  stralloc done = STRALLOC_ZERO, anc = STRALLOC_ZERO ;
  if (!imapstore_list(&all, d->root, "*", 0)) { imapfolders_free(&all) ; return ; }
  for (size_t i = 0 ; i < imapfolders_len(subs) ; i++)
  {
    char const *name = imapfolders_name(subs, i) ;
    for (char const *dot = strchr(name, '.') ; dot ; dot = strchr(dot + 1, '.'))
    {
      anc.len = 0 ;
      if (!stralloc_catb(&anc, name, dot - name) || !stralloc_0(&anc)) imapd_nomem(d) ;
      if (listed(subs, anc.s) || !matches(d, l, anc.s)) continue ;
      {
        int seen = 0 ;
        for (size_t k = 0 ; k < done.len && !seen ; k += strlen(done.s + k) + 1) seen = !strcmp(done.s + k, anc.s) ;
        if (seen) continue ;
      }
      if (!stralloc_catb(&done, anc.s, anc.len)) imapd_nomem(d) ;
      listone(d, l, 0, anc.s, attrof(&all, anc.s), 1) ;
    }
  }
  stralloc_free(&done) ;
  stralloc_free(&anc) ;
  imapfolders_free(&all) ;
}

static void listing (imapd *d, imaplist const *l, int lsub)
{
  imapfolders f = IMAPFOLDERS_ZERO, subs = IMAPFOLDERS_ZERO ;
  int sub = lsub || l->sel & SEL_SUBSCRIBED ;
  if (!imapstore_list(&f, d->root, "*", sub)
   || (!sub && l->ret & IMAPLIST_RET_SUBSCRIBED && !imapstore_list(&subs, d->root, "*", 1)))
  {
    imapfolders_free(&f) ;
    imapfolders_free(&subs) ;
    imapd_no_errno(d, "list folders") ;
    return ;
  }
  for (size_t i = 0 ; i < imapfolders_len(&f) ; i++)
  {
    char const *name = imapfolders_name(&f, i) ;
    unsigned a = imapfolders_get(&f, i)->attr ;
    if (!matches(d, l, name)) continue ;
    if (l->sel & IMAPLIST_SPECIALUSE && !(a & SPECIAL)) continue ;
    if ((sub && !lsub) || listed(&subs, name)) a |= IMAPLIST_SUBSCRIBED ;
    listone(d, l, lsub, name, a, 0) ;
  }
  if (l->sel & IMAPLIST_RECURSIVEMATCH) childinfo(d, l, &f) ;
  imapfolders_free(&f) ;
  imapfolders_free(&subs) ;
  imapd_tagged(d, "OK", 0, lsub ? "LSUB completed" : "LIST completed") ;
}

/* RFC 9051 6.3.2: SELECT's LIST of the folder, its attributes as LIST
   gives them. */
static void selected_list (imapd *d)
{
  imapfolders f = IMAPFOLDERS_ZERO ;
  imaplist const z = IMAPLIST_ZERO ;
  unsigned a = 0 ;
  /* its name as the pattern, unless too long for one */
  char const *pat = strlen(d->folder.s) > IMAPSTORE_PATTERN_MAX ? "*" : d->folder.s ;
  if (imapstore_list(&f, d->root, pat, 0)) a = attrof(&f, d->folder.s) ;
  else strerr_warnwu2sys("list folder ", d->folder.s) ;
  imapfolders_free(&f) ;
  listone(d, &z, 0, d->folder.s, a & ~IMAPLIST_NONEXISTENT, 0) ;
}

void imapd_list (imapd *d, int lsub)
{
  imaplist l = IMAPLIST_ZERO ;
  char const *err ;
  int r = imaplist_parse(&d->c, imapcmd_arg(&d->c, 0), lsub, d->rev2, &l, &err) ;
  if (r < 0) imapd_nomem(d) ;
  if (!r) { imaplist_free(&l) ; imapd_bad(d, err) ; return ; }
  if (l.status & IMAPSTATUS_RECENT && d->rev2) { imaplist_free(&l) ; imapd_bad(d, "no STATUS RECENT in IMAP4rev2") ; return ; }
  if (l.npat == 1 && !l.pats.s[0] && !lsub)
  {
    /* RFC 3501 6.3.8: the delimiter and the root */
    imapd_puts(d, "* LIST (\\Noselect) \".\" \"\"\r\n") ;
    imapd_tagged(d, "OK", 0, "LIST completed") ;
  }
  else listing(d, &l, lsub) ;
  imaplist_free(&l) ;
}

static void item (imapd *d, int *sp, char const *name, uint64_t v)
{
  if (*sp) imapd_puts(d, " ") ;
  imapd_puts(d, name) ; imapd_puts(d, " ") ; imapd_putu(d, v) ;
  *sp = 1 ;
}

static void statusline (imapd *d, char const *name, unsigned items, imapstatus const *st)
{
  int sp = 0 ;
  imapd_puts(d, "* STATUS ") ;
  imapd_putbox(d, name) ;
  imapd_puts(d, " (") ;
  if (items & IMAPSTATUS_MESSAGES) item(d, &sp, "MESSAGES", st->messages) ;
  if (items & IMAPSTATUS_RECENT) item(d, &sp, "RECENT", st->recent) ;
  if (items & IMAPSTATUS_UIDNEXT) item(d, &sp, "UIDNEXT", st->uidnext) ;
  if (items & IMAPSTATUS_UIDVALIDITY) item(d, &sp, "UIDVALIDITY", st->uidvalidity) ;
  if (items & IMAPSTATUS_UNSEEN) item(d, &sp, "UNSEEN", st->unseen) ;
  if (items & IMAPSTATUS_SIZE) item(d, &sp, "SIZE", st->size) ;
  if (items & IMAPSTATUS_DELETED) item(d, &sp, "DELETED", st->deleted) ;
  if (items & IMAPSTATUS_HIGHESTMODSEQ) item(d, &sp, "HIGHESTMODSEQ", imapstore_highestmodseq(d->root, name)) ;
  if (items & IMAPSTATUS_APPENDLIMIT) item(d, &sp, "APPENDLIMIT", IMAPD_APPENDMAX) ;
  imapd_puts(d, ")\r\n") ;
}

void imapd_status (imapd *d)
{
  imapstatus st ;
  unsigned items ;
  char const *err ;
  if (imapcmd_nargs(&d->c) != 2) { imapd_bad(d, "STATUS takes a folder name and items") ; return ; }
  if (!imapstatus_items(&d->c, imapcmd_arg(&d->c, 1), &items, &err)) { imapd_bad(d, err) ; return ; }
  /* not in RFC 9051's status-att: \Recent is gone */
  if (items & IMAPSTATUS_RECENT && d->rev2) { imapd_bad(d, "no STATUS RECENT in IMAP4rev2") ; return ; }
  if (items & IMAPSTATUS_HIGHESTMODSEQ) imapd_condstore(d) ;
  if (!imapd_boxname(d, 0, &d->sa)) return ;
  if (!imapstore_name_valid(d->sa.s)) { imapd_tagged(d, "NO", "NONEXISTENT", "no such folder") ; return ; }
  if (!imapstore_status(d->root, d->sa.s, &st)) { imapd_no_errno(d, "read folder") ; return ; }
  statusline(d, d->sa.s, items, &st) ;
  imapd_tagged(d, "OK", 0, "STATUS completed") ;
}

void imapd_namespace (imapd *d)
{
  if (imapcmd_nargs(&d->c)) { imapd_bad(d, "NAMESPACE takes no arguments") ; return ; }
  imapd_puts(d, "* NAMESPACE ((\"\" \".\")) NIL NIL\r\n") ;
  imapd_tagged(d, "OK", 0, "NAMESPACE completed") ;
}
