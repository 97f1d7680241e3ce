#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "dsn.h"
#include "qjob.h"
#include "report.h"
#include "queue.h"
#include "root.h"
#include "qsched.h"
#include "users.h"
#include "qremote.h"
#include "qalias.h"
#include "qrun.h"
#include "qresult.h"
#include "qworker.h"

enum { J_FREE = 0, J_LOCAL, J_ALIAS, J_BOUNCE, J_REMOTE } ;

typedef struct job_s job ;
struct job_s {
  qjob j ;
  int kind ;
  smsg *m ;
  uint32_t idx ;          /* J_LOCAL, J_ALIAS: the recipient */
  uint32_t *list ;        /* J_BOUNCE: the recipients */
  uint32_t n ;
  qremote_job r ;         /* J_REMOTE */
  int poll ;              /* index in the iopause array, -1 if none */
} ;

static qrun_cfg cfg ;
static qsched S = QSCHED_ZERO ;
static users U = USERS_ZERO ;
static uint64_t uchecked ;
static job *jobs ;
static unsigned int njobs, nlocal ;
static int stopping ;

static void remote_check(void) ;

/* ---------- users ---------- */

void qrun_users(int force)
{
  uint64_t now = time(0) ;
  /* users.cdb at every round, not once a second: one stat. A user or a
     domain added a moment ago, whose mail smtp-recv already accepted, must
     not meet the table from before (a bounce, or a remote delivery). A
     missing users.cdb keeps the one loaded, quietly as before. */
  if (!users_refresh(&U, force) && errno != ENOENT) strerr_warnwusys("open etc/users.cdb") ;
  if (!force && now == uchecked) return ;
  uchecked = now ;
  if (force) remote_check() ;
  qremote_routes(force) ;
}

int qrun_islocal(char const *addr)
{
  char const *at = strrchr(addr, '@') ;
  return !at || users_isdomain(&U, at + 1, strlen(at + 1)) ;
}

/* ---------- jobs ---------- */

static job *job_new(void)
{
  for (unsigned int i = 0 ; i < cfg.lmax + cfg.rmax ; i++)
    if (jobs[i].kind == J_FREE) return &jobs[i] ;
  return 0 ;
}

/* The message file, open and positioned at the message. */
int qrun_openmsg(smsg *m)
{
  stralloc p = STRALLOC_ZERO ;
  int fd = -1 ;
  if (queue_path_msg(&p, m->q.id)) fd = open(p.s, O_RDONLY | O_CLOEXEC) ;
  stralloc_free(&p) ;
  if (fd >= 0 && lseek(fd, m->q.hdrlen, SEEK_SET) < 0) { close(fd) ; fd = -1 ; }
  return fd ;
}

static void job_started(job *jb, int kind, smsg *m)
{
  jb->kind = kind ;
  jb->m = m ;
  jb->poll = -1 ;
  m->inflight++ ;
  njobs++ ;
  if (kind != J_REMOTE) nlocal++ ;
}

/* Spawn argv for recipient i of m; fd0: its stdin (closed here), or -1 for
   the queued message; fd1 < 0: output pipe. 1 if started, else the failure
   is recorded as temporary. */
static int spawn_rcpt(smsg *m, uint32_t i, int kind, char const *const *argv, char const *const *env, unsigned int nenv, int fd0, int fd1, uint64_t now)
{
  job *jb = job_new() ;
  int ok = 0 ;
  if (fd0 < 0) fd0 = qrun_openmsg(m) ;
  if (jb && fd0 >= 0) ok = qjob_spawn(&jb->j, argv, env, nenv, fd0, fd1 >= 0 ? fd1 : -1) ;
  int e = errno ;
  if (fd0 >= 0) close(fd0) ;
  if (!ok) {
    stralloc why = STRALLOC_ZERO ;
    stralloc_cats(&why, fd0 < 0 ? "4.3.0 unable to open queue file: " : "4.3.0 unable to run ") ;
    if (fd0 >= 0) { stralloc_cats(&why, argv[0]) ; stralloc_cats(&why, ": ") ; }
    stralloc_cats(&why, strerror(e)) ;
    stralloc_0(&why) ;
    qrun_result(m, i, QJOB_TEMP, why.s ? why.s : "4.3.0 unable to start delivery", now) ;
    stralloc_free(&why) ;
    return 0 ;
  }
  jb->idx = i ;
  m->flags[i] |= SF_BUSY ;
  job_started(jb, kind, m) ;
  return 1 ;
}

