/* tls-serve's work (cmd/tls-serve.8 is the contract): TLS between a UCSPI
   server's network socket (fd 0/1) and the protocol program PROG, which
   only ever sees plaintext on pipes. Implicit TLS: handshake first, then
   PROG runs with SSL_* set. -S (STARTTLS): PROG runs at once, cleartext is
   relayed on its fd 0/1, and PROG starts TLS with UCSPI-TLS ('y'/'Y' on
   SSLCTLFD), after which it talks on SSLREADFD/SSLWRITEFD.
   PROG is forked before the handshake and waits for a go from us; keys it
   inherited (tcp-serve loads them once, tlsserve_preload) are wiped in its
   process first thing, and key paths are removed from its environment. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <skalibs/djbunix.h>
#include <skalibs/env.h>
#include <skalibs/exec.h>
#include <skalibs/iopause.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/socket.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include "lineio.h"
#include "root.h"
#include "tls.h"
#include "tlscache.h"
#include "tlsserver.h"
#include "tlsserve.h"

#define USAGE "tls-serve [-S] [-t handshake_timeout] [-T idle_timeout] prog..."
#define KEYPAIRS_MAX 32
#define CLEARBUF 8192

static unsigned int hstimeout = 30, idletimeout = 1800;
static int starttls;
static pid_t pid;
static char const *peer;
static tls_server server;
static tls_keypair kp[KEYPAIRS_MAX];
static tls_cache cache;

/* Our ends and PROG's ends of the pipes, and the control socket. */
enum { APP_IN, APP_OUT, CLR_IN, CLR_OUT, SYNC, NPIPES };
static int fds[NPIPES][2];
static int ctl[2] = { -1, -1 };
#define OURS(i) ((i) == APP_OUT || (i) == CLR_OUT ? 0 : 1)

static void dieusage(void) { strerr_dieusage(100, USAGE); }

/* -- the child that becomes PROG ---------------------------------------- */

static int addvar(stralloc *sa, char const *name, int fd)
{
  char fmt[UINT_FMT];
  fmt[uint_fmt(fmt, fd)] = 0;
  return stralloc_cats(sa, name) && stralloc_catb(sa, "=", 1) && stralloc_cats(sa, fmt) && stralloc_0(sa);
}

/* Unset whatever names a key or a TLS setting, and stale UCSPI-TLS values. */
static int scrub(stralloc *sa)
{
  static char const *const names[] = { "KEYFILE", "CERTFILE", "TLS_UID", "TLS_GID", "CADIR", "CAFILE",
                                       "TLS_CACHE_DIR", "TLS_CACHE_LIFETIME", 0 };
  char const *const *e;
  unsigned int i;
  for (i = 0; names[i]; i++)
    if (!stralloc_catb(sa, names[i], strlen(names[i]) + 1)) return 0;
  for (e = (char const *const *)environ; *e; e++)
    if (!strncmp(*e, "KEYFILE:", 8) || !strncmp(*e, "CERTFILE:", 9)) {
      size_t n = strcspn(*e, "=");
      if (!stralloc_catb(sa, *e, n) || !stralloc_0(sa)) return 0;
    }
  return starttls ? stralloc_catb(sa, "SSL_PROTOCOL\0SSL_CIPHER\0SSL_TLS_SNI_SERVERNAME", 47)
                  : stralloc_catb(sa, "SSLCTLFD\0SSLREADFD\0SSLWRITEFD", 30);
}

static void unload(void);

