/* spam-check: a qmail-queue filter that asks rspamd about the message
   and refuses it, or marks it, by rspamd's action, then runs the next
   stage (queue-inject by default). See spam-check(8). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "qfilter.h"
#include "root.h"
#include "rspamd.h"

#define USAGE "spam-check [prog...]"
#define DEFAULT_RSPAMD "127.0.0.1:11333"

/* What the message says of itself is not believed: these are ours. */
static char const *const ours[] = { "X-Spam", "X-Spam-Score", "X-Spam-Symbols", "X-Spam-Flag", 0 } ;
static char const *const *next ;
static stralloc env = STRALLOC_ZERO, hdr = STRALLOC_ZERO ;
static int msg ;
static int marked ;   /* X-Spam: Yes already in hdr (auth-verify's verdict) */

static char const *session(void)
{
  char const *s = getenv("PIPEMAIL_SESSION") ;
  return s && *s ? s : "-" ;
}

static void pass(void) gccattr_noreturn ;
static void pass(void)
{
  qfilter_pass(msg, hdr.s, hdr.len, ours, &env, next) ;
}

static void cat(char const *s, size_t n)
{
  if (!stralloc_catb(&hdr, s, n)) strerr_diefu1sys(51, "allocate") ;
}
#define cats(s) cat((s), strlen(s))

/* A score for a header or log: bounded, whatever rspamd said. */
static void score(char *buf, size_t n, double d)
{
  if (!(d > -10000)) d = -9999.99 ;
  if (!(d < 100000)) d = 99999.99 ;
  snprintf(buf, n, "%.2f", d) ;
}

/* X-Spam-Symbols: NAME(S), NAME(S), ... folded before column 78. */
static void symbols(rspamd_reply const *r, char const *eol)
{
  size_t col = 16 ;
  cats("X-Spam-Symbols:") ;
  for (unsigned int i = 0 ; i < r->nsym ; i++) {
    char sc[24], item[96] ;
    score(sc, sizeof sc, r->sym[i].score) ;
    size_t n = (size_t)snprintf(item, sizeof item, "%s(%s)%s", r->sym[i].name, sc, i + 1 < r->nsym || r->allsym > r->nsym ? "," : "") ;
    if (col + 1 + n > 78) { cats(eol) ; cat("\t", 1) ; col = 8 ; }
    else { cat(" ", 1) ; col++ ; }
    cat(item, n) ;
    col += n ;
  }
  if (r->allsym > r->nsym) cats(" ...") ;
  cats(eol) ;
}

static void headers(rspamd_reply const *r, int spam)
{
  char const *eol = qfilter_eol(msg) ;
  char s[24], q[24] ;
  score(s, sizeof s, r->score) ;
  score(q, sizeof q, r->required) ;
  if (spam && !marked) { cats("X-Spam: Yes") ; cats(eol) ; }
  cats("X-Spam-Score: ") ; cats(s) ; cats(" / ") ; cats(q) ; cats(eol) ;
  if (spam) symbols(r, eol) ;
}

static void logline(rspamd_reply const *r)
{
  char s[24], q[24], n[UINT_FMT], a[sizeof r->action] ;
  /* one word, as every value of a log line: add_header */
  for (size_t i = 0 ; i < sizeof a ; i++) a[i] = r->action[i] == ' ' ? '_' : r->action[i] ;
  score(s, sizeof s, r->score) ;
  score(q, sizeof q, r->required) ;
  n[uint_fmt(n, r->allsym)] = 0 ;
  strerr_warni("session=", session(), " action=", a, " score=", s, "/", q,
               " symbols=", n, r->nsym ? " top=" : "", r->nsym ? r->sym[0].name : "") ;
}

/* rspamd could not answer: pass unchecked, or try later if so configured. */
static void unchecked(char const *why, char const *where) gccattr_noreturn ;
static void unchecked(char const *why, char const *where)
{
  int closed = !!getenv("SPAMCHECK_FAILCLOSED") ;
  int bad = errno == EPROTO ;
  strerr_warnw("session=", session(), " rspamd=", where, bad ? " bad answer: " : " unable to ", why,
               bad ? "" : ": ", bad ? "" : strerror(errno), closed ? ": message deferred" : ": message passed unchecked") ;
  if (closed) qfilter_refuse(71, "4.3.0 spam check unavailable, try again later") ;
  pass() ;
}

static void act(rspamd_reply const *r) gccattr_noreturn ;
static void act(rspamd_reply const *r)
{
  char text[260] ;
  char const *a = r->action ;
  logline(r) ;
  if (!strcmp(a, "reject")) {
    snprintf(text, sizeof text, "5.7.1 %s", r->message[0] ? r->message : "spam message rejected") ;
    qfilter_refuse(31, text) ;
  }
  if (!strcmp(a, "soft reject") || !strcmp(a, "greylist")) {
    snprintf(text, sizeof text, "4.7.1 %s", r->message[0] ? r->message : "try again later") ;
    qfilter_refuse(71, text) ;
  }
  if (!strcmp(a, "add header") || !strcmp(a, "rewrite subject")) headers(r, 1) ;
  else {
    if (strcmp(a, "no action")) strerr_warnw("session=", session(), " unknown action ", a, ": message passed as not spam") ;
    headers(r, 0) ;
  }
  pass() ;
}

int main(int argc, char const *const *argv)
{
  static rspamd_reply r ;
  rspamd_addr where ;
  rspamd_request q ;
  char const *why, *addr = getenv("RSPAMD") ;
  uint64_t len ;
  unsigned long secs ;
  PROG = "spam-check" ;
  next = qfilter_next(argc, argv, USAGE) ;
  signal(SIGPIPE, SIG_IGN) ;   /* rspamd may hang up: an error return */
  if (!addr || !*addr) addr = DEFAULT_RSPAMD ;
  msg = qfilter_spool(&len) ;
  qfilter_envelope(&env) ;
  /* auth-verify before us quarantined it (DMARC): its X-Spam is dropped
     with the message's own, so the mark comes through the environment */
  if ((why = getenv("AUTHRES_ACTION")) && !strcmp(why, "quarantine")) {
    cats("X-Spam: Yes") ; cats(qfilter_eol(msg)) ;
    marked = 1 ;
  }
  if (len > pm_env_ulong("SPAMCHECK_MAXSIZE", 10485760)) {
    char n[UINT64_FMT] ;
    n[uint64_fmt(n, len)] = 0 ;
    strerr_warni("session=", session(), " size=", n, " action=none reason=too-large") ;
    pass() ;
  }
  errno = EINVAL ;
  if (!rspamd_addr_scan(&where, addr)) unchecked("use RSPAMD (not IP:PORT)", addr) ;
  q = (rspamd_request){
    .ip = getenv("TCPREMOTEIP"), .helo = getenv("SMTPHELOHOST"), .hostname = getenv("TCPREMOTEHOST"),
    .user = getenv("SMTPAUTHUSER"), .queueid = getenv("PIPEMAIL_SESSION"),
    .tlsversion = getenv("SSL_PROTOCOL"), .tlscipher = getenv("SSL_CIPHER"),
    .env = env.s, .envlen = env.len, .msgfd = msg, .msglen = len } ;
  secs = pm_env_ulong("SPAMCHECK_TIMEOUT", 20) ;
  if (!secs) secs = 1 ;
  if (secs > 3600) secs = 3600 ;
  if (!rspamd_check(&r, &where, &q, secs, &why)) unchecked(why, addr) ;
  act(&r) ;
}
