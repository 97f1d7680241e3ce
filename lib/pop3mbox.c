/* The mailbox part of the POP3 server: it talks on fd 0/1 once the login
   is done, as the mailbox's owner, in its Maildir. Deletions are kept in
   memory and done at QUIT only, so that a dropped connection deletes
   nothing (RFC 1939 6). */
#include <errno.h>
#include <setjmp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "maildir.h"
#include "mdlist.h"
#include "msgcrlf.h"
#include "pop3.h"
#include "pop3mbox.h"
#include "root.h"

#define USAGE "pop3-mailbox [MAILDIR]"
#define LOCKFILE "pop3.lock"
#define strerr_warni(...) strerr_warn(PROG, ": info: ", __VA_ARGS__)

typedef struct mbox_s mbox ;
struct mbox_s {
  lineio io ;
  mdlist l ;
  char const *dir ;
  char const *user, *ip ;
  unsigned char *del ;      /* per message: marked by DELE */
  uint32_t n, ndel ;
  uint64_t total, delbytes ;  /* octets (CRLF sizes) of all, of the marked */
  unsigned int errors ;
  unsigned long retr, top ;
  char *input ;             /* $POP3_INPUT: commands pipelined with the login */
  char *inputbuf ;          /* its copy (input moves along it) */
  int lockfd ;
  jmp_buf end ;             /* leave() returns from pop3mbox_main through it */
} ;

static mbox M = { .l = MDLIST_ZERO } ;
static char rbuf[65536] ;
static char ebuf[2 * sizeof rbuf] ;

/* The session ends without UPDATE: nothing is deleted. Back to
   pop3mbox_main, which returns (a fuzzer runs many sessions in a process). */
static void leave (mbox *m, char const *why) gccattr_noreturn ;
static void leave (mbox *m, char const *why)
{
  char r[ULONG_FMT], t[ULONG_FMT] ;
  lineio_flush(&m->io) ;
  r[ulong_fmt(r, m->retr)] = 0 ;
  t[ulong_fmt(t, m->top)] = 0 ;
  strerr_warni("user=", m->user, " ip=", m->ip, " retr=", r, " top=", t, " deleted=0 status=end reason=", why) ;
  longjmp(m->end, 1) ;
}

static void say (mbox *m, char const *s)
{
  if (!pop3_say(&m->io, s)) leave(m, errno == ETIMEDOUT ? "timeout" : "disconnect") ;
}

static void put (mbox *m, char const *s, size_t n)
{
  if (!lineio_put(&m->io, s, n)) leave(m, errno == ETIMEDOUT ? "timeout" : "disconnect") ;
}

/* "+OK A B" or "A B" lines */
static void say2 (mbox *m, char const *pre, uint64_t a, char const *mid, uint64_t b, char const *post)
{
  char fa[UINT64_FMT], fb[UINT64_FMT] ;
  fa[uint64_fmt(fa, a)] = 0 ;
  fb[uint64_fmt(fb, b)] = 0 ;
  put(m, pre, strlen(pre)) ;
  put(m, fa, strlen(fa)) ;
  put(m, mid, strlen(mid)) ;
  put(m, fb, strlen(fb)) ;
  say(m, post) ;
}

static void bad (mbox *m, char const *text)
{
  if (++m->errors >= POP3_ERRMAX)
  {
    say(m, "-ERR too many errors, closing connection") ;
    leave(m, "errors") ;
  }
  say(m, text) ;
}

/* The message numbered by s: 1 and *i (0-based), or -ERR said and 0. */
static int msgarg (mbox *m, char const *s, uint32_t *i)
{
  uint32_t k ;
  if (!pop3_num(s, &k)) { bad(m, "-ERR syntax: a message number is needed") ; return 0 ; }
  if (!k || k > m->n || m->del[k-1]) { say(m, "-ERR no such message") ; return 0 ; }
  *i = k - 1 ;
  return 1 ;
}

static void c_stat (mbox *m, char *arg)
{
  if (*arg) { bad(m, "-ERR syntax: STAT takes no argument") ; return ; }
  say2(m, "+OK ", m->n - m->ndel, " ", m->total - m->delbytes, "") ;
}

