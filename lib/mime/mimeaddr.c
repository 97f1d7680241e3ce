#include <string.h>
#include "mime/mimeaddr.h"
#include "mime/mimestr.h"

enum { T_END, T_ATOM, T_QSTR, T_COMMENT, T_DLIT, T_SPECIAL };
typedef struct { char const *s ; size_t n, pos ; } lexer ;
typedef struct { int type ; char c ; size_t a, b ; } token ;  /* s[a..b) raw */

static int is_special(char c) { return strchr("()<>[]:;@\\,\"", c) != 0; }
static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static token next(lexer *l)
{
  char const *s = l->s;
  token t = { T_END, 0, l->pos, l->pos };
  while (l->pos < l->n && is_blank(s[l->pos])) l->pos++;
  if (l->pos >= l->n) return t;
  size_t p = l->pos;
  t.a = p;
  char c = s[p];
  if (c == '"' || c == '(' || c == '[') {
    unsigned int depth = 1;
    char close = c == '"' ? '"' : c == '(' ? ')' : ']';
    for (p++; p < l->n && depth; p++) {
      if (s[p] == '\\' && p + 1 < l->n) p++;
      else if (s[p] == close) depth--;
      else if (c == '(' && s[p] == '(' && depth < MIMEADDR_NEST) depth++;
    }
    t.type = c == '"' ? T_QSTR : c == '(' ? T_COMMENT : T_DLIT;
  } else if (is_special(c)) { t.type = T_SPECIAL; t.c = c; p++; }
  else {
    while (p < l->n && !is_special(s[p]) && !is_blank(s[p])) p++;
    t.type = T_ATOM;
  }
  t.b = l->pos = p;
  return t;
}

typedef struct {
  stralloc name, adl, local, dom, comment ;
  int words, hasname ;
} addr ;

/* Quoted string or comment content: escapes and line ends removed. */
static int cat_inner(stralloc *sa, char const *s, token t)
{
  size_t a = t.a + 1, b = t.b;
  char *o;
  if (b > a && (s[b - 1] == '"' || s[b - 1] == ')')) b--;
  if (!stralloc_readyplus(sa, b > a ? b - a : 0)) return 0;
  o = sa->s + sa->len;
  for (size_t i = a; i < b; i++) {
    if (s[i] == '\r' || s[i] == '\n') continue;
    if (s[i] == '\\' && i + 1 < b) i++;
    *o++ = s[i];
  }
  sa->len = o - sa->s;
  return 1;
}

static int emit(stralloc *sa, char const *name, size_t nl, char const *adl, size_t al,
                char const *mbox, size_t ml, char const *host, size_t hl)
{
  return stralloc_catb(sa, "(", 1) && mimestr_nstring(sa, name, nl) && stralloc_catb(sa, " ", 1)
      && mimestr_nstring(sa, adl, al) && stralloc_catb(sa, " ", 1)
      && mimestr_nstring(sa, mbox, ml) && stralloc_catb(sa, " ", 1)
      && mimestr_nstring(sa, host, hl) && stralloc_catb(sa, ")", 1);
}

static int emit_addr(stralloc *sa, addr *x)
{
  char const *name = x->name.len ? x->name.s : x->comment.len ? x->comment.s : 0;
  size_t nl = x->name.len ? x->name.len : x->comment.len;
  if (!x->dom.len && !stralloc_cats(&x->dom, "MISSING_DOMAIN")) return 0;
  return emit(sa, name, nl, x->adl.len ? x->adl.s : 0, x->adl.len,
              x->local.s ? x->local.s : "", x->local.len, x->dom.s, x->dom.len);
}

