#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/stralloc.h>
#include "hdr.h"
#include "qalias.h"
#include "queue.h"

#define HEADMAX (1024 * 1024)  /* a header is looked at up to this size */
#define HEADLINES 10000

/* 1 if the header has Delivered-To: alias; -1 on a read error. */
static int already_there(int fd, off_t start, char const *alias)
{
  stralloc sa = STRALLOC_ZERO ;
  int r = -1 ;
  for (;;) {
    size_t hlen ;
    ssize_t n ;
    int st = hdr_split(sa.s, sa.len, HEADLINES, &hlen) ;
    if (st != HDR_MORE || sa.len >= HEADMAX) { r = hdr_has(sa.s, hlen, "Delivered-To", alias) ; break ; }
    if (!stralloc_readyplus(&sa, 65536)) break ;
    n = pread(fd, sa.s + sa.len, 65536, start + sa.len) ;
    if (n < 0) break ;
    if (!n) { r = hdr_has(sa.s, sa.len, "Delivered-To", alias) ; break ; }
    sa.len += n ;
  }
  stralloc_free(&sa) ;
  return r ;
}

static int copy_rest(int from, off_t off, int to)
{
  char buf[65536] ;
  for (;;) {
    ssize_t n = copy_file_range(from, &off, to, 0, 1 << 30, 0) ;
    if (n > 0) continue ;
    if (!n) return 1 ;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return 0 ;
    break ;  /* not between these two files: copy by hand */
  }
  for (;;) {
    ssize_t n = pread(from, buf, sizeof buf, off) ;
    if (n < 0) return 0 ;
    if (!n) return 1 ;
    if (allwrite(to, buf, n) < (size_t)n) return 0 ;
    off += n ;
  }
}

static int scratch(void)
{
  stralloc p = STRALLOC_ZERO ;
  int fd = queue_path(&p, "tmp") ? open(p.s, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600) : -1 ;
  stralloc_free(&p) ;
  /* a file system without O_TMPFILE: memory, then */
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) fd = memfd_create("qalias", MFD_CLOEXEC) ;
  return fd ;
}

int qalias_message(int msgfd, char const *alias, int *loop)
{
  off_t start = lseek(msgfd, 0, SEEK_CUR) ;
  int fd, r ;
  *loop = 0 ;
  if (start < 0) return -1 ;
  r = already_there(msgfd, start, alias) ;
  if (r) { if (r > 0) *loop = 1 ; else if (!errno) errno = EIO ; return -1 ; }
  fd = scratch() ;
  if (fd < 0) return -1 ;
  if (allwrite(fd, "Delivered-To: ", 14) < 14 || allwrite(fd, alias, strlen(alias)) < strlen(alias)
   || allwrite(fd, "\n", 1) < 1 || !copy_rest(msgfd, start, fd) || lseek(fd, 0, SEEK_SET) < 0) {
    int e = errno ;
    close(fd) ;
    errno = e ;
    return -1 ;
  }
  return fd ;
}
