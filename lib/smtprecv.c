/* smtp-recv's work, the SMTP server (RFC 5321), a UCSPI program: it talks
   on fd 0/1 and hands each message to queue-inject (qmail-queue protocol),
   streaming it as it arrives. See smtp-recv(8). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "addr.h"
#include "datefmt.h"
#include "injector.h"
#include "lineio.h"
#include "root.h"
#include "smtpauth.h"
#include "smtpcmd.h"
#include "smtpdata.h"
#include "senders.h"
#include "smtprecv.h"
#include "srvconn.h"
#include "subhdr.h"
#include "users.h"

#define CMDMAX 2048        /* RFC 5321 says 512; real clients send more */
#define HELOMAX 255
#define MAXHOPS 100        /* Received: fields a message may already have */

typedef struct session_s session ;
struct session_s {
  lineio io ;
  srvconn c ;              /* the peer, the session id, TLS */
  char const *me ;
  stralloc helo ;          /* sanitised, NUL-terminated; empty before HELO */
  int esmtp ;              /* EHLO, not HELO */
  int requiretls ;         /* $REQUIRE_TLS: no MAIL before STARTTLS */
  int submission ;         /* $SUBMISSION: RFC 6409, AUTH before MAIL */
  int loopauth ;           /* $AUTH_LOOPBACK_CLEARTEXT: AUTH without TLS from loopback */
  smtpauth auth ;          /* AUTH's program and failure table */
  stralloc authuser ;      /* the login after AUTH; empty: not authenticated */
  int relay ;              /* $RELAYCLIENT: may send to foreign domains */
  int inmail ;             /* between MAIL and the end of DATA/RSET */
  int utf8 ;               /* this MAIL had SMTPUTF8 */
  stralloc env ;           /* envelope: Fsender\0 Trcpt\0 ... */
  stralloc vars ;          /* for the filters: HELO, AUTH user, TLS (filter_vars) */
  size_t rcpt1 ;           /* offset in env of the first recipient */
  unsigned long nrcpt, errors ;
  unsigned long timeout, sessiontime, databytes, maxrcpt, maxerrors ;
  users u ;
  int ucurrent ;           /* u was refreshed in this session */
  stralloc pm ;            /* postmaster@domain for RCPT TO:<postmaster> */
  injector q ;             /* q.pid > 0 while a DATA is streaming */
  subhdr h ;               /* submission: the message's header */
  jmp_buf end ;            /* leave() returns from smtprecv_main through it */
} ;

static session S = { .helo = STRALLOC_ZERO, .env = STRALLOC_ZERO, .vars = STRALLOC_ZERO, .u = USERS_ZERO,
                     .pm = STRALLOC_ZERO, .authuser = STRALLOC_ZERO, .h = SUBHDR_ZERO } ;
static char dbuf[LINEIO_INSIZE + SMTPDATA_SLACK] ;

/* --- leaving, replies, errors ---------------------------------------- */

/* The client, in the lines about a message and the session's end (no
   line of its own: a log line costs a wake-up of s6-log): "IP[ helo=HELO]" */
#define PEER(s) (s)->c.ip ? (s)->c.ip : "unknown", (s)->helo.len ? " helo=" : "", (s)->helo.len ? (s)->helo.s : ""

static void leave(session *s, char const *why) gccattr_noreturn ;
static void leave(session *s, char const *why)
{
  injector_abort(&s->q);    /* nothing gets queued */
  lineio_flush(&s->io);
  strerr_warni("session=", s->c.id, " ip=", PEER(s), " status=end reason=", why);
  /* back to smtprecv_main, which returns: tcp-serve may run the next
     session in this process */
  longjmp(s->end, 1);
}

static void reply(session *s, char const *a, char const *b, char const *c)
{
  if (!lineio_puts(&s->io, a) || (b && !lineio_puts(&s->io, b))
   || (c && !lineio_puts(&s->io, c)) || !lineio_put(&s->io, "\r\n", 2))
    leave(s, errno == ETIMEDOUT ? "timeout" : "disconnect");
}
#define say(s, text) reply(s, text, 0, 0)

