#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/tai.h>
#include "idlemem.h"
#include "lineio.h"

static int isset(tain const *t)
{
  return t && tain_less(&tain_zero, t);
}

/* Wait until fd is ready for events: at most *timeout from now (if
   timeout is given) and never past *hard (if set). */
static int waitfd(int fd, short events, tain const *timeout, tain const *hard)
{
  iopause_fd x = { .fd = fd, .events = events, .revents = 0 };
  tain deadline;
  tain const *d = isset(hard) ? hard : 0;
  tain_now_g();
  if (timeout) {
    tain_add_g(&deadline, timeout);
    if (!d || tain_less(&deadline, d)) d = &deadline;
  }
  for (;;) {
    int r = iopause_g(&x, 1, d);
    if (r < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    if (!r) { errno = ETIMEDOUT; return 0; }
    return 1;   /* errors and hang-ups are reported by read/write */
  }
}

static int writefd(int fd, char const *s, size_t n, tain const *timeout, tain const *hard)
{
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return 0;
      if (!waitfd(fd, IOPAUSE_WRITE, timeout, hard)) return 0;
      continue;
    }
    s += w;
    n -= w;
  }
  return 1;
}

/* ---- the io over descriptors ---- */

/* Wait first: the peer's next line is seldom there already, and infd
   may be blocking. */
static ssize_t fdio_read(void *ctx, char *buf, size_t len, tain const *deadline)
{
  lineio_fdio const *f = ctx;
  for (;;) {
    ssize_t r;
    if (!waitfd(f->infd, IOPAUSE_READ, 0, deadline)) return -1;
    r = read(f->infd, buf, len);
    if (r >= 0) return r;
    if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
  }
}

static int fdio_write(void *ctx, char const *s, size_t len, tain const *deadline)
{
  lineio_fdio const *f = ctx;
  return writefd(f->outfd, s, len, 0, deadline);
}

void lineio_fdio_init(lineio_io *io, lineio_fdio *f, int infd, int outfd)
{
  f->infd = infd;
  f->outfd = outfd;
  io->ctx = f;
  io->read = &fdio_read;
  io->write = &fdio_write;
}

/* ---- the buffers ---- */

static void reset(lineio *l)
{
  l->r = l->w = l->outlen = 0;
  l->discard = 0;
}

static void setup(lineio *l, unsigned int timeoutsecs)
{
  tain_uint(&l->timeout, timeoutsecs);
  l->deadline = tain_zero;
  reset(l);
}

void lineio_init_io(lineio *l, lineio_io const *io, unsigned int timeoutsecs)
{
  l->io = *io;
  l->fd.infd = l->fd.outfd = -1;
  setup(l, timeoutsecs);
}

void lineio_init(lineio *l, int infd, int outfd, unsigned int timeoutsecs)
{
  lineio_fdio_init(&l->io, &l->fd, infd, outfd);
  setup(l, timeoutsecs);
  ndelay_on(outfd);
}

void lineio_deadline(lineio *l, unsigned int secs)
{
  tain d;
  if (!secs) { l->deadline = tain_zero; return; }
  tain_uint(&d, secs);
  tain_now_g();
  tain_add_g(&l->deadline, &d);
}

int lineio_overtime(lineio const *l)
{
  tain_now_g();
  return isset(&l->deadline) && !tain_less(&STAMP, &l->deadline);
}

size_t lineio_setio(lineio *l, lineio_io const *io)
{
  size_t n = l->w - l->r;
  l->io = *io;
  reset(l);
  return n;
}

size_t lineio_switch(lineio *l, int infd, int outfd)
{
  size_t n = l->w - l->r;
  lineio_fdio_init(&l->io, &l->fd, infd, outfd);
  reset(l);
  ndelay_on(outfd);
  return n;
}

/* The deadline of one read or flush: d if given, else the timeout from
   now; never past the session deadline. */
static tain const *limit(lineio const *l, tain *buf, tain const *d)
{
  if (!d) {
    tain_now_g();
    tain_add_g(buf, &l->timeout);
    d = buf;
  }
  return isset(&l->deadline) && tain_less(&l->deadline, d) ? &l->deadline : d;
}

ssize_t lineio_fill_until(lineio *l, tain const *d)
{
  tain buf;
  ssize_t r;
  if (!lineio_flush_until(l, d)) return -1;
  if (l->r) {
    memmove(l->in, l->in + l->r, l->w - l->r);
    l->w -= l->r;
    l->r = 0;
  }
  if (l->w == sizeof l->in) { errno = ENOBUFS; return -1; }
  r = (*l->io.read)(l->io.ctx, l->in + l->w, sizeof l->in - l->w, limit(l, &buf, d));
  if (r > 0) l->w += r;
  return r;
}

ssize_t lineio_fill(lineio *l)
{
  return lineio_fill_until(l, 0);
}

int lineio_getline_until(lineio *l, size_t max, char **line, size_t *len, tain const *d)
{
  for (;;) {
    char *s = l->in + l->r;
    size_t n = l->w - l->r;
    char *p = memchr(s, '\n', n);
    ssize_t r;
    if (p) {
      size_t k = p - s;
      l->r += k + 1;
      if (l->discard) {   /* the end of an overlong line, already reported */
        l->discard = 0;
        continue;
      }
      if (k && s[k-1] == '\r') k--;
      if (k > max) { *line = s; *len = max; return LINEIO_TOOLONG; }
      *line = s;
      *len = k;
      return LINEIO_LINE;
    }
    /* no LF yet: an overlong line is reported at once, and dropped as it arrives */
    if (l->discard) l->r = l->w;
    else if (n > max + 1) {
      l->discard = 1;
      l->r = l->w;
      *line = s;
      *len = max;
      return LINEIO_TOOLONG;
    }
    r = lineio_fill_until(l, d);
    if (r <= 0) return r ? -1 : LINEIO_EOF;
  }
}

int lineio_getline(lineio *l, size_t max, char **line, size_t *len)
{
  return lineio_getline_until(l, max, line, len, 0);
}

int lineio_flush_until(lineio *l, tain const *d)
{
  tain buf;
  size_t n = l->outlen;
  l->outlen = 0;
  return n ? (*l->io.write)(l->io.ctx, l->out, n, limit(l, &buf, d)) : 1;
}

int lineio_flush(lineio *l)
{
  return lineio_flush_until(l, 0);
}

int lineio_put_until(lineio *l, char const *s, size_t n, tain const *d)
{
  if (n > sizeof l->out - l->outlen) {
    if (!lineio_flush_until(l, d)) return 0;
    /* more than the buffer holds goes straight out (the timeout for
       each buffer's worth) */
    while (n > sizeof l->out) {
      tain buf;
      size_t k = d ? n : sizeof l->out;
      if (!(*l->io.write)(l->io.ctx, s, k, limit(l, &buf, d))) return 0;
      s += k;
      n -= k;
    }
  }
  memcpy(l->out + l->outlen, s, n);
  l->outlen += n;
  return 1;
}

int lineio_put(lineio *l, char const *s, size_t n)
{
  return lineio_put_until(l, s, n, 0);
}

int lineio_puts(lineio *l, char const *s)
{
  return lineio_put_until(l, s, strlen(s), 0);
}

int lineio_writeall(int fd, char const *s, size_t n, tain const *timeout)
{
  return writefd(fd, s, n, timeout, 0);
}

void lineio_release(lineio *l)
{
  if (l->r == l->w && !l->discard) {
    l->r = l->w = 0;
    idlemem_drop(l->in, sizeof l->in);
  }
  if (!l->outlen) idlemem_drop(l->out, sizeof l->out);
}
