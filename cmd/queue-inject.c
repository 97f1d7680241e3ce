/* queue-inject: put one message into the queue, durably (qmail-queue protocol).
   Message on fd 0, envelope on fd 1. Exit 0 only once the message file and
   its directory entry are on disk; any failure removes what was written. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include "queue.h"

/* qmail-queue exit codes */
#define QQ_NOMEM 51
#define QQ_WRITE 53
#define QQ_READ 54
#define QQ_QUEUEDIR 62
#define QQ_ENVMAX (16u << 20)

static stralloc tmpname = STRALLOC_ZERO;
static stralloc bigname = STRALLOC_ZERO;

static void die(int code, char const *what)
{
  int e = errno;
  if (tmpname.len) unlink(tmpname.s);
  if (bigname.len) unlink(bigname.s);
  errno = e;
  strerr_diefusys(code, what);
}

static int open_tmp(char const *id)
{
  int fd;
  if (!queue_path_tmp(&tmpname, id)) die(QQ_NOMEM, "allocate");
  fd = open(tmpname.s, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0 && errno == ENOENT && queue_init_dirs())
    fd = open(tmpname.s, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) { tmpname.len = 0; strerr_diefusys(QQ_QUEUEDIR, "create ", tmpname.s); }
  return fd;
}

/* Copy from -> to until EOF; the message starts at offset `at` of `to`. */
static void copy_message(int from, int to, off_t at)
{
  char buf[65536];
  if (lseek(to, at, SEEK_SET) < 0) die(QQ_WRITE, "seek in queue file");
  for (;;) {
    ssize_t r = read(from, buf, sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; die(QQ_READ, "read message"); }
    if (!r) return;
    if (allwrite(to, buf, r) != (size_t)r) die(QQ_WRITE, "write queue file");
  }
}

/* Length of a complete envelope in s, or 0 if more is needed. */
static size_t env_complete(char const *s, size_t len, size_t *scan)
{
  size_t i = *scan;
  while (i < len) {
    if (!s[i] && i) return i + 1;       /* empty item ends the list */
    size_t e = byte_chr(s + i, len - i, 0);
    if (i + e >= len) break;
    i += e + 1;
  }
  *scan = i;
  return 0;
}

static void read_envelope(stralloc *env)
{
  size_t scan = 0, n;
  for (;;) {
    if (!stralloc_readyplus(env, 4096)) die(QQ_NOMEM, "allocate");
    ssize_t r = read(1, env->s + env->len, 4096);
    if (r < 0) { if (errno == EINTR) continue; die(QQ_READ, "read envelope"); }
    if (!r) { errno = EPIPE; die(QQ_READ, "read envelope: premature end"); }
    env->len += r;
    if ((n = env_complete(env->s, env->len, &scan))) { env->len = n; return; }
    if (env->len > QQ_ENVMAX) { errno = EMSGSIZE; die(91, "read envelope: too large"); }
  }
}

/* The envelope does not fit the header block: rewrite with a larger one. */
static int regrow(int fd, char const *id, size_t hdrlen, off_t msglen)
{
  int nfd;
  if (!stralloc_copy(&bigname, &tmpname) || !stralloc_cats(&bigname, ".big") || !stralloc_0(&bigname))
    die(QQ_NOMEM, "allocate");
  (void)id;
  nfd = open(bigname.s, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (nfd < 0) die(QQ_QUEUEDIR, "create queue file");
  if (lseek(fd, QUEUE_HDRMIN, SEEK_SET) < 0 || lseek(nfd, hdrlen, SEEK_SET) < 0) die(QQ_WRITE, "seek");
  if (fd_catn(fd, nfd, msglen) != msglen) die(QQ_WRITE, "copy queue file");
  close(fd);
  unlink(tmpname.s);
  if (!stralloc_copy(&tmpname, &bigname)) die(QQ_NOMEM, "allocate");
  bigname.len = 0;
  return nfd;
}

static int write_header(int fd, char const *id, stralloc const *env)
{
  char magic[80];
  size_t hdrlen = QUEUE_HDRMIN;
  off_t end = lseek(fd, 0, SEEK_END);
  if (end < 0) die(QQ_WRITE, "seek");
  if (QUEUE_MAGICLEN + env->len > QUEUE_HDRMIN) {
    hdrlen = (QUEUE_MAGICLEN + env->len + 4095) & ~(size_t)4095;
    fd = regrow(fd, id, hdrlen, end - QUEUE_HDRMIN);
  }
  snprintf(magic, sizeof magic, "PMQ1 %010u %020llu %010u\n",
           (unsigned)hdrlen, (unsigned long long)time(0), (unsigned)env->len);
  if (pwrite(fd, magic, QUEUE_MAGICLEN, 0) != QUEUE_MAGICLEN
   || pwrite(fd, env->s, env->len, QUEUE_MAGICLEN) != (ssize_t)env->len)
    die(QQ_WRITE, "write queue file");
  return fd;
}

static void commit(int fd, char const *id)
{
  stralloc final = STRALLOC_ZERO, dir = STRALLOC_ZERO;
  int dfd;
  if (fsync(fd) < 0) die(QQ_WRITE, "fsync queue file");
  if (close(fd) < 0) die(QQ_WRITE, "close queue file");
  if (!queue_path_msg(&final, id) || !sadirname(&dir, final.s, final.len) || !stralloc_0(&dir))
    die(QQ_NOMEM, "allocate");
  /* msg/H may not exist yet when queue-run is creating the tree right now */
  if (rename(tmpname.s, final.s) < 0
   && (errno != ENOENT || !queue_init_dirs() || rename(tmpname.s, final.s) < 0))
    die(QQ_QUEUEDIR, "rename into queue");
  tmpname.len = 0;
  dfd = open(dir.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* without the directory fsync the commit is not durable: undo, fail */
  if (dfd < 0 || fsync(dfd) < 0) {
    int e = errno;
    unlink(final.s);
    errno = e;
    strerr_diefusys(QQ_WRITE, "fsync queue directory");
  }
  close(dfd);
  stralloc_free(&final);
  stralloc_free(&dir);
}

int main(int argc, char const *const *argv)
{
  char id[QUEUE_IDLEN + 1];
  stralloc env = STRALLOC_ZERO;
  int fd, code;
  PROG = "queue-inject";
  if (argc > 1) strerr_dieusage(100, "queue-inject < message 1< envelope");
  (void)argv;
  signal(SIGPIPE, SIG_IGN);
  alarm(86400);           /* a stuck writer does not pin a tmp file forever */
  queue_id_make(id);
  fd = open_tmp(id);
  copy_message(0, fd, QUEUE_HDRMIN);
  read_envelope(&env);
  if ((code = queue_env_check(env.s, env.len))) {
    errno = EPROTO;
    die(code, code == 11 ? "accept envelope: address too long" : "accept envelope: format error");
  }
  fd = write_header(fd, id, &env);
  commit(fd, id);
  queue_trigger(id);
  return 0;
}
