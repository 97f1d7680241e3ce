/* remote-send: deliver one message to the exchangers of one domain by SMTP,
   and tell the result per recipient in qmail-remote's report format
   (lib/report.h) on stdout. The exchangers come from $MXLIST (mx-lookup),
   a -r route, or a domain that is an address literal. STARTTLS as
   ROOT/etc/tls-policy says (lib/tlspolicy.h), in process (lib/tlsclient.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/ip46.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/socket.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include "report.h"
#include "root.h"
#include "smtpc.h"
#include "tls.h"
#include "tlsclient.h"
#include "tlspolicy.h"

#define USAGE "remote-send [-p PORT] [-t CONNECT_TIMEOUT] [-T CMD_TIMEOUT] [-D DATA_TIMEOUT] [-r IP[:PORT]] DOMAIN SENDER RCPT..."
#define MAXTARGETS 100
#define QUIT_TIMEOUT 5      /* for the replies to QUIT and to pipelined commands left */

/* what to do after one exchanger; GO: carry on with this one */
enum { NEXT, DONE, STOP, RETRY, GO } ;

typedef smtpc_target target ;

static unsigned int port = 25, tconn = 30, tcmd = 300, tdata = 600;
static char const *domain, *sender, *me;
static char const *const *rcpts;
static unsigned int nrcpt;
static target targets[MAXTARGETS];
static unsigned int ntargets;
static stralloc mxcopy = STRALLOC_ZERO;

/* Results: per recipient a code (0 = none yet) and text; the message entry. */
static char *rcode;
static stralloc *rtext;
static char mcode;
static stralloc mtext = STRALLOC_ZERO;
static stralloc lasterr = STRALLOC_ZERO;  /* why the last exchanger failed */
static int allperm = 1;                   /* every exchanger failed permanently */
static stralloc peer = STRALLOC_ZERO;     /* "host[ip]" */
static stralloc tmp = STRALLOC_ZERO;
static int broken;                        /* the session is out of step: no QUIT */

static int msgfd = 0;
static off_t msgstart;
static smtpc_msginfo info = SMTPC_MSGINFO_ZERO;

static int tlspol = TLSPOLICY_MAY;
static tls_tas tas = TLS_TAS_ZERO;
static int tasread;                       /* 0 not yet, 1 read, -1 failed */
static tls_client tc;
static int tlson;                         /* this session runs in TLS */
static stralloc tlslog = STRALLOC_ZERO;   /* " tls=... cipher=... verified=..." */

static void nomem(void) { strerr_diefu1sys(111, "allocate"); }

static tain const *deadline(unsigned int secs)
{
  static tain d;
  tain_now_g();
  tain_addsec_g(&d, secs);
  return &d;
}

/* ---- exchangers ---- */

static void parse_mxlist(char const *s)
{
  unsigned int line;
  char const *bad;
  char fmt[UINT_FMT];
  if (smtpc_mxlist(s, &mxcopy, targets, &ntargets, MAXTARGETS, &line, &bad)) return;
  if (!line) nomem();
  fmt[uint_fmt(fmt, line)] = 0;
  if (bad) strerr_dief(111, "invalid address in MXLIST line ", fmt, ": ", bad);
  strerr_dief(111, "malformed MXLIST line ", fmt);
}

static int needs_utf8(void)
{
  for (unsigned int i = 0; i < nrcpt; i++) if (smtpc_8bit(rcpts[i])) return 1;
  return smtpc_8bit(sender);
}

/* ---- results ---- */

static void cats(stralloc *sa, char const *s) { if (!stralloc_cats(sa, s)) nomem(); }

/* Every recipient without a result gets rc and text; the message mc. */
static void fail_all(char rc, char mc, stralloc const *text)
{
  for (unsigned int i = 0; i < nrcpt; i++)
    if (!rcode[i]) {
      rcode[i] = rc;
      if (!stralloc_copy(&rtext[i], text)) nomem();
    }
  mcode = mc;
  if (!stralloc_copy(&mtext, text)) nomem();
}

/* tmp = "PEER said: REPLY (in reply to CMD command)", or for the greeting
   "host PEER refused to talk to me: REPLY". */