static void leave421(session *s, char const *text, char const *why) gccattr_noreturn ;
static void leave421(session *s, char const *text, char const *why)
{
  reply(s, "421 ", text, 0);
  leave(s, why);
}

/* A wait for the client ran out: its own timeout or the session's. */
static void timed_out(session *s) gccattr_noreturn ;
static void timed_out(session *s)
{
  if (lineio_overtime(&s->io)) leave421(s, "4.4.2 session time limit reached, closing connection", "session-time");
  leave421(s, "4.4.2 timeout, closing connection", "timeout");
}

/* A command error: counted, and too many end the session. */
static void bad(session *s, char const *text)
{
  if (++s->errors > s->maxerrors) leave421(s, "4.7.0 too many errors, closing connection", "errors");
  say(s, text);
}

static void nomem(void) gccattr_noreturn ;
static void nomem(void) { strerr_diefu(111, "allocate memory"); }

/* --- the transaction -------------------------------------------------- */

static void txn_reset(session *s)
{
  s->inmail = 0;
  s->utf8 = 0;
  s->env.len = 0;
  s->nrcpt = 0;
}

/* The one place that names the protocol for Received: (RFC 3848; RFC
   6531 3.7.3: UTF8SMTP... for a transaction whose MAIL had SMTPUTF8). */
static char const *received_proto(session const *s)
{
  if (!s->esmtp) return "SMTP";
  int a = !!s->authuser.len;
  if (s->utf8) return s->c.tls ? a ? "UTF8SMTPSA" : "UTF8SMTPS" : a ? "UTF8SMTPA" : "UTF8SMTP";
  if (s->c.tls) return a ? "ESMTPSA" : "ESMTPS";
  return a ? "ESMTPA" : "ESMTP";
}

/* The authenticated user, in a comment of Received: printable, no ( ) \ */
static void cat_user(session const *s, stralloc *sa)
{
  static char const pre[] = "\n\t(authenticated user " ;
  size_t n = sa->len + sizeof pre - 1;
  if (!stralloc_cats(sa, pre) || !stralloc_cat(sa, &s->authuser) || !stralloc_cats(sa, ")")) nomem();
  for (size_t i = n; i < sa->len - 1; i++) {
    unsigned char c = sa->s[i];
    if (c < 33 || c > 126 || c == '(' || c == ')' || c == '\\') sa->s[i] = '?';
  }
}

/* RFC 5321 4.4: from HELO (HOST [IP]) by ME (pipemail) with P id ID for <R>; DATE.
   A submission (RFC 6409) names the user and, by default, not the
   client's address or host name: the author's location is theirs to
   give (the log keeps it); $SUBMISSION_SHOW_IP shows it. */
static void received(session const *s, stralloc *sa)
{
  char date[DATEFMT_LEN];
  int v6 = s->c.ip && strchr(s->c.ip, ':');
  int showip = !(s->submission && s->authuser.len && !getenv("SUBMISSION_SHOW_IP"));
  datefmt_rfc5322(date, time(0));
  sa->len = 0;
  if (!stralloc_cats(sa, "Received: from ") || !stralloc_cats(sa, s->helo.s)) nomem();
  if (s->c.ip && showip) {
    if (!stralloc_cats(sa, " (")
     || (s->c.host && (!stralloc_cats(sa, s->c.host) || !stralloc_cats(sa, " ")))
     || !stralloc_cats(sa, v6 ? "[IPv6:" : "[") || !stralloc_cats(sa, s->c.ip)
     || !stralloc_cats(sa, "])")) nomem();
  }
  if (s->c.tls && s->c.tlsproto[0] && s->c.tlscipher[0]
   && (!stralloc_cats(sa, "\n\t(using ") || !stralloc_cats(sa, s->c.tlsproto)
    || !stralloc_cats(sa, " with cipher ") || !stralloc_cats(sa, s->c.tlscipher)
    || !stralloc_cats(sa, ")"))) nomem();
  if (s->authuser.len) cat_user(s, sa);
  if (!stralloc_cats(sa, "\n\tby ") || !stralloc_cats(sa, s->me)
   || !stralloc_cats(sa, " (pipemail) with ") || !stralloc_cats(sa, received_proto(s))
   || !stralloc_cats(sa, " id ") || !stralloc_cats(sa, s->c.id)) nomem();
  if (s->nrcpt == 1 && (!stralloc_cats(sa, "\n\tfor <")
   || !stralloc_cats(sa, s->env.s + s->rcpt1) || !stralloc_cats(sa, ">"))) nomem();
  if (!stralloc_cats(sa, "; ") || !stralloc_cats(sa, date) || !stralloc_cats(sa, "\n")) nomem();
}

