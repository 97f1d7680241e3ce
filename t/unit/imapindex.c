/* Unit tests of lib/imapstore/mboxindex (the folder index file): what is
   written is read back; a torn, bit-flipped, foreign or inconsistent file
   is refused; the header alone is read; the lock is exclusive. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stddef.h>
#include "imapstore/mboxindex.h"
#include "imapstore/mbox.h"
#include "tap.h"

static char dir[] = "/tmp/pm-imapindex.XXXXXX" ;
static char path[256] ;

static imapindex_rec const recs[3] = {
  { .uid = 1, .flags = 8, .kw = 0, .namelen = 12, .baselen = 6, .size = 10, .vsize = 12, .modseq = 100, .date = 1700000000, .name = "1000.a,S=10:2,S" },
  { .uid = 4, .flags = 0, .kw = 3, .namelen = 9, .baselen = 6, .size = 20, .vsize = 22, .modseq = 105, .date = 0, .name = "1001.b:2," },
  { .uid = 9, .flags = 31, .kw = 1u << 25, .namelen = 12, .baselen = 6, .size = 5, .vsize = 6, .modseq = 110, .date = 1700000001, .name = "1002.c:2,DFRST" },
} ;
static uint64_t const logm[2] = { 101, 107 } ;
static uint32_t const logu[2] = { 2, 5 } ;

static void rec (void *ctx, size_t i, imapindex_rec *r)
{
  (void)ctx ;
  *r = recs[i] ;
  r->namelen = strlen(r->name) ;
}

static void logent (void *ctx, size_t i, uint64_t *m, uint32_t *u)
{
  (void)ctx ;
  *m = logm[i] ; *u = logu[i] ;
}

static imapindex_head head (void)
{
  imapindex_head h = { .nrec = 3, .nlog = 2, .uidvalidity = 77, .uidnext = 10, .stamped = 1, .hms = 110, .logfloor = 100,
                       .curt = { 5, 6 }, .newt = { 7, 8 }, .ulsize = 99, .ulino = 12, .ulmtime = 13 } ;
  for (size_t i = 0 ; i < 3 ; i++) h.nameslen += strlen(recs[i].name) + 1 ;
  return h ;
}

static size_t load (char *buf, size_t max)
{
  int fd = open(path, O_RDONLY) ;
  ssize_t r = read(fd, buf, max) ;
  close(fd) ;
  return r < 0 ? 0 : (size_t)r ;
}

static void save (char const *buf, size_t n)
{
  int fd = open(path, O_WRONLY | O_TRUNC) ;
  if (write(fd, buf, n) != (ssize_t)n) perror("write") ;
  close(fd) ;
}

/* the file changed by f, read: the answer of imapindex_read */
static int readback (void (*f)(char *, size_t *), int seal)
{
  char buf[4096] ;
  size_t n = load(buf, sizeof buf) ;
  imapindex x = IMAPINDEX_ZERO ;
  int r ;
  (*f)(buf, &n) ;
  if (seal) imapindex_seal(buf, n) ;
  save(buf, n) ;
  r = imapindex_read(&x, dir) ;
  imapindex_free(&x) ;
  return r ;
}

static char saved[4096] ;
static size_t nsaved ;
static void restore (void) { save(saved, nsaved) ; }

static void trunc_half (char *b, size_t *n) { (void)b ; *n /= 2 ; }
static void trunc_one (char *b, size_t *n) { (void)b ; (*n)-- ; }
static void flip_body (char *b, size_t *n) { b[*n - 3] ^= 4 ; }
static void flip_head (char *b, size_t *n) { (void)n ; b[20] ^= 1 ; }
static void zeros (char *b, size_t *n) { memset(b, 0, *n) ; }
static void uid_order (char *b, size_t *n) { (void)n ; memcpy(b + IMAPINDEX_HEAD + IMAPINDEX_REC + offsetof(imapmsg, uid), "\1\0\0\0", 4) ; }
static void modseq_high (char *b, size_t *n) { (void)n ; memset(b + IMAPINDEX_HEAD + offsetof(imapmsg, modseq), 0x7f, 8) ; }
static void name_off (char *b, size_t *n) { (void)n ; b[IMAPINDEX_HEAD + offsetof(imapmsg, name)]++ ; }
static void recent_set (char *b, size_t *n) { (void)n ; b[IMAPINDEX_HEAD + IMAPINDEX_REC - 1] |= 1 ; }
static void unseen_wrong (char *b, size_t *n) { (void)n ; memcpy(b + 124, "\3\0\0\0", 4) ; }
static void name_slash (char *b, size_t *n) { b[*n - 3] = '/' ; }
static void name_nul (char *b, size_t *n) { b[*n - 1] = 'x' ; }
static void uid_past (char *b, size_t *n) { (void)n ; memcpy(b + 24, "\5\0\0\0", 4) ; }
static void log_order (char *b, size_t *n) { (void)n ; memset(b + IMAPINDEX_HEAD + 3 * IMAPINDEX_REC + IMAPINDEX_LOG, 0, 8) ; }
static void nothing (char *b, size_t *n) { (void)b ; (void)n ; }

