/* SMTP AUTH: see smtpauth.h. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "checkpw.h"
#include "root.h"
#include "sasl.h"
#include "smtpauth.h"

#define DECMAX (SMTPAUTH_LINEMAX / 4 * 3)
#define LOGUSER 64        /* bytes of a login name shown in the log */

void smtpauth_init(smtpauth *a, char const *const *prog)
{
  a->prog = prog && prog[0] ? prog : 0;
  a->delay = pm_env_ulong("AUTH_FAIL_DELAY", 1000);
  a->timeout = pm_env_ulong("AUTH_TIMEOUT", 30);
  if (!a->timeout) a->timeout = 30;
  authfail_init(&a->fail);
}

/* The client's name for the log, as Postfix writes it: HOST[IP]. */
static char const *peerip(srvconn const *c) { return c->ip ? c->ip : "unknown"; }

int smtpauth_locked(smtpauth const *a, srvconn const *c)
{
  long r = authfail_locked(&a->fail, peerip(c));
  if (r < 0) strerr_warnwusys("read the table of failed authentications ", a->fail.path);
  if (r <= 0) return 0;
  strerr_warni("session=", c->id, " ip=", peerip(c), " auth=locked-out");
  return 1;
}

/* One line of the exchange into dec (decoded); the line is wiped.
   Returns the decoded length, or -1 with *kind and *reply set. */
static ssize_t response(lineio *io, char *dec, int *kind, char const **reply)
{
  char *line;
  size_t len;
  ssize_t n;
  int r = lineio_getline(io, SMTPAUTH_LINEMAX, &line, &len);
  if (r == LINEIO_LINE) {
    if (len == 1 && line[0] == '*') {
      *kind = SMTPAUTH_BAD; *reply = "501 5.0.0 authentication cancelled";
      return -1;
    }
    n = sasl_b64decode(dec, line, len);
    explicit_bzero(line, len);
    if (n < 0) { *kind = SMTPAUTH_BAD; *reply = "501 5.5.2 cannot decode the response (base64)"; }
    return n;
  }
  if (r == LINEIO_TOOLONG) { *kind = SMTPAUTH_BAD; *reply = "500 5.5.6 authentication exchange line is too long"; }
  else { *kind = SMTPAUTH_IOERR; if (r == LINEIO_EOF) errno = EPIPE; }
  return -1;
}

/* The initial response given on the AUTH line ("=": empty), or the
   response to the challenge ch. */
static ssize_t first(lineio *io, char *ir, char const *ch, char *dec, int *kind, char const **reply)
{
  ssize_t n;
  if (!ir) {
    if (!lineio_puts(io, ch) || !lineio_put(io, "\r\n", 2)) { *kind = SMTPAUTH_IOERR; return -1; }
    return response(io, dec, kind, reply);
  }
  if (!strcmp(ir, "=")) return 0;
  if (!strcmp(ir, "*")) { *kind = SMTPAUTH_BAD; *reply = "501 5.0.0 authentication cancelled"; return -1; }
  n = sasl_b64decode(dec, ir, strlen(ir));
  if (n < 0) { *kind = SMTPAUTH_BAD; *reply = "501 5.5.2 cannot decode the response (base64)"; }
  return n;
}

/* Login name for the log: printable, no <>, bounded. */
static void logname(char *out, char const *s, size_t n)
{
  if (n > LOGUSER) n = LOGUSER;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = s[i];
    out[i] = ch <= 32 || ch >= 127 || ch == '<' || ch == '>' ? '?' : (char)ch;
  }
  out[n] = 0;
}

static void pause_ms(unsigned long ms)
{
  struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 } ;
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) ;
}

