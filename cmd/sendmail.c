/* sendmail: the front that Unix programs call as /usr/sbin/sendmail.
   It only reads its options and execs the program that does the work:
   mail-inject (a message on stdin), smtp-recv (-bs, a local SMTP
   session), queue-list (-bp), queue-inject -w (-q). Exit codes are those
   of sysexits.h, which callers test. See sendmail(8). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <skalibs/djbunix.h>
#include <skalibs/exec.h>
#include <skalibs/strerr.h>
#include "injector.h"
#include "root.h"

#define USAGE "sendmail [-t] [-i] [-f sender] [-F name] [-bm|-bs|-bp] [-q] [-o option]... [--] [recipient...]"
#define EX_USAGE 64
#define EX_UNAVAILABLE 69
#define EX_OSERR 71
#define EX_TEMPFAIL 75
#define ARGMAX 10000

static char dir[4096] ;     /* where the programs are: beside this one */

static void die_usage(void) { strerr_dieusage(EX_USAGE, USAGE) ; }

/* dir/name if this program knows where it is, else name (from PATH). */
static char const *prog(char const *name, char *buf, size_t max)
{
  if (!dir[0] || strlen(dir) + strlen(name) + 2 > max) return name ;
  strcpy(buf, dir) ; strcat(buf, "/") ; strcat(buf, name) ;
  return buf ;
}

static void find_dir(void)
{
  ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1) ;
  char *slash ;
  if (n <= 0 || n >= (ssize_t)sizeof dir - 1) { dir[0] = 0 ; return ; }
  dir[n] = 0 ;
  if ((slash = strrchr(dir, '/'))) *slash = 0 ; else dir[0] = 0 ;
}

static void run(char const *const *argv)
{
  mexec(argv) ;
  strerr_diefusys(errno == ENOENT ? EX_UNAVAILABLE : EX_OSERR, "exec ", argv[0]) ;
}

/* -bs: an SMTP session on stdin/stdout, a trusted local submission:
   relaying allowed, no peer. */
static void smtp(void)
{
  char buf[4200] ;
  char const *argv[2] = { prog("smtp-recv", buf, sizeof buf), 0 } ;
  static char const *const peer[] = { "PROTO", "TCPREMOTEIP", "TCPREMOTEHOST", "TCPREMOTEPORT",
                                      "TCPREMOTEINFO", "SSL_PROTOCOL", "SSLCTLFD", "SSLREADFD", "SSLWRITEFD", 0 } ;
  for (char const *const *v = peer ; *v ; v++) unsetenv(*v) ;
  if (setenv("RELAYCLIENT", "", 1) < 0 || !injector_local()) strerr_diefusys(EX_TEMPFAIL, "setenv") ;
  run(argv) ;
}

/* -q: queue-run retries everything now, through the setgid queue-inject
   when there is one. */
static int wake(void)
{
  char buf[4200] ;
  stralloc p = STRALLOC_ZERO ;
  char const *argv[3] = { 0, "-w", 0 } ;
  pid_t pid ;
  int wstat ;
  if (!pm_path(&p, "bin/queue-inject")) strerr_diefusys(EX_TEMPFAIL, "allocate") ;
  argv[0] = access(p.s, X_OK) == 0 ? p.s : prog("queue-inject", buf, sizeof buf) ;
  pid = child_spawn0(argv[0], argv, (char const *const *)environ) ;
  if (!pid) strerr_diefusys(EX_OSERR, "spawn ", argv[0]) ;
  if (wait_pid(pid, &wstat) < 0) strerr_diefusys(EX_OSERR, "wait for ", argv[0]) ;
  stralloc_free(&p) ;
  return WIFEXITED(wstat) && !WEXITSTATUS(wstat) ? 0 : EX_TEMPFAIL ;
}

typedef struct { int extract, dot, mode, queue ; char const *from, *name ; } opts ;

/* The argument of option c at argv[*i][*j]: the rest of this word or the
   next one. */
static char const *optarg_(char const *const *argv, int argc, int *i, size_t j)
{
  if (argv[*i][j + 1]) return argv[*i] + j + 1 ;
  if (++*i >= argc) die_usage() ;
  return argv[*i] ;
}

/* One word of options (and the next, if it is an option's argument). */
static void word(opts *o, char const *const *argv, int argc, int *i)
{
  char const *a = argv[*i] ;
  for (size_t j = 1 ; a[j] ; j++) {
    switch (a[j]) {
      case 't' : o->extract = 1 ; break ;
      case 'i' : o->dot = 0 ; break ;
      case 'm' : case 'n' : case 'v' : case 'U' : case 'G' : break ;   /* harmless: ignored */
      case 'f' : case 'r' : o->from = optarg_(argv, argc, i, j) ; return ;
      case 'F' : o->name = optarg_(argv, argc, i, j) ; return ;
      case 'o' :
        if (!a[j + 1]) die_usage() ;
        if (!strcmp(a + j + 1, "i")) o->dot = 0 ;
        return ;                                  /* -oem, -odi, -oQ...: ignored */
      case 'b' : {
        char const *m = optarg_(argv, argc, i, j) ;
        if (strlen(m) != 1 || !strchr("msp", m[0])) strerr_dief(EX_USAGE, "unsupported mode: -b", m) ;
        o->mode = m[0] ;
        return ;
      }
      case 'q' : o->queue = 1 ; return ;          /* -qINTERVAL, -qRsite: as -q */
      case 'h' : case 'B' : case 'C' : case 'L' : case 'N' : case 'R' : case 'V' : case 'X' :
      case 'A' : case 'O' : case 'e' : case 'p' : case 'd' :
        optarg_(argv, argc, i, j) ;               /* with an argument, ignored */
        return ;
      default : {
        char c[2] = { a[j], 0 } ;
        strerr_warnw("unknown option: -", c) ;
        die_usage() ;
      }
    }
  }
}

int main(int argc, char const *const *argv)
{
  opts o = { .dot = 1, .mode = 'm' } ;
  char const *args[ARGMAX + 12] ;
  char buf[4200] ;
  char const *base = strrchr(argv[0], '/') ;
  unsigned n = 0 ;
  int i = 1 ;
  PROG = "sendmail" ;
  find_dir() ;
  base = base ? base + 1 : argv[0] ;
  if (!strcmp(base, "mailq")) o.mode = 'p' ;
  for (; i < argc && argv[i][0] == '-' && argv[i][1] ; i++) {
    if (!strcmp(argv[i], "--")) { i++ ; break ; }
    word(&o, argv, argc, &i) ;
  }
  if (argc - i > ARGMAX) strerr_dief(EX_USAGE, "more than 10000 arguments") ;
  if (o.queue) return wake() ;
  if (o.mode == 's') smtp() ;
  if (o.mode == 'p') {
    char const *a[2] = { prog("queue-list", buf, sizeof buf), 0 } ;
    run(a) ;
  }
  args[n++] = prog("mail-inject", buf, sizeof buf) ;
  args[n++] = "-s" ;
  if (o.extract) args[n++] = "-t" ;
  if (o.dot) args[n++] = "-d" ;
  if (o.from) { args[n++] = "-f" ; args[n++] = o.from ; }
  if (o.name) { args[n++] = "-F" ; args[n++] = o.name ; }
  args[n++] = "--" ;
  for (; i < argc ; i++) args[n++] = argv[i] ;
  args[n] = 0 ;
  run(args) ;
}
