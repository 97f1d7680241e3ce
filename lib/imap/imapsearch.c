/* SEARCH arguments: see imapsearch.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imapdate.h"
#include "imapflag.h"
#include "imapsearch.h"

typedef struct sp_s { imapcmd const *c ; imapsearch *q ; uint32_t at ; char const *err ; int nomem ; } sp ;

static uint32_t bad(sp *p, char const *err)
{
  if (!p->err) p->err = err ;
  return 0 ;
}

static uint32_t newsk(sp *p, unsigned char key)
{
  imapsearch *q = p->q ;
  if (q->nnodes >= IMAPSEARCH_MAXNODES) return bad(p, "search too complex") ;
  if (q->nnodes == q->cap) {
    uint32_t cap = q->cap ? q->cap * 2 : 16 ;
    imapsk *m = realloc(q->node, cap * sizeof *m) ;
    if (!m) { p->nomem = 1 ; return bad(p, "out of memory") ; }
    q->node = m ; q->cap = cap ;
  }
  memset(&q->node[q->nnodes], 0, sizeof *q->node) ;
  q->node[q->nnodes].key = key ;
  return q->nnodes++ ;
}

/* The next argument, consumed; 0 at the end. */
static uint32_t take(sp *p)
{
  uint32_t i = p->at ;
  if (i) p->at = p->c->node[i].next ;
  return i ;
}

static uint32_t wrap(sp *p, unsigned char key, uint32_t child)
{
  uint32_t i = child ? newsk(p, key) : 0 ;
  if (i) p->q->node[i].child = child ;
  return i ;
}

static uint32_t flag(sp *p, unsigned bit, int neg)
{
  uint32_t i = newsk(p, IMAPSK_FLAG) ;
  if (i) p->q->node[i].flag = bit ;
  return neg ? wrap(p, IMAPSK_NOT, i) : i ;
}

static uint32_t str(sp *p, unsigned char key, char const *hdr)
{
  uint32_t a = take(p), i ;
  char const *s ;
  size_t len ;
  if (!imapcmd_astring(p->c, a, &s, &len)) return bad(p, "string expected") ;
  if (!(i = newsk(p, key))) return 0 ;
  p->q->node[i].s = s ; p->q->node[i].len = len ; p->q->node[i].hdr = hdr ;
  return i ;
}

static uint32_t header(sp *p)
{
  uint32_t a = take(p), i ;
  char const *s ;
  size_t len ;
  if (!imapcmd_astring(p->c, a, &s, &len) || !len || len > 256 || memchr(s, ':', len) || strlen(s) != len)
    return bad(p, "bad header field name") ;
  if ((i = str(p, IMAPSK_HEADER, s))) p->q->node[i].hdr = s ;
  return i ;
}

static uint32_t date(sp *p, unsigned char key)
{
  uint32_t a = take(p), i ;
  char const *s ;
  size_t len ;
  int64_t day ;
  if (!a || p->c->node[a].type == IMAPN_LITERAL || !imapcmd_astring(p->c, a, &s, &len) || !imapdate_date(s, len, &day))
    return bad(p, "bad date") ;
  if ((i = newsk(p, key))) p->q->node[i].day = day ;
  return i ;
}

static uint32_t number(sp *p, unsigned char key, int nz)
{
  uint32_t a = take(p), i ;
  uint64_t n ;
  if (!imapcmd_number64(p->c, a, &n, nz)) return bad(p, "number expected") ;
  if ((i = newsk(p, key))) p->q->node[i].n = n ;
  return i ;
}

static uint32_t set(sp *p, unsigned char key, uint32_t a)
{
  uint32_t i ;
  int r ;
  if (!a || p->c->node[a].type != IMAPN_ATOM) return bad(p, "sequence set expected") ;
  if (!(i = newsk(p, key))) return 0 ;
  r = imapseq_parse(&p->q->node[i].set, p->c->node[a].s, p->c->node[a].len) ;
  if (r < 0) p->nomem = 1 ;
  return r == 1 ? i : bad(p, r ? "out of memory" : "bad sequence set") ;
}

/* MODSEQ ["entry-name" entry-type] n (RFC 7162 3.1.5) */
static uint32_t modseq(sp *p)
{
  uint32_t a = p->at ;
  if (a && p->c->node[a].type == IMAPN_QUOTED) {
    take(p) ;
    a = take(p) ;
    if (!imapcmd_isatom(p->c, a, "all") && !imapcmd_isatom(p->c, a, "shared") && !imapcmd_isatom(p->c, a, "priv"))
      return bad(p, "bad MODSEQ entry type") ;
  }
  return number(p, IMAPSK_MODSEQ, 0) ;
}

static uint32_t key(sp *p, unsigned depth) ;

