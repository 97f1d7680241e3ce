/* The cached header fields (imapcachehdr.h). */
#include <strings.h>
#include "hdr.h"
#include "imapcache/imapcachehdr.h"

static char const *const names[] = {
  "date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id",
  "in-reply-to", "references", "content-type", "priority", "x-priority", "importance",
  "newsgroups", "list-id", "list-post", "list-unsubscribe", "x-mailer", "user-agent",
  "disposition-notification-to", "return-receipt-to", "mime-version", "content-transfer-encoding",
  "x-spam-flag", "x-spam-status", "x-k9mail-identity", "chat-version",
  "x-universally-unique-identifier", "x-uniform-type-identifier", "auto-submitted", "precedence", 0
} ;

int imapcache_hdrname (char const *s, size_t n)
{
  /* the first letter first: most fields of a header are not kept */
  char c = n && s[0] >= 'A' && s[0] <= 'Z' ? s[0] + 32 : n ? s[0] : 0 ;
  for (char const *const *p = names ; *p ; p++)
    if ((*p)[0] == c && !strncasecmp(*p, s, n) && !(*p)[n]) return 1 ;
  return 0 ;
}

int imapcache_hdrblock (stralloc *sa, mime_msg const *m)
{
  mime_part const *r = &m->p[0] ;
  size_t hl = r->body - r->hdr, pos = 0, was = sa->len ;
  char const *h = m->s + r->hdr ;
  hdr_field f ;
  if (hl > MIME_HDR_MAX) hl = MIME_HDR_MAX ;
  for (size_t start = 0 ; hdr_next(h, hl, &pos, &f) ; start = pos)
  {
    if (!f.namelen || !imapcache_hdrname(f.name, f.namelen)) continue ;
    if (sa->len - was + (pos - start) + 1 > IMAPCACHE_HDRMAX) { sa->len = was ; return -1 ; }
    if (!stralloc_catb(sa, h + start, pos - start)) return 0 ;
    if (h[pos - 1] != '\n' && !stralloc_catb(sa, "\n", 1)) return 0 ;
  }
  return 1 ;
}
