/* The cache file: entries, loading, reading, appending (imapcache.h).
   Compaction: imapcachepack.c. Numbers are in host order: a file from
   another architecture fails its checksums and is made anew. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include "imapcache/imapcache.h"
#include "imapcache/imapcachepriv.h"

uint64_t imapcache_sum (char const *s, size_t n, uint64_t h)
{
  h ^= 0x9e3779b97f4a7c15ull * (n + 1) ;
  while (n >= 8)
  {
    uint64_t w ;
    memcpy(&w, s, 8) ;
    h = (h ^ w) * 0x100000001b3ull ;
    h ^= h >> 29 ;
    s += 8 ; n -= 8 ;
  }
  while (n--) h = (h ^ (unsigned char)*s++) * 0x100000001b3ull ;
  return h ^ (h >> 32) ;
}

static uint32_t get32 (char const *s) { uint32_t v ; memcpy(&v, s, 4) ; return v ; }
static uint64_t get64 (char const *s) { uint64_t v ; memcpy(&v, s, 8) ; return v ; }

size_t imapcache_parse (char const *s, size_t n, uint32_t *uid, char const **name, size_t *namelen, uint64_t *size, imapcache_entry *e)
{
  uint32_t len, nl ;
  size_t pos ;
  if (n < IMAPCACHE_RECHDR || get32(s) != IMAPCACHE_RECMAGIC) return 0 ;
  len = get32(s + 4) ;
  if (len < IMAPCACHE_RECHDR || len > IMAPCACHE_ENTRYMAX || len > n) return 0 ;
  if (get64(s + 8) != imapcache_sum(s + 16, len - 16, len)) return 0 ;
  nl = get32(s + 20) ;
  if (nl > IMAPCACHE_NAMEMAX || nl > len - IMAPCACHE_RECHDR) return 0 ;
  *uid = get32(s + 16) ;
  *size = get64(s + 24) ;
  *name = s + IMAPCACHE_RECHDR ;
  *namelen = nl ;
  pos = IMAPCACHE_RECHDR + nl ;
  for (unsigned k = 0 ; k < IMAPCACHE_N ; k++)
  {
    uint32_t l = get32(s + 32 + 4 * k) ;
    e->s[k] = 0 ; e->len[k] = 0 ;
    if (l == IMAPCACHE_ABSENT) continue ;
    if (l > len - pos) return 0 ;
    e->s[k] = s + pos ; e->len[k] = l ;
    pos += l ;
  }
  return pos == len ? len : 0 ;
}

/* The bytes [off, off + len) of the file, through the window. */
char const *imapcache_read (imapcache *c, uint64_t off, uint32_t len)
{
  size_t want = len > IMAPCACHE_WINDOW ? len : IMAPCACHE_WINDOW ;
  ssize_t r ;
  if (off >= c->winoff && off + len <= c->winoff + c->win.len) return c->win.s + (off - c->winoff) ;
  if (!stralloc_ready(&c->win, want)) return 0 ;
  c->win.len = 0 ;
  do r = pread(c->fd, c->win.s, want, off) ;
  while (r < 0 && errno == EINTR) ;
  if (r < (ssize_t)len) return 0 ;
  c->win.len = r ; c->winoff = off ;
  return c->win.s ;
}

static uint32_t find (imapcache const *c, uint32_t uid)
{
  uint32_t lo = 0, hi = c->n ;
  while (lo < hi)
  {
    uint32_t mid = lo + (hi - lo) / 2 ;
    if (c->ref[mid].uid < uid) lo = mid + 1 ; else hi = mid ;
  }
  return lo ;
}

/* A new entry for uid (the later one wins). */
int imapcache_addref (imapcache *c, uint32_t uid, uint64_t off, uint32_t len)
{
  uint32_t k = c->n && c->ref[c->n - 1].uid < uid ? c->n : find(c, uid) ;
  if (k < c->n && c->ref[k].uid == uid)
  {
    c->dead += c->ref[k].len ; c->live -= c->ref[k].len ;
    c->ref[k].off = off ; c->ref[k].len = len ;
    c->live += len ;
    return 1 ;
  }
  if (c->n == c->cap)
  {
    uint32_t cap = c->cap + c->cap / 2 + 64 ;
    imapcache_ref *r = realloc(c->ref, (size_t)cap * sizeof *r) ;
    if (!r) return 0 ;
    c->ref = r ; c->cap = cap ;
  }
  memmove(c->ref + k + 1, c->ref + k, (size_t)(c->n - k) * sizeof *c->ref) ;
  c->ref[k] = (imapcache_ref){ uid, (uint32_t)off, len } ;
  c->n++ ;
  c->live += len ;
  return 1 ;
}

