#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/tai.h>
#include "lineio.h"

static int isset(tain const *t)
{
  return tain_less(&tain_zero, t);
}

/* Wait until fd is ready for events, at most *timeout from now and never
   past *hard (if not zero). */
static int waitfd(int fd, short events, tain const *timeout, tain const *hard)
{
  iopause_fd x = { .fd = fd, .events = events, .revents = 0 };
  tain deadline;
  tain_now_g();
  tain_add_g(&deadline, timeout);
  if (hard && isset(hard) && tain_less(hard, &deadline)) deadline = *hard;
  for (;;) {
    int r = iopause_g(&x, 1, &deadline);
    if (r < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    if (!r) { errno = ETIMEDOUT; return 0; }
    return 1;   /* errors and hang-ups are reported by read/write */
  }
}

static int writeall(int fd, char const *s, size_t n, tain const *timeout, tain const *hard)
{
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return 0;
      if (!waitfd(fd, IOPAUSE_WRITE, timeout, hard)) return 0;
      continue;
    }
    s += w;
    n -= w;
  }
  return 1;
}

void lineio_init(lineio *l, int infd, int outfd, unsigned int timeoutsecs)
{
  l->infd = infd;
  l->outfd = outfd;
  tain_uint(&l->timeout, timeoutsecs);
  l->deadline = tain_zero;
  l->r = l->w = l->outlen = 0;
  l->discard = 0;
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

size_t lineio_switch(lineio *l, int infd, int outfd)
{
  size_t n = l->w - l->r;
  l->infd = infd;
  l->outfd = outfd;
  l->r = l->w = l->outlen = 0;
  l->discard = 0;
  ndelay_on(outfd);
  return n;
}

ssize_t lineio_fill(lineio *l)
{
  if (!lineio_flush(l)) return -1;
  if (l->r) {
    memmove(l->in, l->in + l->r, l->w - l->r);
    l->w -= l->r;
    l->r = 0;
  }
  if (l->w == sizeof l->in) { errno = ENOBUFS; return -1; }
  for (;;) {
    ssize_t r;
    if (!waitfd(l->infd, IOPAUSE_READ, &l->timeout, &l->deadline)) return -1;
    r = read(l->infd, l->in + l->w, sizeof l->in - l->w);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    l->w += r;
    return r;
  }
}

int lineio_getline(lineio *l, size_t max, char **line, size_t *len)
{
  for (;;) {
    char *s = l->in + l->r;
    size_t n = l->w - l->r;
    char *p = memchr(s, '\n', n);
    ssize_t r;
    if (p) {
      size_t k = p - s;
      l->r += k + 1;
      if (k && s[k-1] == '\r') k--;
      if (l->discard || k > max) {
        l->discard = 0;
        return LINEIO_TOOLONG;
      }
      *line = s;
      *len = k;
      return LINEIO_LINE;
    }
    /* no LF yet: an overlong line is dropped as it arrives */
    if (l->discard || n > max + 1) {
      l->discard = 1;
      l->r = l->w;
    }
    r = lineio_fill(l);
    if (r <= 0) return r ? -1 : LINEIO_EOF;
  }
}

int lineio_flush(lineio *l)
{
  size_t n = l->outlen;
  l->outlen = 0;
  return n ? writeall(l->outfd, l->out, n, &l->timeout, &l->deadline) : 1;
}

int lineio_put(lineio *l, char const *s, size_t n)
{
  if (n > sizeof l->out - l->outlen) {
    if (!lineio_flush(l)) return 0;
    if (n > sizeof l->out) return writeall(l->outfd, s, n, &l->timeout, &l->deadline);
  }
  memcpy(l->out + l->outlen, s, n);
  l->outlen += n;
  return 1;
}

int lineio_puts(lineio *l, char const *s)
{
  return lineio_put(l, s, strlen(s));
}

int lineio_writeall(int fd, char const *s, size_t n, tain const *timeout)
{
  return writeall(fd, s, n, timeout, 0);
}
