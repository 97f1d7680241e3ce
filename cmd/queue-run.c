/* queue-run: the queue's scheduler. Loads the queue, is woken by
   queue-inject through the trigger FIFO, runs deliveries (lib/qrun, remote
   ones through lib/qremote), retries and bounces. Long-running, under s6. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include "mdeliver.h"
#include "qjob.h"
#include "qrun.h"
#include "queue.h"
#include "root.h"
#include "qsched.h"

#define USAGE "queue-run [-l LOCAL] [-r REMOTE] [-R PERDOMAIN] [-j JOBS]"
#define RESCAN_EVERY 600           /* seconds: belt and braces for lost triggers */
#define TMP_MAXAGE (36 * 3600)     /* queue/tmp files older than this are debris */
#define FIFO_FULL 60000            /* a read this big: writes may have been lost */
#define JOBMAX 500
#define POLLMAX (2 + 2 * JOBMAX)

static int stopping ;
static int rescan ;
static char line[QUEUE_IDLEN + 2] ;
static size_t linelen ;
static int skipping ;              /* inside an overlong line */

static uint64_t now_ms(void)
{
  struct timespec ts ;
  clock_gettime(CLOCK_REALTIME, &ts) ;
  return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 ;
}

/* remote-send's time limits, from the environment; 0: its defaults. */
static unsigned int env_secs(char const *name)
{
  unsigned long u = pm_env_ulong(name, 0) ;
  if (u > 86400) strerr_dief(100, name, " is more than 86400 seconds") ;
  return u ;
}

/* 1..JOBMAX: every job's pipe must fit in the iopause array. */
static unsigned int opt_uint(char const *s)
{
  unsigned int u ;
  if (!*s || s[uint_scan(s, &u)] || !u) strerr_dieusage(100, USAGE) ;
  if (u > JOBMAX) strerr_dief(100, "at most 500 jobs of a kind") ;
  return u ;
}

static void trigger_line(void)
{
  if (linelen == 1 && line[0] == '!') {   /* queue_wake: sendmail -q */
    qrun_alarm(now_ms() / 1000) ;
    rescan = 1 ;
  }
  else if (linelen && qsched_idvalid(line, linelen)) {
    line[linelen] = 0 ;
    qrun_load(line) ;
  }
  linelen = 0 ;
}

/* "ID\n" lines from queue-inject; bounded; garbage is skipped. */
static void read_trigger(int fd)
{
  static char buf[65536] ;
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf) ;
    if (r < 0 && errno == EINTR) continue ;
    if (r <= 0) return ;
    if (r >= FIFO_FULL) rescan = 1 ;
    for (ssize_t i = 0 ; i < r ; i++) {
      if (buf[i] == '\n') { if (!skipping) trigger_line() ; skipping = 0 ; linelen = 0 ; }
      else if (skipping) continue ;
      else if (linelen > QUEUE_IDLEN) { skipping = 1 ; linelen = 0 ; }
      else line[linelen++] = buf[i] ;
    }
  }
}

static void handle_signals(void)
{
  for (;;) {
    int sig = selfpipe_read() ;
    switch (sig) {
      case -1 : strerr_diefusys(111, "selfpipe_read") ;
      case 0 : return ;
      case SIGCHLD : qrun_reap(now_ms() / 1000) ; break ;
      case SIGALRM : qrun_alarm(now_ms() / 1000) ; break ;
      case SIGTERM : stopping = 1 ; qrun_stop() ; break ;
      case SIGHUP : qrun_users(1) ; break ;
      default : break ;
    }
  }
}

static void open_trigger(int *rfd, int *wfd)
{
  stralloc p = STRALLOC_ZERO ;
  if (!queue_path(&p, "trigger")) strerr_diefu(111, "allocate") ;
  *rfd = open(p.s, O_RDONLY | O_NONBLOCK | O_CLOEXEC) ;
  if (*rfd < 0) strerr_diefusys(111, "open ", p.s) ;
  /* Our own writer: the FIFO then never reports EOF between injections. */
  *wfd = open(p.s, O_WRONLY | O_NONBLOCK | O_CLOEXEC) ;
  if (*wfd < 0) strerr_diefusys(111, "open ", p.s, " for writing") ;
  stralloc_free(&p) ;
}

/* One queue-run per queue: two would deliver everything twice. */
static void lock_queue(void)
{
  stralloc p = STRALLOC_ZERO ;
  if (!queue_path(&p, "lock")) strerr_diefu(111, "allocate") ;
  int fd = open(p.s, O_RDWR | O_CREAT | O_CLOEXEC, 0600) ;
  if (fd < 0) strerr_diefusys(111, "open ", p.s) ;
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) strerr_dief(111, "another queue-run is running on ", p.s) ;
    strerr_diefusys(111, "lock ", p.s) ;
  }
  stralloc_free(&p) ;   /* fd stays open: the lock lives as long as we do */
}