static void child(char const *const *argv)
{
  stralloc modifs = STRALLOC_ZERO;
  char go[TLS_ENV_MAX];
  size_t n = 0;
  int i;
  PROG = "tls-serve (child)";
  /* what tcp-serve loaded: the keys and the engine's random state */
  unload();
  explicit_bzero(&server.sc.eng.rng, sizeof server.sc.eng.rng);
  for (i = 0; i < NPIPES; i++) if (fds[i][OURS(i)] >= 0) fd_close(fds[i][OURS(i)]);
  if (ctl[0] >= 0) fd_close(ctl[0]);
  /* the go: the environment from the handshake ("\0" alone with -S); EOF
     without it means the parent gave up, and PROG is not run */
  for (;;) {
    ssize_t r = read(fds[SYNC][0], go + n, sizeof go - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += r;
    if (n == sizeof go) _exit(111);
  }
  if (!n || go[n-1] || (n > 1 && go[n-2])) _exit(0);
  if (!scrub(&modifs) || !stralloc_catb(&modifs, go, n - 1)) strerr_diefusys(111, "build environment");
  if (starttls && (!addvar(&modifs, "SSLCTLFD", ctl[1]) || !addvar(&modifs, "SSLREADFD", fds[APP_IN][0])
                || !addvar(&modifs, "SSLWRITEFD", fds[APP_OUT][1])))
    strerr_diefusys(111, "build environment");
  i = starttls ? CLR_IN : APP_IN;
  if (dup2(fds[i][0], 0) < 0 || dup2(fds[i + 1][1], 1) < 0) strerr_diefusys(111, "dup2");
  if (starttls && (uncoe(ctl[1]) < 0 || uncoe(fds[APP_IN][0]) < 0 || uncoe(fds[APP_OUT][1]) < 0))
    strerr_diefusys(111, "uncoe");
  xmexec_m(argv, modifs.s, modifs.len);
}

/* PROG's fd 0 reads fds[X][0], its fd 1 writes fds[X+1][1]; we hold the other ends. */
static void spawn(char const *const *argv)
{
  int i;
  for (i = 0; i < NPIPES; i++) fds[i][0] = fds[i][1] = -1;
  for (i = 0; i < NPIPES; i++) {
    if (!starttls && (i == CLR_IN || i == CLR_OUT)) continue;
    if (pipecoe(fds[i]) < 0) strerr_diefusys(111, "pipe");
  }
  if (starttls && ipc_pair_coe(ctl) < 0) strerr_diefusys(111, "socketpair");
  pid = fork();
  if (pid < 0) strerr_diefusys(111, "fork");
  if (!pid) child(argv);
  /* keep our ends: write to APP_IN/CLR_IN, read from APP_OUT/CLR_OUT */
  for (i = 0; i < NPIPES; i++) {
    int theirs = !OURS(i);
    if (fds[i][0] < 0) continue;
    fd_close(fds[i][theirs]);
    fds[i][theirs] = -1;
  }
  if (ctl[1] >= 0) { fd_close(ctl[1]); ctl[1] = -1; }
}

/* Tell the child to exec PROG with these variables (a \0-terminated list). */
static void release(char const *env, size_t n)
{
  tain t;
  tain_uint(&t, 10);
  if (!lineio_writeall(fds[SYNC][1], env, n, &t)) strerr_warnwusys("start ", "prog");
  fd_close(fds[SYNC][1]);
  fds[SYNC][1] = -1;
}

static int finish(int code)
{
  int wstat, i, j;
  for (i = 0; i < NPIPES; i++)
    for (j = 0; j < 2; j++) if (fds[i][j] >= 0) { fd_close(fds[i][j]); fds[i][j] = -1; }
  if (ctl[0] >= 0) fd_close(ctl[0]);
  /* the client sees the end now, not when PROG is gone */
  fd_close(0);
  fd_close(1);
  if (wait_pid(pid, &wstat) < 0) strerr_diefusys(111, "wait for prog");
  return code >= 0 ? code : wait_estatus(wstat);
}

/* -- keys and privileges ------------------------------------------------ */

/* The pairs the environment names: KEYFILE/CERTFILE, then a
   KEYFILE:name/CERTFILE:name pair per server name. */
typedef struct { char const *name, *certfile, *keyfile; } pairname;

/* A bad configuration or key: fatal in tls-serve, which cannot serve the
   connection without it. In tcp-serve (tlsserve_preload) it is not: its
   child loads them itself and says why. */
#define FAIL(fatal, ...) do { if (fatal) strerr_dief(111, __VA_ARGS__); return 0; } while (0)

/* The pairs, into p (KEYPAIRS_MAX); their number, 0 on error. */
static size_t pairnames(pairname *p, stralloc *sa, int fatal)
{
  size_t n = 1, pos[KEYPAIRS_MAX];
  char const *const *e;
  p[0] = (pairname){ "", getenv("CERTFILE"), getenv("KEYFILE") };
  if (!p[0].certfile || !p[0].keyfile) FAIL(fatal, "KEYFILE and CERTFILE must be set");
  sa->len = 0;
  for (e = (char const *const *)environ; *e; e++) {
    size_t len;
    if (strncmp(*e, "KEYFILE:", 8)) continue;
    if (n == KEYPAIRS_MAX) FAIL(fatal, "too many KEYFILE:name variables");
    len = strcspn(*e + 8, "=");
    pos[n++] = sa->len;
    if (!stralloc_cats(sa, "CERTFILE:") || !stralloc_catb(sa, *e + 8, len) || !stralloc_0(sa)) {
      if (fatal) strerr_diefusys(111, "allocate");
      return 0;
    }
  }
  for (size_t i = 1; i < n; i++) {
    char const *var = sa->s + pos[i];
    char kvar[300];
    size_t len = strlen(var + 9);
    if (!len || len > 255) FAIL(fatal, "bad variable name: ", var);
    memcpy(kvar, "KEYFILE:", 8);
    memcpy(kvar + 8, var + 9, len + 1);
    p[i] = (pairname){ var + 9, getenv(var), getenv(kvar) };
    if (!p[i].certfile) FAIL(fatal, kvar, " is set but not ", var);
  }
  return n;
}

/* The keypairs into kp[]: their number, 0 on error (none left loaded). */
static size_t loadkeys(pairname const *p, size_t n, int fatal)
{
  char const *why;
  for (size_t i = 0; i < n; i++) {
    if (tls_keypair_load(&kp[i], p[i].name, p[i].certfile, p[i].keyfile, &why)) continue;
    if (fatal && why) strerr_dief(111, "unable to load ", p[i].certfile, " and ", p[i].keyfile, ": ", why);
    if (fatal) strerr_diefusys(111, "unable to load ", p[i].certfile, " and ", p[i].keyfile);
    while (i--) tls_keypair_free(&kp[i]);
    return 0;
  }
  return n;
}

/* -- keys loaded once, in tcp-serve -------------------------------------- */

/* What tlsserve_preload loaded and from where: npre pairs in kp[] and an
   engine set up for them in server; the KEYFILE* and CERTFILE* variables
   (in environ's order); each file's stat before it was read. */
static size_t npre;
static pairname pre[KEYPAIRS_MAX];
static stralloc prenames = STRALLOC_ZERO;
static size_t npairs;
static stralloc keyenv = STRALLOC_ZERO;
typedef struct { dev_t dev; ino_t ino; off_t size; struct timespec mtime, ctime; } fstamp;
static fstamp stamps[2 * KEYPAIRS_MAX];

static int keyvars(stralloc *sa)
{
  sa->len = 0;
  for (char const *const *e = (char const *const *)environ; *e; e++)
    if ((!strncmp(*e, "KEYFILE", 7) || !strncmp(*e, "CERTFILE", 8)) && !stralloc_catb(sa, *e, strlen(*e) + 1))
      return 0;
  return 1;
}

/* Each file's stamp; a file that cannot be stat'ed has a zero stamp. 1 if
   one differs from what was there. */
static int restamp(void)
{
  int changed = 0;
  for (size_t i = 0; i < 2 * npairs; i++) {
    struct stat st;
    fstamp f = { 0 };
    if (!stat(i & 1 ? pre[i / 2].keyfile : pre[i / 2].certfile, &st))
      f = (fstamp){ st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim };
    if (memcmp(&f, &stamps[i], sizeof f)) { stamps[i] = f; changed = 1; }
  }
  return changed;
}

static void unload(void)
{
  for (size_t i = 0; i < npre; i++) tls_keypair_free(&kp[i]);
  npre = 0;
}

void tlsserve_preload(void)
{
  static int started;
  if (!started) {
    started = 1;
    /* keys in this process from here on: no core dump, no ptrace */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return;
    if (!keyvars(&keyenv)) return;
    npairs = pairnames(pre, &prenames, 0);
    memset(stamps, 0xff, sizeof stamps);   /* no file has this stamp: load */
  }
  /* the stamps before the reading: a change while we read shows next time */
  if (!npairs || !restamp()) return;
  unload();
  npre = loadkeys(pre, npairs, 0);
  if (npre && !tls_server_init(&server, kp, npre)) unload();
}

/* TLS_CACHE_DIR: opened as the engine's user, after drop(); a bad one
   means no resumption, not no service. */
static void opencache(unsigned long lifetime)
{
  char const *dir = getenv("TLS_CACHE_DIR"), *why;
  if (!dir || !*dir) return;
  if (!tls_cache_open(&cache, dir, lifetime, &why)) {
    if (why) strerr_warnw("session cache ", dir, " refused: ", why, ": no resumption");
    else strerr_warnwusys("open session cache ", dir, " (no resumption)");
    return;
  }
  br_ssl_server_set_cache(&server.sc, &cache.vtable);
}

static void drop(void)
{
  char const *g = getenv("TLS_GID"), *u = getenv("TLS_UID");
  if (g) {
    gid_t gid;
    if (!gid0_scan(g, &gid)) strerr_dief(111, "bad TLS_GID: ", g);
    if (geteuid() == 0 && setgroups(1, &gid) < 0) strerr_diefusys(111, "setgroups");
    if (setgid(gid) < 0) strerr_diefusys(111, "setgid ", g);
  }
  if (u) {
    uid_t uid;
    if (!uid0_scan(u, &uid)) strerr_dief(111, "bad TLS_UID: ", u);
    if (setuid(uid) < 0) strerr_diefusys(111, "setuid ", u);
  }
}

/* The engine for this connection: the one tcp-serve set up, if it was for
   this environment's keys (an access rule can set others), with fresh
   randomness, so that no two connections draw the same; else keys read
   now. The user is the engine's from here on either way (drop). */
static void engine(void)
{
  stralloc sa = STRALLOC_ZERO;
  int same = npre && keyvars(&sa) && sa.len == keyenv.len && !memcmp(sa.s, keyenv.s, sa.len);
  stralloc_free(&sa);
  if (same) {
    unsigned char seed[32];
    drop();
    if (getrandom(seed, sizeof seed, 0) != sizeof seed) strerr_diefusys(111, "getrandom");
    br_ssl_engine_inject_entropy(&server.sc.eng, seed, sizeof seed);
    explicit_bzero(seed, sizeof seed);
    return;
  }
  unload();
  {
    static stralloc names = STRALLOC_ZERO;
    pairname p[KEYPAIRS_MAX];
    size_t n = loadkeys(p, pairnames(p, &names, 1), 1);
    drop();
    if (!tls_server_init(&server, kp, n))
      strerr_dief(111, "unable to set up TLS: ", tls_error_name(br_ssl_engine_last_error(&server.sc.eng), (char[TLS_ERRNAME_MAX]){0}));
  }
}

/* A handshake failed after our signature: was it made with a key that is
   not the certificate's? (Checked here, not at each load: see tls_key_fits.) */
static void check_key(void)
{
  char const *why;
  if (!server.hassigned || tls_keypair_check(server.chosen, &why)) return;
  strerr_warnw("unable to use ", server.chosen->certfile, " and ", server.chosen->keyfile, ": ",
               why);
}

/* -- logging ------------------------------------------------------------ */

static void log_handshake(br_ssl_engine_context const *eng)
{
  char env[TLS_ENV_MAX], fpid[PID_FMT];
  char const *proto = "", *cipher = "", *sni = "-", *cert;
  size_t n = tls_env_fmt(eng, env, sizeof env, 0), i;
  for (i = 0; i < n && env[i]; i += strlen(env + i) + 1) {
    char const *eq = strchr(env + i, '=');
    if (!strncmp(env + i, "SSL_PROTOCOL=", 13)) proto = eq + 1;
    else if (!strncmp(env + i, "SSL_CIPHER=", 11)) cipher = eq + 1;
    else if (!strncmp(env + i, "SSL_TLS_SNI_SERVERNAME=", 23)) sni = eq + 1;
  }
  /* a resumed session skips the certificate choice: same name, same pair */
  if (tls_cache_resumed(&cache)) server.chosen = tls_server_pick(&server, br_ssl_engine_get_server_name(eng));
  cert = server.chosen->name[0] ? server.chosen->name : "default";
  fpid[pid_fmt(fpid, pid)] = 0;
  strerr_warni("tls=ok protocol=", proto, " cipher=", cipher, " sni=", sni, " cert=", cert,
               " resumed=", tls_cache_resumed(&cache) ? "yes" : "no", " ip=", peer, " pid=", fpid);
}

static void log_fail(char const *stage, tls_io const *io)
{
  char num[UINT_FMT], name[TLS_ERRNAME_MAX], in[UINT64_FMT], out[UINT64_FMT];
  num[uint_fmt(num, (unsigned int)io->err)] = 0;
  in[uint64_fmt(in, io->inbytes)] = 0;
  out[uint64_fmt(out, io->outbytes)] = 0;
  strerr_warni("tls=fail stage=", stage, " error=", num, " (", tls_error_name(io->err, name), ")",
               io->err == TLS_ERR_IO ? " errno=" : "", io->err == TLS_ERR_IO ? strerror(io->syserr) : "",
               " ip=", peer, " in=", in, " out=", out);
}

/* -- the cleartext phase (-S) -------------------------------------------- */

typedef struct { char buf[CLEARBUF]; size_t pos, len; } chunk;

/* A TLS handshake record: the client's ClientHello after our "go ahead",
   read before PROG's 'y' reached us. Never cleartext for a line protocol. */
static int is_tls_record(chunk const *c) { return c->len - c->pos && c->buf[c->pos] == 0x16; }

/* Relay cleartext until PROG writes a command on the control socket
   (returned: 'y' or 'Y'), or the conversation ends (0). in keeps what the
   network sent that PROG has not taken yet. */
static int relay(chunk *in)
{
  chunk out = { .pos = 0, .len = 0 };
  int toprog = fds[CLR_IN][1], fromprog = fds[CLR_OUT][0], neteof = 0, held = 0;
  tain idle, last, deadline;
  if (idletimeout) tain_uint(&idle, idletimeout); else idle = tain_infinite_relative;
  tain_now_g();
  last = STAMP;
  for (;;) {
    iopause_fd x[5];
    unsigned int n = 0;
    int r;
    if (fromprog < 0 && out.pos == out.len && ctl[0] < 0) return 0;
    if (ctl[0] >= 0) { x[n].fd = ctl[0]; x[n++].events = IOPAUSE_READ; }
    if (fromprog >= 0 && out.pos == out.len) { x[n].fd = fromprog; x[n++].events = IOPAUSE_READ; }
    if (out.pos < out.len) { x[n].fd = 1; x[n++].events = IOPAUSE_WRITE; }
    if (!neteof && in->pos == in->len) { x[n].fd = 0; x[n++].events = IOPAUSE_READ; }
    if (toprog >= 0 && in->pos < in->len && !held) { x[n].fd = toprog; x[n++].events = IOPAUSE_WRITE; }
    if (held) tain_addsec(&deadline, &last, hstimeout);
    else tain_add(&deadline, &last, &idle);
    r = iopause_g(x, n, &deadline);
    if (r < 0) { if (errno == EINTR) continue; strerr_diefusys(111, "iopause"); }
    if (!r) {
      if (!held) {
        tls_io t = { .err = TLS_ERR_TIMEOUT };
        log_fail("cleartext", &t);
        return 0;
      }
      held = 0;   /* no 'y' came: hand it to PROG after all */
      continue;
    }
    last = STAMP;
    for (unsigned int i = 0; i < n; i++) {
      if (!(x[i].revents & (x[i].events | IOPAUSE_EXCEPT))) continue;
      if (x[i].fd == ctl[0]) {
        char c;
        r = read(ctl[0], &c, 1);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r == 1 && (c == 'y' || c == 'Y')) {
          tain t;
          tain_uint(&t, hstimeout);
          lineio_writeall(1, out.buf + out.pos, out.len - out.pos, &t);
          return c;
        }
        if (r == 1) strerr_warnw("unknown command on the control socket: TLS disabled");
        fd_close(ctl[0]);
        ctl[0] = -1;
      } else if (x[i].fd == fromprog) {
        r = read(fromprog, out.buf, sizeof out.buf);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r <= 0) { fd_close(fromprog); fromprog = fds[CLR_OUT][0] = -1; fd_shutdown(1, 1); continue; }
        out.pos = 0;
        out.len = r;
      } else if (x[i].fd == 1) {
        r = write(1, out.buf + out.pos, out.len - out.pos);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r < 0) return 0;   /* the client is gone */
        out.pos += r;
      } else if (x[i].fd == 0) {
        r = read(0, in->buf, sizeof in->buf);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        in->pos = 0;
        in->len = r > 0 ? r : 0;
        if (r <= 0) { neteof = 1; fd_close(toprog); toprog = fds[CLR_IN][1] = -1; continue; }
        held = is_tls_record(in);
      } else if (x[i].fd == toprog) {
        r = write(toprog, in->buf + in->pos, in->len - in->pos);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r < 0) { fd_close(toprog); toprog = fds[CLR_IN][1] = -1; in->pos = in->len; continue; }
        in->pos += r;
      }
    }
  }
}