static stralloc const *said(smtpc const *c, char const *cmd)
{
  tmp.len = 0;
  if (!cmd) { cats(&tmp, "host "); cats(&tmp, peer.s); cats(&tmp, " refused to talk to me: "); }
  else { cats(&tmp, peer.s); cats(&tmp, " said: "); }
  if (!smtpc_oneline(&tmp, c->reply.s, c->reply.len)) nomem();
  if (cmd) { cats(&tmp, " (in reply to "); cats(&tmp, cmd); cats(&tmp, " command)"); }
  return &tmp;
}

/* tmp = why no (complete) reply came: r is a smtpc_getreply result <= 0. */
static stralloc const *trouble(smtpc const *c, int r, char const *while_)
{
  int e = errno;
  broken = 1;
  tmp.len = 0;
  if (r == SMTPC_EOF) cats(&tmp, "4.4.2 lost connection with ");
  else if (r == SMTPC_BADREPLY) cats(&tmp, "4.5.0 protocol error from ");
  else if (e == ETIMEDOUT) cats(&tmp, "4.4.2 conversation timed out with ");
  else cats(&tmp, "4.4.2 connection trouble with ");
  cats(&tmp, peer.s);
  cats(&tmp, " while ");
  cats(&tmp, while_);
  if (r == SMTPC_BADREPLY) { cats(&tmp, ": "); cats(&tmp, c->why); }
  else if (r == SMTPC_ERROR && e == EPROTO && tlson && tc.err) {
    cats(&tmp, ": TLS error "); if (!tls_client_whyfmt(&tc, &tmp)) nomem();
  } else if (r == SMTPC_ERROR && e != ETIMEDOUT) { cats(&tmp, ": "); cats(&tmp, strerror(e)); }
  return &tmp;
}

static void next_because(stralloc const *why, int perm)
{
  if (!stralloc_copy(&lasterr, why)) nomem();
  if (!perm) allperm = 0;
}

/* The message needs an extension that the peer lacks: refuse it whole. */
static int refuse(char const *why)
{
  tmp.len = 0;
  cats(&tmp, why); cats(&tmp, peer.s);
  fail_all('h', 'D', &tmp);
  return DONE;
}

static int loops_back(int best)
{
  if (!best) return STOP;   /* we are a backup exchanger: the better ones decide */
  tmp.len = 0;
  cats(&tmp, "5.4.6 mail for "); cats(&tmp, domain); cats(&tmp, " loops back to myself");
  fail_all('h', 'D', &tmp);
  return DONE;
}

static int names_me(smtpc const *c)
{
  char const *name;
  size_t n = smtpc_replyname(c->reply.s, c->reply.len, &name);
  return n && n == strlen(me) && !strncasecmp(name, me, n);
}

/* ---- one SMTP session ---- */

static int put_rcpt(smtpc *c, unsigned int i)
{
  tain const *d = deadline(tcmd);
  return smtpc_puts(c, "RCPT TO:<", d) && smtpc_puts(c, rcpts[i], d) && smtpc_puts(c, ">\r\n", d);
}

/* The reply to RCPT i: 1 recorded, 0 no reply (every result is then set). */
static int get_rcpt(smtpc *c, unsigned int i, unsigned int *accepted)
{
  int r = smtpc_getreply(c, deadline(tcmd));
  if (r <= 0) { fail_all('s', 'Z', trouble(c, r, "waiting for the reply to RCPT TO")); return 0; }
  rcode[i] = r / 100 == 2 ? 'r' : r / 100 == 5 ? 'h' : 's';
  if (!stralloc_copy(&rtext[i], said(c, "RCPT TO"))) nomem();
  *accepted += rcode[i] == 'r';
  return 1;
}

