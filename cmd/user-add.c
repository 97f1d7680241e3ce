/* user-add: add a mail user (address, password, Maildir) to the instance.
   See user-add(8). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <skalibs/buffer.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>
#include "addr.h"
#include "maildir.h"
#include "pwhash.h"
#include "root.h"
#include "users.h"

#define USAGE "user-add [-q QUOTABYTES] [-m MAILBOX] [-H HASH] ADDRESS"
#define PASSWORD_MAX 1024

/* The first line of stdin, without its end; no echo on a terminal. */
static void read_password(stralloc *pw)
{
  struct termios old, t ;
  int tty = isatty(0) && tcgetattr(0, &old) == 0 ;
  char c ;
  /* room for all of it at once: no realloc leaves a copy behind */
  if (!stralloc_ready(pw, PASSWORD_MAX + 1)) strerr_diefusys(111, "stralloc_ready") ;
  if (tty) {
    t = old ;
    t.c_lflag &= ~(tcflag_t)ECHO ;
    tcsetattr(0, TCSAFLUSH, &t) ;
    buffer_putsflush(buffer_2, "Password: ") ;
  }
  for (;;) {
    ssize_t r = buffer_get(buffer_0, &c, 1) ;
    if (r < 0) {
      if (tty) tcsetattr(0, TCSAFLUSH, &old) ;
      strerr_diefusys(111, "read the password from stdin") ;
    }
    if (!r || c == '\n') break ;
    if (pw->len >= PASSWORD_MAX) {
      if (tty) tcsetattr(0, TCSAFLUSH, &old) ;
      strerr_dief(100, "password longer than 1024 bytes") ;
    }
    if (!stralloc_catb(pw, &c, 1)) strerr_diefusys(111, "stralloc_catb") ;
  }
  if (tty) { tcsetattr(0, TCSAFLUSH, &old) ; buffer_putsflush(buffer_2, "\n") ; }
  if (pw->len && pw->s[pw->len - 1] == '\r') pw->len-- ;
}

/* Run as root, what this makes goes to the owner of ROOT/mail (the
   queue's user, instance-setup(8)), or delivery could not write it until
   instance-setup ran again. lchown: a symbolic link planted in the tree is
   not followed. Nothing to do when mail/ is root's. */
static struct stat mailowner ;
static int givemail ;

static void mailowner_init(void)
{
  stralloc sa = STRALLOC_ZERO ;
  if (geteuid()) return ;
  if (!pm_path(&sa, "mail")) strerr_diefusys(111, "stralloc_catb") ;
  givemail = !stat(sa.s, &mailowner) && mailowner.st_uid ;
  stralloc_free(&sa) ;
}

static void give(char const *path)
{
  if (givemail && lchown(path, mailowner.st_uid, mailowner.st_gid) < 0 && errno != ENOENT)
    strerr_diefusys(111, "chown ", path) ;
}

/* mkdir -p of the directories above path. */
static void mkparents(char const *path)
{
  char buf[4096] ;
  size_t n = strlen(path) ;
  if (n >= sizeof buf) strerr_dief(100, "mailbox path too long: ", path) ;
  memcpy(buf, path, n + 1) ;
  for (size_t i = 1 ; i < n ; i++) {
    if (buf[i] != '/') continue ;
    buf[i] = 0 ;
    if (mkdir(buf, 0755) == 0) give(buf) ;
    else if (errno != EEXIST) strerr_diefusys(111, "mkdir ", buf) ;
    buf[i] = '/' ;
  }
}

static void give_maildir(char const *path)
{
  static char const *const sub[] = { "", "/new", "/cur", "/tmp", "/maildirsize" } ;
  stralloc sa = STRALLOC_ZERO ;
  for (unsigned int i = 0 ; i < sizeof sub / sizeof *sub ; i++) {
    sa.len = 0 ;
    if (!stralloc_cats(&sa, path) || !stralloc_cats(&sa, sub[i]) || !stralloc_0(&sa))
      strerr_diefusys(111, "stralloc_catb") ;
    give(sa.s) ;
  }
  stralloc_free(&sa) ;
}

static int mailbox_ok(char const *s)
{
  size_t n = strlen(s) ;
  if (!n || s[0] == ' ' || s[n-1] == ' ' || s[0] == '\t' || s[n-1] == '\t') return 0 ;
  if (!strncmp(s, "../", 3) || strstr(s, "/../") || !strcmp(s, "..") || (n >= 3 && !strcmp(s + n - 3, "/.."))) return 0 ;
  for (; *s ; s++) if ((unsigned char)*s < 0x20 || *s == ':' || *s == 0x7f) return 0 ;
  return 1 ;
}