/* Keys until the list ends, as the children of an AND. */
static uint32_t and(sp *p, uint32_t first, unsigned depth)
{
  uint32_t i = newsk(p, IMAPSK_AND), prev = 0, save = p->at ;
  if (!i) return 0 ;
  if (!first) return bad(p, "missing search key") ;
  p->at = first ;
  while (p->at) {
    uint32_t k = key(p, depth + 1) ;
    if (!k) return 0 ;
    if (prev) p->q->node[prev].next = k ; else p->q->node[i].child = k ;
    prev = k ;
  }
  p->at = save ;
  return i ;
}

static uint32_t or(sp *p, unsigned depth)
{
  uint32_t a = key(p, depth + 1), b = a ? key(p, depth + 1) : 0 ;
  if (!b) return 0 ;
  p->q->node[a].next = b ;
  return wrap(p, IMAPSK_OR, a) ;
}

static struct { char const *name ; unsigned char kind ; unsigned arg ; char const *hdr ; } const keys[] = {
  { "ANSWERED", 'f', IMAPFLAG_ANSWERED, 0 }, { "DELETED", 'f', IMAPFLAG_DELETED, 0 },
  { "DRAFT", 'f', IMAPFLAG_DRAFT, 0 }, { "FLAGGED", 'f', IMAPFLAG_FLAGGED, 0 },
  { "SEEN", 'f', IMAPFLAG_SEEN, 0 }, { "RECENT", 'f', IMAPFLAG_RECENT, 0 },
  { "UNANSWERED", 'u', IMAPFLAG_ANSWERED, 0 }, { "UNDELETED", 'u', IMAPFLAG_DELETED, 0 },
  { "UNDRAFT", 'u', IMAPFLAG_DRAFT, 0 }, { "UNFLAGGED", 'u', IMAPFLAG_FLAGGED, 0 },
  { "UNSEEN", 'u', IMAPFLAG_SEEN, 0 }, { "OLD", 'u', IMAPFLAG_RECENT, 0 },
  { "BCC", 's', IMAPSK_HEADER, "Bcc" }, { "CC", 's', IMAPSK_HEADER, "Cc" }, { "FROM", 's', IMAPSK_HEADER, "From" },
  { "SUBJECT", 's', IMAPSK_HEADER, "Subject" }, { "TO", 's', IMAPSK_HEADER, "To" },
  { "BODY", 's', IMAPSK_BODY, 0 }, { "TEXT", 's', IMAPSK_TEXT, 0 },
  { "BEFORE", 'd', IMAPSK_BEFORE, 0 }, { "ON", 'd', IMAPSK_ON, 0 }, { "SINCE", 'd', IMAPSK_SINCE, 0 },
  { "SENTBEFORE", 'd', IMAPSK_SENTBEFORE, 0 }, { "SENTON", 'd', IMAPSK_SENTON, 0 }, { "SENTSINCE", 'd', IMAPSK_SENTSINCE, 0 },
  { "LARGER", 'n', IMAPSK_LARGER, 0 }, { "SMALLER", 'n', IMAPSK_SMALLER, 0 },
  { "OLDER", 'z', IMAPSK_OLDER, 0 }, { "YOUNGER", 'z', IMAPSK_YOUNGER, 0 },
} ;

static uint32_t named(sp *p, char const *s, unsigned depth)
{
  for (size_t k = 0 ; k < sizeof keys / sizeof *keys ; k++) {
    if (strcasecmp(s, keys[k].name)) continue ;
    switch (keys[k].kind) {
      case 'f': case 'u': return flag(p, keys[k].arg, keys[k].kind == 'u') ;
      case 's': return str(p, keys[k].arg, keys[k].hdr) ;
      case 'd': return date(p, keys[k].arg) ;
      default: return number(p, keys[k].arg, keys[k].kind == 'z') ;
    }
  }
  if (!strcasecmp(s, "ALL")) return newsk(p, IMAPSK_ALL) ;
  if (!strcasecmp(s, "NEW")) {
    uint32_t a = flag(p, IMAPFLAG_RECENT, 0), b = a ? flag(p, IMAPFLAG_SEEN, 1) : 0 ;
    if (!b) return 0 ;
    p->q->node[a].next = b ;
    return wrap(p, IMAPSK_AND, a) ;
  }
  if (!strcasecmp(s, "KEYWORD") || !strcasecmp(s, "UNKEYWORD")) {
    uint32_t a = take(p), i ;
    if (!a || p->c->node[a].type != IMAPN_ATOM || !imapflag_iskeyword(p->c->node[a].s, p->c->node[a].len)) return bad(p, "bad keyword") ;
    if (!(i = newsk(p, IMAPSK_KEYWORD))) return 0 ;
    p->q->node[i].s = p->c->node[a].s ; p->q->node[i].len = p->c->node[a].len ;
    return s[0] == 'U' || s[0] == 'u' ? wrap(p, IMAPSK_NOT, i) : i ;
  }
  if (!strcasecmp(s, "HEADER")) return header(p) ;
  if (!strcasecmp(s, "UID")) {
    uint32_t a = take(p) ;
    /* RFC 5182 2.1: "$" is the saved messages, with or without UID */
    if (a && p->c->node[a].type == IMAPN_ATOM && imapseq_issaved(p->c->node[a].s, p->c->node[a].len)) return newsk(p, IMAPSK_SAVED) ;
    return set(p, IMAPSK_UID, a) ;
  }
  if (!strcasecmp(s, "NOT")) return wrap(p, IMAPSK_NOT, key(p, depth + 1)) ;
  if (!strcasecmp(s, "OR")) return or(p, depth) ;
  if (!strcasecmp(s, "MODSEQ")) return modseq(p) ;
  return bad(p, "unknown search key") ;
}

