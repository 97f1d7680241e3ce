/* The folder index file: see mboxindex.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include "mdlist.h"
#include "imapstore/mboxindex.h"
#include "flockwait.h"

static char const magic[8] = "PMIDX02\n" ;
#define ENDIAN 0x01020304u
#define FILE_MAX ((uint64_t)IMAPINDEX_HEAD + (uint64_t)MDLIST_MAX * (IMAPINDEX_REC + IMAPINDEX_NAME_MAX + 1) \
                  + (uint64_t)IMAPINDEX_LOG_MAX * IMAPINDEX_LOG)

/* A word-at-a-time hash: enough to tell a torn or foreign file. Four
   independent lanes, as a warm SELECT of a big folder checks the whole
   file and one chain of multiplies was half its time. */
static uint64_t mix (uint64_t h, uint64_t w)
{
  h = (h ^ w) * 0x9e3779b97f4a7c15ull ;
  return h ^ (h >> 29) ;
}

static uint64_t sum (char const *s, size_t n)
{
  uint64_t h[4] = { 0x6a09e667f3bcc909ull ^ n, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull } ;
  size_t i = 0 ;
  for (; i + 32 <= n ; i += 32)
  {
    uint64_t w[4] ;
    memcpy(w, s + i, 32) ;
    for (unsigned k = 0 ; k < 4 ; k++) h[k] = mix(h[k], w[k]) ;
  }
  for (unsigned k = 1 ; k < 4 ; k++) h[0] = mix(h[0], h[k]) ;
  for (; i < n ; i++) { h[0] = (h[0] ^ (unsigned char)s[i]) * 0x100000001b3ull ; h[0] ^= h[0] >> 31 ; }
  return h[0] ^ (h[0] >> 32) ;
}

static uint32_t g32 (char const *s) { uint32_t v ; memcpy(&v, s, 4) ; return v ; }
static uint64_t g64 (char const *s) { uint64_t v ; memcpy(&v, s, 8) ; return v ; }
static void p32 (char *s, uint32_t v) { memcpy(s, &v, 4) ; }
static void p64 (char *s, uint64_t v) { memcpy(s, &v, 8) ; }

static int headparse (imapindex_head *h, char const *s)
{
  if (memcmp(s, magic, 8) || g32(s + 8) != ENDIAN || g64(s + 120) != sum(s, 120)) return 0 ;
  h->nrec = g32(s + 12) ; h->nlog = g32(s + 16) ;
  h->uidvalidity = g32(s + 20) ; h->uidnext = g32(s + 24) ; h->stamped = g32(s + 28) ;
  h->hms = g64(s + 32) ; h->logfloor = g64(s + 40) ;
  h->curt.tv_sec = (time_t)g64(s + 48) ; h->curt.tv_nsec = (long)g64(s + 56) ;
  h->newt.tv_sec = (time_t)g64(s + 64) ; h->newt.tv_nsec = (long)g64(s + 72) ;
  h->ulsize = g64(s + 80) ; h->ulino = g64(s + 88) ; h->ulmtime = (int64_t)g64(s + 96) ;
  h->nameslen = g64(s + 104) ;
  return h->nrec <= MDLIST_MAX && h->nlog <= IMAPINDEX_LOG_MAX && h->uidvalidity && h->stamped <= 1
      && h->hms <= IMAPINDEX_MODSEQ_MAX && h->logfloor <= h->hms
      && h->nameslen <= (uint64_t)h->nrec * (IMAPINDEX_NAME_MAX + 1) ;
}

