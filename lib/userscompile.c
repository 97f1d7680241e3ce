/* users_compile: etc/domains, etc/users, etc/aliases and etc/senders
   into etc/users.cdb, checked line by line (see users.h, senders.h). The
   cdb is built twice: the default senders (sendersmake.c) follow the
   aliases through a first build of it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <skalibs/bytestr.h>
#include <skalibs/cdbmake.h>
#include <skalibs/djbunix.h>
#include <skalibs/genalloc.h>
#include <skalibs/types.h>
#include "addr.h"
#include "root.h"
#include "users.h"
#include "userssrc.h"

typedef struct { uint32_t off, len, line, file ; } keyref ;

typedef struct {
  cdbmaker cm ;
  stralloc src, pool, dpool, spool, tmp, *err ;
  genalloc keys, doms, logins ;   /* keyref into pool, dpool, spool */
  stralloc path[USRC_N] ;
  int file ;
  unsigned line ;
} compiler ;

/* err = "PATH:LINE: what: text" (no LINE if 0), text with control bytes shown as '?'. Returns 0. */
static int synerr(compiler *c, char const *what, char const *text, size_t len)
{
  char fmt[UINT_FMT] ;
  size_t start ;
  stralloc *err = c->err ;
  err->len = 0 ;
  if (len > 200) len = 200 ;
  if (!stralloc_catb(err, c->path[c->file].s, c->path[c->file].len)) return 0 ;
  if (c->line && (!stralloc_catb(err, ":", 1) || !stralloc_catb(err, fmt, uint_fmt(fmt, c->line)))) return 0 ;
  if (!stralloc_cats(err, ": ") || !stralloc_cats(err, what)) return 0 ;
  if (text) {
    if (!stralloc_cats(err, ": ")) return 0 ;
    start = err->len ;
    if (!stralloc_catb(err, text, len)) return 0 ;
    for (size_t i = start ; i < err->len ; i++)
      if ((unsigned char)err->s[i] < 0x20 || err->s[i] == 0x7f) err->s[i] = '?' ;
  }
  if (!stralloc_0(err)) return 0 ;
  errno = EINVAL ;
  return 0 ;
}

static int keycmp(stralloc const *pool, keyref const *a, keyref const *b)
{
  size_t n = a->len < b->len ? a->len : b->len ;
  int r = memcmp(pool->s + a->off, pool->s + b->off, n) ;
  if (r) return r ;
  if (a->len != b->len) return a->len < b->len ? -1 : 1 ;
  if (a->file != b->file) return a->file < b->file ? -1 : 1 ;
  return a->line < b->line ? -1 : a->line > b->line ;
}

static int keycmp_r(void const *a, void const *b, void *pool)
{
  return keycmp(pool, a, b) ;
}

static void sortkeys(genalloc *g, stralloc *pool)
{
  size_t n = genalloc_len(keyref, g) ;
  if (n > 1) qsort_r(genalloc_s(keyref, g), n, sizeof(keyref), &keycmp_r, pool) ;
}

static int addkey(stralloc *pool, genalloc *g, compiler const *c, char const *s, size_t len)
{
  keyref k = { .off = pool->len, .len = len, .line = c->line, .file = c->file } ;
  return stralloc_catb(pool, s, len) && genalloc_append(keyref, g, &k) ;
}

static int isdomain(compiler const *c, char const *s, size_t len)
{
  keyref const *k = genalloc_s(keyref const, &c->doms) ;
  size_t lo = 0, hi = genalloc_len(keyref, &c->doms) ;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2, n = k[mid].len < len ? k[mid].len : len ;
    int r = memcmp(c->dpool.s + k[mid].off, s, n) ;
    if (!r) r = k[mid].len < len ? -1 : k[mid].len > len ;
    if (!r) return 1 ;
    if (r < 0) lo = mid + 1 ; else hi = mid ;
  }
  return 0 ;
}

static int cdbadd(compiler *c, char tag, char const *k, size_t klen, char const *d, size_t dlen)
{
  c->tmp.len = 0 ;
  return stralloc_catb(&c->tmp, &tag, 1) && stralloc_catb(&c->tmp, k, klen)
      && cdbmake_add(&c->cm, c->tmp.s, c->tmp.len, d, dlen) ;
}

