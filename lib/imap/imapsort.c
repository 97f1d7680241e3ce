/* RFC 5256: base subject (2.1) and SORT (3). Threads: imapthread.c. */
#include <stdlib.h>
#include <string.h>
#include <skalibs/stralloc.h>
#include "imap/imapsort.h"
#include "mime/mimeword.h"

static int up(unsigned char c) { return c >= 'a' && c <= 'z' ? c - 32 : c ; }

int imapsort_casecmp(char const *a, char const *b)
{
  unsigned char const *x = (unsigned char const *)(a ? a : "") ;
  unsigned char const *y = (unsigned char const *)(b ? b : "") ;
  for (;; x++, y++)
  {
    int d = up(*x) - up(*y) ;
    if (d || !*x) return d ;
  }
}

static int isprefix(char const *s, size_t n, char const *p)
{
  size_t k = strlen(p) ;
  if (n < k) return 0 ;
  for (size_t i = 0 ; i < k ; i++) if (up(s[i]) != up(p[i])) return 0 ;
  return 1 ;
}

/* A subj-blob "[" *BLOBCHAR "]" *WSP at s: its length, or 0. */
static size_t blob(char const *s, size_t n)
{
  size_t i = 1 ;
  if (!n || s[0] != '[') return 0 ;
  while (i < n && s[i] != ']' && s[i] != '[') i++ ;
  if (i >= n || s[i] != ']') return 0 ;
  for (i++ ; i < n && s[i] == ' ' ; i++) ;
  return i ;
}

/* A subj-leader's subj-refwd after *subj-blob at s: its length, or 0. */
static size_t refwd(char const *s, size_t n)
{
  size_t i = 0, k ;
  while ((k = blob(s + i, n - i))) i += k ;
  if (isprefix(s + i, n - i, "re")) i += 2 ;
  else if (isprefix(s + i, n - i, "fwd")) i += 3 ;
  else if (isprefix(s + i, n - i, "fw")) i += 2 ;
  else return 0 ;
  while (i < n && s[i] == ' ') i++ ;
  i += blob(s + i, n - i) ;
  return i < n && s[i] == ':' ? i + 1 : 0 ;
}

/* Steps 3 to 5 on s[*b..*e): leaders and leading blobs. */
static void leaders(char const *s, size_t *b, size_t e, int *reply)
{
  for (;;)
  {
    size_t k ;
    if (*b < e && s[*b] == ' ') { (*b)++ ; continue ; }
    k = refwd(s + *b, e - *b) ;
    if (k) { *b += k ; *reply = 1 ; continue ; }
    k = blob(s + *b, e - *b) ;
    if (k && *b + k < e) { *b += k ; continue ; }
    return ;
  }
}

int imapsort_basesubj(stralloc *sa, char const *s, size_t n, int *reply)
{
  stralloc t = STRALLOC_ZERO ;
  size_t b = 0, e = 0, i ;
  *reply = 0 ;
  if (n > IMAPSORT_MAXSUBJ) n = IMAPSORT_MAXSUBJ ;
  if (!stralloc_ready(&t, 1) || !mime_words(&t, s, n)) goto nomem ;   /* t.s never null */
  /* step 1: every run of WSP (and stray line ends) becomes one space */
  for (i = 0 ; i < t.len ; i++)
  {
    char c = t.s[i] ;
    if (c == '\t' || c == '\r' || c == '\n') c = ' ' ;
    if (c == ' ' && (!e || t.s[e-1] == ' ')) continue ;
    t.s[e++] = c ;
  }
  for (;;)
  {
    for (;;)   /* step 2: trailers */
    {
      while (e > b && t.s[e-1] == ' ') e-- ;
      if (e - b >= 5 && isprefix(t.s + e - 5, 5, "(fwd)")) { e -= 5 ; *reply = 1 ; }
      else break ;
    }
    leaders(t.s, &b, e, reply) ;
    /* step 6: [fwd: ...] wrapper, then again from step 2 */
    if (e - b >= 6 && isprefix(t.s + b, e - b, "[fwd:") && t.s[e-1] == ']')
    {
      b += 5 ; e-- ; *reply = 1 ;
      continue ;
    }
    break ;
  }
  if (!stralloc_catb(sa, t.s + b, e - b)) goto nomem ;
  stralloc_free(&t) ;
  return 1 ;
 nomem:
  stralloc_free(&t) ;
  return 0 ;
}

