/* The whole of maildir-deliver, as a function: the program's main() calls
   it, and queue-run calls it in its delivery workers instead of exec'ing
   the program (same argv, environment, fds and exit code; no exec cost). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "hdr.h"
#include "maildir.h"
#include "mdeliver.h"
#include "msgcrlf.h"

#define USAGE "maildir-deliver [-q QUOTABYTES] [-f FOLDER] MAILDIR"
#define HDR_MAXBYTES (1024 * 1024)  /* scan at most this much header */
#define HDR_MAXLINES 10000
#define ENV_ADDR_MAX 1000
#define ID_MAX 100
#define CHUNK 65536

static char const *tmppath = 0 ;  /* removed on a fatal error */

static void cleanup (void)
{
  if (tmppath) { int e = errno ; unlink(tmppath) ; errno = e ; }
}

/* Every failure is one line "maildir-deliver: fatal: X.Y.Z reason". */
#define die_sys(...) (cleanup(), strerr_diefsys(111, "4.3.0 unable to ", __VA_ARGS__))
#define die_nomem() die_sys("allocate memory")
#define die_temp(...) (cleanup(), strerr_dief(111, __VA_ARGS__))
#define die_perm(...) (cleanup(), strerr_dief(100, __VA_ARGS__))

static char const *env_addr (char const *name, char const *code)
{
  char const *s = getenv(name) ;
  if (!s) die_temp("4.3.5 $", name, " not set") ;
  if (strlen(s) > ENV_ADDR_MAX) die_perm(code, " address in $", name, " too long") ;
  /* it goes into a header line */
  for (char const *p = s ; *p ; p++)
    if ((unsigned char)*p < 32 || *p == 127) die_perm(code, " invalid address in $", name) ;
  return s ;
}

/* DELIVERY_ID if usable, else 0 (then names are unique, not fixed). */
static char const *delivery_id (void)
{
  char const *s = getenv("DELIVERY_ID") ;
  size_t n ;
  if (!s || !*s) return 0 ;
  n = strlen(s) ;
  if (n > ID_MAX || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n) return 0 ;
  return s ;
}

static uint64_t arrival (void)
{
  char const *s = getenv("QUEUE_ARRIVAL") ;
  uint64_t u ;
  if (s && *s && !s[uint64_scan(s, &u)]) return u ;
  return (uint64_t)time(0) ;
}

/* Whether to look through new/ and cur/ for an earlier copy. A young
   message's earlier copy can only be in new/ under the same fixed name,
   which link() finds (EEXIST) at no cost; the scan, O(messages in the
   mailbox), is for old messages, which a reader may have moved to cur/,
   and for names that are not fixed (no QUEUE_ARRIVAL). */
#define RECHECK_AFTER 60
static int recheck_needed (void)
{
  char const *s = getenv("QUEUE_ARRIVAL") ;
  if (!s || !*s) return 1 ;
  return (uint64_t)time(0) >= arrival() + RECHECK_AFTER ;
}

/* Read stdin until the end of the header (or the scan limits, or EOF)
   into sa. Returns the length of the part to scan; *eof set at EOF. */
static size_t read_head (stralloc *sa, int *eof)
{
  for (;;)
  {
    size_t hlen ;
    ssize_t r ;
    int st = hdr_split(sa->s, sa->len, HDR_MAXLINES, &hlen) ;
    if (st != HDR_MORE || sa->len >= HDR_MAXBYTES) return hlen ;
    if (*eof) return sa->len ;  /* all header, last line unterminated */
    if (!stralloc_readyplus(sa, CHUNK)) die_nomem() ;
    r = fd_read(0, sa->s + sa->len, CHUNK) ;
    if (r < 0) die_sys("read message") ;
    if (!r) *eof = 1 ;
    sa->len += r ;
  }
}

static void put_fail (void) gccattr_noreturn ;
static void put_fail (void)
{
  if (!errno) errno = EIO ;
  die_sys("write ", tmppath ? tmppath : "the message") ;
}

static void put (int fd, char const *s, size_t n, uint64_t *size, msgcrlf *w)
{
  if (allwrite(fd, s, n) < n) put_fail() ;
  *size += n ;
  msgcrlf_add(w, s, n) ;
}

/* Write the tmp file: our trace headers, what was read, the rest of stdin.
   The first part in one system call: it is most messages whole. *w counts
   its size with CRLF line ends (POP3 and IMAP need it: ",W=" in the name). */