/* PROG said 'y': its last cleartext words (the "go ahead" reply) go out,
   then the cleartext pipes close. Input it has not taken is dropped,
   except a TLS record that came early, returned to be fed to the engine. */
static void end_cleartext(chunk *in, int cmd)
{
  char buf[CLEARBUF], fmt[SIZE_FMT], fmt2[SIZE_FMT];
  tain t;
  size_t dropped = 0;
  int fd = fds[CLR_OUT][0];
  tain_uint(&t, hstimeout);
  ndelay_on(fd);
  for (;;) {
    ssize_t r = fd < 0 ? 0 : read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (!lineio_writeall(1, buf, r, &t)) break;
  }
  if (!is_tls_record(in)) { dropped = in->len - in->pos; in->pos = in->len; }
  fmt[size_fmt(fmt, dropped)] = 0;
  fmt2[size_fmt(fmt2, in->len - in->pos)] = 0;
  strerr_warni("starttls cmd=", cmd == 'Y' ? "Y" : "y", " discarded=", fmt, " early=", fmt2, " ip=", peer);
  for (int i = CLR_IN; i <= CLR_OUT; i++) {
    if (fds[i][0] >= 0) fd_close(fds[i][0]);
    if (fds[i][1] >= 0) fd_close(fds[i][1]);
    fds[i][0] = fds[i][1] = -1;
  }
}