int qrun_spawn_remote(smsg *m, char const *const *argv, int fd0, int fd1, qremote_job const *rj)
{
  job *jb = job_new() ;
  if (!jb) { errno = EAGAIN ; return 0 ; }
  if (!qjob_spawn(&jb->j, argv, 0, 0, fd0, fd1)) return 0 ;
  jb->r = *rj ;
  jb->j.forward = 1 ;   /* remote-send logs each connection: keep that */
  job_started(jb, J_REMOTE, m) ;
  return 1 ;
}

static void start_mailbox(smsg *m, uint32_t i, users_entry const *e, uint64_t now)
{
  stralloc path = STRALLOC_ZERO, ev = STRALLOC_ZERO ;
  char q[UINT64_FMT], arr[UINT64_FMT], idx[UINT32_FMT] ;
  char const *argv[5] ;
  unsigned int n = 0 ;
  q[uint64_fmt(q, e->quota)] = 0 ;
  arr[uint64_fmt(arr, m->q.arrival)] = 0 ;
  idx[uint32_fmt(idx, i)] = 0 ;
  if (!users_mailbox_path(&path, e->mailbox)) { qrun_result(m, i, QJOB_TEMP, "4.3.0 out of memory", now) ; return ; }
  argv[n++] = "maildir-deliver" ;
  /* always: 0 (none) must lift a limit an older maildirsize holds */
  argv[n++] = "-q" ; argv[n++] = q ;
  argv[n++] = path.s ;
  argv[n] = 0 ;
  /* "NAME=value\0" x 4, then pointers into ev */
  size_t o[4] ;
  o[0] = ev.len ; stralloc_cats(&ev, "SENDER=") ; stralloc_cats(&ev, m->q.sender) ; stralloc_0(&ev) ;
  o[1] = ev.len ; stralloc_cats(&ev, "RECIPIENT=") ; stralloc_cats(&ev, m->q.rcpt[i].addr) ; stralloc_0(&ev) ;
  o[2] = ev.len ; stralloc_cats(&ev, "DELIVERY_ID=") ; stralloc_cats(&ev, m->q.id) ; stralloc_cats(&ev, ".") ; stralloc_cats(&ev, idx) ; stralloc_0(&ev) ;
  o[3] = ev.len ; stralloc_cats(&ev, "QUEUE_ARRIVAL=") ; stralloc_cats(&ev, arr) ;
  if (!stralloc_0(&ev)) qrun_result(m, i, QJOB_TEMP, "4.3.0 out of memory", now) ;
  else {
    char const *env[4] = { ev.s + o[0], ev.s + o[1], ev.s + o[2], ev.s + o[3] } ;
    spawn_rcpt(m, i, J_LOCAL, argv, env, 4, -1, -1, now) ;
  }
  stralloc_free(&path) ;
  stralloc_free(&ev) ;
}

/* Envelope "Fsender\0Trcpt\0...\0" in a memfd, rcpts NUL-separated. */
static int envfd(char const *sender, char const *rcpts, size_t len)
{
  stralloc sa = STRALLOC_ZERO ;
  int fd = -1 ;
  int ok = stralloc_catb(&sa, "F", 1) && stralloc_cats(&sa, sender) && stralloc_0(&sa) ;
  for (size_t k = 0 ; ok && k < len ; k += strlen(rcpts + k) + 1)
    ok = stralloc_catb(&sa, "T", 1) && stralloc_cats(&sa, rcpts + k) && stralloc_0(&sa) ;
  if (ok && stralloc_0(&sa)) fd = qjob_memfd(sa.s, sa.len) ;
  stralloc_free(&sa) ;
  return fd ;
}