static void headfmt (char *s, imapindex_head const *h, uint64_t bodysum)
{
  memset(s, 0, IMAPINDEX_HEAD) ;
  memcpy(s, magic, 8) ;
  p32(s + 8, ENDIAN) ; p32(s + 12, h->nrec) ; p32(s + 16, h->nlog) ;
  p32(s + 20, h->uidvalidity) ; p32(s + 24, h->uidnext) ; p32(s + 28, h->stamped) ;
  p64(s + 32, h->hms) ; p64(s + 40, h->logfloor) ;
  p64(s + 48, (uint64_t)h->curt.tv_sec) ; p64(s + 56, (uint64_t)h->curt.tv_nsec) ;
  p64(s + 64, (uint64_t)h->newt.tv_sec) ; p64(s + 72, (uint64_t)h->newt.tv_nsec) ;
  p64(s + 80, h->ulsize) ; p64(s + 88, h->ulino) ; p64(s + 96, (uint64_t)h->ulmtime) ;
  p64(s + 104, h->nameslen) ; p64(s + 112, bodysum) ;
  p64(s + 120, sum(s, 120)) ;
}

void imapindex_seal (char *buf, size_t len)
{
  if (len < IMAPINDEX_HEAD) return ;
  p64(buf + 112, sum(buf + IMAPINDEX_HEAD, len - IMAPINDEX_HEAD)) ;
  p64(buf + 120, sum(buf, 120)) ;
}

static size_t filesize (imapindex_head const *h)
{
  return IMAPINDEX_HEAD + (size_t)h->nrec * IMAPINDEX_REC + (size_t)h->nlog * IMAPINDEX_LOG + h->nameslen ;
}

void imapindex_free (imapindex *x)
{
  if (x->mapped) { if (x->buf) munmap(x->buf, x->len) ; }
  else free(x->buf) ;
  free(x->nameoff) ;
  x->buf = 0 ; x->nameoff = 0 ; x->len = 0 ; x->mapped = 0 ;
  memset(&x->h, 0, sizeof x->h) ;
}

static char const *recp (imapindex const *x, size_t i) { return x->buf + IMAPINDEX_HEAD + i * IMAPINDEX_REC ; }

/* Every record, log entry and name checked: what a reader relies on. */
static int check (imapindex *x)
{
  imapindex_head const *h = &x->h ;
  char const *names = x->buf + IMAPINDEX_HEAD + (size_t)h->nrec * IMAPINDEX_REC + (size_t)h->nlog * IMAPINDEX_LOG ;
  size_t off = 0 ;
  uint32_t last = 0 ;
  uint64_t lastmod = 0 ;
  x->nameoff = malloc((h->nrec ? h->nrec : 1) * sizeof *x->nameoff) ;
  if (!x->nameoff) return -1 ;
  for (size_t i = 0 ; i < h->nrec ; i++)
  {
    char const *r = recp(x, i) ;
    uint32_t uid = g32(r), nl = g32(r + 12) & 0xffff, bl = g32(r + 12) >> 16 ;
    uint64_t modseq = g64(r + 32) ;
    if (uid <= last || uid >= h->uidnext || g32(r + 4) > 31 || g32(r + 8) >> 26) return 0 ;
    if (!nl || nl > IMAPINDEX_NAME_MAX || !bl || bl > nl || !modseq || modseq > h->hms) return 0 ;
    if (h->nameslen - off < (uint64_t)nl + 1 || names[off + nl]) return 0 ;
    if (memchr(names + off, 0, nl) || memchr(names + off, '/', nl) || names[off] == '.') return 0 ;
    x->nameoff[i] = (size_t)(names - x->buf) + off ;
    off += nl + 1 ;
    last = uid ;
  }
  if (off != h->nameslen) return 0 ;
  for (size_t i = 0 ; i < h->nlog ; i++)
  {
    char const *e = x->buf + IMAPINDEX_HEAD + (size_t)h->nrec * IMAPINDEX_REC + i * IMAPINDEX_LOG ;
    uint64_t m = g64(e) ;
    if (m < lastmod || m > h->hms || m <= h->logfloor || !g32(e + 8) || g32(e + 8) >= h->uidnext) return 0 ;
    lastmod = m ;
  }
  return 1 ;
}

