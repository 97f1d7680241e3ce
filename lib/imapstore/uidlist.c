#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "maildir.h"
#include "mdlist.h"
#include "imapstore/uidlist.h"

#define FILE_MAX ((off_t)MDLIST_MAX * 300)

static int path2 (stralloc *sa, char const *dir, char const *name)
{
  sa->len = 0 ;
  return stralloc_cats(sa, dir) && stralloc_catb(sa, "/", 1) && stralloc_cats(sa, name) && stralloc_0(sa) ;
}

static void empty (uidlist *u)
{
  u->text.len = u->head.len = 0 ;
  genalloc_setlen(uident, &u->ents, 0) ;
  u->sorted = 0 ;
  u->uidnext = 1 ;
}

/* "<n>" of exactly the digits, fitting 32 bits, not 0 */
static int scan32 (char const *s, size_t len, uint32_t *v)
{
  uint64_t u = 0 ;
  if (!len || len > 10) return 0 ;
  for (size_t i = 0 ; i < len ; i++)
  {
    if (s[i] < '0' || s[i] > '9') return 0 ;
    u = u * 10 + (s[i] - '0') ;
  }
  if (!u || u > 0xffffffffu) return 0 ;
  *v = (uint32_t)u ;
  return 1 ;
}

static int parse_head (uidlist *u, char const *s, size_t len)
{
  size_t i = 0, n ;
  unsigned int field = 0 ;
  int v3 = len >= 2 && s[0] == '3' && s[1] == ' ' ;
  if (!(v3 || (len >= 2 && (s[0] == '1' || s[0] == '2') && s[1] == ' '))) return 0 ;
  u->uidvalidity = 0 ;
  u->uidnext = 1 ;
  for (i = 2 ; i < len ; i += n + 1, field++)
  {
    n = byte_chr(s + i, len - i, ' ') ;
    if (!n) continue ;
    if (!v3)
    {
      if (field == 0 && !scan32(s + i, n, &u->uidvalidity)) return 0 ;
      if (field == 1 && !scan32(s + i, n, &u->uidnext)) return 0 ;
    }
    else if (s[i] == 'V') { if (!scan32(s + i + 1, n - 1, &u->uidvalidity)) return 0 ; }
    else if (s[i] == 'N') { if (!scan32(s + i + 1, n - 1, &u->uidnext)) return 0 ; }
    else if (!stralloc_catb(&u->head, " ", 1) || !stralloc_catb(&u->head, s + i, n)) return 0 ;
  }
  return u->uidvalidity != 0 ;
}

/* "<uid> [ext ]:name" or "<uid> name" */
static int parse_line (uidlist *u, char const *s, size_t len, uint32_t *last)
{
  uident e ;
  size_t sp = byte_chr(s, len, ' '), name ;
  if (sp >= len - 1 || !scan32(s, sp, &e.uid) || e.uid <= *last) return 0 ;
  if (byte_chr(s, len, 0) < len) return 0 ;
  s += sp + 1 ; len -= sp + 1 ;
  if (s[0] == ':') name = 1 ;
  else
  {
    char const *p = 0 ;
    for (size_t i = 0 ; i + 1 < len ; i++) if (s[i] == ' ' && s[i+1] == ':') { p = s + i ; break ; }
    name = p ? (size_t)(p - s) + 2 : 0 ;
  }
  if (name >= len) return 0 ;
  e.rest = u->text.len ;
  e.baselen = 0 ;
  while (name + e.baselen < len && s[name + e.baselen] != ',' && s[name + e.baselen] != ':') e.baselen++ ;
  if (!e.baselen) return 0 ;
  /* a version 1 line ("UID NAME") is kept as version 3 writes it */
  if (!name && !stralloc_catb(&u->text, ":", 1)) return -1 ;
  e.base = u->text.len + name ;
  if (!stralloc_catb(&u->text, s, len) || !stralloc_0(&u->text)) return -1 ;
  *last = e.uid ;
  return genalloc_append(uident, &u->ents, &e) ? 1 : -1 ;
}

static int parse (uidlist *u, char const *s, size_t len)
{
  size_t i = byte_chr(s, len, '\n') ;
  uint32_t last = 0 ;
  if (i >= len || i > UIDLIST_LINE_MAX || !parse_head(u, s, i)) return 0 ;
  for (i++ ; i < len ;)
  {
    size_t n = byte_chr(s + i, len - i, '\n') ;
    int r ;
    if (i + n >= len || n > UIDLIST_LINE_MAX) return 0 ;  /* torn or absurd */
    r = parse_line(u, s + i, n, &last) ;
    if (r <= 0) return r ;
    i += n + 1 ;
  }
  if (u->uidnext <= last) u->uidnext = last == 0xffffffffu ? last : last + 1 ;
  return 1 ;
}

