/* imap-mailbox: STORE, EXPUNGE, COPY and MOVE (and their UID forms). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <skalibs/strerr.h>
#include "imap/imapwrite.h"
#include "imap/imapflag.h"
#include "imap/imapseq.h"
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

/* The changes: under the index lock, so that UNCHANGEDSINCE's test and
   the change are one (RFC 7162 3.1.3), and the changes get their MODSEQs
   before they are reported. Nothing goes to the client meanwhile: c1
   (others' changes found first) and c2 are reported after. ok gets the
   indices stored, mod the messages refused (sequence numbers or UIDs). */
static int apply (imapd *d, imapstoreargs const *st, uint32_t kw, stralloc *ok, genalloc *mod,
                  imapbox_changes *c1, imapbox_changes *c2, unsigned *gone)
{
  int op = st->op == IMAPSTORE_SET ? IMAPBOX_SET : st->op == IMAPSTORE_ADD ? IMAPBOX_ADD : IMAPBOX_DEL ;
  if (!imapbox_lock(&d->box) && errno != EACCES && errno != EROFS && errno != EPERM) return 0 ;
  if (!imapbox_sync(&d->box, 0, c1)) { imapbox_unlock(&d->box) ; return 0 ; }
  for (size_t k = 0 ; k < NSET(d) ; k++)
  {
    size_t i = SET(d)[k] ;
    imapmsg const *m = imapbox_msg(&d->box, i) ;
    if (st->unchangedsince && !m->gone && m->modseq > st->modseq)
    {
      uint32_t x = d->c.uid ? m->uid : (uint32_t)i + 1 ;
      if (!genalloc_append(uint32_t, mod, &x)) imapd_nomem(d) ;
      continue ;
    }
    if (m->gone || !imapbox_store(&d->box, i, op, imapd_tostore(st->flags.sys), kw))
    {
      if (!imapbox_msg(&d->box, i)->gone && errno != ENOENT) strerr_warnwu2sys("change flags in ", d->folder.s) ;
      ++*gone ;
      continue ;
    }
    if (!stralloc_catb(ok, (char *)&i, sizeof i)) imapd_nomem(d) ;
  }
  if (!imapbox_sync(&d->box, 0, c2)) strerr_warnwu2sys("read folder ", d->folder.s) ;
  imapbox_unlock(&d->box) ;
  return 1 ;
}

void imapd_store (imapd *d)
{
  imapstoreargs st ;
  imapbox_changes c1 = IMAPBOX_CHANGES_ZERO, c2 = IMAPBOX_CHANGES_ZERO ;
  stralloc ok = STRALLOC_ZERO ;
  genalloc mod = GENALLOC_ZERO ;
  char const *err ;
  uint32_t kw ;
  unsigned gone = 0 ;
  if (imapcmd_nargs(&d->c) < 3) { imapd_bad(d, "STORE takes a sequence set, an action and flags") ; return ; }
  if (!imapflag_store(&d->c, imapcmd_arg(&d->c, 1), &st, &err)) { imapd_bad(d, err) ; return ; }
  if (!imapd_msgset(d, imapcmd_arg(&d->c, 0), d->c.uid, &d->set)) return ;
  if (d->readonly) { imapd_tagged(d, "NO", "READ-ONLY", "the folder is read-only") ; return ; }
  if (st.unchangedsince) imapd_condstore(d) ;
  {
    unsigned before = nkeywords(d) ;
    if (!kwbits(d, &st.flags, st.op, &kw)) return ;
    /* RFC 3501 7.2.6: a new keyword changes FLAGS and PERMANENTFLAGS */
    if (nkeywords(d) != before) imapd_flagsinfo(d) ;
  }
  if (!apply(d, &st, kw, &ok, &mod, &c1, &c2, &gone))
  {
    imapbox_changes_free(&c1) ; imapbox_changes_free(&c2) ;
    stralloc_free(&ok) ; genalloc_free(uint32_t, &mod) ;
    imapd_no_errno(d, "change flags") ;
    return ;
  }
  imapd_report(d, &c1) ;
  for (size_t k = 0 ; k < ok.len / sizeof (size_t) ; k++)
  {
    size_t i = ((size_t *)ok.s)[k] ;
    if (!st.silent) imapd_fetchflags(d, i, d->c.uid) ;
    else if (d->condstore)
    {
      /* RFC 7162 3.1.3: the new MODSEQ is sent even with .SILENT */
      imapd_puts(d, "* ") ; imapd_putu(d, i + 1) ; imapd_puts(d, " FETCH (") ;
      if (d->c.uid || d->condstore) { imapd_puts(d, "UID ") ; imapd_putu(d, imapbox_msg(&d->box, i)->uid) ; imapd_puts(d, " ") ; }
      imapd_puts(d, "MODSEQ (") ; imapd_putu(d, imapbox_msg(&d->box, i)->modseq) ; imapd_puts(d, ")") ;
      imapd_puts(d, ")\r\n") ;
    }
  }
  imapd_report(d, &c2) ;
  d->nstore += NSET(d) ;
  if (gone) imapd_tagged(d, "NO", "EXPUNGEISSUED", "some of the messages were expunged") ;
  else if (genalloc_len(uint32_t, &mod))
  {
    d->sb.len = 0 ;
    if (!stralloc_cats(&d->sb, "MODIFIED ") || !imapseq_fmt(&d->sb, genalloc_s(uint32_t, &mod), genalloc_len(uint32_t, &mod))
     || !stralloc_0(&d->sb)) imapd_nomem(d) ;
    imapd_tagged(d, "OK", d->sb.s, "some messages were modified since") ;
  }
  else imapd_tagged(d, "OK", 0, "STORE completed") ;
  imapbox_changes_free(&c1) ; imapbox_changes_free(&c2) ;
  stralloc_free(&ok) ; genalloc_free(uint32_t, &mod) ;
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