static void logmsg(session const *s, uint64_t size, char const *status, char const *code)
{
  char sz[UINT64_FMT], nr[ULONG_FMT];
  char c[4] = { code[0], code[1], code[2], 0 };
  sz[uint64_fmt(sz, size)] = 0;
  nr[ulong_fmt(nr, s->nrcpt)] = 0;
  strerr_warni("session=", s->c.id, " ip=", PEER(s), " from=<", s->env.s + 1, "> size=", sz,
               " rcpts=", nr, " status=", status, " code=", c);
}

/* users.cdb, refreshed once a session. 0 (logged) if it cannot be read. */
static int users_current(session *s)
{
  if (s->ucurrent) return 1;
  if (!users_refresh(&s->u, 0)) {
    strerr_warnwusys("open users.cdb");
    return 0;
  }
  s->ucurrent = 1;
  return 1;
}

#define TEMPLOCAL "451 4.3.0 temporary local problem, try again later"

/* Whether the authenticated user may use addr as a sender (etc/senders):
   0, or the reply. */
static char const *sender_ok(session *s, char const *addr, size_t alen)
{
  int r;
  if (!users_current(s)) return TEMPLOCAL;
  r = senders_allowed(&s->u, s->authuser.s, s->authuser.len, addr, alen);
  if (r < 0) { strerr_warnwusys("look up senders in users.cdb"); return TEMPLOCAL; }
  return r ? 0 : "553 5.7.1 sender address not allowed for this user";
}

/* --- submission: the header (RFC 6409 8) ---------------------------------- */

/* Date: and Message-ID:, when the message has none. */
static void add_missing(session *s)
{
  stralloc sa = STRALLOC_ZERO;
  if (!subhdr_missing(&s->h, &sa, s->me)) nomem();
  if (sa.len) injector_write(&s->q, sa.s, sa.len);
  stralloc_free(&sa);
}

/* Message bytes to the injector; in submission mode, the missing fields
   at the header's end. */
static void data_write(session *s, char const *buf, size_t n)
{
  size_t k;
  if (!s->submission || subhdr_ended(&s->h)) { injector_write(&s->q, buf, n); return; }
  k = subhdr_feed(&s->h, buf, n);
  injector_write(&s->q, buf, k);
  if (!subhdr_ended(&s->h)) return;
  add_missing(s);
  injector_write(&s->q, buf + k, n - k);
}

/* At the end of a submitted message: From: and Sender: must be the
   user's. 0, or the reply. */
static char const *data_end(session *s)
{
  char const *a;
  size_t len;
  unsigned int n;
  int r;
  if (!s->submission) return 0;
  if (!subhdr_ended(&s->h)) add_missing(s);   /* a header and no body */
  r = subhdr_from(&s->h, &a, &len, &n);
  if (r < 0) return "550 5.6.0 message has no From: field";
  if (!r) return "553 5.7.1 malformed or too long From:/Sender: field";
  for (; n--; a += strlen(a) + 1) {
    char const *no = sender_ok(s, a, strlen(a));
    if (no) return no[0] == '5' ? "553 5.7.1 From:/Sender: address not allowed for this user" : no;
  }
  return 0;
}

/* Stream the message from the client into the injector until the final
   dot. Returns 0, or the reply when the message is refused (the injector
   has then been killed, before any envelope was written). */
