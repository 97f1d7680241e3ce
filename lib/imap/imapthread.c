/* RFC 5256 section 4: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES, and
   the THREAD response's tree form. Indexes, never pointers, into the
   node array (it grows); walks are iterative (a thread may be 10,000
   deep). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>
#include "imap/imapsort.h"

#define NONE IMAPSORT_NONE

typedef struct ctx_s ctx ;
struct ctx_s { imapsort_tree *t ; imapsort_msg const *m ; } ;

static uint32_t newnode(imapsort_tree *t, uint32_t msg)
{
  if (t->n == t->cap)
  {
    uint32_t cap = t->cap ? t->cap * 2 : 64 ;
    imapsort_node *x ;
    if (cap <= t->cap) return NONE ;
    x = realloc(t->node, (size_t)cap * sizeof *x) ;
    if (!x) return NONE ;
    t->node = x ; t->cap = cap ;
  }
  imapsort_node *x = t->node + t->n ;
  x->msg = msg ; x->parent = x->first = x->last = x->next = x->prev = NONE ;
  return t->n++ ;
}

static void unlink_node(imapsort_tree *t, uint32_t x)
{
  imapsort_node *a = t->node ;
  uint32_t p = a[x].parent ;
  if (p == NONE) return ;
  if (a[x].prev != NONE) a[a[x].prev].next = a[x].next ; else a[p].first = a[x].next ;
  if (a[x].next != NONE) a[a[x].next].prev = a[x].prev ; else a[p].last = a[x].prev ;
  a[x].parent = a[x].prev = a[x].next = NONE ;
}

static void append(imapsort_tree *t, uint32_t p, uint32_t x)
{
  imapsort_node *a = t->node ;
  a[x].parent = p ; a[x].next = NONE ; a[x].prev = a[p].last ;
  if (a[p].last != NONE) a[a[p].last].next = x ; else a[p].first = x ;
  a[p].last = x ;
}

/* Replace x in its parent's list by its children (x left alone, empty). */
static void splice(imapsort_tree *t, uint32_t x)
{
  imapsort_node *a = t->node ;
  uint32_t p = a[x].parent, f = a[x].first, l = a[x].last ;
  if (f == NONE) { unlink_node(t, x) ; return ; }
  for (uint32_t c = f ; c != NONE ; c = a[c].next) a[c].parent = p ;
  a[f].prev = a[x].prev ; a[l].next = a[x].next ;
  if (a[x].prev != NONE) a[a[x].prev].next = f ; else a[p].first = f ;
  if (a[x].next != NONE) a[a[x].next].prev = l ; else a[p].last = l ;
  a[x].parent = a[x].prev = a[x].next = a[x].first = a[x].last = NONE ;
}

/* Would making p the parent of c make a loop (p is c or under c)? */
static int loops(imapsort_tree const *t, uint32_t p, uint32_t c)
{
  if (p == c) return 1 ;
  if (t->node[c].first == NONE) return 0 ;
  for (; p != NONE ; p = t->node[p].parent) if (p == c) return 1 ;
  return 0 ;
}

/* Nodes under root in pre-order into *v (malloc'd): no stack needed,
   the parent links lead back up. */
static uint32_t *preorder(imapsort_tree const *t, uint32_t *len)
{
  imapsort_node const *a = t->node ;
  uint32_t *v = malloc((size_t)t->n * sizeof *v), k = 0, x = a[t->root].first ;
  if (!v) return 0 ;
  while (x != NONE)
  {
    v[k++] = x ;
    if (a[x].first != NONE) { x = a[x].first ; continue ; }
    while (x != NONE && a[x].next == NONE) { x = a[x].parent ; if (x == t->root) x = NONE ; }
    if (x != NONE) x = a[x].next ;
  }
  *len = k ;
  return v ;
}

/* The message a node sorts by: its own, or a dummy's first child's. */
static uint32_t keymsg(imapsort_tree const *t, uint32_t x)
{
  while (x != NONE && t->node[x].msg == NONE) x = t->node[x].first ;
  return x == NONE ? NONE : t->node[x].msg ;
}

