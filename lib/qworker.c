#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <skalibs/gccattributes.h>
#include "qworker.h"

extern char **environ ;

typedef struct worker_s worker ;
struct worker_s {
  pid_t pid ;
  int ctl ;                 /* our end of the socketpair; -1 once it is useless */
  int cap ;                 /* the capture file: fd 2 of every job */
  builtin_main_func *f ;
  int busy ;                /* a job was sent and has not ended */
  int poll ;                /* index in the last qworker_pollfds, or -1 */
  time_t idle ;             /* when its last job ended */
} ;

static worker *W ;
static unsigned int wmax, wn, wjobs = QWORKER_JOBS ;
static int wcapture ;

void qworker_init(unsigned int max, unsigned int jobs, int capture)
{
  wcapture = capture ;
  free(W) ;
  wn = 0 ;
  W = max ? calloc(max, sizeof *W) : 0 ;
  wmax = W ? max : 0 ;
  wjobs = jobs ? jobs : QWORKER_JOBS ;
}

static time_t now(void)
{
  struct timespec ts ;
  clock_gettime(CLOCK_MONOTONIC, &ts) ;
  return ts.tv_sec ;
}

/* --- the worker's side ------------------------------------------------ */

/* One job: fds (3) and "argc nenv" then argc + nenv NUL-terminated
   strings. 1 ok (argv, envmod malloc'd in one block), 0 malformed. */
static int parse_job(char *buf, size_t len, char ***argv, char ***envmod, unsigned int *nenv)
{
  uint32_t h[2] ;
  char **v ;
  size_t p = sizeof h ;
  if (len < sizeof h || buf[len - 1]) return 0 ;
  memcpy(h, buf, sizeof h) ;
  if (!h[0] || h[0] > len || h[1] > len) return 0 ;
  v = malloc((h[0] + h[1] + 2) * sizeof *v) ;
  if (!v) return 0 ;
  for (uint32_t i = 0 ; i < h[0] + h[1] ; i++) {
    if (p >= len) { free(v) ; return 0 ; }
    v[i + (i >= h[0])] = buf + p ;
    p += strlen(buf + p) + 1 ;
  }
  v[h[0]] = 0 ;
  v[h[0] + h[1] + 1] = 0 ;
  for (uint32_t i = 0 ; i < h[1] ; i++) if (!v[h[0] + 1 + i][0] || v[h[0] + 1 + i][0] == '=') { free(v) ; return 0 ; }
  *argv = v ;
  *envmod = v + h[0] + 1 ;
  *nenv = h[1] ;
  return 1 ;
}

/* The message's length with fds[2] filled (fds[1] = -1 if it came
   without one), 0 at EOF (queue-run is gone), -1 on error. */
static ssize_t recv_job(int ctl, char *buf, size_t max, int *fds)
{
  union { struct cmsghdr h ; char b[CMSG_SPACE(2 * sizeof(int))] ; } c ;
  struct iovec v = { .iov_base = buf, .iov_len = max } ;
  struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b } ;
  ssize_t r ;
  do r = recvmsg(ctl, &m, MSG_CMSG_CLOEXEC) ; while (r < 0 && errno == EINTR) ;
  if (r <= 0) return r ;
  struct cmsghdr *h = CMSG_FIRSTHDR(&m) ;
  size_t n = h && h->cmsg_type == SCM_RIGHTS ? (h->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0 ;
  if (!n || n > 2 || h->cmsg_len != CMSG_LEN(n * sizeof(int)) || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
    for (size_t i = 0 ; i < n ; i++) close(((int *)CMSG_DATA(h))[i]) ;
    errno = EPROTO ;
    return -1 ;
  }
  fds[1] = -1 ;
  memcpy(fds, CMSG_DATA(h), n * sizeof(int)) ;
  return r ;
}

/* Run one job; the exit code, or 111 if it could not start. */
static int run_job(builtin_main_func *f, char *buf, size_t len, int const *fds, char **base)
{
  char **argv, **envmod ;
  unsigned int nenv, argc = 0 ;
  char const **env ;
  int code ;
  if (!parse_job(buf, len, &argv, &envmod, &nenv)) return 111 ;
  env = builtin_env((char const *const *)envmod, nenv) ;
  if (!env || dup2(fds[0], 0) < 0 || (fds[1] >= 0 && dup2(fds[1], 1) < 0) || (fds[1] < 0 && dup2(2, 1) < 0)) { free(env) ; free(argv) ; return 111 ; }
  environ = (char **)env ;
  while (argv[argc]) argc++ ;
  errno = 0 ;
  code = f((int)argc, (char const *const *)argv) & 0xff ;
  environ = base ;
  free(env) ;
  free(argv) ;
  return code ;
}

