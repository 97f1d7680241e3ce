/* auth-check: a checkpassword program for the users of etc/users.cdb.
   See auth-check(8). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/exec.h>
#include <skalibs/iopause.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include "pwhash.h"
#include "users.h"

#define USAGE "auth-check program [arg...]"
#define INPUT_MAX 512     /* checkpassword's bound on user\0password\0timestamp\0 */
#define INPUT_SECONDS 10  /* to get all of it, up to the end of file */

/* Holds the password: wiped before any exit or exec. */
static char in[INPUT_MAX + 1] ;
static size_t inlen ;
/* The user as logged: printable ASCII, at most 100 bytes, the rest '?'. */
static char logname[101] ;

static void wipe(void) { explicit_bzero(in, sizeof in) ; }

/* Exit 2: misuse (checkpassword's code), the input wiped. */
static void misuse(char const *why)
{
  wipe() ;
  strerr_dief(2, why) ;
}

/* fd 3 to end of file, at most INPUT_MAX bytes, within INPUT_SECONDS.
   0 ok, -1 too long. */
static int readinput(void)
{
  tain deadline ;
  iopause_fd x = { .fd = 3, .events = IOPAUSE_READ } ;
  if (fcntl(3, F_GETFD) < 0) misuse("fd 3 is not open (checkpassword input)") ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, INPUT_SECONDS) ;
  for (;;) {
    ssize_t r ;
    int n = iopause_g(&x, 1, &deadline) ;
    if (n < 0) { wipe() ; strerr_diefusys(111, "iopause") ; }
    if (!n) misuse("timed out reading fd 3") ;
    r = fd_read(3, in + inlen, sizeof in - inlen) ;
    if (r < 0) { wipe() ; strerr_diefusys(111, "read fd 3") ; }
    if (!r) return 0 ;
    inlen += (size_t)r ;
    if (inlen > INPUT_MAX) return -1 ;
  }
}

static void setlogname(char const *s, size_t len)
{
  size_t n = len < sizeof logname - 1 ? len : sizeof logname - 1 ;
  for (size_t i = 0 ; i < n ; i++)
    logname[i] = s[i] > ' ' && s[i] < 0x7f ? s[i] : '?' ;
  logname[n] = 0 ;
}

/* Exit 1, one line in the log: never the password. TCPREMOTEIP comes from
   our own server (UCSPI), as in every server's log. */
static void fail(char const *reason)
{
  char const *ip = getenv("TCPREMOTEIP") ;
  wipe() ;
  strerr_warni("status=fail user=", logname, " reason=", reason, ip ? " ip=" : "", ip ? ip : "") ;
  _exit(1) ;
}

/* user\0password\0 and the rest (the timestamp, unused). */
static void parse(char const **user, size_t *ulen, char const **pw, size_t *pwlen)
{
  *user = in ;
  *ulen = strnlen(in, inlen) ;
  if (*ulen == inlen) misuse("malformed input on fd 3: no NUL after the user") ;
  setlogname(in, *ulen) ;
  *pw = in + *ulen + 1 ;
  *pwlen = strnlen(*pw, inlen - *ulen - 1) ;
  if (*ulen + 1 + *pwlen == inlen) misuse("malformed input on fd 3: no NUL after the password") ;
}

/* As root, become the owner of the mailbox (djb's checkpassword becomes
   the user's); a mailbox of root's is refused. Then go there. */
static void become(char const *home)
{
  struct stat st ;
  if (geteuid() == 0) {
    if (stat(home, &st) < 0) strerr_diefusys(111, "stat ", home) ;
    if (!st.st_uid) strerr_dief(111, "refusing to run a program as root: mailbox owned by root: ", home) ;
    if (setgroups(1, &st.st_gid) < 0 || setgid(st.st_gid) < 0) strerr_diefusys(111, "setgid") ;
    if (setuid(st.st_uid) < 0) strerr_diefusys(111, "setuid") ;
  }
  if (chdir(home) < 0 && (geteuid() == 0 || errno != ENOENT)) strerr_diefusys(111, "chdir ", home) ;
}

/* HOME: the mailbox's path, made absolute (PIPEMAIL_ROOT may be relative). */
static void homepath(stralloc *sa, char const *mailbox)
{
  stralloc rel = STRALLOC_ZERO ;
  if (!users_mailbox_path(&rel, mailbox)) strerr_diefusys(111, "stralloc_catb") ;
  sa->len = 0 ;
  if (rel.s[0] != '/') {
    if (sagetcwd(sa) < 0) strerr_diefusys(111, "getcwd") ;
    if (sa->s[sa->len - 1] != '/' && !stralloc_catb(sa, "/", 1)) strerr_diefusys(111, "stralloc_catb") ;
  }
  if (!stralloc_catb(sa, rel.s, rel.len + 1)) strerr_diefusys(111, "stralloc_catb") ;
  sa->len-- ;
  stralloc_free(&rel) ;
}

int main(int argc, char const *const *argv)
{
  users u = USERS_ZERO ;
  users_entry e ;
  stralloc canon = STRALLOC_ZERO, home = STRALLOC_ZERO ;
  struct rlimit core, nocore = { 0, 0 } ;
  char const *user, *pw ;
  size_t ulen, pwlen ;
  int r, v = 0 ;
  PROG = "auth-check" ;
  if (argc < 2) strerr_dieusage(2, USAGE) ;
  /* no core file while the password is in memory; the limit comes back
     for the program run */
  if (getrlimit(RLIMIT_CORE, &core) < 0) core.rlim_cur = core.rlim_max = 0 ;
  setrlimit(RLIMIT_CORE, &nocore) ;
  if (readinput() < 0) {
    setlogname(in, strnlen(in, INPUT_MAX)) ;
    fail("input-too-long") ;
  }
  parse(&user, &ulen, &pw, &pwlen) ;

  if (!users_open(&u)) { wipe() ; strerr_diefusys(111, "open etc/users.cdb") ; }
  r = users_login(&u, user, ulen, &canon, &e) ;
  if (r < 0) { wipe() ; strerr_diefusys(111, "read etc/users.cdb") ; }
  if (r == USERS_MAILBOX && e.hash[0]) v = pwhash_verify(e.hash, pw, pwlen) ;
  else pwhash_verify_dummy(pw, pwlen) ;
  wipe() ;
  if (r != USERS_MAILBOX) fail("unknown-user") ;
  if (!e.hash[0]) fail("login-disabled") ;
  if (v < 0) {
    strerr_warnw("unusable password hash in etc/users for ", canon.s) ;
    fail("bad-hash") ;
  }
  if (!v) fail("password") ;

  homepath(&home, e.mailbox) ;
  users_close(&u) ;
  become(home.s) ;
  if (setenv("USER", canon.s, 1) < 0 || setenv("AUTHUSER", canon.s, 1) < 0
   || setenv("HOME", home.s, 1) < 0) strerr_diefusys(111, "setenv") ;
  setrlimit(RLIMIT_CORE, &core) ;
  exec(argv + 1) ;
  strerr_diefusys(111, "exec ", argv[1]) ;
}
