/* Before login (as lib/pop3login.c for POP3): this process never opens a
   mailbox (and, as root, drops its ids: lib/pop3auth). A login runs the
   checkpassword program, which execs imap-mailbox as the mailbox's owner;
   imap-mailbox answers the login command itself (IMAP_LOGIN_TAG) once the
   mailbox is open, and serves the rest of the session, in this process
   once it handed its place back (lib/pop3handback), else while this one
   waits. A failed login (exit 1) comes back here, so that the client may
   try again, up to a bound. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "imap/imapcmd.h"
#include "imap/imapread.h"
#include "imap/imapwrite.h"
#include "imaplogin.h"
#include "lineio.h"
#include "loginbase.h"
#include "pop3.h"
#include "pop3auth.h"
#include "root.h"
#include "sasl.h"
#include "srvconn.h"

#define USAGE "imap-serve checkpassword [args...]"
#define strerr_warni(...) strerr_warn(PROG, ": info: ", __VA_ARGS__)
#define CAPS "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE"

typedef struct login_s login ;
struct login_s {
  loginbase b ;
  imapread rd ;
  imapcmd cmd ;
  char const *tag ;          /* of the command being answered */
  char id[IMAPLOGIN_IDMAX + 1] ;   /* the client's ID, "IMAP_ID=k=v ..." ("" none) */
  jmp_buf end ;              /* leave() returns from imaplogin_main through it */
} ;

static login L ;

static char const *peerip (login const *s) { return loginbase_ip(&s->b) ; }

static void leave (login *s, char const *why) gccattr_noreturn ;
static void leave (login *s, char const *why)
{
  lineio_flush(&s->b.io) ;
  strerr_warni("session=", s->b.c.id, " ip=", peerip(s), " status=end reason=", why) ;
  longjmp(s->end, 1) ;
}

static void ioerr (login *s) gccattr_noreturn ;
static void ioerr (login *s)
{
  if (errno != ETIMEDOUT) leave(s, "disconnect") ;
  /* RFC 3501 5.4: the autologout, if the client still listens */
  lineio_puts(&s->b.io, "* BYE autologout: idle for too long\r\n") ;
  leave(s, "timeout") ;
}

/* "TAG STATUS [CODE] text"; tag 0: the command's; "*" untagged. */
static void status (login *s, char const *tag, char const *st, char const *code, char const *text)
{
  if (!imapw_status(&s->b.io, tag ? tag : s->tag, st, code, text)) ioerr(s) ;
}

static void say (login *s, char const *line)
{
  if (!lineio_puts(&s->b.io, line) || !lineio_puts(&s->b.io, "\r\n")) ioerr(s) ;
}

/* A bad command: answered (BAD, or NO with a code), counted. */
static void bad_as (login *s, char const *st, char const *code, char const *text)
{
  if (++s->b.errors >= IMAPLOGIN_ERRMAX)
  {
    status(s, 0, st, code, text) ;
    status(s, "*", "BYE", 0, "too many errors, closing connection") ;
    leave(s, "errors") ;
  }
  status(s, 0, st, code, text) ;
}

static void bad (login *s, char const *text) { bad_as(s, "BAD", 0, text) ; }

static int may_login (login const *s) { return s->b.c.tls || s->b.plaintext ; }

static void caps (login *s, char const *head, char const *tail)
{
  if (!lineio_puts(&s->b.io, head) || !lineio_puts(&s->b.io, CAPS)
   || (s->b.c.starttls > 0 && !s->b.c.tls && !lineio_puts(&s->b.io, " STARTTLS"))
   || !lineio_puts(&s->b.io, may_login(s) ? " AUTH=PLAIN" : " LOGINDISABLED")
   || !lineio_puts(&s->b.io, tail)) ioerr(s) ;
}

/* tag: the login command just failed, answer it first. */
static void check_locked (login *s, char const *tag)
{
  if (!loginbase_locked(&s->b)) return ;
  if (tag) status(s, tag, "NO", "AUTHENTICATIONFAILED", "authentication failed") ;
  status(s, "*", "BYE", "UNAVAILABLE", "too many failed logins from your address, try again later") ;
  leave(s, "locked-out") ;
}

static int user_ok (char const *u, size_t n) { return loginbase_user_ok(u, n, IMAPLOGIN_USERMAX) ; }

/* The login is complete: the address's failures are forgotten now (the
   handback may replace this process, which would never get further). */
static void cleared (void)
{
  authfail_clear(&L.b.fail, peerip(&L)) ;
}

/* Give user and pass to the checkpassword program (lib/pop3auth). Returns
   only after a failed login; a successful one ends with the session. */
