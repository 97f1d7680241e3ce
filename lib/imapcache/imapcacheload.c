/* Opening and loading the cache file (imapcache.h): the header, the
   directory of the last compaction, a scan of what was appended since. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "imapcache/imapcache.h"
#include "imapcache/imapcachepriv.h"

void imapcache_filehdr (char *h, uint32_t uidvalidity, uint64_t diroff, uint64_t dirn, uint64_t dirsum, uint64_t keylen, uint64_t keysum, uint64_t tail)
{
  uint32_t v = IMAPCACHE_VERSION ;
  uint64_t sum ;
  memset(h, 0, IMAPCACHE_FILEHDR) ;
  memcpy(h, IMAPCACHE_MAGIC, 8) ;
  memcpy(h + 8, &v, 4) ; memcpy(h + 12, &uidvalidity, 4) ;
  memcpy(h + 16, &diroff, 8) ; memcpy(h + 24, &dirn, 8) ;
  memcpy(h + 32, &dirsum, 8) ; memcpy(h + 40, &tail, 8) ;
  memcpy(h + 48, &keylen, 8) ; memcpy(h + 56, &keysum, 8) ;
  sum = imapcache_sum(h, IMAPCACHE_FILEHDR - 8, 0) ;
  memcpy(h + IMAPCACHE_FILEHDR - 8, &sum, 8) ;
}

static int path (imapcache *c, stralloc *sa, int tmp)
{
  char fmt[UINT64_FMT] ;
  sa->len = 0 ;
  if (!stralloc_cats(sa, c->dir.s) || !stralloc_cats(sa, "/" IMAPCACHE_FILE)) return 0 ;
  if (tmp && (!stralloc_cats(sa, ".tmp.") || !stralloc_catb(sa, fmt, uint64_fmt(fmt, getpid())))) return 0 ;
  return stralloc_0(sa) ;
}

/* A file with a header alone, put in place (the old one was unusable). */
static int fresh (imapcache *c)
{
  char h[IMAPCACHE_FILEHDR] ;
  stralloc tmp = STRALLOC_ZERO, to = STRALLOC_ZERO ;
  int fd, ok = 0 ;
  imapcache_filehdr(h, c->uidvalidity, IMAPCACHE_FILEHDR, 0, imapcache_sum("", 0, 0), 0, imapcache_sum("", 0, 0), IMAPCACHE_FILEHDR) ;
  if (!path(c, &tmp, 1) || !path(c, &to, 0)) goto end ;
  fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600) ;
  if (fd < 0) goto end ;
  ok = allwrite(fd, h, sizeof h) == sizeof h ;
  fd_close(fd) ;
  if (ok && rename(tmp.s, to.s) < 0) ok = 0 ;
  if (!ok) unlink(tmp.s) ;
 end:
  stralloc_free(&tmp) ;
  stralloc_free(&to) ;
  return ok ;
}

static uint64_t get64 (char const *s) { uint64_t v ; memcpy(&v, s, 8) ; return v ; }

static int header_ok (imapcache const *c, char const *h)
{
  uint32_t v, uv ;
  memcpy(&v, h + 8, 4) ; memcpy(&uv, h + 12, 4) ;
  return !memcmp(h, IMAPCACHE_MAGIC, 8) && v == IMAPCACHE_VERSION && uv == c->uidvalidity
    && get64(h + IMAPCACHE_FILEHDR - 8) == imapcache_sum(h, IMAPCACHE_FILEHDR - 8, 0) ;
}

