/* imap-mailbox: SORT, UID SORT, THREAD, UID THREAD (RFC 5256) over the
   messages that match the search keys (imapd_searchmatch), with
   lib/imap/imapsort.h. The keys come from the message cache's header
   fields (imapd_headers): a warm folder opens no message file, except
   to stat one for its INTERNALDATE (ARRIVAL, or no valid Date:). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mime/mime.h"
#include "mime/mimeaddr.h"
#include "mime/mimeenv.h"
#include "imap/imapsort.h"
#include "imap/imapsearch.h"
#include "imapd/imapd.h"

enum { S_SUBJ, S_FROM, S_TO, S_CC, S_ID, S_REFS, S_IRT, S_N } ;
static char const *const fields[S_N] = { "subject", "from", "to", "cc", "message-id", "references", "in-reply-to" } ;
#define NONE ((size_t)-1)

/* The first address's mailbox in mimeaddr_list's form tmp: skip "((",
   the name and the route; the mailbox is a quoted string or a literal. */
static int mailbox (stralloc *pool, char const *p, char const *e)
{
  if (e - p < 2 || p[0] != '(' || p[1] != '(') return 0 ;
  p += 2 ;
  for (int k = 0 ; k < 3 ; k++)
  {
    while (p < e && *p == ' ') p++ ;
    if (p >= e) return 0 ;
    if (*p == 'N') { if (k == 2) return 0 ; p += 3 ; continue ; }
    if (*p == '{')
    {
      size_t n = 0 ;
      for (p++ ; p < e && *p >= '0' && *p <= '9' ; p++) n = n * 10 + (*p - '0') ;
      p += 3 ;   /* "}\r\n" */
      if (p > e || (size_t)(e - p) < n) return 0 ;
      if (k == 2) return stralloc_catb(pool, p, n) ? 1 : -1 ;
      p += n ;
      continue ;
    }
    if (*p != '"') return 0 ;
    for (p++ ; p < e && *p != '"' ; p++)
    {
      if (*p == '\\' && p + 1 < e) p++ ;
      if (k == 2 && !stralloc_catb(pool, p, 1)) return -1 ;
    }
    if (k == 2) return 1 ;
    p++ ;
  }
  return 0 ;
}

/* Field k of header h into pool (NUL-ended) at *at, or NONE. 0 ENOMEM. */
static int field (stralloc *pool, stralloc *tmp, mime_msg const *h, unsigned k, size_t *at, int *reply)
{
  mime_range r ;
  size_t was = pool->len ;
  int ok = 1 ;
  *at = NONE ;
  if (!mime_field(h, 0, fields[k], &r)) return 1 ;
  if (k == S_SUBJ) ok = imapsort_basesubj(pool, h->s + r.off, r.len, reply) ;
  else if (k >= S_ID) ok = mime_unfold(pool, h, r) ;
  else
  {
    int n ;
    tmp->len = 0 ;
    n = mimeaddr_list(tmp, h->s + r.off, r.len) ;
    if (n < 0) return 0 ;
    if (!n) return 1 ;
    n = mailbox(pool, tmp->s, tmp->s + tmp->len) ;
    if (n < 0) return 0 ;
    if (!n) { pool->len = was ; return 1 ; }
  }
  if (!ok || !stralloc_0(pool)) return 0 ;
  *at = was ;
  return 1 ;
}

/* Message i's record, the strings of the fields in need (bits 1 << S_)
   as offsets into pool (at[S_N]). */
