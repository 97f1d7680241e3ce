/* imap-mailbox: CONDSTORE and QRESYNC (RFC 7162): ENABLE, the MODSEQ of
   untagged FETCH responses, VANISHED and SELECT (QRESYNC ...). MODSEQs
   and the expunge log come from the folder's index (imapstore/mbox.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "imap/imapwrite.h"
#include "imap/imapselect.h"
#include "imapd/imapd.h"

void imapd_enable (imapd *d)
{
  int cond = 0, qr = 0, rev2 = 0 ;
  unsigned n = imapcmd_nargs(&d->c) ;
  if (!n) { imapd_bad(d, "ENABLE needs capabilities") ; return ; }
  for (unsigned k = 0 ; k < n ; k++)
  {
    uint32_t a = imapcmd_arg(&d->c, k) ;
    if (imapcmd_isatom(&d->c, a, "CONDSTORE")) cond = 1 ;
    else if (imapcmd_isatom(&d->c, a, "QRESYNC")) qr = 1 ;
    else if (imapcmd_isatom(&d->c, a, "IMAP4rev2")) rev2 = 1 ;
  }
  /* RFC 9051 6.3.1: ENABLE comes before SELECT; a selected folder's
     responses do not change kind under the client */
  if (rev2 && !d->rev2 && d->selected) { imapd_bad(d, "ENABLE IMAP4rev2 must come before SELECT") ; return ; }
  /* RFC 5161: only those this command enabled are listed */
  imapd_puts(d, "* ENABLED") ;
  if (cond && !d->condstore) imapd_puts(d, " CONDSTORE") ;
  if (qr && !d->qresync) imapd_puts(d, " QRESYNC") ;
  if (rev2 && !d->rev2) imapd_puts(d, " IMAP4rev2") ;
  imapd_puts(d, "\r\n") ;
  if (rev2) d->rev2 = 1 ;
  if (cond || qr) imapd_condstore(d) ;
  if (qr) d->qresync = 1 ;
  imapd_tagged(d, "OK", 0, "ENABLE completed") ;
}

/* HIGHESTMODSEQ as this client may know it: below the MODSEQ of an
   expunge not yet reported to it (RFC 7162 3.2: it would otherwise miss
   it if the connection dropped now) */
static uint64_t safehms (imapd *d)
{
  uint64_t h = imapbox_highestmodseq(&d->box) ;
  size_t nlog = genalloc_len(imapbox_gone, &d->box.log) ;
  imapbox_gone const *g = genalloc_s(imapbox_gone, &d->box.log) ;
  for (size_t i = 0 ; i < imapbox_len(&d->box) ; i++)
  {
    if (!imapbox_msg(&d->box, i)->gone) continue ;
    for (size_t k = 0 ; k < nlog ; k++)
      if (g[k].uid == imapbox_msg(&d->box, i)->uid && g[k].modseq <= h) h = g[k].modseq - 1 ;
  }
  return h ;
}

void imapd_condstore (imapd *d)
{
  if (d->condstore) return ;
  d->condstore = 1 ;
  if (!d->selected) return ;
  imapd_puts(d, "* OK [HIGHESTMODSEQ ") ;
  imapd_putu(d, safehms(d)) ;
  imapd_puts(d, "] modseq\r\n") ;
}

void imapd_putmodseq (imapd *d, size_t i)
{
  imapd_puts(d, " MODSEQ (") ;
  imapd_putu(d, imapbox_msg(&d->box, i)->modseq) ;
  imapd_puts(d, ")") ;
}

void imapd_putvanished (imapd *d, int earlier, genalloc *uids)
{
  size_t n = genalloc_len(uint32_t, uids) ;
  if (!n) return ;
  d->sb.len = 0 ;
  if (!imapseq_fmt(&d->sb, genalloc_s(uint32_t, uids), n)) imapd_nomem(d) ;
  imapd_puts(d, earlier ? "* VANISHED (EARLIER) " : "* VANISHED ") ;
  imapd_put(d, d->sb.s, d->sb.len) ;
  imapd_puts(d, "\r\n") ;
}