static void do_login (login *s, char const *mech, char const *user, char const *pass)
{
  pop3auth_req r = { .user = user, .pass = pass, .tlsproto = s->b.stlsdone ? s->b.c.tlsproto : 0, .done = &cleared } ;
  char tagenv[sizeof "IMAP_LOGIN_TAG=" + IMAPCMD_MAXTAG] = "IMAP_LOGIN_TAG=" ;
  char *input ;
  char const *env[5] = { tagenv, "IMAP_INPUT", s->b.c.tls ? "IMAP_TLS=1" : "IMAP_TLS", s->id[0] ? s->id : "IMAP_ID", 0 } ;
  int st ;
  strcat(tagenv, s->tag) ;
  if (!pop3auth_pipelined(&s->b.io, "IMAP_INPUT=", IMAPLOGIN_INPUTMAX, &input))
  {
    status(s, "*", "BYE", 0, "too many commands pipelined after the login") ;
    leave(s, "pipelining") ;
  }
  if (input) env[1] = input ;
  r.env = env ;
  if (!lineio_flush(&s->b.io)) ioerr(s) ;
  st = pop3auth_login(&r) ;
  free(input) ;
  switch (st)
  {
    case POP3AUTH_DONE :   /* the mailbox part ran the session */
      authfail_clear(&s->b.fail, peerip(s)) ;
      longjmp(s->end, 1) ;
    case POP3AUTH_FAIL : break ;
    case POP3AUTH_MISUSE :
      strerr_warnw("checkpassword program ", s->b.argv[0], " says it was misused") ;
      status(s, 0, "NO", "SERVERBUG", "login is misconfigured") ;
      leave(s, "misuse") ;
    default :
      status(s, 0, "NO", "UNAVAILABLE", "temporary failure, try again later") ;
      status(s, "*", "BYE", 0, "closing connection") ;
      leave(s, st == POP3AUTH_CRASH ? "crash" : "tempfail") ;
  }
  loginbase_failed(&s->b, mech, user) ;
  check_locked(s, s->tag) ;
  if (++s->b.fails >= IMAPLOGIN_FAILMAX)
  {
    status(s, 0, "NO", "AUTHENTICATIONFAILED", "authentication failed") ;
    status(s, "*", "BYE", 0, "too many failed logins, closing connection") ;
    leave(s, "authfail") ;
  }
  status(s, 0, "NO", "AUTHENTICATIONFAILED", "authentication failed") ;
}

static int refuse_plaintext (login *s)
{
  if (may_login(s)) return 0 ;
  bad_as(s, "NO", "PRIVACYREQUIRED", "login disabled without TLS: STARTTLS first") ;
  return 1 ;
}

static void c_login (login *s)
{
  imapcmd *c = &s->cmd ;
  char const *user, *pass ;
  size_t ul, pl ;
  char u[IMAPLOGIN_USERMAX + 1] ;
  if (imapcmd_nargs(c) != 2 || !imapcmd_astring(c, imapcmd_arg(c, 0), &user, &ul)
   || !imapcmd_astring(c, imapcmd_arg(c, 1), &pass, &pl))
  { bad(s, "syntax: LOGIN user password") ; return ; }
  if (refuse_plaintext(s)) return ;
  if (!user_ok(user, ul) || !pl || pl > SASL_PASSMAX || memchr(pass, 0, pl))
  { bad_as(s, "NO", "AUTHENTICATIONFAILED", "unusable user name or password") ; return ; }
  memcpy(u, user, ul) ; u[ul] = 0 ;
  do_login(s, "LOGIN", u, pass) ;
}

/* PLAIN's response (base64) in resp[0..len). */
static void auth_plain (login *s, char const *resp, size_t len)
{
  char dec[IMAPLOGIN_LINE / 4 * 3 + 1] ;
  char user[IMAPLOGIN_USERMAX + 1], pass[SASL_PASSMAX + 1] ;
  sasl_cred cr ;
  ssize_t n = len == 1 && resp[0] == '=' ? 0 : sasl_b64decode(dec, resp, len) ;
  if (n < 0) { bad(s, "cannot decode the response (base64)") ; return ; }
  switch (sasl_plain(dec, n, &cr))
  {
    case SASL_OK : break ;
    case SASL_AUTHZID : bad_as(s, "NO", "AUTHORIZATIONFAILED", "acting for another user is not supported") ; goto wipe ;
    default : bad(s, "malformed AUTHENTICATE PLAIN response") ; goto wipe ;
  }
  if (!user_ok(cr.user, cr.userlen) || !cr.passlen || cr.passlen > SASL_PASSMAX)
  {
    bad_as(s, "NO", "AUTHENTICATIONFAILED", "unusable user name or password") ;
    goto wipe ;
  }
  memcpy(user, cr.user, cr.userlen) ; user[cr.userlen] = 0 ;
  memcpy(pass, cr.pass, cr.passlen) ; pass[cr.passlen] = 0 ;
  explicit_bzero(dec, n) ;
  do_login(s, "PLAIN", user, pass) ;
  explicit_bzero(pass, sizeof pass) ;
  return ;
 wipe:
  explicit_bzero(dec, n) ;
}

