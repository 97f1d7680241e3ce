/* LIST, LSUB and STATUS arguments, LIST patterns: see imaplist.h. */
#include <string.h>
#include <strings.h>
#include "imaplist.h"
#include "imapmbox.h"

static char const *const items[] = { "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE", "APPENDLIMIT", "DELETED" } ;
#define NITEMS (sizeof items / sizeof *items)

char const *imapstatus_name(unsigned bit)
{
  for (unsigned k = 0 ; k < NITEMS ; k++) if (bit == 1u << k) return items[k] ;
  return 0 ;
}

int imapstatus_items(imapcmd const *c, uint32_t i, unsigned *bits, char const **err)
{
  *bits = 0 ;
  if (!i || c->node[i].type != IMAPN_LIST || !c->node[i].child) { *err = "STATUS items expected" ; return 0 ; }
  for (uint32_t k = c->node[i].child ; k ; k = c->node[k].next) {
    unsigned j = 0 ;
    while (j < NITEMS && !imapcmd_isatom(c, k, items[j])) j++ ;
    if (j == NITEMS) { *err = "unknown STATUS item" ; return 0 ; }
    *bits |= 1u << j ;
  }
  return 1 ;
}

/* list-mailbox: an atom with wildcards, or a string */
static int listmbox(imapcmd const *c, uint32_t i, char const **s, size_t *len)
{
  imapnode const *x = &c->node[i] ;
  if (!i || (x->type == IMAPN_ATOM && x->s[strcspn(x->s, "\\ ()\"")])) return 0 ;
  if (x->type != IMAPN_ATOM && x->type != IMAPN_QUOTED && x->type != IMAPN_LITERAL && x->type != IMAPN_NIL) return 0 ;
  *s = x->s ; *len = x->len ;
  return 1 ;
}

/* Append name s, decoded, NUL-terminated, to sa. */
static int name(stralloc *sa, char const *s, size_t len, int utf8, int pat)
{
  size_t b = sa->len ;
  int r ;
  if (memchr(s, 0, len)) return 0 ;
  r = utf8 ? (stralloc_catb(sa, s, len) ? 1 : -1) : imapmbox_mutf7_decode(sa, s, len) ;
  if (r != 1) return r ;
  if (pat && sa->len - b > IMAPLIST_MAXPATLEN) return 0 ;
  if (pat && sa->len - b >= 5 && !strncasecmp(sa->s + b, "INBOX", 5)) memcpy(sa->s + b, "INBOX", 5) ;
  return stralloc_0(sa) ? 1 : -1 ;
}

static int options(imapcmd const *c, uint32_t i, int ret, imaplist *l, char const **err)
{
  static char const *const sel[] = { "SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE" } ;
  static char const *const rets[] = { "SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS" } ;
  static unsigned const retbits[] = { IMAPLIST_RET_SUBSCRIBED, IMAPLIST_RET_CHILDREN, IMAPLIST_RET_SPECIALUSE, IMAPLIST_RET_STATUS } ;
  for (uint32_t k = c->node[i].child ; k ; k = c->node[k].next) {
    unsigned j = 0 ;
    while (j < 4 && !imapcmd_isatom(c, k, ret ? rets[j] : sel[j])) j++ ;
    if (j == 4) { *err = "unknown LIST option" ; return 0 ; }
    if (!ret) { l->sel |= 1u << j ; continue ; }
    l->ret |= retbits[j] ;
    if (retbits[j] == IMAPLIST_RET_STATUS && !imapstatus_items(c, k = c->node[k].next, &l->status, err)) return 0 ;
  }
  if (l->sel == IMAPLIST_RECURSIVEMATCH || l->sel == (IMAPLIST_RECURSIVEMATCH | IMAPLIST_REMOTE)) { *err = "RECURSIVEMATCH alone" ; return 0 ; }
  return 1 ;
}

static int patterns(imapcmd const *c, uint32_t i, int utf8, imaplist *l, char const **err)
{
  uint32_t k = i ;
  char const *s ;
  size_t len ;
  int r ;
  if (c->node[i].type == IMAPN_LIST) {
    l->extended = 1 ;
    if (!(k = c->node[i].child)) { *err = "empty pattern list" ; return 0 ; }
  }
  for (; k ; k = c->node[i].type == IMAPN_LIST ? c->node[k].next : 0) {
    if (++l->npat > IMAPLIST_MAXPAT) { *err = "too many patterns" ; return 0 ; }
    if (!listmbox(c, k, &s, &len)) { *err = "bad pattern" ; return 0 ; }
    if ((r = name(&l->pats, s, len, utf8, 1)) != 1) { *err = "bad pattern" ; return r ; }
  }
  return 1 ;
}

int imaplist_parse(imapcmd const *c, uint32_t i, int lsub, int utf8, imaplist *l, char const **err)
{
  char const *s ;
  size_t len ;
  int r ;
  l->sel = l->ret = l->status = 0 ; l->extended = 0 ; l->npat = 0 ;
  l->ref.len = 0 ; l->pats.len = 0 ;
  if (!lsub && i && c->node[i].type == IMAPN_LIST) {
    l->extended = 1 ;
    if (!options(c, i, 0, l, err)) return 0 ;
    i = c->node[i].next ;
  }
  if (!i || !imapcmd_astring(c, i, &s, &len)) { *err = "bad reference" ; return 0 ; }
  if ((r = name(&l->ref, s, len, utf8, 0)) != 1) { *err = "bad reference" ; return r ; }
  i = c->node[i].next ;
  if (!i || (lsub && c->node[i].type == IMAPN_LIST)) { *err = "missing pattern" ; return 0 ; }
  if ((r = patterns(c, i, utf8, l, err)) != 1) return r ;
  i = c->node[i].next ;
  if (!i) return 1 ;
  if (lsub || !imapcmd_isatom(c, i, "RETURN") || !c->node[i].next || c->node[c->node[i].next].type != IMAPN_LIST
      || c->node[c->node[i].next].next) { *err = "junk after LIST pattern" ; return 0 ; }
  l->extended = 1 ;
  return options(c, c->node[i].next, 1, l, err) ;
}

void imaplist_free(imaplist *l)
{
  stralloc_free(&l->ref) ;
  stralloc_free(&l->pats) ;
}

/* Dynamic programming over the name's positions: at[j] says whether the
   pattern so far matches name[0..j). */
int imaplist_match(char const *pat, size_t plen, char const *name, size_t nlen, char delim)
{
  unsigned char a[IMAPLIST_MAXNAME + 1], b[IMAPLIST_MAXNAME + 1], *cur = a, *nx = b, *t ;
  size_t inbox = nlen >= 5 && !memcmp(name, "INBOX", 5) && (nlen == 5 || name[5] == delim) ? 5 : 0 ;
  if (nlen > IMAPLIST_MAXNAME || plen > IMAPLIST_MAXPATLEN) return 0 ;
  memset(cur, 0, nlen + 1) ;
  cur[0] = 1 ;
  for (size_t p = 0 ; p < plen ; p++) {
    char ch = pat[p] ;
    nx[0] = (ch == '*' || ch == '%') && cur[0] ;
    for (size_t j = 1 ; j <= nlen ; j++) {
      char n = name[j-1] ;
      if (ch == '*') nx[j] = cur[j] || nx[j-1] ;
      else if (ch == '%') nx[j] = cur[j] || (nx[j-1] && n != delim) ;
      else nx[j] = cur[j-1] && (n == ch || (j <= inbox && (ch & ~0x20) == n)) ;
    }
    t = cur ; cur = nx ; nx = t ;
  }
  return cur[nlen] ;
}
