/* Users, aliases and local domains: lookups in etc/users.cdb (see users.h;
   compiling it: userscompile.c; editing the sources: usersedit.c). */
#include <errno.h>
#include <string.h>
#include <skalibs/bytestr.h>
#include <skalibs/cdb.h>
#include "addr.h"
#include "root.h"
#include "users.h"

#define WORK_MAX 10000        /* targets examined by one users_resolve */

int users_open(users *u)
{
  return users_refresh(u, 1) ;
}

int users_refresh(users *u, int force)
{
  pm_fileid now = PM_FILEID_ZERO ;
  cdb c = CDB_ZERO ;
  if (!pm_fileid_changed(&u->id, "etc/users.cdb", &now) && u->open && !force) {
    pm_fileid_free(&now) ;
    return 1 ;
  }
  if (!now.path.s || !cdb_init(&c, now.path.s)) {
    int e = now.path.s ? errno : ENOMEM ;
    pm_fileid_free(&now) ;
    errno = e ;
    return 0 ;
  }
  users_close(u) ;
  u->c = c ;
  u->open = 1 ;
  u->id = now ;
  return 1 ;
}

void users_close(users *u)
{
  if (u->open) cdb_free(&u->c) ;
  pm_fileid_free(&u->id) ;
  *u = (users)USERS_ZERO ;
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

int users_login(users const *u, char const *addr, size_t len, stralloc *canon, users_entry *e)
{
  cdb_data d ;
  int r ;
  memset(e, 0, sizeof *e) ;
  /* a valid address has a local part: "@domain" (a catch-all) is none */
  if (!addr_valid(addr, len)) return USERS_NONE ;
  canon->len = 0 ;
  if (!addr_canon(canon, addr, len)) return -1 ;
  r = find(u, 'U', canon->s, canon->len, &d) ;
  if (r <= 0) return r ;
  return entry_user(&d, e) ;
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
    /* out may still be empty, its s null (no arithmetic on it, then) */
    if (st->out->len > st->start && inlist(st->out->s + st->start, st->out->len - st->start, a, len)) return 0 ;
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