static void listing (mbox *m, char *arg, int uidl)
{
  uint32_t i ;
  char u[POP3_UIDLMAX + 1], f[UINT32_FMT] ;
  if (*arg)
  {
    if (!msgarg(m, arg, &i)) return ;
    if (!uidl) { say2(m, "+OK ", i + 1, " ", mdlist_msg(&m->l, i)->vsize, "") ; return ; }
    pop3_uidl(mdlist_name(&m->l, i), mdlist_msg(&m->l, i)->baselen, u) ;
    f[uint32_fmt(f, i + 1)] = 0 ;
    put(m, "+OK ", 4) ; put(m, f, strlen(f)) ; put(m, " ", 1) ; say(m, u) ;
    return ;
  }
  if (uidl) say(m, "+OK unique-id listing follows") ;
  else say2(m, "+OK ", m->n - m->ndel, " messages (", m->total - m->delbytes, " octets)") ;
  for (i = 0 ; i < m->n ; i++)
  {
    if (m->del[i]) continue ;
    if (!uidl) { say2(m, "", i + 1, " ", mdlist_msg(&m->l, i)->vsize, "") ; continue ; }
    pop3_uidl(mdlist_name(&m->l, i), mdlist_msg(&m->l, i)->baselen, u) ;
    f[uint32_fmt(f, i + 1)] = 0 ;
    put(m, f, strlen(f)) ; put(m, " ", 1) ; say(m, u) ;
  }
  say(m, ".") ;
}

static void c_list (mbox *m, char *arg) { listing(m, arg, 0) ; }
static void c_uidl (mbox *m, char *arg) { listing(m, arg, 1) ; }

/* TOP's cut: the header, the blank line, then left body lines. */
typedef struct { int hdr ; uint32_t left ; size_t linelen ; } topcut ;

/* How many of s[0..n) to send; *done once the cut is reached. */
static size_t topcut_len (topcut *t, char const *s, size_t n, int *done)
{
  for (size_t i = 0 ; i < n ; i++)
  {
    if (s[i] == '\n')
    {
      if (t->hdr) { if (!t->linelen) t->hdr = 0 ; }
      else t->left-- ;
      t->linelen = 0 ;
      if (!t->hdr && !t->left) { *done = 1 ; return i + 1 ; }
    }
    else if (s[i] != '\r') t->linelen++ ;
  }
  return n ;
}

/* Send the open message fd (all, or TOP's part), byte-stuffed, CRLF. A
   read error half-way ends the session: the client sees no final dot. */
static void send_msg (mbox *m, int fd, uint32_t i, int top, uint32_t lines)
{
  msgcrlf w = MSGCRLF_ZERO ;
  topcut t = { .hdr = 1, .left = lines, .linelen = 0 } ;
  int done = 0 ;
  for (;;)
  {
    size_t n ;
    ssize_t r = fd_read(fd, rbuf, sizeof rbuf) ;
    if (r < 0)
    {
      strerr_warnwu("read message ", mdlist_name(&m->l, i)) ;
      leave(m, "read error") ;
    }
    if (!r) break ;
    n = top ? topcut_len(&t, rbuf, r, &done) : (size_t)r ;
    put(m, ebuf, msgcrlf_encode(&w, 1, rbuf, n, ebuf)) ;
    if (done) break ;
  }
  if (!top && msgcrlf_total(&w) != mdlist_msg(&m->l, i)->vsize)
    strerr_warnw("size of ", mdlist_name(&m->l, i), " differs from its W= (RETR sent other than LIST said)") ;
  put(m, msgcrlf_end(&w), strlen(msgcrlf_end(&w))) ;
  say(m, ".") ;
}

static void retr (mbox *m, char *arg, int top)
{
  uint32_t i, lines = 0 ;
  int fd ;
  if (top)
  {
    char *sp = strchr(arg, ' ') ;
    if (!sp || !pop3_num(sp + 1, &lines)) { bad(m, "-ERR syntax: TOP msg n (n a number of lines, 0 or more)") ; return ; }
    *sp = 0 ;
  }
  if (!msgarg(m, arg, &i)) return ;
  fd = mdlist_open(&m->l, m->dir, i) ;
  if (fd < 0)
  {
    if (errno == ENOENT) say(m, "-ERR message vanished: another program deleted it") ;
    else if (errno == ESTALE) say(m, "-ERR message changed under the session") ;
    else
    {
      strerr_warnwu("open message ", mdlist_name(&m->l, i)) ;
      say(m, "-ERR [SYS/TEMP] unable to read message") ;
    }
    return ;
  }
  if (top) { say(m, "+OK top of message follows") ; m->top++ ; }
  else
  {
    char f[UINT64_FMT] ;
    f[uint64_fmt(f, mdlist_msg(&m->l, i)->vsize)] = 0 ;
    put(m, "+OK ", 4) ; put(m, f, strlen(f)) ; say(m, " octets") ;
    m->retr++ ;
  }
  send_msg(m, fd, i, top, lines) ;
  fd_close(fd) ;
}