int imapindex_parse (imapindex *x, char *buf, size_t len)
{
  int r ;
  x->buf = buf ; x->len = len ; x->nameoff = 0 ;   /* x->mapped as the caller set it */
  if (len < IMAPINDEX_HEAD || !headparse(&x->h, buf) || filesize(&x->h) != len
   || g64(buf + 112) != sum(buf + IMAPINDEX_HEAD, len - IMAPINDEX_HEAD)) goto bad ;
  r = check(x) ;
  if (r > 0) return 1 ;
  if (r < 0) { imapindex_free(x) ; return -1 ; }
 bad:
  imapindex_free(x) ;
  return 0 ;
}

static int pathof (stralloc *sa, char const *dir, char const *file)
{
  sa->len = 0 ;
  return stralloc_cats(sa, dir) && stralloc_catb(sa, "/", 1) && stralloc_cats(sa, file) && stralloc_0(sa) ;
}

int imapindex_read (imapindex *x, char const *dir)
{
  stralloc p = STRALLOC_ZERO ;
  struct stat st ;
  char *buf = 0 ;
  int fd, r = -1 ;
  imapindex_free(x) ;
  if (!pathof(&p, dir, IMAPINDEX_FILE)) goto end ;
  fd = openc_read(p.s) ;
  if (fd < 0) { if (errno == ENOENT) r = 0 ; goto end ; }
  if (fstat(fd, &st) < 0) { fd_close(fd) ; goto end ; }
  if ((uint64_t)st.st_size < IMAPINDEX_HEAD || (uint64_t)st.st_size > FILE_MAX) { fd_close(fd) ; r = 0 ; goto end ; }
  /* the writers rename a new file into place: this one does not change */
  buf = mmap(0, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) ;
  fd_close(fd) ;
  if (buf == MAP_FAILED) goto end ;
  x->mapped = 1 ;
  r = imapindex_parse(x, buf, (size_t)st.st_size) ;
 end:
  stralloc_free(&p) ;
  return r ;
}

int imapindex_readhead (imapindex_head *h, char const *dir)
{
  stralloc p = STRALLOC_ZERO ;
  char buf[IMAPINDEX_HEAD] ;
  struct stat st ;
  int fd, r = -1 ;
  if (!pathof(&p, dir, IMAPINDEX_FILE)) goto end ;
  fd = openc_read(p.s) ;
  if (fd < 0) { if (errno == ENOENT) r = 0 ; goto end ; }
  if (fstat(fd, &st) < 0) { fd_close(fd) ; goto end ; }
  r = allread(fd, buf, sizeof buf) == sizeof buf && headparse(h, buf) && filesize(h) == (uint64_t)st.st_size ;
  fd_close(fd) ;
 end:
  stralloc_free(&p) ;
  return r ;
}

void imapindex_get (imapindex const *x, size_t i, imapindex_rec *r)
{
  char const *s = recp(x, i) ;
  r->uid = g32(s) ; r->flags = g32(s + 4) ; r->kw = g32(s + 8) ;
  r->namelen = g32(s + 12) & 0xffff ; r->baselen = g32(s + 12) >> 16 ;
  r->size = g64(s + 16) ; r->vsize = g64(s + 24) ; r->modseq = g64(s + 32) ; r->date = (int64_t)g64(s + 40) ;
  r->name = x->buf + x->nameoff[i] ;
}

size_t imapindex_find (imapindex const *x, uint32_t uid)
{
  size_t lo = 0, hi = x->buf ? x->h.nrec : 0 ;
  while (lo < hi)
  {
    size_t mid = lo + (hi - lo) / 2 ;
    uint32_t u = g32(recp(x, mid)) ;
    if (u == uid) return mid ;
    if (u < uid) lo = mid + 1 ; else hi = mid ;
  }
  return (size_t)-1 ;
}

