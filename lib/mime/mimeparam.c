#include <string.h>
#include <skalibs/stralloc.h>
#include "mime/mimeparam.h"

static int is_tspecial(unsigned char c)
{
  return c <= ' ' || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c);
}

size_t mimeparam_cfws(char const *s, size_t len, size_t pos)
{
  unsigned int depth = 0;
  while (pos < len) {
    char c = s[pos];
    if (depth) {
      if (c == '\\' && pos + 1 < len) pos++;
      else if (c == '(' && depth < 100) depth++;
      else if (c == ')') depth--;
    } else if (c == '(') depth = 1;
    else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
    pos++;
  }
  return pos;
}

int mimeparam_token(char const *s, size_t len, size_t *pos, size_t *tok, size_t *toklen)
{
  size_t p = mimeparam_cfws(s, len, *pos), a = p;
  while (p < len && !is_tspecial(s[p])) p++;
  if (p == a) return 0;
  *tok = a; *toklen = p - a; *pos = p;
  return 1;
}

typedef struct {
  size_t n, nl, v, vl ;   /* base name and value, offsets in the scratch */
  int seg ;               /* RFC 2231 index, -1 none */
  int ext ;               /* charset'lang'%XX form */
  int rfc2231 ;
} rawp ;

/* A value into t: quoted (unquoted here) or up to ';' / '('. */
static size_t scan_value(stralloc *t, char const *s, size_t len, size_t pos, int *ok)
{
  *ok = 1;
  if (pos < len && s[pos] == '"') {
    for (pos++; pos < len && s[pos] != '"'; pos++) {
      if (s[pos] == '\\' && pos + 1 < len) pos++;
      else if (s[pos] == '\r' || s[pos] == '\n') continue;
      if (!stralloc_catb(t, s + pos, 1)) { *ok = 0; return pos; }
    }
    return pos < len ? pos + 1 : pos;
  }
  size_t a = pos, e;
  while (pos < len && s[pos] != ';' && s[pos] != '(') pos++;
  for (e = pos; e > a && strchr(" \t\r\n", s[e - 1]); e--) ;
  if (!stralloc_catb(t, s + a, e - a)) *ok = 0;
  return pos;
}

/* name[*N][*] into base name (lower-cased, in t), index, extended. */
static int split_name(stralloc *t, rawp *r, char const *s, size_t n)
{
  size_t bl = n;
  r->seg = -1; r->ext = 0; r->rfc2231 = 0;
  if (bl && s[bl - 1] == '*') { r->ext = 1; r->rfc2231 = 1; bl--; }
  size_t st = bl;
  while (st && s[st - 1] >= '0' && s[st - 1] <= '9') st--;
  if (st < bl && st && s[st - 1] == '*' && bl - st <= 3) {
    int v = 0;
    for (size_t i = st; i < bl; i++) v = v * 10 + (s[i] - '0');
    if (v < MIMEPARAM_SEGMAX) { r->seg = v; r->rfc2231 = 1; bl = st - 1; }
  }
  r->n = t->len; r->nl = bl;
  for (size_t i = 0; i < bl; i++) {
    char c = s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i];
    if (!stralloc_catb(t, &c, 1)) return 0;
  }
  return 1;
}

/* The raw parameters of s[pos..len): count, or -1 ENOMEM. */
static int scan(stralloc *t, rawp *r, char const *s, size_t len, size_t pos)
{
  int n = 0;
  while (n < MIMEPARAM_MAX) {
    pos = mimeparam_cfws(s, len, pos);
    if (pos >= len) break;
    if (s[pos] != ';') {             /* junk: resynchronise at the next ';' */
      char const *q = memchr(s + pos, ';', len - pos);
      if (!q) break;
      pos = q - s;
    }
    size_t nm, nl, a;
    pos++;
    if (!mimeparam_token(s, len, &pos, &nm, &nl)) continue;
    pos = mimeparam_cfws(s, len, pos);
    if (pos >= len || s[pos] != '=') continue;
    pos = mimeparam_cfws(s, len, pos + 1);
    if (!split_name(t, r + n, s + nm, nl)) return -1;
    a = t->len;
    int ok;
    pos = scan_value(t, s, len, pos, &ok);
    if (!ok) return -1;
    r[n].v = a; r[n].vl = t->len - a;
    n++;
  }
  return n;
}

