#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "mdlist.h"
#include "msgcrlf.h"

size_t mdlist_base (char const *name)
{
  size_t i = 0 ;
  while (name[i] && name[i] != ',' && name[i] != ':') i++ ;
  return i ;
}

int mdlist_field (char const *name, char x, uint64_t *v)
{
  size_t end = str_chr(name, ':') ;
  for (size_t i = byte_chr(name, end, ',') ; i < end ; i += 1 + byte_chr(name + i + 1, end - i - 1, ','))
  {
    if (i + 2 < end && name[i+1] == x && name[i+2] == '=')
    {
      size_t n = uint64_scan(name + i + 3, v) ;
      char c = name[i + 3 + n] ;
      if (n && (c == ',' || c == ':' || !c)) return 1 ;
    }
  }
  return 0 ;
}

/* l->path = dir "/" sub "/" name */
static int mkpath (mdlist *l, char const *dir, char const *sub, char const *name)
{
  l->path.len = 0 ;
  return stralloc_cats(&l->path, dir) && stralloc_catb(&l->path, "/", 1)
      && stralloc_cats(&l->path, sub) && stralloc_catb(&l->path, "/", 1)
      && stralloc_cats(&l->path, name) && stralloc_0(&l->path) ;
}

/* Sizes of a message the name does not tell: read the file. 1 ok, 0 the
   file is gone (ENOENT) or unreadable. */
int mdlist_sizes (char const *path, uint64_t *psize, uint64_t *pvsize)
{
  static char buf[65536] ;
  msgcrlf w = MSGCRLF_ZERO ;
  uint64_t size = 0 ;
  int fd = openc_read(path) ;
  if (fd < 0) return 0 ;
  for (;;)
  {
    ssize_t r = fd_read(fd, buf, sizeof buf) ;
    if (r < 0) { fd_close(fd) ; return 0 ; }
    if (!r) break ;
    size += r ;
    msgcrlf_add(&w, buf, r) ;
  }
  fd_close(fd) ;
  *psize = size ;
  *pvsize = msgcrlf_total(&w) ;
  return 1 ;
}

int mdlist_push (mdlist *l, char const *name, uint64_t size, uint64_t vsize)
{
  mdmsg m = { .name = l->names.len, .baselen = mdlist_base(name), .size = size, .vsize = vsize } ;
  {
    size_t n = uint64_scan(name, &m.time) ;   /* 0 if none */
    uint32_t us = 0 ;
    /* "TIME.MUSEC...": microseconds, not zero-padded (ours nor Dovecot's),
       order two deliveries of one second only as numbers */
    if (n && name[n] == '.' && name[n+1] == 'M') uint320_scan(name + n + 2, &us) ;
    m.usec = us ;
  }
  if (mdlist_len(l) >= MDLIST_MAX) return (errno = E2BIG, 0) ;
  if (!stralloc_catb(&l->names, name, strlen(name) + 1)) return 0 ;
  return genalloc_append(mdmsg, &l->msgs, &m) ;
}

static int add (mdlist *l, char const *dir, char const *name)
{
  uint64_t size = 0, vsize = 0 ;
  if (!mdlist_field(name, 'S', &size) || !mdlist_field(name, 'W', &vsize))
  {
    if (l->lazy) size = vsize = 0 ;
    else
    {
      if (!mkpath(l, dir, "cur", name)) return 0 ;
      if (!mdlist_sizes(l->path.s, &size, &vsize)) return errno == ENOENT ;
    }
  }
  return mdlist_push(l, name, size, vsize) ;
}

/* new/NAME -> cur/NAME:2, (a name that already has an info part keeps it) */
static int move_new (mdlist *l, char const *dir)
{
  stralloc to = STRALLOC_ZERO ;
  DIR *d ;
  int ok = 1 ;
  if (!mkpath(l, dir, "new", "")) return 0 ;
  d = opendir(l->path.s) ;
  if (!d) return 0 ;
  for (;;)
  {
    struct dirent *e ;
    errno = 0 ;
    e = readdir(d) ;
    if (!e) { ok = !errno ; break ; }
    if (e->d_name[0] == '.') continue ;
    to.len = 0 ;
    if (!mkpath(l, dir, "cur", e->d_name) || !stralloc_copy(&to, &l->path)) { ok = 0 ; break ; }
    to.len-- ;
    if (!strchr(e->d_name, ':') && !stralloc_cats(&to, ":2,")) { ok = 0 ; break ; }
    if (!stralloc_0(&to) || !mkpath(l, dir, "new", e->d_name)) { ok = 0 ; break ; }
    /* ENOENT: another reader moved it first; it is in cur/ now */
    if (rename(l->path.s, to.s) < 0 && errno != ENOENT) { ok = 0 ; break ; }
  }
  closedir(d) ;
  stralloc_free(&to) ;
  return ok ;
}

static char const *sortnames ;

/* delivery time (the leading number and the microseconds) first, then
   the name */
