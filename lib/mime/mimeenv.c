#include <string.h>
#include "hdr.h"
#include "mime/mimeenv.h"
#include "mime/mimeaddr.h"
#include "mime/mimestr.h"

enum { E_DATE, E_SUBJECT, E_FROM, E_SENDER, E_REPLYTO, E_TO, E_CC, E_BCC, E_INREPLYTO, E_MSGID, E_N };
static char const *const envname[E_N] = {
  "date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc", "in-reply-to", "message-id",
};

static size_t hdrlen(mime_part const *p)
{
  size_t hl = p->body - p->hdr;
  return hl > MIME_HDR_MAX ? MIME_HDR_MAX : hl;
}

int mime_field(mime_msg const *m, uint32_t i, char const *name, mime_range *r)
{
  mime_part const *p = m->p + i;
  size_t pos = 0;
  hdr_field f;
  while (hdr_next(m->s + p->hdr, hdrlen(p), &pos, &f))
    if (hdr_is(&f, name)) { *r = (mime_range){ (size_t)(f.value - m->s), f.valuelen }; return 1; }
  return 0;
}

int mime_unfold(stralloc *sa, mime_msg const *m, mime_range r)
{
  char const *s = m->s + r.off;
  size_t a = 0, b = r.len;
  while (a < b && strchr(" \t\r\n", s[a])) a++;
  while (b > a && strchr(" \t\r\n", s[b - 1])) b--;
  for (size_t i = a; i < b; ) {
    size_t j = i;
    while (j < b && s[j] != '\r' && s[j] != '\n') j++;
    if (!stralloc_catb(sa, s + i, j - i)) return 0;
    while (j < b && (s[j] == '\r' || s[j] == '\n')) j++;
    i = j;
  }
  return 1;
}

static int str_field(stralloc *sa, stralloc *t, mime_msg const *m, mime_range const *r)
{
  if (!r->len && !r->off) return stralloc_cats(sa, "NIL");
  t->len = 0;
  return mime_unfold(t, m, *r) && mimestr_string(sa, t->s ? t->s : "", t->len);
}

int mime_envelope(stralloc *sa, mime_msg const *m, uint32_t i)
{
  mime_part const *p = m->p + i;
  mime_range r[E_N];
  stralloc t = STRALLOC_ZERO;
  size_t pos = 0, len0 = sa->len;
  hdr_field f;
  int ok = 1, got = 0;
  memset(r, 0, sizeof r);
  while (got < E_N && hdr_next(m->s + p->hdr, hdrlen(p), &pos, &f))
    for (int k = 0; k < E_N; k++)
      if (!r[k].off && hdr_is(&f, envname[k])) { r[k] = (mime_range){ (size_t)(f.value - m->s), f.valuelen }; got++; break; }
  ok = stralloc_catb(sa, "(", 1) && str_field(sa, &t, m, r + E_DATE) && stralloc_catb(sa, " ", 1)
    && str_field(sa, &t, m, r + E_SUBJECT);
  for (int k = E_FROM; ok && k <= E_BCC; k++) {
    size_t at = sa->len;
    int n;
    ok = stralloc_catb(sa, " ", 1);
    n = ok && r[k].off ? mimeaddr_list(sa, m->s + r[k].off, r[k].len) : ok ? (stralloc_cats(sa, "NIL") ? 0 : -1) : -1;
    if (n < 0) ok = 0;
    else if (!n && (k == E_SENDER || k == E_REPLYTO)) {
      sa->len = at + 1;
      ok = r[E_FROM].off ? mimeaddr_list(sa, m->s + r[E_FROM].off, r[E_FROM].len) >= 0 : stralloc_cats(sa, "NIL");
    }
  }
  ok = ok && stralloc_catb(sa, " ", 1) && str_field(sa, &t, m, r + E_INREPLYTO) && stralloc_catb(sa, " ", 1)
    && str_field(sa, &t, m, r + E_MSGID) && stralloc_catb(sa, ")", 1);
  stralloc_free(&t);
  if (!ok) sa->len = len0;
  return ok;
}