/* ",lo:hi" (or ",lo") into d->sb; no comma first. */
static void range (imapd *d, uint32_t lo, uint32_t hi, int *first)
{
  char buf[40] ;
  int k = hi > lo ? snprintf(buf, sizeof buf, "%s%u:%u", *first ? "" : ",", lo, hi)
                  : snprintf(buf, sizeof buf, "%s%u", *first ? "" : ",", lo) ;
  if (!stralloc_catb(&d->sb, buf, k)) imapd_nomem(d) ;
  *first = 0 ;
}

/* The UIDs in [lo, hi] that are not in the view, as ranges. */
static void gaps (imapd *d, uint32_t lo, uint32_t hi, int *first)
{
  size_t n = imapbox_len(&d->box), a = 0, b = n ;
  uint64_t next = lo ;
  while (a < b) { size_t mid = a + (b - a) / 2 ; if (imapbox_msg(&d->box, mid)->uid < lo) a = mid + 1 ; else b = mid ; }
  for (size_t i = a ; i < n && imapbox_msg(&d->box, i)->uid <= hi ; i++)
  {
    uint32_t u = imapbox_msg(&d->box, i)->uid ;
    if (u > next) range(d, (uint32_t)next, u - 1, first) ;
    next = (uint64_t)u + 1 ;
  }
  if (next <= hi) range(d, (uint32_t)next, hi, first) ;
}

void imapd_vanished_since (imapd *d, uint64_t modseq, uint32_t node, imapseq *known)
{
  imapseq q = IMAPSEQ_ZERO ;
  genalloc uids = GENALLOC_ZERO ;
  uint32_t top = imapbox_uidnext(&d->box) - 1 ;
  int r ;
  if (node)
  {
    imapnode const *a = &d->c.node[node] ;
    /* "$": the saved UIDs, resolved already (RFC 5182) */
    r = a->type != IMAPN_ATOM ? 0 : imapseq_issaved(a->s, a->len) ? 2 : imapseq_parse(&q, a->s, a->len) ;
    if (r < 0) imapd_nomem(d) ;
    if (!r) return ;   /* already checked by the command */
    known = r == 2 ? &d->saved : &q ;
  }
  if (known) imapseq_resolve(known, top) ;
  r = imapbox_vanished(&d->box, modseq, &uids) ;
  if (r < 0) imapd_nomem(d) ;
  if (r)
  {
    /* exact: the logged ones in the set, not in the view */
    size_t n = genalloc_len(uint32_t, &uids), k = 0 ;
    uint32_t *v = genalloc_s(uint32_t, &uids) ;
    for (size_t i = 0 ; i < n ; i++)
      if ((!known || imapseq_has_sorted(known, v[i])) && !imapbox_seq(&d->box, v[i])) v[k++] = v[i] ;
    genalloc_setlen(uint32_t, &uids, k) ;
    imapd_putvanished(d, 1, &uids) ;
  }
  else
  {
    /* the log does not go back so far: every UID of the set that is not
       here (RFC 7162 3.2.5.1 lets the server send UIDs the client never
       had) */
    int first = 1 ;
    d->sb.len = 0 ;
    if (known) { for (uint32_t k = 0 ; k < known->n ; k++) if (known->r[k].lo <= top) gaps(d, known->r[k].lo, known->r[k].hi < top ? known->r[k].hi : top, &first) ; }
    else if (top) gaps(d, 1, top, &first) ;
    if (!first)
    {
      imapd_puts(d, "* VANISHED (EARLIER) ") ;
      imapd_put(d, d->sb.s, d->sb.len) ;
      imapd_puts(d, "\r\n") ;
    }
  }
  genalloc_free(uint32_t, &uids) ;
  imapseq_free(&q) ;
}

void imapd_qresync (imapd *d, struct imapselect_s *s)
{
  size_t n = imapbox_len(&d->box) ;
  if (s->uidvalidity != imapbox_uidvalidity(&d->box)) return ;   /* the client starts over */
  imapd_vanished_since(d, s->modseq, 0, s->known ? &s->knownuids : 0) ;
  for (size_t i = 0 ; i < n ; i++)
  {
    imapmsg const *m = imapbox_msg(&d->box, i) ;
    if (m->modseq <= s->modseq || (s->known && !imapseq_has_sorted(&s->knownuids, m->uid))) continue ;
    imapd_fetchflags(d, i, 1) ;
  }
}
