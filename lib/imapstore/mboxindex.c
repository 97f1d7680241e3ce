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
#include "imapstore/mbox.h"
#include "flockwait.h"

/* the records are the view's messages (mboxindex.h) */
_Static_assert(sizeof (imapmsg) == IMAPINDEX_REC, "an index record is an imapmsg") ;
_Static_assert(IMAPINDEX_HEAD % 8 == 0, "records aligned in the file") ;

static char const magic[8] = "PMIDX03\n" ;
#define HEADSUM (IMAPINDEX_HEAD - 8)   /* where the header's checksum is */
#define ENDIAN 0x01020304u
#define FILE_MAX ((uint64_t)IMAPINDEX_HEAD + (uint64_t)MDLIST_MAX * (IMAPINDEX_REC + IMAPINDEX_NAME_MAX + 1) \
                  + (uint64_t)IMAPINDEX_LOG_MAX * IMAPINDEX_LOG)
_Static_assert(FILE_MAX < IMAPBOX_INMAP, "a name's offset in the file fits a record's name field") ;

/* A checksum to tell a torn, damaged or foreign file, not an attacker
   (who could write a right one): Fletcher's sums (each word added, and
   each running total, so that order counts) on four lanes of 64-bit
   words, mixed at the end. Adds only: the first command after a SELECT
   checks the whole index of a big folder (mboxindex.h). */
static uint64_t mix (uint64_t h, uint64_t w)
{
  h = (h ^ w) * 0x9e3779b97f4a7c15ull ;
  return h ^ (h >> 29) ;
}

static uint64_t sum (char const *s, size_t n)
{
  uint64_t a[4] = { 1, 2, 3, 4 }, b[4] = { 0, 0, 0, 0 }, h = 0x6a09e667f3bcc909ull ^ n ;
  size_t i = 0 ;
  for (; i + 32 <= n ; i += 32)
  {
    uint64_t w[4] ;
    memcpy(w, s + i, 32) ;
    for (unsigned k = 0 ; k < 4 ; k++) { a[k] += w[k] ; b[k] += a[k] ; }
  }
  for (unsigned k = 0 ; k < 4 ; k++) h = mix(mix(h, a[k]), b[k]) ;
  for (; i < n ; i++) h = mix(h, (unsigned char)s[i]) ;
  return h ^ (h >> 32) ;
}

static uint32_t g32 (char const *s) { uint32_t v ; memcpy(&v, s, 4) ; return v ; }
static uint64_t g64 (char const *s) { uint64_t v ; memcpy(&v, s, 8) ; return v ; }
static void p32 (char *s, uint32_t v) { memcpy(s, &v, 4) ; }
static void p64 (char *s, uint64_t v) { memcpy(s, &v, 8) ; }

static int headparse (imapindex_head *h, char const *s)
{
  if (memcmp(s, magic, 8) || g32(s + 8) != ENDIAN || g64(s + HEADSUM) != sum(s, HEADSUM)
   || g32(s + 128) != IMAPINDEX_REC) return 0 ;
  h->nrec = g32(s + 12) ; h->nlog = g32(s + 16) ;
  h->uidvalidity = g32(s + 20) ; h->uidnext = g32(s + 24) ; h->stamped = g32(s + 28) ;
  h->hms = g64(s + 32) ; h->logfloor = g64(s + 40) ;
  h->curt.tv_sec = (time_t)g64(s + 48) ; h->curt.tv_nsec = (long)g64(s + 56) ;
  h->newt.tv_sec = (time_t)g64(s + 64) ; h->newt.tv_nsec = (long)g64(s + 72) ;
  h->ulsize = g64(s + 80) ; h->ulino = g64(s + 88) ; h->ulmtime = (int64_t)g64(s + 96) ;
  h->nameslen = g64(s + 104) ;
  h->kwall = g32(s + 120) ; h->unseen = g32(s + 124) ;
  return h->nrec <= MDLIST_MAX && h->unseen <= h->nrec && h->nlog <= IMAPINDEX_LOG_MAX && h->uidvalidity && h->stamped <= 1
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
  p32(s + 120, h->kwall) ; p32(s + 124, h->unseen) ; p32(s + 128, IMAPINDEX_REC) ;
  p64(s + HEADSUM, sum(s, HEADSUM)) ;
}

