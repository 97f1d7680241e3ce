#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "loginbase.h"
#include "pop3.h"
#include "pop3auth.h"
#include "root.h"

static unsigned long envnum (char const *p, char const *name, unsigned long dflt)
{
  char var[32] ;
  size_t n = strlen(p) ;
  if (n + strlen(name) + 1 > sizeof var) return dflt ;
  memcpy(var, p, n) ;
  strcpy(var + n, name) ;
  return pm_env_ulong(var, dflt) ;
}

void loginbase_setup (loginbase *b, char const *const *argv, char const *p, unsigned int deftimeout, char const *stls)
{
  char var[32] ;
  b->argv = argv ;
  b->stlsdone = 0 ;
  b->errors = b->fails = 0 ;
  b->timeout = envnum(p, "_LOGIN_TIMEOUT", deftimeout) ;
  if (!b->timeout) b->timeout = deftimeout ;
  b->faildelay = pm_env_ulong("AUTH_FAIL_DELAY", 1000) ;
  if (b->faildelay > 10000) b->faildelay = 10000 ;
  authfail_init(&b->fail) ;
  if (strlen(p) + sizeof "_PLAINTEXT" > sizeof var) strerr_dief1x(100, "protocol name too long") ;
  strcpy(var, p) ; strcat(var, "_PLAINTEXT") ;
  b->plaintext = !!getenv(var) ;
  pop3auth_split(argv, envnum(p, "_UID", 0), envnum(p, "_GID", 0)) ;
  srvconn_init(&b->c) ;
  if (b->c.starttls < 0) strerr_warnw("UCSPI-TLS descriptors not open: ", stls, " is not offered") ;
  lineio_init(&b->io, 0, 1, b->timeout) ;
  pop3_nodelay(1) ;
  lineio_deadline(&b->io, 600) ;   /* the whole login dialogue */
}

char const *loginbase_ip (loginbase const *b) { return b->c.ip ? b->c.ip : "unknown" ; }

int loginbase_locked (loginbase *b)
{
  long r = authfail_locked(&b->fail, loginbase_ip(b)) ;
  if (r < 0) strerr_warnwu2sys("read the table of failed logins ", b->fail.path) ;
  if (r <= 0) return 0 ;
  strerr_warn(PROG, ": info: ", "session=", b->c.id, " ip=", loginbase_ip(b), " auth=locked-out") ;
  return 1 ;
}

static void pause_ms (unsigned long ms)
{
  struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 } ;
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) ;
}

void loginbase_failed (loginbase *b, char const *mech, char const *user)
{
  char nb[ULONG_FMT] ;
  long n = authfail_add(&b->fail, loginbase_ip(b)) ;
  if (n < 0) strerr_warnwu2sys("update the table of failed logins ", b->fail.path) ;
  nb[ulong_fmt(nb, n > 0 ? (unsigned long)n : 1)] = 0 ;
  pause_ms(b->faildelay << (n > 4 ? 3 : n > 1 ? n - 1 : 0)) ;
  strerr_warnw("session=", b->c.id, " client=", b->c.host ? b->c.host : "unknown", "[", loginbase_ip(b),
               "]: SASL ", mech, " authentication failed: user=<", user, "> failures=", nb) ;
}

int loginbase_user_ok (char const *u, size_t n, size_t max)
{
  if (!n || n > max) return 0 ;
  for (size_t i = 0 ; i < n ; i++)
    if ((unsigned char)u[i] <= ' ' || u[i] == 127 || u[i] == '<' || u[i] == '>') return 0 ;
  return 1 ;
}