static uint64_t write_message (int fd, char const *sender, char const *rcpt, stralloc const *head, int eof, msgcrlf *w)
{
  static char buf[CHUNK] ;
  struct iovec v[6] = {
    { .iov_base = "Return-Path: <", .iov_len = 14 },
    { .iov_base = (char *)sender, .iov_len = strlen(sender) },
    { .iov_base = ">\nDelivered-To: ", .iov_len = 16 },
    { .iov_base = (char *)rcpt, .iov_len = strlen(rcpt) },
    { .iov_base = "\n", .iov_len = 1 },
    { .iov_base = head->s, .iov_len = head->len },
  } ;
  uint64_t size = 0 ;
  for (unsigned int i = 0 ; i < 6 ; i++)
  {
    size += v[i].iov_len ;
    msgcrlf_add(w, v[i].iov_base, v[i].iov_len) ;
  }
  if (allwritev(fd, v, 6) < size) put_fail() ;
  while (!eof)
  {
    ssize_t r = fd_read(0, buf, sizeof buf) ;
    if (r < 0) die_sys("read message") ;
    if (!r) break ;
    put(fd, buf, r, &size, w) ;
  }
  if (fd_sync(fd) < 0) die_sys("sync ", tmppath ? tmppath : "the message") ;
  return size ;
}