static void c_retr (mbox *m, char *arg) { retr(m, arg, 0) ; }
static void c_top (mbox *m, char *arg) { retr(m, arg, 1) ; }

static void c_dele (mbox *m, char *arg)
{
  uint32_t i ;
  if (!msgarg(m, arg, &i)) return ;
  m->del[i] = 1 ;
  m->ndel++ ;
  m->delbytes += mdlist_msg(&m->l, i)->vsize ;
  say(m, "+OK message deleted (at QUIT)") ;
}

static void c_rset (mbox *m, char *arg)
{
  if (*arg) { bad(m, "-ERR syntax: RSET takes no argument") ; return ; }
  memset(m->del, 0, m->n) ;
  m->ndel = 0 ;
  m->delbytes = 0 ;
  say2(m, "+OK ", m->n, " messages (", m->total, " octets)") ;
}

static void c_noop (mbox *m, char *arg)
{
  if (*arg) { bad(m, "-ERR syntax: NOOP takes no argument") ; return ; }
  say(m, "+OK") ;
}

static void c_capa (mbox *m, char *arg)
{
  (void)arg ;
  if (!pop3_capa(&m->io, 0, 0, 0)) leave(m, "disconnect") ;
}

/* UPDATE (RFC 1939 6): remove the marked messages, tell maildirsize. */
static void c_quit (mbox *m, char *arg) gccattr_noreturn ;
static void c_quit (mbox *m, char *arg)
{
  uint64_t bytes = 0 ;
  uint32_t gone = 0, failed = 0 ;
  char d[UINT32_FMT], r[ULONG_FMT] ;
  (void)arg ;
  for (uint32_t i = 0 ; i < m->n ; i++)
  {
    if (!m->del[i]) continue ;
    if (mdlist_remove(&m->l, m->dir, i)) { gone++ ; bytes += mdlist_msg(&m->l, i)->size ; }
    else { failed++ ; strerr_warnwu("remove ", mdlist_name(&m->l, i)) ; }
  }
  if (gone && !maildir_quota_add(m->dir, -(int64_t)bytes, -(int64_t)gone))
    strerr_warnwu("update ", m->dir, "/maildirsize") ;
  if (failed) say(m, "-ERR [SYS/TEMP] some deleted messages not removed") ;
  else
  {
    char f[UINT32_FMT] ;
    f[uint32_fmt(f, m->n - gone)] = 0 ;
    put(m, "+OK pipemail POP3 server signing off (", 38) ; put(m, f, strlen(f)) ; say(m, " messages left)") ;
  }
  lineio_flush(&m->io) ;
  d[uint32_fmt(d, gone)] = 0 ;
  r[ulong_fmt(r, m->retr)] = 0 ;
  strerr_warni("user=", m->user, " ip=", m->ip, " retr=", r, " deleted=", d, " status=quit") ;
  longjmp(m->end, 1) ;
}

static void c_login (mbox *m, char *arg)
{
  (void)arg ;
  bad(m, "-ERR already logged in") ;
}

static struct { char const *verb ; void (*f)(mbox *, char *) ; } const cmds[] = {
  { "STAT", c_stat }, { "LIST", c_list }, { "UIDL", c_uidl }, { "RETR", c_retr },
  { "TOP", c_top }, { "DELE", c_dele }, { "RSET", c_rset }, { "NOOP", c_noop },
  { "QUIT", c_quit }, { "CAPA", c_capa }, { "USER", c_login }, { "PASS", c_login },
  { "AUTH", c_login }, { "APOP", c_login }, { "STLS", c_login },
} ;

static void dispatch (mbox *m, char *line)
{
  char verb[5], *arg ;
  if (pop3_cmd(line, verb, &arg))
    for (size_t i = 0 ; i < sizeof cmds / sizeof *cmds ; i++)
      if (!strcmp(verb, cmds[i].verb)) { cmds[i].f(m, arg) ; return ; }
  bad(m, "-ERR unknown command") ;
}

/* One session at a time on a mailbox: a lock that dies with its holder.
   The locked fd, or -1 if another session holds it. */