int uidlist_read (uidlist *u, char const *dir)
{
  stralloc path = STRALLOC_ZERO, raw = STRALLOC_ZERO ;
  struct stat st ;
  int fd, r = 0, e ;
  if (!path2(&path, dir, UIDLIST_FILE)) return 0 ;
  fd = open(path.s, O_RDONLY | O_CLOEXEC) ;
  stralloc_free(&path) ;
  if (fd < 0)
  {
    if (errno != ENOENT) return 0 ;
    empty(u) ; u->uidvalidity = 0 ; u->ino = 0 ;
    return -1 ;
  }
  if (fstat(fd, &st) < 0) goto end ;
  if (u->ino && st.st_ino == u->ino && st.st_dev == u->dev && st.st_size == u->size
   && (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec == u->mtime_ns) { r = 2 ; goto end ; }
  empty(u) ;
  u->ino = 0 ;
  if (st.st_size > FILE_MAX) { r = -1 ; goto end ; }
  if (!stralloc_ready(&raw, (size_t)st.st_size + 1)) goto end ;
  errno = 0 ;
  raw.len = allread(fd, raw.s, (size_t)st.st_size + 1) ;
  if (errno && errno != EPIPE) goto end ;
  if (!u->text.s && !stralloc_ready(&u->text, raw.len)) goto end ;
  r = parse(u, raw.s, raw.len) ;
  if (r < 0) { r = 0 ; errno = ENOMEM ; goto end ; }
  if (!r) { uint32_t v = u->uidvalidity ; empty(u) ; u->uidvalidity = v ; r = -1 ; goto end ; }
  u->dev = st.st_dev ; u->ino = st.st_ino ; u->size = st.st_size ;
  u->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec ;
 end:
  e = errno ;
  fd_close(fd) ;
  stralloc_free(&raw) ;
  errno = e ;
  return r ;
}

static int cmpname (void const *a, void const *b, void *arg)
{
  uidlist const *u = arg ;
  uident const *x = genalloc_s(uident, &u->ents) + *(size_t const *)a ;
  uident const *y = genalloc_s(uident, &u->ents) + *(size_t const *)b ;
  unsigned int n = x->baselen < y->baselen ? x->baselen : y->baselen ;
  int c = memcmp(u->text.s + x->base, u->text.s + y->base, n) ;
  return c ? c : (int)x->baselen - (int)y->baselen ;
}

static int sortnames (uidlist *u)
{
  size_t n = uidlist_len(u) ;
  if (u->sorted) return 1 ;
  if (!genalloc_ready(size_t, &u->byname, n)) return 0 ;
  for (size_t i = 0 ; i < n ; i++) genalloc_s(size_t, &u->byname)[i] = i ;
  genalloc_setlen(size_t, &u->byname, n) ;
  if (n > 1) qsort_r(genalloc_s(size_t, &u->byname), n, sizeof(size_t), cmpname, u) ;
  u->sorted = 1 ;
  return 1 ;
}

uint32_t uidlist_find (uidlist *u, char const *base, size_t len)
{
  size_t lo = 0, hi ;
  if (!sortnames(u)) return 0 ;
  hi = genalloc_len(size_t, &u->byname) ;
  while (lo < hi)
  {
    size_t mid = lo + (hi - lo) / 2 ;
    uident const *e = genalloc_s(uident, &u->ents) + genalloc_s(size_t, &u->byname)[mid] ;
    size_t n = e->baselen < len ? e->baselen : len ;
    int c = memcmp(u->text.s + e->base, base, n) ;
    if (!c) c = (int)e->baselen - (int)len ;
    if (!c) return e->uid ;
    if (c < 0) lo = mid + 1 ; else hi = mid ;
  }
  return 0 ;
}

int uidlist_add (uidlist *u, char const *name, uint32_t *uid)
{
  uident e = { .uid = u->uidnext, .rest = u->text.len, .base = u->text.len + 1 } ;
  size_t n = str_chr(name, ':') ;
  if (u->uidnext == 0xffffffffu) return (errno = ERANGE, 0) ;
  e.baselen = mdlist_base(name) ;
  if (!stralloc_catb(&u->text, ":", 1) || !stralloc_catb(&u->text, name, n) || !stralloc_0(&u->text)
   || !genalloc_append(uident, &u->ents, &e)) return 0 ;
  u->uidnext++ ;
  u->sorted = 0 ;
  u->ino = 0 ;  /* differs from the file until committed: read it again */
  *uid = e.uid ;
  return 1 ;
}

void uidlist_filter (uidlist *u, int (*keep)(uint32_t, void *), void *arg)
{
  uident *e = genalloc_s(uident, &u->ents) ;
  size_t n = uidlist_len(u), j = 0 ;
  for (size_t i = 0 ; i < n ; i++) if (keep(e[i].uid, arg)) e[j++] = e[i] ;
  genalloc_setlen(uident, &u->ents, j) ;
  u->sorted = 0 ;
  u->ino = 0 ;
}

static int lockpath (stralloc *sa, char const *dir)
{
  return path2(sa, dir, UIDLIST_FILE ".lock") ;
}

static int lock (char const *dir, unsigned int tries)
{
  stralloc sa = STRALLOC_ZERO ;
  int fd = -1 ;
  if (lockpath(&sa, dir)) fd = maildir_dotlock(sa.s, tries) ;
  stralloc_free(&sa) ;
  return fd ;
}

int uidlist_lock (char const *dir) { return lock(dir, UIDLIST_LOCK_TRIES) ; }
int uidlist_lock_try (char const *dir) { return lock(dir, 1) ; }

void uidlist_unlock (char const *dir, int fd)
{
  stralloc sa = STRALLOC_ZERO ;
  int e = errno ;
  if (lockpath(&sa, dir) && maildir_dotlock_mine(fd, sa.s)) unlink(sa.s) ;
  fd_close(fd) ;
  stralloc_free(&sa) ;
  errno = e ;
}

static int guid (stralloc *head)
{
  unsigned char r[16] ;
  char hex[33] ;
  if (getrandom(r, sizeof r, 0) != sizeof r) return 0 ;
  for (unsigned int i = 0 ; i < 16 ; i++) sprintf(hex + 2 * i, "%02x", r[i]) ;
  return stralloc_cats(head, " G") && stralloc_catb(head, hex, 32) ;
}

static int format (uidlist *u, stralloc *out)
{
  char fmt[UINT32_FMT] ;
  uident const *e = genalloc_s(uident, &u->ents) ;
  if (!u->head.len && !guid(&u->head)) return 0 ;
  if (!stralloc_cats(out, "3 V") || !stralloc_catb(out, fmt, uint32_fmt(fmt, u->uidvalidity))
   || !stralloc_cats(out, " N") || !stralloc_catb(out, fmt, uint32_fmt(fmt, u->uidnext))
   || !stralloc_cat(out, &u->head) || !stralloc_catb(out, "\n", 1)) return 0 ;
  for (size_t i = 0 ; i < uidlist_len(u) ; i++)
    if (!stralloc_catb(out, fmt, uint32_fmt(fmt, e[i].uid)) || !stralloc_catb(out, " ", 1)
     || !stralloc_cats(out, u->text.s + e[i].rest) || !stralloc_catb(out, "\n", 1)) return 0 ;
  return 1 ;
}

int uidlist_commit (uidlist *u, char const *dir, int fd)
{
  stralloc out = STRALLOC_ZERO, lock = STRALLOC_ZERO, path = STRALLOC_ZERO ;
  struct stat st ;
  int ok = 0 ;
  if (!format(u, &out) || !lockpath(&lock, dir) || !path2(&path, dir, UIDLIST_FILE)) goto end ;
  if (allwrite(fd, out.s, out.len) < out.len || fd_sync(fd) < 0 || fstat(fd, &st) < 0) goto end ;
  if (!maildir_dotlock_mine(fd, lock.s)) { errno = EAGAIN ; goto end ; }
  if (rename(lock.s, path.s) < 0) goto end ;
  if (!maildir_dirsync(dir)) goto end ;
  /* what we wrote is what we hold: no need to read it back */
  u->dev = st.st_dev ; u->ino = st.st_ino ; u->size = st.st_size ;
  u->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec ;
  ok = 1 ;
 end:
  if (!ok) uidlist_unlock(dir, fd) ; else fd_close(fd) ;
  stralloc_free(&out) ; stralloc_free(&lock) ; stralloc_free(&path) ;
  return ok ;
}

uint32_t uidlist_validity (char const *root, uint32_t old)
{
  stralloc path = STRALLOC_ZERO, tmp = STRALLOC_ZERO ;
  char buf[32] ;
  uint32_t v = (uint32_t)time(0), last = 0 ;
  ssize_t r ;
  int fd ;
  if (!path2(&path, root, "dovecot-uidvalidity")) return 0 ;
  r = openreadnclose(path.s, buf, sizeof buf - 1) ;
  if (r > 0) { buf[r] = 0 ; last = (uint32_t)strtoul(buf, 0, 16) ; }
  if (v <= old) v = old + 1 ;
  if (v <= last) v = last + 1 ;
  if (!v) v = 1 ;
  snprintf(buf, sizeof buf, "%08x", v) ;
  if (!stralloc_copy(&tmp, &path) || (tmp.len--, !stralloc_cats(&tmp, ".tmp")) || !stralloc_0(&tmp)) { v = 0 ; goto end ; }
  fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) ;
  /* best effort: the time alone already makes a new value */
  if (fd >= 0)
  {
    if (allwrite(fd, buf, 8) == 8 && fd_sync(fd) == 0 && rename(tmp.s, path.s) == 0) ;
    else unlink(tmp.s) ;
    fd_close(fd) ;
  }
 end:
  stralloc_free(&path) ; stralloc_free(&tmp) ;
  return v ;
}

int uidlist_reset (uidlist *u, uint32_t uidvalidity)
{
  empty(u) ;
  u->uidvalidity = uidvalidity ;
  return 1 ;
}

void uidlist_free (uidlist *u)
{
  stralloc_free(&u->head) ;
  stralloc_free(&u->text) ;
  genalloc_free(uident, &u->ents) ;
  genalloc_free(size_t, &u->byname) ;
}