/* MAIL, RCPT..., DATA (in one write with PIPELINING, RFC 2920), the message. */
static int transaction(smtpc *c, unsigned int ext, uint64_t size)
{
  int pipe = !!(ext & SMTPC_PIPELINING), r;
  unsigned int accepted = 0, perm = 0, i;
  char fmt[UINT64_FMT];
  tmp.len = 0;
  cats(&tmp, "MAIL FROM:<"); cats(&tmp, sender); cats(&tmp, ">");
  if (ext & SMTPC_SIZE) { fmt[uint64_fmt(fmt, size)] = 0; cats(&tmp, " SIZE="); cats(&tmp, fmt); }
  if (info.eightbit && ext & SMTPC_8BITMIME) cats(&tmp, " BODY=8BITMIME");
  if (needs_utf8()) cats(&tmp, " SMTPUTF8");
  cats(&tmp, "\r\n");
  if (!smtpc_put(c, tmp.s, tmp.len, deadline(tcmd))) goto lost;
  if (pipe) {
    for (i = 0; i < nrcpt; i++) if (!put_rcpt(c, i)) goto lost;
    if (!smtpc_puts(c, "DATA\r\n", deadline(tcmd))) goto lost;
  }
  r = smtpc_getreply(c, deadline(tcmd));
  if (r <= 0) { fail_all('s', 'Z', trouble(c, r, "waiting for the reply to MAIL FROM")); return DONE; }
  if (r / 100 != 2) {
    fail_all(r / 100 == 5 ? 'h' : 's', r / 100 == 5 ? 'D' : 'Z', said(c, "MAIL FROM"));
    return DONE;
  }
  for (i = 0; i < nrcpt; i++) {
    if (!pipe && !put_rcpt(c, i)) goto lost;
    if (!get_rcpt(c, i, &accepted)) return DONE;
  }
  if (pipe || accepted) {
    if (!pipe && !smtpc_puts(c, "DATA\r\n", deadline(tcmd))) goto lost;
    r = smtpc_getreply(c, deadline(tcmd));
    if (r <= 0) { fail_all('s', 'Z', trouble(c, r, "waiting for the reply to DATA")); return DONE; }
  }
  if (!accepted) {
    /* a server that says 354 with no recipient (RFC 2920 says it must not) gets an empty message */
    if (r == 354 && smtpc_puts(c, ".\r\n", deadline(tcmd))) smtpc_getreply(c, deadline(tcmd));
    for (i = 0; i < nrcpt; i++) perm += rcode[i] == 'h';
    tmp.len = 0;
    cats(&tmp, peer.s); cats(&tmp, " accepted no recipient");
    fail_all('s', perm == nrcpt ? 'D' : 'Z', &tmp);
    return DONE;
  }
  if (r != 354) { fail_all('s', r / 100 == 5 ? 'D' : 'Z', said(c, "DATA")); return DONE; }
  r = smtpc_data_file(c, msgfd, msgstart, tcmd);
  if (r < 0) strerr_diefu1sys(111, "read message");
  if (!r) { fail_all('s', 'Z', trouble(c, SMTPC_ERROR, "sending the message")); return DONE; }
  r = smtpc_getreply(c, deadline(tdata));
  if (r <= 0) {
    fail_all('s', 'Z', trouble(c, r, "waiting for the reply to the end of the message (it may be delivered twice)"));
    return DONE;
  }
  fail_all('s', r / 100 == 2 ? 'K' : r / 100 == 5 ? 'D' : 'Z', said(c, "end of DATA"));
  return DONE;
lost:
  fail_all('s', 'Z', trouble(c, SMTPC_ERROR, "sending commands"));
  return DONE;
}

/* "VERB ARG" or "VERB" (arg 0): the reply code, or a smtpc_getreply result <= 0. */
static int command(smtpc *c, char const *verb, char const *arg)
{
  tmp.len = 0;
  cats(&tmp, verb);
  if (arg) { cats(&tmp, " "); cats(&tmp, arg); }
  cats(&tmp, "\r\n");
  if (!smtpc_put(c, tmp.s, tmp.len, deadline(tcmd))) return SMTPC_ERROR;
  return smtpc_getreply(c, deadline(tcmd));
}

/* The reply r to cmd (0: the greeting) was not 2xx, or none came: the next exchanger. */
static int next_after(smtpc const *c, int r, char const *cmd, char const *waiting)
{
  if (r <= 0) next_because(trouble(c, r, waiting), 0);
  else next_because(said(c, cmd), r / 100 == 5);
  return NEXT;
}

/* TLS cannot be had: the next exchanger, because of text, peer, more,
   then c's reply or t's failure if given. */
