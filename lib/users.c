#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <skalibs/bytestr.h>
#include <skalibs/cdb.h>
#include <skalibs/cdbmake.h>
#include <skalibs/djbunix.h>
#include <skalibs/genalloc.h>
#include <skalibs/types.h>
#include "addr.h"
#include "root.h"
#include "users.h"

#define LINE_MAX_ 4096
#define FILE_MAX (64 << 20)   /* bytes in one source file */
#define TARGETS_MAX 1000
#define WORK_MAX 10000        /* targets examined by one users_resolve */

enum { F_DOMAINS, F_USERS, F_ALIASES } ;
static char const *const srcname[3] = { "etc/domains", "etc/users", "etc/aliases" } ;

/* ---------- lookups ---------- */

int users_open(users *u)
{
  stralloc path = STRALLOC_ZERO ;
  int r ;
  if (!pm_path(&path, "etc/users.cdb")) return 0 ;
  r = cdb_init(&u->c, path.s) ;
  stralloc_free(&path) ;
  return r ;
}

void users_close(users *u)
{
  cdb_free(&u->c) ;
}

/* cdb_find on tag + s (lower-cased). 1 found, 0 not, -1 error. */
static int find(users const *u, char tag, char const *s, size_t len, cdb_data *d)
{
  char key[ADDR_MAX + 2] ;
  int r ;
  if (len > ADDR_MAX) return 0 ;
  key[0] = tag ;
  memcpy(key + 1, s, len) ;
  case_lowerb(key + 1, len) ;
  r = cdb_find(&u->c, d, key, len + 1) ;
  if (r < 0) errno = EPROTO ;
  return r ;
}

int users_isdomain(users const *u, char const *domain, size_t len)
{
  cdb_data d ;
  return find(u, 'D', domain, len, &d) > 0 ;
}

/* Decode a "U" record. */
static int entry_user(cdb_data const *d, users_entry *e)
{
  size_t a = byte_chr(d->s, d->len, 0), b ;
  uint64_t q = 0 ;
  if (a == d->len) return (errno = EPROTO, -1) ;
  b = a + 1 + byte_chr(d->s + a + 1, d->len - a - 1, 0) ;
  if (b == d->len) return (errno = EPROTO, -1) ;
  for (size_t i = b + 1 ; i < d->len ; i++) {
    if (d->s[i] < '0' || d->s[i] > '9' || q > UINT64_MAX / 10 - 1) return (errno = EPROTO, -1) ;
    q = q * 10 + (uint64_t)(d->s[i] - '0') ;
  }
  e->hash = d->s ;
  e->mailbox = d->s + a + 1 ;
  e->quota = q ;
  return USERS_MAILBOX ;
}

/* Look up one canonical key as a user, then as an alias. */
static int lookup1(users const *u, char const *key, size_t len, users_entry *e)
{
  cdb_data d ;
  int r = find(u, 'U', key, len, &d) ;
  if (r < 0) return -1 ;
  if (r) return entry_user(&d, e) ;
  r = find(u, 'A', key, len, &d) ;
  if (r <= 0) return r ;
  if (!d.len || d.s[d.len - 1]) return (errno = EPROTO, -1) ;
  e->targets = d.s ;
  e->targetslen = d.len ;
  return USERS_ALIAS ;
}

/* users_lookup that also says which key matched: *klen bytes of the
   canonical address, or of it without the tag (then *tagless = 1), or its
   "@domain" (then *kpos = position of '@'). */
static int lookup_key(users const *u, char const *a, size_t len, users_entry *e,
                      size_t *kpos, size_t *klen, int *tagless)
{
  size_t at = addr_at(a, len), plus ;
  int r ;
  char buf[ADDR_MAX + 1] ;
  memset(e, 0, sizeof *e) ;
  *kpos = 0 ; *klen = len ; *tagless = 0 ;
  if (!at || at == len || len > ADDR_MAX) return USERS_NONE ;
  r = lookup1(u, a, len, e) ;
  if (r) return r ;
  plus = a[0] == '"' ? at : byte_chr(a, at, '+') ;
  if (plus < at && plus > 0) {
    memcpy(buf, a, plus) ;
    memcpy(buf + plus, a + at, len - at) ;
    r = lookup1(u, buf, plus + len - at, e) ;
    if (r) { *klen = plus + len - at ; *tagless = 1 ; return r ; }
  }
  r = lookup1(u, a + at, len - at, e) ;
  if (r) { *kpos = at ; *klen = len - at ; }
  return r ;
}