static void housekeeping(uint64_t now)
{
  unsigned int n = qsched_cleantmp(now, TMP_MAXAGE) ;
  if (n) {
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, n)] = 0 ;
    strerr_warni("removed ", fmt, " stale files from queue/tmp") ;
  }
  qrun_scan() ;
  rescan = 0 ;
}

int main(int argc, char const *const *argv)
{
  qrun_cfg cfg = { .lmax = 20, .rmax = 20, .dmax = 5 } ;
  static iopause_fd x[POLLMAX] ;
  int rfd, wfd, spfd ;
  PROG = "queue-run" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;) {
      int opt = subgetopt_r(argc, argv, "l:r:R:j:", &l) ;
      if (opt == -1) break ;
      switch (opt) {
        case 'l' : cfg.lmax = opt_uint(l.arg) ; break ;
        case 'r' : cfg.rmax = opt_uint(l.arg) ; break ;
        case 'R' : cfg.dmax = opt_uint(l.arg) ; break ;
        case 'j' :
          if (!*l.arg || l.arg[uint_scan(l.arg, &cfg.wjobs)] || !cfg.wjobs) strerr_dieusage(100, USAGE) ;
          break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    if (l.ind != argc) strerr_dieusage(100, USAGE) ;
  }
  cfg.retrymin = pm_env_ulong("QUEUE_RETRY_MIN", 60) ;
  cfg.retrymax = pm_env_ulong("QUEUE_RETRY_MAX", 3600) ;
  cfg.lifetime = pm_env_ulong("QUEUE_LIFETIME", 432000) ;
  if (cfg.retrymax < cfg.retrymin) cfg.retrymax = cfg.retrymin ;
  cfg.ctimeout = env_secs("REMOTE_CONNECT_TIMEOUT") ;
  cfg.rtimeout = env_secs("REMOTE_TIMEOUT") ;
  cfg.dtimeout = env_secs("REMOTE_DATA_TIMEOUT") ;
  /* local deliveries run maildir-deliver's code in delivery workers
     instead of exec'ing it (an exec is most of a delivery's CPU time);
     same contract. QUEUE_EXEC_AGENTS makes queue-run exec the programs
     found in PATH. */
  if (!getenv("QUEUE_EXEC_AGENTS")) qjob_builtin("maildir-deliver", &mdeliver_main) ;

  if (!queue_init_dirs()) strerr_diefusys(111, "create the queue directories under ", pm_root()) ;
  lock_queue() ;
  open_trigger(&rfd, &wfd) ;
  spfd = selfpipe_init() ;
  if (spfd < 0) strerr_diefusys(111, "selfpipe_init") ;
  if (!sig_ignore(SIGPIPE)) strerr_diefusys(111, "ignore SIGPIPE") ;
  {
    sigset_t set ;
    sigemptyset(&set) ;
    sigaddset(&set, SIGCHLD) ; sigaddset(&set, SIGALRM) ;
    sigaddset(&set, SIGTERM) ; sigaddset(&set, SIGHUP) ;
    if (!selfpipe_trapset(&set)) strerr_diefusys(111, "trap signals") ;
  }
  if (!qrun_init(&cfg)) strerr_diefusys(111, "open ", pm_root(), "/etc/users.cdb") ;
  uint64_t rescan_at = now_ms() / 1000 + RESCAN_EVERY ;
  housekeeping(rescan_at - RESCAN_EVERY) ;
  strerr_warni("started") ;
  for (;;) {
    uint64_t ms = now_ms(), now = ms / 1000 ;
    if (!stopping && (rescan || now >= rescan_at)) { housekeeping(now) ; rescan_at = now + RESCAN_EVERY ; }
    qrun_dispatch(now) ;
    if (stopping && !qrun_running()) { qrun_logflush() ; break ; }

    unsigned int n = 0 ;
    x[n].fd = spfd ; x[n++].events = IOPAUSE_READ ;
    if (!stopping) { x[n].fd = rfd ; x[n++].events = IOPAUSE_READ ; }
    unsigned int jfirst = n ;
    n += qrun_pollfds(x + n, POLLMAX - n) ;

    uint64_t next = qrun_next() ;
    if (next > rescan_at) next = rescan_at ;
    uint64_t wait = stopping ? 1000 : next * 1000 > ms ? next * 1000 - ms : 0 ;
    if (wait > RESCAN_EVERY * 1000) wait = RESCAN_EVERY * 1000 ;
    tain deadline, tto ;
    tain_now_g() ;
    tain_from_millisecs(&tto, (int)wait) ;
    tain_add_g(&deadline, &tto) ;
    qrun_logflush() ;
    int r = iopause_g(x, n, &deadline) ;
    if (r < 0) { if (errno == EINTR) continue ; strerr_diefusys(111, "iopause") ; }
    if (!r) continue ;
    if (x[0].revents) handle_signals() ;
    if (!stopping && jfirst == 2 && x[1].revents) read_trigger(rfd) ;
    qrun_pollread(x + jfirst) ;
  }
  strerr_warni("stopped") ;
  close(wfd) ;
  return 0 ;
}
