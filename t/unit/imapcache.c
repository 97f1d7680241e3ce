/* lib/imapcache: entries put, got back only for their name and size,
   parts too large left out, reloaded, compacted, a corrupt entry skipped,
   another UIDVALIDITY starting afresh; the key section; the header
   block. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tap.h"
#include "imapcache/imapcache.h"
#include "imapcache/imapcachehdr.h"
#include "mime/mime.h"

static char dir[] = "/tmp/pm-unit-imapcache.XXXXXX" ;
static char file[200] ;

static imapcache_entry entry (char const *env, char const *hdr)
{
  imapcache_entry e = { { env, "(bs)", 0, hdr, "keys" }, { strlen(env), 4, 0, hdr ? strlen(hdr) : 0, 4 } } ;
  return e ;
}

static int has (imapcache *c, uint32_t uid, char const *name, uint64_t size, char const *env)
{
  imapcache_entry e ;
  return imapcache_get(c, uid, name, strlen(name), size, &e) && e.len[0] == strlen(env) && !memcmp(e.s[0], env, e.len[0])
    && e.s[1] && !e.s[2] ;
}

static int odd (void *ctx, uint32_t uid, char const *name, size_t nl, uint64_t size)
{
  (void)ctx ; (void)name ; (void)nl ; (void)size ;
  return uid & 1 ;
}

static void flip (off_t at)
{
  int fd = open(file, O_RDWR) ;
  char ch ;
  if (pread(fd, &ch, 1, at) == 1) { ch ^= 0x20 ; if (pwrite(fd, &ch, 1, at) != 1) ok(0, "pwrite") ; }
  close(fd) ;
}

int main (void)
{
  imapcache c = IMAPCACHE_ZERO ;
  imapcache_entry e = entry("(env one)", "Subject: one\n") ;
  struct stat st ;
  if (!mkdtemp(dir)) return 111 ;
  snprintf(file, sizeof file, "%s/" IMAPCACHE_FILE, dir) ;

  ok(imapcache_open(&c, dir, 7), "a cache is made where there is none") ;
  ok(imapcache_put(&c, 1, "1.a.host", 8, 100, &e), "an entry is appended") ;
  e = entry("(env two)", 0) ;
  ok(imapcache_put(&c, 2, "2.b.host", 8, 200, &e), "another, without a header block") ;
  ok(has(&c, 1, "1.a.host", 100, "(env one)") && has(&c, 2, "2.b.host", 200, "(env two)"), "both are got back") ;
  ok(!has(&c, 1, "1.x.host", 100, "(env one)"), "not for another name") ;
  ok(!has(&c, 1, "1.a.host", 101, "(env one)"), "not for another size") ;
  ok(!has(&c, 3, "1.a.host", 100, "(env one)"), "not for another UID") ;
  {
    static char big[IMAPCACHE_ENTRYMAX] ;
    memset(big, 'x', sizeof big - 1) ;
    e = entry(big, "Subject: big\n") ;
    ok(imapcache_put(&c, 3, "3.c.host", 8, 300, &e) && imapcache_get(&c, 3, "3.c.host", 8, 300, &e)
       && !e.s[0] && e.s[1] && e.s[3], "a part past the entry bound is left out, the others kept") ;
  }
  e = entry("(env one again)", 0) ;
  ok(imapcache_put(&c, 1, "1.a.host", 8, 100, &e) && has(&c, 1, "1.a.host", 100, "(env one again)"), "a later entry replaces one") ;
  imapcache_free(&c) ;

  ok(imapcache_open(&c, dir, 7) && c.n == 3 && has(&c, 1, "1.a.host", 100, "(env one again)")
     && has(&c, 2, "2.b.host", 200, "(env two)"), "reloaded: the latest entries") ;
  ok(imapcache_wants_compact(&c) == 0, "no compaction needed yet") ;
  ok(imapcache_compact(&c, &odd, 0) && c.n == 2 && has(&c, 1, "1.a.host", 100, "(env one again)")
     && !has(&c, 2, "2.b.host", 200, "(env two)"), "compaction keeps the live entries") ;
  imapcache_free(&c) ;
  ok(imapcache_open(&c, dir, 7) && c.n == 2 && c.tail == c.end && has(&c, 1, "1.a.host", 100, "(env one again)"),
     "reloaded from the directory") ;
  {
    char const *k ;
    uint32_t kl ;
    uint64_t keyoff = c.keyoff ;
    ok(c.keylen && imapcache_keys(&c, 3, "3.c.host", 8, 300, &k, &kl) && kl == 4 && !memcmp(k, "keys", 4)
       && k >= c.keys && k + kl <= c.keys + c.keylen, "keys from the key section") ;
    ok(!imapcache_keys(&c, 3, "3.x.host", 8, 300, &k, &kl) && !imapcache_keys(&c, 3, "3.c.host", 8, 301, &k, &kl)
       && !imapcache_keys(&c, 2, "2.b.host", 8, 200, &k, &kl), "not for another name, size or UID") ;
    e = entry("(env one, new)", 0) ;
    e.s[IMAPCACHE_KEYS] = "new!" ;
    ok(imapcache_put(&c, 1, "1.a.host", 8, 100, &e) && c.np == 1 && imapcache_keys(&c, 1, "1.a.host", 8, 100, &k, &kl)
       && kl == 4 && !memcmp(k, "new!", 4), "a newer entry's keys, not the section's, before it is written") ;
    ok(imapcache_flush(&c) && c.np == 0 && imapcache_keys(&c, 1, "1.a.host", 8, 100, &k, &kl) && !memcmp(k, "new!", 4)
       && has(&c, 1, "1.a.host", 100, "(env one, new)"), "and once it is written") ;
    imapcache_free(&c) ;
    flip(keyoff + 30) ;
    ok(imapcache_open(&c, dir, 7) && imapcache_keys(&c, 3, "3.c.host", 8, 300, &k, &kl) && c.keystate == -1
       && !memcmp(k, "keys", 4), "a corrupt key section is not used: the keys come from the entries") ;
  }
  e = entry("(env four)", 0) ;
  ok(imapcache_put(&c, 4, "4.d.host", 8, 400, &e), "appended after the directory") ;
  imapcache_free(&c) ;
  ok(imapcache_open(&c, dir, 7) && c.n == 3 && has(&c, 4, "4.d.host", 400, "(env four)")
     && has(&c, 1, "1.a.host", 100, "(env one, new)"), "directory and tail") ;
  imapcache_free(&c) ;

  stat(file, &st) ;
  flip(st.st_size - 3) ;   /* inside entry 4 */
  ok(imapcache_open(&c, dir, 7) && !has(&c, 4, "4.d.host", 400, "(env four)")
     && has(&c, 1, "1.a.host", 100, "(env one, new)"), "a corrupt entry is skipped, the others used") ;
  imapcache_free(&c) ;
  flip(10) ;   /* the file header */
  ok(imapcache_open(&c, dir, 7) && c.n == 0, "a corrupt file header: made anew") ;
  imapcache_free(&c) ;
  e = entry("(env)", 0) ;
  ok(imapcache_open(&c, dir, 7) && imapcache_put(&c, 5, "5", 1, 5, &e), "filled again") ;
  imapcache_free(&c) ;
  ok(imapcache_open(&c, dir, 8) && c.n == 0, "another UIDVALIDITY: made anew") ;
  imapcache_free(&c) ;
  unlink(file) ;
  ok(!imapcache_open(&c, "/nonexistent/dir", 8) && c.state == -1 && !imapcache_get(&c, 1, "x", 1, 1, &e)
     && !imapcache_put(&c, 1, "x", 1, 1, &e) && imapcache_for(&c, "/nonexistent/dir", 8), "no cache where it cannot be") ;
  imapcache_free(&c) ;

  {
    static char const msg[] = "Received: x\nSubject: hi\n  there\r\nX-Other: y\nmessage-id: <a@b>\nFrom: a@b\n\nbody\n" ;
    mime_msg m = MIME_MSG_ZERO ;
    stralloc sa = STRALLOC_ZERO ;
    ok(mime_parse(&m, msg, sizeof msg - 1) && imapcache_hdrblock(&sa, &m) == 1 && stralloc_0(&sa), "a header block") ;
    is_str(sa.s, "Subject: hi\n  there\r\nmessage-id: <a@b>\nFrom: a@b\n", "the kept fields, as written") ;
    ok(imapcache_hdrname("REFERENCES", 10) && !imapcache_hdrname("Received", 8) && !imapcache_hdrname("Subjec", 6),
       "the kept names") ;
    mime_free(&m) ;
    stralloc_free(&sa) ;
  }
  rmdir(dir) ;
  return done_testing() ;
}
