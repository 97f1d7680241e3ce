#include <string.h>
#include <stdio.h>
#include "mime/mimebs.h"
#include "mime/mimeenv.h"
#include "mime/mimeparam.h"
#include "mime/mimestr.h"

static int sp(stralloc *sa) { return stralloc_catb(sa, " ", 1); }

static int num(stralloc *sa, uint64_t n)
{
  char b[24];
  int k = snprintf(b, sizeof b, "%llu", (unsigned long long)n);
  return stralloc_catb(sa, b, k);
}

/* ("name" "value" ...) or NIL, from s[pos..end) */
static int params(stralloc *sa, mime_msg const *m, size_t pos, size_t end)
{
  stralloc l = STRALLOC_ZERO;
  int n = mimeparam_list(&l, m->s, end, pos), ok = n >= 0;
  if (ok && !n) ok = stralloc_cats(sa, "NIL");
  for (size_t i = 0, k = 0; ok && k < (size_t)n; k++) {
    size_t nl = strlen(l.s + i), v = i + nl + 1, vl = strlen(l.s + v);
    ok = stralloc_cats(sa, k ? " " : "(") && mimestr_string(sa, l.s + i, nl) && sp(sa)
      && mimestr_string(sa, l.s + v, vl);
    i = v + vl + 1;
  }
  if (ok && n > 0) ok = stralloc_catb(sa, ")", 1);
  stralloc_free(&l);
  return ok;
}

/* an unfolded field value as a string, or NIL */
static int nfield(stralloc *sa, mime_msg const *m, mime_range r)
{
  stralloc t = STRALLOC_ZERO;
  int ok = !r.len ? stralloc_cats(sa, "NIL") : mime_unfold(&t, m, r) && mimestr_string(sa, t.s ? t.s : "", t.len);
  stralloc_free(&t);
  return ok;
}

static int fields(stralloc *sa, mime_msg const *m, mime_part const *p)
{
  int ok;
  if (p->flags & MIME_OPAQUE) ok = stralloc_cats(sa, "NIL");
  else if (p->flags & MIME_DEFTYPE) ok = stralloc_cats(sa, p->flags & MIME_DIGEST ? "NIL" : "(\"charset\" \"us-ascii\")");
  else ok = params(sa, m, p->params, p->f[MIME_F_TYPE].off + p->f[MIME_F_TYPE].len);
  ok = ok && sp(sa) && nfield(sa, m, p->f[MIME_F_ID]) && sp(sa) && nfield(sa, m, p->f[MIME_F_DESC]) && sp(sa);
  size_t q = p->f[MIME_F_CTE].off, t, tl;
  if (ok && p->f[MIME_F_CTE].len && mimeparam_token(m->s, q + p->f[MIME_F_CTE].len, &q, &t, &tl))
    ok = mimestr_string(sa, m->s + t, tl);
  else if (ok) ok = stralloc_cats(sa, "\"7BIT\"");
  return ok && sp(sa) && num(sa, mime_crlfsize(m, p->body, p->end));
}

static int disposition(stralloc *sa, mime_msg const *m, mime_range r)
{
  size_t q = r.off, t, tl;
  if (!r.len || !mimeparam_token(m->s, r.off + r.len, &q, &t, &tl)) return stralloc_cats(sa, "NIL");
  return stralloc_catb(sa, "(", 1) && mimestr_lower(sa, m->s + t, tl) && sp(sa)
      && params(sa, m, q, r.off + r.len) && stralloc_catb(sa, ")", 1);
}

/* Content-Language: one tag as a string, several as a list. */
static int language(stralloc *sa, mime_msg const *m, mime_range r)
{
  size_t q = r.off, end = r.off + r.len, t[16], tl[16], n = 0;
  while (n < 16) {
    q = mimeparam_cfws(m->s, end, q);
    if (q < end && m->s[q] == ',') { q++; continue; }
    size_t a = q;
    while (q < end && !strchr(" \t\r\n,(", m->s[q])) q++;
    if (q == a) break;
    t[n] = a; tl[n++] = q - a;
  }
  if (!n) return stralloc_cats(sa, "NIL");
  if (n == 1) return mimestr_string(sa, m->s + t[0], tl[0]);
  int ok = 1;
  for (size_t i = 0; ok && i < n; i++) ok = stralloc_cats(sa, i ? " " : "(") && mimestr_string(sa, m->s + t[i], tl[i]);
  return ok && stralloc_catb(sa, ")", 1);
}

static int extension(stralloc *sa, mime_msg const *m, mime_part const *p)
{
  return sp(sa) && disposition(sa, m, p->f[MIME_F_DISP]) && sp(sa) && language(sa, m, p->f[MIME_F_LANG])
      && sp(sa) && nfield(sa, m, p->f[MIME_F_LOC]);
}

static int type(stralloc *sa, mime_msg const *m, mime_part const *p)
{
  if (p->flags & MIME_OPAQUE) return stralloc_cats(sa, "\"application\" \"octet-stream\"");
  if (p->flags & MIME_DIGEST) return stralloc_cats(sa, "\"message\" \"rfc822\"");
  if (p->flags & MIME_DEFTYPE) return stralloc_cats(sa, "\"text\" \"plain\"");
  return mimestr_lower(sa, m->s + p->type.off, p->type.len) && sp(sa)
      && mimestr_lower(sa, m->s + p->subtype.off, p->subtype.len);
}

int mime_bodystructure(stralloc *sa, mime_msg const *m, uint32_t i, int ext)
{
  mime_part const *p = m->p + i;
  size_t len0 = sa->len;
  int ok = stralloc_catb(sa, "(", 1);
  if (p->kind == MIME_MULTI) {
    for (uint32_t k = p->child; ok && k; k = m->p[k].next) ok = mime_bodystructure(sa, m, k, ext);
    ok = ok && sp(sa) && mimestr_lower(sa, m->s + p->subtype.off, p->subtype.len);
    if (ok && ext)
      ok = sp(sa) && params(sa, m, p->params, p->f[MIME_F_TYPE].off + p->f[MIME_F_TYPE].len) && extension(sa, m, p);
  } else {
    ok = ok && type(sa, m, p) && sp(sa) && fields(sa, m, p);
    if (ok && p->kind == MIME_MSG)
      ok = sp(sa) && mime_envelope(sa, m, p->child) && sp(sa) && mime_bodystructure(sa, m, p->child, ext);
    if (ok && (p->kind == MIME_MSG || (p->flags & MIME_TEXT)))
      ok = sp(sa) && num(sa, mime_lines(m, p->body, p->end));
    if (ok && ext) ok = sp(sa) && nfield(sa, m, p->f[MIME_F_MD5]) && extension(sa, m, p);
  }
  ok = ok && stralloc_catb(sa, ")", 1);
  if (!ok) sa->len = len0;
  return ok;
}