static int same(stralloc const *t, rawp const *a, rawp const *b)
{
  return a->nl == b->nl && a->rfc2231 == b->rfc2231 && !memcmp(t->s + a->n, t->s + b->n, a->nl);
}

static int attrchar(unsigned char c)
{
  return !is_tspecial(c) && c != '*' && c != '\'' && c != '%';
}

/* Join the RFC 2231 group of r[i] (in index order) into sa as a value. */
static int join(stralloc *sa, stralloc const *t, rawp const *r, int n, int i, int anyext)
{
  int done[MIMEPARAM_MAX] = { 0 };
  for (int k = 0; k < n; k++) {
    int best = -1;
    for (int j = i; j < n; j++)
      if (!done[j] && same(t, r + i, r + j) && (best < 0 || r[j].seg < r[best].seg)) best = j;
    if (best < 0) break;
    done[best] = 1;
    char const *v = t->s + r[best].v;
    if (!k && anyext && !r[best].ext && !stralloc_cats(sa, "''")) return 0;
    if (r[best].ext || !anyext) { if (!stralloc_catb(sa, v, r[best].vl)) return 0; continue; }
    for (size_t x = 0; x < r[best].vl; x++) {
      char b[3] = { '%', "0123456789ABCDEF"[(unsigned char)v[x] >> 4], "0123456789ABCDEF"[v[x] & 15] };
      if (!(attrchar(v[x]) ? stralloc_catb(sa, v + x, 1) : stralloc_catb(sa, b, 3))) return 0;
    }
  }
  return 1;
}

int mimeparam_list(stralloc *sa, char const *s, size_t len, size_t pos)
{
  stralloc t = STRALLOC_ZERO;
  rawp r[MIMEPARAM_MAX];
  int n = scan(&t, r, s, len, pos), count = 0;
  size_t len0 = sa->len;
  if (n < 0) goto nomem;
  for (int i = 0; i < n; i++) {
    int seen = 0, anyext = 0;
    for (int j = 0; j < i && !seen; j++) seen = same(&t, r + i, r + j);
    if (seen) continue;
    for (int j = i; j < n; j++) if (same(&t, r + i, r + j)) anyext |= r[j].ext;
    if (!stralloc_catb(sa, t.s + r[i].n, r[i].nl)
        || (anyext && !stralloc_catb(sa, "*", 1)) || !stralloc_0(sa)) goto nomem;
    if (!r[i].rfc2231 ? !stralloc_catb(sa, t.s + r[i].v, r[i].vl) : !join(sa, &t, r, n, i, anyext)) goto nomem;
    if (!stralloc_0(sa)) goto nomem;
    count++;
  }
  stralloc_free(&t);
  return count;
nomem:
  stralloc_free(&t);
  sa->len = len0;
  return -1;
}

static int hexval(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int mimeparam_get(stralloc *sa, char const *s, size_t len, size_t pos, char const *name)
{
  stralloc l = STRALLOC_ZERO;
  size_t nl = strlen(name), found = (size_t)-1;
  int n = mimeparam_list(&l, s, len, pos), ext = 0, r = 0;
  if (n < 0) return -1;
  for (size_t i = 0; n-- > 0; ) {
    size_t kl = strlen(l.s + i), v = i + kl + 1;
    if (kl == nl + 1 && !memcmp(l.s + i, name, nl) && l.s[i + nl] == '*') { found = v; ext = 1; }
    else if (kl == nl && !memcmp(l.s + i, name, nl) && found == (size_t)-1) found = v;
    i = v + strlen(l.s + v) + 1;
  }
  if (found != (size_t)-1) {
    char const *v = l.s + found;
    size_t vl = strlen(v), i = 0;
    r = 1;
    if (ext) {                       /* skip charset'language' */
      char const *q = memchr(v, '\'', vl), *q2 = q ? memchr(q + 1, '\'', vl - (q + 1 - v)) : 0;
      if (q2) i = q2 + 1 - v;
    }
    for (; i < vl && r > 0; i++) {
      char c = v[i];
      if (ext && c == '%' && i + 2 < vl && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
        c = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2])); i += 2;
      }
      if (!stralloc_catb(sa, &c, 1)) r = -1;
    }
  }
  stralloc_free(&l);
  return r;
}
