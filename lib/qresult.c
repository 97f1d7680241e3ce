/* queue-run's record of results: a recipient's outcome into its message's
   state log and its log line (lib/qrun and lib/qremote call it). */
#include <errno.h>
#include <string.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "qjob.h"
#include "queue.h"
#include "qresult.h"

static struct { uint64_t retrymin, retrymax, lifetime ; } C ;

void qresult_init(uint64_t retrymin, uint64_t retrymax, uint64_t lifetime)
{
  C.retrymin = retrymin ;
  C.retrymax = retrymax ;
  C.lifetime = lifetime ;
}

/* ---------- logging ---------- */

/* Append s for a log line: no quotes, no control bytes, bounded. */
static void cat_logsafe(stralloc *sa, char const *s)
{
  for (size_t n = 0 ; *s && n < 1000 ; s++, n++) {
    unsigned char c = *s ;
    char o = c == '"' ? '\'' : c < 32 || c > 126 ? '?' : c ;
    stralloc_catb(sa, &o, 1) ;
  }
}

/* The lines of one turn of the main loop, written at once when it is
   about to wait (qrun_logflush): under load that is one write, and one
   wake-up of the logger, for the lines of several messages. */
#define LOGBUF_MAX 16384
static stralloc logbuf = STRALLOC_ZERO ;

void qrun_logflush(void)
{
  if (logbuf.len && allwrite(2, logbuf.s, logbuf.len) < logbuf.len) {}
  logbuf.len = 0 ;
}

void qrun_log(smsg *m, char const *const *v, unsigned int n)
{
  size_t start = logbuf.len ;
  int ok = stralloc_cats(&logbuf, PROG) && stralloc_cats(&logbuf, ": info: id=") && stralloc_cats(&logbuf, m->q.id) ;
  for (unsigned int i = 0 ; ok && i < n ; i++) {
    /* odd items are values, made safe */
    if (i & 1) cat_logsafe(&logbuf, v[i]) ; else ok = stralloc_cats(&logbuf, v[i]) ;
  }
  if (!ok || !stralloc_catb(&logbuf, "\n", 1)) logbuf.len = start ;
  if (logbuf.len >= LOGBUF_MAX) qrun_logflush() ;
}

void qrun_logrcpt(smsg *m, uint32_t i, char const *status, char const *reason, uint64_t now)
{
  char d[UINT64_FMT], a[UINT32_FMT] ;
  qrcpt const *r = &m->q.rcpt[i] ;
  d[uint64_fmt(d, now > m->q.arrival ? now - m->q.arrival : 0)] = 0 ;
  a[uint32_fmt(a, r->attempts)] = 0 ;
  LOG(m, " rcpt=<", r->addr, "> status=", status, " delay=", d, "s attempts=", a, " reason=\"", reason, "\"") ;
}

/* ---------- recipients' state ---------- */

/* Rebuild q->reasons with the live texts only (but recipient i's). */
static void compact(qmsg *q, uint32_t i)
{
  stralloc ns = STRALLOC_ZERO ;
  size_t total = 1 ;
  q->rcpt[i].reason = 0 ;
  for (uint32_t k = 0 ; k < q->nrcpt ; k++)
    if (q->rcpt[k].reason) total += strlen(q->reasons.s + q->rcpt[k].reason) + 1 ;
  if (!stralloc_ready(&ns, total)) return ;
  ns.s[ns.len++] = 0 ;
  for (uint32_t k = 0 ; k < q->nrcpt ; k++) {
    if (!q->rcpt[k].reason) continue ;
    size_t n = strlen(q->reasons.s + q->rcpt[k].reason) + 1 ;
    memcpy(ns.s + ns.len, q->reasons.s + q->rcpt[k].reason, n) ;
    q->rcpt[k].reason = ns.len ;
    ns.len += n ;
  }
  stralloc_free(&q->reasons) ;
  q->reasons = ns ;
}

/* Store a reason for recipient i, reusing its slot when it fits, and
   compacting q.reasons when dead texts pile up (long-deferred messages). */
static void setreason(qmsg *q, uint32_t i, char const *text)
{
  size_t n = strlen(text) ;
  qrcpt *r = &q->rcpt[i] ;
  if (!n) { r->reason = 0 ; return ; }
  if (r->reason && strlen(q->reasons.s + r->reason) >= n) {
    memcpy(q->reasons.s + r->reason, text, n + 1) ;
    return ;
  }
  if (q->reasons.len > 4096 + (size_t)q->nrcpt * 2048) compact(q, i) ;
  size_t off = q->reasons.len ;
  r->reason = stralloc_catb(&q->reasons, text, n + 1) ? off : 0 ;
}

static void append(smsg *m, uint32_t i, char code, uint64_t now, uint64_t next, char const *text, int sync)
{
  if (!queue_state_append(m->q.id, i, code, now, next, text, sync)) {
    char c[2] = { code, 0 } ;
    strerr_warnwusys("append state ", c, " for ", m->q.id) ;
  }
}

/* Record the outcome of an attempt for recipient i. */
void qrun_result(smsg *m, uint32_t i, int class, char const *reason, uint64_t now)
{
  qrcpt *r = &m->q.rcpt[i] ;
  stralloc gave = STRALLOC_ZERO ;
  char const *status ;
  r->attempts++ ;
  r->last = now ;
  if (class == QJOB_TEMP && now >= m->q.arrival + C.lifetime) {
    char a[UINT32_FMT] ;
    a[uint32_fmt(a, r->attempts)] = 0 ;
    if (stralloc_cats(&gave, "gave up after ") && stralloc_cats(&gave, a)
     && stralloc_cats(&gave, r->attempts == 1 ? " attempt: " : " attempts: ")
     && stralloc_cats(&gave, reason) && stralloc_0(&gave)) reason = gave.s ;
    class = QJOB_PERM ;
  }
  if (class == QJOB_OK) {
    r->state = QR_DONE ; status = "delivered" ;
    /* one recipient: removing the message is the record */
    if (m->q.nrcpt > 1) append(m, i, QR_DONE, now, 0, "", 0) ;
  } else if (class == QJOB_PERM) {
    r->state = QR_FAILED ; status = "failed" ;
    append(m, i, QR_FAILED, now, 0, reason, 1) ;
  } else {
    r->state = QR_TEMP ; status = "deferred" ;
    r->next = now + qsched_delay(r->attempts, C.retrymin, C.retrymax) ;
    append(m, i, QR_TEMP, now, r->next, reason, 0) ;
  }
  setreason(&m->q, i, class == QJOB_OK ? "" : reason) ;
  qrun_logrcpt(m, i, status, reason, now) ;
  stralloc_free(&gave) ;
}

void qrun_bounced(smsg *m, uint32_t const *list, uint32_t n, char const *status, uint64_t now)
{
  for (uint32_t k = 0 ; k < n ; k++) {
    uint32_t i = list[k] ;
    if (m->q.rcpt[i].state != QR_FAILED) continue ;
    append(m, i, QR_BOUNCED, now, 0, "", k + 1 == n) ;
    m->q.rcpt[i].state = QR_BOUNCED ;
    qrun_logrcpt(m, i, status, m->q.reasons.s + m->q.rcpt[i].reason, now) ;
  }
}
