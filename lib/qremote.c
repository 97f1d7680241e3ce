#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "qjob.h"
#include "report.h"
#include "root.h"
#include "routes.h"
#include "qremote.h"
#include "qresult.h"

#define REPORT_READMAX (4u << 20)   /* bytes of a report read */

/* A FIFO of messages waiting for a slot (holds references). */
typedef struct wlist_s wlist ;
struct wlist_s { smsg **v ; size_t head, len, cap ; } ;

/* A domain with jobs running or messages waiting for it. */
struct qremote_dom_s {
  qremote_dom *next ;
  unsigned int active ;
  wlist w ;
  char name[] ;
} ;

static qremote_cfg cfg ;
static unsigned int nremote ;
static int remote_ok ;         /* mx-lookup and remote-send are in PATH */
static qremote_dom *doms ;
static wlist gwait ;           /* waiting because all slots are busy */
static routes R = ROUTES_ZERO ;
static struct stat rstat ;     /* etc/routes as last read; st_ino 0: none */
static stralloc rbad = STRALLOC_ZERO ;   /* why etc/routes is unusable, or empty */

void qremote_init(qremote_cfg const *c)
{
  cfg = *c ;
}

int qremote_check(void)
{
  int was = remote_ok ;
  remote_ok = qjob_inpath("remote-send") && qjob_inpath("mx-lookup") ;
  return remote_ok && !was ;
}

/* ---------- etc/routes ---------- */

static int samefile(struct stat const *a, struct stat const *b)
{
  return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size
      && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec ;
}

void qremote_routes(int force)
{
  stralloc path = STRALLOC_ZERO ;
  struct stat st ;
  unsigned int line ;
  char const *why ;
  if (!pm_path(&path, "etc/routes")) return ;
  if (stat(path.s, &st) < 0) {
    if (errno != ENOENT) { strerr_warnwusys("stat ", path.s) ; goto end ; }
    memset(&st, 0, sizeof st) ;
  }
  if (!force && samefile(&st, &rstat)) goto end ;
  rstat = st ;
  rbad.len = 0 ;
  if (!routes_read(&R, path.s, &line, &why)) {
    /* mail must not go around a relay that is required: defer it */
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, line)] = 0 ;
    if (!stralloc_cats(&rbad, "4.3.5 unusable etc/routes: ")
     || (line && !(stralloc_cats(&rbad, "line ") && stralloc_cats(&rbad, fmt) && stralloc_cats(&rbad, ": ")))
     || !stralloc_cats(&rbad, why ? why : strerror(errno)) || !stralloc_0(&rbad)) {
      rbad.len = 0 ;
      stralloc_cats(&rbad, "4.3.0 unable to read etc/routes") ;
      stralloc_0(&rbad) ;
    }
    strerr_warnw(rbad.s + 6, ": remote deliveries are deferred") ;
    memset(&rstat.st_mtim, 0, sizeof rstat.st_mtim) ;   /* try again next time */
  }
end:
  stralloc_free(&path) ;
}

/* ---------- domains and wait lists ---------- */

static char const *domof(char const *addr)
{
  char const *at = strrchr(addr, '@') ;
  return at ? at + 1 : addr ;
}

static int wpush(wlist *w, smsg *m)
{
  if (w->head == w->len) w->head = w->len = 0 ;
  if (w->len == w->cap) {
    if (w->head) {
      memmove(w->v, w->v + w->head, (w->len - w->head) * sizeof *w->v) ;
      w->len -= w->head ; w->head = 0 ;
    } else {
      size_t n = w->cap ? w->cap * 2 : 16 ;
      smsg **v = realloc(w->v, n * sizeof *v) ;
      if (!v) return 0 ;
      w->v = v ; w->cap = n ;
    }
  }
  w->v[w->len++] = m ;
  qsched_ref(m) ;
  return 1 ;
}

static smsg *wpop(wlist *w)
{
  return w->head < w->len ? w->v[w->head++] : 0 ;
}

static qremote_dom *dom_get(char const *name)
{
  for (qremote_dom *d = doms ; d ; d = d->next) if (!strcasecmp(d->name, name)) return d ;
  size_t n = strlen(name) ;
  qremote_dom *d = calloc(1, sizeof *d + n + 1) ;
  if (!d) return 0 ;
  memcpy(d->name, name, n + 1) ;
  d->next = doms ; doms = d ;
  return d ;
}

static void dom_gc(qremote_dom *d)
{
  if (d->active || d->w.head < d->w.len) return ;
  for (qremote_dom **p = &doms ; *p ; p = &(*p)->next)
    if (*p == d) { *p = d->next ; break ; }
  free(d->w.v) ;
  free(d) ;
}