static int do_domains(compiler *c)
{
  usrc_lines l = { .s = c->src.s, .len = c->src.len } ;
  char const *s ; size_t len ;
  int r ;
  while ((r = usrc_next(&l, &s, &len))) {
    c->line = l.line ;
    if (r < 0) return synerr(c, "line too long", 0, 0) ;
    if (!addr_domain_valid(s, len) || s[0] == '[') return synerr(c, "invalid domain", s, len) ;
    if (!addkey(&c->dpool, &c->doms, c, s, len)) return 0 ;
    case_lowerb(c->dpool.s + c->dpool.len - len, len) ;
  }
  sortkeys(&c->doms, &c->dpool) ;
  {
    keyref const *k = genalloc_s(keyref const, &c->doms) ;
    size_t n = genalloc_len(keyref, &c->doms) ;
    for (size_t i = 0 ; i < n ; i++) {
      if (i && k[i].len == k[i-1].len && !memcmp(c->dpool.s + k[i].off, c->dpool.s + k[i-1].off, k[i].len)) continue ;
      if (!cdbadd(c, 'D', c->dpool.s + k[i].off, k[i].len, "", 0)) return 0 ;
    }
  }
  return 1 ;
}

/* c->tmp is clobbered by cdbadd: canonical addresses go to canon. Checks
   an address (or "@domain") field and records it. */
static int take_address(compiler *c, char const *s, size_t len, stralloc *canon)
{
  size_t at ;
  if (len && s[0] == '@') {
    if (!addr_domain_valid(s + 1, len - 1) || s[1] == '[') return synerr(c, "invalid catch-all", s, len) ;
    canon->len = 0 ;
    if (!stralloc_catb(canon, s, len) || !stralloc_0(canon)) return 0 ;
    canon->len-- ;
    case_lowerb(canon->s, canon->len) ;
  }
  else {
    if (!addr_valid(s, len)) return synerr(c, "invalid address", s, len) ;
    if (!addr_canon(canon, s, len)) return 0 ;
  }
  at = addr_at(canon->s, canon->len) ;
  if (!isdomain(c, canon->s + at + 1, canon->len - at - 1))
    return synerr(c, "domain not in etc/domains", canon->s + at + 1, canon->len - at - 1) ;
  return addkey(&c->pool, &c->keys, c, canon->s, canon->len) ;
}

static int badpath(char const *s, size_t len)
{
  if (byte_chr(s, len, 0) < len) return 1 ;
  for (size_t i = 0 ; i + 1 < len ; i++)
    if (s[i] == '.' && s[i+1] == '.' && (!i || s[i-1] == '/') && (i + 2 == len || s[i+2] == '/')) return 1 ;
  return 0 ;
}

static int do_users(compiler *c)
{
  usrc_lines l = { .s = c->src.s, .len = c->src.len } ;
  stralloc canon = STRALLOC_ZERO, data = STRALLOC_ZERO ;
  char const *s ; size_t len ;
  int r, ok = 0 ;
  while ((r = usrc_next(&l, &s, &len))) {
    char const *f[4] ; size_t fl[4] ; unsigned nf = 0 ;
    uint64_t quota = 0 ;
    char fmt[UINT64_FMT] ;
    c->line = l.line ;
    if (r < 0) { synerr(c, "line too long", 0, 0) ; goto end ; }
    while (nf < 4) {
      size_t n = nf ? byte_chr(s, len, ':') : usrc_field_end(s, len, ':') ;
      f[nf] = s ; fl[nf] = n ; usrc_trim(&f[nf], &fl[nf]) ; nf++ ;
      if (n == len) break ;
      s += n + 1 ; len -= n + 1 ;
      if (nf == 4) { synerr(c, "too many fields", 0, 0) ; goto end ; }
    }
    if (nf < 3) { synerr(c, "expected address:hash:mailbox:quota", 0, 0) ; goto end ; }
    if (!take_address(c, f[0], fl[0], &canon)) goto end ;
    if (nf == 4 && fl[3]) {
      if (fl[3] > 19 || uint64_scan(f[3], &quota) != fl[3]) { synerr(c, "invalid quota", f[3], fl[3]) ; goto end ; }
    }
    if (byte_chr(f[1], fl[1], 0) < fl[1]) { synerr(c, "invalid hash", 0, 0) ; goto end ; }
    data.len = 0 ;
    if (!stralloc_catb(&data, f[1], fl[1]) || !stralloc_0(&data)) goto end ;
    if (fl[2]) {
      if (badpath(f[2], fl[2])) { synerr(c, "invalid mailbox", f[2], fl[2]) ; goto end ; }
      if (!stralloc_catb(&data, f[2], fl[2])) goto end ;
    }
    else {
      stralloc mb = STRALLOC_ZERO ;
      int k = canon.s[0] == '@' ? (errno = EINVAL, 0) : users_default_mailbox(&mb, canon.s, canon.len) ;
      if (k) k = stralloc_catb(&data, mb.s, mb.len) ;
      stralloc_free(&mb) ;
      if (!k) {
        if (errno == EINVAL) synerr(c, "mailbox needed for this address", canon.s, canon.len) ;
        goto end ;
      }
    }
    if (!stralloc_0(&data) || !stralloc_catb(&data, fmt, uint64_fmt(fmt, quota))) goto end ;
    if (!cdbadd(c, 'U', canon.s, canon.len, data.s, data.len)) goto end ;
  }
  ok = 1 ;
 end:
  stralloc_free(&canon) ;
  stralloc_free(&data) ;
  return ok ;
}

