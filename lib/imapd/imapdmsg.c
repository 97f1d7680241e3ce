/* imap-mailbox: STORE, EXPUNGE, COPY and MOVE (and their UID forms). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <skalibs/strerr.h>
#include "imap/imapwrite.h"
#include "imap/imapflag.h"
#include "imapd/imapd.h"

#define NSET(d) ((d)->set.len / sizeof (size_t))
#define SET(d) ((size_t *)(d)->set.s)

/* The keyword bits of STORE's keywords (added to the folder's list when
   they are set and new). 0: a NO was sent. */
static int kwbits (imapd *d, imapflags const *f, int op, uint32_t *bits)
{
  *bits = 0 ;
  d->sa.len = 0 ;
  if (!stralloc_catb(&d->sa, d->box.dir.s, d->box.dir.len) || !stralloc_0(&d->sa)) imapd_nomem(d) ;
  for (unsigned k = 0 ; k < f->nkw ; k++)
  {
    int b = op == IMAPSTORE_REMOVE ? kwlist_find(&d->box.kw, f->kw[k]) : kwlist_add(&d->box.kw, d->sa.s, f->kw[k]) ;
    if (b >= 0) *bits |= 1u << b ;
    else if (op != IMAPSTORE_REMOVE)
    {
      if (errno == ENOSPC) imapd_tagged(d, "NO", "LIMIT", "too many keywords in this folder") ;
      else imapd_no_errno(d, "add a keyword") ;
      return 0 ;
    }
  }
  return 1 ;
}

static unsigned nkeywords (imapd *d)
{
  unsigned n = 0 ;
  for (unsigned k = 0 ; k < KEYWORDS_MAX ; k++) n += !!kwlist_name(&d->box.kw, k) ;
  return n ;
}

void imapd_store (imapd *d)
{
  imapstoreargs st ;
  char const *err ;
  uint32_t kw ;
  unsigned gone = 0 ;
  if (imapcmd_nargs(&d->c) < 3) { imapd_bad(d, "STORE takes a sequence set, an action and flags") ; return ; }
  if (!imapflag_store(&d->c, imapcmd_arg(&d->c, 1), &st, &err)) { imapd_bad(d, err) ; return ; }
  if (st.unchangedsince) { imapd_bad(d, "CONDSTORE is not enabled") ; return ; }
  if (!imapd_msgset(d, imapcmd_arg(&d->c, 0), d->c.uid, &d->set)) return ;
  if (d->readonly) { imapd_tagged(d, "NO", "READ-ONLY", "the folder is read-only") ; return ; }
  {
    unsigned before = nkeywords(d) ;
    if (!kwbits(d, &st.flags, st.op, &kw)) return ;
    /* RFC 3501 7.2.6: a new keyword changes FLAGS and PERMANENTFLAGS */
    if (nkeywords(d) != before) imapd_flagsinfo(d) ;
  }
  for (size_t k = 0 ; k < NSET(d) ; k++)
  {
    size_t i = SET(d)[k] ;
    int op = st.op == IMAPSTORE_SET ? IMAPBOX_SET : st.op == IMAPSTORE_ADD ? IMAPBOX_ADD : IMAPBOX_DEL ;
    if (imapbox_msg(&d->box, i)->gone || !imapbox_store(&d->box, i, op, imapd_tostore(st.flags.sys), kw))
    {
      if (!imapbox_msg(&d->box, i)->gone && errno != ENOENT) strerr_warnwu2sys("change flags in ", d->folder.s) ;
      gone++ ;
      continue ;
    }
    if (!st.silent) imapd_fetchflags(d, i, d->c.uid) ;
  }
  d->nstore += NSET(d) ;
  if (gone) imapd_tagged(d, "NO", "EXPUNGEISSUED", "some of the messages were expunged") ;
  else imapd_tagged(d, "OK", 0, "STORE completed") ;
}

void imapd_expunge (imapd *d)
{
  imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
  uint32_t *uids = 0 ;
  size_t n = 0 ;
  if (imapcmd_nargs(&d->c) != (d->c.uid ? 1u : 0u)) { imapd_bad(d, d->c.uid ? "UID EXPUNGE takes a UID set" : "EXPUNGE takes no arguments") ; return ; }
  if (d->c.uid && !imapd_msgset(d, imapcmd_arg(&d->c, 0), 1, &d->set)) return ;
  if (d->readonly) { imapd_tagged(d, "NO", "READ-ONLY", "the folder is read-only") ; return ; }
  if (d->c.uid)
  {
    n = NSET(d) ;
    uids = malloc((n ? n : 1) * sizeof *uids) ;
    if (!uids) imapd_nomem(d) ;
    for (size_t k = 0 ; k < n ; k++) uids[k] = imapbox_msg(&d->box, SET(d)[k])->uid ;
  }
  if (d->c.uid && !n) ;   /* nothing to do */
  else if (!imapbox_expunge(&d->box, uids, n, &c))
  {
    free(uids) ;
    imapbox_changes_free(&c) ;
    imapd_no_errno(d, "expunge") ;
    return ;
  }
  free(uids) ;
  imapd_report(d, &c) ;
  imapbox_changes_free(&c) ;
  imapd_tagged(d, "OK", 0, "EXPUNGE completed") ;
}

static void copyuid (imapd *d, uint32_t uidv, uint32_t const *src, uint32_t const *dst, size_t n)
{
  d->sb.len = 0 ;
  if (!imapw_code_copyuid(&d->sb, uidv, src, dst, n) || !stralloc_0(&d->sb)) imapd_nomem(d) ;
}

void imapd_copy (imapd *d, int move)
{
  imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
  uint32_t uidv, *src, *dst ;
  size_t n ;
  if (imapcmd_nargs(&d->c) != 2) { imapd_bad(d, "a sequence set and a folder name are needed") ; return ; }
  if (!imapd_boxname(d, 1, &d->sa)) return ;
  if (!imapd_msgset(d, imapcmd_arg(&d->c, 0), d->c.uid, &d->set)) return ;
  if (move && d->readonly) { imapd_tagged(d, "NO", "READ-ONLY", "the folder is read-only") ; return ; }
  n = NSET(d) ;
  if (!n) { imapd_tagged(d, "OK", 0, move ? "MOVE completed" : "COPY completed") ; return ; }
  src = malloc(2 * n * sizeof *src) ;
  if (!src) imapd_nomem(d) ;
  dst = src + n ;
  for (size_t k = 0 ; k < n ; k++) src[k] = imapbox_msg(&d->box, SET(d)[k])->uid ;
  if (!imapbox_copy(&d->box, SET(d), n, d->sa.s, move, &uidv, dst, &c))
  {
    int e = errno ;
    free(src) ;
    imapbox_changes_free(&c) ;
    errno = e ;
    if (e == ENOENT) imapd_tagged(d, "NO", "TRYCREATE", "no such folder") ;
    else imapd_no_errno(d, move ? "move" : "copy") ;
    return ;
  }
  copyuid(d, uidv, src, dst, n) ;
  free(src) ;
  if (move)
  {
    /* RFC 6851 4.3: COPYUID comes untagged, before the expunges */
    imapd_ok(d, imapw_status(&d->io, 0, "OK", d->sb.s, "moved")) ;
    imapd_report(d, &c) ;
    imapbox_changes_free(&c) ;
    imapd_tagged(d, "OK", 0, "MOVE completed") ;
    return ;
  }
  imapbox_changes_free(&c) ;
  imapd_tagged(d, "OK", d->sb.s, "COPY completed") ;
}