/* The alias's targets (NUL-separated in out) get the message again, with
   Delivered-To: the alias (lib/qalias). */
static void forward(smsg *m, uint32_t i, stralloc const *out, uint64_t now)
{
  char const *argv[2] = { "queue-inject", 0 } ;
  char const *alias = m->q.rcpt[i].addr ;
  int loop = 0, fd0 = -1, fd1, msg = qrun_openmsg(m) ;
  if (msg >= 0) { fd0 = qalias_message(msg, alias, &loop) ; close(msg) ; }
  if (fd0 < 0) {
    stralloc why = STRALLOC_ZERO ;
    int ok = loop ? stralloc_cats(&why, "5.4.6 mail forwarding loop: already delivered to ") && stralloc_cats(&why, alias)
                  : stralloc_cats(&why, "4.3.0 unable to copy the message for the alias: ") && stralloc_cats(&why, strerror(errno)) ;
    qrun_result(m, i, loop ? QJOB_PERM : QJOB_TEMP, ok && stralloc_0(&why) ? why.s : "4.3.0 out of memory", now) ;
    stralloc_free(&why) ;
    return ;
  }
  fd1 = envfd(m->q.sender, out->s, out->len) ;
  if (fd1 < 0) { close(fd0) ; qrun_result(m, i, QJOB_TEMP, "4.3.0 unable to write envelope", now) ; return ; }
  spawn_rcpt(m, i, J_ALIAS, argv, 0, 0, fd0, fd1, now) ;
  close(fd1) ;
}

static void start_alias(smsg *m, uint32_t i, uint64_t now)
{
  stralloc out = STRALLOC_ZERO ;
  char const *addr = m->q.rcpt[i].addr ;
  int n = users_resolve(&U, addr, strlen(addr), &out) ;
  if (n < 0) {
    qrun_result(m, i, errno == ELOOP ? QJOB_PERM : errno == E2BIG ? QJOB_PERM : QJOB_TEMP,
           errno == ELOOP ? "5.4.6 alias nested too deeply" : errno == E2BIG ? "5.3.4 alias expands to too many addresses" : "4.3.0 alias lookup failed", now) ;
  } else if (!n) {
    qrun_result(m, i, QJOB_PERM, "5.4.6 alias loop: no final address", now) ;
  } else forward(m, i, &out, now) ;
  stralloc_free(&out) ;
}

static void start_local(smsg *m, uint32_t i, uint64_t now)
{
  users_entry e ;
  char const *addr = m->q.rcpt[i].addr ;
  switch (users_lookup(&U, addr, strlen(addr), &e)) {
    case USERS_MAILBOX : start_mailbox(m, i, &e, now) ; break ;
    case USERS_ALIAS : start_alias(m, i, now) ; break ;
    case USERS_NONE : qrun_result(m, i, QJOB_PERM, "5.1.1 no such user here", now) ; break ;
    default : qrun_result(m, i, QJOB_TEMP, "4.3.0 users database lookup failed", now) ; break ;
  }
}

/* ---------- bounces ---------- */

static int bounce_pending(smsg const *m)
{
  for (uint32_t i = 0 ; i < m->q.nrcpt ; i++)
    if (m->q.rcpt[i].state == QR_FAILED) return 1 ;
  return 0 ;
}

