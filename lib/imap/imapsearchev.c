/* Evaluating SEARCH keys over one message: see imapsearch.h. */
#include <string.h>
#include "imapdate.h"
#include "imapsearch.h"

typedef struct ev_s { imapsearch const *q ; imapview const *v ; void *msg ; uint32_t nmsgs, maxuid ; int64_t now ; stralloc *hv ; } ev ;

int imapsearch_contains(char const *s, size_t len, char const *n, size_t nlen)
{
  if (!nlen) return 1 ;
  for (size_t k = 0 ; k + nlen <= len ; k++) {
    size_t j = 0 ;
    while (j < nlen) {
      unsigned char a = s[k + j], b = n[j] ;
      if (a >= 'A' && a <= 'Z') a += 32 ;
      if (b >= 'A' && b <= 'Z') b += 32 ;
      if (a != b) break ;
      j++ ;
    }
    if (j == nlen) return 1 ;
  }
  return 0 ;
}

static int eval(ev *e, uint32_t i) ;

/* Keys that need the message's file (headers, body) cost more. */
static int costly(imapsk const *k)
{
  return k->key == IMAPSK_HEADER || k->key == IMAPSK_BODY || k->key == IMAPSK_TEXT
    || k->key == IMAPSK_SENTBEFORE || k->key == IMAPSK_SENTON || k->key == IMAPSK_SENTSINCE
    || k->key == IMAPSK_AND || k->key == IMAPSK_OR || k->key == IMAPSK_NOT ;
}

/* AND: cheap children first, then the costly ones. */
static int and(ev *e, uint32_t i)
{
  for (int pass = 0 ; pass < 2 ; pass++)
    for (uint32_t k = e->q->node[i].child ; k ; k = e->q->node[k].next) {
      if (costly(&e->q->node[k]) != pass) continue ;
      int r = eval(e, k) ;
      if (r <= 0) return r ;
    }
  return 1 ;
}

static int cmpday(int64_t day, unsigned char key, int64_t want)
{
  return key == IMAPSK_BEFORE || key == IMAPSK_SENTBEFORE ? day < want
       : key == IMAPSK_ON || key == IMAPSK_SENTON ? day == want : day >= want ;
}

static int dates(ev *e, imapsk const *k)
{
  int64_t t ;
  int zone, r ;
  if (k->key >= IMAPSK_SENTBEFORE && k->key <= IMAPSK_SENTSINCE) r = (*e->v->sentdate)(e->msg, &t, &zone) ;
  else r = (*e->v->internaldate)(e->msg, &t, &zone) ;
  if (r <= 0) return r ;
  if (k->key == IMAPSK_OLDER) return e->now - t >= (int64_t)k->n ;
  if (k->key == IMAPSK_YOUNGER) return e->now - t <= (int64_t)k->n ;
  return cmpday(imapdate_day(t, zone), k->key, k->day) ;
}

static int header(ev *e, imapsk const *k)
{
  int r ;
  e->hv->len = 0 ;
  r = (*e->v->header)(e->msg, k->hdr, e->hv) ;
  if (r <= 0) return r ;
  return imapsearch_contains(e->hv->s, e->hv->len, k->s, k->len) ;
}

static int eval(ev *e, uint32_t i)
{
  imapsk const *k = &e->q->node[i] ;
  uint64_t size ;
  int r ;
  switch (k->key) {
    case IMAPSK_AND: return and(e, i) ;
    case IMAPSK_OR: r = eval(e, k->child) ; return r ? r : eval(e, e->q->node[k->child].next) ;
    case IMAPSK_NOT: r = eval(e, k->child) ; return r < 0 ? r : !r ;
    case IMAPSK_ALL: return 1 ;
    case IMAPSK_FLAG: return !!((*e->v->flags)(e->msg) & k->flag) ;
    case IMAPSK_KEYWORD: return (*e->v->keyword)(e->msg, k->s) ;
    case IMAPSK_SEQ: return imapseq_has(&k->set, (*e->v->seq)(e->msg), e->nmsgs) ;
    case IMAPSK_UID: return imapseq_has(&k->set, (*e->v->uid)(e->msg), e->maxuid) ;
    case IMAPSK_SAVED: return e->q->saved && imapseq_has_sorted(e->q->saved, (*e->v->uid)(e->msg)) ;
    case IMAPSK_LARGER: case IMAPSK_SMALLER:
      if ((r = (*e->v->size)(e->msg, &size)) <= 0) return r ;
      return k->key == IMAPSK_LARGER ? size > k->n : size < k->n ;
    case IMAPSK_HEADER: return header(e, k) ;
    case IMAPSK_BODY: case IMAPSK_TEXT: return (*e->v->text)(e->msg, k->key == IMAPSK_BODY, k->s, k->len) ;
    case IMAPSK_MODSEQ: return (*e->v->modseq)(e->msg) >= k->n ;
    default: return dates(e, k) ;
  }
}

int imapsearch_match(imapsearch *q, imapview const *v, void *msg, uint32_t nmsgs, uint32_t maxuid, int64_t now)
{
  ev e = { q, v, msg, nmsgs, maxuid, now, &q->scratch } ;
  return q->nnodes ? eval(&e, 0) : 0 ;
}