static char const *data_stream(session *s, smtpdata *d)
{
  char const *fail = 0;
  smtpdata_init(d);
  subhdr_init(&s->h);
  while (!d->done) {
    size_t used, outlen;
    if (!lineio_avail(&s->io)) {
      ssize_t r = lineio_fill(&s->io);
      if (r < 0 && errno == ETIMEDOUT) timed_out(s);
      if (r <= 0) leave(s, "disconnect in DATA");
    }
    used = smtpdata_decode(d, lineio_peek(&s->io), lineio_avail(&s->io), dbuf, &outlen);
    lineio_skip(&s->io, used);
    if (fail) continue;
    if (s->databytes && d->size > s->databytes) fail = "552 5.3.4 message too big";
    else if (d->received >= MAXHOPS) fail = "554 5.4.6 too many Received: fields, mail loop";
    else { data_write(s, dbuf, outlen); continue; }
    injector_abort(&s->q);      /* a refusal: never let it be queued */
  }
  if (!fail && (fail = data_end(s))) injector_abort(&s->q);
  return fail;
}

/* What a filter in front of queue-inject may want to know of the session
   beyond TCPREMOTEIP and the envelope (spam-check(8)), in the names
   qmail-spp and ucspi-ssl gave them; unset when they do not apply, so
   that nothing inherited passes for this session's. */
static void var(stralloc *sa, char const *name, char const *value)
{
  if (!stralloc_cats(sa, name) || (value && (!stralloc_catb(sa, "=", 1) || !stralloc_cats(sa, value)))
   || !stralloc_catb(sa, "", 1)) nomem();
}

static void filter_vars(session *s)
{
  s->vars.len = 0;
  var(&s->vars, "SMTPHELOHOST", s->helo.s);
  if (!s->authuser.len) var(&s->vars, "SMTPAUTHUSER", 0);
  else if (!stralloc_cats(&s->vars, "SMTPAUTHUSER=") || !stralloc_cat(&s->vars, &s->authuser)
   || !stralloc_catb(&s->vars, "", 1)) nomem();
  var(&s->vars, "SSL_PROTOCOL", !s->c.tls ? 0 : s->c.tlsproto[0] ? s->c.tlsproto : "unknown");
  var(&s->vars, "SSL_CIPHER", s->c.tls && s->c.tlscipher[0] ? s->c.tlscipher : 0);
  var(&s->vars, "PIPEMAIL_SESSION", s->c.id);
  s->q.vars = s->vars.s;
  s->q.varslen = s->vars.len;
}

/* --- commands --------------------------------------------------------- */

static void c_data(session *s, char *arg)
{
  smtpdata d;
  stralloc rcv = STRALLOC_ZERO;
  char const *text;
  if (!s->inmail) { bad(s, "503 5.5.1 MAIL first"); return; }
  if (!s->nrcpt) { bad(s, "503 5.5.1 RCPT first"); return; }
  if (*arg) { bad(s, "501 5.5.4 DATA takes no arguments"); return; }
  filter_vars(s);
  if (!injector_start(&s->q, s->timeout)) {
    strerr_warnwusys("start the queue injector");
    say(s, "451 4.3.0 temporary queue failure, try again later");
    return;
  }
  say(s, "354 go ahead, end with <CR><LF>.<CR><LF>");
  received(s, &rcv);
  injector_write(&s->q, rcv.s, rcv.len);
  stralloc_free(&rcv);
  text = data_stream(s, &d);
  if (!text) {
    if (!stralloc_catb(&s->env, "", 1)) nomem();
    text = injector_reply_text(&s->q, injector_finish(&s->q, s->env.s, s->env.len));
    s->env.len--;
  }
  if (text[0] == '2') reply(s, text, " id=", s->c.id);
  else say(s, text);
  logmsg(s, d.size, text[0] == '2' ? "queued" : "rejected", text);
  txn_reset(s);
}

/* HELO names go into Received:; keep them one printable word. */
static void set_helo(session *s, char const *arg)
{
  size_t n = strcspn(arg, " \t");
  if (n > HELOMAX) n = HELOMAX;
  if (!stralloc_copyb(&s->helo, arg, n) || !stralloc_0(&s->helo)) nomem();
  s->helo.len--;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s->helo.s[i];
    if (c < 33 || c == 127 || c == '(' || c == ')') s->helo.s[i] = '?';
  }
}

