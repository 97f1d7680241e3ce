#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "pop3auth.h"
#include "pop3handback.h"

extern char **environ ;

/* ---- the mailbox part's side ---- */

static size_t put (char *buf, size_t n, char const *s)
{
  size_t l = strlen(s) + 1 ;
  if (n + l > POP3HANDBACK_MAX) return POP3HANDBACK_MAX + 1 ;
  memcpy(buf + n, s, l) ;
  return n + l ;
}

/* "argc\0cwd\0argv...\0env...\0" after a 4-byte length; 0 if too big */
static size_t offer (char *buf, int argc, char const *const *argv)
{
  char cwd[4096], num[UINT_FMT] ;
  size_t n = 4 ;
  unsigned int ne = 0 ;
  if (argc < 1 || argc > POP3HANDBACK_ARGMAX || !getcwd(cwd, sizeof cwd)) return 0 ;
  num[uint_fmt(num, argc)] = 0 ;
  n = put(buf, n, num) ;
  n = put(buf, n, cwd) ;
  for (int i = 0 ; i < argc ; i++) n = put(buf, n, argv[i]) ;
  for (char **e = environ ; *e ; e++, ne++) n = put(buf, n, *e) ;
  if (n > POP3HANDBACK_MAX || ne > POP3HANDBACK_ARGMAX) return 0 ;
  {
    uint32_t len = n - 4 ;
    memcpy(buf, &len, 4) ;
  }
  return n ;
}