/* <[@route,...:]local@domain> after '<' */
static void angle(lexer *l, addr *x)
{
  stralloc *cur = &x->local;
  int inroute = 0;
  x->local.len = 0;
  for (;;) {
    size_t save = l->pos;
    token t = next(l);
    if (t.type == T_END) return;
    if (t.type == T_COMMENT) continue;
    if (t.type == T_SPECIAL) {
      if (t.c == '>') return;
      if (t.c == ',' && !inroute) { l->pos = save; return; }   /* missing '>' */
      if (t.c == '@' && cur == &x->local && !x->local.len) { inroute = 1; cur = &x->adl; }
      else if (t.c == ':' && inroute) { inroute = 0; cur = &x->local; continue; }
      else if (t.c == '@') { if (!inroute) { cur = &x->dom; continue; } }
      else if (t.c == ';') { l->pos = save; return; }
    }
    if (!stralloc_catb(cur, l->s + t.a, t.b - t.a)) return;
  }
}

int mimeaddr_list(stralloc *sa, char const *s, size_t n)
{
  lexer l = { s, n, 0 };
  addr x = { STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO, 0, 0 };
  size_t len0 = sa->len;
  int count = 0, ingroup = 0, done = 0, ok = 1;
  if (!stralloc_catb(sa, "(", 1)) return -1;
  while (!done && ok && count < MIMEADDR_MAX) {
    int had_at = 0, emitted = 0;
    x.name.len = x.adl.len = x.local.len = x.dom.len = x.comment.len = 0;
    x.words = 0;
    for (;;) {
      token t = next(&l);
      if (t.type == T_END) { done = 1; break; }
      if (t.type == T_COMMENT) { x.comment.len = 0; ok = cat_inner(&x.comment, s, t); continue; }
      if (t.type == T_ATOM || t.type == T_QSTR || t.type == T_DLIT) {
        if (had_at == 2) continue;             /* junk after '>' */
        stralloc *raw = had_at ? &x.dom : &x.local;
        if (!had_at) {
          if (x.words++ && !stralloc_catb(&x.name, " ", 1)) ok = 0;
          if (t.type == T_QSTR ? !cat_inner(&x.name, s, t) : !stralloc_catb(&x.name, s + t.a, t.b - t.a)) ok = 0;
        }
        if (!stralloc_catb(raw, s + t.a, t.b - t.a)) ok = 0;
        continue;
      }
      if (t.c == '<') {
        angle(&l, &x);
        if (!x.words) x.name.len = 0;
        x.comment.len = 0;
        had_at = 2;
        continue;
      }
      if (t.c == '@' && !had_at) { had_at = 1; x.name.len = 0; continue; }
      if (t.c == ':' && !ingroup && !had_at) {
        /* the group's name, "" rather than NIL: NIL would end a group */
        if (!(ok = emit(sa, 0, 0, 0, 0, x.name.s ? x.name.s : "", x.name.len, 0, 0))) break;
        count++; ingroup = 1; emitted = 1;
        break;
      }
      if (t.c == ',' || t.c == ';') {
        if (t.c == ';' && ingroup) {
          if (!had_at) x.name.len = 0;
          if (x.local.len && !(ok = emit_addr(sa, &x))) break;
          count += !!x.local.len;
          ok = emit(sa, 0, 0, 0, 0, 0, 0, 0, 0);
          count++; ingroup = 0; emitted = 1;
        }
        break;
      }
    }
    if (!had_at) x.name.len = 0;             /* a bare local part has no name */
    if (!emitted && ok && (x.local.len || x.dom.len)) { ok = emit_addr(sa, &x); count++; }
  }
  if (ok && ingroup) {                       /* an unclosed group is closed */ ok = emit(sa, 0, 0, 0, 0, 0, 0, 0, 0); count++; }
  stralloc_free(&x.name); stralloc_free(&x.adl); stralloc_free(&x.local);
  stralloc_free(&x.dom); stralloc_free(&x.comment);
  if (!ok) { sa->len = len0; return -1; }
  if (!count) { sa->len = len0; return stralloc_cats(sa, "NIL") ? 0 : -1; }
  return stralloc_catb(sa, ")", 1) ? count : -1;
}
