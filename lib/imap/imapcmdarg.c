/* Typed access to the arguments of an imapcmd: see imapcmd.h. */
#include <string.h>
#include <strings.h>
#include "imapcmd.h"

uint32_t imapcmd_arg(imapcmd const *c, unsigned i)
{
  uint32_t k = c->nnodes ? c->node[0].child : 0 ;
  while (k && i--) k = c->node[k].next ;
  return k ;
}

unsigned imapcmd_nmembers(imapcmd const *c, uint32_t i)
{
  unsigned n = 0 ;
  if (c->node[i].type != IMAPN_LIST) return 0 ;
  for (uint32_t k = c->node[i].child ; k ; k = c->node[k].next) n++ ;
  return n ;
}

unsigned imapcmd_nargs(imapcmd const *c)
{
  return c->nnodes ? imapcmd_nmembers(c, 0) : 0 ;
}

int imapcmd_isatom(imapcmd const *c, uint32_t i, char const *s)
{
  return i && (c->node[i].type == IMAPN_ATOM || c->node[i].type == IMAPN_NIL) && !strcasecmp(c->node[i].s, s) ;
}

int imapcmd_astring(imapcmd const *c, uint32_t i, char const **s, size_t *len)
{
  imapnode const *x = &c->node[i] ;
  if (!i) return 0 ;
  if (x->type != IMAPN_ATOM && x->type != IMAPN_QUOTED && x->type != IMAPN_LITERAL && x->type != IMAPN_NIL) return 0 ;
  /* not list wildcards, nor what brackets let into an atom */
  if (x->type == IMAPN_ATOM && x->s[strcspn(x->s, "%*\\ ()\"")]) return 0 ;
  *s = x->s ; *len = x->len ;
  return 1 ;
}

int imapcmd_nstring(imapcmd const *c, uint32_t i, char const **s, size_t *len)
{
  if (i && c->node[i].type == IMAPN_NIL) { *s = 0 ; *len = 0 ; return 1 ; }
  return imapcmd_astring(c, i, s, len) ;
}

int imapcmd_digits(char const *s, size_t len, uint64_t max, uint64_t *n)
{
  uint64_t v = 0 ;
  if (!len || len > 20) return 0 ;
  for (size_t k = 0 ; k < len ; k++) {
    if (s[k] < '0' || s[k] > '9') return 0 ;
    if (v > (max - (s[k] - '0')) / 10) return 0 ;
    v = v * 10 + (s[k] - '0') ;
  }
  *n = v ;
  return 1 ;
}

int imapcmd_number(imapcmd const *c, uint32_t i, uint32_t *n)
{
  uint64_t v ;
  if (!i || c->node[i].type != IMAPN_ATOM || !imapcmd_digits(c->node[i].s, c->node[i].len, 0xffffffffu, &v)) return 0 ;
  *n = v ;
  return 1 ;
}

int imapcmd_number64(imapcmd const *c, uint32_t i, uint64_t *n, int nz)
{
  if (!i || c->node[i].type != IMAPN_ATOM || !imapcmd_digits(c->node[i].s, c->node[i].len, 0x7fffffffffffffffull, n)) return 0 ;
  return !nz || *n ;
}
