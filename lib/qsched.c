#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <skalibs/stralloc.h>
#include "qsched.h"

static size_t hash(char const *id)
{
  size_t h = 5381 ;
  while (*id) h = (h * 33) ^ (unsigned char)*id++ ;
  return h ;
}

smsg *qsched_find(qsched const *s, char const *id)
{
  if (!s->tabsize) return 0 ;
  for (smsg *m = s->tab[hash(id) & (s->tabsize - 1)] ; m ; m = m->hnext)
    if (!strcmp(m->q.id, id)) return m ;
  return 0 ;
}

static int grow(qsched *s)
{
  size_t n = s->tabsize ? s->tabsize * 2 : 256 ;
  smsg **t = calloc(n, sizeof(smsg *)) ;
  if (!t) return 0 ;
  for (size_t i = 0 ; i < s->tabsize ; i++)
    while (s->tab[i]) {
      smsg *m = s->tab[i] ;
      s->tab[i] = m->hnext ;
      size_t h = hash(m->q.id) & (n - 1) ;
      m->hnext = t[h] ; t[h] = m ;
    }
  free(s->tab) ;
  s->tab = t ; s->tabsize = n ;
  return 1 ;
}

smsg *qsched_add(qsched *s, qmsg *q)
{
  if (s->count >= s->tabsize && !grow(s)) return 0 ;
  smsg *m = calloc(1, sizeof *m) ;
  if (!m) return 0 ;
  m->flags = calloc(q->nrcpt ? q->nrcpt : 1, 1) ;
  if (!m->flags) { free(m) ; return 0 ; }
  m->q = *q ;
  qmsg z = QMSG_ZERO ;
  *q = z ;
  size_t h = hash(m->q.id) & (s->tabsize - 1) ;
  m->hnext = s->tab[h] ; s->tab[h] = m ;
  s->count++ ;
  qsched_ready(s, m) ;
  return m ;
}

static void unref(smsg *m)
{
  if (--m->refs || !m->dead) return ;
  queue_free(&m->q) ;
  free(m->flags) ;
  free(m) ;
}

void qsched_ref(smsg *m) { m->refs++ ; }
void qsched_unref(smsg *m) { unref(m) ; }

void qsched_remove(qsched *s, smsg *m)
{
  smsg **p = &s->tab[hash(m->q.id) & (s->tabsize - 1)] ;
  while (*p && *p != m) p = &(*p)->hnext ;
  if (*p) { *p = m->hnext ; s->count-- ; }
  m->dead = 1 ;
  m->refs++ ; unref(m) ;
}

void qsched_each(qsched *s, void (*f)(qsched *, smsg *, void *), void *data)
{
  for (size_t i = 0 ; i < s->tabsize ; i++)
    for (smsg *m = s->tab[i] ; m ; m = m->hnext) f(s, m, data) ;
}

/* Binary min-heap on when. */
static void heap_swap(stimer *h, size_t a, size_t b)
{
  stimer t = h[a] ; h[a] = h[b] ; h[b] = t ;
}

int qsched_at(qsched *s, smsg *m, uint64_t when)
{
  if (m->timer && m->timer <= when) return 1 ;
  if (s->heaplen == s->heapcap) {
    size_t n = s->heapcap ? s->heapcap * 2 : 256 ;
    stimer *h = realloc(s->heap, n * sizeof *h) ;
    if (!h) return 0 ;
    s->heap = h ; s->heapcap = n ;
  }
  size_t i = s->heaplen++ ;
  s->heap[i].when = when ; s->heap[i].m = m ;
  while (i && s->heap[(i-1)/2].when > s->heap[i].when) {
    heap_swap(s->heap, i, (i-1)/2) ;
    i = (i-1)/2 ;
  }
  m->timer = when ;
  m->refs++ ;
  return 1 ;
}

uint64_t qsched_next(qsched const *s)
{
  return s->heaplen ? s->heap[0].when : UINT64_MAX ;
}