static void fill (imapd *d, size_t i, imapsort_msg *m, stralloc *pool, stralloc *tmp, size_t *at, unsigned need, int arrival)
{
  imapmsg const *x = imapbox_msg(&d->box, i) ;
  mime_msg h = MIME_MSG_ZERO ;
  imapd_keys k ;
  for (unsigned k = 0 ; k < S_N ; k++) at[k] = NONE ;
  m->num = d->c.uid ? x->uid : i + 1 ;
  m->size = x->vsize ;
  m->date = IMAPSORT_NODATE ;
  if (!need && imapd_cache_keys(d, i, &k))
  {
    if (k.flags & KEYS_DATED) m->date = k.date ;
  }
  else if (imapd_headers(d, i, &h))
  {
    mime_range r ;
    int64_t t ;
    int zone ;
    if (mime_field(&h, 0, "date", &r) && imapd_rfcdate(h.s + r.off, h.s + r.off + r.len, &t, &zone)) m->date = t ;
    for (unsigned k = 0 ; k < S_N ; k++)
      if (need & 1u << k && !field(pool, tmp, &h, k, at + k, &m->reply)) { mime_free(&h) ; imapd_nomem(d) ; }
    mime_free(&h) ;
  }
  if (arrival || m->date == IMAPSORT_NODATE)
  {
    time_t t = imapbox_date(&d->box, i) ;
    m->arrival = t == (time_t)-1 ? 0 : t ;
  }
}

static char const *str (stralloc const *pool, size_t at) { return at == NONE ? 0 : pool->s + at ; }

/* The records of the messages that match the keys from argument 2 on.
   0: answered (BAD, NO). */
static int records (imapd *d, unsigned need, int arrival, imapsort_msg **mp, size_t *np, stralloc *pool)
{
  imapsearch q = IMAPSEARCH_ZERO ;
  char const *err, *cs ;
  size_t n = imapbox_len(&d->box), len, hits, *at ;
  stralloc tmp = STRALLOC_ZERO ;
  uint32_t *v ;
  imapsort_msg *m ;
  int r ;
  if (imapcmd_nargs(&d->c) < 3 || !imapcmd_astring(&d->c, imapcmd_arg(&d->c, 1), &cs, &len))
  { imapd_bad(d, "a charset and search keys are needed") ; return 0 ; }
  if (strcasecmp(cs, "UTF-8") && strcasecmp(cs, "US-ASCII"))
  { imapd_tagged(d, "NO", "BADCHARSET (UTF-8 US-ASCII)", "unknown charset") ; return 0 ; }
  r = imapsearch_parse(&d->c, imapcmd_arg(&d->c, 2), &q, &err) ;
  if (r == IMAPSEARCH_NOMEM) imapd_nomem(d) ;
  if (r == IMAPSEARCH_BADCHARSET) { imapsearch_free(&q) ; imapd_tagged(d, "NO", "BADCHARSET (UTF-8 US-ASCII)", "unknown charset") ; return 0 ; }
  if (r != IMAPSEARCH_OK || q.esearch) { imapsearch_free(&q) ; imapd_bad(d, r != IMAPSEARCH_OK ? err : "no RETURN here") ; return 0 ; }
  if (!imapd_search_rev2(d, &q)) { imapsearch_free(&q) ; return 0 ; }
  v = malloc((n ? n : 1) * sizeof *v) ;
  if (!v) imapd_nomem(d) ;
  hits = imapd_searchmatch(d, &q, v) ;
  imapsearch_free(&q) ;
  m = calloc(hits ? hits : 1, sizeof *m) ;
  at = malloc((hits ? hits : 1) * S_N * sizeof *at) ;
  if (!m || !at) imapd_nomem(d) ;
  for (size_t k = 0 ; k < hits ; k++) fill(d, v[k], &m[k], pool, &tmp, at + k * S_N, need, arrival) ;
  for (size_t k = 0 ; k < hits ; k++)
  {
    size_t const *a = at + k * S_N ;
    m[k].subj = str(pool, a[S_SUBJ]) ; m[k].from = str(pool, a[S_FROM]) ;
    m[k].to = str(pool, a[S_TO]) ; m[k].cc = str(pool, a[S_CC]) ;
    m[k].msgid = str(pool, a[S_ID]) ; m[k].refs = str(pool, a[S_REFS]) ; m[k].irt = str(pool, a[S_IRT]) ;
  }
  free(at) ;
  free(v) ;
  stralloc_free(&tmp) ;
  imapd_cache_done(d) ;
  *mp = m ; *np = hits ;
  return 1 ;
}

/* SORT's criteria (argument 0) into keys, the fields they need. 0: not
   valid. */