static int cmpdate(void const *c, uint32_t x, uint32_t y)
{
  ctx const *k = c ;
  uint32_t a = keymsg(k->t, x), b = keymsg(k->t, y) ;
  if (a == NONE || b == NONE) return (a == NONE) - (b == NONE) ;
  int64_t da = imapsort_sentdate(k->m + a), db = imapsort_sentdate(k->m + b) ;
  if (da != db) return da < db ? -1 : 1 ;
  return a < b ? -1 : a > b ;
}

/* Steps 4 and 6: every set of siblings by sent date, deepest first. */
static int sortall(ctx *c)
{
  imapsort_tree *t = c->t ;
  uint32_t len, *v = preorder(t, &len), *kids = 0, cap = 0 ;
  int ok = 1 ;
  if (!v) return 0 ;
  for (uint32_t i = len + 1 ; ok && i-- > 0 ;)   /* the root last */
  {
    uint32_t p = i ? v[i-1] : t->root, k = 0 ;
    if (t->node[p].first == NONE || t->node[p].first == t->node[p].last) continue ;
    for (uint32_t x = t->node[p].first ; x != NONE ; x = t->node[x].next)
    {
      if (k == cap)
      {
        uint32_t *y = realloc(kids, (size_t)(cap = cap * 2 + 16) * sizeof *y) ;
        if (!y) { ok = 0 ; break ; }
        kids = y ;
      }
      kids[k++] = x ;
    }
    if (!ok || !imapsort_msort(kids, k, &cmpdate, c)) { ok = 0 ; break ; }
    t->node[p].first = t->node[p].last = NONE ;
    for (uint32_t j = 0 ; j < k ; j++) append(t, p, kids[j]) ;
  }
  free(kids) ; free(v) ;
  return ok ;
}

/* Step 3: dummies without children go, a dummy's children take its
   place, except at the top where only a lone child is promoted. */
static int prune(imapsort_tree *t)
{
  uint32_t len, *v = preorder(t, &len) ;
  if (!v) return 0 ;
  for (uint32_t i = len ; i-- > 0 ;)
  {
    uint32_t x = v[i] ;
    imapsort_node const *a = t->node ;
    if (a[x].msg != NONE) continue ;
    if (a[x].parent != t->root || a[x].first == a[x].last) splice(t, x) ;
  }
  free(v) ;
  return 1 ;
}

/* The id table: msg-id -> node, open addressing. */
typedef struct idtab_s idtab ;
struct idtab_s { struct ident { char const *s ; uint32_t len, node ; } *e ; uint32_t n, cap ; } ;

static uint32_t hash(char const *s, size_t n)
{
  uint32_t h = 2166136261u ;
  while (n--) h = (h ^ (unsigned char)*s++) * 16777619u ;
  return h ;
}

static struct ident *idfind(idtab *d, char const *s, uint32_t len)
{
  uint32_t i = hash(s, len) & (d->cap - 1) ;
  for (;; i = (i + 1) & (d->cap - 1))
    if (!d->e[i].s || (d->e[i].len == len && !memcmp(d->e[i].s, s, len))) return d->e + i ;
}

static int idgrow(idtab *d)
{
  idtab b = { 0, 0, d->cap ? d->cap * 2 : 1024 } ;
  if (b.cap < d->cap) return 0 ;
  b.e = calloc(b.cap, sizeof *b.e) ;
  if (!b.e) return 0 ;
  for (uint32_t i = 0 ; i < d->cap ; i++)
    if (d->e[i].s) *idfind(&b, d->e[i].s, d->e[i].len) = d->e[i] ;
  b.n = d->n ;
  free(d->e) ;
  *d = b ;
  return 1 ;
}