/* A slot freed: give it to messages that waited (oldest first). */
static void wake_waiters(qremote_dom *d)
{
  smsg *m ;
  unsigned int k = d->active < cfg.dmax ? cfg.dmax - d->active : 0 ;
  while (k-- && (m = wpop(&d->w))) {
    for (uint32_t i = 0 ; i < m->q.nrcpt ; i++)
      if ((m->flags[i] & SF_DWAIT) && !strcasecmp(domof(m->q.rcpt[i].addr), d->name)) m->flags[i] &= ~SF_DWAIT ;
    qrun_ready(m) ;
    qsched_unref(m) ;
  }
  k = nremote < cfg.rmax ? cfg.rmax - nremote : 0 ;
  while (k-- && (m = wpop(&gwait))) {
    m->gwait = 0 ;
    qrun_ready(m) ;
    qsched_unref(m) ;
  }
}

/* ---------- starting jobs ---------- */

/* The command line of a job (argv has room for n + 16), into bufs. */
typedef struct cmdbufs_s cmdbufs ;
struct cmdbufs_s { char t[3][UINT_FMT] ; char r[ROUTE_FMT] ; char p[UINT16_FMT] ; } ;

static void build_argv(char const **argv, cmdbufs *b, char const *dom, route const *rt, smsg *m, uint32_t const *list, uint32_t n)
{
  static char const *const topt[3] = { "-t", "-T", "-D" } ;
  unsigned int const tval[3] = { cfg.ctimeout, cfg.rtimeout, cfg.dtimeout } ;
  unsigned int k = 0 ;
  if (rt->kind == ROUTE_NAME) { argv[k++] = "mx-lookup" ; argv[k++] = rt->host ; }
  else if (rt->kind == ROUTE_MX && dom[0] != '[') { argv[k++] = "mx-lookup" ; argv[k++] = dom ; }
  argv[k++] = "remote-send" ;
  for (unsigned int i = 0 ; i < 3 ; i++) {
    if (!tval[i]) continue ;
    b->t[i][uint_fmt(b->t[i], tval[i])] = 0 ;
    argv[k++] = topt[i] ; argv[k++] = b->t[i] ;
  }
  if (rt->kind == ROUTE_IP) { route_fmt(b->r, rt) ; argv[k++] = "-r" ; argv[k++] = b->r ; }
  if (rt->kind == ROUTE_NAME) { b->p[uint16_fmt(b->p, rt->port)] = 0 ; argv[k++] = "-p" ; argv[k++] = b->p ; }
  argv[k++] = dom ;
  argv[k++] = m->q.sender ;
  for (uint32_t i = 0 ; i < n ; i++) argv[k++] = m->q.rcpt[list[i]].addr ;
  argv[k] = 0 ;
}

static void start(smsg *m, qremote_dom *d, uint32_t const *list, uint32_t n, uint64_t now)
{
  char const **argv = calloc(n + 16, sizeof *argv) ;
  qremote_job rj = { .list = malloc(n * sizeof *list), .n = n, .dom = d, .report = qjob_memfd("", 0) } ;
  int fd0 = qrun_openmsg(m), ok = 0 ;
  route rt ;
  cmdbufs b ;
  routes_find(&R, d->name, &rt) ;
  rj.relayname = rt.kind == ROUTE_NAME ;
  if (argv && rj.list && fd0 >= 0 && rj.report >= 0) {
    memcpy(rj.list, list, n * sizeof *list) ;
    build_argv(argv, &b, d->name, &rt, m, list, n) ;
    ok = qrun_spawn_remote(m, argv, fd0, rj.report, &rj) ;
  }
  if (fd0 >= 0) close(fd0) ;
  free(argv) ;
  if (!ok) {
    if (rj.report >= 0) close(rj.report) ;
    free(rj.list) ;
    for (uint32_t i = 0 ; i < n ; i++) qrun_result(m, list[i], QJOB_TEMP, "4.3.0 unable to start remote delivery", now) ;
    return ;
  }
  for (uint32_t i = 0 ; i < n ; i++) m->flags[list[i]] |= SF_BUSY ;
  d->active++ ;
  nremote++ ;
}

/* Start jobs for one domain's due recipients v[0..n), within the limits;
   what cannot start waits in a list. 0 if all slots are busy. */
static int one_domain(smsg *m, uint32_t const *v, uint32_t n, uint64_t now)
{
  qremote_dom *d = dom_get(domof(m->q.rcpt[v[0]].addr)) ;
  if (!d) return 1 ;
  while (n && nremote < cfg.rmax && d->active < cfg.dmax) {
    uint32_t k = n < QREMOTE_RCPTMAX ? n : QREMOTE_RCPTMAX ;
    start(m, d, v, k, now) ;
    v += k ; n -= k ;
  }
  if (n && d->active >= cfg.dmax) {
    if (wpush(&d->w, m)) for (uint32_t i = 0 ; i < n ; i++) m->flags[v[i]] |= SF_DWAIT ;
  }
  dom_gc(d) ;
  return !n || nremote < cfg.rmax ;
}

