/* lib/users: compile text sources in a temporary instance, then look up. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <skalibs/djbunix.h>
#include "tap.h"
#include "users.h"

static char root[] = "/tmp/pm-unit-users-XXXXXX" ;

static void put(char const *rel, char const *s)
{
  char path[256] ;
  FILE *f ;
  snprintf(path, sizeof path, "%s/%s", root, rel) ;
  f = fopen(path, "w") ;
  if (!f || fputs(s, f) < 0 || fclose(f)) { perror(path) ; exit(2) ; }
}

static int compile(stralloc *err)
{
  err->len = 0 ;
  return users_compile(err) ;
}

/* "FILE:LINE: reason" ends with want. */
static void bad(char const *users_, char const *aliases, char const *want, char const *name)
{
  stralloc err = STRALLOC_ZERO ;
  char const *e ;
  put("etc/users", users_) ;
  put("etc/aliases", aliases) ;
  ok(!compile(&err) && err.len, "%s: refused", name) ;
  e = err.len ? strstr(err.s, "/etc/") : 0 ;
  ok(e && !strncmp(e + 5, want, strlen(want)), "%s: message", name) ;
  if (!(e && !strncmp(e + 5, want, strlen(want)))) printf("#   got '%s' want '.../etc/%s...'\n", err.len ? err.s : "(none)", want) ;
  stralloc_free(&err) ;
}

static void resolve(users const *u, char const *addr, char const *want, char const *name)
{
  stralloc out = STRALLOC_ZERO ;
  int n = users_resolve(u, addr, strlen(addr), &out) ;
  for (size_t i = 0 ; i < out.len ; i++) if (!out.s[i]) out.s[i] = ' ' ;
  if (!stralloc_0(&out)) exit(2) ;
  ok(n >= 0, "%s: resolved", name) ;
  is_str(out.s, want, name) ;
  stralloc_free(&out) ;
}

