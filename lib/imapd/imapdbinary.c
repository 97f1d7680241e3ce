/* imap-mailbox: FETCH BINARY[part]<partial>, BINARY.PEEK and BINARY.SIZE
   (RFC 3516, RFC 9051 6.4.5, 7.5.2). A part in the identity encoding is
   streamed as BODY[part] is; a base64 or quoted-printable one is decoded
   in memory (lib/mime/mimebin.h), as large as the part at most. The
   answer is a literal8 when the content sent has a NUL. */
#include <string.h>
#include "mime/mimebin.h"
#include "imapd/imapd.h"

int imapd_binary_check (mime_msg const *m, imapfetch const *f)
{
  for (unsigned k = 0 ; k < f->nsec ; k++)
  {
    long part ;
    if (f->sec[k].kind != IMAPSEC_BODY && mime_binary_part(m, f->sec[k].part, f->sec[k].nparts, &part) == MIMEBIN_UNKNOWN)
      return 0 ;
  }
  return 1 ;
}

/* The slice [*from, *from + *n) of size octets that sec asks for. */
static void slice (imapfetch_sec const *sec, uint64_t size, uint64_t *from, uint64_t *n)
{
  *from = 0 ; *n = size ;
  if (!sec->partial) return ;
  *from = sec->off < size ? sec->off : size ;
  *n = size - *from ;
  if (*n > sec->len) *n = sec->len ;
}

/* A part (or the message, part < 0) as it is, in its CRLF form. */
static void identity (imapd *d, mime_msg const *m, long part, imapfetch_sec const *sec)
{
  size_t a = part < 0 ? 0 : m->p[part].body, b = part < 0 ? m->len : m->p[part].end ;
  mime_sect r = { .off = a, .len = b - a, .gen = 0, .size = mime_crlfsize(m, a, b) } ;
  uint64_t from, n ;
  if (sec->kind == IMAPSEC_BINSIZE) { imapd_putu(d, r.size) ; return ; }
  slice(sec, r.size, &from, &n) ;
  /* a NUL anywhere in the part: the slice may hold one (CR/LF do not move it far) */
  imapd_literal(d, m, &r, 0, from, n, !!memchr(m->s + a, 0, b - a)) ;
}

void imapd_binary (imapd *d, mime_msg const *m, char const *name, imapfetch_sec const *sec)
{
  stralloc dec = STRALLOC_ZERO ;
  uint64_t from, n ;
  long part ;
  int enc = mime_binary_part(m, sec->part, sec->nparts, &part) ;
  imapd_puts(d, name) ;
  imapd_puts(d, " ") ;
  /* no such part (checked: not an unknown encoding): empty, as BODY[] */
  if (enc < 0 || enc == MIMEBIN_UNKNOWN) { imapd_puts(d, sec->kind == IMAPSEC_BINSIZE ? "0" : "\"\"") ; return ; }
  if (enc == MIMEBIN_IDENT) { identity(d, m, part, sec) ; return ; }
  if (!mime_binary_decode(&dec, m, part, enc)) imapd_nomem(d) ;
  if (sec->kind == IMAPSEC_BINSIZE) imapd_putu(d, dec.len) ;
  else
  {
    slice(sec, dec.len, &from, &n) ;
    imapd_puts(d, n && memchr(dec.s + from, 0, n) ? "~{" : "{") ;
    imapd_putu(d, n) ;
    imapd_puts(d, "}\r\n") ;
    if (n) imapd_put(d, dec.s + from, n) ;
  }
  stralloc_free(&dec) ;
}