static void worker_main(int ctl, int cap, builtin_main_func *f) gccattr_noreturn ;
static void worker_main(int ctl, int cap, builtin_main_func *f)
{
  static char buf[QWORKER_MSGMAX] ;
  char **base = environ ;
  int null, log, hi ;
  /* nothing of the parent's but fd 2 (or the capture there): fds 3, 4, 5 are ours */
  if (cap >= 0 && dup2(cap, 2) < 0) _exit(111) ;
  if (ctl > 3) close_range(3, ctl - 1, 0) ;
  close_range(ctl + 1, ~0U, 0) ;
  if (ctl != 3) { if (dup2(ctl, 3) < 0) _exit(111) ; close(ctl) ; ctl = 3 ; }
  null = open("/dev/null", O_RDWR | O_CLOEXEC) ;
  log = fcntl(2, F_DUPFD_CLOEXEC, 0) ;
  if (null < 0 || log < 0) _exit(111) ;
  hi = null > log ? null : log ;
  builtin_reset_signals() ;
  if (dup2(null, 0) < 0 || dup2(null, 1) < 0) _exit(111) ;
  for (unsigned int jobs = 1 ;; jobs++) {
    int fds[2], code ;
    ssize_t r = recv_job(ctl, buf, sizeof buf, fds) ;
    if (!r) _exit(0) ;          /* queue-run closed: no job is pending */
    if (r < 0) _exit(111) ;     /* a job may be: not a success */
    code = run_job(f, buf, (size_t)r, fds, base) ;
    /* let go of the job's files: its fd 1 may be a pipe queue-run reads */
    if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(log, 2) < 0) _exit(111) ;
    close(fds[0]) ; if (fds[1] >= 0) close(fds[1]) ;
    close_range(hi + 1, ~0U, 0) ;   /* whatever the job left open */
    char a[2] = { (char)code, (char)(jobs >= wjobs) } ;
    if (send(ctl, a, 2, MSG_NOSIGNAL) != 2 || a[1]) _exit(0) ;
  }
}

/* --- queue-run's side --------------------------------------------------- */

/* A file in memory of QWORKER_CAPMAX bytes that can neither grow nor
   shrink: a job that writes more gets an error, not more memory. */
static int capture_new(void)
{
  int fd = memfd_create("qworker", MFD_CLOEXEC | MFD_ALLOW_SEALING) ;
  if (fd < 0) return -1 ;
  if (ftruncate(fd, QWORKER_CAPMAX) < 0
   || fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) { close(fd) ; return -1 ; }
  return fd ;
}

static worker *spawn(builtin_main_func *f)
{
  int sv[2], cap ;
  pid_t pid ;
  if (wn >= wmax) return 0 ;
  cap = wcapture ? capture_new() : -1 ;
  if (wcapture && cap < 0) return 0 ;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) { if (cap >= 0) close(cap) ; return 0 ; }
  pid = fork() ;
  if (pid < 0) { close(sv[0]) ; close(sv[1]) ; if (cap >= 0) close(cap) ; return 0 ; }
  if (!pid) { close(sv[0]) ; worker_main(sv[1], cap, f) ; }
  close(sv[1]) ;
  W[wn] = (worker){ .pid = pid, .ctl = sv[0], .cap = cap, .f = f, .busy = 0, .poll = -1, .idle = now() } ;
  return &W[wn++] ;
}

/* The job message: "argc nenv" then the strings. 0 if too large. */
static size_t pack(char *buf, char const *const *argv, char const *const *envmod, unsigned int n)
{
  uint32_t h[2] = { 0, n } ;
  size_t p = sizeof h ;
  for (; argv[h[0]] ; h[0]++) {
    size_t l = strlen(argv[h[0]]) + 1 ;
    if (p + l > QWORKER_MSGMAX) return 0 ;
    memcpy(buf + p, argv[h[0]], l) ; p += l ;
  }
  for (unsigned int i = 0 ; i < n ; i++) {
    size_t l = strlen(envmod[i]) + 1 ;
    if (p + l > QWORKER_MSGMAX) return 0 ;
    memcpy(buf + p, envmod[i], l) ; p += l ;
  }
  memcpy(buf, h, sizeof h) ;
  return p ;
}