void pop3handback_offer (int argc, char const *const *argv)
{
  static char buf[POP3HANDBACK_MAX] ;
  char const *s = getenv(POP3AUTH_DONEVAR) ;
  unsigned int fd ;
  size_t n ;
  char verdict = 0 ;
  if (!s) return ;
  unsetenv(POP3AUTH_DONEVAR) ;
  if (!uint0_scan(s, &fd) || fd < 3) return ;
  n = offer(buf, argc, argv) ;
  if (n)
  {
    /* the kernel checks these are ours: the login side trusts them */
    union { struct cmsghdr h ; char b[CMSG_SPACE(sizeof (struct ucred))] ; } c ;
    struct ucred cr = { .pid = getpid(), .uid = getuid(), .gid = getgid() } ;
    struct iovec v = { .iov_base = buf, .iov_len = n } ;
    struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b } ;
    ssize_t w ;
    memset(&c, 0, sizeof c) ;
    c.h.cmsg_level = SOL_SOCKET ;
    c.h.cmsg_type = SCM_CREDENTIALS ;
    c.h.cmsg_len = CMSG_LEN(sizeof cr) ;
    memcpy(CMSG_DATA(&c.h), &cr, sizeof cr) ;
    while ((w = sendmsg(fd, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR) ;
    if (w > 0 && (size_t)w < n) w = allwrite(fd, buf + w, n - w) == n - w ? (ssize_t)n : -1 ;
    if (w == (ssize_t)n) while (fd_read(fd, &verdict, 1) < 0 && errno == EINTR) ;
  }
  if (verdict == 'x') _exit(0) ;   /* the login process goes on as us */
  fd_close(fd) ;
}

/* ---- the login side ---- */

int pop3handback_pair (int sv[2])
{
  int one = 1 ;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return 0 ;
  if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
  {
    fd_close(sv[0]) ; fd_close(sv[1]) ;
    return 0 ;
  }
  return 1 ;
}

/* The child's supplementary groups, while it waits for the verdict. */
static int groups (pid_t pid, pop3handback *h)
{
  char path[32 + PID_FMT], line[4096] ;
  FILE *f ;
  int ok = 0 ;
  snprintf(path, sizeof path, "/proc/%ld/status", (long)pid) ;
  f = fopen(path, "re") ;
  if (!f) return 0 ;
  while (fgets(line, sizeof line, f))
  {
    char *s = line + 7, *end ;
    if (strncmp(line, "Groups:", 7)) continue ;
    h->ngroups = 0 ;
    for (;;)
    {
      unsigned long g = strtoul(s, &end, 10) ;
      if (end == s) break ;
      if (h->ngroups == POP3HANDBACK_GROUPS) goto out ;
      h->groups[h->ngroups++] = (gid_t)g ;
      s = end ;
    }
    ok = 1 ;
    break ;
  }
 out:
  fclose(f) ;
  return ok ;
}

/* buf[0..n): "argc\0cwd\0argv...\0env...\0" into h's pointers. */
static int parse (pop3handback *h, size_t n)
{
  char const *p = h->buf, *end = h->buf + n ;
  unsigned int argc, k = 0 ;
  if (!n || h->buf[n - 1] || !uint0_scan(p, &argc) || !argc || argc > POP3HANDBACK_ARGMAX) return 0 ;
  p += strlen(p) + 1 ;
  if (p >= end || *p != '/') return 0 ;
  h->cwd = p ;
  p += strlen(p) + 1 ;
  for (unsigned int i = 0 ; i < argc ; i++, p += strlen(p) + 1)
  {
    if (p >= end) return 0 ;
    h->argv[i] = p ;
  }
  h->argv[argc] = 0 ;
  for (; p < end ; p += strlen(p) + 1)
  {
    if (k == POP3HANDBACK_ARGMAX || !strchr(p, '=')) return 0 ;
    h->envp[k++] = p ;
  }
  h->envp[k] = 0 ;
  return 1 ;
}

static int decline (int fd)
{
  fd_write(fd, "n", 1) ;
  return -1 ;
}

int pop3handback_take (int fd, pid_t child, pop3handback *h)
{
  union { struct cmsghdr h ; char b[CMSG_SPACE(sizeof (struct ucred))] ; } c ;
  struct ucred cr ;
  uint32_t len ;
  struct iovec v = { .iov_base = &len, .iov_len = 4 } ;
  struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b } ;
  struct cmsghdr *ch ;
  ssize_t r ;
  while ((r = recvmsg(fd, &m, MSG_WAITALL | MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) ;
  if (r <= 0) return 0 ;
  ch = CMSG_FIRSTHDR(&m) ;
  if (r != 4 || !ch || ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_CREDENTIALS
   || ch->cmsg_len != CMSG_LEN(sizeof cr)) return decline(fd) ;
  memcpy(&cr, CMSG_DATA(ch), sizeof cr) ;
  if (cr.pid != child || len > POP3HANDBACK_MAX || allread(fd, h->buf, len) != len) return decline(fd) ;
  /* not root: we can only become what we are */
  if (geteuid() && (cr.uid != getuid() || cr.gid != getgid())) return decline(fd) ;
  if (!parse(h, len) || (!geteuid() ? !groups(child, h) : 0)) return decline(fd) ;
  h->uid = cr.uid ;
  h->gid = cr.gid ;
  return 1 ;
}

int pop3handback_accept (int fd, pid_t child, pop3handback const *h, char const *tlsproto)
{
  int wstat ;
  fd_write(fd, "x", 1) ;
  fd_close(fd) ;
  while (waitpid(child, &wstat, 0) < 0)
    if (errno != EINTR) return POP3AUTH_TEMP ;
  if (!WIFEXITED(wstat)) return POP3AUTH_CRASH ;
  if (WEXITSTATUS(wstat)) return POP3AUTH_TEMP ;
  if (!geteuid() && (setgroups(h->ngroups, h->groups) < 0 || setgid(h->gid) < 0 || setuid(h->uid) < 0)) _exit(111) ;
  /* as the user: the directory's permissions are checked as they were */
  if (chdir(h->cwd) < 0) _exit(111) ;
  if (tlsproto)
  {
    unsigned int rfd, wfd ;
    char const *rs = getenv("SSLREADFD"), *ws = getenv("SSLWRITEFD") ;
    if (!rs || !ws || !uint0_scan(rs, &rfd) || !uint0_scan(ws, &wfd)
     || fd_copy(0, rfd) < 0 || fd_copy(1, wfd) < 0) _exit(111) ;
  }
  execvpe(h->argv[0], (char *const *)h->argv, (char *const *)h->envp) ;
  _exit(111) ;
}
