/* senders_allowed: the "S" records of users.cdb (senders.h). */
#include <errno.h>
#include <string.h>
#include <skalibs/bytestr.h>
#include "addr.h"
#include "senders.h"

/* Does the allowed entry e (canonical address or "@domain") cover the
   canonical address a, whose tagless form is t? */
static int covers(char const *e, size_t elen, char const *a, size_t alen, char const *t, size_t tlen)
{
  size_t at = addr_at(a, alen) ;
  if (elen && e[0] == '@') return elen == alen - at && !memcmp(e, a + at, elen) ;
  return (elen == alen && !memcmp(e, a, alen)) || (elen == tlen && !memcmp(e, t, tlen)) ;
}

/* t = a without its +tag (not in a quoted local part, not at its start). */
static size_t untag(char *t, char const *a, size_t alen)
{
  size_t at = addr_at(a, alen), plus = a[0] == '"' ? at : byte_chr(a, at, '+') ;
  if (!plus || plus >= at) { memcpy(t, a, alen) ; return alen ; }
  memcpy(t, a, plus) ;
  memcpy(t + plus, a + at, alen - at) ;
  return plus + alen - at ;
}

static int check(users const *u, char const *login, size_t loginlen, char const *a, size_t alen)
{
  char key[ADDR_MAX + 2], t[ADDR_MAX + 1] ;
  size_t tlen = untag(t, a, alen) ;
  cdb_data d ;
  int r ;
  if (!loginlen || loginlen > ADDR_MAX) return 0 ;
  key[0] = 'S' ;
  memcpy(key + 1, login, loginlen) ;
  case_lowerb(key + 1, loginlen) ;
  r = cdb_find(&u->c, &d, key, loginlen + 1) ;
  if (r < 0) return (errno = EPROTO, -1) ;
  if (!r) {   /* no record: the login's own address */
    stralloc c = STRALLOC_ZERO ;
    int ok ;
    if (!addr_valid(login, loginlen)) return 0 ;
    if (!addr_canon(&c, login, loginlen)) return -1 ;
    ok = covers(c.s, c.len, a, alen, t, tlen) ;
    stralloc_free(&c) ;
    return ok ;
  }
  if (d.len && d.s[d.len - 1]) return (errno = EPROTO, -1) ;
  for (size_t i = 0 ; i < d.len ; ) {
    size_t n = strlen(d.s + i) ;
    if (covers(d.s + i, n, a, alen, t, tlen)) return 1 ;
    i += n + 1 ;
  }
  return 0 ;
}

int senders_allowed(users const *u, char const *login, size_t loginlen,
                    char const *addr, size_t addrlen)
{
  stralloc a = STRALLOC_ZERO ;
  int r ;
  if (!addrlen) return 1 ;
  if (addrlen > ADDR_MAX + 2 || !addr_valid(addr, addrlen)) return 0 ;
  if (!addr_canon(&a, addr, addrlen)) return -1 ;
  r = a.len <= ADDR_MAX ? check(u, login, loginlen, a.s, a.len) : 0 ;
  stralloc_free(&a) ;
  return r ;
}