/* Build the DSN into two memfds (message, envelope). 1 ok. */
static int bounce_make(smsg *m, uint32_t const *list, uint32_t n, char const *to, char const *bsender, uint64_t now, int *fds)
{
  stralloc hdr = STRALLOC_ZERO, out = STRALLOC_ZERO ;
  dsn_rcpt *dr = calloc(n, sizeof *dr) ;
  int ok = 0, fd = qrun_openmsg(m) ;
  fds[0] = fds[1] = -1 ;
  if (!dr || fd < 0 || !dsn_readheaders(&hdr, fd, m->q.hdrlen)) goto end ;
  for (uint32_t k = 0 ; k < n ; k++) {
    dr[k].addr = m->q.rcpt[list[k]].addr ;
    dr[k].reason = m->q.reasons.s + m->q.rcpt[list[k]].reason ;
  }
  dsn d = { .me = pm_me(), .qid = m->q.id, .sender = m->q.sender, .to = to, .arrival = m->q.arrival,
            .now = now, .rcpt = dr, .n = n, .hdr = hdr.s, .hdrlen = hdr.len } ;
  if (!dsn_build(&out, &d)) goto end ;
  fds[0] = qjob_memfd(out.s, out.len) ;
  fds[1] = envfd(bsender, to, strlen(to) + 1) ;
  ok = fds[0] >= 0 && fds[1] >= 0 ;
end:
  if (fd >= 0) close(fd) ;
  free(dr) ;
  stralloc_free(&hdr) ;
  stralloc_free(&out) ;
  return ok ;
}

static void start_bounce(smsg *m, uint64_t now)
{
  stralloc to = STRALLOC_ZERO ;
  char const *bsender = "" ;
  uint32_t *list = malloc(m->q.nrcpt * sizeof *list), n = 0 ;
  int fds[2] = { -1, -1 } ;
  int r = dsn_route(&to, &bsender, m->q.sender) ;
  if (!list) r = -1 ;
  else for (uint32_t i = 0 ; i < m->q.nrcpt ; i++)
    if (m->q.rcpt[i].state == QR_FAILED) list[n++] = i ;
  if (!r) {    /* a failed double bounce: nobody left to tell */
    qrun_bounced(m, list, n, "dropped", now) ;
    goto end ;
  }
  if (r > 0 && bounce_make(m, list, n, to.s, bsender, now, fds)) {
    job *jb = job_new() ;
    char const *argv[2] = { "queue-inject", 0 } ;
    if (jb && qjob_spawn(&jb->j, argv, 0, 0, fds[0], fds[1])) {
      jb->list = list ; jb->n = n ; list = 0 ;
      job_started(jb, J_BOUNCE, m) ;
      goto end ;
    }
  }
  strerr_warnwusys("start a bounce for ", m->q.id) ;
  m->bounceat = now + cfg.retrymin ;
end:
  if (fds[0] >= 0) close(fds[0]) ;
  if (fds[1] >= 0) close(fds[1]) ;
  free(list) ;
  stralloc_free(&to) ;
}

/* ---------- scheduling ---------- */

void qrun_ready(smsg *m) { qsched_ready(&S, m) ; }

static void ready1(qsched *s, smsg *m, void *data)
{
  (void)data ;
  qsched_ready(s, m) ;
}

/* Recipients that waited for remote delivery to exist are due. */
static void remote_check(void)
{
  if (qremote_check()) qsched_each(&S, &ready1, 0) ;
}

/* Start the due work of m. 0 if blocked by the concurrency limit (m stays
   at the head of the ready FIFO), 1 when done with it for now. */