/* One alias target: an address, or a local part in the alias's domain. */
static int take_target(compiler *c, char const *s, size_t len, char const *alias, size_t alen,
                       stralloc *full, stralloc *data)
{
  if (!len) return synerr(c, "empty target", 0, 0) ;
  full->len = 0 ;
  if (!stralloc_catb(full, s, len)) return 0 ;
  if (addr_at(s, len) == len && !stralloc_catb(full, alias + addr_at(alias, alen), alen - addr_at(alias, alen))) return 0 ;
  if (!addr_valid(full->s, full->len)) return synerr(c, "invalid target", s, len) ;
  if (!addr_canon(&c->tmp, full->s, full->len)) return 0 ;
  return stralloc_catb(data, c->tmp.s, c->tmp.len + 1) ;
}

/* "key: item, item, ...": the key (trimmed) and the items after it. */
typedef struct items_s items ;
struct items_s { char const *s ; size_t len ; int done ; } ;

static int split_key(compiler *c, char const *s, size_t len, char const *expected,
                     char const **key, size_t *klen, items *it)
{
  size_t n = usrc_field_end(s, len, ':') ;
  if (n == len) return synerr(c, expected, 0, 0) ;
  *key = s ; *klen = n ; usrc_trim(key, klen) ;
  it->s = s + n + 1 ; it->len = len - n - 1 ; it->done = 0 ;
  return 1 ;
}

/* The next item (trimmed, maybe empty); 0 after the last. */
static int items_next(items *it, char const **t, size_t *tl)
{
  size_t m ;
  if (it->done) return 0 ;
  m = usrc_field_end(it->s, it->len, ',') ;
  *t = it->s ; *tl = m ; usrc_trim(t, tl) ;
  if (m == it->len) it->done = 1 ;
  else { it->s += m + 1 ; it->len -= m + 1 ; }
  return 1 ;
}

static int do_aliases(compiler *c)
{
  usrc_lines l = { .s = c->src.s, .len = c->src.len } ;
  stralloc canon = STRALLOC_ZERO, data = STRALLOC_ZERO, full = STRALLOC_ZERO ;
  char const *s ; size_t len ;
  int r, ok = 0 ;
  while ((r = usrc_next(&l, &s, &len))) {
    unsigned nt = 0 ;
    char const *a, *t ; size_t alen, tl ;
    items it ;
    c->line = l.line ;
    if (r < 0) { synerr(c, "line too long", 0, 0) ; goto end ; }
    if (!split_key(c, s, len, "expected alias: target, ...", &a, &alen, &it)) goto end ;
    if (!take_address(c, a, alen, &canon)) goto end ;
    data.len = 0 ;
    while (items_next(&it, &t, &tl)) {
      if (++nt > USRC_TARGETSMAX) { synerr(c, "too many targets", 0, 0) ; goto end ; }
      if (!take_target(c, t, tl, canon.s, canon.len, &full, &data)) goto end ;
    }
    if (!cdbadd(c, 'A', canon.s, canon.len, data.s, data.len)) goto end ;
  }
  ok = 1 ;
 end:
  stralloc_free(&canon) ;
  stralloc_free(&data) ;
  stralloc_free(&full) ;
  return ok ;
}