/* Run the program; set *reply; log. */
static int check(smtpauth const *a, srvconn const *c, char const *mech, sasl_cred const *cr,
                 stralloc *user, char const **reply)
{
  char name[LOGUSER + 1], nb[ULONG_FMT];
  long n;
  int r = checkpw_run(a->prog, cr->user, cr->userlen, cr->pass, cr->passlen, a->timeout);
  logname(name, cr->user, cr->userlen);
  if (!r) {
    if (!stralloc_copyb(user, cr->user, cr->userlen) || !stralloc_0(user)) strerr_diefu1sys(111, "allocate memory");
    user->len--;
    authfail_clear(&a->fail, peerip(c));
    strerr_warni("session=", c->id, " ip=", peerip(c), " auth=ok mech=", mech, " user=<", name, ">");
    *reply = "235 2.7.0 authentication successful";
    return SMTPAUTH_OK;
  }
  if (r != 1) {
    char code[INT_FMT];
    code[int_fmt(code, r)] = 0;
    strerr_warnw("session=", c->id, " ip=", peerip(c), " auth=tempfail mech=", mech, " user=<", name,
                 "> program=", a->prog[0], r < 0 ? " error=" : " exit=", r < 0 ? strerror(errno) : code);
    *reply = "454 4.7.0 temporary authentication failure, try again later";
    return SMTPAUTH_NO;
  }
  n = authfail_add(&a->fail, peerip(c));
  if (n < 0) strerr_warnwusys("update the table of failed authentications ", a->fail.path);
  nb[ulong_fmt(nb, n > 0 ? (unsigned long)n : 1)] = 0;
  pause_ms((unsigned long)a->delay << (n > 4 ? 3 : n > 1 ? n - 1 : 0));
  strerr_warnw("session=", c->id, " client=", c->host ? c->host : "unknown", "[", peerip(c),
               "]: SASL ", mech, " authentication failed: user=<", name, "> failures=", nb);
  *reply = "535 5.7.8 authentication credentials invalid";
  return SMTPAUTH_NO;
}

/* Decode the mechanism's messages into dec and cr. -1 with *kind set, or 0. */
static int converse(lineio *io, int login, char *ir, char *dec, sasl_cred *cr, int *kind, char const **reply)
{
  ssize_t n;
  if (!login) {
    if ((n = first(io, ir, "334 ", dec, kind, reply)) < 0) return -1;
    switch (sasl_plain(dec, (size_t)n, cr)) {
      case SASL_OK: return 0;
      case SASL_AUTHZID: *kind = SMTPAUTH_NO; *reply = "535 5.7.8 authorization identity must be the user's own"; return -1;
      case SASL_TOOLONG: *kind = SMTPAUTH_BAD; *reply = "501 5.5.2 user name or password too long"; return -1;
      default: *kind = SMTPAUTH_BAD; *reply = "501 5.5.2 malformed PLAIN response (authzid NUL user NUL password)"; return -1;
    }
  }
  /* LOGIN: the name in dec[0..], the password after it */
  if ((n = first(io, ir, "334 VXNlcm5hbWU6", dec, kind, reply)) < 0) return -1;   /* Username: */
  if (!sasl_userok(dec, (size_t)n)) { *kind = SMTPAUTH_BAD; *reply = "501 5.5.2 bad user name (empty, too long, or NUL)"; return -1; }
  cr->user = dec;
  cr->userlen = (size_t)n;
  if ((n = first(io, 0, "334 UGFzc3dvcmQ6", dec + cr->userlen, kind, reply)) < 0) return -1;   /* Password: */
  if (!sasl_passok(dec + cr->userlen, (size_t)n)) { *kind = SMTPAUTH_BAD; *reply = "501 5.5.2 bad password (too long, or NUL)"; return -1; }
  cr->pass = dec + cr->userlen;
  cr->passlen = (size_t)n;
  return 0;
}

int smtpauth_run(smtpauth const *a, lineio *io, srvconn const *c, char *arg,
                 stralloc *user, char const **reply)
{
  char dec[SASL_USERMAX + DECMAX];
  sasl_cred cr;
  char *ir = 0, *mech = arg;
  size_t m = strcspn(arg, " ");
  int kind = SMTPAUTH_BAD, login;
  if (arg[m]) { arg[m] = 0; ir = arg + m + 1; }
  login = !strcasecmp(mech, "LOGIN");
  if (!login && strcasecmp(mech, "PLAIN")) {
    if (ir) explicit_bzero(ir, strlen(ir));
    *reply = "504 5.5.4 unrecognized authentication mechanism (PLAIN, LOGIN)";
    return SMTPAUTH_NO;
  }
  if (smtpauth_locked(a, c)) {
    if (ir) explicit_bzero(ir, strlen(ir));
    *reply = "421 4.7.0 too many failed authentications from your address, try again later";
    return SMTPAUTH_LOCKED;
  }
  if (!converse(io, login, ir, dec, &cr, &kind, reply))
    kind = check(a, c, login ? "LOGIN" : "PLAIN", &cr, user, reply);
  if (ir) explicit_bzero(ir, strlen(ir));
  explicit_bzero(dec, sizeof dec);
  return kind;
}