void imapindex_seal (char *buf, size_t len)
{
  if (len < IMAPINDEX_HEAD) return ;
  p64(buf + 112, sum(buf + IMAPINDEX_HEAD, len - IMAPINDEX_HEAD)) ;
  p64(buf + HEADSUM, sum(buf, HEADSUM)) ;
}

static size_t filesize (imapindex_head const *h)
{
  return IMAPINDEX_HEAD + (size_t)h->nrec * IMAPINDEX_REC + (size_t)h->nlog * IMAPINDEX_LOG + h->nameslen ;
}

void imapindex_free (imapindex *x)
{
  if (x->mapped) { if (x->buf) munmap(x->buf, x->len) ; }
  else free(x->buf) ;
  x->buf = 0 ; x->len = 0 ; x->mapped = 0 ; x->verified = 0 ;
  memset(&x->h, 0, sizeof x->h) ;
}

static imapmsg const *recp (char const *buf, size_t i)
{
  return (imapmsg const *)(buf + IMAPINDEX_HEAD + i * IMAPINDEX_REC) ;
}

/* Every record, log entry and name checked, and what the header says of
   them: what a reader relies on. */
static int check (char const *buf, size_t len, imapindex_head const *h)
{
  size_t off = IMAPINDEX_HEAD + (size_t)h->nrec * IMAPINDEX_REC + (size_t)h->nlog * IMAPINDEX_LOG ;
  uint32_t last = 0, kwall = 0, unseen = 0 ;
  uint64_t lastmod = 0 ;
  for (size_t i = 0 ; i < h->nrec ; i++)
  {
    imapmsg const *m = recp(buf, i) ;
    size_t nl ;
    if (m->uid <= last || m->uid >= h->uidnext || m->flags > 31 || m->kw >> 26 || m->recent || m->gone) return 0 ;
    if (!m->modseq || m->modseq > h->hms || m->name != (IMAPBOX_INMAP | (uint32_t)off) || off >= len) return 0 ;
    nl = strnlen(buf + off, len - off < IMAPINDEX_NAME_MAX + 1 ? len - off : IMAPINDEX_NAME_MAX + 1) ;
    if (!nl || nl > IMAPINDEX_NAME_MAX || off + nl >= len || !m->baselen || m->baselen > nl) return 0 ;
    if (memchr(buf + off, '/', nl) || buf[off] == '.') return 0 ;
    kwall |= m->kw ;
    if (!unseen && !(m->flags & IMAPF_SEEN)) unseen = (uint32_t)i + 1 ;
    off += nl + 1 ;
    last = m->uid ;
  }
  if (off != len || kwall != h->kwall || unseen != h->unseen) return 0 ;
  for (size_t i = 0 ; i < h->nlog ; i++)
  {
    char const *e = buf + IMAPINDEX_HEAD + (size_t)h->nrec * IMAPINDEX_REC + i * IMAPINDEX_LOG ;
    uint64_t m = g64(e) ;
    if (m < lastmod || m > h->hms || m <= h->logfloor || !g32(e + 8) || g32(e + 8) >= h->uidnext) return 0 ;
    lastmod = m ;
  }
  return 1 ;
}

/* The header, and the file's size as it says */
static int headok (char const *buf, size_t len, imapindex_head *h)
{
  return len >= IMAPINDEX_HEAD && headparse(h, buf) && filesize(h) == len ;
}

int imapindex_check (char const *buf, size_t len, imapindex_head *h)
{
  return headok(buf, len, h) && g64(buf + 112) == sum(buf + IMAPINDEX_HEAD, len - IMAPINDEX_HEAD) && check(buf, len, h) ;
}

