#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "srvconn.h"
#include "ucspitls.h"

/* $PROTO + "REMOTE" + what, as UCSPI names them (TCPREMOTEIP). */
static char const *ucspi_env(char const *what, size_t max)
{
  char name[64];
  char const *p = getenv("PROTO"), *v;
  if (!p || strlen(p) > 16) p = "TCP";
  strcpy(name, p);
  strcat(name, "REMOTE");
  strcat(name, what);
  v = getenv(name);
  if (!v || !*v || strlen(v) > max) return 0;
  for (char const *x = v; *x; x++)
    if ((unsigned char)*x <= ' ' || *x == 127 || strchr("()[]", *x)) return 0;
  return v;
}

/* Names that go into logs and Received:: one bounded word. */
static void tls_name(char *to, size_t max, char const *from)
{
  size_t i = 0;
  for (; from && from[i] && i + 1 < max; i++) {
    char c = from[i];
    to[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '.' || c == '-' || c == '_' ? c : '?';
  }
  to[i] = 0;
}

/* VAR's value in a "VAR=value\0...\0\0" list of len bytes, or 0. */
static char const *tls_var(char const *list, size_t len, char const *var)
{
  size_t n = strlen(var);
  for (size_t i = 0; i < len && list[i]; i += strnlen(list + i, len - i) + 1)
    if (!strncmp(list + i, var, n) && list[i + n] == '=') return list + i + n + 1;
  return 0;
}

static int tls_fds_open(void)
{
  static char const *const names[3] = { "SSLCTLFD", "SSLREADFD", "SSLWRITEFD" };
  for (unsigned i = 0; i < 3; i++) {
    unsigned int fd;
    char const *v = getenv(names[i]);
    if (!v || !uint0_scan(v, &fd) || coe(fd) < 0) return 0;
  }
  return 1;
}

void srvconn_init(srvconn *c)
{
  struct timespec ts;
  size_t n;
  clock_gettime(CLOCK_REALTIME, &ts);
  n = ulong_xfmt(c->id, (unsigned long)ts.tv_sec);
  c->id[n++] = '.';
  n += uint_xfmt(c->id + n, (unsigned int)(ts.tv_nsec / 1000));
  c->id[n++] = '.';
  n += uint_fmt(c->id + n, (unsigned int)getpid());
  c->id[n] = 0;
  c->ip = ucspi_env("IP", 64);
  c->host = ucspi_env("HOST", 255);
  c->tls = !!getenv("SSL_PROTOCOL");
  c->starttls = 0;
  c->tlsproto[0] = c->tlscipher[0] = 0;
  if (c->tls) {
    tls_name(c->tlsproto, sizeof c->tlsproto, getenv("SSL_PROTOCOL"));
    tls_name(c->tlscipher, sizeof c->tlscipher, getenv("SSL_CIPHER"));
  } else if (ucspitls_available())
    c->starttls = tls_fds_open() ? 1 : -1;
}

int srvconn_starttls(srvconn *c, lineio *io, unsigned int timeoutsecs, size_t *dropped)
{
  char env[UCSPITLS_ENV_MAX] = { 0 };
  int rfd, wfd;
  if (!lineio_flush(io)) return 0;
  if (!ucspitls_start(&rfd, &wfd, env, sizeof env, timeoutsecs)) return 0;
  *dropped = lineio_switch(io, rfd, wfd);
  coe(rfd);
  coe(wfd);
  c->tls = 1;
  c->starttls = 0;
  tls_name(c->tlsproto, sizeof c->tlsproto, tls_var(env, sizeof env, "SSL_PROTOCOL"));
  tls_name(c->tlscipher, sizeof c->tlscipher, tls_var(env, sizeof env, "SSL_CIPHER"));
  return 1;
}
