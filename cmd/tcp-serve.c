/* tcp-serve: a UCSPI-TCP server. Accepts connections on IP:PORT and runs
   PROG... once per connection with the socket on fd 0 and 1 and the peer
   described in PROTO, TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT.
   When PROG is our own smtp-recv, its code runs without an exec
   (builtin.h): same argv, environment and fds, a fraction of the CPU; and
   in workers (qworker.h) that serve up to -S sessions one after another,
   which spares the fork and exit of a process per connection.
   A connection over a limit (-C per address, -c in all) is held a short
   while (-W) and served as soon as a session ends: a child is counted
   until it is reaped, which comes a moment after its client saw the end
   (tls-serve and its PROG still exiting), and a client that reconnects at
   once must not be refused for that. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/alloc.h>
#include <skalibs/cdb.h>
#include <skalibs/djbunix.h>
#include <skalibs/exec.h>
#include <skalibs/iopause.h>
#include <skalibs/ip46.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/socket.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include <s6/accessrules.h>
#include "builtin.h"
#include "qworker.h"
#include "smtprecv.h"
#include "tlsserve.h"

#define USAGE "tcp-serve [-v] [-E] [-S sessions] [-I idle] [-c maxchild] [-C maxperip] [-W wait] [-R reply] [-d notif] [-x rules.cdb] [-t timeout] [-b backlog] ip port prog..."
#define MAXCHILD_MAX 65535
#define HELD_MAX 256       /* connections held at once, at most */
#define REPLY_MAX 512      /* -R's text */
#define DRAIN_MAX 4        /* reads of what a refused client sent */

struct child {
  pid_t pid;
  ip46 ip;
};

/* A connection accepted over a limit, waiting for a session to end. */
struct held {
  int fd;
  ip46 ip;
  uint16_t port;
  tain until;
};

static struct child *children;
static struct held *held;
static unsigned int nheld, maxheld;
static unsigned int waitms = 2000; /* -W: how long a connection is held */
static char reply[REPLY_MAX + 2];  /* -R: TEXT CRLF, written to a refused client */
static size_t replylen;
static unsigned int nchild, maxchild = 40, maxperip = 20;
static char const *rulesfile;
static cdb rules = CDB_ZERO;
static s6_accessrules_params_t params = S6_ACCESSRULES_PARAMS_ZERO;
static stralloc modifs = STRALLOC_ZERO;
static int verbose;                /* -v: a line per connection */
static builtin_main_func *builtin; /* PROG's code, run without exec */
static int listen_fd = -1;
static unsigned int sessions = QWORKER_JOBS; /* -S: per worker; 1: a fork each */
static unsigned int maxidle = 60;  /* -I: seconds an idle worker is kept */

/* IPv4-mapped IPv6 addresses (from a dual-stack "::" socket) are IPv4
   clients: show and match them as such. */
static void ip46_normalize(ip46 *ip)
{
  static char const mapped[12] = { 0,0,0,0,0,0,0,0,0,0,(char)0xff,(char)0xff };
  if (ip->is6 && !memcmp(ip->ip, mapped, 12)) {
    char v4[4];
    memcpy(v4, ip->ip + 12, 4);
    ip46full_from_ip4(ip, v4);
  }
}

static int ip46_same(ip46 const *a, ip46 const *b)
{
  return a->is6 == b->is6 && !memcmp(a->ip, b->ip, a->is6 ? 16 : 4);
}

static void log_conn(pid_t pid, ip46 const *ip, uint16_t port, char const *action)
{
  if (!verbose && pid) return;     /* refusals are always logged */
  char fpid[PID_FMT], fip[IP46_FMT], fport[UINT16_FMT];
  fpid[pid_fmt(fpid, pid)] = 0;
  fip[ip46_fmt(fip, ip)] = 0;
  fport[uint16_fmt(fport, port)] = 0;
  strerr_warni("pid=", fpid, " ip=", fip, " port=", fport, " action=", action);
}