static void hello(session *s, char *arg, int esmtp)
{
  if (!*arg) { bad(s, esmtp ? "501 5.5.4 syntax: EHLO hostname" : "501 5.5.4 syntax: HELO hostname"); return; }
  set_helo(s, arg);
  s->esmtp = esmtp;
  txn_reset(s);
}

static void c_helo(session *s, char *arg)
{
  hello(s, arg, 0);
  if (s->helo.len) reply(s, "250 ", s->me, 0);
}

/* --- AUTH (RFC 4954; lib/smtpauth) ----------------------------------- */

static int loopback(char const *ip)
{
  return ip && (!strncmp(ip, "127.", 4) || !strcmp(ip, "::1"));
}

/* AUTH only over TLS (the password), or from loopback if the service says so */
static int auth_offered(session const *s)
{
  return s->auth.prog && !s->authuser.len && (s->c.tls || (s->loopauth && loopback(s->c.ip)));
}

/* Why AUTH cannot be done now, or 0. */
static char const *auth_refusal(session const *s, char const *arg)
{
  if (!s->auth.prog) return "502 5.5.1 AUTH not available";
  if (!s->esmtp) return "503 5.5.1 send EHLO first";
  if (s->authuser.len) return "503 5.5.1 already authenticated";
  if (s->inmail) return "503 5.5.1 AUTH not allowed during a mail transaction";
  if (!auth_offered(s)) return "538 5.7.11 encryption required for requested authentication mechanism (STARTTLS first)";
  if (!*arg) return "501 5.5.4 syntax: AUTH mechanism [initial-response]";
  return 0;
}

static void c_auth(session *s, char *arg)
{
  char const *text = auth_refusal(s, arg);
  if (text) {
    explicit_bzero(arg, strlen(arg));     /* it may hold a password */
    bad(s, text);
    return;
  }
  switch (smtpauth_run(&s->auth, &s->io, &s->c, arg, &s->authuser, &text)) {
    case SMTPAUTH_OK: case SMTPAUTH_NO: say(s, text); break;
    case SMTPAUTH_BAD: bad(s, text); break;
    case SMTPAUTH_LOCKED: leave421(s, text + 4, "auth-locked-out");
    default:
      if (errno == ETIMEDOUT) timed_out(s);
      leave(s, "disconnect in AUTH");
  }
}

static void c_ehlo(session *s, char *arg)
{
  char size[ULONG_FMT + 6] = "SIZE ";
  hello(s, arg, 1);
  if (!s->esmtp || !s->helo.len) return;
  size[5 + ulong_fmt(size + 5, s->databytes)] = 0;
  reply(s, "250-", s->me, " pipemail");
  reply(s, "250-", size, 0);
  if (s->c.starttls > 0) say(s, "250-STARTTLS");
  if (auth_offered(s)) say(s, "250-AUTH PLAIN LOGIN");
  say(s, "250-PIPELINING");
  say(s, "250-8BITMIME");
  say(s, "250-ENHANCEDSTATUSCODES");
  say(s, "250 SMTPUTF8");
}

/* An authenticated user sends only as themselves (etc/senders). */
static char const *sender_check(session *s, char const *addr, size_t alen)
{
  char const *no;
  if (!s->authuser.len || !(no = sender_ok(s, addr, alen))) return 0;
  strerr_warni("session=", s->c.id, " from=<", addr, "> status=rejected code=", no[0] == '5' ? "553" : "451");
  return no;
}