static uint32_t key(sp *p, unsigned depth)
{
  uint32_t a = take(p) ;
  imapnode const *x ;
  if (!a) return bad(p, "missing search key") ;
  if (depth > IMAPSEARCH_MAXDEPTH) return bad(p, "search nested too deep") ;
  x = &p->c->node[a] ;
  if (x->type == IMAPN_LIST) return and(p, x->child, depth) ;
  if (x->type != IMAPN_ATOM) return bad(p, "search key expected") ;
  if (imapseq_issaved(x->s, x->len)) return newsk(p, IMAPSK_SAVED) ;
  if ((x->s[0] >= '0' && x->s[0] <= '9') || x->s[0] == '*') return set(p, IMAPSK_SEQ, a) ;
  return named(p, x->s, depth) ;
}

static int ret(sp *p, uint32_t l)
{
  static char const *const opts[] = { "MIN", "MAX", "ALL", "COUNT", "SAVE" } ;
  p->q->esearch = 1 ;
  for (uint32_t k = p->c->node[l].child ; k ; k = p->c->node[k].next) {
    unsigned j = 0 ;
    while (j < 5 && !imapcmd_isatom(p->c, k, opts[j])) j++ ;
    if (j == 5) return bad(p, "bad RETURN option"), 0 ;
    p->q->ret |= 1u << j ;
  }
  if (!p->q->ret) p->q->ret = IMAPSR_ALL ;
  return 1 ;
}

int imapsearch_parse(imapcmd const *c, uint32_t i, imapsearch *q, char const **err)
{
  sp p = { .c = c, .q = q, .at = i } ;
  uint32_t top ;
  for (uint32_t k = 0 ; k < q->nnodes ; k++) imapseq_free(&q->node[k].set) ;
  q->nnodes = 0 ; q->esearch = 0 ; q->ret = 0 ;
  /* node 0, the root, is made first: 0 is "none" while parsing */
  newsk(&p, IMAPSK_AND) ;
  if (!q->nnodes) { *err = "out of memory" ; return IMAPSEARCH_NOMEM ; }
  if (imapcmd_isatom(c, p.at, "RETURN")) {
    take(&p) ;
    if (!p.at || c->node[p.at].type != IMAPN_LIST) { *err = "RETURN needs a list" ; return IMAPSEARCH_BAD ; }
    if (!ret(&p, take(&p))) { *err = p.err ; return IMAPSEARCH_BAD ; }
  }
  if (imapcmd_isatom(c, p.at, "CHARSET")) {
    char const *s ;
    size_t len ;
    take(&p) ;
    if (!imapcmd_astring(c, take(&p), &s, &len)) { *err = "bad charset" ; return IMAPSEARCH_BAD ; }
    if (strcasecmp(s, "UTF-8") && strcasecmp(s, "US-ASCII")) { *err = "[BADCHARSET (UTF-8 US-ASCII)] unknown charset" ; return IMAPSEARCH_BADCHARSET ; }
  }
  if ((top = and(&p, p.at, 0))) { q->node[0].child = top ; return IMAPSEARCH_OK ; }
  *err = p.err ? p.err : "bad search" ;
  return p.nomem ? IMAPSEARCH_NOMEM : IMAPSEARCH_BAD ;
}

int imapsearch_wantsave(imapcmd const *c, uint32_t i)
{
  if (!imapcmd_isatom(c, i, "RETURN")) return 0 ;
  i = c->node[i].next ;
  if (!i || c->node[i].type != IMAPN_LIST) return 0 ;
  for (uint32_t k = c->node[i].child ; k ; k = c->node[k].next)
    if (imapcmd_isatom(c, k, "SAVE")) return 1 ;
  return 0 ;
}

size_t imapsearch_savedpart(unsigned ret, uint32_t *v, size_t n)
{
  if (!n || ret & (IMAPSR_ALL | IMAPSR_COUNT) || !(ret & (IMAPSR_MIN | IMAPSR_MAX))) return n ;
  if (!(ret & IMAPSR_MIN)) { v[0] = v[n-1] ; return 1 ; }
  if (!(ret & IMAPSR_MAX) || n == 1) return 1 ;
  v[1] = v[n-1] ;
  return 2 ;
}

void imapsearch_free(imapsearch *q)
{
  for (uint32_t k = 0 ; k < q->nnodes ; k++) imapseq_free(&q->node[k].set) ;
  free(q->node) ;
  q->node = 0 ; q->nnodes = q->cap = 0 ;
  stralloc_free(&q->scratch) ;
}