int imapsort_key(char const *s, size_t n)
{
  static char const *const names[] = { "REVERSE", "ARRIVAL", "CC", "DATE",
    "FROM", "SIZE", "SUBJECT", "TO" } ;
  for (int i = 0 ; i < 8 ; i++)
    if (strlen(names[i]) == n && isprefix(s, n, names[i]))
      return i ? i : IMAPSORT_REVERSE ;
  return -1 ;
}

int64_t imapsort_sentdate(imapsort_msg const *m)
{
  return m->date == IMAPSORT_NODATE ? m->arrival : m->date ;
}

#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b))

static int cmpkey(imapsort_msg const *a, imapsort_msg const *b, int key)
{
  switch (key)
  {
    case IMAPSORT_ARRIVAL: return CMP(a->arrival, b->arrival) ;
    case IMAPSORT_CC: return imapsort_casecmp(a->cc, b->cc) ;
    case IMAPSORT_DATE: return CMP(imapsort_sentdate(a), imapsort_sentdate(b)) ;
    case IMAPSORT_FROM: return imapsort_casecmp(a->from, b->from) ;
    case IMAPSORT_SIZE: return CMP(a->size, b->size) ;
    case IMAPSORT_SUBJECT: return imapsort_casecmp(a->subj, b->subj) ;
    case IMAPSORT_TO: return imapsort_casecmp(a->to, b->to) ;
    default: return 0 ;
  }
}

struct sortctx { imapsort_msg const *m ; unsigned char const *keys ; size_t nkeys ; } ;

static int cmpsort(void const *c, uint32_t x, uint32_t y)
{
  struct sortctx const *k = c ;
  for (size_t i = 0 ; i < k->nkeys ; i++)
  {
    int d = cmpkey(k->m + x, k->m + y, k->keys[i] & ~IMAPSORT_REVERSE) ;
    if (d) return k->keys[i] & IMAPSORT_REVERSE ? -d : d ;
  }
  return CMP(x, y) ;
}

/* Bottom-up merge sort of v[0..n) with a context (qsort has none),
   stable, no recursion. */
int imapsort_msort(uint32_t *v, size_t n, int (*cmp)(void const *, uint32_t, uint32_t), void const *ctx)
{
  uint32_t *tmp, *src = v, *dst ;
  if (n < 2) return 1 ;
  tmp = malloc(n * sizeof *tmp) ;
  if (!tmp) return 0 ;
  dst = tmp ;
  for (size_t w = 1 ; w < n ; w *= 2)
  {
    for (size_t lo = 0 ; lo < n ; lo += 2 * w)
    {
      size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n ;
      size_t i = lo, j = mid, k = lo ;
      while (i < mid && j < hi) dst[k++] = cmp(ctx, src[j], src[i]) < 0 ? src[j++] : src[i++] ;
      while (i < mid) dst[k++] = src[i++] ;
      while (j < hi) dst[k++] = src[j++] ;
    }
    uint32_t *x = src ; src = dst ; dst = x ;
  }
  if (src != v) memcpy(v, src, n * sizeof *v) ;
  free(tmp) ;
  return 1 ;
}

int imapsort_sort(uint32_t *order, imapsort_msg const *m, size_t n,
                  unsigned char const *keys, size_t nkeys)
{
  struct sortctx c = { m, keys, nkeys } ;
  if (n > IMAPSORT_MAXMSGS || nkeys > IMAPSORT_MAXKEYS) return 0 ;
  for (size_t i = 0 ; i < n ; i++) order[i] = i ;
  return imapsort_msort(order, n, &cmpsort, &c) ;
}