int main (void)
{
  imapindex_head h = head(), h2 ;
  imapindex_src src = { .ctx = 0, .rec = &rec, .log = &logent } ;
  imapindex x = IMAPINDEX_ZERO ;
  int ok1 = 1 ;
  if (!mkdtemp(dir)) return 111 ;
  snprintf(path, sizeof path, "%s/%s", dir, IMAPINDEX_FILE) ;

  ok(imapindex_read(&x, dir) == 0, "no index: 0") ;
  ok(imapindex_write(dir, &h, &src), "written") ;
  ok(imapindex_read(&x, dir) == 1, "read back") ;
  ok(x.h.nrec == 3 && x.h.nlog == 2 && x.h.uidvalidity == 77 && x.h.uidnext == 10 && x.h.hms == 110 && x.h.logfloor == 100
     && x.h.curt.tv_sec == 5 && x.h.curt.tv_nsec == 6 && x.h.newt.tv_sec == 7 && x.h.newt.tv_nsec == 8
     && x.h.ulsize == 99 && x.h.ulino == 12 && x.h.ulmtime == 13 && x.h.stamped == 1, "the header as written") ;
  for (size_t i = 0 ; i < 3 ; i++)
  {
    imapindex_rec r ;
    imapindex_get(&x, i, &r) ;
    ok1 &= r.uid == recs[i].uid && r.flags == recs[i].flags && r.kw == recs[i].kw && r.size == recs[i].size
      && r.vsize == recs[i].vsize && r.modseq == recs[i].modseq && r.date == recs[i].date && r.baselen == recs[i].baselen
      && !strcmp(r.name, recs[i].name) && r.namelen == strlen(recs[i].name) ;
  }
  ok(ok1, "the records as written") ;
  ok(imapindex_find(&x, 4) == 1 && imapindex_find(&x, 9) == 2 && imapindex_find(&x, 5) == (size_t)-1, "find by UID") ;
  {
    uint64_t m ; uint32_t u ;
    imapindex_logent(&x, 1, &m, &u) ;
    ok(m == 107 && u == 5, "the expunge log") ;
  }
  imapindex_free(&x) ;
  ok(imapindex_readhead(&h2, dir) == 1 && h2.hms == 110 && h2.nrec == 3, "the header alone") ;

  nsaved = load(saved, sizeof saved) ;
  ok(readback(&nothing, 0) == 1, "unchanged: valid") ;
  restore() ;
  ok(readback(&trunc_half, 0) == 0, "truncated to half: refused") ; restore() ;
  ok(readback(&trunc_one, 0) == 0, "one byte short: refused") ; restore() ;
  ok(readback(&flip_body, 0) == 0, "a bit flipped in the names: refused") ; restore() ;
  ok(readback(&flip_head, 0) == 0, "a bit flipped in the header: refused") ; restore() ;
  ok(readback(&zeros, 0) == 0, "zeros (a torn write): refused") ; restore() ;
  /* checksums made right: the checks of the contents */
  ok(readback(&nothing, 1) == 1, "sealed unchanged: valid") ; restore() ;
  ok(readback(&uid_order, 1) == 0, "UIDs not ascending: refused") ; restore() ;
  ok(readback(&modseq_high, 1) == 0, "a MODSEQ above HIGHESTMODSEQ: refused") ; restore() ;
  ok(readback(&name_slash, 1) == 0, "a '/' in a name: refused") ; restore() ;
  ok(readback(&name_nul, 1) == 0, "a name without its NUL: refused") ; restore() ;
  ok(readback(&uid_past, 1) == 0, "a UID past UIDNEXT: refused") ; restore() ;
  ok(readback(&log_order, 1) == 0, "the log out of order: refused") ; restore() ;
  ok(readback(&name_off, 1) == 0, "a record's name offset not its name's: refused") ; restore() ;
  ok(readback(&recent_set, 1) == 0, "a record marked recent: refused") ; restore() ;
  ok(readback(&unseen_wrong, 1) == 0, "the header's first unseen not the records': refused") ; restore() ;
  {
    /* SELECT's read: the header alone is checked, the rest later */
    char buf[4096] ;
    size_t n = load(buf, sizeof buf) ;
    int r1, r2 ;
    flip_body(buf, &n) ;
    save(buf, n) ;
    r1 = imapindex_open(&x, dir) ;
    ok(r1 == 1 && x.h.nrec == 3 && x.h.unseen == 2 && x.h.kwall == (3 | 1u << 25) && !x.verified,
       "opened with the header alone: its figures (first unseen, keywords in use)") ;
    r2 = imapindex_verify(&x) ;
    ok(r2 == 0 && !x.buf, "then the rest checked: a bit flipped in the names refused") ;
    imapindex_free(&x) ;
    restore() ;
    ok(imapindex_open(&x, dir) == 1 && imapindex_verify(&x) == 1 && x.verified, "unchanged: opened, then checked") ;
    imapindex_free(&x) ;
  }
  {
    imapindex_head h3 = head() ;
    int r ;
    h3.nrec = 2 ;
    h3.nameslen = strlen(recs[0].name) + strlen(recs[1].name) + 2 ;
    h3.nlog = 0 ;
    r = imapindex_write(dir, &h3, &src) ;
    ok(r && imapindex_read(&x, dir) == 1 && x.h.nrec == 2, "rewritten smaller: tmp+rename") ;
    imapindex_free(&x) ;
  }
  {
    int fd = imapindex_lock(dir), st = 0 ;
    pid_t p = fork() ;
    if (!p)
    {
      char lp[300] ;
      int l ;
      snprintf(lp, sizeof lp, "%s.lock", path) ;
      l = open(lp, O_RDWR) ;
      _exit(l >= 0 && flock(l, LOCK_EX | LOCK_NB) < 0 ? 0 : 1) ;
    }
    waitpid(p, &st, 0) ;
    ok(fd >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the lock is exclusive (another process gives up)") ;
    imapindex_unlock(fd) ;
  }
  ok(imapindex_clock() > 1600000000ull * 1000000, "the clock in microseconds") ;
  {
    char cmd[300] ;
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir) ;
    if (system(cmd)) {}
  }
  return done_testing() ;
}
