/* The default "S" records of users.cdb (senders.h), computed from a
   first build of the cdb, where users_resolve can follow the aliases
   exactly as delivery will. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <skalibs/bytestr.h>
#include <skalibs/genalloc.h>
#include "addr.h"
#include "users.h"
#include "userssrc.h"

/* 1 if "U"+s is in the cdb, 0 if not, -1 error. */
static int isuser(users const *u, char const *s, size_t len)
{
  char key[ADDR_MAX + 2] ;
  cdb_data d ;
  int r ;
  if (len > ADDR_MAX) return 0 ;
  key[0] = 'U' ;
  memcpy(key + 1, s, len) ;
  r = cdb_find(&u->c, &d, key, len + 1) ;
  if (r < 0) errno = EPROTO ;
  return r ;
}

/* Append "user\0alias\0" to pairs if the final address x (canonical)
   is a user's, with or without its +tag. */
static int addpair(users const *u, stralloc *pairs, genalloc *offs, char const *x, size_t len,
                   char const *alias, size_t alen)
{
  size_t at = addr_at(x, len), plus = x[0] == '"' ? at : byte_chr(x, at, '+'), off = pairs->len ;
  int r = isuser(u, x, len) ;
  if (r < 0) return 0 ;
  if (r) { if (!stralloc_catb(pairs, x, len)) return 0 ; }
  else {
    char t[ADDR_MAX + 1] ;
    if (!plus || plus >= at || len > ADDR_MAX) return 1 ;
    memcpy(t, x, plus) ; memcpy(t + plus, x + at, len - at) ;
    r = isuser(u, t, plus + len - at) ;
    if (r <= 0) return !r ;
    if (!stralloc_catb(pairs, t, plus + len - at)) return 0 ;
  }
  return stralloc_0(pairs) && stralloc_catb(pairs, alias, alen) && stralloc_0(pairs)
      && genalloc_append(size_t, offs, &off) ;
}

static int paircmp(void const *a, void const *b, void *pairs)
{
  char const *x = (char const *)pairs + *(size_t const *)a, *y = (char const *)pairs + *(size_t const *)b ;
  int r = strcmp(x, y) ;
  return r ? r : strcmp(x + strlen(x) + 1, y + strlen(y) + 1) ;
}

/* One "S" record per user without an explicit one, from sorted pairs. */
static int write_defaults(users const *u, cdbmaker *cm, stralloc const *pairs, genalloc const *offs)
{
  size_t const *o = genalloc_s(size_t const, offs) ;
  size_t n = genalloc_len(size_t, offs) ;
  stralloc key = STRALLOC_ZERO, data = STRALLOC_ZERO ;
  int ok = 0 ;
  for (size_t i = 0 ; i < n ; ) {
    char const *user = pairs->s + o[i] ;
    size_t ulen = strlen(user) ;
    cdb_data d ;
    int r ;
    key.len = 0 ; data.len = 0 ;
    if (!stralloc_catb(&key, "S", 1) || !stralloc_catb(&key, user, ulen)) goto end ;
    r = cdb_find(&u->c, &d, key.s, key.len) ;
    if (r < 0) { errno = EPROTO ; goto end ; }
    for (char const *prev = 0 ; i < n && !strcmp(pairs->s + o[i], user) ; i++) {
      char const *alias = pairs->s + o[i] + ulen + 1 ;
      if (prev && !strcmp(prev, alias)) continue ;
      prev = alias ;
      if (!stralloc_catb(&data, alias, strlen(alias) + 1)) goto end ;
    }
    if (!r && !cdbmake_add(cm, key.s, key.len, data.s, data.len)) goto end ;
  }
  ok = 1 ;
 end:
  stralloc_free(&key) ;
  stralloc_free(&data) ;
  return ok ;
}

/* Pairs for one record: a user is its own sender, an alias (not a
   catch-all) is each user it resolves to. */
static int record(users const *u, cdb_data const *k, stralloc *pairs, genalloc *offs, stralloc *out)
{
  int n ;
  if (k->len < 2 || k->s[1] == '@') return 1 ;
  if (k->s[0] == 'U') return addpair(u, pairs, offs, k->s + 1, k->len - 1, k->s + 1, k->len - 1) ;
  if (k->s[0] != 'A') return 1 ;
  out->len = 0 ;
  n = users_resolve(u, k->s + 1, k->len - 1, out) ;
  if (n < 0) return errno == ELOOP || errno == E2BIG ;   /* undeliverable: no sender either */
  for (size_t i = 0 ; i < out->len ; ) {
    size_t m = strlen(out->s + i) ;
    if (!addpair(u, pairs, offs, out->s + i, m, k->s + 1, k->len - 1)) return 0 ;
    i += m + 1 ;
  }
  return 1 ;
}

int usrc_senders_defaults(cdbmaker *cm, char const *from)
{
  users u = USERS_ZERO ;
  stralloc pairs = STRALLOC_ZERO, out = STRALLOC_ZERO ;
  genalloc offs = GENALLOC_ZERO ;
  cdb_data k, d ;
  uint32_t pos ;
  int r, ok = 0, e ;
  if (!cdb_init(&u.c, from)) return 0 ;
  u.open = 1 ;
  cdb_traverse_init(&pos) ;
  while ((r = cdb_traverse_next(&u.c, &k, &d, &pos)) > 0)
    if (!cdbmake_add(cm, k.s, k.len, d.s, d.len) || !record(&u, &k, &pairs, &offs, &out)) goto end ;
  if (r < 0) { errno = EPROTO ; goto end ; }
  if (genalloc_len(size_t, &offs) > 1)
    qsort_r(genalloc_s(size_t, &offs), genalloc_len(size_t, &offs), sizeof(size_t), &paircmp, pairs.s) ;
  ok = write_defaults(&u, cm, &pairs, &offs) ;
 end:
  e = errno ;
  cdb_free(&u.c) ;
  stralloc_free(&pairs) ; stralloc_free(&out) ;
  genalloc_free(size_t, &offs) ;
  errno = e ;
  return ok ;
}
