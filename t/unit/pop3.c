/* Unit tests of lib/msgcrlf, lib/pop3 and lib/mdlist. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "mdlist.h"
#include "msgcrlf.h"
#include "pop3.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

/* encode s whole and in pieces of one byte: same output, size as counted */
static void crlf_case (char const *in, size_t n, char const *want, char const *name)
{
  char out[256], out1[256] ;
  msgcrlf a = MSGCRLF_ZERO, b = MSGCRLF_ZERO, c = MSGCRLF_ZERO ;
  size_t o = msgcrlf_encode(&a, 1, in, n, out), o1 = 0 ;
  for (size_t i = 0 ; i < n ; i++) o1 += msgcrlf_encode(&b, 1, in + i, 1, out1 + o1) ;
  memcpy(out + o, msgcrlf_end(&a), strlen(msgcrlf_end(&a)) + 1) ;
  memcpy(out1 + o1, msgcrlf_end(&b), strlen(msgcrlf_end(&b)) + 1) ;
  for (size_t i = 0 ; i < n ; i++) msgcrlf_add(&c, in + i, 1) ;
  is_str(out, want, name) ;
  ok(!strcmp(out, out1), "%s: the same in pieces", name) ;
  {
    size_t dots = 0, len = strlen(want) ;
    /* stuffed dots: the protocols do not count them */
    for (size_t i = 0 ; i < len ; i++) if (want[i] == '.' && (!i || want[i-1] == '\n') && want[i+1] == '.') { dots++ ; i++ ; }
    ok(msgcrlf_total(&c) == len - dots && msgcrlf_total(&a) == len - dots, "%s: size %zu", name, len - dots) ;
  }
}

static void msgcrlf_tests (void)
{
  crlf_case(S("a\nb\n"), "a\r\nb\r\n", "LF -> CRLF") ;
  crlf_case(S("a\r\nb\r\n"), "a\r\nb\r\n", "CRLF stays") ;
  crlf_case(S("a\nb"), "a\r\nb\r\n", "last line completed") ;
  crlf_case(S("a\r"), "a\r\n", "last CR completed") ;
  crlf_case(S(".a\n..b\nc.\n.\n"), "..a\r\n...b\r\nc.\r\n..\r\n", "dot-stuffing") ;
  crlf_case(S("a\rb\n"), "a\rb\r\n", "bare CR kept") ;
  crlf_case(S(""), "", "empty message") ;
}

static void pop3_tests (void)
{
  char line[64], verb[5], *arg, u[POP3_UIDLMAX + 1] ;
  uint32_t n ;
  strcpy(line, "retr 12") ;
  ok(pop3_cmd(line, verb, &arg) && !strcmp(verb, "RETR") && !strcmp(arg, "12"), "pop3_cmd: verb upper-cased, argument") ;
  strcpy(line, "QUIT") ;
  ok(pop3_cmd(line, verb, &arg) && !strcmp(verb, "QUIT") && !*arg, "pop3_cmd: no argument") ;
  strcpy(line, "RETRX 1") ;
  ok(!pop3_cmd(line, verb, &arg), "pop3_cmd: 5 letters refused") ;
  strcpy(line, " STAT") ;
  ok(!pop3_cmd(line, verb, &arg), "pop3_cmd: leading space refused") ;
  ok(pop3_num("42", &n) && n == 42, "pop3_num 42") ;
  ok(!pop3_num("-1", &n) && !pop3_num("", &n) && !pop3_num("1 ", &n) && !pop3_num("4294967297", &n), "pop3_num: sign, empty, trailing, 10 digits refused") ;
  pop3_uidl(S("1700000000.M1P2Q3.host"), u) ;
  is_str(u, "1700000000.M1P2Q3.host", "pop3_uidl: a short name is itself") ;
  {
    char longname[120] ;
    memset(longname, 'a', sizeof longname) ;
    pop3_uidl(longname, sizeof longname, u) ;
    ok(strlen(u) == 65 && u[0] == '~', "pop3_uidl: a long name hashed (%s)", u) ;
    pop3_uidl(S("a b"), u) ;
    ok(u[0] == '~', "pop3_uidl: a space hashed") ;
  }
}

static void put (char const *path, char const *s)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600) ;
  if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s)) { perror(path) ; exit(2) ; }
  close(fd) ;
}

