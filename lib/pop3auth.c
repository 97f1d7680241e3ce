#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "idlemem.h"
#include "pop3auth.h"
#include "pop3handback.h"

static char const *const *prog ;
static int reqfd = -1, statfd = -1 ;   /* the unprivileged side's ends */

/* The checkpassword program's process: the client on 0/1 (the TLS
   descriptors after STLS), the credentials on 3. */
static void child (pop3auth_req const *r, int fd, int donefd) gccattr_noreturn ;
static void child (pop3auth_req const *r, int fd, int donefd)
{
  char env[sizeof POP3AUTH_DONEVAR + UINT_FMT] = POP3AUTH_DONEVAR "=" ;
  /* above 3, where the credentials go, and inherited */
  int d = fcntl(donefd, F_DUPFD, 4) ;
  if (d < 0) _exit(111) ;
  env[sizeof POP3AUTH_DONEVAR + uint_fmt(env + sizeof POP3AUTH_DONEVAR, d)] = 0 ;
  if (putenv(env) < 0) _exit(111) ;
  if (r->tlsproto)
  {
    unsigned int rfd, wfd ;
    char const *rs = getenv("SSLREADFD"), *ws = getenv("SSLWRITEFD") ;
    if (!rs || !ws || !uint0_scan(rs, &rfd) || !uint0_scan(ws, &wfd)
     || fd_copy(0, rfd) < 0 || fd_copy(1, wfd) < 0) _exit(111) ;
    /* the mailbox part is under TLS now, as if implicitly */
    if (setenv("SSL_PROTOCOL", *r->tlsproto ? r->tlsproto : "TLS", 1) < 0) _exit(111) ;
  }
  /* after the TLS descriptors are on 0 and 1: one of them may be 3 */
  if (fd_move(3, fd) < 0) _exit(111) ;
  for (char const *const *e = r->env ; *e ; e++)
    if (strchr(*e, '=') ? putenv((char *)*e) < 0 : unsetenv(*e) < 0) _exit(111) ;
  execvp(prog[0], (char *const *)prog) ;
  strerr_warnwu2sys("run ", prog[0]) ;
  _exit(111) ;
}

static int status (pid_t pid)
{
  int wstat ;
  while (waitpid(pid, &wstat, 0) < 0)
    if (errno != EINTR) { strerr_warnwu1sys("wait for the checkpassword program") ; return POP3AUTH_TEMP ; }
  if (!WIFEXITED(wstat)) return POP3AUTH_CRASH ;
  switch (WEXITSTATUS(wstat))
  {
    case 1 : return POP3AUTH_FAIL ;
    case 2 : return POP3AUTH_MISUSE ;
    case 111 : return POP3AUTH_TEMP ;
    default : return POP3AUTH_DONE ;
  }
}

/* The login is complete, the mailbox part is running (it offered a
   handback): take it, unless AUTH_NOHANDBACK, or else wait for the end
   of the session having given back what we can. early: called first
   (0: none). */
static int complete (pop3auth_req const *r, int fd, pid_t pid, void (*early)(void))
{
  static pop3handback h ;
  int t = pop3handback_take(fd, pid, &h) ;
  if (t > 0 && getenv("AUTH_NOHANDBACK")) { fd_write(fd, "n", 1) ; t = -1 ; }
  if (!t) { fd_close(fd) ; return status(pid) ; }   /* no offer: a failed login, or not an offering program */
  if (early) (*early)() ;
  if (t > 0) return pop3handback_accept(fd, pid, &h, r->tlsproto) ;
  fd_close(fd) ;
  idlemem_drop(&h, sizeof h) ;
  idlemem_release() ;
  return status(pid) ;
}

/* early: called once the login is complete, before the wait for the end
   of the session (0: none). */
static int run (pop3auth_req const *r, void (*early)(void))
{
  char tbuf[UINT64_FMT + 1] ;
  int p[2], q[2] ;
  pid_t pid ;
  size_t ul = strlen(r->user) + 1, pl = strlen(r->pass) + 1 ;
  tbuf[uint64_fmt(tbuf, (uint64_t)time(0))] = 0 ;
  if (pipe(p) < 0) { strerr_warnwu1sys("make a pipe") ; return POP3AUTH_TEMP ; }
  if (!pop3handback_pair(q)) { strerr_warnwu1sys("make a socket pair") ; fd_close(p[0]) ; fd_close(p[1]) ; return POP3AUTH_TEMP ; }
  pid = fork() ;
  if (pid < 0)
  {
    strerr_warnwu1sys("fork") ;
    fd_close(p[0]) ; fd_close(p[1]) ; fd_close(q[0]) ; fd_close(q[1]) ;
    return POP3AUTH_TEMP ;
  }
  if (!pid) { fd_close(p[1]) ; fd_close(q[0]) ; child(r, p[0], q[1]) ; }
  fd_close(p[0]) ;
  fd_close(q[1]) ;
  /* a few KB at most: the pipe holds it, no deadlock with the child */
  if (allwrite(p[1], r->user, ul) < ul || allwrite(p[1], r->pass, pl) < pl
   || allwrite(p[1], tbuf, strlen(tbuf) + 1) < strlen(tbuf) + 1)
    strerr_warnwu1sys("give the credentials to the checkpassword program") ;
  fd_close(p[1]) ;
  return complete(r, q[0], pid, early) ;
}

static int answerfd = -1 ;
static pid_t netpid ;   /* the unprivileged side */

