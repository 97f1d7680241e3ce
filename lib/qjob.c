#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "builtin.h"
#include "qjob.h"
#include "qworker.h"

#define NBUILTIN 4
static struct { char const *name ; qjob_main_func *f ; } builtins[NBUILTIN] ;

int qjob_builtin(char const *name, qjob_main_func *f)
{
  for (unsigned int i = 0 ; i < NBUILTIN ; i++)
    if (!builtins[i].name) { builtins[i].name = name ; builtins[i].f = f ; return 1 ; }
  return 0 ;
}

static qjob_main_func *builtin_find(char const *name)
{
  for (unsigned int i = 0 ; i < NBUILTIN && builtins[i].name ; i++)
    if (!strcmp(builtins[i].name, name)) return builtins[i].f ;
  return 0 ;
}

/* In the forked child: what posix_spawn and exec would have done. */
static void builtin_child(qjob_main_func *f, char const *const *argv, char const *const *envmod, unsigned int n, int fd0, int fd1, int out)
{
  builtin_reset_signals() ;
  for (unsigned int i = 0 ; i < n ; i++) if (!builtin_setenv(envmod[i])) _exit(111) ;
  if (dup2(fd0, 0) < 0 || dup2(fd1 >= 0 ? fd1 : out, 1) < 0 || dup2(out, 2) < 0) _exit(111) ;
  /* no exec, so close-on-exec does nothing: close our other fds by hand */
  close_range(3, ~0U, 0) ;
  builtin_run(f, argv) ;
}

static int builtin_fork(qjob *j, qjob_main_func *f, char const *const *argv, char const *const *envmod, unsigned int n, int fd0, int fd1, int out)
{
  pid_t pid = fork() ;
  if (pid < 0) return 0 ;
  if (!pid) builtin_child(f, argv, envmod, n, fd0, fd1, out) ;
  j->pid = pid ;
  return 1 ;
}

static void started(qjob *j, int fd, int cap)
{
  if (fd >= 0) ndelay_on(fd) ;
  j->fd = fd ;
  j->cap = cap ;
  j->forward = 0 ;
  j->curlen = j->lastlen = 0 ;
  j->last[0] = 0 ;
}

int qjob_spawn(qjob *j, char const *const *argv, char const *const *envmod, unsigned int n, int fd0, int fd1)
{
  int p[2], r ;
  qjob_main_func *f = builtin_find(argv[0]) ;
  /* the dup2 sequence in the child needs sources above 2 */
  if (f && fd0 > 2 && (fd1 < 0 || fd1 > 2)) {
    int cap ;
    if ((j->pid = qworker_run(f, argv, envmod, n, fd0, fd1, &cap)) > 0) { started(j, -1, cap) ; return 1 ; }
    if (pipe2(p, O_CLOEXEC) < 0) return 0 ;
    r = builtin_fork(j, f, argv, envmod, n, fd0, fd1, p[1]) ;
    close(p[1]) ;
    if (!r) { close(p[0]) ; return 0 ; }
    started(j, p[0], -1) ;
    return 1 ;
  }
  posix_spawn_file_actions_t fa ;
  posix_spawnattr_t at ;
  sigset_t none, all ;
  char const **envp = builtin_env(envmod, n) ;
  if (!envp) return 0 ;
  if (pipe2(p, O_CLOEXEC) < 0) { free(envp) ; return 0 ; }
  posix_spawn_file_actions_init(&fa) ;
  posix_spawnattr_init(&at) ;
  /* The selfpipe blocks our signals; the child must start clean. */
  sigemptyset(&none) ;
  sigfillset(&all) ;
  posix_spawnattr_setsigmask(&at, &none) ;
  posix_spawnattr_setsigdefault(&at, &all) ;
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) ;
  posix_spawn_file_actions_adddup2(&fa, fd0, 0) ;
  posix_spawn_file_actions_adddup2(&fa, fd1 >= 0 ? fd1 : p[1], 1) ;
  posix_spawn_file_actions_adddup2(&fa, p[1], 2) ;
  r = posix_spawnp(&j->pid, argv[0], &fa, &at, (char *const *)argv, (char *const *)envp) ;
  posix_spawn_file_actions_destroy(&fa) ;
  posix_spawnattr_destroy(&at) ;
  free(envp) ;
  close(p[1]) ;
  if (r) { close(p[0]) ; errno = r ; return 0 ; }
  started(j, p[0], -1) ;
  return 1 ;
}

static void endline(qjob *j)
{
  while (j->curlen && (j->cur[j->curlen-1] == '\r' || j->cur[j->curlen-1] == ' ')) j->curlen-- ;
  if (j->curlen) {
    if (j->forward) {
      j->cur[j->curlen] = '\n' ;
      if (write(2, j->cur, j->curlen + 1) < 0) {}
    }
    memcpy(j->last, j->cur, j->curlen) ;
    j->lastlen = j->curlen ;
    j->last[j->lastlen] = 0 ;
  }
  j->curlen = 0 ;
}

static void feed(qjob *j, char const *buf, size_t len)
{
  for (size_t i = 0 ; i < len ; i++) {
    if (buf[i] == '\n') endline(j) ;
    else if (j->curlen < QJOB_LINEMAX) j->cur[j->curlen++] = buf[i] ;
  }
}