/* -- main ---------------------------------------------------------------- */

int tlsserve_main(int argc, char const *const *argv)
{
  subgetopt l = SUBGETOPT_ZERO;
  br_ssl_engine_context *eng = &server.sc.eng;
  static chunk in;
  tls_io io;
  unsigned long lifetime;
  int cmd = 0, r;
  PROG = "tls-serve";
  /* named so in ps and /proc/PID/comm when tcp-serve runs us without exec */
  prctl(PR_SET_NAME, "tls-serve", 0, 0, 0);
  for (;;) {
    int opt = subgetopt_r(argc, argv, "St:T:", &l);
    if (opt == -1) break;
    switch (opt) {
    case 'S': starttls = 1; break;
    case 't': if (!uint0_scan(l.arg, &hstimeout) || !hstimeout) dieusage(); break;
    case 'T': if (!uint0_scan(l.arg, &idletimeout)) dieusage(); break;
    default: dieusage();
    }
  }
  argc -= l.ind;
  argv += l.ind;
  if (!argc) dieusage();
  if (!getenv("KEYFILE") || !getenv("CERTFILE")) strerr_dief(100, "KEYFILE and CERTFILE must be set");
  lifetime = pm_env_ulong("TLS_CACHE_LIFETIME", TLS_CACHE_LIFETIME);
  if (lifetime > 86400) strerr_dief(100, "TLS_CACHE_LIFETIME above 86400");
  peer = getenv("TCPREMOTEIP");
  if (!peer) peer = "-";

  spawn(argv);
  sig_ignore(SIGPIPE);
  /* keys from here on: no core dumps, no ptrace or /proc/PID/mem by PROG */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) strerr_diefusys(111, "prctl");
  engine();
  opencache(lifetime);
  if (ndelay_on(0) < 0 || ndelay_on(1) < 0) strerr_diefusys(111, "set the socket non-blocking");

  if (starttls) {
    release("", 1);
    cmd = relay(&in);
    if (!cmd) return finish(-1);
    end_cleartext(&in, cmd);
    if (cmd == 'y') { fd_close(ctl[0]); ctl[0] = -1; }
  }
  tls_io_init(&io, 0, 1, fds[APP_OUT][0], fds[APP_IN][1], hstimeout, idletimeout);
  io.pre = (unsigned char *)in.buf + in.pos;
  io.prelen = in.len - in.pos;
  fds[APP_OUT][0] = fds[APP_IN][1] = -1;   /* tls_run closes them */
  r = tls_run(eng, &io, 1);
  if (r == TLS_RUN_HANDSHAKE && !tls_cache_check(&cache, &server.sc)) {
    io.err = BR_ERR_BAD_SNI;   /* a session of another name: RFC 6066 forbids its resumption */
    r = TLS_RUN_FAIL;
  }
  if (r != TLS_RUN_HANDSHAKE) {
    log_fail("handshake", &io);
    check_key();
    return finish(starttls ? -1 : 100);
  }
  log_handshake(eng);
  {
    char env[TLS_ENV_MAX];
    size_t n = tls_env_fmt(eng, env, sizeof env, !starttls);
    if (!starttls) release(env, n);
    else if (cmd == 'Y') {
      tain t;
      tain_uint(&t, hstimeout);
      if (!lineio_writeall(ctl[0], env, n, &t)) strerr_warnwusys("write to the control socket");
    }
    if (ctl[0] >= 0) { fd_close(ctl[0]); ctl[0] = -1; }
  }
  r = tls_run(eng, &io, 0);
  if (r == TLS_RUN_FAIL) log_fail("session", &io);
  return finish(-1);
}