static int dispatch(smsg *m, uint64_t now)
{
  uint64_t wake = UINT64_MAX ;
  /* remote first: it never blocks (waiters go to wait lists) */
  if (!stopping) qremote_dispatch(m, now) ;
  for (uint32_t i = 0 ; !stopping && i < m->q.nrcpt ; i++) {
    qrcpt const *r = &m->q.rcpt[i] ;
    if (m->flags[i] & SF_BUSY) continue ;
    if (r->state == QR_TEMP && r->next > now) { if (r->next < wake) wake = r->next ; continue ; }
    if (r->state != QR_PENDING && r->state != QR_TEMP) continue ;
    if (!qrun_islocal(r->addr)) continue ;
    if (nlocal >= cfg.lmax) return 0 ;
    start_local(m, i, now) ;
  }
  if (!stopping && bounce_pending(m)) {
    if (m->bounceat > now) { if (m->bounceat < wake) wake = m->bounceat ; }
    else if (!m->inflight) {
      if (nlocal >= cfg.lmax) return 0 ;
      start_bounce(m, now) ;
      if (m->bounceat > now && m->bounceat < wake) wake = m->bounceat ;
    }
  }
  if (!m->inflight && queue_msg_finished(&m->q)) {
    if (queue_remove(m->q.id)) { qsched_remove(&S, m) ; return 1 ; }
    strerr_warnwusys("remove ", m->q.id) ;
    if (now + cfg.retrymin < wake) wake = now + cfg.retrymin ;
  }
  if (wake != UINT64_MAX && !qsched_at(&S, m, wake)) strerr_warnwu("schedule ", m->q.id, ": out of memory") ;
  return 1 ;
}

void qrun_dispatch(uint64_t now)
{
  smsg *m ;
  qrun_users(0) ;
  qsched_expire(&S, now) ;
  while ((m = qsched_peek(&S))) {
    if (!dispatch(m, now)) break ;
    qsched_pop(&S) ;
  }
}

void qrun_stop(void) { stopping = 1 ; }
uint64_t qrun_next(void) { return qsched_next(&S) ; }
unsigned int qrun_running(void) { return njobs ; }

static void alarm1(qsched *s, smsg *m, void *data)
{
  uint64_t now = *(uint64_t *)data ;
  int any = 0 ;
  for (uint32_t i = 0 ; i < m->q.nrcpt ; i++)
    if (m->q.rcpt[i].state == QR_TEMP) { m->q.rcpt[i].next = now ; any = 1 ; }
  if (m->bounceat) { m->bounceat = 0 ; any = 1 ; }
  if (any) qsched_ready(s, m) ;
}

void qrun_alarm(uint64_t now)
{
  qsched_each(&S, &alarm1, &now) ;
}

/* ---------- loading ---------- */

void qrun_load(char const *id)
{
  qmsg q = QMSG_ZERO ;
  char sz[UINT64_FMT], n[UINT32_FMT] ;
  if (qsched_find(&S, id)) return ;
  int r = queue_load(&q, id, 0) ;
  if (r <= 0) {
    if (r < 0) strerr_warnwusys("load ", id) ;
    queue_free(&q) ;
    return ;
  }
  smsg *m = qsched_add(&S, &q) ;
  if (!m) { strerr_warnwu("load ", id, ": out of memory") ; queue_free(&q) ; return ; }
  sz[uint64_fmt(sz, m->q.size)] = 0 ;
  n[uint32_fmt(n, m->q.nrcpt)] = 0 ;
  LOG(m, " new from=<", m->q.sender, "> size=", sz, " rcpts=", n, "", "") ;
}

static void load1(char const *id, void *data)
{
  (void)data ;
  qrun_load(id) ;
}

/* State logs whose message is gone (a crash inside queue_remove). */
static void sweep_states(void)
{
  stralloc p = STRALLOC_ZERO ;
  struct stat st ;
  if (!queue_path(&p, "state")) return ;
  DIR *d = opendir(p.s) ;
  struct dirent *e ;
  while (d && (e = readdir(d))) {
    if (!qsched_idvalid(e->d_name, strlen(e->d_name)) || qsched_find(&S, e->d_name)) continue ;
    if (!queue_path_msg(&p, e->d_name) || stat(p.s, &st) == 0 || errno != ENOENT) continue ;
    if (queue_path_state(&p, e->d_name)) unlink(p.s) ;
  }
  if (d) closedir(d) ;
  stralloc_free(&p) ;
}

void qrun_scan(void)
{
  if (!qsched_scan(&load1, 0)) strerr_warnwusys("scan the queue") ;
  sweep_states() ;
}

/* ---------- job ends ---------- */