/* The directory the header names, if it is whole and sane. */
static int loaddir (imapcache *c, char const *h, uint64_t fsize)
{
  uint64_t off = get64(h + 16), n = get64(h + 24), tail = get64(h + 40), keylen = get64(h + 48) ;
  imapcache_ref *r ;
  if (off < IMAPCACHE_FILEHDR || off > fsize || n > (fsize - off) / sizeof *r
      || keylen > fsize - off - n * sizeof *r || tail != off + n * sizeof *r + keylen) return 0 ;
  r = malloc(n ? n * sizeof *r : 1) ;
  if (!r) return 0 ;
  if (n && (pread(c->fd, r, n * sizeof *r, off) != (ssize_t)(n * sizeof *r)
            || imapcache_sum((char *)r, n * sizeof *r, 0) != get64(h + 32))) { free(r) ; return 0 ; }
  if (!n && get64(h + 32) != imapcache_sum("", 0, 0)) { free(r) ; return 0 ; }
  for (uint64_t k = 0 ; k < n ; k++)
    if ((k && r[k].uid <= r[k - 1].uid) || r[k].off < IMAPCACHE_FILEHDR || r[k].len < IMAPCACHE_RECHDR
        || r[k].len > IMAPCACHE_ENTRYMAX || (uint64_t)r[k].off + r[k].len > off) { free(r) ; return 0 ; }
  c->ref = r ; c->n = c->cap = n ;
  c->live = 0 ;
  for (uint64_t k = 0 ; k < n ; k++) c->live += r[k].len ;
  c->tail = tail ;
  c->keyoff = off + n * sizeof *r ; c->keylen = keylen ; c->keysum = get64(h + 56) ;
  return 1 ;
}

/* The entries in [from, fsize), each checked; garbage is skipped up to
   the next entry magic. */
static int scan (imapcache *c, uint64_t from, uint64_t fsize)
{
  uint32_t magic = IMAPCACHE_RECMAGIC ;
  uint64_t pos = from ;
  while (pos + IMAPCACHE_RECHDR <= fsize)
  {
    uint32_t avail = fsize - pos > IMAPCACHE_ENTRYMAX ? IMAPCACHE_ENTRYMAX : fsize - pos, uid ;
    char const *p = imapcache_read(c, pos, avail), *nm, *q ;
    size_t nl, len ;
    uint64_t size ;
    imapcache_entry e ;
    if (!p) return 0 ;
    len = imapcache_parse(p, avail, &uid, &nm, &nl, &size, &e) ;
    if (len)
    {
      if (!imapcache_addref(c, uid, pos, len)) return 0 ;
      pos += len ;
      continue ;
    }
    q = memmem(p + 1, avail - 1, &magic, 4) ;
    len = q ? (size_t)(q - p) : avail - 3 ;
    c->dead += len ;
    pos += len ;
  }
  c->end = fsize ;
  return 1 ;
}

static int load (imapcache *c)
{
  char h[IMAPCACHE_FILEHDR] ;
  struct stat st ;
  if (fstat(c->fd, &st) < 0) return -1 ;
  if (!S_ISREG(st.st_mode)) { errno = EINVAL ; return -1 ; }
  if ((uint64_t)st.st_size < IMAPCACHE_FILEHDR || (uint64_t)st.st_size > IMAPCACHE_FILEMAX + (uint64_t)IMAPCACHE_ENTRYMAX * 64
      || pread(c->fd, h, sizeof h, 0) != sizeof h || !header_ok(c, h)) return 0 ;
  if (!loaddir(c, h, st.st_size)) c->tail = IMAPCACHE_FILEHDR ;
  if (!scan(c, c->tail, st.st_size)) return -1 ;
  return 1 ;
}

int imapcache_open (imapcache *c, char const *dir, uint32_t uidvalidity)
{
  stralloc p = STRALLOC_ZERO ;
  int r = -1 ;
  imapcache_free(c) ;
  c->state = -1 ;
  c->uidvalidity = uidvalidity ;
  if (!stralloc_cats(&c->dir, dir) || !stralloc_0(&c->dir) || !path(c, &p, 0)) goto end ;
  for (int tries = 0 ; tries < 2 ; tries++)
  {
    c->fd = open(p.s, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW) ;
    if (c->fd < 0 && errno != ENOENT) break ;
    if (c->fd >= 0 && (r = load(c))) break ;
    /* absent or unusable: made anew, once */
    if (c->fd >= 0) { fd_close(c->fd) ; c->fd = -1 ; }
    free(c->ref) ; c->ref = 0 ; c->n = c->cap = 0 ; c->live = c->dead = 0 ; c->keylen = 0 ;
    if (!fresh(c)) break ;
  }
  if (r > 0) c->state = 1 ;
  else if (c->fd >= 0) { fd_close(c->fd) ; c->fd = -1 ; }
 end:
  stralloc_free(&p) ;
  return r > 0 ;
}
