/* Before login: it never opens a mailbox (and, as root, drops its ids:
   lib/pop3auth). A login runs the checkpassword program (qmail-popup's
   way), which execs the mailbox part as the mailbox's owner on success;
   that process then talks to the client and this one only waits for it.
   A failed login (exit 1) comes back here, so that the client may try
   again, up to a bound. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "lineio.h"
#include "loginbase.h"
#include "pop3.h"
#include "pop3auth.h"
#include "pop3login.h"
#include "root.h"
#include "sasl.h"
#include "srvconn.h"

#define USAGE "pop3-serve checkpassword [args...]"
#define USERMAX 255
#define AUTHFAILMAX 3
#define PIPELINEMAX 4096      /* commands sent after a login's before its reply */
#define strerr_warni(...) strerr_warn(PROG, ": info: ", __VA_ARGS__)

typedef struct login_s login ;
struct login_s {
  loginbase b ;
  char user[USERMAX + 1] ;   /* from USER; "" if none */
  jmp_buf end ;              /* leave() returns from pop3login_main through it */
} ;

static login L ;

static void leave (login *s, char const *why) gccattr_noreturn ;
static void leave (login *s, char const *why)
{
  lineio_flush(&s->b.io) ;
  strerr_warni("session=", s->b.c.id, " ip=", s->b.c.ip ? s->b.c.ip : "unknown", " status=end reason=", why) ;
  /* back to pop3login_main, which returns (a fuzzer runs many sessions) */
  longjmp(s->end, 1) ;
}

static void say (login *s, char const *text)
{
  if (!pop3_say(&s->b.io, text)) leave(s, errno == ETIMEDOUT ? "timeout" : "disconnect") ;
}

static void bad (login *s, char const *text)
{
  if (++s->b.errors >= POP3_ERRMAX)
  {
    say(s, "-ERR too many errors, closing connection") ;
    leave(s, "errors") ;
  }
  say(s, text) ;
}

static char const *peerip (login const *s) { return loginbase_ip(&s->b) ; }

static void check_locked (login *s)
{
  if (!loginbase_locked(&s->b)) return ;
  say(s, "-ERR [AUTH] too many failed logins from your address, try again later") ;
  leave(s, "locked-out") ;
}

static int may_login (login *s)
{
  return s->b.c.tls || s->b.plaintext ;
}

static int user_ok (char const *u, size_t n) { return loginbase_user_ok(u, n, USERMAX) ; }

/* Give user and pass to the checkpassword program (lib/pop3auth). Returns
   only after a failed login; a successful one ends with the session. */
static void do_login (login *s, char const *mech, char const *user, char const *pass)
{
  pop3auth_req r = { .user = user, .pass = pass, .tlsproto = s->b.stlsdone ? s->b.c.tlsproto : 0 } ;
  char *input ;
  char const *env[2] = { "POP3_INPUT", 0 } ;
  int st ;
  if (!pop3auth_pipelined(&s->b.io, "POP3_INPUT=", PIPELINEMAX, &input)) { say(s, "-ERR too many pipelined commands") ; leave(s, "pipelining") ; }
  if (input) env[0] = input ;
  r.env = env ;
  if (!lineio_flush(&s->b.io)) leave(s, "disconnect") ;
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
      say(s, "-ERR [SYS/PERM] login is misconfigured") ;
      leave(s, "misuse") ;
    default :
      say(s, "-ERR [SYS/TEMP] temporary failure, try again later") ;
      leave(s, st == POP3AUTH_CRASH ? "crash" : "tempfail") ;
  }
  loginbase_failed(&s->b, mech, user) ;
  check_locked(s) ;
  if (++s->b.fails >= AUTHFAILMAX)
  {
    say(s, "-ERR [AUTH] authentication failed, closing connection") ;
    leave(s, "authfail") ;
  }
  say(s, "-ERR [AUTH] authentication failed") ;
}

static void c_capa (login *s, char *arg)
{
  (void)arg ;
  if (!pop3_capa(&s->b.io, 1, may_login(s), s->b.c.starttls > 0)) leave(s, "disconnect") ;
}

static void c_user (login *s, char *arg)
{
  if (!may_login(s)) { bad(s, "-ERR [AUTH] plaintext login refused: STLS first") ; return ; }
  if (!user_ok(arg, strlen(arg))) { bad(s, "-ERR syntax: USER name") ; return ; }
  strcpy(s->user, arg) ;
  say(s, "+OK send PASS") ;
}

static void c_pass (login *s, char *arg)
{
  if (!s->user[0]) { bad(s, "-ERR USER first") ; return ; }
  if (!*arg) { bad(s, "-ERR syntax: PASS password") ; return ; }
  do_login(s, "LOGIN", s->user, arg) ;
  explicit_bzero(arg, strlen(arg)) ;   /* the password stays in no buffer */
  s->user[0] = 0 ;
}

