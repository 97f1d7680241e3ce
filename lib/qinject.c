#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include "qinject.h"

#define QQ_NOMEM 51
#define QQ_WRITE 53
#define QQ_READ 54
#define QQ_QUEUEDIR 62

static int fail(qinject *q, int code, char const *why)
{
  int e = errno;
  if (!q->code) { q->code = code; q->why = why; }
  qinject_abort(q);
  errno = e;
  return q->code;
}

int qinject_open(qinject *q)
{
  q->code = 0;
  q->why = "";
  q->buflen = 0;
  if (!q->buf && !(q->buf = malloc(QINJECT_BUFSIZE))) return fail(q, QQ_NOMEM, "allocate");
  queue_id_make(q->id);
  if (!queue_path_tmp(&q->tmp, q->id)) return fail(q, QQ_NOMEM, "allocate");
  q->stale = 0;
  q->fd = queue_pool_take(q->tmp.s);
  if (q->fd >= 0) {
    struct stat st;
    if (fstat(q->fd, &st) < 0) return fail(q, QQ_WRITE, "stat the queue file");
    q->stale = st.st_size;
  }
  if (q->fd < 0) q->fd = open(q->tmp.s, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (q->fd < 0 && errno == ENOENT && queue_init_dirs())
    q->fd = open(q->tmp.s, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (q->fd < 0) { q->tmp.len = 0; return fail(q, QQ_QUEUEDIR, "create a file in queue/tmp"); }
  /* the message starts after the header block, written at commit */
  if (lseek(q->fd, QUEUE_HDRMIN, SEEK_SET) < 0) return fail(q, QQ_WRITE, "seek in the queue file");
  return 0;
}

static int flush(qinject *q)
{
  if (q->buflen && allwrite(q->fd, q->buf, q->buflen) != q->buflen)
    return fail(q, QQ_WRITE, "write the queue file");
  q->buflen = 0;
  return 0;
}

int qinject_write(qinject *q, char const *s, size_t n)
{
  if (q->code) return q->code;
  if (q->buflen + n > QINJECT_BUFSIZE) {
    if (flush(q)) return q->code;
    if (n >= QINJECT_BUFSIZE) {
      if (allwrite(q->fd, s, n) != n) return fail(q, QQ_WRITE, "write the queue file");
      return 0;
    }
  }
  memcpy(q->buf + q->buflen, s, n);
  q->buflen += n;
  return 0;
}

int qinject_copyfd(qinject *q, int fd)
{
  for (;;) {
    if (q->code) return q->code;
    if (q->buflen == QINJECT_BUFSIZE && flush(q)) return q->code;
    ssize_t r = read(fd, q->buf + q->buflen, QINJECT_BUFSIZE - q->buflen);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail(q, QQ_READ, "read the message");
    }
    if (!r) return 0;
    q->buflen += r;
  }
}

/* The envelope outgrew the header block: copy into a file with a larger one. */
static int regrow(qinject *q, size_t hdrlen, off_t msglen)
{
  stralloc big = STRALLOC_ZERO;
  int nfd;
  if (!stralloc_copy(&big, &q->tmp) || !stralloc_cats(&big, ".big") || !stralloc_0(&big))
    return fail(q, QQ_NOMEM, "allocate");
  nfd = open(big.s, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (nfd < 0) { stralloc_free(&big); return fail(q, QQ_QUEUEDIR, "create a file in queue/tmp"); }
  if (lseek(q->fd, QUEUE_HDRMIN, SEEK_SET) < 0 || lseek(nfd, hdrlen, SEEK_SET) < 0
   || fd_catn(q->fd, nfd, msglen) != msglen) {
    int e = errno;
    close(nfd);
    unlink(big.s);
    stralloc_free(&big);
    errno = e;
    return fail(q, QQ_WRITE, "copy the queue file");
  }
  close(q->fd);
  unlink(q->tmp.s);
  q->fd = nfd;
  stralloc_free(&q->tmp);
  q->tmp = big;
  return 0;
}

static int write_header(qinject *q, char const *env, size_t envlen)
{
  char magic[80];
  size_t hdrlen = QUEUE_HDRMIN;
  off_t end = lseek(q->fd, 0, SEEK_CUR);
  if (end < QUEUE_HDRMIN) return fail(q, QQ_WRITE, "seek in the queue file");
  /* a reused file may be longer than this message: the rest is an old one */
  if (q->stale > end && ftruncate(q->fd, end) < 0) return fail(q, QQ_WRITE, "truncate the queue file");
  if (QUEUE_MAGICLEN + envlen > QUEUE_HDRMIN) {
    hdrlen = (QUEUE_MAGICLEN + envlen + 4095) & ~(size_t)4095;
    if (regrow(q, hdrlen, end - QUEUE_HDRMIN)) return q->code;
  }
  snprintf(magic, sizeof magic, "PMQ1 %010u %020llu %010u\n",
           (unsigned)hdrlen, (unsigned long long)time(0), (unsigned)envlen);
  if (pwrite(q->fd, magic, QUEUE_MAGICLEN, 0) != QUEUE_MAGICLEN
   || pwrite(q->fd, env, envlen, QUEUE_MAGICLEN) != (ssize_t)envlen)
    return fail(q, QQ_WRITE, "write the queue file");
  return 0;
}

static int rename_in(qinject *q, char const *final)
{
  /* msg/H may not exist yet when queue-run is creating the tree right now */
  if (rename(q->tmp.s, final) == 0) return 1;
  return errno == ENOENT && queue_init_dirs() && rename(q->tmp.s, final) == 0;
}

int qinject_commit(qinject *q, char const *env, size_t envlen)
{
  stralloc final = STRALLOC_ZERO;
  int code, dfd;
  if (q->code || flush(q)) return q->code;
  if ((code = queue_env_check(env, envlen))) {
    errno = EPROTO;
    return fail(q, code, code == 11 ? "accept the envelope: address too long" : "accept the envelope: format error");
  }
  if (write_header(q, env, envlen)) return q->code;
  if (fsync(q->fd) < 0) return fail(q, QQ_WRITE, "fsync the queue file");
  if (close(q->fd) < 0) { q->fd = -1; return fail(q, QQ_WRITE, "close the queue file"); }
  q->fd = -1;
  if (!queue_path_msg(&final, q->id)) return fail(q, QQ_NOMEM, "allocate");
  if (!rename_in(q, final.s)) { stralloc_free(&final); return fail(q, QQ_QUEUEDIR, "rename into queue/msg"); }
  q->tmp.len = 0;
  /* the directory entry is durable only once its directory is fsynced:
     without that the commit has not happened, so undo it */
  final.len = byte_rchr(final.s, final.len, '/');
  final.s[final.len] = 0;
  dfd = open(final.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || fsync(dfd) < 0) {
    int e = errno;
    if (dfd >= 0) close(dfd);
    final.s[final.len] = '/';
    unlink(final.s);
    stralloc_free(&final);
    errno = e;
    return fail(q, QQ_WRITE, "fsync the queue directory");
  }
  close(dfd);
  stralloc_free(&final);
  queue_trigger(q->id);
  return 0;
}

void qinject_abort(qinject *q)
{
  if (q->fd >= 0) { close(q->fd); q->fd = -1; }
  if (q->tmp.len) { unlink(q->tmp.s); q->tmp.len = 0; }
  q->buflen = 0;
}
