#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/exec.h>
#include <skalibs/strerr.h>
#include "lineio.h"
#include "injector.h"
#include "root.h"

/* The configured filter or injector, 0 for in-process injection. */
static char const *injector_prog(void)
{
  char const *p = getenv("QUEUE_INJECT");
  if (!p || !*p) p = getenv("QMAILQUEUE");
  return p && *p ? p : 0;
}

int injector_local(void)
{
  stralloc p = STRALLOC_ZERO;
  int ok = 1;
  if (injector_prog()) return 1;
  if (!pm_path(&p, "bin/queue-inject")) return 0;
  if (access(p.s, X_OK) == 0) ok = setenv("QUEUE_INJECT", p.s, 1) == 0;
  stralloc_free(&p);
  return ok;
}

#define ERRFD 4              /* the custom error patch's descriptor */

/* errw is never 0 or 1: its pipe was made after the other two. */
static void child(injector const *q, int msgr, int envr, int errw, char const *prog)
{
  char const *argv[2] = { prog, 0 };
  setpgid(0, 0);
  signal(SIGPIPE, SIG_DFL);   /* an ignored SIGPIPE survives exec */
  if (fd_move2(0, msgr, 1, envr) < 0) _exit(81);
  if ((errw != ERRFD && fd_move(ERRFD, errw) < 0) || uncoe(ERRFD) < 0) _exit(81);
  mexec_am(prog, argv, q->vars ? q->vars : "", q->vars ? q->varslen : 0);
  _exit(120);                 /* qmail's "unable to exec qq" */
}

int injector_start(injector *q, unsigned int timeoutsecs)
{
  int m[2], e[2], x[2];
  char const *prog = injector_prog();
  q->pid = -1;
  q->msgfd = q->envfd = q->errfd = -1;
  q->errtext[0] = 0;
  q->failed = 0;
  q->secs = timeoutsecs;
  q->inproc = !prog;
  tain_uint(&q->timeout, timeoutsecs);
  if (q->inproc) {
    if (!qinject_open(&q->qi)) return 1;
    strerr_warnwusys(q->qi.why);
    q->inproc = 0;
    return 0;
  }
  if (pipecoe(m) < 0) return 0;
  if (pipecoe(e) < 0) { fd_close(m[0]); fd_close(m[1]); return 0; }
  if (pipecoe(x) < 0) { fd_close(m[0]); fd_close(m[1]); fd_close(e[0]); fd_close(e[1]); return 0; }
  q->pid = fork();
  if (!q->pid) child(q, m[0], e[0], x[1], prog);
  fd_close(m[0]);
  fd_close(e[0]);
  fd_close(x[1]);
  if (q->pid < 0) { fd_close(m[1]); fd_close(e[1]); fd_close(x[0]); return 0; }
  setpgid(q->pid, q->pid);    /* both sides, so that abort never races */
  ndelay_on(m[1]);
  ndelay_on(e[1]);
  ndelay_on(x[0]);
  q->msgfd = m[1];
  q->envfd = e[1];
  q->errfd = x[0];
  return 1;
}

/* A write failed. A dead injector (EPIPE) has an exit code to report;
   a stuck one (timeout) is killed, or waiting for it would hang. */
static void wfail(injector *q)
{
  if (errno == ETIMEDOUT) {
    kill(-q->pid, SIGKILL);
    kill(q->pid, SIGKILL);
  }
  q->failed = 1;
}

int injector_write(injector *q, char const *s, size_t n)
{
  if (q->inproc) return !q->failed && !(q->failed = !!qinject_write(&q->qi, s, n));
  if (q->failed || q->msgfd < 0) return 0;
  if (!lineio_writeall(q->msgfd, s, n, &q->timeout)) { wfail(q); return 0; }
  return 1;
}

static void closefd(int *fd)
{
  if (*fd >= 0) fd_close(*fd);
  *fd = -1;
}

void injector_abort(injector *q)
{
  int wstat;
  if (q->inproc) { qinject_abort(&q->qi); q->inproc = 0; return; }
  if (q->pid <= 0) return;
  kill(-q->pid, SIGKILL);
  kill(q->pid, SIGKILL);
  closefd(&q->msgfd);
  closefd(&q->envfd);
  closefd(&q->errfd);
  wait_pid(q->pid, &wstat);
  q->pid = -1;
}