int imapcache_get (imapcache *c, uint32_t uid, char const *name, size_t namelen, uint64_t size, imapcache_entry *e)
{
  uint32_t k, u, len ;
  char const *s = 0, *nm ;
  size_t nl ;
  uint64_t sz ;
  if (c->state != 1) return 0 ;
  for (k = c->np ; k-- ; )
    if (c->pend[k].uid == uid) { s = c->rec.s + c->pend[k].off ; len = c->pend[k].len ; break ; }
  if (!s)
  {
    k = find(c, uid) ;
    if (k >= c->n || c->ref[k].uid != uid) return 0 ;
    len = c->ref[k].len ;
    s = imapcache_read(c, c->ref[k].off, len) ;
  }
  if (!s || imapcache_parse(s, len, &u, &nm, &nl, &sz, e) != len) return 0 ;
  return u == uid && sz == size && nl == namelen && !memcmp(nm, name, nl) ;
}

int imapcache_flush (imapcache *c)
{
  off_t end ;
  uint32_t np = c->np ;
  size_t len = c->rec.len ;
  c->np = 0 ; c->rec.len = 0 ;
  if (!np || c->state != 1) return 1 ;
  if (write(c->fd, c->rec.s, len) != (ssize_t)len) return 0 ;
  end = lseek(c->fd, 0, SEEK_CUR) ;
  if (end < (off_t)len || (uint64_t)end > IMAPCACHE_FILEMAX) return 0 ;
  if ((uint64_t)end > c->end) c->end = end ;
  for (uint32_t k = 0 ; k < np ; k++)
    if (!imapcache_addref(c, c->pend[k].uid, end - len + c->pend[k].off, c->pend[k].len)) return 0 ;
  return 1 ;
}

int imapcache_put (imapcache *c, uint32_t uid, char const *name, size_t namelen, uint64_t size, imapcache_entry const *e)
{
  char h[IMAPCACHE_RECHDR] ;
  uint32_t len = IMAPCACHE_RECHDR + namelen, v ;
  stralloc *sa = &c->rec ;
  size_t at = sa->len ;
  if (c->state != 1 || namelen > IMAPCACHE_NAMEMAX || c->end + at >= IMAPCACHE_FILEMAX) return 0 ;
  v = IMAPCACHE_RECMAGIC ; memcpy(h, &v, 4) ;
  memcpy(h + 16, &uid, 4) ;
  v = namelen ; memcpy(h + 20, &v, 4) ;
  memcpy(h + 24, &size, 8) ;
  for (unsigned k = 0 ; k < IMAPCACHE_N ; k++)
  {
    v = e->s[k] && e->len[k] <= IMAPCACHE_ENTRYMAX - len ? e->len[k] : IMAPCACHE_ABSENT ;
    if (v != IMAPCACHE_ABSENT) len += v ;
    memcpy(h + 32 + 4 * k, &v, 4) ;
  }
  memcpy(h + 4, &len, 4) ;
  if (c->np == c->pcap)
  {
    uint32_t cap = c->pcap * 2 + 16 ;
    imapcache_ref *r = realloc(c->pend, (size_t)cap * sizeof *r) ;
    if (!r) return 0 ;
    c->pend = r ; c->pcap = cap ;
  }
  if (!stralloc_readyplus(sa, len)) return 0 ;
  stralloc_catb(sa, h, sizeof h) ;
  stralloc_catb(sa, name, namelen) ;
  for (unsigned k = 0 ; k < IMAPCACHE_N ; k++)
    if (get32(h + 32 + 4 * k) != IMAPCACHE_ABSENT) stralloc_catb(sa, e->s[k], e->len[k]) ;
  {
    uint64_t sum = imapcache_sum(sa->s + at + 16, len - 16, len) ;
    memcpy(sa->s + at + 8, &sum, 8) ;
  }
  c->pend[c->np++] = (imapcache_ref){ uid, (uint32_t)at, len } ;
  return sa->len < IMAPCACHE_BATCH || imapcache_flush(c) ;
}

int imapcache_wants_compact (imapcache const *c)
{
  return c->state == 1 && (c->end - c->tail > IMAPCACHE_TAILMAX || c->dead > c->live + IMAPCACHE_SLACK) ;
}

int imapcache_for (imapcache const *c, char const *dir, uint32_t uidvalidity)
{
  return c->state && c->uidvalidity == uidvalidity && c->dir.s && !strcmp(c->dir.s, dir) ;
}

void imapcache_free (imapcache *c)
{
  imapcache_flush(c) ;
  if (c->fd >= 0) fd_close(c->fd) ;
  free(c->pend) ;
  stralloc_free(&c->dir) ;
  stralloc_free(&c->win) ;
  stralloc_free(&c->rec) ;
  imapcache_keys_drop(c) ;
  free(c->ref) ;
  *c = (imapcache)IMAPCACHE_ZERO ;
}
