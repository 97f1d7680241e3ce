/* Unit tests of lib/qsched (queue-run's scheduling state) and lib/qjob
   (its child jobs). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include "tap.h"
#include "qjob.h"
#include "qsched.h"

static void test_delay(void)
{
  ok(qsched_delay(1, 60, 3600) == 60, "first retry after min") ;
  ok(qsched_delay(2, 60, 3600) == 120, "doubles") ;
  ok(qsched_delay(3, 60, 3600) == 240, "doubles again") ;
  ok(qsched_delay(7, 60, 3600) == 3600, "capped at max") ;
  ok(qsched_delay(1000000, 60, 3600) == 3600, "huge attempt count: no overflow") ;
  ok(qsched_delay(5, 0, 10) == 10, "min 0 counts as 1") ;
  ok(qsched_delay(0, 5, 10) == 5, "attempt 0: min") ;
}

static void test_idvalid(void)
{
  ok(qsched_idvalid("6b04579d.481eb1f.323c", 21), "a queue id") ;
  ok(!qsched_idvalid("", 0), "empty") ;
  ok(!qsched_idvalid(".hidden", 7), "leading dot") ;
  ok(!qsched_idvalid("../x", 4), "path") ;
  ok(!qsched_idvalid("ABC", 3), "upper case") ;
  ok(!qsched_idvalid("0123456789abcdef0123456789abcdef0", 33), "too long") ;
  ok(qsched_idvalid("0123456789abcdef0123456789abcdef", 32), "longest") ;
}

static smsg *add(qsched *s, char const *id)
{
  qmsg q = QMSG_ZERO ;
  strcpy(q.id, id) ;
  return qsched_add(s, &q) ;
}

static unsigned int nready(qsched *s)
{
  unsigned int n = 0 ;
  while (qsched_peek(s)) { qsched_pop(s) ; n++ ; }
  return n ;
}

static void count1(qsched *s, smsg *m, void *data)
{
  (void)s ; (void)m ;
  (*(unsigned int *)data)++ ;
}

static void test_table(void)
{
  qsched s = QSCHED_ZERO ;
  char id[32] ;
  int good = 1 ;
  for (unsigned int i = 0 ; i < 1000 ; i++) {
    snprintf(id, sizeof id, "%x.%x", i * 7919, i) ;
    if (!add(&s, id)) good = 0 ;
  }
  ok(good && s.count == 1000, "1000 messages added") ;
  ok(nready(&s) == 1000, "each new message is ready once") ;
  for (unsigned int i = 0 ; i < 1000 ; i++) {
    snprintf(id, sizeof id, "%x.%x", i * 7919, i) ;
    smsg *m = qsched_find(&s, id) ;
    if (!m || strcmp(m->q.id, id)) good = 0 ;
    if (i % 2) qsched_remove(&s, m) ;
  }
  ok(good, "every one found") ;
  ok(s.count == 500, "half removed") ;
  good = 1 ;
  for (unsigned int i = 0 ; i < 1000 ; i++) {
    snprintf(id, sizeof id, "%x.%x", i * 7919, i) ;
    if ((qsched_find(&s, id) == 0) != (i % 2 == 1)) good = 0 ;
  }
  ok(good, "removed ones are gone, others stay") ;
  unsigned int n = 0 ;
  qsched_each(&s, &count1, &n) ;
  ok(n == 500, "qsched_each visits the live ones") ;
  qsched_free(&s) ;
  ok(s.count == 0 && !s.tab, "freed") ;
}

static void test_timers(void)
{
  qsched s = QSCHED_ZERO ;
  smsg *a = add(&s, "a"), *b = add(&s, "b"), *c = add(&s, "c") ;
  nready(&s) ;
  ok(qsched_next(&s) == UINT64_MAX, "no timer") ;
  qsched_at(&s, a, 300) ;
  qsched_at(&s, b, 100) ;
  qsched_at(&s, c, 200) ;
  qsched_at(&s, b, 150) ;    /* later than its timer: ignored */
  ok(qsched_next(&s) == 100 && s.heaplen == 3, "earliest first, later duplicate ignored") ;
  qsched_at(&s, a, 50) ;     /* earlier: a second entry */
  ok(qsched_next(&s) == 50, "an earlier time wins") ;
  qsched_expire(&s, 99) ;
  ok(qsched_peek(&s) == a, "a due at 50") ;
  qsched_pop(&s) ;
  ok(!qsched_peek(&s), "nothing else due at 99") ;
  qsched_remove(&s, c) ;     /* in the heap: freed later */
  qsched_expire(&s, 1000) ;
  ok(qsched_peek(&s) == b, "b due, dead c skipped") ;
  qsched_pop(&s) ;
  ok(qsched_peek(&s) == a && (qsched_pop(&s), !qsched_peek(&s)), "a's stale entry makes it ready once more") ;
  ok(s.heaplen == 0 && qsched_next(&s) == UINT64_MAX, "heap empty") ;
  qsched_ready(&s, b) ;
  qsched_ready(&s, b) ;
  ok(nready(&s) == 1, "ready FIFO holds a message once") ;
  qsched_ready(&s, a) ;
  qsched_ref(a) ;
  qsched_remove(&s, a) ;
  ok(!qsched_peek(&s), "a removed while ready: skipped") ;
  ok(a->dead && a->refs == 1, "still referenced") ;
  qsched_unref(a) ;          /* freed here (ASan checks) */
  for (int i = 0 ; i < 2000 ; i++) qsched_at(&s, b, 100000 - i) ;
  ok(s.heaplen == 2000 && qsched_next(&s) == 98001, "heap grows") ;
  qsched_expire(&s, 200000) ;
  ok(nready(&s) == 1 && s.heaplen == 0, "all expire, b ready once") ;
  qsched_free(&s) ;
}