/* Create dir/tmp/UNIQUE; name gets UNIQUE, path the whole path. */
static int open_tmp (char const *dir, char const *host, stralloc *name, stralloc *path)
{
  for (unsigned int tries = 0 ; tries < 5 ; tries++)
  {
    int fd ;
    if (!maildir_uniq(name, host)) die_nomem() ;
    path->len = 0 ;
    if (!stralloc_cats(path, dir) || !stralloc_cats(path, "/tmp/")
     || !stralloc_cat(path, name) || !stralloc_0(path)) die_nomem() ;
    fd = open(path->s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
    if (fd >= 0) { tmppath = path->s ; return fd ; }
    if (errno != EEXIST) die_sys("create ", path->s) ;
  }
  die_temp("4.3.0 unable to find a unique name in ", dir, "/tmp") ;
}

static void quota_full (maildir_quota const *q, uint64_t size)
{
  char fmt[UINT64_FMT] ;
  int bytes = q->maxbytes && maildir_quota_over(&(maildir_quota){ .maxbytes = q->maxbytes, .bytes = q->bytes }, size, 0) ;
  fmt[uint64_fmt(fmt, bytes ? q->maxbytes : q->maxcount)] = 0 ;
  die_perm("5.2.2 mailbox full (quota ", fmt, bytes ? " bytes)" : " messages)") ;
}

int mdeliver_main (int argc, char const *const *argv)
{
  /* static: kept from one call to the next (queue-run's delivery workers
     call this again and again), emptied here */
  static stralloc head = STRALLOC_ZERO, host = STRALLOC_ZERO, suffix = STRALLOC_ZERO ;
  static stralloc target = STRALLOC_ZERO, tmpname = STRALLOC_ZERO, tmpp = STRALLOC_ZERO, newname = STRALLOC_ZERO ;
  subgetopt l = SUBGETOPT_ZERO ;
  maildir_quota q = MAILDIR_QUOTA_ZERO ;
  msgcrlf w = MSGCRLF_ZERO ;
  char const *folder = 0, *maildir, *sender, *rcpt, *id ;
  uint64_t qbytes = 0, size ;
  int qset = 0, eof = 0, fd ;
  size_t hlen ;
  char fmt[UINT64_FMT] ;
  PROG = "maildir-deliver" ;
  head.len = host.len = suffix.len = target.len = tmpname.len = tmpp.len = newname.len = 0 ;
  tmppath = 0 ;

  for (;;)
  {
    int opt = subgetopt_r(argc, argv, "q:f:", &l) ;
    if (opt == -1) break ;
    switch (opt)
    {
      case 'q' :
        if (!*l.arg || l.arg[uint64_scan(l.arg, &qbytes)]) strerr_dieusage(100, USAGE) ;
        qset = 1 ; break ;
      case 'f' : folder = l.arg ; break ;
      default : strerr_dieusage(100, USAGE) ;
    }
  }
  argc -= l.ind ; argv += l.ind ;
  if (argc != 1 || !*argv[0]) strerr_dieusage(100, USAGE) ;
  maildir = argv[0] ;
  if (folder && !strcasecmp(folder, "INBOX")) folder = 0 ;
  if (folder && !maildir_folder_valid(folder)) die_perm("5.3.5 invalid folder name") ;
  sender = env_addr("SENDER", "5.1.7") ;
  rcpt = env_addr("RECIPIENT", "5.1.3") ;
  if (!*rcpt) die_temp("4.3.5 $RECIPIENT is empty") ;
  id = delivery_id() ;
  /* a file size limit must fail a write, not kill us half-way */
  sig_ignore(SIGXFSZ) ;

  if (!maildir_check(maildir))
  {
    if (errno == ENOENT || errno == ENOTDIR) die_temp("4.3.5 mailbox missing: ", maildir) ;
    die_sys("access ", maildir) ;
  }

  if (!stralloc_ready(&head, CHUNK)) die_nomem() ;
  hlen = read_head(&head, &eof) ;
  if (hdr_has(head.s, hlen, "Delivered-To", rcpt))
    die_perm("5.4.6 mail loop: already delivered to ", rcpt) ;
  if (!folder && (hdr_has(head.s, hlen, "X-Spam", "yes") || hdr_has(head.s, hlen, "X-Spam-Flag", "yes")))
    folder = "Junk" ;

  if (folder)
  {
    if (!maildir_folder_path(&target, maildir, folder)) die_nomem() ;
    /* a new folder is subscribed, or IMAP clients that show subscribed
       folders only never show it; before it is made, so that after a
       crash in between the next delivery still finds it new */
    if (!maildir_check(target.s) && !maildir_subscribe(maildir, folder))
      strerr_warnwusys("subscribe to folder ", folder, " in ", maildir, "/subscriptions") ;
    if (!maildir_make(target.s, 1)) die_sys("create folder ", target.s) ;
  }
  else if (!stralloc_cats(&target, maildir) || !stralloc_0(&target)) die_nomem() ;

  if (sagethostname(&host) < 0 || !stralloc_0(&host)) die_sys("get host name") ;
  if (id)
  {
    /* a run after a crash may already have delivered it: look first */
    int r ;
    if (!stralloc_cats(&suffix, ".Q") || !stralloc_cats(&suffix, id) || !stralloc_catb(&suffix, ".", 1)
     || !maildir_host(&suffix, host.s) || !stralloc_0(&suffix)) die_nomem() ;
    r = recheck_needed() ? maildir_find_suffix(target.s, suffix.s) : 0 ;
    if (r < 0) die_sys("read ", target.s) ;
    if (r) return 0 ;
  }

  if (!maildir_quota_get(maildir, &q, qset, qbytes)) die_sys("read quota of ", maildir) ;
  if (q.present && maildir_quota_over(&q, 1, 1)) quota_full(&q, 1) ;

  /* unnamed until it is complete: one directory operation, not three */
  fd = maildir_tmpfile(target.s) ;
  if (fd < 0) fd = open_tmp(target.s, host.s, &tmpname, &tmpp) ;
  else if (!maildir_uniq(&tmpname, host.s)) die_nomem() ;
  size = write_message(fd, sender, rcpt, &head, eof, &w) ;

  if (q.present && maildir_quota_over(&q, size, 1))
  {
    if (maildir_quota_stale(&q) && !maildir_quota_recalc(maildir, &q)) die_sys("recalculate quota of ", maildir) ;
    if (maildir_quota_over(&q, size, 1)) quota_full(&q, size) ;
  }

  for (unsigned int tries = 0 ;; tries++)
  {
    newname.len = 0 ;
    if (id)
    {
      if (!stralloc_catb(&newname, fmt, uint64_fmt(fmt, arrival())) || !stralloc_cats(&newname, suffix.s)) die_nomem() ;
    }
    else if (tries ? !maildir_uniq(&newname, host.s) : !stralloc_copy(&newname, &tmpname)) die_nomem() ;
    if (!stralloc_cats(&newname, ",S=") || !stralloc_catb(&newname, fmt, uint64_fmt(fmt, size))
     || !stralloc_cats(&newname, ",W=") || !stralloc_catb(&newname, fmt, uint64_fmt(fmt, msgcrlf_total(&w)))
     || !stralloc_0(&newname)) die_nomem() ;
    if (tmppath ? maildir_commit(target.s, tmpname.s, newname.s) : maildir_commit_fd(target.s, fd, newname.s)) break ;
    if (errno != EEXIST) die_sys("deliver to ", target.s, "/new/", newname.s) ;
    if (id) { cleanup() ; tmppath = 0 ; close(fd) ; return 0 ; }  /* delivered by an earlier run */
    if (tries >= 3) die_sys("deliver to ", target.s, "/new/", newname.s) ;
  }
  tmppath = 0 ;
  if (close(fd) < 0) die_sys("close the message") ;
  if (q.present && !maildir_quota_add(maildir, (int64_t)size, 1))
    strerr_warnwusys("update ", maildir, "/maildirsize") ;
  return 0 ;
}
