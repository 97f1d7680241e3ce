/* qmail-queue filter plumbing (qfilter.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/exec.h>
#include <skalibs/strerr.h>
#include "hdr.h"
#include "qfilter.h"

#define ERRFD 4

/* An unlinked temporary file. */
static int tmpfile_fd(void)
{
  char const *dir = getenv("TMPDIR");
  stralloc sa = STRALLOC_ZERO;
  int fd;
  if (!dir || !*dir) dir = "/tmp";
  if (!stralloc_cats(&sa, dir) || !stralloc_cats(&sa, "/qfilter.XXXXXX") || !stralloc_0(&sa))
    strerr_diefu1sys(51, "allocate");
  fd = mkstemp(sa.s);
  if (fd < 0) strerr_diefu2sys(53, "create a temporary file in ", dir);
  unlink(sa.s);
  stralloc_free(&sa);
  if (coe(fd) < 0) strerr_diefu1sys(81, "set close-on-exec");
  return fd;
}

/* Copy in (from its current offset) to out until end of file. */
static uint64_t copy(int out, int in, int code, char const *what)
{
  char buf[65536];
  uint64_t total = 0;
  for (;;) {
    ssize_t r = read(in, buf, sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; strerr_diefu2sys(code, "read ", what); }
    if (!r) return total;
    if (allwrite(out, buf, r) != (size_t)r) strerr_diefu1sys(53, "write a temporary file");
    total += r;
  }
}

char const *const *qfilter_next(int argc, char const *const *argv, char const *usage)
{
  static char const *const def[] = { "queue-inject", 0 };
  if (argc > 1 && argv[1][0] == '-') strerr_dieusage(100, usage);
  return argc > 1 ? argv + 1 : def;
}

int qfilter_spool(uint64_t *len)
{
  int fd = tmpfile_fd();
  *len = copy(fd, 0, 54, "the message");
  return fd;
}

void qfilter_envelope(stralloc *env)
{
  size_t i;
  env->len = 0;
  for (;;) {
    ssize_t r;
    if (env->len >= QFILTER_MAXENV) strerr_dief1x(91, "envelope too large");
    if (!stralloc_readyplus(env, 4096)) strerr_diefu1sys(51, "allocate");
    r = read(1, env->s + env->len, 4096);
    if (r < 0) { if (errno == EINTR) continue; strerr_diefu1sys(54, "read the envelope"); }
    if (!r) break;
    env->len += r;
  }
  /* F...\0 (T...\0)* \0, and nothing after */
  if (!env->len || env->s[0] != 'F') strerr_dief1x(91, "malformed envelope: no sender");
  for (i = 0; i < env->len && env->s[i]; ) {
    char const *z = memchr(env->s + i, 0, env->len - i);
    if (!z || (i && env->s[i] != 'T')) strerr_dief1x(91, "malformed envelope");
    i = z - env->s + 1;
  }
  if (i + 1 != env->len || i == 0 || env->s[i] != 0) strerr_dief1x(91, "malformed envelope: bad end");
  if (env->s[strlen(env->s) + 1] != 'T')
    strerr_dief1x(91, "malformed envelope: no recipient");
}

char const *qfilter_eol(int fd)
{
  char buf[1024];
  ssize_t r = pread(fd, buf, sizeof buf, 0);
  char const *nl = r > 0 ? memchr(buf, '\n', r) : 0;
  return nl && nl > buf && nl[-1] == '\r' ? "\r\n" : "\n";
}

static qfilter_dropfn *dropfn ;
static void *dropctx ;

static int dropped(hdr_field const *f, char const *const *drop)
{
  for (; drop && *drop; drop++) if (hdr_is(f, *drop)) return 1;
  return dropfn && dropfn(f, dropctx);
}

/* The message's header to out without the fields named in drop; where
   the rest starts (0: the header is too large, nothing was written). */
static off_t copy_head(int out, int msg, char const *const *drop)
{
  static char head[QFILTER_MAXHEAD];
  size_t hlen, pos = 0, prev = 0;
  hdr_field f;
  ssize_t n = pread(msg, head, sizeof head, 0);
  if (n < 0) strerr_diefu1sys(53, "read the temporary file");
  int r = hdr_split(head, n, QFILTER_MAXFIELDS, &hlen);
  if (r == HDR_LIMIT || (r == HDR_MORE && (size_t)n == sizeof head)) return 0;
  while (hdr_next(head, hlen, &pos, &f)) {
    if (!dropped(&f, drop) && allwrite(out, head + prev, pos - prev) != pos - prev)
      strerr_diefu1sys(53, "write a temporary file");
    prev = pos;
  }
  return prev;
}

void qfilter_pass_if(int msgfd, char const *hdr, size_t hdrlen, char const *const *drop,
                     qfilter_dropfn *fn, void *ctx, stralloc const *env, char const *const *argv)
{
  static char const *const none[] = { 0 } ;   /* a list, so the header is read */
  dropfn = fn ;
  dropctx = ctx ;
  qfilter_pass(msgfd, hdr, hdrlen, fn && !drop ? none : drop, env, argv) ;
}

void qfilter_pass(int msgfd, char const *hdr, size_t hdrlen, char const *const *drop,
                  stralloc const *env, char const *const *argv)
{
  int in = msgfd, envfd = tmpfile_fd();
  if (allwrite(envfd, env->s, env->len) != env->len) strerr_diefu1sys(53, "write a temporary file");
  if (hdrlen || drop) {
    off_t rest = 0;
    in = tmpfile_fd();
    if (allwrite(in, hdr, hdrlen) != hdrlen) strerr_diefu1sys(53, "write a temporary file");
    if (drop) rest = copy_head(in, msgfd, drop);
    if (lseek(msgfd, rest, SEEK_SET) < 0) strerr_diefu1sys(53, "read the temporary file");
    copy(in, msgfd, 53, "the temporary file");
    fd_close(msgfd);
  }
  if (lseek(in, 0, SEEK_SET) < 0 || lseek(envfd, 0, SEEK_SET) < 0 || fd_move2(0, in, 1, envfd) < 0)
    strerr_diefu1sys(81, "set up the descriptors");
  signal(SIGPIPE, SIG_DFL);   /* the caller's SIG_IGN would survive the exec */
  exec(argv);
  strerr_diefu2sys(81, "exec ", argv[0]);
}

void qfilter_refuse(int code, char const *text)
{
  struct stat st;
  if (text && fstat(ERRFD, &st) == 0 && S_ISFIFO(st.st_mode)) {
    char c = code >= 11 && code <= 40 ? 'D' : 'Z';
    struct iovec v[2] = { { .iov_base = &c, .iov_len = 1 }, { .iov_base = (char *)text, .iov_len = strlen(text) } };
    if (writev(ERRFD, v, 2) < 0) strerr_warnwu1sys("write the reply text on fd 4");
  }
  _exit(code);
}
