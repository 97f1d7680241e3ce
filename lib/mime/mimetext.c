#include "mime/mimetext.h"
#include "mime/mimeparam.h"
#include "mime/mimeword.h"

int mime_decode(stralloc *sa, mime_msg const *m, uint32_t i, size_t max)
{
  mime_part const *p = m->p + i;
  size_t n = p->end - p->body, q = p->f[MIME_F_CTE].off, t, tl;
  char const *s = m->s + p->body;
  if (n > max) n = max;
  if (p->f[MIME_F_CTE].len && mimeparam_token(m->s, q + p->f[MIME_F_CTE].len, &q, &t, &tl)) {
    mime_range r = { t, tl };
    if (mime_is(m, r, "base64")) return mime_unbase64(sa, s, n);
    if (mime_is(m, r, "quoted-printable")) return mime_unqp(sa, s, n, 0);
  }
  return stralloc_catb(sa, s, n);
}

static int leaf(stralloc *sa, mime_msg const *m, uint32_t i, size_t max)
{
  mime_part const *p = m->p + i;
  stralloc raw = STRALLOC_ZERO, cs = STRALLOC_ZERO;
  int ok = mime_decode(&raw, m, i, max), r = 0;
  if (ok && !(p->flags & MIME_DEFTYPE))
    r = mimeparam_get(&cs, m->s, p->f[MIME_F_TYPE].off + p->f[MIME_F_TYPE].len, p->params, "charset");
  if (r < 0) ok = 0;
  if (raw.len > max) raw.len = max;
  if (ok) {
    int c = r > 0 ? mime_charset(sa, cs.s ? cs.s : "", cs.len, raw.s ? raw.s : "", raw.len) : 0;
    if (c < 0) ok = 0;
    else if (!c) ok = stralloc_catb(sa, raw.s ? raw.s : "", raw.len);
  }
  ok = ok && stralloc_catb(sa, "\n", 1);
  stralloc_free(&raw); stralloc_free(&cs);
  return ok;
}

int mime_text(stralloc *sa, mime_msg const *m, uint32_t i, size_t max)
{
  size_t start = sa->len;
  uint32_t stop = i;
  /* preorder walk of i's subtree, without recursion */
  for (uint32_t k = i;;) {
    mime_part const *p = m->p + k;
    if (sa->len - start >= max) break;
    if (p->kind == MIME_LEAF && (p->flags & MIME_TEXT)) {
      if (!leaf(sa, m, k, max - (sa->len - start))) return 0;
      if (sa->len - start > max) sa->len = start + max;
    }
    if (p->child) { k = p->child; continue; }
    while (k != stop && !m->p[k].next) k = m->p[k].parent;
    if (k == stop) break;
    k = m->p[k].next;
  }
  return 1;
}
