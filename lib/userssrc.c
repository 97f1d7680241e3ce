/* The text sources of lib/users: reading them, line by line (userssrc.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include "root.h"
#include "userssrc.h"

char const *const usrc_name[USRC_N] = { "etc/domains", "etc/users", "etc/aliases", "etc/senders" } ;

int usrc_read(char const *rel, stralloc *sa)
{
  stralloc path = STRALLOC_ZERO ;
  struct stat st ;
  int fd, r = 0 ;
  sa->len = 0 ;
  if (!pm_path(&path, rel)) return 0 ;
  fd = open_readb(path.s) ;
  if (fd < 0) { r = errno == ENOENT ; goto end ; }
  if (fstat(fd, &st) < 0) goto close ;
  if (st.st_size > USRC_FILEMAX) { errno = EFBIG ; goto close ; }
  if (!stralloc_ready(sa, (size_t)st.st_size + 1)) goto close ;
  for (;;) {
    ssize_t n ;
    if (sa->len >= USRC_FILEMAX) { errno = EFBIG ; goto close ; }
    if (!stralloc_readyplus(sa, 8192)) goto close ;
    n = fd_read(fd, sa->s + sa->len, 8192) ;
    if (n < 0) goto close ;
    if (!n) break ;
    sa->len += (size_t)n ;
  }
  r = 1 ;
 close:
  { int e = errno ; fd_close(fd) ; errno = e ; }
 end:
  stralloc_free(&path) ;
  return r ;
}

static int isblank_(char c) { return c == ' ' || c == '\t' || c == '\r' ; }

void usrc_trim(char const **s, size_t *len)
{
  while (*len && isblank_(**s)) { (*s)++ ; (*len)-- ; }
  while (*len && isblank_((*s)[*len - 1])) (*len)-- ;
}

int usrc_next(usrc_lines *l, char const **s, size_t *len)
{
  while (l->pos < l->len) {
    size_t n = byte_chr(l->s + l->pos, l->len - l->pos, '\n') ;
    *s = l->s + l->pos ; *len = n ;
    l->pos += n + (l->pos + n < l->len) ;
    l->line++ ;
    if (n > USRC_LINEMAX) return -1 ;
    usrc_trim(s, len) ;
    if (*len && **s != '#') return 1 ;
  }
  return 0 ;
}

size_t usrc_field_end(char const *s, size_t len, char sep)
{
  int q = 0 ;
  for (size_t i = 0 ; i < len ; i++) {
    if (q && s[i] == '\\') i++ ;
    else if (s[i] == '"') q = !q ;
    else if (!q && s[i] == sep) return i ;
  }
  return len ;
}

int usrc_keepmode(int fd, char const *path)
{
  struct stat st ;
  int r ;
  if (stat(path, &st) == 0) {
    /* Not root: the owner cannot change, the group only to one of ours;
       the file then stays the caller's, as it was before. */
    if (fchown(fd, st.st_uid, st.st_gid) < 0
     && (errno != EPERM || (fchown(fd, -1, st.st_gid) < 0 && errno != EPERM))) return 0 ;
    return fchmod(fd, st.st_mode & 0777) == 0 ;
  }
  if (errno != ENOENT) return 0 ;
  {
    stralloc dir = STRALLOC_ZERO ;
    size_t n = str_len(path), slash = byte_rchr(path, n, '/') ;
    if (slash == n) r = stralloc_copys(&dir, ".") ;
    else r = stralloc_copyb(&dir, path, slash ? slash : 1) ;
    r = r && stralloc_0(&dir) && stat(dir.s, &st) == 0 ;
    stralloc_free(&dir) ;
    if (!r) return 0 ;
  }
  if (fchown(fd, -1, st.st_gid) < 0 && errno != EPERM) return 0 ;
  return fchmod(fd, 0640) == 0 ;
}

int usrc_dirsync(char const *path)
{
  int fd = open_read(path), r ;
  if (fd < 0) return 0 ;
  r = fd_sync(fd) >= 0 || errno == EINVAL ;
  fd_close(fd) ;
  return r ;
}