static void c_mail(session *s, char *arg)
{
  char const *no;
  char *addr, *params, *k, *v;
  size_t alen;
  int r, utf8 = 0;
  if (s->requiretls && !s->c.tls) { bad(s, "530 5.7.0 Must issue a STARTTLS command first"); return; }
  if (!s->helo.len) { bad(s, "503 5.5.1 send EHLO or HELO first"); return; }
  if (s->submission && !s->authuser.len) { bad(s, "530 5.7.0 authentication required"); return; }
  if (s->inmail) { bad(s, "503 5.5.1 nested MAIL command"); return; }
  if (!smtpcmd_path(arg, "FROM", &addr, &alen, &params)) { bad(s, "501 5.5.4 syntax: MAIL FROM:<address>"); return; }
  if (alen && !addr_valid(addr, alen)) { bad(s, "501 5.1.7 bad sender address syntax"); return; }
  while ((r = smtpcmd_param(&params, &k, &v)) > 0) {
    uint64_t n;
    if (!s->esmtp) { bad(s, "555 5.5.4 parameters need EHLO"); return; }
    if (!strcasecmp(k, "SIZE")) {
      size_t dl = v ? strspn(v, "0123456789") : 0;
      if (!dl || v[dl]) { bad(s, "501 5.5.4 bad SIZE parameter"); return; }
      if (v[uint64_scan(v, &n)]) n = UINT64_MAX;    /* more than 2^64: too big anyway */
      if (s->databytes && n > s->databytes) { say(s, "552 5.3.4 message size exceeds fixed maximum message size"); return; }
    } else if (!strcasecmp(k, "BODY")) {
      if (!v || (strcasecmp(v, "7BIT") && strcasecmp(v, "8BITMIME"))) { bad(s, "555 5.5.4 unsupported BODY type"); return; }
    } else if (!strcasecmp(k, "SMTPUTF8")) {
      if (v) { bad(s, "555 5.5.4 SMTPUTF8 takes no value"); return; }
      utf8 = 1;
    } else if (!strcasecmp(k, "AUTH") && s->auth.prog) {
      /* RFC 4954 5: who submitted the message first; we do not pass it
         on (remote-send sends none), so its value is only checked */
      if (!v || !*v || strlen(v) > 1000) { bad(s, "501 5.5.4 bad AUTH parameter"); return; }
    } else { bad(s, "555 5.5.4 unsupported parameter"); return; }
  }
  if (r < 0) { bad(s, "501 5.5.4 bad parameter syntax"); return; }
  if ((no = sender_check(s, addr, alen))) { say(s, no); return; }
  if (!stralloc_copyb(&s->env, "F", 1) || !stralloc_catb(&s->env, addr, alen + 1)) nomem();
  s->inmail = 1;
  s->utf8 = utf8;
  s->nrcpt = 0;
  say(s, "250 2.1.0 ok");
}

/* Reply for a recipient we can not take, or 0. */
static char const *rcpt_check(session *s, char const *a, size_t len)
{
  size_t at = addr_at(a, len);
  users_entry e;
  int r;
  if (!users_current(s)) return TEMPLOCAL;
  if (!users_isdomain(&s->u, a + at + 1, len - at - 1))
    return s->relay || s->authuser.len ? 0 : "554 5.7.1 relaying denied";
  r = users_lookup(&s->u, a, len, &e);
  if (r < 0) return TEMPLOCAL;
  return r == USERS_NONE ? "550 5.1.1 user unknown" : 0;
}

/* postmaster@ the first local domain (etc/domains), else @ me. */
static void postmaster(session const *s, stralloc *sa)
{
  stralloc f = STRALLOC_ZERO;
  size_t i = 0, n = 0;
  if (pm_path(sa, "etc/domains") && openreadfileclose(sa->s, &f, 65536))
    for (; i < f.len; i += n + 1) {
      n = byte_chr(f.s + i, f.len - i, '\n');
      while (n && (f.s[i+n-1] == ' ' || f.s[i+n-1] == '\r')) n--;
      if (n && f.s[i] != '#') break;
    }
  if (!stralloc_copys(sa, "postmaster@")
   || !(i < f.len ? stralloc_catb(sa, f.s + i, n) : stralloc_cats(sa, s->me))
   || !stralloc_0(sa)) nomem();
  sa->len--;
  stralloc_free(&f);
}