/* One allowed sender of etc/senders: an address or "@domain", any domain. */
static int take_sender(compiler *c, char const *s, size_t len, stralloc *data)
{
  if (len && s[0] == '@') {
    size_t start = data->len ;
    if (!addr_domain_valid(s + 1, len - 1)) return synerr(c, "invalid domain", s, len) ;
    if (!stralloc_catb(data, s, len) || !stralloc_0(data)) return 0 ;
    case_lowerb(data->s + start, len) ;
    return 1 ;
  }
  if (!addr_valid(s, len)) return synerr(c, "invalid address", s, len) ;
  if (!addr_canon(&c->tmp, s, len)) return 0 ;
  return stralloc_catb(data, c->tmp.s, c->tmp.len + 1) ;
}

static int badlogin(char const *s, size_t len)
{
  if (!len || len > ADDR_MAX) return 1 ;
  for (size_t i = 0 ; i < len ; i++) if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 1 ;
  return 0 ;
}

static int do_senders(compiler *c)
{
  usrc_lines l = { .s = c->src.s, .len = c->src.len } ;
  stralloc data = STRALLOC_ZERO ;
  char const *s ; size_t len ;
  int r, ok = 0 ;
  while ((r = usrc_next(&l, &s, &len))) {
    unsigned nt = 0 ;
    char const *a, *t ; size_t alen, tl ;
    items it ;
    c->line = l.line ;
    if (r < 0) { synerr(c, "line too long", 0, 0) ; goto end ; }
    if (!split_key(c, s, len, "expected login: address, ...", &a, &alen, &it)) goto end ;
    if (badlogin(a, alen)) { synerr(c, "invalid login", a, alen) ; goto end ; }
    if (!addkey(&c->spool, &c->logins, c, a, alen)) goto end ;
    case_lowerb(c->spool.s + c->spool.len - alen, alen) ;
    data.len = 0 ;
    while (items_next(&it, &t, &tl)) {
      if (++nt > USRC_TARGETSMAX) { synerr(c, "too many addresses", 0, 0) ; goto end ; }
      if (tl && !take_sender(c, t, tl, &data)) goto end ;
    }
    if (!cdbadd(c, 'S', c->spool.s + c->spool.len - alen, alen, data.s, data.len)) goto end ;
  }
  ok = 1 ;
 end:
  stralloc_free(&data) ;
  return ok ;
}

/* The first key of g (sorted) defined twice, or n. */
static size_t first_dup(genalloc *g, stralloc *pool)
{
  keyref const *k ;
  size_t n = genalloc_len(keyref, g) ;
  sortkeys(g, pool) ;
  k = genalloc_s(keyref const, g) ;
  for (size_t i = 1 ; i < n ; i++)
    if (k[i].len == k[i-1].len && !memcmp(pool->s + k[i].off, pool->s + k[i-1].off, k[i].len)) return i ;
  return n ;
}

/* Every address defined once, as a user or as an alias; every login of
   etc/senders once. */
static int check_dups(compiler *c)
{
  for (int pass = 0 ; pass < 2 ; pass++) {
    genalloc *g = pass ? &c->logins : &c->keys ;
    stralloc *pool = pass ? &c->spool : &c->pool ;
    keyref const *k ;
    size_t i = first_dup(g, pool) ;
    if (i == genalloc_len(keyref, g)) continue ;
    k = genalloc_s(keyref const, g) ;
    {
      stralloc where = STRALLOC_ZERO ;
      char fmt[UINT_FMT] ;
      int r ;
      c->file = k[i].file ; c->line = k[i].line ;
      r = stralloc_cats(&where, "already defined at ")
       && stralloc_cats(&where, c->path[k[i-1].file].s)
       && stralloc_catb(&where, ":", 1)
       && stralloc_catb(&where, fmt, uint_fmt(fmt, k[i-1].line)) && stralloc_0(&where) ;
      if (r) synerr(c, where.s, pool->s + k[i].off, k[i].len) ;
      stralloc_free(&where) ;
      return 0 ;
    }
  }
  return 1 ;
}