static int cmp (void const *a, void const *b)
{
  mdmsg const *x = a, *y = b ;
  if (x->time != y->time) return x->time < y->time ? -1 : 1 ;
  if (x->usec != y->usec) return x->usec < y->usec ? -1 : 1 ;
  return strcmp(sortnames + x->name, sortnames + y->name) ;
}

static void dedup (mdlist *l)
{
  mdmsg *m = genalloc_s(mdmsg, &l->msgs) ;
  size_t n = mdlist_len(l), j = 0 ;
  for (size_t i = 0 ; i < n ; i++)
  {
    char const *a = l->names.s + m[i].name ;
    int same = 0 ;
    /* same unique name sorts next to it unless flags differ: look back a little */
    for (size_t k = j ; k-- > 0 && k + 4 > j ;)
    {
      char const *b = l->names.s + m[k].name ;
      if (m[k].baselen == m[i].baselen && !memcmp(a, b, m[i].baselen)) { same = 1 ; break ; }
    }
    if (!same) m[j++] = m[i] ;
  }
  genalloc_setlen(mdmsg, &l->msgs, j) ;
}

int mdlist_scan (mdlist *l, char const *dir)
{
  DIR *d ;
  int ok = 1 ;
  l->names.len = 0 ;
  genalloc_setlen(mdmsg, &l->msgs, 0) ;
  if (!move_new(l, dir) || !mkpath(l, dir, "cur", "")) return 0 ;
  d = opendir(l->path.s) ;
  if (!d) return 0 ;
  for (;;)
  {
    struct dirent *e ;
    errno = 0 ;
    e = readdir(d) ;
    if (!e) { ok = !errno ; break ; }
    if (e->d_name[0] == '.') continue ;
    if (!add(l, dir, e->d_name)) { ok = 0 ; break ; }
  }
  closedir(d) ;
  if (!ok) return 0 ;
  mdlist_order(l) ;
  return 1 ;
}

void mdlist_order (mdlist *l)
{
  sortnames = l->names.s ;
  if (mdlist_len(l) > 1) qsort(genalloc_s(mdmsg, &l->msgs), mdlist_len(l), sizeof(mdmsg), cmp) ;
  dedup(l) ;
}

/* Look for message i's unique name in dir/sub; on success the entry takes
   the name found and l->path is its path. 1 found, 0 not, -1 error. */
static int refind_in (mdlist *l, char const *dir, char const *sub, size_t i)
{
  mdmsg *m = mdlist_msg(l, i) ;
  DIR *d ;
  int r = 0 ;
  if (!mkpath(l, dir, sub, "")) return -1 ;
  d = opendir(l->path.s) ;
  if (!d) return -1 ;
  for (;;)
  {
    struct dirent *e ;
    errno = 0 ;
    e = readdir(d) ;
    if (!e) { r = errno ? -1 : 0 ; break ; }
    if (mdlist_base(e->d_name) != m->baselen || memcmp(e->d_name, l->names.s + m->name, m->baselen)) continue ;
    if (!mkpath(l, dir, sub, e->d_name)) { r = -1 ; break ; }
    if (!strcmp(sub, "cur"))
    {
      size_t off = l->names.len ;
      if (!stralloc_catb(&l->names, e->d_name, strlen(e->d_name) + 1)) { r = -1 ; break ; }
      m->name = off ;
    }
    r = 1 ;
    break ;
  }
  closedir(d) ;
  return r ;
}

/* l->path = the file of message i now. 1 found, 0 gone, -1 error. */
static int locate (mdlist *l, char const *dir, size_t i)
{
  struct stat st ;
  int r ;
  if (!mkpath(l, dir, "cur", mdlist_name(l, i))) return -1 ;
  if (lstat(l->path.s, &st) == 0) return 1 ;
  if (errno != ENOENT) return -1 ;
  r = refind_in(l, dir, "cur", i) ;
  if (r) return r ;
  return refind_in(l, dir, "new", i) ;
}

int mdlist_open (mdlist *l, char const *dir, size_t i)
{
  struct stat st ;
  int fd, r = locate(l, dir, i) ;
  if (r < 0) return -1 ;
  if (!r) return (errno = ENOENT, -1) ;
  fd = openc_read(l->path.s) ;
  if (fd < 0) return -1 ;
  if (fstat(fd, &st) < 0) { fd_close(fd) ; return -1 ; }
  if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != mdlist_msg(l, i)->size)
  {
    fd_close(fd) ;
    return (errno = ESTALE, -1) ;
  }
  return fd ;
}

int mdlist_remove (mdlist *l, char const *dir, size_t i)
{
  int r = locate(l, dir, i) ;
  if (r <= 0) return r == 0 ;
  return unlink(l->path.s) == 0 || errno == ENOENT ;
}

void mdlist_free (mdlist *l)
{
  stralloc_free(&l->names) ;
  genalloc_free(mdmsg, &l->msgs) ;
  stralloc_free(&l->path) ;
}
