/* RFC 5322 3.4 address lists (addrlist.h): a lexer into tokens, then a
   recursive descent over them. */
#include <errno.h>
#include <string.h>
#include <skalibs/genalloc.h>
#include "addr.h"
#include "addrlist.h"

/* type: 'a' atom, 'q' quoted string, 'd' domain literal, or the special
   character itself: < > @ , ; : . */
typedef struct { char type ; size_t pos, len ; } token ;

typedef struct {
  char const *s ;
  token const *t ;
  size_t n ;
  stralloc *out ;
  int bare ;
  unsigned int count ;
} parser ;

static int isblank_(char c) { return c == ' ' || c == '\t' ; }

static int isatext(unsigned char c)
{
  if (c >= 0x80) return 1 ;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1 ;
  return c && !!strchr("!#$%&'*+-/=?^_`{|}~", c) ;
}

static int bad(void) { errno = EINVAL ; return 0 ; }

/* End of the comment, quoted string or literal opened at s[i]: the index
   after its closing byte, or 0 (malformed). */
static size_t skip_delimited(char const *s, size_t len, size_t i)
{
  char open = s[i], close = open == '(' ? ')' : open == '[' ? ']' : '"' ;
  unsigned int depth = 1 ;
  for (i++ ; i < len ; i++) {
    unsigned char c = s[i] ;
    if (!c) return 0 ;
    if (c == '\\') { if (++i >= len || !s[i]) return 0 ; continue ; }
    if (c == close && !--depth) return i + 1 ;
    if (open == '(' && c == '(') depth++ ;
    else if (open == '[' && c == '[') return 0 ;
  }
  return 0 ;
}

/* Folding at s[i] (CR or LF): the index after it, or 0 if the line end
   is not followed by a blank (nor the end of the value). */
static size_t skip_fold(char const *s, size_t len, size_t i)
{
  if (s[i] == '\r') { if (++i < len && s[i] == '\n') i++ ; else if (i < len) return 0 ; }
  else i++ ;
  return i == len || isblank_(s[i]) ? i : 0 ;
}

static int push(genalloc *g, char type, size_t pos, size_t len)
{
  token t = { .type = type, .pos = pos, .len = len } ;
  return genalloc_append(token, g, &t) ;
}

static int lex(genalloc *g, char const *s, size_t len)
{
  size_t i = 0, j ;
  while (i < len) {
    unsigned char c = s[i] ;
    if (isblank_(c)) { i++ ; continue ; }
    if (c == '\r' || c == '\n') {
      if (!(i = skip_fold(s, len, i))) return bad() ;
      continue ;
    }
    if (c == '(' || c == '"' || c == '[') {
      if (!(j = skip_delimited(s, len, i))) return bad() ;
      if (c != '(' && !push(g, c == '"' ? 'q' : 'd', i, j - i)) return 0 ;
      i = j ;
      continue ;
    }
    if (strchr("<>@,;:.", c) && c) { if (!push(g, c, i, 1)) return 0 ; i++ ; continue ; }
    if (!isatext(c)) return bad() ;
    for (j = i ; j < len && isatext(s[j]) ; j++) ;
    if (!push(g, 'a', i, j - i)) return 0 ;
    i = j ;
  }
  return 1 ;
}

static int is(parser const *p, size_t i, char type) { return i < p->n && p->t[i].type == type ; }
static int isword(parser const *p, size_t i) { return is(p, i, 'a') || is(p, i, 'q') ; }

/* First index from i that is not a word or a dot (a phrase, or a local part). */
static size_t phrase_end(parser const *p, size_t i)
{
  while (isword(p, i) || is(p, i, '.')) i++ ;
  return i ;
}

/* After a domain starting at i, or 0. */
static size_t domain_end(parser const *p, size_t i)
{
  if (is(p, i, 'd')) return i + 1 ;
  if (!is(p, i, 'a')) return 0 ;
  for (i++ ; is(p, i, '.') && is(p, i + 1, 'a') ; i += 2) ;
  return i ;
}

/* Append tokens [a,b) without blanks or line ends. */
static int emit(parser *p, size_t a, size_t b)
{
  for (; a < b ; a++) {
    char const *s = p->s + p->t[a].pos ;
    for (size_t k = 0 ; k < p->t[a].len ; k++)
      if (s[k] != '\r' && s[k] != '\n' && !stralloc_catb(p->out, s + k, 1)) return 0 ;
  }
  return 1 ;
}