static int send_job(worker *w, char const *buf, size_t len, int fd0, int fd1)
{
  int fds[2] = { fd0, fd1 } ;
  size_t n = fd1 >= 0 ? 2 : 1 ;
  union { struct cmsghdr h ; char b[CMSG_SPACE(sizeof fds)] ; } c ;
  struct iovec v = { .iov_base = (void *)buf, .iov_len = len } ;
  struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = CMSG_SPACE(n * sizeof(int)) } ;
  struct cmsghdr *h = CMSG_FIRSTHDR(&m) ;
  memset(c.b, 0, sizeof c.b) ;
  h->cmsg_level = SOL_SOCKET ;
  h->cmsg_type = SCM_RIGHTS ;
  h->cmsg_len = CMSG_LEN(n * sizeof(int)) ;
  memcpy(CMSG_DATA(h), fds, n * sizeof(int)) ;
  ssize_t r ;
  do r = sendmsg(w->ctl, &m, MSG_NOSIGNAL) ; while (r < 0 && errno == EINTR) ;
  return r == (ssize_t)len ;
}

pid_t qworker_run(builtin_main_func *f, char const *const *argv, char const *const *envmod, unsigned int n, int fd0, int fd1, int *cap)
{
  static char buf[QWORKER_MSGMAX] ;
  size_t len ;
  worker *w = 0 ;
  if (!wmax || !(len = pack(buf, argv, envmod, n))) return 0 ;
  for (unsigned int i = 0 ; i < wn && !w ; i++)
    if (W[i].f == f && W[i].ctl >= 0 && !W[i].busy) w = &W[i] ;
  if (!w && !(w = spawn(f))) return 0 ;
  if (!send_job(w, buf, len, fd0, fd1)) {
    /* gone or going: it is reaped later; this job forks instead */
    close(w->ctl) ;
    w->ctl = -1 ;
    return 0 ;
  }
  w->busy = 1 ;
  if (cap) *cap = w->cap ;
  return w->pid ;
}

unsigned int qworker_pollfds(iopause_fd *x, unsigned int max)
{
  unsigned int n = 0 ;
  for (unsigned int i = 0 ; i < wn ; i++) {
    W[i].poll = -1 ;
    if (!W[i].busy || W[i].ctl < 0 || n >= max) continue ;
    x[n].fd = W[i].ctl ; x[n].events = IOPAUSE_READ ; x[n].revents = 0 ;
    W[i].poll = n++ ;
  }
  return n ;
}

/* The answer to w's job: 1 and *wstat, or 0 if there is none (yet). A
   worker that retires, or has gone, gets no more jobs. It stays busy
   until job_ended has read its capture. */
static int answer(worker *w, int *wstat)
{
  unsigned char a[2] ;
  ssize_t r ;
  do r = recv(w->ctl, a, sizeof a, MSG_DONTWAIT) ; while (r < 0 && errno == EINTR) ;
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0 ;
  if (r != 2 || a[1]) { close(w->ctl) ; w->ctl = -1 ; }
  if (r != 2) return 0 ;        /* it died: its wait status will tell */
  *wstat = (int)a[0] << 8 ;     /* as if it had exited with that code */
  return 1 ;
}

/* done() reads the capture; then it is emptied for the next job, by
   putting the offset that the worker's writes share back to 0, before the
   worker can be given one. */
static void job_ended(worker *w, int wstat, void (*done)(pid_t, int))
{
  done(w->pid, wstat) ;
  if (w->cap >= 0 && lseek(w->cap, 0, SEEK_SET) < 0 && w->ctl >= 0) { close(w->ctl) ; w->ctl = -1 ; }
  w->busy = 0 ;
  w->idle = now() ;
}

void qworker_pollread(iopause_fd const *x, void (*done)(pid_t, int))
{
  for (unsigned int i = 0 ; i < wn ; i++) {
    int wstat ;
    if (W[i].poll < 0 || !x[W[i].poll].revents) continue ;
    if (answer(&W[i], &wstat)) job_ended(&W[i], wstat, done) ;
  }
}

unsigned int qworker_expire(unsigned int maxidle)
{
  time_t t = now() ;
  unsigned int next = 0 ;
  for (unsigned int i = 0 ; i < wn ; i++) {
    if (W[i].busy || W[i].ctl < 0) continue ;
    if (t - W[i].idle >= (time_t)maxidle) { close(W[i].ctl) ; W[i].ctl = -1 ; continue ; }
    unsigned int left = (unsigned int)(maxidle - (t - W[i].idle)) ;
    if (!next || left < next) next = left ;
  }
  return next ;
}

void qworker_reaped(pid_t pid, int wstat, void (*done)(pid_t, int))
{
  unsigned int i = 0 ;
  while (i < wn && W[i].pid != pid) i++ ;
  if (i == wn) { done(pid, wstat) ; return ; }
  if (W[i].busy) {
    /* an answer sent just before it went is the job's real end */
    if (W[i].ctl >= 0) answer(&W[i], &wstat) ;
    done(pid, wstat) ;
  }
  if (W[i].ctl >= 0) close(W[i].ctl) ;
  if (W[i].cap >= 0) close(W[i].cap) ;
  W[i] = W[--wn] ;
}