static void c_authenticate (login *s)
{
  imapcmd *c = &s->cmd ;
  unsigned n = imapcmd_nargs(c) ;
  char const *resp ;
  size_t len ;
  if (n < 1 || n > 2 || c->node[imapcmd_arg(c, 0)].type != IMAPN_ATOM
   || (n == 2 && c->node[imapcmd_arg(c, 1)].type != IMAPN_ATOM))
  { bad(s, "syntax: AUTHENTICATE mechanism [initial-response]") ; return ; }
  if (!imapcmd_isatom(c, imapcmd_arg(c, 0), "PLAIN"))
  { bad_as(s, "NO", 0, "unsupported SASL mechanism") ; return ; }
  if (refuse_plaintext(s)) return ;
  if (n == 2) imapcmd_astring(c, imapcmd_arg(c, 1), &resp, &len) ;
  else
  {
    char *line ;
    int r ;
    say(s, "+ ") ;
    r = lineio_getline(&s->b.io, IMAPLOGIN_LINE, &line, &len) ;
    if (r < 0) ioerr(s) ;
    if (r == LINEIO_EOF) leave(s, "disconnect") ;
    if (r == LINEIO_TOOLONG) { bad(s, "response too long") ; return ; }
    if (len == 1 && line[0] == '*') { bad(s, "AUTHENTICATE cancelled") ; return ; }
    auth_plain(s, line, len) ;
    explicit_bzero(line, len) ;
    return ;
  }
  auth_plain(s, resp, len) ;
}

/* The client's ID (RFC 2971): kept for the log of the mailbox part as
   "IMAP_ID=name=value ..." with anything but printable ASCII as "_". */
static void keep_id (login *s, char const *k, size_t kl, char const *v, size_t vl)
{
  size_t n = strlen(s->id) ;
  if (!n) { strcpy(s->id, "IMAP_ID=") ; n = 8 ; }
  else if (n < IMAPLOGIN_IDMAX) s->id[n++] = ' ' ;
  for (size_t i = 0 ; i < kl + 1 + vl && n < IMAPLOGIN_IDMAX ; i++)
  {
    char ch = i < kl ? k[i] : i == kl ? '=' : v[i - kl - 1] ;
    s->id[n++] = ch > ' ' && ch < 127 && (ch != '=' || i == kl) ? ch : '_' ;
  }
  s->id[n] = 0 ;
}

static void c_id (login *s)
{
  imapcmd *c = &s->cmd ;
  uint32_t a = imapcmd_arg(c, 0), m ;
  unsigned pairs = 0 ;
  if (imapcmd_nargs(c) != 1 || (c->node[a].type != IMAPN_NIL && c->node[a].type != IMAPN_LIST)
   || (c->node[a].type == IMAPN_LIST && (imapcmd_nmembers(c, a) % 2 || imapcmd_nmembers(c, a) > 60)))
  { bad(s, "syntax: ID NIL or ID (field value ...)") ; return ; }
  s->id[0] = 0 ;
  for (m = c->node[a].type == IMAPN_LIST ? c->node[a].child : 0 ; m ; m = c->node[c->node[m].next].next, pairs++)
  {
    char const *k, *v ;
    size_t kl, vl ;
    if (!imapcmd_astring(c, m, &k, &kl) || kl > 30 || !imapcmd_nstring(c, c->node[m].next, &v, &vl) || (v && vl > 1024))
    { s->id[0] = 0 ; bad(s, "ID: fields are strings of 30 bytes at most, values 1024") ; return ; }
    if (v) keep_id(s, k, kl, v, vl) ;
  }
  say(s, "* ID (\"name\" \"pipemail\")") ;
  status(s, 0, "OK", 0, "ID completed") ;
}

static void c_starttls (login *s)
{
  size_t dropped = 0 ;
  if (s->b.c.tls) { bad(s, "already under TLS") ; return ; }
  if (s->b.c.starttls <= 0) { bad(s, "STARTTLS not available") ; return ; }
  status(s, 0, "OK", 0, "begin TLS negotiation now") ;
  if (!srvconn_starttls(&s->b.c, &s->b.io, s->b.timeout, &dropped)) leave(s, "tls-failed") ;
  s->b.stlsdone = 1 ;
  s->id[0] = 0 ;   /* RFC 3501 6.2.1: nothing from before TLS is kept */
}

static void c_capability (login *s)
{
  caps(s, "* CAPABILITY ", "\r\n") ;
  status(s, 0, "OK", 0, "CAPABILITY completed") ;
}

