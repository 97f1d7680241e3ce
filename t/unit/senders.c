/* lib/senders: who may send as whom (etc/senders, compiled into users.cdb). */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "senders.h"
#include "tap.h"

static char root[] = "/tmp/pm-unit-senders-XXXXXX" ;

static void put(char const *rel, char const *s)
{
  char path[256] ;
  FILE *f ;
  snprintf(path, sizeof path, "%s/%s", root, rel) ;
  f = fopen(path, "w") ;
  if (!f || fputs(s, f) < 0 || fclose(f)) { perror(path) ; exit(2) ; }
}

static int may(users const *u, char const *login, char const *addr)
{
  return senders_allowed(u, login, strlen(login), addr, strlen(addr)) ;
}

#define YES(u, l, a) ok(may(u, l, a) == 1, "%s may use %s", l, a)
#define NO(u, l, a) ok(may(u, l, a) == 0, "%s may not use %s", l, a)

/* A bad etc/senders is refused with FILE:LINE: reason. */
static void bad(char const *senders, char const *want)
{
  stralloc err = STRALLOC_ZERO ;
  put("etc/senders", senders) ;
  ok(!users_compile(&err) && err.len && strstr(err.s, want), "refused: %s", want) ;
  if (err.len && !strstr(err.s, want)) printf("#   got '%s'\n", err.s) ;
  stralloc_free(&err) ;
}

int main(void)
{
  users u = USERS_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  char path[256] ;
  int r ;
  if (!mkdtemp(root)) { perror("mkdtemp") ; return 2 ; }
  setenv("PIPEMAIL_ROOT", root, 1) ;
  snprintf(path, sizeof path, "%s/etc", root) ;
  if (mkdir(path, 0755) < 0) return 2 ;
  put("etc/domains", "example.test\nother.test\n") ;
  put("etc/users",
      "demo@example.test:h::\n"
      "Big@Example.Test:h::\n"
      "boss@example.test:h::\n"
      "\"q u\"@example.test:h:mail/q:\n"
      "@other.test:h:mail/catchall:\n") ;
  put("etc/aliases",
      "postmaster@example.test: demo\n"
      "abuse@example.test: postmaster\n"          /* through another alias */
      "team@example.test: demo, big\n"            /* a list: each member */
      "tagged@example.test: demo+x\n"             /* to a +tag of demo */
      "remote@example.test: someone@far.away\n"
      "@example.test: demo\n") ;                  /* catch-all: not a sender */
  put("etc/senders",
      "# login: addresses\n"
      "Boss@example.test: boss@example.test, @other.test, Chief@Far.Away\n"
      "robot: noreply@example.test\n"
      "nobody@example.test:\n") ;
  r = users_compile(&err) ;
  ok(r, "compile") ;
  if (!r) printf("# %s\n", err.len ? err.s : strerror(errno)) ;
  snprintf(path, sizeof path, "%s/etc/users.cdb.tmp1", root) ;
  ok(access(path, F_OK) < 0, "first pass removed") ;
  if (!users_open(&u)) { perror("users_open") ; return 2 ; }

  /* defaults: own address, aliases resolving to it */
  YES(&u, "demo@example.test", "demo@example.test") ;
  YES(&u, "DEMO@Example.TEST", "Demo@EXAMPLE.test") ;
  YES(&u, "demo@example.test", "demo+lists@example.test") ;
  YES(&u, "demo@example.test", "postmaster@example.test") ;
  YES(&u, "demo@example.test", "abuse@example.test") ;
  YES(&u, "demo@example.test", "team@example.test") ;
  YES(&u, "demo@example.test", "tagged@example.test") ;
  YES(&u, "demo@example.test", "Postmaster+x@example.test") ;
  YES(&u, "demo@example.test", "") ;
  NO(&u, "demo@example.test", "big@example.test") ;
  NO(&u, "demo@example.test", "unknown@example.test") ;    /* via the catch-all alias only */
  NO(&u, "demo@example.test", "remote@example.test") ;
  NO(&u, "demo@example.test", "demo@other.test") ;
  NO(&u, "demo@example.test", "demo") ;
  NO(&u, "demo@example.test", "+x@example.test") ;
  YES(&u, "big@example.test", "team@example.test") ;
  YES(&u, "big@example.test", "BIG@example.test") ;
  NO(&u, "big@example.test", "postmaster@example.test") ;
  YES(&u, "\"q u\"@example.test", "\"Q U\"@example.test") ;
  NO(&u, "@other.test", "x@other.test") ;                   /* a catch-all is no login */
  /* explicit lines replace the default */
  YES(&u, "boss@example.test", "boss@example.test") ;
  YES(&u, "boss@example.test", "anyone@other.test") ;
  YES(&u, "boss@example.test", "ANYONE+x@Other.Test") ;
  YES(&u, "boss@example.test", "chief@far.away") ;
  NO(&u, "boss@example.test", "anyone@sub.other.test") ;
  NO(&u, "boss@example.test", "demo@example.test") ;
  YES(&u, "ROBOT", "noreply@example.test") ;
  NO(&u, "robot", "robot") ;
  NO(&u, "nobody@example.test", "nobody@example.test") ;
  YES(&u, "nobody@example.test", "") ;
  /* a login without any record: its own address */
  YES(&u, "stranger@far.away", "Stranger@far.away") ;
  NO(&u, "stranger@far.away", "demo@example.test") ;
  NO(&u, "stranger", "stranger") ;
  NO(&u, "", "demo@example.test") ;
  /* bad addresses are never allowed */
  NO(&u, "demo@example.test", "demo@example.test\n") ;
  NO(&u, "demo@example.test", "a b@example.test") ;
  users_close(&u) ;

  bad("x\n", "etc/senders:1: expected login: address, ...") ;
  bad("a@b.test: ok@x.test\n a@B.test: y@x.test\n", "etc/senders:2: already defined at") ;
  bad("a: not an address\n", "etc/senders:1: invalid address") ;
  bad("a: @bad..domain\n", "etc/senders:1: invalid domain") ;
  bad(": x@y.test\n", "etc/senders:1: invalid login") ;
  stralloc_free(&err) ;
  return done_testing() ;
}