static void job_end(job *jb, int wstat, uint64_t now)
{
  smsg *m = jb->m ;
  char fb[128] ;
  qjob_finish(&jb->j) ;
  char const *reason = qjob_reason(&jb->j) ;
  if (jb->kind == J_REMOTE) qremote_end(m, &jb->r, wstat, reason, now) ;
  else {
    int class = jb->kind == J_LOCAL ? qjob_class_delivery(wstat) : qjob_class_inject(wstat) ;
    if (class != QJOB_OK && !*reason) {
      qjob_statusreason(fb, sizeof fb, jb->kind == J_LOCAL ? "maildir-deliver" : "queue-inject", wstat, class) ;
      reason = fb ;
    }
    if (jb->kind == J_BOUNCE) {
      if (class == QJOB_OK) qrun_bounced(m, jb->list, jb->n, "bounced", now) ;
      else {
        LOG(m, " bounce=failed reason=\"", reason, "\"", "") ;
        m->bounceat = now + cfg.retrymin ;
      }
    } else {
      m->flags[jb->idx] &= ~SF_BUSY ;
      qrun_result(m, jb->idx, class, class == QJOB_OK ? (jb->kind == J_ALIAS ? "forwarded" : "") : reason, now) ;
    }
    nlocal-- ;
  }
  free(jb->list) ; jb->list = 0 ;
  m->inflight-- ;
  njobs-- ;
  jb->kind = J_FREE ;
  qsched_ready(&S, m) ;
}

/* The job that pid (a child, or a delivery worker) stands for has ended. */
static uint64_t done_now ;
static void job_done(pid_t pid, int wstat)
{
  for (unsigned int i = 0 ; i < cfg.lmax + cfg.rmax ; i++)
    if (jobs[i].kind != J_FREE && jobs[i].j.pid == pid) { job_end(&jobs[i], wstat, done_now) ; break ; }
}

void qrun_reap(uint64_t now)
{
  int wstat ;
  pid_t pid ;
  done_now = now ;
  while ((pid = wait_nohang(&wstat)) > 0) qworker_reaped(pid, wstat, &job_done) ;
}

static unsigned int wfirst ;   /* where the workers' fds start in the poll array */

unsigned int qrun_pollfds(iopause_fd *x, unsigned int max)
{
  unsigned int n = 0 ;
  for (unsigned int i = 0 ; i < cfg.lmax + cfg.rmax ; i++) {
    job *jb = &jobs[i] ;
    jb->poll = -1 ;
    if (jb->kind == J_FREE || jb->j.fd < 0 || n >= max) continue ;
    x[n].fd = jb->j.fd ; x[n].events = IOPAUSE_READ ; x[n].revents = 0 ;
    jb->poll = n++ ;
  }
  wfirst = n ;
  return n + qworker_pollfds(x + n, max - n) ;
}

void qrun_pollread(iopause_fd const *x)
{
  for (unsigned int i = 0 ; i < cfg.lmax + cfg.rmax ; i++) {
    job *jb = &jobs[i] ;
    if (jb->kind != J_FREE && jb->poll >= 0 && x[jb->poll].revents) qjob_read(&jb->j) ;
  }
  done_now = (uint64_t)time(0) ;
  qworker_pollread(x + wfirst, &job_done) ;
}

int qrun_init(qrun_cfg const *c)
{
  cfg = *c ;
  if (!cfg.lmax) cfg.lmax = 1 ;
  qremote_cfg rc = { .rmax = cfg.rmax, .dmax = cfg.dmax ? cfg.dmax : 1, .ctimeout = cfg.ctimeout,
                     .rtimeout = cfg.rtimeout, .dtimeout = cfg.dtimeout } ;
  qremote_init(&rc) ;
  qresult_init(cfg.retrymin, cfg.retrymax, cfg.lifetime) ;
  jobs = calloc(cfg.lmax + cfg.rmax, sizeof *jobs) ;
  if (!jobs) return 0 ;
  qworker_init(cfg.lmax, cfg.wjobs, 1) ;
  qrun_users(1) ;
  return U.c.map != 0 ;
}