/* What the filter wrote on fd 4 before it exited: in the pipe already, so
   one read that does not wait (what a grandchild still holding the pipe
   might write later is not waited for). One line, printable, bounded. */
static void read_errtext(injector *q)
{
  ssize_t r = fd_read(q->errfd, q->errtext, sizeof q->errtext - 1);
  size_t n = r > 0 ? (size_t)r : 0;
  closefd(&q->errfd);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = q->errtext[i];
    if (!c || c == '\r' || c == '\n') { n = i; break; }
    if (c < 32 || c > 126) q->errtext[i] = '?';
  }
  while (n && q->errtext[n - 1] == ' ') n--;
  q->errtext[n] = 0;
}

static void onalarm(int sig) { (void)sig; }

/* Wait for the exit, at most the timeout; then kill it. 1 if it exited
   by itself (wstat set), 0 if not. */
static int wait_timed(injector *q, int *wstat)
{
  struct sigaction sa, old;
  pid_t r;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = onalarm;      /* no SA_RESTART: waitpid returns EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, &old);
  alarm(q->secs);
  r = waitpid(q->pid, wstat, 0);
  alarm(0);
  sigaction(SIGALRM, &old, 0);
  if (r == q->pid) return 1;
  kill(-q->pid, SIGKILL);
  kill(q->pid, SIGKILL);
  wait_pid(q->pid, wstat);
  return 0;
}

int injector_finish(injector *q, char const *env, size_t envlen)
{
  int wstat, code;
  if (q->inproc) {
    q->inproc = 0;
    code = qinject_commit(&q->qi, env, envlen);
    if (code) strerr_warnwusys(q->qi.why);
    return code;
  }
  if (q->pid <= 0) return -1;
  closefd(&q->msgfd);
  if (!q->failed && !lineio_writeall(q->envfd, env, envlen, &q->timeout)) wfail(q);
  closefd(&q->envfd);
  if (!wait_timed(q, &wstat)) { q->pid = -1; closefd(&q->errfd); return -1; }
  q->pid = -1;
  read_errtext(q);
  if (!WIFEXITED(wstat)) return -1;
  code = WEXITSTATUS(wstat);
  if (code >= 11 && code <= 40) return code;
  return q->failed ? -1 : code;
}

char const *injector_reply(int r)
{
  if (!r) return "250 2.0.0 ok";
  if (r == 11) return "554 5.1.3 envelope address too long";
  if (r == 31) return "554 5.7.1 message refused";
  if (r >= 11 && r <= 40) return "554 5.3.0 message permanently rejected";
  if (r == 53) return "452 4.3.1 insufficient system storage";
  if (r == 71) return "451 4.3.0 message temporarily rejected, try again later";
  return "451 4.3.0 temporary queue failure, try again later";
}

/* "D5.7.1 text" or "Dtext": the custom error patch's form (injector.h). */
char const *injector_reply_text(injector *q, int r)
{
  char const *t = q->errtext;
  int perm;
  int see = r == 82 || r == 88;   /* netqmail's patch and simscan; indimail's */
  if (see && (*t == 'D' || *t == 'Z')) perm = *t == 'D';
  else if (r >= 11 && r <= 40 && *t == 'D') perm = 1;
  else if (r >= 41 && r <= 99 && *t == 'Z') perm = 0;
  else return injector_reply(see ? 71 : r);
  t++;
  while (*t == ' ') t++;
  if (!*t) return injector_reply(see ? (perm ? 31 : 71) : r);
  /* a reply code of its own, of the right class: "550 5.7.1 text" */
  char code[5] = "554 ";
  if (!perm) memcpy(code, "451 ", 4);
  if (t[0] == code[0] && t[1] >= '0' && t[1] <= '5' && t[2] >= '0' && t[2] <= '9' && t[3] == ' ') {
    memcpy(code, t, 3);
    t += 4;
  }
  /* an enhanced status code of its own, of the right class: 5.7.1 */
  int coded = t[0] == (perm ? '5' : '4') && t[1] == '.' && t[2] >= '0' && t[2] <= '9'
    && t[strspn(t + 2, "0123456789.") + 2] == ' ';
  q->reply[0] = 0;
  strcat(q->reply, code);
  if (!coded) strcat(q->reply, perm ? "5.3.0 " : "4.3.0 ");
  strncat(q->reply, t, sizeof q->reply - strlen(q->reply) - 1);
  return q->reply;
}
