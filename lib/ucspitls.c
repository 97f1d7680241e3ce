#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include "ucspitls.h"


static int envfd(char const *name)
{
  char const *s = getenv(name);
  unsigned int fd;
  if (!s || !uint0_scan(s, &fd) || fd > 1023) return -1;
  return (int)fd;
}

int ucspitls_available(void)
{
  return envfd("SSLCTLFD") >= 0 && envfd("SSLREADFD") >= 0 && envfd("SSLWRITEFD") >= 0;
}

int ucspitls_start(int *rfd, int *wfd, char *env, size_t envmax, unsigned int timeoutsecs)
{
  int ctl = envfd("SSLCTLFD"), r = envfd("SSLREADFD"), w = envfd("SSLWRITEFD");
  char buf[UCSPITLS_ENV_MAX];
  size_t n = 0;
  tain deadline;
  if (ctl < 0 || r < 0 || w < 0) { errno = EINVAL; return 0; }
  if (fd_write(ctl, "Y", 1) != 1) goto fail;
  tain_now_g();
  tain_addsec_g(&deadline, timeoutsecs);
  /* the answer comes after the handshake: VAR=value\0...\0, then EOF or not */
  for (;;) {
    iopause_fd x = { .fd = ctl, .events = IOPAUSE_READ, .revents = 0 };
    ssize_t k;
    if (n >= 2 && !buf[n-1] && !buf[n-2]) break;
    if (n == sizeof buf) { errno = EPROTO; goto fail; }
    k = iopause_g(&x, 1, &deadline);
    if (k < 0) { if (errno == EINTR) continue; goto fail; }
    if (!k) { errno = ETIMEDOUT; goto fail; }
    k = read(ctl, buf + n, sizeof buf - n);
    if (k < 0) { if (errno == EINTR || errno == EAGAIN) continue; goto fail; }
    if (!k) {
      if (n && !buf[n-1]) break;   /* a lone \0: no variables */
      errno = EPROTO;   /* closed without an answer: the handshake failed */
      goto fail;
    }
    n += k;
  }
  fd_close(ctl);
  if (env) {
    if (n > envmax) n = envmax;
    memcpy(env, buf, n);
    if (n) env[n-1] = 0;
  }
  *rfd = r;
  *wfd = w;
  return 1;
fail:
  {
    int e = errno;
    fd_close(ctl);
    errno = e;
  }
  return 0;
}