static void mdlist_tests (void)
{
  char top[] = "/tmp/pm-unit-mdlist-XXXXXX", p[256], q[256] ;
  mdlist l = MDLIST_ZERO ;
  uint64_t v ;
  int fd ;
  ok(mdlist_base("1.M2.h,S=5,W=6:2,S") == 6 && mdlist_base("1.M2.h:2,") == 6 && mdlist_base("x") == 1, "mdlist_base") ;
  ok(mdlist_field("1.h,S=5,W=6:2,S", 'W', &v) && v == 6 && !mdlist_field("1.h:2,W=6", 'W', &v), "mdlist_field: before ':' only") ;
  if (!mkdtemp(top)) { perror("mkdtemp") ; exit(2) ; }
  for (char const *const *d = (char const *const[]){ "tmp", "new", "cur", 0 } ; *d ; d++)
  {
    snprintf(p, sizeof p, "%s/%s", top, *d) ;
    mkdir(p, 0700) ;
  }
  snprintf(p, sizeof p, "%s/new/20.b.h,S=2,W=3", top) ; put(p, "x\n") ;
  snprintf(p, sizeof p, "%s/cur/3.a.h:2,S", top) ; put(p, "a\nb") ;
  snprintf(p, sizeof p, "%s/cur/100.c.h,S=1,W=1:2,", top) ; put(p, "z") ;   /* wrong W=: trusted */
  snprintf(p, sizeof p, "%s/cur/.hidden", top) ; put(p, "z") ;
  ok(mdlist_scan(&l, top) && mdlist_len(&l) == 3, "mdlist_scan: three messages") ;
  ok(!strcmp(mdlist_name(&l, 0), "3.a.h:2,S") && !strcmp(mdlist_name(&l, 1), "20.b.h,S=2,W=3:2,")
     && !strcmp(mdlist_name(&l, 2), "100.c.h,S=1,W=1:2,"), "sorted by time, new/ moved to cur/ with :2,") ;
  ok(mdlist_msg(&l, 0)->size == 3 && mdlist_msg(&l, 0)->vsize == 6, "sizes read from a file without S=/W=") ;
  ok(mdlist_msg(&l, 1)->size == 2 && mdlist_msg(&l, 1)->vsize == 3, "sizes from S= and W=") ;
  snprintf(p, sizeof p, "%s/new/20.b.h,S=2,W=3", top) ;
  ok(access(p, F_OK) < 0, "new/ is empty") ;
  snprintf(p, sizeof p, "%s/cur/20.b.h,S=2,W=3:2,", top) ;
  snprintf(q, sizeof q, "%s/cur/20.b.h,S=2,W=3:2,RS", top) ;
  rename(p, q) ;
  fd = mdlist_open(&l, top, 1) ;
  ok(fd >= 0 && !strcmp(mdlist_name(&l, 1), "20.b.h,S=2,W=3:2,RS"), "mdlist_open: a renamed message found again") ;
  if (fd >= 0) close(fd) ;
  put(q, "changed\n") ;
  errno = 0 ;
  ok(mdlist_open(&l, top, 1) < 0 && errno == ESTALE, "mdlist_open: a changed size is ESTALE") ;
  unlink(q) ;
  errno = 0 ;
  ok(mdlist_open(&l, top, 1) < 0 && errno == ENOENT, "mdlist_open: a deleted message is ENOENT") ;
  ok(mdlist_remove(&l, top, 1), "mdlist_remove of a vanished message: ok") ;
  ok(mdlist_remove(&l, top, 0) && mdlist_scan(&l, top) && mdlist_len(&l) == 1, "mdlist_remove") ;
  /* the same unique name twice (flags differ): listed once */
  snprintf(p, sizeof p, "%s/cur/100.c.h,S=1,W=1:2,FS", top) ; put(p, "z") ;
  ok(mdlist_scan(&l, top) && mdlist_len(&l) == 1, "a unique name seen twice is listed once") ;
  mdlist_free(&l) ;
  snprintf(p, sizeof p, "rm -rf %s", top) ;
  if (system(p)) return ;
}

int main (void)
{
  msgcrlf_tests() ;
  pop3_tests() ;
  mdlist_tests() ;
  return done_testing() ;
}