int users_lookup(users const *u, char const *addr, size_t len, users_entry *e)
{
  stralloc sa = STRALLOC_ZERO ;
  size_t kpos, klen ;
  int tagless, r ;
  if (len > ADDR_MAX + 2) { memset(e, 0, sizeof *e) ; return USERS_NONE ; }
  if (!addr_canon(&sa, addr, len)) return -1 ;
  r = lookup_key(u, sa.s, sa.len, e, &kpos, &klen, &tagless) ;
  stralloc_free(&sa) ;
  return r ;
}

int users_mailbox_path(stralloc *sa, char const *mailbox)
{
  if (mailbox[0] != '/') return pm_path(sa, mailbox) ;
  sa->len = 0 ;
  if (!stralloc_cats(sa, mailbox) || !stralloc_0(sa)) return 0 ;
  sa->len-- ;
  return 1 ;
}

/* 1 if s (len bytes) is one of the NUL-terminated strings of list. */
static int inlist(char const *list, size_t listlen, char const *s, size_t len)
{
  size_t i = 0 ;
  while (i < listlen) {
    size_t n = strlen(list + i) ;
    if (n == len && !memcmp(list + i, s, len)) return 1 ;
    i += n + 1 ;
  }
  return 0 ;
}

struct resolve_s {
  users const *u ;
  stralloc *out ;
  size_t start ;       /* our part of out */
  stralloc seen ;      /* aliases expanded, NUL-terminated */
  stralloc canon ;
  unsigned n ;         /* addresses added */
  unsigned work ;      /* targets examined */
} ;

static int resolve_rec(struct resolve_s *st, char const *addr, size_t len, unsigned depth)
{
  users_entry e ;
  size_t kpos, klen ;
  int tagless, r ;
  char const *a ;
  if (++st->work > WORK_MAX) return (errno = E2BIG, -1) ;
  if (!addr_canon(&st->canon, addr, len)) return -1 ;
  a = st->canon.s ; len = st->canon.len ;
  r = lookup_key(st->u, a, len, &e, &kpos, &klen, &tagless) ;
  if (r < 0) return -1 ;
  if (r != USERS_ALIAS) {
    if (inlist(st->out->s + st->start, st->out->len - st->start, a, len)) return 0 ;
    if (st->n >= USERS_RESOLVE_MAX) return (errno = E2BIG, -1) ;
    if (!stralloc_catb(st->out, a, len) || !stralloc_0(st->out)) return -1 ;
    st->n++ ;
    return 0 ;
  }
  {
    /* the alias's own key, as matched */
    char key[ADDR_MAX + 1] ;
    if (tagless) {
      size_t at = addr_at(a, len), plus = byte_chr(a, at, '+') ;
      memcpy(key, a, plus) ; memcpy(key + plus, a + at, len - at) ;
    }
    else memcpy(key, a + kpos, klen) ;
    if (inlist(st->seen.s, st->seen.len, key, klen)) return 0 ;
    if (depth >= USERS_RESOLVE_DEPTH) return (errno = ELOOP, -1) ;
    if (!stralloc_catb(&st->seen, key, klen) || !stralloc_0(&st->seen)) return -1 ;
  }
  /* e.targets points into the map, not into st->canon: safe to recurse */
  for (size_t i = 0 ; i < e.targetslen ; ) {
    size_t n = strlen(e.targets + i) ;
    if (resolve_rec(st, e.targets + i, n, depth + 1) < 0) return -1 ;
    i += n + 1 ;
  }
  return 0 ;
}