void imapindex_logent (imapindex const *x, size_t i, uint64_t *modseq, uint32_t *uid)
{
  char const *e = x->buf + IMAPINDEX_HEAD + (size_t)x->h.nrec * IMAPINDEX_REC + i * IMAPINDEX_LOG ;
  *modseq = g64(e) ;
  *uid = g32(e + 8) ;
}

int imapindex_write (char const *dir, imapindex_head const *h, imapindex_src const *src)
{
  stralloc tmp = STRALLOC_ZERO, dst = STRALLOC_ZERO ;
  size_t len = filesize(h), names = IMAPINDEX_HEAD + (size_t)h->nrec * IMAPINDEX_REC + (size_t)h->nlog * IMAPINDEX_LOG ;
  size_t off = names ;
  char *buf = malloc(len) ;
  int fd, ok = 0 ;
  if (!buf) return 0 ;
  for (size_t i = 0 ; i < h->nrec ; i++)
  {
    imapindex_rec r ;
    char *s = buf + IMAPINDEX_HEAD + i * IMAPINDEX_REC ;
    (*src->rec)(src->ctx, i, &r) ;
    if (off + r.namelen + 1 > len) { errno = EINVAL ; goto end ; }
    p32(s, r.uid) ; p32(s + 4, r.flags) ; p32(s + 8, r.kw) ; p32(s + 12, r.namelen | (uint32_t)r.baselen << 16) ;
    p64(s + 16, r.size) ; p64(s + 24, r.vsize) ; p64(s + 32, r.modseq) ; p64(s + 40, (uint64_t)r.date) ;
    memcpy(buf + off, r.name, r.namelen) ;
    buf[off + r.namelen] = 0 ;
    off += r.namelen + 1 ;
  }
  if (off != len) { errno = EINVAL ; goto end ; }
  for (size_t i = 0 ; i < h->nlog ; i++)
  {
    char *e = buf + IMAPINDEX_HEAD + (size_t)h->nrec * IMAPINDEX_REC + i * IMAPINDEX_LOG ;
    uint64_t m ;
    uint32_t uid ;
    (*src->log)(src->ctx, i, &m, &uid) ;
    p64(e, m) ; p32(e + 8, uid) ; p32(e + 12, 0) ;
  }
  headfmt(buf, h, sum(buf + IMAPINDEX_HEAD, len - IMAPINDEX_HEAD)) ;
  if (!pathof(&tmp, dir, IMAPINDEX_FILE ".tmp") || !pathof(&dst, dir, IMAPINDEX_FILE)) goto end ;
  fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) ;
  if (fd < 0) goto end ;
  /* no fsync: a torn index is found out and rebuilt */
  ok = allwrite(fd, buf, len) == len ;
  fd_close(fd) ;
  if (ok && rename(tmp.s, dst.s) < 0) ok = 0 ;
  if (!ok) unlink(tmp.s) ;
 end:
  free(buf) ;
  stralloc_free(&tmp) ; stralloc_free(&dst) ;
  return ok ;
}

int imapindex_lock (char const *dir)
{
  stralloc p = STRALLOC_ZERO ;
  int fd = -1 ;
  if (pathof(&p, dir, IMAPINDEX_FILE ".lock"))
  {
    fd = open(p.s, O_RDWR | O_CREAT | O_CLOEXEC, 0600) ;
    /* held only for a sync, never while the client is written to: wait
       at most IMAPINDEX_LOCK_MS */
    if (fd >= 0 && !flock_wait(fd, IMAPINDEX_LOCK_MS)) { int e = errno ; fd_close(fd) ; fd = -1 ; errno = e ; }
  }
  stralloc_free(&p) ;
  return fd ;
}

void imapindex_unlock (int fd)
{
  if (fd >= 0) fd_close(fd) ;
}

uint64_t imapindex_clock (void)
{
  struct timespec t ;
  clock_gettime(CLOCK_REALTIME, &t) ;
  return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000 ;
}
