/* Unit tests of lib/maildir. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include "maildir.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

static char top[256] ;

static char const *P (char const *rel)
{
  static char buf[4][512] ;
  static unsigned int i ;
  char *b = buf[i++ & 3] ;
  snprintf(b, 512, "%s/%s", top, rel) ;
  return b ;
}

static void put (char const *rel, char const *s)
{
  int fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC, 0600) ;
  if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s)) { perror(rel) ; exit(2) ; }
  close(fd) ;
}

static char const *slurp_rel (char const *rel)
{
  static stralloc sa = STRALLOC_ZERO ;
  sa.len = 0 ;
  if (!openslurpclose(&sa, P(rel)) || !stralloc_0(&sa)) return 0 ;
  return sa.s ;
}

static void test_names (void)
{
  stralloc sa = STRALLOC_ZERO, sb = STRALLOC_ZERO ;
  uint64_t u = 0 ;
  ok(maildir_host(&sa, "a/b:c,d\\e f.example") && !strcmp((stralloc_0(&sa), sa.s), "a\\057b\\072c\\054d\\134e\\040f.example"),
     "host: escapes / : , \\ and blanks");
  ok(maildir_uniq(&sa, "h.example") && maildir_uniq(&sb, "h.example") && strcmp(sa.s, sb.s), "uniq: two names differ");
  ok(strlen(sa.s) == sa.len && strstr(sa.s, ".M") && strstr(sa.s, "P") && strstr(sa.s, "Q") && strstr(sa.s, ".h.example"),
     "uniq: TIME.MusecPpidQn.host (%s)", sa.s);
  ok(maildir_name_size("1.M2P3Q4.h,S=1234", &u) && u == 1234, "name_size: plain");
  ok(maildir_name_size("1.M2P3Q4.h,W=99,S=77:2,S", &u) && u == 77, "name_size: with W= and flags");
  ok(maildir_name_size("1.M2P3Q4.h,S=5,W=6", &u) && u == 5, "name_size: followed by another field");
  ok(!maildir_name_size("1.M2P3Q4.h:2,S=5", &u), "name_size: not in the flags");
  ok(!maildir_name_size("1.M2P3Q4.h,S=", &u) && !maildir_name_size("1.h,S=5x", &u) && !maildir_name_size("1.h", &u),
     "name_size: absent or malformed");
  ok(maildir_folder_valid("Work") && maildir_folder_valid("Work.Projects") && maildir_folder_valid("A b&-"),
     "folder_valid: good names");
  ok(!maildir_folder_valid("") && !maildir_folder_valid(".x") && !maildir_folder_valid("x.")
     && !maildir_folder_valid("a..b") && !maildir_folder_valid("a/b") && !maildir_folder_valid("a\nb"),
     "folder_valid: bad names");
  {
    char big[MAILDIR_FOLDER_MAX + 2] ;
    memset(big, 'a', sizeof big - 1) ; big[sizeof big - 1] = 0 ;
    ok(!maildir_folder_valid(big), "folder_valid: too long") ;
  }
  ok(maildir_folder_path(&sa, "/m", "Work") && !strcmp(sa.s, "/m/.Work") && sa.len == 8, "folder_path");
  stralloc_free(&sa) ; stralloc_free(&sb) ;
}

static void test_parse (void)
{
  maildir_quota q = MAILDIR_QUOTA_ZERO ;
  char buf[MAILDIR_QUOTA_FMT] ;
  ok(maildir_quota_parse(S("1000S\n100 1\n  -20  -1 \n\n30 2\n"), &q) && q.maxbytes == 1000 && !q.maxcount
     && q.bytes == 110 && q.count == 2, "parse: limits and usage, negative lines, blank line");
  ok(maildir_quota_parse(S("1000S,10C\n"), &q) && q.maxbytes == 1000 && q.maxcount == 10 && !q.bytes, "parse: S and C");
  ok(maildir_quota_parse(S("5C\n"), &q) && !q.maxbytes && q.maxcount == 5, "parse: C only");
  ok(maildir_quota_parse(S("\n1 1\n"), &q) && !q.maxbytes && !q.maxcount && q.bytes == 1, "parse: no limits");
  ok(!maildir_quota_parse(S("1000S\n100 1\n20"), &q) && q.maxbytes == 1000, "parse: cut last line is malformed, limits kept");
  ok(!maildir_quota_parse(S("1000S"), &q), "parse: no newline at all");
  ok(!maildir_quota_parse(S("1000X1\n"), &q), "parse: bad limits");
  ok(!maildir_quota_parse(S("1000S\nabc 1\n"), &q), "parse: bad usage line");
  ok(!maildir_quota_parse(S("1000S\n1 2 3\n"), &q), "parse: three numbers");
  ok(!maildir_quota_parse(S("1000S\n1234567890123456 1\n"), &q), "parse: number too long");
  ok(maildir_quota_fmt(buf, 1000, 0) == 5 && !strcmp(buf, "1000S"), "fmt: S");
  ok(maildir_quota_fmt(buf, 1000, 7) && !strcmp(buf, "1000S,7C"), "fmt: S,C");
  ok(maildir_quota_fmt(buf, 0, 7) && !strcmp(buf, "7C"), "fmt: C");
  ok(maildir_quota_fmt(buf, 0, 0) && !strcmp(buf, "0S"), "fmt: none");
  q = (maildir_quota){ .maxbytes = 100, .bytes = 60, .count = 3 } ;
  ok(!maildir_quota_over(&q, 40, 1) && maildir_quota_over(&q, 41, 1), "over: bytes");
  q.maxcount = 4 ;
  ok(!maildir_quota_over(&q, 1, 1) && maildir_quota_over(&q, 1, 2), "over: count");
  q = (maildir_quota){ .maxbytes = 100, .bytes = -500 } ;
  ok(!maildir_quota_over(&q, 100, 1), "over: negative usage counts as 0");
  q = (maildir_quota){ .bytes = 1000000 } ;
  ok(!maildir_quota_over(&q, 1000000, 1), "over: no limits");
}

static void test_fs (void)
{
  stralloc sa = STRALLOC_ZERO ;
  maildir_quota q = MAILDIR_QUOTA_ZERO ;
  int64_t b = -1, c = -1 ;
  struct stat st ;
  char const *s ;

  ok(!maildir_check(top) && errno == ENOENT, "check: not a maildir");
  ok(maildir_make(top, 0) && maildir_check(top), "make: top");
  ok(stat(P("new"), &st) == 0 && (st.st_mode & 0777) == 0700, "make: mode 700");
  ok(stat(P("maildirfolder"), &st) < 0, "make: top has no maildirfolder");
  ok(maildir_folder_path(&sa, top, "Work") && maildir_make(sa.s, 1) && maildir_check(sa.s)
     && stat(P(".Work/maildirfolder"), &st) == 0, "make: folder with maildirfolder");
  ok(maildir_make(sa.s, 1), "make: again is fine");

  put("tmp/t1", "12345") ;
  ok(maildir_commit(top, "t1", "100.Qid.1.host,S=5") && stat(P("tmp/t1"), &st) < 0
     && stat(P("new/100.Qid.1.host,S=5"), &st) == 0 && st.st_size == 5, "commit: moved to new/");
  put("tmp/t2", "xyz") ;
  ok(!maildir_commit(top, "t2", "100.Qid.1.host,S=5") && errno == EEXIST && stat(P("tmp/t2"), &st) == 0,
     "commit: EEXIST keeps the tmp file");
  ok(!maildir_commit(top, "nope", "200.x") && errno == ENOENT && stat(P("new/200.x"), &st) < 0, "commit: missing tmp");
  unlink(P("tmp/t2")) ;

  ok(maildir_find_suffix(top, ".Qid.1.host") == 1, "find: in new/");
  ok(maildir_find_suffix(top, ".Qid.2.host") == 0, "find: other id");
  ok(maildir_find_suffix(top, ".Qid.1.hos") == 0, "find: prefix of host is not enough");
  rename(P("new/100.Qid.1.host,S=5"), P("cur/100.Qid.1.host,S=5:2,S")) ;
  ok(maildir_find_suffix(top, ".Qid.1.host") == 1, "find: moved to cur/ with flags");
  put("cur/999.Qid.3.host:2,", "") ;
  ok(maildir_find_suffix(top, ".Qid.3.host") == 1, "find: no S=");
  put("cur/x999.Qid.4.host", "") ;
  ok(maildir_find_suffix(top, ".Qid.4.host") == 0, "find: needs digits first");
  unlink(P("cur/x999.Qid.4.host")) ;
  ok(maildir_find_suffix(P(".None"), ".Qid.1.host") == 0, "find: missing dirs are empty");

  /* usage: cur/ 5 (S=) + 0, folder: 7 (S=, size of the file ignored) + 11 (stat) */
  put(".Work/new/1.a.h,S=7", "x") ;
  put(".Work/cur/2.b.h:2,S", "hello world") ;
  put(".Work/cur/.hidden", "ignored") ;
  mkdir(P(".notafolder"), 0700) ;
  put(".file", "not a dir") ;
  ok(maildir_quota_scan(top, &b, &c) && b == 23 && c == 4, "scan: S= or stat, all folders (%lld %lld)", (long long)b, (long long)c);

  ok(maildir_quota_read(top, &q) && !q.present, "read: absent");
  ok(maildir_quota_get(top, &q, 0, 0) && !q.present && stat(P("maildirsize"), &st) < 0, "get: no -q, no file: no quota");
  ok(maildir_quota_get(top, &q, 1, 0) && !q.present && stat(P("maildirsize"), &st) < 0, "get: -q 0, no file: no quota");
  ok(maildir_quota_get(top, &q, 1, 1000) && q.present && q.maxbytes == 1000 && q.bytes == 23 && q.count == 4,
     "get: -q creates by recalculation");
  s = slurp_rel("maildirsize") ;
  is_str(s, "1000S\n23 4\n", "get: maildirsize written");
  ok(maildir_quota_add(top, 100, 1) && maildir_quota_add(top, -3, -1), "add: lines");
  is_str(slurp_rel("maildirsize"), "1000S\n23 4\n100 1\n-3 -1\n", "add: appended");
  ok(maildir_quota_get(top, &q, 0, 0) && q.maxbytes == 1000 && q.bytes == 120 && q.count == 4, "get: sums lines");
  ok(maildir_quota_get(top, &q, 1, 2000) && q.maxbytes == 2000 && q.bytes == 120, "get: new limit keeps usage");
  is_str(slurp_rel("maildirsize"), "2000S\n120 4\n", "get: limit rewritten, lines summed");
  put("maildirsize", "2000S\n5 1\ngarbage\n") ;
  ok(maildir_quota_get(top, &q, 0, 0) && q.maxbytes == 2000 && q.bytes == 23 && q.count == 4, "get: malformed -> recalc");
  is_str(slurp_rel("maildirsize"), "2000S\n23 4\n", "get: recalculated file");
  {
    char big[MAILDIRSIZE_MAX + 100] ;
    size_t n = 6 ;
    memcpy(big, "3000S\n", 6) ;
    while (n + 4 < sizeof big - 1) { memcpy(big + n, "1 1\n", 4) ; n += 4 ; }
    big[n] = 0 ;
    put("maildirsize", big) ;
  }
  ok(maildir_quota_get(top, &q, 0, 0) && q.maxbytes == 3000 && q.bytes == 23 && q.count == 4, "get: too big -> recalc");
  put("maildirsize", "100S\n500 1\n") ;
  ok(maildir_quota_get(top, &q, 0, 0) && q.bytes == 500 && maildir_quota_over(&q, 1, 1), "get: fresh over-quota file is believed");
  {
    struct timespec ts[2] = { { .tv_sec = time(0) - MAILDIRSIZE_STALE - 10 }, { .tv_sec = time(0) - MAILDIRSIZE_STALE - 10 } } ;
    utimensat(AT_FDCWD, P("maildirsize"), ts, 0) ;
  }
  ok(maildir_quota_get(top, &q, 0, 0) && q.bytes == 23 && !maildir_quota_stale(&q), "get: stale over-quota file -> recalc");
  put("maildirsize", "0S\n500 1\n") ;
  ok(maildir_quota_get(top, &q, 0, 0) && q.present && !maildir_quota_over(&q, 1000000, 1), "get: 0S is no limit");
  put("maildirsize", "7C\n0 7\n") ;
  ok(maildir_quota_get(top, &q, 0, 0) && q.maxcount == 7 && maildir_quota_over(&q, 1, 1), "get: count limit");
  ok(maildir_quota_get(top, &q, 1, 50) && q.maxbytes == 50 && !q.maxcount, "get: -q replaces the count limit");
  is_str(slurp_rel("maildirsize"), "50S\n0 7\n", "get: replaced");
  unlink(P("maildirsize")) ;
  ok(maildir_quota_add(top, 1, 1) && stat(P("maildirsize"), &st) < 0, "add: absent file is not created");
  stralloc_free(&sa) ;
}