int qjob_read(qjob *j)
{
  char buf[4096] ;
  if (j->fd < 0) return 0 ;
  for (;;) {
    ssize_t r = read(j->fd, buf, sizeof buf) ;
    if (r < 0 && errno == EINTR) continue ;
    if (r < 0 && errno == EAGAIN) return 1 ;
    if (r <= 0) break ;
    feed(j, buf, (size_t)r) ;
  }
  endline(j) ;
  close(j->fd) ;
  j->fd = -1 ;
  return 0 ;
}

/* What a worker's job wrote: the capture from 0 to its offset. */
static void read_capture(qjob *j)
{
  char buf[4096] ;
  off_t end = lseek(j->cap, 0, SEEK_CUR) ;
  if (end > QWORKER_CAPMAX) end = QWORKER_CAPMAX ;
  for (off_t o = 0 ; o < end ;) {
    ssize_t r = pread(j->cap, buf, end - o < (off_t)sizeof buf ? (size_t)(end - o) : sizeof buf, o) ;
    if (r < 0 && errno == EINTR) continue ;
    if (r <= 0) break ;
    feed(j, buf, (size_t)r) ;
    o += r ;
  }
  endline(j) ;
  j->cap = -1 ;
}

void qjob_finish(qjob *j)
{
  if (j->cap >= 0) { read_capture(j) ; return ; }
  if (j->fd < 0) return ;
  qjob_read(j) ;
  /* A grandchild may still hold the pipe: do not wait for it. */
  if (j->fd >= 0) { endline(j) ; close(j->fd) ; j->fd = -1 ; }
}

char const *qjob_reason(qjob *j)
{
  char *s = j->last ;
  /* "prog: fatal: " etc.: skip a first word ending in ':' then the level. */
  char *c = strchr(s, ':') ;
  if (c && c > s && !memchr(s, ' ', c - s) && c[1] == ' ') {
    static char const *const lv[] = { "fatal: ", "warning: ", "info: ", 0 } ;
    for (unsigned int i = 0 ; lv[i] ; i++)
      if (!strncmp(c + 2, lv[i], strlen(lv[i]))) { s = c + 2 + strlen(lv[i]) ; break ; }
  }
  /* Keep only printable ASCII: reasons go into logs and bounces. */
  for (char *p = s ; *p ; p++) if ((unsigned char)*p < 32 || (unsigned char)*p > 126) *p = '?' ;
  return s ;
}

int qjob_class_delivery(int wstat)
{
  if (!WIFEXITED(wstat)) return QJOB_TEMP ;
  switch (WEXITSTATUS(wstat)) {
    case 0 : case 99 : return QJOB_OK ;
    case 100 : return QJOB_PERM ;
    default : return QJOB_TEMP ;
  }
}

int qjob_class_inject(int wstat)
{
  if (!WIFEXITED(wstat)) return QJOB_TEMP ;
  int e = WEXITSTATUS(wstat) ;
  return !e ? QJOB_OK : e >= 11 && e <= 40 ? QJOB_PERM : QJOB_TEMP ;
}

void qjob_statusreason(char *buf, size_t max, char const *prog, int wstat, int class)
{
  char fmt[UINT_FMT] ;
  char const *code = class == QJOB_PERM ? "5.3.0 " : "4.3.0 " ;
  char const *what = " exited " ;
  unsigned int n = WIFEXITED(wstat) ? WEXITSTATUS(wstat) : WIFSIGNALED(wstat) ? WTERMSIG(wstat) : 0 ;
  if (WIFSIGNALED(wstat)) what = " killed by signal " ;
  fmt[uint_fmt(fmt, n)] = 0 ;
  size_t len = 0 ;
  char const *parts[4] = { code, prog, what, fmt } ;
  for (unsigned int i = 0 ; i < 4 ; i++)
    for (char const *p = parts[i] ; *p && len + 1 < max ; p++) buf[len++] = *p ;
  buf[len] = 0 ;
}

int qjob_memfd(char const *s, size_t len)
{
  int fd = memfd_create("queue-run", MFD_CLOEXEC) ;
  if (fd < 0) return -1 ;
  size_t w = 0 ;
  while (w < len) {
    ssize_t r = write(fd, s + w, len - w) ;
    if (r < 0) { if (errno == EINTR) continue ; close(fd) ; return -1 ; }
    w += r ;
  }
  if (lseek(fd, 0, SEEK_SET) < 0) { close(fd) ; return -1 ; }
  return fd ;
}

int qjob_inpath(char const *prog)
{
  char const *path = getenv("PATH") ;
  if (!path) path = "/usr/bin:/bin" ;
  size_t pl = strlen(prog) ;
  while (*path) {
    size_t n = strcspn(path, ":") ;
    char buf[4096] ;
    if (n + pl + 2 <= sizeof buf) {
      memcpy(buf, n ? path : ".", n ? n : 1) ;
      size_t k = n ? n : 1 ;
      buf[k] = '/' ;
      memcpy(buf + k + 1, prog, pl + 1) ;
      if (!access(buf, X_OK)) return 1 ;
    }
    path += n ;
    if (*path) path++ ;
  }
  return 0 ;
}
