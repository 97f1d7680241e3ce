/* BINARY sections: see mimebin.h. */
#include "mime/mimebin.h"
#include "mime/mimeparam.h"
#include "mime/mimesect.h"
#include "mime/mimeword.h"

int mime_cte (mime_msg const *m, uint32_t i)
{
  mime_part const *p = m->p + i ;
  size_t q = p->f[MIME_F_CTE].off, t, tl ;
  mime_range r ;
  if (!p->f[MIME_F_CTE].len) return MIMEBIN_IDENT ;
  /* an empty or unparsable value counts as absent (RFC 2045 6.1 default) */
  if (!mimeparam_token(m->s, q + p->f[MIME_F_CTE].len, &q, &t, &tl)) return MIMEBIN_IDENT ;
  r.off = t ; r.len = tl ;
  if (mime_is(m, r, "7bit") || mime_is(m, r, "8bit") || mime_is(m, r, "binary")) return MIMEBIN_IDENT ;
  if (mime_is(m, r, "base64")) return MIMEBIN_BASE64 ;
  if (mime_is(m, r, "quoted-printable")) return MIMEBIN_QP ;
  return MIMEBIN_UNKNOWN ;
}

int mime_binary_part (mime_msg const *m, uint32_t const *nums, unsigned n, long *part)
{
  int ismsg ;
  if (!n) { *part = -1 ; return MIMEBIN_IDENT ; }
  *part = mime_find(m, nums, n, &ismsg) ;
  if (*part < 0) return -1 ;
  return mime_cte(m, *part) ;
}

int mime_binary_decode (stralloc *sa, mime_msg const *m, long part, int enc)
{
  mime_part const *p = m->p + part ;
  stralloc crlf = STRALLOC_ZERO ;
  mime_sect r = { .off = p->body, .len = p->end - p->body, .gen = 0, .size = 0 } ;
  int ok ;
  if (enc == MIMEBIN_BASE64)   /* room made once: the decoder appends octet by octet */
    return stralloc_readyplus(sa, (p->end - p->body) / 4 * 3 + 3) && mime_unbase64(sa, m->s + p->body, p->end - p->body) ;
  r.size = mime_crlfsize(m, p->body, p->end) ;
  ok = mime_section_cat(&crlf, m, &r, 0, 0, r.size) && mime_unqp(sa, crlf.s ? crlf.s : "", crlf.len, 0) ;
  stralloc_free(&crlf) ;
  return ok ;
}