static int criteria (imapd *d, unsigned char *keys, size_t *nkeys, unsigned *need, int *arrival)
{
  uint32_t node = imapcmd_arg(&d->c, 0) ;
  unsigned char rev = 0 ;
  *nkeys = 0 ; *arrival = 0 ; *need = 0 ;
  if (!node || d->c.node[node].type != IMAPN_LIST) return 0 ;
  for (uint32_t k = d->c.node[node].child ; k ; k = d->c.node[k].next)
  {
    int key = d->c.node[k].type == IMAPN_ATOM ? imapsort_key(d->c.node[k].s, d->c.node[k].len) : -1 ;
    if (key < 0 || (rev && key == IMAPSORT_REVERSE)) return 0 ;
    if (key == IMAPSORT_REVERSE) { rev = IMAPSORT_REVERSE ; continue ; }
    if (*nkeys >= IMAPSORT_MAXKEYS) return 0 ;
    if (key == IMAPSORT_ARRIVAL) *arrival = 1 ;
    *need |= key == IMAPSORT_SUBJECT ? 1u << S_SUBJ : key == IMAPSORT_FROM ? 1u << S_FROM
           : key == IMAPSORT_TO ? 1u << S_TO : key == IMAPSORT_CC ? 1u << S_CC : 0 ;
    keys[(*nkeys)++] = key | rev ;
    rev = 0 ;
  }
  return *nkeys && !rev ;
}

void imapd_sort (imapd *d)
{
  unsigned char keys[IMAPSORT_MAXKEYS] ;
  size_t nkeys, n ;
  unsigned need ;
  int arrival ;
  imapsort_msg *m ;
  uint32_t *order ;
  stralloc pool = STRALLOC_ZERO ;
  if (!criteria(d, keys, &nkeys, &need, &arrival)) { imapd_bad(d, "invalid sort criteria") ; return ; }
  if (!records(d, need, arrival, &m, &n, &pool)) return ;
  order = malloc((n ? n : 1) * sizeof *order) ;
  if (!order || !imapsort_sort(order, m, n, keys, nkeys)) imapd_nomem(d) ;
  imapd_puts(d, "* SORT") ;
  for (size_t k = 0 ; k < n ; k++) { imapd_puts(d, " ") ; imapd_putu(d, m[order[k]].num) ; }
  imapd_puts(d, "\r\n") ;
  free(order) ;
  free(m) ;
  stralloc_free(&pool) ;
  imapd_tagged(d, "OK", 0, "SORT completed") ;
}

void imapd_thread (imapd *d)
{
  uint32_t node = imapcmd_arg(&d->c, 0) ;
  int alg = node && d->c.node[node].type == IMAPN_ATOM ? imapsort_threadalg(d->c.node[node].s, d->c.node[node].len) : -1 ;
  imapsort_tree t = IMAPSORT_TREE_ZERO ;
  imapsort_msg *m ;
  size_t n ;
  stralloc pool = STRALLOC_ZERO ;
  if (alg < 0) { imapd_bad(d, "unknown threading algorithm") ; return ; }
  if (!records(d, alg == IMAPSORT_REFERENCES ? 1u << S_SUBJ | 1u << S_ID | 1u << S_REFS | 1u << S_IRT : 1u << S_SUBJ,
               0, &m, &n, &pool)) return ;
  if (!imapsort_thread(&t, m, n, alg)) imapd_nomem(d) ;
  d->sa.len = 0 ;
  if (!imapsort_thread_fmt(&d->sa, &t, m)) imapd_nomem(d) ;
  imapd_puts(d, "* THREAD") ;   /* RFC 5256 thread-data: no SP without threads */
  if (d->sa.len) { imapd_puts(d, " ") ; imapd_put(d, d->sa.s, d->sa.len) ; }
  imapd_puts(d, "\r\n") ;
  imapsort_tree_free(&t) ;
  imapd_cache_done(d) ;
  free(m) ;
  stralloc_free(&pool) ;
  imapd_tagged(d, "OK", 0, "THREAD completed") ;
}