static int lock (char const *dir)
{
  stralloc sa = STRALLOC_ZERO ;
  int fd ;
  if (!stralloc_cats(&sa, dir) || !stralloc_cats(&sa, "/" LOCKFILE) || !stralloc_0(&sa))
    strerr_diefu1sys(111, "allocate memory") ;
  fd = open(sa.s, O_RDWR | O_CREAT | O_CLOEXEC, 0600) ;
  if (fd < 0) strerr_diefu2sys(111, "open ", sa.s) ;
  stralloc_free(&sa) ;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return fd ;
  if (errno != EWOULDBLOCK) strerr_diefu2sys(111, "lock ", LOCKFILE) ;
  fd_close(fd) ;
  return -1 ;
}

static char const *envor (char const *name, char const *def)
{
  char const *s = getenv(name) ;
  return s && *s ? s : def ;
}

/* Commands pipelined with the login first (whole lines, from pop3-serve),
   then the client's. */
static int next_line (mbox *m, char **line, size_t *len)
{
  if (m->input && *m->input)
  {
    char *nl = strchr(m->input, '\n') ;
    if (!nl) nl = m->input + strlen(m->input) ;
    *line = m->input ;
    *len = nl - m->input ;
    m->input = *nl ? nl + 1 : nl ;
    if (*len && (*line)[*len - 1] == '\r') (*len)-- ;
    if (*len > POP3_LINEMAX) return LINEIO_TOOLONG ;
    return LINEIO_LINE ;
  }
  return lineio_getline(&m->io, POP3_LINEMAX, line, len) ;
}

int pop3mbox_main (int argc, char const *const *argv)
{
  mbox *m = &M ;
  PROG = "pop3-mailbox" ;
  if (argc > 2) strerr_dieusage(100, USAGE) ;
  m->n = m->ndel = m->errors = 0 ;
  m->total = m->delbytes = 0 ;
  m->retr = m->top = 0 ;
  m->del = 0 ;
  m->input = m->inputbuf = 0 ;
  m->lockfd = -1 ;
  if (setjmp(m->end))
  {
    free(m->del) ;
    free(m->inputbuf) ;
    if (m->lockfd >= 0) fd_close(m->lockfd) ;
    return 0 ;
  }
  m->dir = argc == 2 ? argv[1] : "." ;
  m->user = envor("AUTHUSER", envor("USER", "unknown")) ;
  m->ip = envor("TCPREMOTEIP", "unknown") ;
  signal(SIGPIPE, SIG_IGN) ;
  if (getenv("POP3_INPUT"))
  {
    m->input = m->inputbuf = strdup(getenv("POP3_INPUT")) ;
    unsetenv("POP3_INPUT") ;
  }
  {
    unsigned long t = pm_env_ulong("POP3_TIMEOUT", POP3_TIMEOUT) ;
    lineio_init(&m->io, 0, 1, t ? t : POP3_TIMEOUT) ;
  }
  pop3_nodelay(1) ;
  /* from here on the client has been answered by the time we exit */
  if (!maildir_check(m->dir)) strerr_diefu2sys(111, "open Maildir ", m->dir) ;
  m->lockfd = lock(m->dir) ;
  if (m->lockfd < 0)
  {
    say(m, "-ERR [IN-USE] another POP3 session holds this mailbox") ;
    leave(m, "in-use") ;
  }
  if (!mdlist_scan(&m->l, m->dir)) strerr_diefu2sys(111, "read Maildir ", m->dir) ;
  m->n = mdlist_len(&m->l) ;
  m->del = calloc(m->n + 1, 1) ;
  if (!m->del) strerr_diefu1sys(111, "allocate memory") ;
  for (uint32_t i = 0 ; i < m->n ; i++) m->total += mdlist_msg(&m->l, i)->vsize ;
  say2(m, "+OK ", m->n, " messages (", m->total, " octets)") ;
  for (;;)
  {
    char *line ;
    size_t len ;
    int r = next_line(m, &line, &len) ;
    if (r < 0) leave(m, errno == ETIMEDOUT ? "timeout" : "read error") ;
    if (r == LINEIO_EOF) leave(m, "disconnect") ;
    if (r == LINEIO_TOOLONG) { bad(m, "-ERR line too long") ; continue ; }
    if (memchr(line, 0, len)) { bad(m, "-ERR NUL byte in command") ; continue ; }
    line[len] = 0 ;
    dispatch(m, line) ;
  }
}