/* The node of id s[0..len), made a dummy if new; NONE on ENOMEM. */
static uint32_t idnode(idtab *d, imapsort_tree *t, char const *s, uint32_t len, uint32_t msg)
{
  struct ident *e ;
  if ((d->n + 1) * 2 > d->cap && !idgrow(d)) return NONE ;
  e = idfind(d, s, len) ;
  if (e->s)
  {
    if (msg == NONE) return e->node ;
    if (t->node[e->node].msg == NONE) { t->node[e->node].msg = msg ; return e->node ; }
    return newnode(t, msg) ;   /* a duplicate Message-ID: a unique one */
  }
  e->node = newnode(t, msg) ;
  if (e->node == NONE) return NONE ;
  e->s = s ; e->len = len ; d->n++ ;
  return e->node ;
}

/* The next msg-id "<...>" of s from *pos: its inside, or 0. An id with
   white space or '<' inside, empty or too long is skipped. */
static char const *nextid(char const *s, size_t *pos, uint32_t *len)
{
  for (;;)
  {
    char const *b = strchr(s + *pos, '<'), *e ;
    if (!b) return 0 ;
    e = b + 1 + strcspn(b + 1, "<> \t\r\n") ;
    *pos = e - s ;
    if (*e != '>') continue ;
    (*pos)++ ;
    if (e - b - 1 < 1 || e - b - 1 > IMAPSORT_MAXID) continue ;
    *len = e - b - 1 ;
    return b + 1 ;
  }
}

struct ref { char const *s ; uint32_t len ; } ;

/* The references of m: the last IMAPSORT_MAXREFS of References, else the
   first of In-Reply-To, into r (IMAPSORT_MAXREFS, used as a ring). */
static uint32_t refs(imapsort_msg const *m, struct ref *r, uint32_t *first)
{
  size_t pos = 0 ;
  uint32_t n = 0, len ;
  char const *s ;
  while (m->refs && (s = nextid(m->refs, &pos, &len)))
    r[n++ % IMAPSORT_MAXREFS] = (struct ref){ s, len } ;
  *first = n > IMAPSORT_MAXREFS ? n % IMAPSORT_MAXREFS : 0 ;
  if (n > IMAPSORT_MAXREFS) return IMAPSORT_MAXREFS ;
  if (!n && m->irt && (s = nextid(m->irt, &pos, &len))) { r[0] = (struct ref){ s, len } ; n = 1 ; }
  return n ;
}

/* Step 1 for message i. */
static int link1(imapsort_tree *t, idtab *d, imapsort_msg const *m, uint32_t i, struct ref *r)
{
  size_t pos = 0 ;
  uint32_t len, first, nr = refs(m + i, r, &first), prev = NONE, x ;
  char const *id = m[i].msgid ? nextid(m[i].msgid, &pos, &len) : 0 ;
  x = id ? idnode(d, t, id, len, i) : newnode(t, i) ;
  if (x == NONE) return 0 ;
  for (uint32_t k = 0 ; k < nr ; k++)   /* A */
  {
    struct ref const *e = r + (first + k) % IMAPSORT_MAXREFS ;
    uint32_t c = idnode(d, t, e->s, e->len, NONE) ;
    if (c == NONE) return 0 ;
    if (prev != NONE && t->node[c].parent == NONE && !loops(t, prev, c)) append(t, prev, c) ;
    prev = c ;
  }
  if (prev == NONE) unlink_node(t, x) ;   /* B */
  else if (t->node[x].parent != prev && !loops(t, prev, x))
  {
    unlink_node(t, x) ;
    append(t, prev, x) ;
  }
  return 1 ;
}

static char const *subjof(ctx const *c, uint32_t x)
{
  uint32_t k = keymsg(c->t, x) ;
  char const *s = k == NONE ? 0 : c->m[k].subj ;
  return s ? s : "" ;
}

static uint32_t casehash(char const *s)
{
  uint32_t h = 2166136261u ;
  for (; *s ; s++) h = (h ^ (unsigned char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s)) * 16777619u ;
  return h ;
}

static uint32_t *subjslot(ctx const *c, uint32_t *tab, uint32_t cap, char const *s)
{
  for (uint32_t i = casehash(s) & (cap - 1) ;; i = (i + 1) & (cap - 1))
    if (tab[i] == NONE || !imapsort_casecmp(subjof(c, tab[i]), s)) return tab + i ;
}

