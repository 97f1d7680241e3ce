/* The key section of the cache file (imapcache.h, imapcachepriv.h):
   loaded whole for a command, checked, and dropped after it. Its
   buffers are mapped, not malloc'd: given back to the system at once
   (a freed large malloc block would raise glibc's mmap threshold, and
   the next command's large blocks would stay in the heap). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "imapcache/imapcache.h"
#include "imapcache/imapcachepriv.h"

static uint32_t get32 (char const *s) { uint32_t v ; memcpy(&v, s, 4) ; return v ; }
static uint64_t get64 (char const *s) { uint64_t v ; memcpy(&v, s, 8) ; return v ; }

uint64_t imapcache_id (char const *name, size_t namelen, uint64_t size)
{
  return imapcache_sum(name, namelen, size ^ 0x6b657973ull) ;
}

static void *get (size_t n)
{
  void *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ;
  return p == MAP_FAILED ? 0 : p ;
}

static size_t kxlen (uint64_t keylen) { return (keylen / IMAPCACHE_KEYHDR + 1) * sizeof (uint32_t) ; }

void imapcache_keys_drop (imapcache *c)
{
  if (c->keys) munmap(c->keys, c->keylen) ;
  if (c->kx) munmap(c->kx, kxlen(c->keylen)) ;
  c->keys = 0 ; c->kx = 0 ;
  c->nk = 0 ; c->khint = c->rhint = 0 ;
  c->keystate = 0 ;
}

/* The section, its checksum, each record's bounds and UID order. */
static int load (imapcache *c)
{
  uint64_t n = c->keylen, pos = 0 ;
  ssize_t r ;
  c->keystate = -1 ;
  if (!n || n > IMAPCACHE_FILEMAX) return 0 ;
  c->keys = get(n) ;
  c->kx = get(kxlen(n)) ;
  if (!c->keys || !c->kx) goto err ;
  do r = pread(c->fd, c->keys, n, c->keyoff) ;
  while (r < 0 && errno == EINTR) ;
  if (r != (ssize_t)n || imapcache_sum(c->keys, n, 0) != c->keysum) goto err ;
  while (pos < n)
  {
    uint32_t len ;
    if (n - pos < IMAPCACHE_KEYHDR) goto err ;
    len = get32(c->keys + pos + 16) ;
    if (len > n - pos - IMAPCACHE_KEYHDR || (c->nk && get32(c->keys + pos) <= get32(c->keys + c->kx[c->nk - 1]))) goto err ;
    c->kx[c->nk++] = pos ;
    pos += IMAPCACHE_KEYHDR + len ;
  }
  c->keystate = 1 ;
  return 1 ;
 err:
  imapcache_keys_drop(c) ;
  c->keystate = -1 ;
  return 0 ;
}

/* The index of uid in a[0..n) (UIDs ascending, at a + k * step), or n;
   *hint: where the last was found (a command asks in UID order). */
static uint32_t findu (char const *a, size_t step, uint32_t const *at, uint32_t n, uint32_t uid, uint32_t *hint)
{
  uint32_t lo = 0, hi = n ;
#define UIDAT(k) get32(a + (at ? at[k] : (size_t)(k) * step))
  for (uint32_t h = *hint ; h < n && h <= *hint + 1 ; h++)
    if (UIDAT(h) == uid) return *hint = h ;
  while (lo < hi)
  {
    uint32_t mid = lo + (hi - lo) / 2 ;
    if (UIDAT(mid) < uid) lo = mid + 1 ; else hi = mid ;
  }
  if (lo >= n || UIDAT(lo) != uid) return n ;
#undef UIDAT
  return *hint = lo ;
}

/* uid's record in the section if it is for the entry the directory
   has now: the record, else 0. */
static char const *record (imapcache *c, uint32_t uid)
{
  uint32_t k = findu(c->keys, 0, c->kx, c->nk, uid, &c->khint), j ;
  char const *r ;
  if (k >= c->nk) return 0 ;
  r = c->keys + c->kx[k] ;
  j = findu((char const *)c->ref, sizeof *c->ref, 0, c->n, uid, &c->rhint) ;
  return j < c->n && c->ref[j].off == get32(r + 4) ? r : 0 ;
}

int imapcache_keys (imapcache *c, uint32_t uid, char const *name, size_t namelen, uint64_t size, char const **s, uint32_t *len)
{
  imapcache_entry e ;
  char const *r ;
  uint32_t k = c->np ;
  if (c->state != 1) return 0 ;
  if (!c->keystate) load(c) ;
  while (k && c->pend[k - 1].uid != uid) k-- ;   /* an entry put, not yet written, is newer */
  if (!k && c->keystate > 0 && (r = record(c, uid)))
  {
    if (get64(r + 8) != imapcache_id(name, namelen, size)) return 0 ;
    *s = r + IMAPCACHE_KEYHDR ; *len = get32(r + 16) ;
    return 1 ;
  }
  if (!imapcache_get(c, uid, name, namelen, size, &e) || !e.s[IMAPCACHE_KEYS]) return 0 ;
  *s = e.s[IMAPCACHE_KEYS] ; *len = e.len[IMAPCACHE_KEYS] ;
  return 1 ;
}
