/* Editing the sources of lib/users: what user-add and alias-add do (see
   users.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "addr.h"
#include "root.h"
#include "users.h"
#include "userssrc.h"

int users_lock(void)
{
  stralloc path = STRALLOC_ZERO ;
  int fd = -1 ;
  if (!pm_path(&path, "etc")) return -1 ;
  if (mkdir(path.s, 0755) < 0 && errno != EEXIST) goto end ;
  if (!pm_path(&path, "etc/.lock")) goto end ;
  fd = open(path.s, O_RDWR | O_CREAT | O_CLOEXEC, 0600) ;
  if (fd < 0) goto end ;
  if (fd_lock(fd, 1, 0) < 1) { int e = errno ; fd_close(fd) ; fd = -1 ; errno = e ; }
 end:
  stralloc_free(&path) ;
  return fd ;
}

/* A name usable as a path component: no '/', not starting with '.',
   not quoted, no control bytes. */
static int pathsafe(char const *s, size_t len)
{
  if (!len || s[0] == '.' || s[0] == '"' || s[0] == '[') return 0 ;
  for (size_t i = 0 ; i < len ; i++)
    if (s[i] == '/' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0 ;
  return 1 ;
}

int users_default_mailbox(stralloc *sa, char const *addr, size_t len)
{
  size_t at = addr_at(addr, len) ;
  if (at == len || !pathsafe(addr, at) || !pathsafe(addr + at + 1, len - at - 1)) return (errno = EINVAL, 0) ;
  sa->len = 0 ;
  if (!stralloc_cats(sa, "mail/") || !stralloc_catb(sa, addr + at + 1, len - at - 1)
   || !stralloc_catb(sa, "/", 1) || !stralloc_catb(sa, addr, at) || !stralloc_0(sa)) return 0 ;
  sa->len-- ;
  return 1 ;
}

/* Is the key field of a line of file (users or aliases) addr? */
static int find_in(int file, char const *addr, size_t len, stralloc *where)
{
  stralloc src = STRALLOC_ZERO, canon = STRALLOC_ZERO ;
  usrc_lines l ;
  char const *s ; size_t n ;
  int r, found = 0 ;
  if (!usrc_read(usrc_name[file], &src)) return -1 ;
  l = (usrc_lines){ .s = src.s, .len = src.len } ;
  while (!found && (r = usrc_next(&l, &s, &n))) {
    if (r < 0) continue ;
    n = usrc_field_end(s, n, ':') ;
    usrc_trim(&s, &n) ;
    if (n && s[0] == '@') {
      found = n == len && !strncasecmp(s, addr, n) ;
      continue ;
    }
    if (!addr_canon(&canon, s, n)) { found = -1 ; break ; }
    found = canon.len == len && !memcmp(canon.s, addr, len) ;
  }
  if (found > 0) {
    char fmt[UINT_FMT] ;
    where->len = 0 ;
    if (!pm_path(where, usrc_name[file]) || !stralloc_catb(where, ":", 1)
     || !stralloc_catb(where, fmt, uint_fmt(fmt, l.line)) || !stralloc_0(where)) found = -1 ;
  }
  stralloc_free(&src) ;
  stralloc_free(&canon) ;
  return found ;
}

int users_find(char const *addr, size_t len, stralloc *where)
{
  int r = find_in(USRC_USERS, addr, len, where) ;
  return r ? r : find_in(USRC_ALIASES, addr, len, where) ;
}

/* Replace ROOT/rel with s: rel.tmp (rel's owner, group and mode), fsync,
   rename, fsync etc/. */
static int replace(char const *rel, char const *s, size_t len)
{
  stralloc path = STRALLOC_ZERO, tmp = STRALLOC_ZERO ;
  int fd, ok = 0, e ;
  if (!pm_path(&path, rel) || !stralloc_copyb(&tmp, path.s, path.len)
   || !stralloc_cats(&tmp, ".tmp") || !stralloc_0(&tmp)) goto end ;
  fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640) ;
  if (fd < 0) goto end ;
  if (!usrc_keepmode(fd, path.s) || allwrite(fd, s, len) < len || fd_sync(fd) < 0) { e = errno ; fd_close(fd) ; unlink(tmp.s) ; errno = e ; goto end ; }
  if (close(fd) < 0 || rename(tmp.s, path.s) < 0) { e = errno ; unlink(tmp.s) ; errno = e ; goto end ; }
  path.len = byte_rchr(path.s, path.len, '/') ;
  path.s[path.len] = 0 ;
  ok = usrc_dirsync(path.s) ;
 end:
  e = errno ;
  stralloc_free(&path) ;
  stralloc_free(&tmp) ;
  errno = e ;
  return ok ;
}

/* 1 if the domains source lists domain (any case). */
static int listed(char const *src, size_t srclen, char const *domain, size_t dlen)
{
  usrc_lines l = { .s = src, .len = srclen } ;
  char const *s ; size_t n ;
  int r ;
  while ((r = usrc_next(&l, &s, &n)))
    if (r > 0 && n == dlen && !strncasecmp(s, domain, n)) return 1 ;
  return 0 ;
}

/* newsrc = old + line, with a newline put in between if old lacks one. */
static int appended(stralloc *sa, stralloc const *old, char const *line, size_t len)
{
  sa->len = 0 ;
  return stralloc_catb(sa, old->s, old->len)
      && (!old->len || old->s[old->len - 1] == '\n' || stralloc_catb(sa, "\n", 1))
      && stralloc_catb(sa, line, len) && stralloc_catb(sa, "\n", 1) ;
}

int users_add_line(char const *rel, char const *line, size_t len,
                   char const *domain, size_t dlen, stralloc *err)
{
  stralloc old = STRALLOC_ZERO, olddom = STRALLOC_ZERO, new = STRALLOC_ZERO ;
  int ok = 0, dom = 0, e ;
  err->len = 0 ;
  if (!usrc_read(rel, &old) || !usrc_read("etc/domains", &olddom)) goto end ;
  if (dlen && !listed(olddom.s, olddom.len, domain, dlen)) {
    if (!appended(&new, &olddom, domain, dlen)) goto end ;
    case_lowerb(new.s + new.len - dlen - 1, dlen) ;
    if (!replace("etc/domains", new.s, new.len)) goto end ;
    dom = 1 ;
  }
  if (!appended(&new, &old, line, len) || !replace(rel, new.s, new.len)) goto undo ;
  if (users_compile(err)) { ok = 1 ; goto end ; }
  e = errno ;
  replace(rel, old.s, old.len) ;
  errno = e ;
 undo:
  e = errno ;
  if (dom) replace("etc/domains", olddom.s, olddom.len) ;
  errno = e ;
 end:
  e = errno ;
  stralloc_free(&old) ; stralloc_free(&olddom) ; stralloc_free(&new) ;
  errno = e ;
  return ok ;
}