static void heap_pop(qsched *s)
{
  size_t i = 0 ;
  s->heap[0] = s->heap[--s->heaplen] ;
  for (;;) {
    size_t l = 2*i + 1, r = l + 1, min = i ;
    if (l < s->heaplen && s->heap[l].when < s->heap[min].when) min = l ;
    if (r < s->heaplen && s->heap[r].when < s->heap[min].when) min = r ;
    if (min == i) break ;
    heap_swap(s->heap, i, min) ;
    i = min ;
  }
}

void qsched_expire(qsched *s, uint64_t now)
{
  while (s->heaplen && s->heap[0].when <= now) {
    smsg *m = s->heap[0].m ;
    uint64_t when = s->heap[0].when ;
    heap_pop(s) ;
    /* A later entry may remain for m; clearing timer only when this was
       the earliest one keeps qsched_at() from piling up duplicates. */
    if (m->timer == when) m->timer = 0 ;
    if (!m->dead) qsched_ready(s, m) ;
    unref(m) ;
  }
}

void qsched_ready(qsched *s, smsg *m)
{
  if (m->inready || m->dead) return ;
  m->inready = 1 ;
  m->refs++ ;
  m->rnext = 0 ;
  if (s->rtail) s->rtail->rnext = m ; else s->rhead = m ;
  s->rtail = m ;
}

smsg *qsched_peek(qsched *s)
{
  while (s->rhead && s->rhead->dead) qsched_pop(s) ;
  return s->rhead ;
}

void qsched_pop(qsched *s)
{
  smsg *m = s->rhead ;
  if (!m) return ;
  s->rhead = m->rnext ;
  if (!s->rhead) s->rtail = 0 ;
  m->inready = 0 ;
  unref(m) ;
}

void qsched_free(qsched *s)
{
  while (s->rhead) qsched_pop(s) ;
  while (s->heaplen) { smsg *m = s->heap[0].m ; heap_pop(s) ; unref(m) ; }
  for (size_t i = 0 ; i < s->tabsize ; i++)
    while (s->tab[i]) qsched_remove(s, s->tab[i]) ;
  free(s->tab) ; free(s->heap) ;
  qsched z = QSCHED_ZERO ;
  *s = z ;
}

uint64_t qsched_delay(uint32_t n, uint64_t min, uint64_t max)
{
  uint64_t d = min ? min : 1 ;
  while (n-- > 1 && d < max) d <<= 1 ;
  return d < max ? d : max ;
}

int qsched_idvalid(char const *s, size_t len)
{
  if (!len || len > QUEUE_IDLEN || s[0] == '.') return 0 ;
  for (size_t i = 0 ; i < len ; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || s[i] == '.')) return 0 ;
  return 1 ;
}

int qsched_scan(void (*f)(char const *id, void *), void *data)
{
  stralloc sa = STRALLOC_ZERO ;
  int ok = 1 ;
  for (int h = 0 ; h < 16 ; h++) {
    char rel[7] = "msg/x" ;
    rel[4] = "0123456789abcdef"[h] ;
    if (!queue_path(&sa, rel)) { ok = 0 ; break ; }
    DIR *d = opendir(sa.s) ;
    if (!d) { if (errno != ENOENT) ok = 0 ; continue ; }
    for (;;) {
      errno = 0 ;
      struct dirent *e = readdir(d) ;
      if (!e) { if (errno) ok = 0 ; break ; }
      size_t len = strlen(e->d_name) ;
      if (qsched_idvalid(e->d_name, len)) f(e->d_name, data) ;
    }
    closedir(d) ;
  }
  stralloc_free(&sa) ;
  return ok ;
}

unsigned int qsched_cleantmp(uint64_t now, uint64_t maxage)
{
  stralloc sa = STRALLOC_ZERO ;
  unsigned int n = 0 ;
  if (!queue_path(&sa, "tmp")) return 0 ;
  DIR *d = opendir(sa.s) ;
  if (d) {
    int dfd = dirfd(d) ;
    struct dirent *e ;
    while ((e = readdir(d))) {
      struct stat st ;
      if (e->d_name[0] == '.') continue ;
      if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) continue ;
      if ((uint64_t)st.st_mtime + maxage < now && !unlinkat(dfd, e->d_name, 0)) n++ ;
    }
    closedir(d) ;
  }
  stralloc_free(&sa) ;
  return n ;
}
