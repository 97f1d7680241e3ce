/* Child jobs of queue-run: spawn a program with given stdin/stdout and
   extra environment, collect its output through a nonblocking pipe, or
   for a job in a delivery worker from the worker's capture once it ended
   (only the last line is kept, as the failure reason), classify its
   exit status. */
#ifndef PM_QJOB_H
#define PM_QJOB_H
#include "builtin.h"
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#define QJOB_LINEMAX 1000

typedef struct qjob_s qjob ;
struct qjob_s {
  pid_t pid ;
  int fd ;                       /* read end of the output pipe, -1 when closed */
  int cap ;                      /* or the worker's capture (qworker.h), -1 */
  int forward ;                  /* copy each line to our stderr (a log) */
  size_t curlen, lastlen ;
  char cur[QJOB_LINEMAX + 1] ;   /* line being read */
  char last[QJOB_LINEMAX + 1] ;  /* last complete non-empty line */
} ;

/* Results of a job (exit status classes). */
enum { QJOB_OK = 0, QJOB_PERM = 1, QJOB_TEMP = 2 } ;

/* Run argv[0] (found via PATH) with fd 0 = fd0, fd 1 = fd1 (or the output
   if fd1 < 0), fd 2 = the output (a pipe, or a delivery worker's capture:
   then j->fd is -1 and the output is read at the end), the environment plus envmod
   (n "NAME=value" strings, replacing existing NAME). Returns 1 ok, 0 on
   error (errno; ENOENT if the program is not found). j->forward is 0;
   set it to copy the job's output lines to our stderr. */
int qjob_spawn(qjob *j, char const *const *argv, char const *const *envmod, unsigned int n, int fd0, int fd1) ;
/* A program's main that can run in a forked child instead of an exec. */
typedef builtin_main_func qjob_main_func ;
/* Register f as the built-in copy of program `name` (at most 4). From then
   on qjob_spawn runs it without exec, in a delivery worker (qworker.h) or
   else a forked child: same argv, environment changes, fds and exit
   status as the program, without the cost of an exec (the larger part of
   a local delivery's CPU time). f must leave no state behind. */
int qjob_builtin(char const *name, qjob_main_func *f) ;

/* Read what is available. Returns 1 if more may come, 0 at EOF or on an
   error (the pipe is then closed). */
int qjob_read(qjob *j) ;
/* Drain and close the pipe, or read the capture (after the job ended). */
void qjob_finish(qjob *j) ;
/* The reason: the last line of output, less a leading "prog: fatal: " or
   "prog: warning: ". NUL-terminated, in j. */
char const *qjob_reason(qjob *j) ;
/* Class of a delivery agent's wait status (0 or 99 ok, 100 permanent,
   other exits and signals temporary). */
int qjob_class_delivery(int wstat) ;
/* Class of a queue-inject wait status (0 ok, 11..40 permanent). */
int qjob_class_inject(int wstat) ;
/* A fallback reason from a wait status when the program said nothing:
   "CODE PROG exited N" / "CODE PROG killed by signal N" into buf (>= 128). */
void qjob_statusreason(char *buf, size_t max, char const *prog, int wstat, int class) ;
/* An anonymous read-write file holding s (for a child's stdin/fd 1),
   positioned at 0. -1 on error. */
int qjob_memfd(char const *s, size_t len) ;
/* 1 if prog is found in PATH. */
int qjob_inpath(char const *prog) ;
#endif