#define DUMMY(x) (t->node[x].msg == NONE)
#define REPLY(x) (!DUMMY(x) && c->m[t->node[x].msg].reply)

/* Step 5B for root r against the table's root u. */
static int merge(ctx *c, uint32_t *slot, uint32_t r)
{
  imapsort_tree *t = c->t ;
  uint32_t u = *slot, d ;
  if (DUMMY(u) && DUMMY(r))
  {
    while (t->node[r].first != NONE) { uint32_t k = t->node[r].first ; unlink_node(t, k) ; append(t, u, k) ; }
    unlink_node(t, r) ;
  }
  else if (DUMMY(u) || (REPLY(r) && !REPLY(u))) { unlink_node(t, r) ; append(t, u, r) ; }
  else if (DUMMY(r)) { unlink_node(t, u) ; append(t, r, u) ; *slot = r ; }
  else
  {
    if ((d = newnode(t, NONE)) == NONE) return 0 ;
    append(t, t->root, d) ;
    unlink_node(t, u) ; append(t, d, u) ;
    unlink_node(t, r) ; append(t, d, r) ;
    *slot = d ;
  }
  return 1 ;
}

/* Step 5: roots with the same base subject gathered. */
static int bysubject(ctx *c)
{
  imapsort_tree *t = c->t ;
  uint32_t n = 0, cap = 16, *tab, x ;
  for (x = t->node[t->root].first ; x != NONE ; x = t->node[x].next) n++ ;
  while (cap < 2 * n) cap *= 2 ;
  tab = malloc((size_t)cap * sizeof *tab) ;
  if (!tab) return 0 ;
  memset(tab, 0xff, (size_t)cap * sizeof *tab) ;
  for (x = t->node[t->root].first ; x != NONE ; x = t->node[x].next)
  {
    char const *s = subjof(c, x) ;
    uint32_t *p ;
    if (!*s) continue ;
    p = subjslot(c, tab, cap, s) ;
    if (*p == NONE || (!DUMMY(*p) && (DUMMY(x) || (REPLY(*p) && !REPLY(x))))) *p = x ;
  }
  /* B over a copy of the roots: merging moves them */
  uint32_t *v = malloc((size_t)(n ? n : 1) * sizeof *v), k = 0 ;
  if (!v) { free(tab) ; return 0 ; }
  for (x = t->node[t->root].first ; x != NONE ; x = t->node[x].next) v[k++] = x ;
  for (uint32_t i = 0 ; i < n ; i++)
  {
    char const *s = subjof(c, v[i]) ;
    uint32_t *p ;
    if (!*s) continue ;
    p = subjslot(c, tab, cap, s) ;
    if (*p != v[i] && !merge(c, p, v[i])) { free(v) ; free(tab) ; return 0 ; }
  }
  free(v) ;
  free(tab) ;
  return 1 ;
}

static int references(ctx *c, size_t n)
{
  idtab d = { 0, 0, 0 } ;
  struct ref *r = malloc(IMAPSORT_MAXREFS * sizeof *r) ;
  int ok = !!r ;
  for (uint32_t i = 0 ; ok && i < n ; i++) ok = link1(c->t, &d, c->m, i, r) ;
  free(r) ; free(d.e) ;
  if (!ok) return 0 ;
  for (uint32_t x = 1 ; x < c->t->n ; x++)   /* step 2 */
    if (c->t->node[x].parent == NONE) append(c->t, c->t->root, x) ;
  return prune(c->t) && sortall(c) && bysubject(c) && sortall(c) ;
}

static int cmpsubj(void const *k, uint32_t x, uint32_t y)
{
  imapsort_msg const *m = k ;
  int d = imapsort_casecmp(m[x].subj, m[y].subj) ;
  int64_t a = imapsort_sentdate(m + x), b = imapsort_sentdate(m + y) ;
  if (d) return d ;
  if (a != b) return a < b ? -1 : 1 ;
  return x < y ? -1 : x > y ;
}