static int compile_sources(compiler *c)
{
  static int (*const step[USRC_N])(compiler *) = { &do_domains, &do_users, &do_aliases, &do_senders } ;
  for (int i = 0 ; i < USRC_N ; i++) {
    c->file = i ; c->line = 0 ;
    if (!usrc_read(usrc_name[i], &c->src)) {
      if (errno == EFBIG) return synerr(c, "larger than 64 MiB", 0, 0) ;
      c->err->len = 0 ;
      return 0 ;
    }
    if (!(*step[i])(c)) return 0 ;
  }
  return check_dups(c) ;
}

/* Pass 1: the sources into path, not durably: read back, then removed. */
static int pass1(compiler *c, char const *path)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), ok, e ;
  if (fd < 0) return 0 ;
  ok = cdbmake_start(&c->cm, fd) && compile_sources(c) && cdbmake_finish(&c->cm) ;
  e = errno ;
  if (close(fd) < 0 && ok) return 0 ;
  errno = e ;
  return ok ;
}

/* Pass 2: the records of from and the default senders into tmp, with
   cdbpath's owner and mode, durably. */
static int pass2(char const *from, char const *tmp, char const *cdbpath)
{
  cdbmaker cm = CDBMAKER_ZERO ;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640), ok, e ;
  if (fd < 0) return 0 ;
  ok = usrc_keepmode(fd, cdbpath) && cdbmake_start(&cm, fd) && usrc_senders_defaults(&cm, from)
    && cdbmake_finish(&cm) && fd_sync(fd) == 0 ;
  e = errno ;
  genalloc_free(diuint32, &cm.hplist) ;
  if (close(fd) < 0 && ok) return 0 ;
  errno = e ;
  return ok ;
}

int users_compile(stralloc *err)
{
  compiler c = { .cm = CDBMAKER_ZERO, .src = STRALLOC_ZERO, .pool = STRALLOC_ZERO, .dpool = STRALLOC_ZERO,
                 .spool = STRALLOC_ZERO, .tmp = STRALLOC_ZERO, .err = err, .keys = GENALLOC_ZERO,
                 .doms = GENALLOC_ZERO, .logins = GENALLOC_ZERO } ;
  stralloc tmp = STRALLOC_ZERO, tmp1 = STRALLOC_ZERO, cdbpath = STRALLOC_ZERO, etc = STRALLOC_ZERO ;
  int ok = 0, e ;
  err->len = 0 ;
  for (int i = 0 ; i < USRC_N ; i++) if (!pm_path(&c.path[i], usrc_name[i])) goto end ;
  if (!pm_path(&etc, "etc") || !pm_path(&cdbpath, "etc/users.cdb")
   || !pm_path(&tmp, "etc/users.cdb.tmp") || !pm_path(&tmp1, "etc/users.cdb.tmp1")) goto end ;
  if (mkdir(etc.s, 0755) < 0 && errno != EEXIST) goto end ;
  if (!pass1(&c, tmp1.s) || !pass2(tmp1.s, tmp.s, cdbpath.s)) goto end ;
  if (rename(tmp.s, cdbpath.s) < 0 || !usrc_dirsync(etc.s)) goto end ;
  ok = 1 ;
 end:
  e = errno ;
  if (!ok && tmp.s) unlink(tmp.s) ;
  if (tmp1.s) unlink(tmp1.s) ;
  for (int i = 0 ; i < USRC_N ; i++) stralloc_free(&c.path[i]) ;
  stralloc_free(&c.src) ; stralloc_free(&c.pool) ; stralloc_free(&c.dpool) ;
  stralloc_free(&c.spool) ; stralloc_free(&c.tmp) ;
  genalloc_free(keyref, &c.keys) ; genalloc_free(keyref, &c.doms) ; genalloc_free(keyref, &c.logins) ;
  genalloc_free(diuint32, &c.cm.hplist) ;
  stralloc_free(&tmp) ; stralloc_free(&tmp1) ; stralloc_free(&cdbpath) ; stralloc_free(&etc) ;
  errno = e ;
  return ok ;
}