static void load_rules(void)
{
  cdb c = CDB_ZERO;
  if (!cdb_init(&c, rulesfile)) {
    if (!rules.map) strerr_diefusys(111, "open ", rulesfile);
    strerr_warnwusys("reload ", rulesfile, " (keeping the old rules)");
    return;
  }
  if (rules.map) cdb_free(&rules);
  rules = c;
}

/* s6-tcpserver-access semantics: only an explicit allow lets a client in. */
static int allowed(ip46 const *ip)
{
  params.env.len = 0;
  params.exec.len = 0;
  switch (s6_accessrules_ip46_cdb(ip, &rules, &params)) {
  case S6_ACCESSRULES_ALLOW:
    /* An "exec" override would replace PROG: not supported, so fail closed. */
    if (params.exec.len) { strerr_warnw("rule with an exec file: denied (unsupported)"); return 0; }
    return 1;
  case S6_ACCESSRULES_ERROR: strerr_warnwusys("read ", rulesfile); return 0;
  default: return 0;
  }
}

static int addvar(char const *name, char const *value)
{
  return stralloc_cats(&modifs, name) && stralloc_catb(&modifs, "=", 1)
      && stralloc_cats(&modifs, value) && stralloc_0(&modifs);
}

/* The child's environment changes: UCSPI variables, then the rule's. */
static int make_modifs(ip46 const *rip, uint16_t rport, ip46 const *lip, uint16_t lport)
{
  char fip[IP46_FMT], fport[UINT16_FMT];
  modifs.len = 0;
  /* Unset what an outer UCSPI server may have left and we do not provide. */
  if (!stralloc_catb(&modifs, "TCPREMOTEHOST\0TCPREMOTEINFO\0TCPLOCALHOST\0", 41)) return 0;
  fip[ip46_fmt(fip, rip)] = 0;
  fport[uint16_fmt(fport, rport)] = 0;
  if (!addvar("PROTO", "TCP") || !addvar("TCPREMOTEIP", fip) || !addvar("TCPREMOTEPORT", fport)) return 0;
  fip[ip46_fmt(fip, lip)] = 0;
  fport[uint16_fmt(fport, lport)] = 0;
  if (!addvar("TCPLOCALIP", fip) || !addvar("TCPLOCALPORT", fport)) return 0;
  return stralloc_catb(&modifs, params.env.s, params.env.len);
}

/* What the builtin child would otherwise have lost to exec: our
   descriptors (the selfpipe, the listening socket) and signal handling. */
static void child_builtin(char const *const *argv)
{
  fd_close(listen_fd);
  builtin_reset_signals();
  for (size_t i = 0; i < modifs.len; i += strlen(modifs.s + i) + 1)
    if (!builtin_setenv(modifs.s + i)) strerr_diefu(111, "set the environment");
  builtin_run(builtin, argv);
}

static void child_exec(int s, char const *const *argv)
{
  selfpipe_finish();
  sig_blocknone();
  if (dup2(s, 0) < 0 || dup2(s, 1) < 0) strerr_diefusys(111, "dup2 socket");
  fd_close(s);
  if (builtin) child_builtin(argv);
  xmexec_m(argv, modifs.s, modifs.len);
}

/* The session in an idle worker (or a new one): its pid, 0 if none can
   take it (the caller forks). */
static pid_t in_worker(int s, char const *const *argv)
{
  char const *mods[64];
  unsigned int n = 0;
  for (size_t i = 0; i < modifs.len; i += strlen(modifs.s + i) + 1) {
    if (n == sizeof mods / sizeof *mods) return 0;
    mods[n++] = modifs.s + i;
  }
  return qworker_run(builtin, argv, mods, n, s, s, 0);
}

static unsigned int count_ip(ip46 const *ip)
{
  unsigned int i, n = 0;
  for (i = 0; i < nchild; i++) n += ip46_same(&children[i].ip, ip);
  return n;
}