static int notls(char const *text, char const *more, smtpc const *c, tls_client const *t)
{
  tmp.len = 0;
  cats(&tmp, text); cats(&tmp, peer.s); cats(&tmp, more);
  if ((c && !smtpc_oneline(&tmp, c->reply.s, c->reply.len)) || (t && !tls_client_whyfmt(t, &tmp))) nomem();
  next_because(&tmp, 0);
  return NEXT;
}

static void tas_read(void)
{
  char const *file = getenv("TLS_CAFILE");
  if (tasread) return;
  tmp.len = 0;
  cats(&tmp, "4.7.5 unable to read trust anchors from ");
  tasread = tls_tas_load(&tas, file && *file ? file : 0, &tmp) ? 1 : -1;
  if (tasread < 0 && tlspol != TLSPOLICY_VERIFY && stralloc_0(&tmp)) strerr_warnw(tmp.s + 6);
}

/* STARTTLS (RFC 3207) as the policy says, after a 2xx reply to EHLO
   (*ext). GO: carry on, in TLS (*ext and *sizemax of a new EHLO) or not;
   NEXT; or RETRY (policy "may" and the handshake failed: this exchanger
   again, without TLS). */
static int starttls(smtpc *c, int fd, target const *t, unsigned int *ext, uint64_t *sizemax)
{
  static smtpc_io io;
  int r, required = tlspol >= TLSPOLICY_ENCRYPT;
  if (!(*ext & SMTPC_STARTTLS))
    return required ? notls("4.7.4 TLS is required, but was not offered by host ", "", 0, 0) : GO;
  r = command(c, "STARTTLS", 0);
  if (r <= 0) return next_after(c, r, 0, "waiting for the reply to STARTTLS");
  /* as Postfix: with "may", a refusal means clear text on this connection */
  if (r != 220) return required ? notls("4.7.4 TLS is required, but host ", " refused to start TLS: ", c, 0) : GO;
  tas_read();
  if (!tls_client_start(&tc, fd, tasread > 0 ? &tas : 0, tlspol == TLSPOLICY_VERIFY,
                        t->named ? t->host : 0, deadline(tcmd))) {
    broken = 1;
    notls(tlspol == TLSPOLICY_VERIFY && tls_is_x509_error(tc.err) ? "4.7.5 TLS certificate verification failed for "
          : "4.7.5 TLS handshake failed with ", ": ", 0, &tc);
    if (tlspol != TLSPOLICY_MAY) return NEXT;
    if (!stralloc_0(&tmp)) nomem();
    strerr_warnw(tmp.s + 6, "; trying again without TLS");
    return RETRY;
  }
  tlson = 1;
  tlslog.len = 0;
  if (!tls_client_logfmt(&tc, &tlslog)) nomem();
  io.ctx = &tc; io.read = &tls_client_read; io.write = &tls_client_write;
  smtpc_setio(c, &io);   /* what came in the clear after 220 is dropped */
  r = command(c, "EHLO", me);
  if (r / 100 != 2) return next_after(c, r, "EHLO", "waiting for the reply to EHLO");
  *ext = smtpc_ehlo(c->reply.s, c->reply.len, sizemax);
  return GO;
}

