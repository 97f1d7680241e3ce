#include <string.h>
#include <skalibs/bytestr.h>
#include "dkim/canon.h"

static int is_wsp(char c) { return c == ' ' || c == '\t'; }

static int canon_simple(stralloc *sa, char const *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\n') {
      if (!stralloc_catb(sa, "\r\n", 2)) return 0;
    } else if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
      continue;                     /* the LF adds the CRLF */
    } else if (!stralloc_catb(sa, s + i, 1)) return 0;
  }
  return stralloc_catb(sa, "\r\n", 2);
}

/* Unfold, runs of WSP to one space, no WSP at either end. */
static int relaxed_value(stralloc *sa, char const *s, size_t n)
{
  int sp = 0, any = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '\n' || (c == '\r' && i + 1 < n && s[i + 1] == '\n')) continue;
    if (is_wsp(c)) { sp = 1; continue; }
    if (sp && any && !stralloc_catb(sa, " ", 1)) return 0;
    if (!stralloc_catb(sa, &c, 1)) return 0;
    sp = 0; any = 1;
  }
  return 1;
}

static int relaxed(stralloc *sa, hdr_field const *f, char const *v, size_t vlen,
                   char const *v2, size_t v2len)
{
  size_t start = sa->len;
  if (!stralloc_catb(sa, f->name, f->namelen)) return 0;
  for (size_t i = start; i < sa->len; i++)
    if (sa->s[i] >= 'A' && sa->s[i] <= 'Z') sa->s[i] += 'a' - 'A';
  if (!stralloc_catb(sa, ":", 1)) return 0;
  /* the two parts around a cut joined first: WSP runs may span the cut */
  stralloc tmp = STRALLOC_ZERO;
  int ok = stralloc_catb(&tmp, v, vlen) && stralloc_catb(&tmp, v2, v2len)
        && relaxed_value(sa, tmp.s, tmp.len) && stralloc_catb(sa, "\r\n", 2);
  stralloc_free(&tmp);
  return ok;
}

int dkim_canon_header(stralloc *sa, int relax, hdr_field const *f, size_t cutfrom, size_t cutto)
{
  char const *v = f->value;
  size_t a = cutfrom < f->valuelen ? cutfrom : f->valuelen;
  size_t b = cutto > a ? (cutto < f->valuelen ? cutto : f->valuelen) : a;
  if (relax) return relaxed(sa, f, v, a, v + b, f->valuelen - b);
  /* simple: the raw field, name and blanks before the colon included */
  size_t head = v - f->name;
  stralloc tmp = STRALLOC_ZERO;
  int ok = stralloc_catb(&tmp, f->name, head + a) && stralloc_catb(&tmp, v + b, f->valuelen - b)
        && canon_simple(sa, tmp.s, tmp.len);
  stralloc_free(&tmp);
  return ok;
}

/* -- body -------------------------------------------------------------- */

struct bodyout { br_sha256_context *h; uint64_t limit, total; };

static void out(struct bodyout *o, char const *s, size_t n)
{
  if (o->total < o->limit) {
    uint64_t room = o->limit - o->total;
    br_sha256_update(o->h, s, n < room ? n : (size_t)room);
  }
  o->total += n;
}

/* One line's content (no line end), relaxed: WSP runs to one space,
   none at the end. */
static size_t relaxed_line(struct bodyout *o, char const *s, size_t n, int emit)
{
  size_t len = 0, i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && !is_wsp(s[j])) j++;
    if (emit) out(o, s + i, j - i);
    len += j - i;
    i = j;
    while (j < n && is_wsp(s[j])) j++;
    if (j > i && j < n) { if (emit) out(o, " ", 1); len++; }
    i = j;
  }
  return len;
}

void dkim_canon_body(br_sha256_context *h, int relax, char const *body, size_t len,
                     uint64_t limit, uint64_t *total)
{
  struct bodyout o = { h, limit, 0 };
  uint64_t empty = 0;   /* empty lines not yet known to be inside the body */
  size_t pos = 0;
  while (pos < len) {
    size_t eol = pos + byte_chr(body + pos, len - pos, '\n'), n = eol - pos;
    if (eol < len && n && body[eol - 1] == '\r') n--;
    int blank = relax ? !relaxed_line(&o, body + pos, n, 0) : !n;
    if (!blank) {
      for (; empty; empty--) out(&o, "\r\n", 2);
      if (relax) relaxed_line(&o, body + pos, n, 1);
      else out(&o, body + pos, n);
      out(&o, "\r\n", 2);
    } else empty++;
    pos = eol < len ? eol + 1 : len;
  }
  if (!relax && !o.total) out(&o, "\r\n", 2);   /* §3.4.3: an empty body is CRLF */
  *total = o.total;
}