/* PROG for this client (the rule's environment is in params). */
static void start(int s, ip46 const *rip, uint16_t rport, char const *const *argv)
{
  ip46 lip;
  uint16_t lport;
  pid_t pid;
  if (socket_local46(s, &lip, &lport) < 0) { strerr_warnwusys("getsockname"); goto close; }
  ip46_normalize(&lip);
  if (!make_modifs(rip, rport, &lip, lport)) { strerr_warnwusys("build environment"); goto close; }
  if (builtin == &tlsserve_main) tlsserve_preload();   /* a renewed certificate is used at once */
  pid = builtin == &smtprecv_main && sessions > 1 ? in_worker(s, argv) : 0;   /* never tls-serve */
  if (!pid) pid = fork();
  if (pid < 0) { strerr_warnwusys("fork"); goto close; }
  if (!pid) child_exec(s, argv);
  children[nchild].pid = pid;
  children[nchild++].ip = *rip;
  log_conn(pid, rip, rport, "start");
close:
  fd_close(s);
}

/* -R's reply, without waiting on the client: a full socket buffer gets
   nothing. What the client sent is read first, as far as it is there
   already, so that the close sends a FIN, not a reset that could make
   its system throw the reply away. */
static void refuse(int s, ip46 const *ip, uint16_t port, char const *action)
{
  log_conn(0, ip, port, action);
  if (replylen) {
    char buf[4096];
    for (unsigned int i = 0; i < DRAIN_MAX && recv(s, buf, sizeof buf, MSG_DONTWAIT) > 0; i++) ;
    if (send(s, reply, replylen, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN && errno != EWOULDBLOCK
        && errno != EPIPE && errno != ECONNRESET)
      strerr_warnwusys("write the reply");
  }
  fd_close(s);
}

static int over(ip46 const *ip) { return nchild >= maxchild || count_ip(ip) >= maxperip; }
static char const *why(void) { return nchild >= maxchild ? "full" : "toomany"; }

static void handle(int s, ip46 *rip, uint16_t rport, char const *const *argv)
{
  tain d;
  ip46_normalize(rip);
  if (rulesfile && !allowed(rip)) { log_conn(0, rip, rport, "deny"); fd_close(s); return; }
  if (!over(rip)) { start(s, rip, rport, argv); return; }
  if (nheld >= maxheld) { refuse(s, rip, rport, why()); return; }
  held[nheld].fd = s;
  held[nheld].ip = *rip;
  held[nheld].port = rport;
  tain_from_millisecs(&d, waitms);
  tain_add_g(&held[nheld++].until, &d);
}

/* Serve the held connections that fit now, oldest first; refuse those
   whose wait is over. The rules are looked up again: they may have
   changed, and params holds another client's. */
static void serve_held(char const *const *argv)
{
  unsigned int i = 0;
  while (i < nheld) {
    struct held h = held[i];
    int fits = !over(&h.ip);
    if (!fits && tain_future(&h.until)) { i++; continue; }
    memmove(held + i, held + i + 1, (nheld - i - 1) * sizeof *held);
    nheld--;
    if (!fits) refuse(h.fd, &h.ip, h.port, why());
    else if (rulesfile && !allowed(&h.ip)) { log_conn(0, &h.ip, h.port, "deny"); fd_close(h.fd); }
    else start(h.fd, &h.ip, h.port, argv);
  }
}

/* Room for one more connection: a free slot, or (-R) room to hold it,
   and refuse it with the reply when there is none. */
static int accepting(void) { return nchild < maxchild || replylen; }

/* A session ended: its process exited, or its worker answered. */
static void ended(pid_t pid, int wstat)
{
  char fpid[PID_FMT], fst[UINT_FMT];
  unsigned int i;
  for (i = 0; i < nchild && children[i].pid != pid; i++) ;
  if (i == nchild) return;            /* no session of ours */
  children[i] = children[--nchild];
  if (!verbose && !wstat) return;     /* the rest is worth a line */
  fpid[pid_fmt(fpid, pid)] = 0;
  fst[uint_fmt(fst, wait_estatus(wstat))] = 0;
  strerr_warni("pid=", fpid, " end status=", fst);
}

static void reap(void)
{
  int wstat;
  pid_t pid;
  while ((pid = wait_nohang(&wstat)) > 0) qworker_reaped(pid, wstat, &ended);
}

/* 0: queue empty; 1: go on; 2: pause accepting a while (EMFILE and the like). */
static int accept_one(int ls, int is6, char const *const *argv)
{
  ip46 rip;
  uint16_t rport;
  int s = is6 ? socket_accept6(ls, rip.ip, &rport) : socket_accept4(ls, rip.ip, &rport);
  if (s < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    if (errno == EINTR || errno == ECONNABORTED) return 1;
    strerr_warnwusys("accept");
    return 2;
  }
  rip.is6 = !!is6;
  handle(s, &rip, rport, argv);
  return 1;
}

static void handle_signals(int ls)
{
  for (;;) {
    int sig = selfpipe_read();
    if (sig < 0) strerr_diefusys(111, "selfpipe_read");
    if (!sig) return;
    if (sig == SIGCHLD) reap();
    else if (sig == SIGHUP) { if (rulesfile) load_rules(); }
    else if (sig == SIGTERM) {
      /* Stop listening; running sessions go on, as with tcpserver. */
      fd_close(ls);
      _exit(0);
    }
  }
}

static unsigned int uarg(char const *s)
{
  unsigned int n;
  if (!uint0_scan(s, &n)) strerr_dieusage(100, USAGE);
  return n;
}

/* One line, no CR, LF or NUL in it, which CRLF ends. */
static void setreply(char const *text)
{
  size_t n = strlen(text);
  if (!n || n > REPLY_MAX || text[strcspn(text, "\r\n")]) strerr_dief(100, "bad -R reply: empty, over 512 bytes or more than a line");
  memcpy(reply, text, n);
  memcpy(reply + n, "\r\n", 2);
  replylen = n + 2;
}

int main(int argc, char const *const *argv)
{
  subgetopt l = SUBGETOPT_ZERO;
  int notif = -1, ls, sfd, exec_always = 0;
  unsigned int backlog = 128;
  ip46 ip;
  uint16_t port;
  tain pause_until = TAIN_ZERO;
  iopause_fd *x;
  PROG = "tcp-serve";

  for (;;) {
    int opt = subgetopt_r(argc, argv, "vES:I:c:C:W:R:d:x:t:b:", &l);
    if (opt == -1) break;
    switch (opt) {
    case 'v': verbose = 1; break;
    case 'E': exec_always = 1; break;
    case 'S': sessions = uarg(l.arg); break;
    case 'I': maxidle = uarg(l.arg); break;
    case 'c': maxchild = uarg(l.arg); break;
    case 'C': maxperip = uarg(l.arg); break;
    case 'W': waitms = uarg(l.arg); break;
    case 'R': setreply(l.arg); break;
    case 'd': notif = (int)uarg(l.arg); break;
    case 'x': rulesfile = l.arg; break;
    case 't': uarg(l.arg); break; /* tcpserver's ident timeout: no ident lookups here */
    case 'b': backlog = uarg(l.arg); break;
    default: strerr_dieusage(100, USAGE);
    }
  }
  argc -= l.ind; argv += l.ind;
  if (argc < 3 || !maxchild || maxchild > MAXCHILD_MAX || !maxperip || !sessions) strerr_dieusage(100, USAGE);
  {
    size_t n = ip46_scan(argv[0], &ip);
    if (!n || argv[0][n]) strerr_dief(100, "invalid IP address: ", argv[0]);
  }
  if (!uint160_scan(argv[1], &port)) strerr_dief(100, "invalid port: ", argv[1]);
  if (notif >= 0 && fcntl(notif, F_GETFD) < 0) strerr_dief(100, "invalid notification fd");
  if (!exec_always && !strcmp(argv[2], "smtp-recv") && builtin_sibling("smtp-recv")) {
    builtin = &smtprecv_main;
    tzset();   /* once here, not in every child (Received: dates) */
    if (sessions > 1) qworker_init(maxchild, sessions, 0);
  }
  /* tls-serve likewise, in a fork per connection (no workers: it drops
     its privileges), with the keys we decoded (again when a file changes) */
  if (!exec_always && !strcmp(argv[2], "tls-serve") && builtin_sibling("tls-serve")) {
    builtin = &tlsserve_main;
    tlsserve_preload();
  }

  /* If started with fd 0, 1 or 2 closed, fill them with /dev/null: an
     accepted socket must never land there (fd 2 would send logs to it). */
  for (;;) {
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) strerr_diefusys(111, "open /dev/null");
    if (fd > 2) { fd_close(fd); break; }
    if (fcntl(fd, F_SETFD, 0) < 0) strerr_diefusys(111, "fcntl");
  }
  maxheld = !waitms ? 0 : maxchild < HELD_MAX ? maxchild : HELD_MAX;
  children = alloc(maxchild * sizeof(struct child));
  held = alloc((maxheld ? maxheld : 1) * sizeof(struct held));
  x = alloc((2 + maxchild) * sizeof(iopause_fd));
  if (!children || !held || !x) strerr_diefusys(111, "allocate child table");
  if (rulesfile) load_rules();

  sfd = selfpipe_init();
  if (sfd < 0) strerr_diefusys(111, "selfpipe_init");
  if (!selfpipe_trap(SIGCHLD) || !selfpipe_trap(SIGTERM) || !selfpipe_trap(SIGHUP))
    strerr_diefusys(111, "trap signals");

  ls = socket_tcp46_nbcoe(ip.is6);
  if (ls < 0) strerr_diefusys(111, "create socket");
  if (ip.is6) {
    /* skalibs makes IPv6 sockets v6-only; "::" should take IPv4 clients too. */
    int off = 0;
    if (setsockopt(ls, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0) strerr_diefusys(111, "clear IPV6_V6ONLY");
  }
  if (socket_bind46_reuse(ls, &ip, port) < 0) strerr_diefusys(111, "bind to ", argv[0], " port ", argv[1]);
  if (socket_listen(ls, backlog) < 0) strerr_diefusys(111, "listen");
  listen_fd = ls;
  if (notif >= 0) {
    if (fd_write(notif, "\n", 1) < 0) strerr_warnwusys("write to notification fd");
    fd_close(notif);
  }

  tain_now_set_stopwatch_g();
  for (;;) {
    tain idle_until, *deadline = 0;
    unsigned int idle = qworker_expire(maxidle);
    int paused = tain_future(&pause_until);
    unsigned int n = (accepting() && !paused) ? 2 : 1, w;
    if (paused) deadline = &pause_until;
    if (idle) {   /* wake up to let go of the idle workers */
      tain_addsec_g(&idle_until, idle);
      if (!deadline || tain_less(&idle_until, deadline)) deadline = &idle_until;
    }
    /* the oldest held connection's wait ends first */
    if (nheld && (!deadline || tain_less(&held[0].until, deadline))) deadline = &held[0].until;
    w = qworker_pollfds(x + 2, maxchild);
    x[0] = (iopause_fd){ .fd = sfd, .events = IOPAUSE_READ };
    /* not accepting: a negative fd is skipped, the workers stay at x + 2 */
    x[1] = (iopause_fd){ .fd = n == 2 ? ls : -1, .events = IOPAUSE_READ };
    if (iopause_g(x, w ? 2 + w : n, deadline) < 0) strerr_diefusys(111, "iopause");
    if (x[0].revents) handle_signals(ls);
    if (w) qworker_pollread(x + 2, &ended);
    /* sessions that ended make room for the held connections first */
    if (nheld) serve_held(argv + 2);
    if (n == 2 && x[1].revents) {
      /* Drain the queue while there is room: fewer wake-ups under load. */
      int r = 1;
      while (r == 1 && accepting()) r = accept_one(ls, ip.is6, argv + 2);
      if (r == 2) {
        tain d;
        tain_from_millisecs(&d, 200);
        tain_add_g(&pause_until, &d);
      }
    }
  }
}
