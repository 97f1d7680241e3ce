/* SELECT and EXAMINE parameters: see imapselect.h. */
#include "imapselect.h"

static int set(imapcmd const *c, uint32_t i, imapseq *q, char const **err)
{
  int r = i && c->node[i].type == IMAPN_ATOM ? imapseq_parse(q, c->node[i].s, c->node[i].len) : 0 ;
  if (!r) *err = "bad QRESYNC set" ;
  return r ;
}

/* (uidvalidity modseq [known-uids [(seqs uids)]]) */
static int qresync(imapcmd const *c, uint32_t l, imapselect *s, char const **err)
{
  uint32_t k = l && c->node[l].type == IMAPN_LIST ? c->node[l].child : 0 ;
  int r ;
  *err = "bad QRESYNC parameters" ;
  if (!imapcmd_number(c, k, &s->uidvalidity) || !s->uidvalidity) return 0 ;
  k = c->node[k].next ;
  if (!imapcmd_number64(c, k, &s->modseq, 1)) return 0 ;
  k = c->node[k].next ;
  if (k && c->node[k].type != IMAPN_LIST) {
    if ((r = set(c, k, &s->knownuids, err)) != 1) return r ;
    s->known = 1 ;
    k = c->node[k].next ;
  }
  if (k) {
    uint32_t a = c->node[k].type == IMAPN_LIST ? c->node[k].child : 0, b = a ? c->node[a].next : 0 ;
    if (!b || c->node[b].next || c->node[k].next) { *err = "bad QRESYNC match data" ; return 0 ; }
    if ((r = set(c, a, &s->matchseq, err)) != 1 || (r = set(c, b, &s->matchuid, err)) != 1) return r ;
    s->match = 1 ;
  }
  s->qresync = 1 ;
  return 1 ;
}

int imapselect_parse(imapcmd const *c, uint32_t i, imapselect *s, char const **err)
{
  s->condstore = s->qresync = s->known = s->match = 0 ;
  s->uidvalidity = 0 ; s->modseq = 0 ;
  if (!i) return 1 ;
  if (c->node[i].type != IMAPN_LIST || c->node[i].next) { *err = "bad SELECT parameters" ; return 0 ; }
  for (uint32_t k = c->node[i].child ; k ; k = c->node[k].next) {
    if (imapcmd_isatom(c, k, "CONDSTORE") && !s->condstore) s->condstore = 1 ;
    else if (imapcmd_isatom(c, k, "QRESYNC") && !s->qresync) {
      int r = qresync(c, k = c->node[k].next, s, err) ;
      if (r != 1) return r ;
    } else { *err = "bad SELECT parameter" ; return 0 ; }
  }
  return 1 ;
}

void imapselect_free(imapselect *s)
{
  imapseq_free(&s->knownuids) ;
  imapseq_free(&s->matchseq) ;
  imapseq_free(&s->matchuid) ;
}