int main (int argc, char const *const *argv)
{
  stralloc addr = STRALLOC_ZERO, pw = STRALLOC_ZERO, hash = STRALLOC_ZERO, line = STRALLOC_ZERO,
           mbox = STRALLOC_ZERO, path = STRALLOC_ZERO, err = STRALLOC_ZERO ;
  char const *mailbox = 0, *readyhash = 0 ;
  uint64_t quota = 0 ;
  char fmt[UINT64_FMT] ;
  size_t at ;
  PROG = "user-add" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;) {
      int opt = subgetopt_r(argc, argv, "q:m:H:", &l) ;
      if (opt == -1) break ;
      switch (opt) {
        case 'q' : if (!*l.arg || l.arg[uint64_scan(l.arg, &quota)]) strerr_dief(100, "invalid quota: ", l.arg) ; break ;
        case 'm' : mailbox = l.arg ; break ;
        case 'H' : readyhash = l.arg ; break ;
        default : strerr_dieusage(100, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc != 1) strerr_dieusage(100, USAGE) ;
  if (!addr_valid(argv[0], strlen(argv[0]))) strerr_dief(100, "invalid address: ", argv[0]) ;
  if (!addr_canon(&addr, argv[0], strlen(argv[0]))) strerr_diefusys(111, "addr_canon") ;
  at = addr_at(addr.s, addr.len) ;
  if (addr.s[at + 1] == '[') strerr_dief(100, "an address literal cannot be a local domain: ", argv[0]) ;
  if (mailbox) {
    if (!mailbox_ok(mailbox)) strerr_dief(100, "invalid mailbox: ", mailbox) ;
  }
  else {
    if (!users_default_mailbox(&mbox, addr.s, addr.len))
      strerr_dief(100, errno == EINVAL ? "no default mailbox for " : "out of memory for ", addr.s, errno == EINVAL ? ": use -m" : "") ;
    mailbox = mbox.s ;
  }

  if (readyhash) {
    /* one a line of etc/users can hold and auth-check can verify */
    if (!pwhash_valid(readyhash)) strerr_dief(100, "not a password hash auth-check can verify: ", readyhash) ;
    if (!stralloc_cats(&hash, readyhash)) strerr_diefusys(111, "stralloc_catb") ;
  }
  else {
    read_password(&pw) ;
    if (pw.len) {
      if (!pwhash_make(&hash, pw.s, pw.len)) strerr_diefusys(111, "hash the password") ;
      explicit_bzero(pw.s, pw.len) ;
    }
    else strerr_warnw("empty password: logins disabled for ", addr.s) ;
  }
  fmt[uint64_fmt(fmt, quota)] = 0 ;
  /* address:hash:mailbox:quota */
  if (!stralloc_catb(&line, addr.s, addr.len) || !stralloc_catb(&line, ":", 1)
   || !stralloc_catb(&line, hash.s, hash.len) || !stralloc_catb(&line, ":", 1)
   || !stralloc_cats(&line, mailbox) || !stralloc_catb(&line, ":", 1)
   || !stralloc_cats(&line, fmt)) strerr_diefusys(111, "stralloc_catb") ;

  if (users_lock() < 0) strerr_diefusys(111, "lock etc/.lock") ;
  switch (users_find(addr.s, addr.len, &err)) {
    case 1 : strerr_dief(100, addr.s, " already exists at ", err.s) ;
    case -1 : strerr_diefusys(111, "read etc/users or etc/aliases") ;
  }
  if (!users_mailbox_path(&path, mailbox)) strerr_diefusys(111, "stralloc_catb") ;
  mailowner_init() ;
  mkparents(path.s) ;
  if (!maildir_make(path.s, 0)) strerr_diefusys(111, "make Maildir ", path.s) ;
  {
    /* quota 0 and no maildirsize: none made; an old one (a Maildir kept
       from before) is told the new limit */
    maildir_quota q = MAILDIR_QUOTA_ZERO ;
    if (!maildir_quota_get(path.s, &q, 1, quota)) strerr_diefusys(111, "write ", path.s, "/maildirsize") ;
  }
  give_maildir(path.s) ;
  if (!users_add_line("etc/users", line.s, line.len, addr.s + at + 1, addr.len - at - 1, &err)) {
    if (err.len) strerr_dief(100, err.s, " (etc/users left unchanged)") ;
    strerr_diefusys(111, "update etc/users and etc/users.cdb") ;
  }
  strerr_warni("added address=", addr.s, " mailbox=", mailbox, " quota=", fmt) ;
  stralloc_free(&addr) ; stralloc_free(&pw) ; stralloc_free(&hash) ; stralloc_free(&line) ;
  stralloc_free(&mbox) ; stralloc_free(&path) ; stralloc_free(&err) ;
  return 0 ;
}