/* The session is the mailbox part's: the unprivileged side is told now
   and exits, and this process goes on waiting for the end alone. */
static void answer_done (void)
{
  char st = POP3AUTH_DONE ;
  fd_write(answerfd, &st, 1) ;
  fd_close(answerfd) ;
  answerfd = -1 ;
  while (waitpid(netpid, 0, 0) < 0 && errno == EINTR) ;   /* no zombie all session */
}

/* The privileged side: a request is a 4-byte length, then
   "S|-" tlsproto \0 user \0 pass \0 and the env entries, each \0;
   the answer one byte (or none: the handback made this process the
   mailbox part's). */
static void serve (int in, int out) gccattr_noreturn ;
static void serve (int in, int out)
{
  static char buf[POP3AUTH_REQMAX] ;
  answerfd = out ;
  for (;;)
  {
    uint32_t n ;
    char *f[3 + POP3AUTH_ENVMAX + 1], st ;
    size_t i = 1 ;
    unsigned k = 0 ;
    pop3auth_req r ;
    if (allread(in, (char *)&n, 4) < 4) _exit(0) ;   /* the session is over */
    if (n < 2 || n > sizeof buf || allread(in, buf, n) < n || buf[n-1]) _exit(111) ;
    for (; i < n ; k++)
    {
      if (k >= 3 + POP3AUTH_ENVMAX) _exit(111) ;
      f[k] = buf + i ;
      i += strlen(buf + i) + 1 ;
    }
    if (k < 3) _exit(111) ;
    f[k] = 0 ;
    r.tlsproto = buf[0] == 'S' ? f[0] : 0 ;
    r.user = f[1] ; r.pass = f[2] ; r.env = (char const *const *)f + 3 ;
    st = (char)run(&r, &answer_done) ;
    explicit_bzero(buf, n) ;
    if (answerfd < 0 || fd_write(out, &st, 1) < 1 || st != POP3AUTH_FAIL) _exit(0) ;
  }
}

int pop3auth_split (char const *const *argv, unsigned int uid, unsigned int gid)
{
  int a[2], b[2] ;
  pid_t pid ;
  prog = argv ;
  if (!uid || !gid || geteuid()) return 0 ;
  if (pipe(a) < 0 || pipe(b) < 0) strerr_diefu1sys(111, "make a pipe") ;
  pid = fork() ;
  if (pid < 0) strerr_diefu1sys(111, "fork") ;
  if (pid)
  {
    netpid = pid ;
    fd_close(a[1]) ; fd_close(b[0]) ;
    coe(a[0]) ; coe(b[1]) ;
    serve(a[0], b[1]) ;
  }
  fd_close(a[0]) ; fd_close(b[1]) ;
  coe(a[1]) ; coe(b[0]) ;
  if (setgroups(1, (gid_t[]){ gid }) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
    strerr_diefu1sys(111, "drop privileges") ;
  reqfd = a[1] ;
  statfd = b[0] ;
  return 1 ;
}

static int ask (pop3auth_req const *r)
{
  static char buf[POP3AUTH_REQMAX + 4] ;
  char const *f[3 + POP3AUTH_ENVMAX] = { r->tlsproto ? r->tlsproto : "", r->user, r->pass } ;
  unsigned nf = 3 ;
  uint32_t n = 1 ;
  char st ;
  for (char const *const *e = r->env ; *e ; e++)
  {
    if (nf >= 3 + POP3AUTH_ENVMAX) { strerr_warnw1x("login request too long") ; return POP3AUTH_TEMP ; }
    f[nf++] = *e ;
  }
  buf[4] = r->tlsproto ? 'S' : '-' ;
  for (unsigned k = 0 ; k < nf ; k++)
  {
    size_t l = strlen(f[k]) + 1 ;
    if (4 + n + l > sizeof buf) { strerr_warnw1x("login request too long") ; return POP3AUTH_TEMP ; }
    memcpy(buf + 4 + n, f[k], l) ;
    n += l ;
  }
  memcpy(buf, &n, 4) ;
  if (allwrite(reqfd, buf, 4 + n) < 4 + n) { explicit_bzero(buf, sizeof buf) ; strerr_warnwu1sys("ask for a login") ; return POP3AUTH_TEMP ; }
  explicit_bzero(buf, sizeof buf) ;
  if (allread(statfd, &st, 1) < 1) { strerr_warnwu1sys("read the login's result") ; return POP3AUTH_TEMP ; }
  return (unsigned char)st <= POP3AUTH_CRASH ? st : POP3AUTH_TEMP ;
}

int pop3auth_login (pop3auth_req const *r)
{
  return reqfd >= 0 ? ask(r) : run(r, r->done) ;
}

int pop3auth_pipelined (lineio *io, char const *var, size_t max, char **env)
{
  size_t n = lineio_avail(io), vlen = strlen(var) ;
  *env = 0 ;
  if (!n) return 1 ;
  while (lineio_peek(io)[lineio_avail(io) - 1] != '\n')
    if (lineio_avail(io) > max || lineio_fill(io) <= 0) return 0 ;
  n = lineio_avail(io) ;
  if (n > max || memchr(lineio_peek(io), 0, n)) return 0 ;
  *env = malloc(vlen + n + 1) ;
  if (!*env) strerr_diefu1sys(111, "allocate memory") ;
  memcpy(*env, var, vlen) ;
  memcpy(*env + vlen, lineio_peek(io), n) ;
  (*env)[vlen + n] = 0 ;
  return 1 ;
}