int users_resolve(users const *u, char const *addr, size_t len, stralloc *out)
{
  struct resolve_s st = { .u = u, .out = out, .start = out->len, .seen = STRALLOC_ZERO, .canon = STRALLOC_ZERO, .n = 0, .work = 0 } ;
  int r = resolve_rec(&st, addr, len, 0) ;
  int e = errno ;
  stralloc_free(&st.seen) ;
  stralloc_free(&st.canon) ;
  if (r < 0) { out->len = st.start ; errno = e ; return -1 ; }
  return (int)st.n ;
}

/* ---------- source files ---------- */

/* sa = contents of ROOT/rel; an absent file is empty. 1 ok, 0 error. */
static int readsrc(char const *rel, stralloc *sa)
{
  stralloc path = STRALLOC_ZERO ;
  struct stat st ;
  int fd, r = 0 ;
  sa->len = 0 ;
  if (!pm_path(&path, rel)) return 0 ;
  fd = open_readb(path.s) ;
  if (fd < 0) { r = errno == ENOENT ; goto end ; }
  if (fstat(fd, &st) < 0) goto close ;
  if (st.st_size > FILE_MAX) { errno = EFBIG ; goto close ; }
  if (!stralloc_ready(sa, (size_t)st.st_size + 1)) goto close ;
  for (;;) {
    ssize_t n ;
    if (sa->len >= FILE_MAX) { errno = EFBIG ; goto close ; }
    if (!stralloc_readyplus(sa, 8192)) goto close ;
    n = fd_read(fd, sa->s + sa->len, 8192) ;
    if (n < 0) goto close ;
    if (!n) break ;
    sa->len += (size_t)n ;
  }
  r = 1 ;
 close:
  { int e = errno ; fd_close(fd) ; errno = e ; }
 end:
  stralloc_free(&path) ;
  return r ;
}

/* Iterate over the meaningful lines of a file: blanks trimmed at both
   ends, empty and # lines skipped. 1 line, 0 end, -1 line too long. */
typedef struct { char const *s ; size_t len, pos ; unsigned line ; } lines ;

static int isblank_(char c) { return c == ' ' || c == '\t' || c == '\r' ; }

static void trim(char const **s, size_t *len)
{
  while (*len && isblank_(**s)) { (*s)++ ; (*len)-- ; }
  while (*len && isblank_((*s)[*len - 1])) (*len)-- ;
}

static int nextline(lines *l, char const **s, size_t *len)
{
  while (l->pos < l->len) {
    size_t n = byte_chr(l->s + l->pos, l->len - l->pos, '\n') ;
    *s = l->s + l->pos ; *len = n ;
    l->pos += n + (l->pos + n < l->len) ;
    l->line++ ;
    if (n > LINE_MAX_) return -1 ;
    trim(s, len) ;
    if (*len && **s != '#') return 1 ;
  }
  return 0 ;
}

/* Index of the first sep outside a quoted string, or len. */
static size_t field_end(char const *s, size_t len, char sep)
{
  int q = 0 ;
  for (size_t i = 0 ; i < len ; i++) {
    if (q && s[i] == '\\') i++ ;
    else if (s[i] == '"') q = !q ;
    else if (!q && s[i] == sep) return i ;
  }
  return len ;
}

/* ---------- compiling ---------- */

typedef struct { uint32_t off, len, line, file ; } keyref ;