static void c_noop (login *s) { status(s, 0, "OK", 0, "NOOP completed") ; }

static void c_logout (login *s)
{
  status(s, "*", "BYE", 0, "logging out") ;
  status(s, 0, "OK", 0, "LOGOUT completed") ;
  leave(s, "logout") ;
}

static struct { char const *name ; void (*f)(login *) ; int args ; } const cmds[] = {
  { "CAPABILITY", c_capability, 0 }, { "NOOP", c_noop, 0 }, { "LOGOUT", c_logout, 0 },
  { "STARTTLS", c_starttls, 0 }, { "ID", c_id, 1 }, { "LOGIN", c_login, 1 },
  { "AUTHENTICATE", c_authenticate, 1 },
} ;

/* The commands of the later states (RFC 3501, and the extensions that
   imap-mailbox offers): refused as such, not as unknown. */
static char const *const later[] = {
  "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
  "LIST", "LSUB", "STATUS", "APPEND", "CHECK", "CLOSE", "EXPUNGE", "SEARCH",
  "FETCH", "STORE", "COPY", "MOVE", "IDLE", "ENABLE", "NAMESPACE", "UNSELECT",
  "GETQUOTA", "GETQUOTAROOT", "SETQUOTA", "ESEARCH", "COMPRESS",
} ;

static void dispatch (login *s)
{
  imapcmd *c = &s->cmd ;
  if (!c->uid)
    for (size_t i = 0 ; i < sizeof cmds / sizeof *cmds ; i++)
      if (!strcmp(c->name, cmds[i].name))
      {
        if (!cmds[i].args && imapcmd_nargs(c)) { bad(s, "this command takes no argument") ; return ; }
        (*cmds[i].f)(s) ;
        return ;
      }
  for (size_t i = 0 ; i < sizeof later / sizeof *later ; i++)
    if (c->uid || !strcmp(c->name, later[i])) { bad(s, "not authenticated: log in first") ; return ; }
  bad(s, "unknown command") ;
}

/* APPEND's message before login: never taken. */
static int nomsg (void *ctx, uint32_t idx, uint64_t size, char const **err)
{
  (void)ctx ; (void)idx ; (void)size ;
  *err = "not authenticated: log in first" ;
  return 0 ;
}

static void one (login *s)
{
  char const *err ;
  int r = imapread_command(&s->rd) ;
  s->tag = s->rd.tag[0] ? s->rd.tag : "*" ;
  switch (r)
  {
    case IMAPREAD_EOF : leave(s, "disconnect") ;
    case IMAPREAD_ERROR : ioerr(s) ;
    case IMAPREAD_BAD : bad(s, s->rd.err) ; return ;
    case IMAPREAD_NO : bad_as(s, "NO", 0, s->rd.err) ; return ;
    case IMAPREAD_FATAL :
      status(s, "*", "BYE", 0, s->rd.err) ;
      leave(s, "bad-literal") ;
    default : break ;
  }
  r = imapcmd_parse(&s->cmd, s->rd.cmd.s, s->rd.cmd.len, &err) ;
  if (r < 0) strerr_diefu1sys(111, "allocate memory") ;
  if (!r) { s->tag = s->cmd.tag[0] ? s->cmd.tag : "*" ; bad(s, err) ; return ; }
  s->tag = s->cmd.tag ;
  dispatch(s) ;
  /* a password may be in them */
  explicit_bzero(s->rd.cmd.s, s->rd.cmd.len) ;
  if (s->cmd.data.s) explicit_bzero(s->cmd.data.s, s->cmd.data.len) ;
}

static void setup (login *s, char const *const *argv)
{
  static imapread_limits const lim = { IMAPLOGIN_LINE, IMAPLOGIN_LITERAL, 4, IMAPLOGIN_TOTAL, 0, 0 } ;
  imapread_hooks const hooks = { s, 0, nomsg, 0 } ;
  s->id[0] = 0 ;
  s->tag = "*" ;
  loginbase_setup(&s->b, argv, "IMAP", 180, "STARTTLS") ;
  imapread_init(&s->rd, &s->b.io, &lim, &hooks) ;
}

int imaplogin_main (int argc, char const *const *argv)
{
  login *s = &L ;
  PROG = "imap-serve" ;
  if (argc < 2) strerr_dieusage(100, USAGE) ;
  if (setjmp(s->end))
  {
    imapread_free(&s->rd) ;
    imapcmd_free(&s->cmd) ;
    return 0 ;
  }
  signal(SIGPIPE, SIG_IGN) ;
  setup(s, argv + 1) ;
  check_locked(s, 0) ;
  caps(s, "* OK [CAPABILITY ", "] pipemail IMAP ready\r\n") ;
  for (;;) one(s) ;
}