int main(void)
{
  users u = USERS_ZERO ;
  users_entry e ;
  stralloc err = STRALLOC_ZERO, sa = STRALLOC_ZERO ;
  char etc[256] ;
  int r ;

  if (!mkdtemp(root)) { perror("mkdtemp") ; return 2 ; }
  setenv("PIPEMAIL_ROOT", root, 1) ;
  snprintf(etc, sizeof etc, "%s/etc", root) ;

  /* nothing at all: an empty cdb */
  ok(compile(&err), "compile without sources") ;
  ok(users_open(&u), "open") ;
  ok(!users_isdomain(&u, "example.test", 12), "no domain") ;
  users_close(&u) ;

  put("etc/domains", "# local domains\nExample.TEST\n\n  other.test  \r\nexample.test\n") ;
  put("etc/users",
      "# address:hash:mailbox:quota\n"
      "demo@example.test:$pbkdf2-sha256$1$AA$BB:mail/example.test/demo:0\n"
      "Big@Example.Test : h2 : /abs/big : 1000000\n"
      "nopw@example.test::mail/example.test/nopw\n"
      "dflt@other.test:h3::\n"
      "\"a b\"@other.test:h4:mail/other.test/ab:\n"
      "@other.test:h5:mail/other.test/catchall:7\n") ;
  put("etc/aliases",
      "postmaster@example.test: demo\n"
      "team@example.test: demo, big@example.test , Remote@Far.Away,\"x,y\"@far.away\n"
      "loop1@example.test: loop2\n"
      "loop2@example.test: loop1, demo\n"
      "self@example.test: self, big\n"
      "d1@example.test: d2\nd2@example.test: d3\nd3@example.test: d4\nd4@example.test: d5\nd5@example.test: d6\n"
      "d6@example.test: d7\nd7@example.test: d8\nd8@example.test: d9\nd9@example.test: d10\nd10@example.test: d11\n"
      "d11@example.test: d12\nd12@example.test: demo\n"
      "tagged@example.test: demo+x, nobody\n") ;
  r = compile(&err) ;
  ok(r, "compile") ;
  if (!r) printf("# %s\n", err.len ? err.s : strerror(errno)) ;
  snprintf(etc, sizeof etc, "%s/etc/users.cdb.tmp", root) ;
  ok(access(etc, F_OK) < 0, "no tmp file left") ;
  ok(users_open(&u), "open") ;

  ok(users_isdomain(&u, "example.test", 12), "domain") ;
  ok(users_isdomain(&u, "EXAMPLE.Test", 12), "domain, any case") ;
  ok(users_isdomain(&u, "other.test", 10), "domain with blanks around") ;
  ok(!users_isdomain(&u, "far.away", 8), "remote domain") ;
  ok(!users_isdomain(&u, "example.tes", 11), "prefix of a domain") ;

  memset(&e, 0xff, sizeof e) ;
  ok(users_lookup(&u, "demo@example.test", 17, &e) == USERS_MAILBOX, "exact") ;
  is_str(e.hash, "$pbkdf2-sha256$1$AA$BB", "hash") ;
  is_str(e.mailbox, "mail/example.test/demo", "mailbox") ;
  ok(e.quota == 0 && e.targets == 0 && e.targetslen == 0, "no quota, no targets") ;
  ok(users_lookup(&u, "DEMO@Example.Test", 17, &e) == USERS_MAILBOX, "exact, any case") ;
  ok(users_lookup(&u, "demo+folder@example.test", 24, &e) == USERS_MAILBOX && !strcmp(e.mailbox, "mail/example.test/demo"), "+tag") ;
  ok(users_lookup(&u, "Demo+a+b@example.test", 21, &e) == USERS_MAILBOX, "+tag with +") ;
  ok(users_lookup(&u, "big@example.test", 16, &e) == USERS_MAILBOX && e.quota == 1000000 && !strcmp(e.hash, "h2") && !strcmp(e.mailbox, "/abs/big"), "quota, blanks, absolute mailbox") ;
  ok(users_mailbox_path(&sa, e.mailbox) && !strcmp(sa.s, "/abs/big"), "absolute mailbox path") ;
  ok(users_lookup(&u, "nopw@example.test", 17, &e) == USERS_MAILBOX && !strcmp(e.hash, "") && e.quota == 0, "empty hash, no quota field") ;
  ok(users_lookup(&u, "dflt@other.test", 15, &e) == USERS_MAILBOX, "empty mailbox") ;
  is_str(e.mailbox, "mail/other.test/dflt", "default mailbox") ;
  ok(users_mailbox_path(&sa, e.mailbox) && !strncmp(sa.s, root, strlen(root)) && !strcmp(sa.s + strlen(root), "/mail/other.test/dflt"), "relative mailbox path") ;
  ok(users_lookup(&u, "\"A B\"@other.test", 16, &e) == USERS_MAILBOX && !strcmp(e.hash, "h4"), "quoted local part") ;
  ok(users_lookup(&u, "unknown@other.test", 18, &e) == USERS_MAILBOX && !strcmp(e.hash, "h5") && e.quota == 7, "catch-all") ;
  ok(users_lookup(&u, "DFLT+x@other.test", 17, &e) == USERS_MAILBOX && !strcmp(e.hash, "h3"), "+tag before catch-all") ;
  ok(users_lookup(&u, "unknown@example.test", 20, &e) == USERS_NONE, "unknown") ;
  ok(users_lookup(&u, "demo@far.away", 13, &e) == USERS_NONE, "remote") ;
  ok(users_lookup(&u, "demo", 4, &e) == USERS_NONE, "no domain") ;
  ok(users_lookup(&u, "", 0, &e) == USERS_NONE, "null address") ;
  ok(users_lookup(&u, "+x@example.test", 15, &e) == USERS_NONE, "empty local part before +") ;
  ok(users_lookup(&u, "@other.test", 11, &e) == USERS_NONE, "a catch-all key is no address") ;

  ok(users_lookup(&u, "Team@example.test", 17, &e) == USERS_ALIAS, "alias") ;
  ok(e.targetslen == sizeof("demo@example.test\0big@example.test\0remote@far.away\0\"x,y\"@far.away"), "targets length") ;
  ok(e.targetslen && !memcmp(e.targets, "demo@example.test\0big@example.test\0remote@far.away\0\"x,y\"@far.away\0", e.targetslen), "targets: domain added, lower-cased, quoted comma") ;
  ok(users_lookup(&u, "postmaster+x@example.test", 25, &e) == USERS_ALIAS, "alias +tag") ;

  /* logins: exact mailbox users only */
  {
    stralloc c = STRALLOC_ZERO ;
    ok(users_login(&u, "DEMO@Example.Test", 17, &c, &e) == USERS_MAILBOX && !strcmp(c.s, "demo@example.test") && !strcmp(e.hash, "$pbkdf2-sha256$1$AA$BB"), "login: exact, any case, canonical address") ;
    ok(users_login(&u, "\"A B\"@other.test", 16, &c, &e) == USERS_MAILBOX && !strcmp(e.hash, "h4"), "login: quoted local part") ;
    ok(users_login(&u, "demo+x@example.test", 19, &c, &e) == USERS_NONE, "login: no +tag stripping") ;
    ok(users_login(&u, "unknown@other.test", 18, &c, &e) == USERS_NONE, "login: no catch-all") ;
    ok(users_login(&u, "@other.test", 11, &c, &e) == USERS_NONE, "login: a catch-all key is no login") ;
    ok(users_login(&u, "postmaster@example.test", 23, &c, &e) == USERS_NONE, "login: no alias") ;
    ok(users_login(&u, "demo", 4, &c, &e) == USERS_NONE && users_login(&u, "", 0, &c, &e) == USERS_NONE, "login: no domain, empty") ;
    stralloc_free(&c) ;
  }

  resolve(&u, "demo@example.test", "demo@example.test ", "resolve a user") ;
  resolve(&u, "Demo+X@example.test", "demo+x@example.test ", "resolve keeps the tag") ;
  resolve(&u, "someone@far.away", "someone@far.away ", "resolve a remote address") ;
  resolve(&u, "nobody@example.test", "nobody@example.test ", "resolve an unknown local address") ;
  resolve(&u, "team@example.test", "demo@example.test big@example.test remote@far.away \"x,y\"@far.away ", "resolve an alias") ;
  resolve(&u, "loop1@example.test", "demo@example.test ", "resolve a loop") ;
  resolve(&u, "self@example.test", "big@example.test ", "resolve a self reference") ;
  resolve(&u, "d3@example.test", "demo@example.test ", "resolve 10 levels") ;
  resolve(&u, "tagged@example.test", "demo+x@example.test nobody@example.test ", "resolve to a tagged address") ;
  {
    stralloc out = STRALLOC_ZERO ;
    ok(stralloc_cats(&out, "keep") && users_resolve(&u, "d1@example.test", 15, &out) < 0 && errno == ELOOP && out.len == 4, "resolve 12 levels: ELOOP, out untouched") ;
    out.len = 0 ;
    ok(users_resolve(&u, "postmaster@example.test", 23, &out) == 1, "resolve count") ;
    stralloc_free(&out) ;
  }
  users_close(&u) ;

  /* errors name FILE:LINE */
  bad("demo@example.test:h:m:0\ndemo@EXAMPLE.test:h:m:0\n", "", "users:2: already defined at", "duplicate user") ;
  bad("demo@example.test:h:m:0\n", "\n\ndemo@example.test: x@y\n", "aliases:3: already defined at", "user and alias") ;
  bad("x@example.test:h:m:0\n", "a@example.test: b\nA@example.test: c\n", "aliases:2: already defined", "duplicate alias") ;
  bad("x@example.test:h:m\n# ok\nbad address@example.test:h:m:0\n", "", "users:3: invalid address", "invalid address") ;
  bad("x@nowhere.test:h:m:0\n", "", "users:1: domain not in etc/domains: nowhere.test", "domain not local") ;
  bad("x@example.test:h:m:12x\n", "", "users:1: invalid quota", "bad quota") ;
  bad("x@example.test:h:m:99999999999999999999\n", "", "users:1: invalid quota", "huge quota") ;
  bad("x@example.test:h:m:0:5\n", "", "users:1: too many fields", "too many fields") ;
  bad("x@example.test:h\n", "", "users:1: expected", "too few fields") ;
  bad("x@example.test:h:../../etc:0\n", "", "users:1: invalid mailbox", "mailbox with ..") ;
  bad("\".x\"@example.test:h::0\n", "", "users:1: mailbox needed", "no default mailbox") ;
  bad("@example.test:h::0\n", "", "users:1: mailbox needed", "catch-all without mailbox") ;
  bad("", "a@example.test\n", "aliases:1: expected", "alias without colon") ;
  bad("", "a@example.test: b, , c\n", "aliases:1: empty target", "empty target") ;
  bad("", "a@example.test: b c\n", "aliases:1: invalid target", "invalid target") ;
  bad("", "a@far.away: b\n", "aliases:1: domain not in etc/domains", "alias of a remote domain") ;
  bad("", "@: b\n", "aliases:1: invalid catch-all", "empty catch-all") ;
  {
    static char line[5000] ;
    memset(line, 'a', sizeof line - 2) ;
    line[sizeof line - 2] = '\n' ;
    bad("", line, "aliases:1: line too long", "line too long") ;
    stralloc al = STRALLOC_ZERO ;
    stralloc_cats(&al, "many@example.test: ") ;
    for (int i = 0 ; i < 1001 ; i++) stralloc_cats(&al, "a,") ;
    stralloc_cats(&al, "a\n") ; stralloc_0(&al) ;
    bad("", al.s, "aliases:1: too many targets", "1001 targets") ;
    stralloc_free(&al) ;
  }
  put("etc/users", "") ;
  put("etc/aliases", "") ;
  put("etc/domains", "ok.test\nbad domain\n") ;
  ok(!compile(&err) && strstr(err.s, "/etc/domains:2: invalid domain: bad domain"), "bad domain: %s", err.s) ;
  put("etc/domains", "x\x01y\n") ;
  ok(!compile(&err) && strstr(err.s, "domains:1: invalid domain: x?y"), "control bytes shown as ?") ;

  {
    char p[256] ;
    snprintf(p, sizeof p, "%s/etc/domains", root) ;
    ok(truncate(p, (64 << 20) + 1) == 0 && !compile(&err) && strstr(err.s, "/etc/domains: larger than 64 MiB"), "huge file: %s", err.s) ;
  }

  /* the failed compiles kept the last good cdb */
  ok(users_open(&u) && users_lookup(&u, "demo@example.test", 17, &e) == USERS_MAILBOX, "failed compiles keep the old cdb") ;
  users_close(&u) ;
  /* users_refresh: one stat while the file is the same, a new map when not */
  {
    char const *map ;
    char p[256], q[300] ;
    snprintf(p, sizeof p, "%s/etc/users.cdb", root) ;
    snprintf(q, sizeof q, "%s/etc/users.cdb.old", root) ;
    ok(users_refresh(&u, 0) && users_lookup(&u, "demo@example.test", 17, &e) == USERS_MAILBOX, "refresh: opens") ;
    map = u.c.map ;
    ok(users_refresh(&u, 0) && u.c.map == map, "refresh: unchanged file, same map") ;
    ok(users_refresh(&u, 1) && u.c.map && users_isdomain(&u, "example.test", 12), "refresh: force maps again") ;
    map = u.c.map ;
    put("etc/domains", "example.test\n") ;
    put("etc/users", "fresh@example.test:h::0\n") ;
    put("etc/aliases", "") ;
    ok(compile(&err), "refresh: compile a new cdb") ;
    ok(users_refresh(&u, 0) && u.c.map != map, "refresh: a new cdb, a new map") ;
    ok(users_lookup(&u, "fresh@example.test", 18, &e) == USERS_MAILBOX && users_lookup(&u, "demo@example.test", 17, &e) == USERS_NONE, "refresh: the new entries") ;
    map = u.c.map ;
    ok(rename(p, q) == 0, "refresh: users.cdb taken away") ;
    errno = 0 ;
    ok(!users_refresh(&u, 0) && errno == ENOENT, "refresh: no file, an error") ;
    ok(u.c.map == map && users_lookup(&u, "fresh@example.test", 18, &e) == USERS_MAILBOX, "refresh: ... and the old map kept") ;
    ok(rename(q, p) == 0 && users_refresh(&u, 0) && users_lookup(&u, "fresh@example.test", 18, &e) == USERS_MAILBOX, "refresh: back") ;
    setenv("PIPEMAIL_ROOT", "/nonexistent-pm-root", 1) ;
    ok(!users_refresh(&u, 0), "refresh: another root is another file") ;
    setenv("PIPEMAIL_ROOT", root, 1) ;
    users_close(&u) ;
    ok(!u.open && !u.c.map, "close: nothing kept") ;
    users_close(&u) ;   /* twice is harmless */
  }

  /* default mailbox */
  ok(users_default_mailbox(&sa, "a.b@x.test", 10) && !strcmp(sa.s, "mail/x.test/a.b"), "default mailbox") ;
  errno = 0 ;
  ok(!users_default_mailbox(&sa, "a/b@x.test", 10) && errno == EINVAL, "no '/' in mailbox") ;
  ok(!users_default_mailbox(&sa, "..@x.test", 9), "no .. mailbox") ;
  ok(!users_default_mailbox(&sa, "x@[1.2.3.4]", 11), "no literal mailbox") ;

  /* users_add_line and users_find */
  put("etc/domains", "example.test\n") ;
  put("etc/users", "demo@example.test:h:m:0") ;   /* no final newline */
  put("etc/aliases", "") ;
  ok(users_lock() >= 0, "lock") ;
  ok(users_add_line("etc/users", "new@other.test:h::0", 19, "other.test", 10, &err), "add a line and a domain") ;
  ok(users_find("new@other.test", 14, &sa) == 1 && strstr(sa.s, "/etc/users:2"), "find it") ;
  ok(users_find("DEMO@example.test", 17, &sa) == 0, "find wants canonical addresses") ;
  ok(users_find("nobody@example.test", 19, &sa) == 0, "find nothing") ;
  ok(users_add_line("etc/aliases", "@example.test: demo", 19, "example.test", 12, &err), "add a catch-all alias") ;
  ok(users_find("@example.test", 13, &sa) == 1 && strstr(sa.s, "/etc/aliases:1"), "find the catch-all") ;
  ok(!users_add_line("etc/users", "new@other.test:h::0", 19, "third.test", 10, &err) && strstr(err.s, "users:3: already defined at"), "bad line refused") ;
  ok(users_open(&u), "open") ;
  ok(users_isdomain(&u, "other.test", 10) && !users_isdomain(&u, "third.test", 10), "domains put back") ;
  ok(users_lookup(&u, "new@other.test", 14, &e) == USERS_MAILBOX, "added user") ;
  ok(users_lookup(&u, "x@example.test", 14, &e) == USERS_ALIAS, "added catch-all") ;
  users_close(&u) ;
  {
    stralloc s = STRALLOC_ZERO ;
    char p[256] ;
    snprintf(p, sizeof p, "%s/etc/users", root) ;
    ok(openslurpclose(&s, p) && s.len == 44 && !memcmp(s.s, "demo@example.test:h:m:0\nnew@other.test:h::0\n", 44), "users file put back") ;
    snprintf(p, sizeof p, "%s/etc/domains", root) ;
    s.len = 0 ;
    ok(openslurpclose(&s, p) && s.len == 24 && !memcmp(s.s, "example.test\nother.test\n", 24), "domains file put back") ;
    stralloc_free(&s) ;
  }
  {
    char cmd[300] ;
    snprintf(cmd, sizeof cmd, "rm -rf %s", root) ;
    if (system(cmd)) return 2 ;
  }
  stralloc_free(&err) ; stralloc_free(&sa) ;
  return done_testing() ;
}