int imapindex_verify (imapindex *x)
{
  if (x->verified) return 1 ;
  if (!x->buf || !imapindex_check(x->buf, x->len, &x->h)) { imapindex_free(x) ; return 0 ; }
  x->verified = 1 ;
  return 1 ;
}

int imapindex_parse (imapindex *x, char *buf, size_t len)
{
  x->buf = buf ; x->len = len ; x->verified = 0 ;   /* x->mapped as the caller set it */
  if (!headok(buf, len, &x->h)) { imapindex_free(x) ; return 0 ; }
  return imapindex_verify(x) ;
}

static int pathof (stralloc *sa, char const *dir, char const *file)
{
  sa->len = 0 ;
  return stralloc_cats(sa, dir) && stralloc_catb(sa, "/", 1) && stralloc_cats(sa, file) && stralloc_0(sa) ;
}

int imapindex_open (imapindex *x, char const *dir)
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
  /* the writers rename a new file into place: this one does not change.
     Private and writable: a session's view is its records (mbox.h) */
  buf = mmap(0, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) ;
  fd_close(fd) ;
  if (buf == MAP_FAILED) goto end ;
  x->buf = buf ; x->len = (size_t)st.st_size ; x->mapped = 1 ; x->verified = 0 ;
  r = headok(buf, x->len, &x->h) ;
  if (!r) imapindex_free(x) ;
 end:
  stralloc_free(&p) ;
  return r ;
}

int imapindex_read (imapindex *x, char const *dir)
{
  int r = imapindex_open(x, dir) ;
  return r > 0 ? imapindex_verify(x) : r ;
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
  r = allread(fd, buf, sizeof buf) == sizeof buf && headok(buf, (size_t)st.st_size, h) ;
  fd_close(fd) ;
 end:
  stralloc_free(&p) ;
  return r ;
}

void imapindex_get (imapindex const *x, size_t i, imapindex_rec *r)
{
  imapmsg const *m = recp(x->buf, i) ;
  r->uid = m->uid ; r->flags = m->flags ; r->kw = m->kw ;
  r->name = x->buf + (m->name & ~IMAPBOX_INMAP) ;
  r->namelen = strlen(r->name) ; r->baselen = m->baselen ;
  r->size = m->size ; r->vsize = m->vsize ; r->modseq = m->modseq ; r->date = m->date ;
}

size_t imapindex_find (imapindex const *x, uint32_t uid)
{
  size_t lo = 0, hi = x->buf ? x->h.nrec : 0 ;
  while (lo < hi)
  {
    size_t mid = lo + (hi - lo) / 2 ;
    uint32_t u = recp(x->buf, mid)->uid ;
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
  imapindex_head hh = *h ;
  char *buf = malloc(len) ;
  int fd, ok = 0 ;
  if (!buf) return 0 ;
  hh.kwall = hh.unseen = 0 ;
  for (size_t i = 0 ; i < h->nrec ; i++)
  {
    imapindex_rec r ;
    imapmsg m ;
    (*src->rec)(src->ctx, i, &r) ;
    if (off + r.namelen + 1 > len) { errno = EINVAL ; goto end ; }
    memset(&m, 0, sizeof m) ;   /* recent, gone and the unused bits clear */
    m.uid = r.uid ; m.flags = (uint8_t)r.flags ; m.kw = r.kw ; m.baselen = (uint16_t)r.baselen ;
    m.name = IMAPBOX_INMAP | (uint32_t)off ;
    m.size = r.size ; m.vsize = r.vsize ; m.modseq = r.modseq ; m.date = r.date ;
    memcpy(buf + IMAPINDEX_HEAD + i * IMAPINDEX_REC, &m, sizeof m) ;
    hh.kwall |= r.kw ;
    if (!hh.unseen && !(r.flags & IMAPF_SEEN)) hh.unseen = (uint32_t)i + 1 ;
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
  headfmt(buf, &hh, sum(buf + IMAPINDEX_HEAD, len - IMAPINDEX_HEAD)) ;
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