typedef struct {
  cdbmaker cm ;
  stralloc src, pool, dpool, tmp, *err ;
  genalloc keys, doms ;   /* keyref into pool, dpool */
  stralloc path[3] ;
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
  lines l = { .s = c->src.s, .len = c->src.len } ;
  char const *s ; size_t len ;
  int r ;
  while ((r = nextline(&l, &s, &len))) {
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
  lines l = { .s = c->src.s, .len = c->src.len } ;
  stralloc canon = STRALLOC_ZERO, data = STRALLOC_ZERO ;
  char const *s ; size_t len ;
  int r, ok = 0 ;
  while ((r = nextline(&l, &s, &len))) {
    char const *f[4] ; size_t fl[4] ; unsigned nf = 0 ;
    uint64_t quota = 0 ;
    char fmt[UINT64_FMT] ;
    c->line = l.line ;
    if (r < 0) { synerr(c, "line too long", 0, 0) ; goto end ; }
    while (nf < 4) {
      size_t n = nf ? byte_chr(s, len, ':') : field_end(s, len, ':') ;
      f[nf] = s ; fl[nf] = n ; trim(&f[nf], &fl[nf]) ; nf++ ;
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

static int do_aliases(compiler *c)
{
  lines l = { .s = c->src.s, .len = c->src.len } ;
  stralloc canon = STRALLOC_ZERO, data = STRALLOC_ZERO, full = STRALLOC_ZERO ;
  char const *s ; size_t len ;
  int r, ok = 0 ;
  while ((r = nextline(&l, &s, &len))) {
    size_t n ;
    unsigned nt = 0 ;
    char const *a ; size_t alen ;
    c->line = l.line ;
    if (r < 0) { synerr(c, "line too long", 0, 0) ; goto end ; }
    n = field_end(s, len, ':') ;
    if (n == len) { synerr(c, "expected alias: target, ...", 0, 0) ; goto end ; }
    a = s ; alen = n ; trim(&a, &alen) ;
    if (!take_address(c, a, alen, &canon)) goto end ;
    s += n + 1 ; len -= n + 1 ;
    data.len = 0 ;
    for (;;) {
      char const *t = s ; size_t tl = field_end(s, len, ','), m = tl ;
      trim(&t, &tl) ;
      if (++nt > TARGETS_MAX) { synerr(c, "too many targets", 0, 0) ; goto end ; }
      if (!take_target(c, t, tl, canon.s, canon.len, &full, &data)) goto end ;
      if (m == len) break ;
      s += m + 1 ; len -= m + 1 ;
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

/* Every address defined once, as a user or as an alias. */
static int check_dups(compiler *c)
{
  keyref const *k ;
  size_t n = genalloc_len(keyref, &c->keys) ;
  sortkeys(&c->keys, &c->pool) ;
  k = genalloc_s(keyref const, &c->keys) ;
  for (size_t i = 1 ; i < n ; i++) {
    if (k[i].len != k[i-1].len || memcmp(c->pool.s + k[i].off, c->pool.s + k[i-1].off, k[i].len)) continue ;
    {
      stralloc where = STRALLOC_ZERO ;
      char fmt[UINT_FMT] ;
      int r ;
      c->file = k[i].file ; c->line = k[i].line ;
      r = stralloc_cats(&where, "already defined at ")
       && stralloc_cats(&where, c->path[k[i-1].file].s)
       && stralloc_catb(&where, ":", 1)
       && stralloc_catb(&where, fmt, uint_fmt(fmt, k[i-1].line)) && stralloc_0(&where) ;
      if (r) synerr(c, where.s, c->pool.s + k[i].off, k[i].len) ;
      stralloc_free(&where) ;
      return 0 ;
    }
  }
  return 1 ;
}

static int dirsync(char const *path)
{
  int fd = open_read(path), r ;
  if (fd < 0) return 0 ;
  r = fd_sync(fd) >= 0 || errno == EINVAL ;
  fd_close(fd) ;
  return r ;
}

static int compile_sources(compiler *c)
{
  static int (*const step[3])(compiler *) = { &do_domains, &do_users, &do_aliases } ;
  for (int i = 0 ; i < 3 ; i++) {
    c->file = i ; c->line = 0 ;
    if (!readsrc(srcname[i], &c->src)) {
      if (errno == EFBIG) return synerr(c, "larger than 64 MiB", 0, 0) ;
      c->err->len = 0 ;
      return 0 ;
    }
    if (!(*step[i])(c)) return 0 ;
  }
  return check_dups(c) ;
}

int users_compile(stralloc *err)
{
  compiler c = { .cm = CDBMAKER_ZERO, .src = STRALLOC_ZERO, .pool = STRALLOC_ZERO, .dpool = STRALLOC_ZERO,
                 .tmp = STRALLOC_ZERO, .err = err, .keys = GENALLOC_ZERO, .doms = GENALLOC_ZERO } ;
  stralloc tmp = STRALLOC_ZERO, cdbpath = STRALLOC_ZERO, etc = STRALLOC_ZERO ;
  int fd = -1, ok = 0, e ;
  err->len = 0 ;
  for (int i = 0 ; i < 3 ; i++) if (!pm_path(&c.path[i], srcname[i])) goto end ;
  if (!pm_path(&etc, "etc") || !pm_path(&cdbpath, "etc/users.cdb")
   || !pm_path(&tmp, "etc/users.cdb.tmp")) goto end ;
  if (mkdir(etc.s, 0755) < 0 && errno != EEXIST) goto end ;
  fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640) ;
  if (fd < 0) goto end ;
  if (!cdbmake_start(&c.cm, fd)) goto end ;
  if (!compile_sources(&c)) goto end ;
  if (!cdbmake_finish(&c.cm) || fd_sync(fd) < 0) goto end ;
  if (close(fd) < 0) { fd = -1 ; goto end ; }
  fd = -1 ;
  if (rename(tmp.s, cdbpath.s) < 0 || !dirsync(etc.s)) goto end ;
  ok = 1 ;
 end:
  e = errno ;
  if (fd >= 0) fd_close(fd) ;
  if (!ok && tmp.s) unlink(tmp.s) ;
  for (int i = 0 ; i < 3 ; i++) stralloc_free(&c.path[i]) ;
  stralloc_free(&c.src) ; stralloc_free(&c.pool) ; stralloc_free(&c.dpool) ; stralloc_free(&c.tmp) ;
  genalloc_free(keyref, &c.keys) ; genalloc_free(keyref, &c.doms) ;
  genalloc_free(diuint32, &c.cm.hplist) ;
  stralloc_free(&tmp) ; stralloc_free(&cdbpath) ; stralloc_free(&etc) ;
  errno = e ;
  return ok ;
}

/* ---------- editing ---------- */

int users_lock(void)
{
  stralloc path = STRALLOC_ZERO ;
  int fd = -1 ;
  if (!pm_path(&path, "etc")) return -1 ;
  if (mkdir(path.s, 0755) < 0 && errno != EEXIST) goto end ;
  if (!pm_path(&path, "etc/.lock")) goto end ;
  fd = open(path.s, O_RDWR | O_CREAT | O_CLOEXEC, 0600) ;
  if (fd < 0) goto end ;
  if (fd_lock(fd, 1, 0) < 1) { int e = errno ; fd_close(fd) ; fd = -1 ; errno = e ; }
 end:
  stralloc_free(&path) ;
  return fd ;
}

/* A name usable as a path component: no '/', not starting with '.',
   not quoted, no control bytes. */
static int pathsafe(char const *s, size_t len)
{
  if (!len || s[0] == '.' || s[0] == '"' || s[0] == '[') return 0 ;
  for (size_t i = 0 ; i < len ; i++)
    if (s[i] == '/' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0 ;
  return 1 ;
}

int users_default_mailbox(stralloc *sa, char const *addr, size_t len)
{
  size_t at = addr_at(addr, len) ;
  if (at == len || !pathsafe(addr, at) || !pathsafe(addr + at + 1, len - at - 1)) return (errno = EINVAL, 0) ;
  sa->len = 0 ;
  if (!stralloc_cats(sa, "mail/") || !stralloc_catb(sa, addr + at + 1, len - at - 1)
   || !stralloc_catb(sa, "/", 1) || !stralloc_catb(sa, addr, at) || !stralloc_0(sa)) return 0 ;
  sa->len-- ;
  return 1 ;
}

/* Is the key field of a line of file (users or aliases) addr? */
static int find_in(int file, char const *addr, size_t len, stralloc *where)
{
  stralloc src = STRALLOC_ZERO, canon = STRALLOC_ZERO ;
  lines l ;
  char const *s ; size_t n ;
  int r, found = 0 ;
  if (!readsrc(srcname[file], &src)) return -1 ;
  l = (lines){ .s = src.s, .len = src.len } ;
  while (!found && (r = nextline(&l, &s, &n))) {
    if (r < 0) continue ;
    n = field_end(s, n, ':') ;
    trim(&s, &n) ;
    if (n && s[0] == '@') {
      found = n == len && !strncasecmp(s, addr, n) ;
      continue ;
    }
    if (!addr_canon(&canon, s, n)) { found = -1 ; break ; }
    found = canon.len == len && !memcmp(canon.s, addr, len) ;
  }
  if (found > 0) {
    char fmt[UINT_FMT] ;
    where->len = 0 ;
    if (!pm_path(where, srcname[file]) || !stralloc_catb(where, ":", 1)
     || !stralloc_catb(where, fmt, uint_fmt(fmt, l.line)) || !stralloc_0(where)) found = -1 ;
  }
  stralloc_free(&src) ;
  stralloc_free(&canon) ;
  return found ;
}

int users_find(char const *addr, size_t len, stralloc *where)
{
  int r = find_in(F_USERS, addr, len, where) ;
  return r ? r : find_in(F_ALIASES, addr, len, where) ;
}

/* Replace ROOT/rel with s: rel.tmp, fsync, rename, fsync etc/. */
static int replace(char const *rel, char const *s, size_t len)
{
  stralloc path = STRALLOC_ZERO, tmp = STRALLOC_ZERO ;
  int fd, ok = 0, e ;
  if (!pm_path(&path, rel) || !stralloc_copyb(&tmp, path.s, path.len)
   || !stralloc_cats(&tmp, ".tmp") || !stralloc_0(&tmp)) goto end ;
  fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640) ;
  if (fd < 0) goto end ;
  if (allwrite(fd, s, len) < len || fd_sync(fd) < 0) { e = errno ; fd_close(fd) ; unlink(tmp.s) ; errno = e ; goto end ; }
  if (close(fd) < 0 || rename(tmp.s, path.s) < 0) { e = errno ; unlink(tmp.s) ; errno = e ; goto end ; }
  path.len = byte_rchr(path.s, path.len, '/') ;
  path.s[path.len] = 0 ;
  ok = dirsync(path.s) ;
 end:
  e = errno ;
  stralloc_free(&path) ;
  stralloc_free(&tmp) ;
  errno = e ;
  return ok ;
}

/* 1 if the domains source lists domain (any case). */
static int listed(char const *src, size_t srclen, char const *domain, size_t dlen)
{
  lines l = { .s = src, .len = srclen } ;
  char const *s ; size_t n ;
  int r ;
  while ((r = nextline(&l, &s, &n)))
    if (r > 0 && n == dlen && !strncasecmp(s, domain, n)) return 1 ;
  return 0 ;
}

/* newsrc = old + line, with a newline put in between if old lacks one. */
static int appended(stralloc *sa, stralloc const *old, char const *line, size_t len)
{
  sa->len = 0 ;
  return stralloc_catb(sa, old->s, old->len)
      && (!old->len || old->s[old->len - 1] == '\n' || stralloc_catb(sa, "\n", 1))
      && stralloc_catb(sa, line, len) && stralloc_catb(sa, "\n", 1) ;
}

int users_add_line(char const *rel, char const *line, size_t len,
                   char const *domain, size_t dlen, stralloc *err)
{
  stralloc old = STRALLOC_ZERO, olddom = STRALLOC_ZERO, new = STRALLOC_ZERO ;
  int ok = 0, dom = 0, e ;
  err->len = 0 ;
  if (!readsrc(rel, &old) || !readsrc("etc/domains", &olddom)) goto end ;
  if (dlen && !listed(olddom.s, olddom.len, domain, dlen)) {
    if (!appended(&new, &olddom, domain, dlen)) goto end ;
    case_lowerb(new.s + new.len - dlen - 1, dlen) ;
    if (!replace("etc/domains", new.s, new.len)) goto end ;
    dom = 1 ;
  }
  if (!appended(&new, &old, line, len) || !replace(rel, new.s, new.len)) goto undo ;
  if (users_compile(err)) { ok = 1 ; goto end ; }
  e = errno ;
  replace(rel, old.s, old.len) ;
  errno = e ;
 undo:
  e = errno ;
  if (dom) replace("etc/domains", olddom.s, olddom.len) ;
  errno = e ;
 end:
  e = errno ;
  stralloc_free(&old) ; stralloc_free(&olddom) ; stralloc_free(&new) ;
  errno = e ;
  return ok ;
}
