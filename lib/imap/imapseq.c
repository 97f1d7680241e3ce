/* IMAP sequence sets: see imapseq.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "imapseq.h"

/* A seq-number: "*" (0) or a non-zero 32-bit number. */
static int num(char const *s, size_t len, size_t *k, uint32_t *v)
{
  uint64_t x = 0 ;
  size_t b = *k ;
  if (*k < len && s[*k] == '*') { (*k)++ ; *v = 0 ; return 1 ; }
  while (*k < len && s[*k] >= '0' && s[*k] <= '9' && *k - b < 11) x = x * 10 + (s[(*k)++] - '0') ;
  if (*k == b || !x || x > 0xffffffffu || s[b] == '0') return 0 ;
  *v = x ;
  return 1 ;
}

int imapseq_parse(imapseq *q, char const *s, size_t len)
{
  size_t k = 0, n = 1, cap ;
  imapseq_range *r ;
  for (size_t i = 0 ; i < len ; i++) n += s[i] == ',' ;
  if (!len || n > IMAPSEQ_MAXRANGES) return 0 ;
  cap = n ;
  r = malloc(cap * sizeof *r) ;
  if (!r) return -1 ;
  for (n = 0 ;; n++) {
    if (!num(s, len, &k, &r[n].lo)) break ;
    r[n].hi = r[n].lo ;
    if (k < len && s[k] == ':' && (k++, !num(s, len, &k, &r[n].hi))) break ;
    if (k == len) {
      free(q->r) ;
      q->r = r ; q->n = n + 1 ;
      return 1 ;
    }
    if (s[k++] != ',') break ;
  }
  free(r) ;
  return 0 ;
}

int imapseq_issaved(char const *s, size_t len)
{
  return len == 1 && s[0] == '$' ;
}

int imapseq_fromsorted(imapseq *q, uint32_t const *v, size_t n)
{
  uint32_t m = 0 ;
  imapseq_free(q) ;
  if (!n) return 1 ;
  q->r = malloc(n * sizeof *q->r) ;
  if (!q->r) return 0 ;
  for (size_t i = 0 ; i < n ; i++) {
    if (m && v[i] <= (uint64_t)q->r[m-1].hi + 1) { if (v[i] > q->r[m-1].hi) q->r[m-1].hi = v[i] ; }
    else { q->r[m].lo = q->r[m].hi = v[i] ; m++ ; }
  }
  q->n = m ;
  return 1 ;
}

void imapseq_free(imapseq *q)
{
  free(q->r) ;
  q->r = 0 ; q->n = 0 ;
}

static void bounds(imapseq_range const *r, uint32_t star, uint32_t *lo, uint32_t *hi)
{
  uint32_t a = r->lo ? r->lo : star, b = r->hi ? r->hi : star ;
  *lo = a < b ? a : b ;
  *hi = a < b ? b : a ;
}

int imapseq_has(imapseq const *q, uint32_t v, uint32_t star)
{
  for (uint32_t i = 0 ; i < q->n ; i++) {
    uint32_t lo, hi ;
    bounds(&q->r[i], star, &lo, &hi) ;
    if (v >= lo && v <= hi) return 1 ;
  }
  return 0 ;
}

static int cmp(void const *a, void const *b)
{
  imapseq_range const *x = a, *y = b ;
  return x->lo < y->lo ? -1 : x->lo > y->lo ;
}

void imapseq_resolve(imapseq *q, uint32_t star)
{
  uint32_t m = 0 ;
  for (uint32_t i = 0 ; i < q->n ; i++) bounds(&q->r[i], star, &q->r[i].lo, &q->r[i].hi) ;
  qsort(q->r, q->n, sizeof *q->r, &cmp) ;
  for (uint32_t i = 0 ; i < q->n ; i++) {
    if (!q->r[i].hi) continue ;   /* "*" of an empty mailbox */
    if (!q->r[i].lo) q->r[i].lo = 1 ;
    if (m && q->r[i].lo <= (uint64_t)q->r[m-1].hi + 1) {
      if (q->r[i].hi > q->r[m-1].hi) q->r[m-1].hi = q->r[i].hi ;
    } else q->r[m++] = q->r[i] ;
  }
  q->n = m ;
}

int imapseq_has_sorted(imapseq const *q, uint32_t v)
{
  uint32_t a = 0, b = q->n ;
  while (a < b) {
    uint32_t m = a + (b - a) / 2 ;
    if (v < q->r[m].lo) b = m ;
    else if (v > q->r[m].hi) a = m + 1 ;
    else return 1 ;
  }
  return 0 ;
}

uint32_t imapseq_max(imapseq const *q, uint32_t star)
{
  uint32_t m = 0 ;
  for (uint32_t i = 0 ; i < q->n ; i++) {
    uint32_t lo, hi ;
    bounds(&q->r[i], star, &lo, &hi) ;
    if (hi > m) m = hi ;
  }
  return m ;
}

static int ucmp(void const *a, void const *b)
{
  uint32_t x = *(uint32_t const *)a, y = *(uint32_t const *)b ;
  return x < y ? -1 : x > y ;
}

int imapseq_fmt_ordered(stralloc *sa, uint32_t const *v, size_t n)
{
  char buf[32] ;
  for (size_t i = 0 ; i < n ;) {
    size_t j = i ;
    int k ;
    while (j + 1 < n && v[j+1] == (uint64_t)v[j] + 1) j++ ;
    k = j == i ? snprintf(buf, sizeof buf, "%s%u", i ? "," : "", v[i])
               : snprintf(buf, sizeof buf, "%s%u:%u", i ? "," : "", v[i], v[j]) ;
    if (!stralloc_catb(sa, buf, k)) return 0 ;
    i = j + 1 ;
  }
  return 1 ;
}

/* sorted, duplicates dropped, then written in order */
int imapseq_fmt(stralloc *sa, uint32_t *v, size_t n)
{
  size_t m = 0 ;
  qsort(v, n, sizeof *v, &ucmp) ;
  for (size_t i = 0 ; i < n ; i++) if (!m || v[i] != v[m-1]) v[m++] = v[i] ;
  return imapseq_fmt_ordered(sa, v, m) ;
}