static int bydomain(void const *a, void const *b, void *data)
{
  qrcpt const *r = data ;
  uint32_t x = *(uint32_t const *)a, y = *(uint32_t const *)b ;
  int c = strcasecmp(domof(r[x].addr), domof(r[y].addr)) ;
  return c ? c : x < y ? -1 : x > y ;
}

void qremote_dispatch(smsg *m, uint64_t now)
{
  uint32_t *v = 0, n = 0 ;
  for (uint32_t i = 0 ; i < m->q.nrcpt ; i++) {
    qrcpt const *r = &m->q.rcpt[i] ;
    if (m->flags[i] & (SF_BUSY | SF_DWAIT)) continue ;
    if (r->state != QR_PENDING && !(r->state == QR_TEMP && r->next <= now)) continue ;
    if (qrun_islocal(r->addr)) continue ;
    if (!remote_ok) {
      if (!(m->flags[i] & SF_NOTED)) {
        m->flags[i] |= SF_NOTED ;
        qrun_logrcpt(m, i, "queued", "remote delivery not available", now) ;
      }
      continue ;
    }
    if (rbad.len) { qrun_result(m, i, QJOB_TEMP, rbad.s, now) ; continue ; }
    if (!v && !(v = malloc(m->q.nrcpt * sizeof *v))) return ;
    v[n++] = i ;
  }
  if (!n) return ;
  qsort_r(v, n, sizeof *v, &bydomain, m->q.rcpt) ;
  for (uint32_t a = 0, b ; a < n ; a = b) {
    for (b = a + 1 ; b < n && !strcasecmp(domof(m->q.rcpt[v[a]].addr), domof(m->q.rcpt[v[b]].addr)) ; b++) ;
    if (!one_domain(m, v + a, b - a, now)) {
      if (!m->gwait && wpush(&gwait, m)) m->gwait = 1 ;
      break ;
    }
  }
  free(v) ;
}

/* ---------- ends ---------- */

/* The report in memfd fd, bounded. */
static int readreport(int fd, stralloc *sa)
{
  for (;;) {
    if (!stralloc_readyplus(sa, 65536)) return 0 ;
    ssize_t r = pread(fd, sa->s + sa->len, 65536, sa->len) ;
    if (r <= 0) return r == 0 ;
    sa->len += r ;
    if (sa->len >= REPORT_READMAX) return 1 ;
  }
}

void qremote_end(smsg *m, qremote_job *rj, int wstat, char const *errline, uint64_t now)
{
  stralloc rep = STRALLOC_ZERO, why = STRALLOC_ZERO ;
  report_entry *re = calloc(rj->n, sizeof *re), msg ;
  int parsed = re && readreport(rj->report, &rep) && report_parse(rep.s, rep.len, rj->n, re, &msg) ;
  for (uint32_t k = 0 ; k < rj->n ; k++) {
    char text[REPORT_TEXTMAX + 1], fb[128] ;
    char const *t ;
    size_t len ;
    int class ;
    if (parsed) {
      class = report_outcome(&re[k], &msg, &t, &len) ;
      if (len > REPORT_TEXTMAX) len = REPORT_TEXTMAX ;
      for (size_t i = 0 ; i < len ; i++) text[i] = (unsigned char)t[i] < 32 ? '?' : t[i] ;
      text[len] = 0 ;
      t = text ;
    } else {
      /* no report: mx-lookup failed, or remote-send died */
      class = WIFEXITED(wstat) && WEXITSTATUS(wstat) == 100 ? QJOB_PERM : QJOB_TEMP ;
      t = errline ;
      if (!*t) { qjob_statusreason(fb, sizeof fb, "remote-send", wstat, class) ; t = fb ; }
      if (rj->relayname && class == QJOB_PERM) {
        /* mx-lookup cannot find the relay of etc/routes: the operator's
           problem, not the recipient's; keep the mail */
        class = QJOB_TEMP ;
        why.len = 0 ;
        if (stralloc_cats(&why, "4.4.3 relay of etc/routes: ") && stralloc_cats(&why, t) && stralloc_0(&why)) t = why.s ;
      }
    }
    m->flags[rj->list[k]] &= ~SF_BUSY ;
    qrun_result(m, rj->list[k], class, t, now) ;
  }
  free(re) ;
  stralloc_free(&rep) ;
  stralloc_free(&why) ;
  close(rj->report) ;
  free(rj->list) ;
  rj->list = 0 ;
  nremote-- ;
  rj->dom->active-- ;
  wake_waiters(rj->dom) ;
  dom_gc(rj->dom) ;
  rj->dom = 0 ;
}
