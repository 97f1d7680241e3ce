/* queue-list: show the queue to an operator. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <skalibs/buffer.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "qsched.h"
#include "queue.h"
#include "users.h"

#define USAGE "queue-list [-s] [-i ID]"

typedef struct ent_s ent ;
struct ent_s { uint64_t arrival ; char id[QUEUE_IDLEN + 1] ; } ;

static ent *ents ;
static size_t nents, capents ;
static users U = USERS_ZERO ;
static int uok ;
static uint64_t now ;

enum { ST_PENDING, ST_REMOTE, ST_DEFERRED, ST_FAILED, ST_BOUNCED, ST_DELIVERED, ST_N } ;
static char const *const stname[ST_N] = { "pending", "remote", "deferred", "failed", "bounced", "delivered" } ;
static uint64_t count[ST_N], nmsg, nrcpt, oldest ;

static void out(char const *s)
{
  if (buffer_puts(buffer_1, s) < 0) strerr_diefusys(111, "write to stdout") ;
}

static void outu(uint64_t u)
{
  char fmt[UINT64_FMT] ;
  fmt[uint64_fmt(fmt, u)] = 0 ;
  out(fmt) ;
}

/* Printable ASCII only, quotes made single: texts come from the queue. */
static void outsafe(char const *s)
{
  char buf[1024] ;
  size_t n = 0 ;
  for (; *s && n < sizeof buf - 1 ; s++) {
    unsigned char c = *s ;
    buf[n++] = c == '"' ? '\'' : c < 32 || c > 126 ? '?' : c ;
  }
  buf[n] = 0 ;
  out(buf) ;
}

/* A duration as "3d04h", "2h03m", "5m12s" or "42s". */
static void outdur(uint64_t s)
{
  char fmt[UINT64_FMT + 8] ;
  uint64_t a, b ;
  char const *ua, *ub ;
  if (s >= 86400) { a = s / 86400 ; b = s % 86400 / 3600 ; ua = "d" ; ub = "h" ; }
  else if (s >= 3600) { a = s / 3600 ; b = s % 3600 / 60 ; ua = "h" ; ub = "m" ; }
  else if (s >= 60) { a = s / 60 ; b = s % 60 ; ua = "m" ; ub = "s" ; }
  else { outu(s) ; out("s") ; return ; }
  size_t n = uint64_fmt(fmt, a) ;
  fmt[n++] = ua[0] ;
  fmt[n++] = '0' + b / 10 ; fmt[n++] = '0' + b % 10 ;
  fmt[n++] = ub[0] ; fmt[n] = 0 ;
  out(fmt) ;
}

static int rstate(qrcpt const *r)
{
  switch (r->state) {
    case QR_TEMP : return ST_DEFERRED ;
    case QR_FAILED : return ST_FAILED ;
    case QR_BOUNCED : return ST_BOUNCED ;
    case QR_DONE : return ST_DELIVERED ;
    default : break ;
  }
  char const *at = strrchr(r->addr, '@') ;
  if (uok && at && !users_isdomain(&U, at + 1, strlen(at + 1))) return ST_REMOTE ;
  return ST_PENDING ;
}

static void show(qmsg const *m)
{
  out(m->id) ; out(" age=") ; outdur(now > m->arrival ? now - m->arrival : 0) ;
  out(" size=") ; outu(m->size) ;
  out(" from=<") ; outsafe(m->sender) ; out(">") ;
  out(" rcpts=") ; outu(m->nrcpt) ; out("\n") ;
  for (uint32_t i = 0 ; i < m->nrcpt ; i++) {
    qrcpt const *r = &m->rcpt[i] ;
    out("  <") ; outsafe(r->addr) ; out("> ") ; out(stname[rstate(r)]) ;
    out(" attempts=") ; outu(r->attempts) ;
    if (r->state == QR_TEMP) {
      out(" next=") ;
      if (r->next > now) { out("in ") ; outdur(r->next - now) ; } else out("now") ;
    }
    if (r->attempts && r->last) { out(" last=") ; outdur(now > r->last ? now - r->last : 0) ; out(" ago") ; }
    if (r->reason && m->reasons.s[r->reason]) { out(" reason=\"") ; outsafe(m->reasons.s + r->reason) ; out("\"") ; }
    out("\n") ;
  }
}

static void tally(qmsg const *m)
{
  nmsg++ ;
  nrcpt += m->nrcpt ;
  if (now > m->arrival && now - m->arrival > oldest) oldest = now - m->arrival ;
  for (uint32_t i = 0 ; i < m->nrcpt ; i++) count[rstate(&m->rcpt[i])]++ ;
}

/* 1 shown, 0 gone, -1 error. */
static int one(char const *id, int summary)
{
  qmsg m = QMSG_ZERO ;
  int r = queue_load(&m, id, 0) ;
  if (r < 0) strerr_warnwusys("load ", id) ;
  else if (r > 0) { if (summary) tally(&m) ; else show(&m) ; }
  queue_free(&m) ;
  return r ;
}

static void collect(char const *id, void *data)
{
  qmsg m = QMSG_ZERO ;
  (void)data ;
  if (queue_load(&m, id, 0) > 0) {
    if (nents == capents) {
      capents = capents ? capents * 2 : 256 ;
      ents = realloc(ents, capents * sizeof *ents) ;
      if (!ents) strerr_diefu(111, "allocate") ;
    }
    ents[nents].arrival = m.arrival ;
    strcpy(ents[nents++].id, id) ;
  }
  queue_free(&m) ;
}

static int bytime(void const *a, void const *b)
{
  ent const *x = a, *y = b ;
  return x->arrival < y->arrival ? -1 : x->arrival > y->arrival ? 1 : strcmp(x->id, y->id) ;
}

int main(int argc, char const *const *argv)
{
  int summary = 0 ;
  char const *only = 0 ;
  PROG = "queue-list" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;) {
      int opt = subgetopt_r(argc, argv, "si:", &l) ;
      if (opt == -1) break ;
      switch (opt) {
        case 's' : summary = 1 ; break ;
        case 'i' : only = l.arg ; break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    if (l.ind != argc) strerr_dieusage(100, USAGE) ;
  }
  now = time(0) ;
  uok = users_open(&U) ;
  if (only) {
    if (!qsched_idvalid(only, strlen(only))) strerr_dief(100, "invalid queue id: ", only) ;
    int r = one(only, summary) ;
    if (!r) strerr_dief(100, "no message ", only, " in the queue") ;
    if (r < 0) return 111 ;
  } else {
    if (!qsched_scan(&collect, 0)) strerr_diefusys(111, "scan the queue") ;
    if (nents) qsort(ents, nents, sizeof *ents, &bytime) ;
    for (size_t i = 0 ; i < nents ; i++) one(ents[i].id, summary) ;
  }
  if (summary) {
    out("messages=") ; outu(nmsg) ; out(" recipients=") ; outu(nrcpt) ;
    for (int s = 0 ; s < ST_N ; s++) { out(" ") ; out(stname[s]) ; out("=") ; outu(count[s]) ; }
    out(" oldest=") ; outu(oldest) ; out("s\n") ;
  }
  if (!buffer_flush(buffer_1)) strerr_diefusys(111, "write to stdout") ;
  return 0 ;
}
