/* IMAP flags and STORE arguments: see imapflag.h. */
#include <string.h>
#include <strings.h>
#include "imapflag.h"

static char const *const names[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "\\Recent" } ;

unsigned imapflag_bit(char const *s)
{
  for (unsigned k = 0 ; k < sizeof names / sizeof *names ; k++)
    if (!strcasecmp(s, names[k])) return 1u << k ;
  return 0 ;
}

char const *imapflag_name(unsigned bit)
{
  for (unsigned k = 0 ; k < sizeof names / sizeof *names ; k++)
    if (bit == 1u << k) return names[k] ;
  return 0 ;
}

int imapflag_iskeyword(char const *s, size_t len)
{
  if (!len || len > IMAPFLAG_MAXKWLEN) return 0 ;
  for (size_t k = 0 ; k < len ; k++) {
    unsigned char ch = s[k] ;
    if (ch <= 0x20 || ch >= 0x7f || strchr("(){%*\"\\]", ch)) return 0 ;
  }
  return 1 ;
}

static int one(imapcmd const *c, uint32_t i, imapflags *f, char const **err)
{
  imapnode const *x = &c->node[i] ;
  if (x->type != IMAPN_ATOM) { *err = "bad flag" ; return 0 ; }
  if (x->s[0] == '\\') {
    unsigned b = imapflag_bit(x->s) ;
    if (!b || b == IMAPFLAG_RECENT) { *err = "bad system flag" ; return 0 ; }
    f->sys |= b ;
    return 1 ;
  }
  if (!imapflag_iskeyword(x->s, x->len)) { *err = "bad keyword" ; return 0 ; }
  for (unsigned k = 0 ; k < f->nkw ; k++) if (!strcasecmp(f->kw[k], x->s)) return 1 ;
  if (f->nkw == IMAPFLAG_MAXKW) { *err = "too many keywords" ; return 0 ; }
  f->kw[f->nkw++] = x->s ;
  return 1 ;
}

int imapflag_parse(imapcmd const *c, uint32_t i, int list, imapflags *f, char const **err)
{
  uint32_t k ;
  f->sys = 0 ; f->nkw = 0 ;
  if (!i) { *err = "missing flags" ; return 0 ; }
  if (c->node[i].type == IMAPN_LIST) k = c->node[i].child ;
  else if (list) k = i ;
  else { *err = "flag list expected" ; return 0 ; }
  for (; k ; k = c->node[k].next) if (!one(c, k, f, err)) return 0 ;
  return 1 ;
}

/* "(UNCHANGEDSINCE n)" */
static int modifier(imapcmd const *c, uint32_t i, imapstoreargs *st, char const **err)
{
  uint32_t k = c->node[i].child ;
  if (!imapcmd_isatom(c, k, "UNCHANGEDSINCE") || !c->node[k].next || c->node[c->node[k].next].next
      || !imapcmd_number64(c, c->node[k].next, &st->modseq, 0)) {
    *err = "bad STORE modifier" ;
    return 0 ;
  }
  st->unchangedsince = 1 ;
  return 1 ;
}

int imapflag_store(imapcmd const *c, uint32_t i, imapstoreargs *st, char const **err)
{
  char const *s ;
  memset(st, 0, sizeof *st) ;
  if (i && c->node[i].type == IMAPN_LIST) {
    if (!modifier(c, i, st, err)) return 0 ;
    i = c->node[i].next ;
  }
  if (!i || c->node[i].type != IMAPN_ATOM) { *err = "missing STORE item" ; return 0 ; }
  s = c->node[i].s ;
  if (*s == '+' || *s == '-') st->op = *s++ == '+' ? IMAPSTORE_ADD : IMAPSTORE_REMOVE ;
  if (!strcasecmp(s, "FLAGS.SILENT")) st->silent = 1 ;
  else if (strcasecmp(s, "FLAGS")) { *err = "bad STORE item" ; return 0 ; }
  return imapflag_parse(c, c->node[i].next, 1, &st->flags, err) ;
}
