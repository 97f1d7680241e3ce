/* Unit tests of lib/qjob with lib/qworker: a built-in job in a delivery
   worker writes its output into the worker's capture; queue-run reads it
   at the job's end, and the next job starts with an empty one. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <skalibs/iopause.h>
#include <skalibs/djbunix.h>
#include <skalibs/tai.h>
#include <skalibs/strerr.h>
#include "tap.h"
#include "qjob.h"
#include "qworker.h"

static int say(int fd, char const *s) { return write(fd, s, strlen(s)) == (ssize_t)strlen(s); }

/* argv[1] says what to do; the exit code tells the test what happened. */
static int job_main(int argc, char const *const *argv)
{
  char big[4096];
  if (argc < 2) return 111;
  if (!strcmp(argv[1], "warn")) return say(2, "job: warning: first line\njob: warning: second line\n") ? 0 : 1;
  if (!strcmp(argv[1], "quiet")) return 100;
  if (!strcmp(argv[1], "stdout")) return say(1, "on fd 1\n") ? 0 : 1;
  if (!strcmp(argv[1], "env")) return say(2, getenv("JOBVAR") ? getenv("JOBVAR") : "unset") ? 0 : 1;
  if (!strcmp(argv[1], "flood")) {
    /* more than the capture holds: the write that crosses its end fails */
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\n';
    for (unsigned int i = 0; i < QWORKER_CAPMAX / sizeof big + 1; i++)
      if (write(2, big, sizeof big) < 0) return errno == EPERM ? 7 : 8;
    return 9;
  }
  if (!strcmp(argv[1], "die")) { say(2, "job: fatal: going away\n"); _exit(100); }
  return 111;
}

static qjob J;
static pid_t ended_pid;
static int ended_wstat, ended_n;
static int in_capture;   /* the last job started with a capture and no pipe */

static void done(pid_t pid, int wstat)
{
  if (pid != J.pid) return;
  qjob_finish(&J);
  ended_pid = pid;
  ended_wstat = wstat;
  ended_n++;
}

/* Run one job to its end: 1 and its wait status, 0 on timeout. */
static int run(char const *what, char const *envmod, int fd1, int *wstat)
{
  char const *argv[3] = { "job", what, 0 };
  char const *env[1] = { envmod };
  int n0 = ended_n;
  if (!qjob_spawn(&J, argv, env, envmod ? 1 : 0, 3, fd1)) return 0;
  in_capture = J.cap >= 0 && J.fd < 0;
  /* no SIGCHLD here: look for a dead worker every 20 ms, for 10 s */
  for (unsigned int i = 0; ended_n == n0 && i < 500; i++) {
    iopause_fd x[4];
    unsigned int n = qworker_pollfds(x, 4);
    tain deadline, step;
    int st;
    pid_t p;
    if (J.fd >= 0) { x[n].fd = J.fd; x[n].events = IOPAUSE_READ; n++; }
    tain_now_set_stopwatch_g();
    tain_from_millisecs(&step, 20);
    tain_add_g(&deadline, &step);
    if (iopause_g(x, n, &deadline) < 0) return 0;
    if (J.fd >= 0 && x[n - 1].revents) qjob_read(&J);
    qworker_pollread(x, &done);
    while ((p = wait_nohang(&st)) > 0) qworker_reaped(p, st, &done);
  }
  if (ended_n == n0) return 0;
  *wstat = ended_wstat;
  return 1;
}

int main(void)
{
  int wstat, null;
  pid_t first;
  PROG = "unit-qjob";
  /* fd 3: the job's stdin, as queue-run gives a queue file */
  null = open("/dev/null", O_RDONLY);
  if (null != 3 && (dup2(null, 3) < 0 || close(null) < 0)) return 111;
  qjob_builtin("job", &job_main);
  qworker_init(1, 0, 1);

  ok(run("warn", 0, -1, &wstat) && WIFEXITED(wstat) && !WEXITSTATUS(wstat), "a job in a worker: exit 0");
  first = ended_pid;
  is_str(qjob_reason(&J), "second line", "its last line of output, read from the capture");
  ok(in_capture, "it had no pipe but the worker's capture");
  ok(J.cap < 0, "which is let go at the end");

  ok(run("quiet", 0, -1, &wstat) && WEXITSTATUS(wstat) == 100 && ended_pid == first, "the next job, same worker: exit 100");
  is_str(qjob_reason(&J), "", "it wrote nothing: nothing of the last job's output is left");

  ok(run("stdout", 0, -1, &wstat) && !WEXITSTATUS(wstat), "a job given no fd 1");
  is_str(qjob_reason(&J), "on fd 1", "writes its fd 1 into the capture too");

  int p[2];
  char buf[64] = "";
  if (pipe(p) < 0) return 111;
  ok(run("stdout", 0, p[1], &wstat) && !WEXITSTATUS(wstat), "a job given an fd 1");
  close(p[1]);
  ssize_t r = read(p[0], buf, sizeof buf - 1);
  buf[r > 0 ? r : 0] = 0;
  close(p[0]);
  is_str(buf, "on fd 1\n", "writes its fd 1 there");
  is_str(qjob_reason(&J), "", "and nothing into the capture");

  ok(run("env", "JOBVAR=set for this job", -1, &wstat) && !WEXITSTATUS(wstat), "environment changes");
  is_str(qjob_reason(&J), "set for this job", "are the job's");
  ok(run("env", 0, -1, &wstat) && !WEXITSTATUS(wstat), "the next job");
  is_str(qjob_reason(&J), "unset", "does not have them");

  ok(run("flood", 0, -1, &wstat) && WEXITSTATUS(wstat) == 7, "a job writing more than QWORKER_CAPMAX gets EPERM, not more memory");
  ok(strlen(qjob_reason(&J)) == QJOB_LINEMAX, "its last line is read, cut at QJOB_LINEMAX");
  ok(run("warn", 0, -1, &wstat) && !WEXITSTATUS(wstat) && ended_pid == first, "after it, the worker goes on");
  is_str(qjob_reason(&J), "second line", "with an empty capture");

  ok(run("die", 0, -1, &wstat) && WIFEXITED(wstat) && WEXITSTATUS(wstat) == 100, "a job that exits: its exit code");
  is_str(qjob_reason(&J), "going away", "and what it wrote, read after its worker is gone");
  ok(run("warn", 0, -1, &wstat) && !WEXITSTATUS(wstat) && ended_pid != first, "the next job runs in a new worker");
  is_str(qjob_reason(&J), "second line", "with a capture of its own");

  qworker_init(0, 0, 1);
  ok(run("warn", 0, -1, &wstat) && !WEXITSTATUS(wstat), "no workers: a forked child");
  ok(!in_capture && J.fd < 0, "that writes into a pipe, closed at the end");
  is_str(qjob_reason(&J), "second line", "read the same way");
  return done_testing();
}