/* AUTH PLAIN's response (base64, wiped here). */
static void auth_plain (login *s, char *resp)
{
  size_t len = strlen(resp) ;
  char dec[POP3_LINEMAX / 4 * 3 + 1] ;
  char user[USERMAX + 1], pass[SASL_PASSMAX + 1] ;
  sasl_cred cr ;
  ssize_t n ;
  if (len == 1 && resp[0] == '*') { bad(s, "-ERR AUTH cancelled") ; return ; }
  n = sasl_b64decode(dec, resp, len) ;
  explicit_bzero(resp, len) ;
  if (n < 0) { bad(s, "-ERR cannot decode the response (base64)") ; return ; }
  switch (sasl_plain(dec, n, &cr))
  {
    case SASL_OK : break ;
    case SASL_AUTHZID : bad(s, "-ERR [AUTH] acting for another user is not supported") ; goto wipe ;
    default : bad(s, "-ERR malformed AUTH PLAIN response") ; goto wipe ;
  }
  if (!user_ok(cr.user, cr.userlen) || !cr.passlen || cr.passlen > SASL_PASSMAX)
  {
    bad(s, "-ERR [AUTH] unusable user name or password") ;
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

static void c_auth (login *s, char *arg)
{
  char *resp ;
  if (!*arg)   /* the mechanisms (RFC 1734's AUTH with no argument) */
  {
    if (may_login(s)) say(s, "+OK\r\nPLAIN\r\n.") ;
    else say(s, "+OK\r\n.") ;
    return ;
  }
  resp = strchr(arg, ' ') ;
  if (resp) *resp++ = 0 ;
  if (strcasecmp(arg, "PLAIN")) { bad(s, "-ERR unsupported SASL mechanism") ; return ; }
  if (!may_login(s)) { bad(s, "-ERR [AUTH] plaintext login refused: STLS first") ; return ; }
  if (!resp)
  {
    char *line ;
    size_t len ;
    int r ;
    say(s, "+ ") ;
    r = lineio_getline(&s->b.io, POP3_LINEMAX, &line, &len) ;
    if (r < 0) leave(s, errno == ETIMEDOUT ? "timeout" : "read error") ;
    if (r == LINEIO_EOF) leave(s, "disconnect") ;
    if (r == LINEIO_TOOLONG || memchr(line, 0, len)) { bad(s, "-ERR malformed AUTH PLAIN response") ; return ; }
    line[len] = 0 ;
    resp = line ;
  }
  auth_plain(s, resp) ;
}

static void c_stls (login *s, char *arg)
{
  size_t dropped = 0 ;
  if (*arg) { bad(s, "-ERR syntax: STLS takes no argument") ; return ; }
  if (s->b.c.tls) { bad(s, "-ERR already under TLS") ; return ; }
  if (s->b.c.starttls <= 0) { bad(s, "-ERR STLS not available") ; return ; }
  say(s, "+OK begin TLS negotiation") ;
  if (!srvconn_starttls(&s->b.c, &s->b.io, s->b.timeout, &dropped)) leave(s, "tls-failed") ;
  s->b.stlsdone = 1 ;
  s->user[0] = 0 ;   /* RFC 2595 4: nothing from before TLS is kept */
}

static void c_quit (login *s, char *arg)
{
  (void)arg ;
  say(s, "+OK bye") ;
  leave(s, "quit") ;
}

static void c_later (login *s, char *arg)
{
  (void)arg ;
  bad(s, "-ERR not logged in") ;
}

static struct { char const *verb ; void (*f)(login *, char *) ; } const cmds[] = {
  { "CAPA", c_capa }, { "USER", c_user }, { "PASS", c_pass }, { "AUTH", c_auth },
  { "STLS", c_stls }, { "QUIT", c_quit },
  { "STAT", c_later }, { "LIST", c_later }, { "UIDL", c_later }, { "RETR", c_later },
  { "TOP", c_later }, { "DELE", c_later }, { "RSET", c_later }, { "NOOP", c_later },
} ;

static void dispatch (login *s, char *line)
{
  char verb[5], *arg ;
  if (pop3_cmd(line, verb, &arg))
    for (size_t i = 0 ; i < sizeof cmds / sizeof *cmds ; i++)
      if (!strcmp(verb, cmds[i].verb)) { cmds[i].f(s, arg) ; return ; }
  bad(s, "-ERR unknown command") ;
}

int pop3login_main (int argc, char const *const *argv)
{
  login *s = &L ;
  PROG = "pop3-serve" ;
  if (argc < 2) strerr_dieusage(100, USAGE) ;
  s->user[0] = 0 ;
  if (setjmp(s->end)) return 0 ;
  signal(SIGPIPE, SIG_IGN) ;
  loginbase_setup(&s->b, argv + 1, "POP3", 60, "STLS") ;
  check_locked(s) ;
  say(s, "+OK pipemail POP3 server ready") ;
  for (;;)
  {
    char *line ;
    size_t len ;
    int r = lineio_getline(&s->b.io, POP3_LINEMAX, &line, &len) ;
    if (r < 0) leave(s, errno == ETIMEDOUT ? "timeout" : "read error") ;
    if (r == LINEIO_EOF) leave(s, "disconnect") ;
    if (r == LINEIO_TOOLONG) { bad(s, "-ERR line too long") ; continue ; }
    if (memchr(line, 0, len)) { bad(s, "-ERR NUL byte in command") ; continue ; }
    line[len] = 0 ;
    dispatch(s, line) ;
  }
}