/* Greeting, EHLO (HELO), STARTTLS, checks, then the transaction. */
static int converse(smtpc *c, int fd, target const *t, int best, int trytls)
{
  unsigned int ext = 0;
  uint64_t sizemax = 0, size = smtpc_msginfo_size(&info);
  char const *cmd = "EHLO";
  int r = smtpc_getreply(c, deadline(tcmd));
  if (r / 100 != 2) return next_after(c, r, 0, "waiting for the greeting");
  if (names_me(c)) return loops_back(best);
  r = command(c, cmd, me);
  if (r / 100 == 2) ext = smtpc_ehlo(c->reply.s, c->reply.len, &sizemax);
  else if (r / 100 == 5) r = command(c, cmd = "HELO", me);
  if (r / 100 != 2)
    return next_after(c, r, cmd, *cmd == 'E' ? "waiting for the reply to EHLO" : "waiting for the reply to HELO");
  if (names_me(c)) return loops_back(best);
  if (trytls && tlspol != TLSPOLICY_NONE && (r = starttls(c, fd, t, &ext, &sizemax)) != GO) return r;
  if (needs_utf8() && !(ext & SMTPC_SMTPUTF8))
    return refuse("5.6.7 SMTPUTF8 is required, but was not offered by host ");
  if (info.eightbit && !(ext & SMTPC_8BITMIME))   /* RFC 6152 §3 */
    return refuse("5.6.3 the message has 8-bit data, but 8BITMIME was not offered by host ");
  if (sizemax && size > sizemax) {
    char a[UINT64_FMT], b[UINT64_FMT];
    a[uint64_fmt(a, size)] = 0;
    b[uint64_fmt(b, sizemax)] = 0;
    tmp.len = 0;
    cats(&tmp, "5.3.4 message size "); cats(&tmp, a); cats(&tmp, " exceeds size limit ");
    cats(&tmp, b); cats(&tmp, " of server "); cats(&tmp, peer.s);
    fail_all('h', 'D', &tmp);
    return DONE;
  }
  return transaction(c, ext, size);
}

static int session(target const *t, int best, int trytls)
{
  smtpc c;
  smtpc_fdio fdio;
  smtpc_io io;
  int r, r2, fd;
  char fmt[UINT_FMT];
  peer.len = 0;
  cats(&peer, t->host); cats(&peer, "["); cats(&peer, t->ipfmt); cats(&peer, "]");
  if (!stralloc_0(&peer)) nomem();
  tlson = 0;
  tlslog.len = 0;
  if (port == 25 && smtpc_ip_is_mine(&t->ip)) return loops_back(best);
  if (tlspol == TLSPOLICY_VERIFY && !t->named)
    return notls("4.7.5 TLS policy verify needs a host name to check the certificate of ", "", 0, 0);
  fd = socket_tcp46_nbcoe(t->ip.is6);
  if (fd < 0) strerr_diefu1sys(111, "create a socket");
  if (!socket_deadlineconnstamp46_g(fd, &t->ip, port, deadline(tconn))) {
    fmt[uint_fmt(fmt, port)] = 0;
    tmp.len = 0;
    cats(&tmp, "4.4.1 connect to "); cats(&tmp, peer.s); cats(&tmp, ":"); cats(&tmp, fmt);
    cats(&tmp, ": "); cats(&tmp, strerror(errno));
    next_because(&tmp, 0);
    fd_close(fd);
    return NEXT;
  }
  smtpc_fdio_init(&io, &fdio, fd, fd);
  smtpc_init(&c, &io);
  broken = 0;
  r = converse(&c, fd, t, best, trytls);
  if (!broken) {
    /* Read the replies still due (pipelining) and that to QUIT, briefly:
       closing with unread input would reset the connection, and the peer
       might then lose our QUIT. */
    tain d = *deadline(QUIT_TIMEOUT);
    if (smtpc_puts(&c, "QUIT\r\n", &d))
      while ((r2 = smtpc_getreply(&c, &d)) > 0 && r2 != 221) ;
    if (tlson) tls_client_close(&tc, &d);
  }
  smtpc_free(&c);
  fd_close(fd);
  return r;
}

/* ---- main ---- */

static void check_addr(char const *what, char const *a)
{
  int r = smtpc_addr_check(a);
  if (!r) strerr_dief(100, what, " address too long");
  if (r < 0) strerr_dief(100, "invalid ", what, " address: ", a);
}

static void log_result(target const *t)
{
  unsigned int n[3] = { 0, 0, 0 };
  char f[3][UINT_FMT];
  char const *status;
  for (unsigned int i = 0; i < nrcpt; i++) {
    char rc = rcode[i] == 'r' ? mcode : rcode[i];
    n[rc == 'K' ? 0 : rc == 'h' || rc == 'D' ? 1 : 2]++;
  }
  for (int i = 0; i < 3; i++) f[i][uint_fmt(f[i], n[i])] = 0;
  status = n[0] == nrcpt ? "sent" : n[1] == nrcpt ? "bounced" : n[2] == nrcpt ? "deferred" : "partial";
  if (!stralloc_0(&mtext) || !stralloc_0(&tlslog)) nomem();
  strerr_warni("domain=", domain, " host=", t ? t->host : "", " ip=", t ? t->ipfmt : "", tlslog.s,
               " status=", status, " sent=", f[0], " bounced=", f[1], " deferred=", f[2], " reason=", mtext.s);
}

