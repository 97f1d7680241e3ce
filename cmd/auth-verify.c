/* auth-verify: a qmail-queue filter that checks SPF, DKIM and DMARC of
   a received message, prepends one Authentication-Results field (after
   removing those that claim this host) and refuses, marks or passes the
   message by the DMARC policy; then runs the next stage (queue-inject by
   default). See auth-verify(8). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <skalibs/random.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "dmarc/authres.h"
#include "qfilter.h"
#include "root.h"

#define USAGE "auth-verify [prog...]"

static char const *const *next ;
static stralloc env = STRALLOC_ZERO, hdr = STRALLOC_ZERO ;
static int msg ;
static char me[AUTHRES_MAXID + 1] ;

static char const *session(void)
{
  char const *s = getenv("PIPEMAIL_SESSION") ;
  return s && *s ? s : "-" ;
}

static int claims(hdr_field const *f, void *ctx)
{
  return authres_claims(f, ctx) ;
}

static void pass(void) gccattr_noreturn ;
static void pass(void)
{
  qfilter_pass_if(msg, hdr.s, hdr.len, 0, &claims, me, &env, next) ;
}

static void cats(char const *s)
{
  if (!stralloc_cats(&hdr, s)) strerr_diefu1sys(51, "allocate") ;
}

/* The results for the next stage (spam-check): AUTHRES_SPF, _DKIM (the
   first signature's), _DMARC, and AUTHRES_ACTION. */
static void setenvs(authres const *r)
{
  static char const *const act[] = { "accept", "quarantine", "reject", "defer" } ;
  if (setenv("AUTHRES_SPF", spf_result_name(r->spf), 1) < 0
   || setenv("AUTHRES_DKIM", r->ndkim ? dkim_result_name(r->dkim[0].result) : "none", 1) < 0
   || setenv("AUTHRES_DMARC", authres_dmarc_name(r->dmarc), 1) < 0
   || setenv("AUTHRES_ACTION", act[r->action], 1) < 0)
    strerr_diefu1sys(51, "set the environment") ;
}

static void logline(authres const *r, char const *action)
{
  strerr_warni("session=", session(), " spf=", spf_result_name(r->spf),
               " dkim=", r->ndkim ? dkim_result_name(r->dkim[0].result) : "none",
               " dmarc=", authres_dmarc_name(r->dmarc), " from=", r->from[0] ? r->from : "-",
               " action=", action) ;
}

/* The message in memory: it is within the size bound. */
static void readmsg(stralloc *sa, uint64_t len)
{
  if (!stralloc_ready(sa, len + 1)) strerr_diefu1sys(51, "allocate") ;
  for (sa->len = 0 ; sa->len < len ; ) {
    ssize_t n = pread(msg, sa->s + sa->len, len - sa->len, sa->len) ;
    if (n < 0 && errno == EINTR) continue ;
    if (n <= 0) strerr_diefu1sys(53, "read the temporary file") ;
    sa->len += n ;
  }
}

/* A header too large for the field dropping (qfilter.h) or for DKIM
   would pass forged fields or hide the From: it is refused. */
static void toolarge(stralloc const *m)
{
  size_t hlen ;
  int r = hdr_split(m->s, m->len < QFILTER_MAXHEAD ? m->len : QFILTER_MAXHEAD, DKIM_MAXFIELDS, &hlen) ;
  if (r == HDR_LIMIT || (r == HDR_MORE && m->len >= QFILTER_MAXHEAD)) {
    strerr_warni("session=", session(), " action=reject reason=header-too-large") ;
    qfilter_refuse(31, "552 5.6.0 message header too large to check") ;
  }
}

static unsigned long timeout(void)
{
  unsigned long secs = pm_env_ulong("AUTHVERIFY_TIMEOUT", 20) ;
  return !secs ? 1 : secs > 3600 ? 3600 : secs ;
}

static void check(authres *r, stralloc const *m, char const *sender)
{
  static dmarc_psl psl = DMARC_PSL_ZERO ;
  spf_resolver dns ;
  char const *why, *ip = getenv("TCPREMOTEIP"), *pslpath = getenv("AUTHVERIFY_PSL") ;
  authres_in in = { .psl = &psl, .mailfrom = sender, .helo = getenv("SMTPHELOHOST"),
                    .me = me, .msg = m->s, .len = m->len, .now = time(0),
                    .roll = random_uint32(100) } ;
  if (!dmarc_psl_load(&psl, pslpath && *pslpath ? pslpath : 0)) {
    /* the default rule alone: each name's parent is a public suffix */
    strerr_warnwu2sys("read the public suffix list ", pslpath && *pslpath ? pslpath : DMARC_PSL) ;
    if (!dmarc_psl_parse(&psl, "", 0)) strerr_diefu1sys(51, "allocate") ;
  }
  in.haveip = ip && *ip && ip46full_scan(ip, &in.ip) == strlen(ip) ;
  why = spf_udns_open(&dns, getenv("DNS_SERVER")) ;
  if (why) strerr_diefsys(71, why) ;
  in.dns = &dns ;
  tain_now_g() ;
  tain_addsec_g(&in.deadline, timeout()) ;
  authres_check(r, &in) ;
  spf_udns_close(&dns) ;
}

int main(int argc, char const *const *argv)
{
  static authres r ;
  stralloc m = STRALLOC_ZERO ;
  uint64_t len ;
  char const *eol ;
  PROG = "auth-verify" ;
  next = qfilter_next(argc, argv, USAGE) ;
  strncpy(me, pm_me(), AUTHRES_MAXID) ;
  msg = qfilter_spool(&len) ;
  qfilter_envelope(&env) ;
  eol = qfilter_eol(msg) ;
  if (len > pm_env_ulong("AUTHVERIFY_MAXSIZE", 10485760)) {
    char n[UINT64_FMT] ;
    n[uint64_fmt(n, len)] = 0 ;
    strerr_warni("session=", session(), " size=", n, " action=none reason=too-large") ;
    cats("Authentication-Results: ") ; cats(me) ; cats(" (message too large to check); none") ; cats(eol) ;
    pass() ;
  }
  readmsg(&m, len) ;
  toolarge(&m) ;
  check(&r, &m, env.s + 1) ;
  stralloc_free(&m) ;
  if (!authres_fmt(&hdr, &r, me, eol)) strerr_diefu1sys(51, "allocate") ;
  setenvs(&r) ;
  if (r.action == AUTHRES_REJECT) {
    logline(&r, "reject") ;
    qfilter_refuse(31, "550 5.7.1 message refused by the DMARC policy of its From domain") ;
  }
  if (r.action == AUTHRES_DEFER) {
    logline(&r, "defer") ;
    qfilter_refuse(71, "451 4.7.1 DMARC check failed temporarily, try again later") ;
  }
  if (r.action == AUTHRES_QUARANTINE) { cats("X-Spam: Yes") ; cats(eol) ; }
  logline(&r, r.action == AUTHRES_QUARANTINE ? "quarantine" : "accept") ;
  pass() ;
}