static void test_subscribe (void)
{
  struct stat st, st2 ;
  char big[MAILDIR_SUBS_MAX + 2] ;
  ok(maildir_subscribe(top, "Junk") && stat(P("subscriptions"), &st) == 0, "subscribe: file made");
  is_str(slurp_rel("subscriptions"), "Junk\n", "subscribe: one name a line");
  ok((st.st_mode & 0777) == 0600, "subscribe: mode from the Maildir's 700 (%o)", (unsigned)(st.st_mode & 0777));
  ok(maildir_subscribe(top, "Junk") && stat(P("subscriptions"), &st2) == 0 && st2.st_ino == st.st_ino,
     "subscribe: listed already, file untouched");
  ok(stat(P("subscriptions.lock"), &st) < 0, "subscribe: no lock left");
  put("subscriptions", "INBOX\nSent\nTrash") ;
  chmod(P("subscriptions"), 0640) ;
  ok(maildir_subscribe(top, "Work.Projects"), "subscribe: a nested folder");
  is_str(slurp_rel("subscriptions"), "INBOX\nSent\nTrash\nWork.Projects\n", "subscribe: others kept, a missing newline added");
  ok(stat(P("subscriptions"), &st) == 0 && (st.st_mode & 0777) == 0640, "subscribe: the file's mode kept");
  put("subscriptions", "V\t2\n\nSent\nWork\tProjects\n") ;
  ok(maildir_subscribe(top, "Work.Projects") && maildir_subscribe(top, "Junk") && maildir_subscribe(top, "A.B.C"),
     "subscribe: Dovecot's version 2");
  is_str(slurp_rel("subscriptions"), "V\t2\n\nSent\nWork\tProjects\nJunk\nA\tB\tC\n",
         "subscribe: version 2 kept, levels separated by tabs, no duplicate");
  put("subscriptions", "Junkmail\nxJunk\n") ;
  ok(maildir_subscribe(top, "Junk"), "subscribe: names that only contain it");
  is_str(slurp_rel("subscriptions"), "Junkmail\nxJunk\nJunk\n", "subscribe: whole lines compared");
  ok(!maildir_subscribe(top, "../x") && errno == EINVAL && !maildir_subscribe(top, "") && errno == EINVAL,
     "subscribe: invalid folder names refused");
  memset(big, 'x', sizeof big - 1) ; big[sizeof big - 1] = 0 ;
  big[sizeof big - 2] = '\n' ;
  put("subscriptions", big) ;
  ok(!maildir_subscribe(top, "Junk") && errno == EFBIG, "subscribe: a file over %d bytes is refused", MAILDIR_SUBS_MAX);
  ok(stat(P("subscriptions"), &st) == 0 && st.st_size == (off_t)sizeof big - 1 && stat(P("subscriptions.lock"), &st) < 0,
     "subscribe: ... and left alone, no lock left");
  put("subscriptions", "Sent\n") ;
  put("subscriptions.lock", "") ;
  ok(!maildir_subscribe(top, "Junk") && errno == EAGAIN, "subscribe: a fresh lock (an IMAP server's) is waited for, then given up");
  is_str(slurp_rel("subscriptions"), "Sent\n", "subscribe: ... file unchanged");
  ok(stat(P("subscriptions.lock"), &st) == 0, "subscribe: ... the other's lock kept");
  {
    struct timespec old[2] = { { .tv_sec = time(0) - 60 }, { .tv_sec = time(0) - 60 } } ;
    utimensat(AT_FDCWD, P("subscriptions.lock"), old, 0) ;
  }
  ok(maildir_subscribe(top, "Junk"), "subscribe: a stale lock (untouched for 30 s) is taken over");
  is_str(slurp_rel("subscriptions"), "Sent\nJunk\n", "subscribe: ... and the file written");
  unlink(P("subscriptions")) ;
}

int main (void)
{
  char const *t = getenv("TMPDIR") ;
  snprintf(top, sizeof top, "%s/pm-unit-maildir-XXXXXX", t && *t ? t : "/tmp") ;
  if (!mkdtemp(top)) { perror("mkdtemp") ; return 2 ; }
  rmdir(top) ;  /* maildir_make makes it */
  test_names() ;
  test_parse() ;
  test_fs() ;
  test_subscribe() ;
  rm_rf(top) ;
  return done_testing() ;
}