static void writefile(char const *path, char const *s)
{
  FILE *f = fopen(path, "w") ;
  if (f) { fputs(s, f) ; fclose(f) ; }
}

static void scan1(char const *id, void *data)
{
  stralloc *sa = data ;
  stralloc_cats(sa, id) ;
  stralloc_cats(sa, " ") ;
}

static void test_scan(void)
{
  char root[] = "/tmp/pm-unit-qsched-XXXXXX" ;
  char p[4096] ;
  stralloc sa = STRALLOC_ZERO ;
  if (!mkdtemp(root)) { ok(0, "mkdtemp") ; return ; }
  setenv("PIPEMAIL_ROOT", root, 1) ;
  ok(qsched_scan(&scan1, &sa) && sa.len == 0, "no queue: nothing, no error") ;
  ok(queue_init_dirs(), "queue_init_dirs") ;
  snprintf(p, sizeof p, "%s/queue/msg/3/abc.1", root) ; writefile(p, "x") ;
  snprintf(p, sizeof p, "%s/queue/msg/f/def.2", root) ; writefile(p, "x") ;
  snprintf(p, sizeof p, "%s/queue/msg/f/.hidden", root) ; writefile(p, "x") ;
  snprintf(p, sizeof p, "%s/queue/msg/f/NOTANID", root) ; writefile(p, "x") ;
  ok(qsched_scan(&scan1, &sa) && stralloc_0(&sa) && !strcmp(sa.s, "abc.1 def.2 "), "scan finds the ids only") ;
  snprintf(p, sizeof p, "%s/queue/tmp/old", root) ; writefile(p, "x") ;
  struct timespec ts[2] = { { .tv_sec = time(0) - 40 * 3600 }, { .tv_sec = time(0) - 40 * 3600 } } ;
  utimensat(AT_FDCWD, p, ts, 0) ;
  snprintf(p, sizeof p, "%s/queue/tmp/new", root) ; writefile(p, "x") ;
  ok(qsched_cleantmp(time(0), 36 * 3600) == 1, "one stale tmp file removed") ;
  ok(access(p, F_OK) == 0, "the fresh one kept") ;
  stralloc_free(&sa) ;
  snprintf(p, sizeof p, "rm -rf %s", root) ;
  if (system(p)) {}
}