static void c_rcpt(session *s, char *arg)
{
  char *addr, *params;
  char const *no;
  size_t alen;
  if (!s->inmail) { bad(s, "503 5.5.1 MAIL first"); return; }
  if (!smtpcmd_path(arg, "TO", &addr, &alen, &params)) { bad(s, "501 5.5.4 syntax: RCPT TO:<address>"); return; }
  if (*params) { bad(s, "555 5.5.4 unsupported parameter"); return; }
  if (!strcasecmp(addr, "postmaster")) {   /* RFC 5321 4.5.1: <postmaster> without a domain */
    postmaster(s, &s->pm);
    addr = s->pm.s;
    alen = s->pm.len;
  }
  if (!addr_valid(addr, alen)) no = "501 5.1.3 bad recipient address syntax";
  else if (s->nrcpt >= s->maxrcpt) no = "452 4.5.3 too many recipients";
  else no = rcpt_check(s, addr, alen);
  if (no) {
    char c[4] = { no[0], no[1], no[2], 0 };
    strerr_warni("session=", s->c.id, " rcpt=<", addr, "> status=rejected code=", c);
    if (no[0] == '5' && no[1] == '0') bad(s, no);   /* syntax: counts as an error */
    else say(s, no);
  } else {
    if (!s->nrcpt) s->rcpt1 = s->env.len + 1;
    if (!stralloc_catb(&s->env, "T", 1) || !stralloc_catb(&s->env, addr, alen) || !stralloc_0(&s->env)) nomem();
    s->nrcpt++;
    say(s, "250 2.1.5 ok");
  }
}

/* --- TLS ------------------------------------------------------------- */

/* RFC 3207. Once TLS is up, the session starts over (4.2): what was said
   in cleartext, and any cleartext already read (pipelined after STARTTLS,
   CVE-2011-0411), is forgotten. */
static void c_starttls(session *s, char *arg)
{
  char nb[SIZE_FMT];
  size_t dropped;
  if (s->c.tls) { bad(s, "503 5.5.1 already in TLS"); return; }
  if (!s->c.starttls) { bad(s, "502 5.5.1 STARTTLS not available"); return; }
  if (*arg) { bad(s, "501 5.5.4 STARTTLS takes no arguments"); return; }
  if (s->c.starttls < 0) { say(s, "454 4.7.0 TLS not available due to temporary reason"); return; }
  say(s, "220 2.0.0 ready to start TLS");
  if (!srvconn_starttls(&s->c, &s->io, s->timeout, &dropped)) {
    strerr_warni("session=", s->c.id, " tls=fail error=", strerror(errno));
    leave(s, "tls");
  }
  nb[size_fmt(nb, dropped)] = 0;
  s->helo.len = 0;
  s->esmtp = 0;
  s->authuser.len = 0;
  txn_reset(s);
  strerr_warni("session=", s->c.id, " tls=ok protocol=", s->c.tlsproto, " cipher=", s->c.tlscipher,
               " discarded=", nb);
}

/* --- other commands ---------------------------------------------------- */

static void c_rset(session *s, char *arg) { (void)arg; txn_reset(s); say(s, "250 2.0.0 ok"); }
static void c_noop(session *s, char *arg) { (void)arg; say(s, "250 2.0.0 ok"); }
static void c_vrfy(session *s, char *arg) { (void)arg; say(s, "252 2.5.0 cannot VRFY user, but will accept message and attempt delivery"); }
static void c_help(session *s, char *arg) { (void)arg; say(s, "214 2.0.0 commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"); }
static void c_nimp(session *s, char *arg) { (void)arg; bad(s, "502 5.5.1 command not implemented"); }
static void c_quit(session *s, char *arg)
{
  (void)arg;
  reply(s, "221 2.0.0 ", s->me, " closing connection");
  leave(s, "quit");
}
/* A web browser or proxy talking to us (cross-protocol attacks): hang up. */
static void c_http(session *s, char *arg) { (void)arg; leave421(s, "4.7.0 this is an SMTP server", "http"); }