static int orderedsubject(ctx *c, size_t n)
{
  uint32_t *v = malloc((n ? n : 1) * sizeof *v), top = NONE ;
  if (!v) return 0 ;
  for (uint32_t i = 0 ; i < n ; i++) v[i] = i ;
  if (!imapsort_msort(v, n, &cmpsubj, c->m)) { free(v) ; return 0 ; }
  for (uint32_t i = 0 ; i < n ; i++)
  {
    uint32_t x = newnode(c->t, v[i]) ;
    if (x == NONE) { free(v) ; return 0 ; }
    if (i && !imapsort_casecmp(c->m[v[i]].subj, c->m[v[i-1]].subj)) append(c->t, top, x) ;
    else append(c->t, c->t->root, top = x) ;
  }
  free(v) ;
  return sortall(c) ;
}

int imapsort_thread(imapsort_tree *t, imapsort_msg const *m, size_t n, int alg)
{
  ctx c = { t, m } ;
  t->n = 0 ;
  if (n > IMAPSORT_MAXMSGS) return 0 ;
  t->root = newnode(t, NONE) ;
  if (t->root == NONE) return 0 ;
  if (alg == IMAPSORT_ORDEREDSUBJECT) return orderedsubject(&c, n) ;
  if (alg == IMAPSORT_REFERENCES) return references(&c, n) ;
  return 0 ;
}

int imapsort_threadalg(char const *s, size_t n)
{
  if (n == 14 && !strncasecmp(s, "ORDEREDSUBJECT", 14)) return IMAPSORT_ORDEREDSUBJECT ;
  if (n == 10 && !strncasecmp(s, "REFERENCES", 10)) return IMAPSORT_REFERENCES ;
  return -1 ;
}

/* One thread at top-level node x: a lone child follows its parent after a
   space, several are each in parentheses; a dummy writes no number. */
static int fmt1(stralloc *sa, imapsort_tree const *t, imapsort_msg const *m, uint32_t x, uint32_t **stk, uint32_t *cap)
{
  imapsort_node const *a = t->node ;
  uint32_t sp = 0 ;
  char fmt[UINT32_FMT] ;
  if (!stralloc_catb(sa, "(", 1)) return 0 ;
  for (;;)
  {
    int many = a[x].first != NONE && (a[x].msg == NONE || a[x].first != a[x].last) ;
    if (a[x].msg != NONE && !stralloc_catb(sa, fmt, uint32_fmt(fmt, m[a[x].msg].num))) return 0 ;
    if (a[x].first != NONE)
    {
      if (!many) { if (!stralloc_catb(sa, " ", 1)) return 0 ; x = a[x].first ; continue ; }
      if (sp == *cap)
      {
        uint32_t *y = realloc(*stk, (size_t)(*cap = *cap * 2 + 64) * sizeof *y) ;
        if (!y) return 0 ;
        *stk = y ;
      }
      if (!stralloc_cats(sa, a[x].msg == NONE ? "(" : " (")) return 0 ;
      (*stk)[sp++] = a[a[x].first].next ;
      x = a[x].first ;
      continue ;
    }
    for (;;)
    {
      if (!sp) return stralloc_catb(sa, ")", 1) ;
      if (!stralloc_catb(sa, ")", 1)) return 0 ;
      x = (*stk)[sp-1] ;
      if (x == NONE) { sp-- ; continue ; }
      (*stk)[sp-1] = a[x].next ;
      if (!stralloc_catb(sa, "(", 1)) return 0 ;
      break ;
    }
  }
}

int imapsort_thread_fmt(stralloc *sa, imapsort_tree const *t, imapsort_msg const *m)
{
  uint32_t *stk = 0, cap = 0 ;
  int ok = 1 ;
  if (t->node)
    for (uint32_t x = t->node[t->root].first ; ok && x != NONE ; x = t->node[x].next)
      ok = fmt1(sa, t, m, x, &stk, &cap) ;
  free(stk) ;
  return ok ;
}

void imapsort_tree_free(imapsort_tree *t)
{
  free(t->node) ;
  *t = (imapsort_tree)IMAPSORT_TREE_ZERO ;
}
