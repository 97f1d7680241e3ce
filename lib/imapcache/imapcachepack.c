/* Compaction of the cache file (imapcache.h): the live entries, sorted
   by UID, then their directory and key section, into a new file renamed
   over the old. The key section is gathered in a mapping given back at
   the end (not the heap: a session's memory stays small). */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "imapcache/imapcache.h"
#include "imapcache/imapcachepriv.h"

#define FLUSH (1u << 20)

typedef struct { int fd ; stralloc buf ; uint64_t off ; char *keys ; size_t klen, kcap ; } out ;

static int put (out *o, char const *s, size_t n)
{
  o->off += n ;
  if (o->buf.len + n < FLUSH) return stralloc_catb(&o->buf, s, n) ;
  if (allwrite(o->fd, o->buf.s, o->buf.len) != o->buf.len) return 0 ;
  o->buf.len = 0 ;
  return n >= FLUSH ? allwrite(o->fd, s, n) == n : stralloc_catb(&o->buf, s, n) ;
}

/* The live entries into o; their directory (new offsets) into r[0..*m). */
static int entries (imapcache *c, out *o, imapcache_ref *r, uint32_t *m, uint64_t *live,
                    int (*keep)(void *, uint32_t, char const *, size_t, uint64_t), void *ctx)
{
  *m = 0 ; *live = 0 ;
  for (uint32_t k = 0 ; k < c->n ; k++)
  {
    char const *s = imapcache_read(c, c->ref[k].off, c->ref[k].len), *nm ;
    uint32_t uid ;
    size_t nl ;
    uint64_t size ;
    imapcache_entry e ;
    if (!s || imapcache_parse(s, c->ref[k].len, &uid, &nm, &nl, &size, &e) != c->ref[k].len
        || uid != c->ref[k].uid || !(*keep)(ctx, uid, nm, nl, size)) continue ;
    if (o->off + c->ref[k].len > IMAPCACHE_FILEMAX / 2) break ;
    r[*m] = (imapcache_ref){ uid, (uint32_t)o->off, c->ref[k].len } ;
    if (e.s[IMAPCACHE_KEYS])
    {
      char *h = o->keys + o->klen ;
      uint32_t off = o->off ;
      uint64_t id = imapcache_id(nm, nl, size) ;
      if (o->kcap - o->klen < IMAPCACHE_KEYHDR + e.len[IMAPCACHE_KEYS]) return 0 ;
      memcpy(h, &uid, 4) ; memcpy(h + 4, &off, 4) ; memcpy(h + 8, &id, 8) ; memcpy(h + 16, &e.len[IMAPCACHE_KEYS], 4) ;
      memcpy(h + IMAPCACHE_KEYHDR, e.s[IMAPCACHE_KEYS], e.len[IMAPCACHE_KEYS]) ;
      o->klen += IMAPCACHE_KEYHDR + e.len[IMAPCACHE_KEYS] ;
    }
    if (!put(o, s, c->ref[k].len)) return 0 ;
    *live += r[(*m)++].len ;
  }
  return 1 ;
}

int imapcache_compact (imapcache *c, int (*keep)(void *, uint32_t, char const *, size_t, uint64_t), void *ctx)
{
  char h[IMAPCACHE_FILEHDR] = { 0 }, fmt[UINT64_FMT] ;
  stralloc tmp = STRALLOC_ZERO, to = STRALLOC_ZERO ;
  out o = { .fd = -1, .buf = STRALLOC_ZERO, .off = 0, .keys = 0, .klen = 0, .kcap = IMAPCACHE_KEYHDR } ;
  imapcache_ref *r = 0 ;
  uint32_t m ;
  uint64_t live, dirsum, keysum, diroff ;
  int ok = 0 ;
  if (c->state != 1) return 0 ;
  imapcache_flush(c) ;
  if (!stralloc_cats(&to, c->dir.s) || !stralloc_cats(&to, "/" IMAPCACHE_FILE) || !stralloc_copy(&tmp, &to)
      || !stralloc_cats(&tmp, ".tmp.") || !stralloc_catb(&tmp, fmt, uint64_fmt(fmt, getpid()))
      || !stralloc_0(&tmp) || !stralloc_0(&to)) goto end ;
  r = malloc((c->n ? c->n : 1) * sizeof *r) ;
  if (!r) goto end ;
  /* a key record is no longer than its entry and a header */
  for (uint32_t k = 0 ; k < c->n ; k++) o.kcap += c->ref[k].len + IMAPCACHE_KEYHDR ;
  o.keys = mmap(0, o.kcap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) ;
  if (o.keys == MAP_FAILED) { o.keys = 0 ; goto end ; }
  o.fd = open(tmp.s, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600) ;
  if (o.fd < 0) goto end ;
  if (!put(&o, h, sizeof h) || !entries(c, &o, r, &m, &live, keep, ctx)) goto end ;
  dirsum = imapcache_sum((char *)r, (size_t)m * sizeof *r, 0) ;
  keysum = imapcache_sum(o.keys, o.klen, 0) ;
  diroff = o.off ;
  if (!put(&o, (char *)r, (size_t)m * sizeof *r) || !put(&o, o.keys, o.klen)) goto end ;
  if (allwrite(o.fd, o.buf.s, o.buf.len) != o.buf.len) goto end ;
  imapcache_filehdr(h, c->uidvalidity, diroff, m, dirsum, o.klen, keysum, o.off) ;
  if (pwrite(o.fd, h, sizeof h, 0) != sizeof h || fcntl(o.fd, F_SETFL, O_APPEND) < 0) goto end ;
  if (rename(tmp.s, to.s) < 0) goto end ;
  ok = 1 ;
  fd_close(c->fd) ;
  c->fd = o.fd ; o.fd = -1 ;
  free(c->ref) ;
  c->ref = r ; r = 0 ;
  c->n = c->cap = m ;
  c->live = live ; c->dead = 0 ;
  c->end = c->tail = o.off ;
  c->win.len = 0 ;
  imapcache_keys_drop(c) ;
  c->keyoff = diroff + (uint64_t)m * sizeof *c->ref ; c->keylen = o.klen ; c->keysum = keysum ;
 end:
  if (o.fd >= 0) { fd_close(o.fd) ; unlink(tmp.s) ; }
  free(r) ;
  stralloc_free(&o.buf) ;
  if (o.keys) munmap(o.keys, o.kcap) ;
  stralloc_free(&tmp) ;
  stralloc_free(&to) ;
  return ok ;
}