typedef void cmdfn (session *, char *) ;
static struct { char const *verb ; cmdfn *fn ; } const cmds[] = {
  { "EHLO", c_ehlo }, { "HELO", c_helo }, { "MAIL", c_mail }, { "RCPT", c_rcpt },
  { "DATA", c_data }, { "RSET", c_rset }, { "NOOP", c_noop }, { "QUIT", c_quit },
  { "VRFY", c_vrfy }, { "HELP", c_help }, { "EXPN", c_nimp }, { "BDAT", c_nimp },
  { "TURN", c_nimp }, { "ETRN", c_nimp }, { "STARTTLS", c_starttls }, { "AUTH", c_auth },
  { "GET", c_http }, { "POST", c_http }, { "CONNECT", c_http },
  { 0, 0 }
} ;

static void dispatch(session *s, char *line)
{
  size_t n = strcspn(line, " ");
  char *arg = line + n;
  while (*arg == ' ') arg++;
  for (unsigned i = 0; cmds[i].verb; i++)
    if (strlen(cmds[i].verb) == n && !strncasecmp(line, cmds[i].verb, n)) {
      cmds[i].fn(s, arg);
      return;
    }
  bad(s, "500 5.5.1 command unrecognized");
}

/* --- main --------------------------------------------------------------- */

/* Everything a session may have changed, back as in a fresh process:
   the next session in this process must see nothing of this one. */
static void session_init(session *s, int argc, char const *const *argv)
{
  s->helo.len = 0;
  s->esmtp = 0;
  s->authuser.len = 0;
  s->errors = 0;
  txn_reset(s);
  /* users.cdb and etc/me stay loaded for the next session in this process,
     which checks with a stat that they are still the current files */
  s->ucurrent = 0;
  pm_me_refresh();
  s->timeout = pm_env_ulong("SMTP_TIMEOUT", 300);
  s->sessiontime = pm_env_ulong("SMTP_SESSION_TIMEOUT", 3600);
  s->databytes = pm_env_ulong("DATABYTES", 52428800);
  s->maxrcpt = pm_env_ulong("MAXRCPT", 100);
  s->maxerrors = pm_env_ulong("MAXERRORS", 20);
  if (!s->timeout) s->timeout = 300;
  s->relay = !!getenv("RELAYCLIENT");
  s->requiretls = !!getenv("REQUIRE_TLS");
  s->submission = !!getenv("SUBMISSION");
  s->loopauth = !!getenv("AUTH_LOOPBACK_CLEARTEXT");
  smtpauth_init(&s->auth, argc > 1 ? argv + 1 : 0);
  /* no core of a process that may hold a password */
  if (s->auth.prog) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  srvconn_init(&s->c);
  if (s->c.starttls < 0) strerr_warnw("UCSPI-TLS descriptors not open: STARTTLS is not offered");
  s->me = pm_me();
  s->q.pid = -1;
  lineio_init(&s->io, 0, 1, s->timeout);
  if (s->sessiontime > 86400 * 7) s->sessiontime = 86400 * 7;
  lineio_deadline(&s->io, s->sessiontime);
}

int smtprecv_main(int argc, char const *const *argv)
{
  session *s = &S;
  PROG = "smtp-recv";
  if (setjmp(s->end)) return 0;
  signal(SIGPIPE, SIG_IGN);   /* a dead client or injector is an error return */
  session_init(s, argc, argv);
  if (s->auth.prog && smtpauth_locked(&s->auth, &s->c))
    leave421(s, "4.7.0 too many failed authentications from your address, try again later", "auth-locked-out");
  reply(s, "220 ", s->me, " ESMTP pipemail");
  for (;;) {
    char *line;
    size_t len;
    int r = lineio_getline(&s->io, CMDMAX, &line, &len);
    if (r < 0 && errno == ETIMEDOUT) timed_out(s);
    if (r < 0) leave(s, "read error");
    if (r == LINEIO_EOF) leave(s, "disconnect");
    if (r == LINEIO_TOOLONG) { bad(s, "500 5.5.2 line too long"); continue; }
    if (memchr(line, 0, len)) { bad(s, "500 5.5.2 NUL byte in command"); continue; }
    line[len] = 0;
    dispatch(s, line);
  }
}