int main(int argc, char const *const *argv)
{
  subgetopt l = SUBGETOPT_ZERO;
  char const *route = 0, *mxlist;
  stralloc report = STRALLOC_ZERO, polfile = STRALLOC_ZERO;
  target const *last = 0;
  ip46 lit;
  unsigned int i;
  int r;
  PROG = "remote-send";
  for (;;) {
    int opt = subgetopt_r(argc, argv, "p:t:T:D:r:", &l);
    unsigned int *u = 0;
    if (opt == -1) break;
    switch (opt) {
      case 'p': u = &port; break;
      case 't': u = &tconn; break;
      case 'T': u = &tcmd; break;
      case 'D': u = &tdata; break;
      case 'r': route = l.arg; break;
      default: strerr_dieusage(100, USAGE);
    }
    if (u && (!*l.arg || l.arg[uint_scan(l.arg, u)] || !*u)) strerr_dieusage(100, USAGE);
  }
  argc -= l.ind; argv += l.ind;
  if (argc < 3 || port > 65535) strerr_dieusage(100, USAGE);
  domain = argv[0]; sender = argv[1]; rcpts = argv + 2; nrcpt = argc - 2;
  check_addr("sender", sender);
  for (i = 0; i < nrcpt; i++) check_addr("recipient", rcpts[i]);
  me = pm_me();
  for (char const *p = me; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f) strerr_dief(111, "invalid host name in etc/me: ", me);
  sig_ignore(SIGPIPE);

  mxlist = getenv("MXLIST");
  if (route && !smtpc_scan_route(route, &lit, &port))
    strerr_dief(100, "invalid route (IP[:PORT] or [IP]:PORT): ", route);
  if (route || (!mxlist && smtpc_scan_literal(domain, &lit)))
    smtpc_target_add(targets, &ntargets, MAXTARGETS, 0, 0, &lit);
  else if (mxlist) parse_mxlist(mxlist);
  else
    strerr_dief(111, "no exchangers for ", domain, ": MXLIST is not set, no -r route, and it is not an address literal");
  if (!ntargets) strerr_dief(111, "no exchangers for ", domain, " in MXLIST");

  rcode = calloc(nrcpt, 1);
  rtext = calloc(nrcpt, sizeof *rtext);
  if (!rcode || !rtext) nomem();
  if (!smtpc_msg_open(0, &msgfd, &msgstart, &info)) strerr_diefu1sys(111, "read the message");

  /* a policy or trust anchors that cannot be used defer the message */
  if (!pm_path(&polfile, "etc/tls-policy")) nomem();
  tmp.len = 0;
  cats(&tmp, "4.3.5 unable to use ");
  r = tlspolicy_get(polfile.s, domain, &tlspol, &tmp);
  stralloc_free(&polfile);
  if (!r) fail_all('s', 'Z', &tmp);
  else if (tlspol == TLSPOLICY_VERIFY && (tas_read(), tasread < 0)) fail_all('s', 'Z', &tmp);
  for (i = 0; i < ntargets && !mcode; i++) {
    last = targets + i;
    r = session(last, targets[i].pref == targets[0].pref, 1);
    if (r == RETRY) r = session(last, targets[i].pref == targets[0].pref, 0);
    if (r != NEXT) break;   /* DONE, or STOP: the better exchangers' failures stand */
  }
  if (!mcode) fail_all(allperm ? 'h' : 's', allperm ? 'D' : 'Z', &lasterr);

  for (i = 0; i < nrcpt; i++)
    if (!report_add(&report, rcode[i], rtext[i].s, rtext[i].len)) nomem();
  if (!report_add(&report, mcode, mtext.s, mtext.len)) nomem();
  log_result(last);
  if (allwrite(1, report.s, report.len) != report.len) strerr_diefu1sys(111, "write report");
  stralloc_free(&report);
  return 0;
}