static void test_qjob(void)
{
  qjob j ;
  char buf[128] ;
  char const *argv[] = { "sh", "-c", "echo one; echo \"$FOO\" >&2; printf 'queue-x: fatal: 5.1.1 last\\r\\n'; exit 3", 0 } ;
  char const *env[] = { "FOO=bar" } ;
  int wstat ;
  ok(qjob_spawn(&j, argv, env, 1, 0, -1), "spawn sh") ;
  while (qjob_read(&j)) { struct pollfd x = { .fd = j.fd, .events = POLLIN } ; poll(&x, 1, 1000) ; }
  ok(waitpid(j.pid, &wstat, 0) == j.pid, "reaped") ;
  qjob_finish(&j) ;
  is_str(qjob_reason(&j), "5.1.1 last", "last line, prefix stripped") ;
  ok(qjob_class_delivery(wstat) == QJOB_TEMP, "exit 3: temporary") ;

  char const *argv2[] = { "sh", "-c", "echo \"x$FOO\"; echo tail-no-newline", 0 } ;
  char const *env2[] = { "FOO=baz" } ;
  int fd = qjob_memfd("", 0) ;
  ok(fd >= 0 && qjob_spawn(&j, argv2, env2, 1, 0, fd), "spawn with stdout to a memfd") ;
  waitpid(j.pid, &wstat, 0) ;
  qjob_finish(&j) ;
  ssize_t r = pread(fd, buf, sizeof buf - 1, 0) ;
  buf[r > 0 ? r : 0] = 0 ;
  is_str(buf, "xbaz\ntail-no-newline\n", "stdout in the memfd, env replaced") ;
  close(fd) ;

  char const *argv3[] = { "pm-no-such-program-x", 0 } ;
  ok(!qjob_spawn(&j, argv3, 0, 0, 0, -1) && errno == ENOENT, "missing program: ENOENT") ;
  ok(qjob_inpath("sh") && !qjob_inpath("pm-no-such-program-x"), "qjob_inpath") ;

  ok(qjob_class_delivery(0) == QJOB_OK && qjob_class_delivery(99 << 8) == QJOB_OK, "0 and 99: delivered") ;
  ok(qjob_class_delivery(100 << 8) == QJOB_PERM, "100: permanent") ;
  ok(qjob_class_delivery(111 << 8) == QJOB_TEMP && qjob_class_delivery(9) == QJOB_TEMP, "111, signal: temporary") ;
  ok(qjob_class_inject(0) == QJOB_OK && qjob_class_inject(31 << 8) == QJOB_PERM && qjob_class_inject(71 << 8) == QJOB_TEMP
     && qjob_class_inject(11 << 8) == QJOB_PERM && qjob_class_inject(41 << 8) == QJOB_TEMP, "queue-inject codes") ;
  qjob_statusreason(buf, sizeof buf, "maildir-deliver", 9, QJOB_TEMP) ;
  is_str(buf, "4.3.0 maildir-deliver killed by signal 9", "reason for a signal") ;
  qjob_statusreason(buf, sizeof buf, "queue-inject", 31 << 8, QJOB_PERM) ;
  is_str(buf, "5.3.0 queue-inject exited 31", "reason for an exit code") ;
  qjob_statusreason(buf, 10, "queue-inject", 31 << 8, QJOB_PERM) ;
  ok(strlen(buf) == 9, "bounded") ;
}

int main(void)
{
  PROG = "unit-qsched" ;
  test_delay() ;
  test_idvalid() ;
  test_table() ;
  test_timers() ;
  test_scan() ;
  test_qjob() ;
  return done_testing() ;
}