/* One address from the local part [a,b) and, if at, the domain after
   the '@' at b, up to e. Checks its length and the count. */
static int take(parser *p, size_t a, size_t b, size_t e)
{
  size_t start = p->out->len ;
  int hasword = 0 ;
  for (size_t i = a ; i < b ; i++) {   /* words apart: dots between (extra dots tolerated) */
    if (isword(p, i) && i > a && isword(p, i - 1)) return bad() ;
    hasword |= isword(p, i) ;
  }
  if (!hasword) return bad() ;
  if (!emit(p, a, b) || !emit(p, b, e)) return 0 ;
  if (p->out->len - start > ADDR_MAX) return bad() ;
  if (++p->count > ADDRLIST_MAX) { errno = E2BIG ; return 0 ; }
  return stralloc_0(p->out) ;
}

/* An addr-spec (or a bare local part) from i up to stop, a token type
   that must follow. The index after it, or 0. */
static size_t addrspec(parser *p, size_t i, char const *stop)
{
  size_t j = phrase_end(p, i), e ;
  if (j > i && is(p, j, '@')) {
    if (!(e = domain_end(p, j + 1))) return bad() ;
    return take(p, i, j, e) ? e : 0 ;
  }
  if (p->bare && j > i && (j == p->n || strchr(stop, p->t[j].type)))
    return take(p, i, j, j) ? j : 0 ;
  return bad() ;
}

/* <[route:]addr-spec> at i ('<'): the index after '>', or 0. */
static size_t angle(parser *p, size_t i)
{
  i++ ;
  if (is(p, i, '@')) {   /* obsolete route: @a,,@b: */
    while (is(p, i, '@')) {
      if (!(i = domain_end(p, i + 1))) return bad() ;
      while (is(p, i, ',')) i++ ;
    }
    if (!is(p, i, ':')) return bad() ;
    i++ ;
  }
  if (!(i = addrspec(p, i, ">"))) return 0 ;
  if (!is(p, i, '>')) return bad() ;
  return i + 1 ;
}

static size_t mailbox(parser *p, size_t i, int group) ;

/* The mailboxes of a group after its ':' at i, up to ';'. */
static size_t grouplist(parser *p, size_t i)
{
  for (i++ ;;) {
    if (is(p, i, ';')) return i + 1 ;
    if (is(p, i, ',')) { i++ ; continue ; }
    if (i >= p->n || !(i = mailbox(p, i, 0))) return bad() ;
    if (!is(p, i, ',') && !is(p, i, ';')) return bad() ;
  }
}

/* A mailbox (or, if group, a group) from i: the index after it, or 0. */
static size_t mailbox(parser *p, size_t i, int group)
{
  size_t j = phrase_end(p, i) ;
  if (is(p, j, '<')) return angle(p, j) ;
  if (group && j > i && is(p, j, ':')) return grouplist(p, j) ;
  return addrspec(p, i, group ? "," : ",;") ;
}

static int parse(stralloc *out, char const *s, size_t len, int bare)
{
  genalloc g = GENALLOC_ZERO ;
  parser p = { .s = s, .out = out, .bare = bare } ;
  size_t start = out->len, i = 0 ;
  int e = 0 ;
  if (!lex(&g, s, len)) goto err ;
  p.t = genalloc_s(token, &g) ;
  p.n = genalloc_len(token, &g) ;
  while (i < p.n) {
    if (is(&p, i, ',')) { i++ ; continue ; }
    if (!(i = mailbox(&p, i, 1))) goto err ;
    if (i < p.n && !is(&p, i, ',')) { bad() ; goto err ; }
  }
  genalloc_free(token, &g) ;
  return (int)p.count ;
 err:
  e = errno ;
  genalloc_free(token, &g) ;
  out->len = start ;
  errno = e ;
  return -1 ;
}

int addrlist_parse(stralloc *out, char const *s, size_t len)
{
  return parse(out, s, len, 0) ;
}

int addrlist_parse_bare(stralloc *out, char const *s, size_t len)
{
  return parse(out, s, len, 1) ;
}
