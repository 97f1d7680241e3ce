/* LF -> CRLF on the fly, from any offset of the output. */
#include <string.h>
#include "mime/mimesect.h"

void mime_crlf_init(mime_crlf *c, char const *s, size_t len)
{
  c->s = s; c->pos = 0; c->len = len; c->lfdue = 0;
}

/* lfdue: the CR added before the bare LF at pos went out; the LF is due */
uint64_t mime_crlf_skip(mime_crlf *c, uint64_t n)
{
  uint64_t done = 0;
  while (done < n && c->pos < c->len) {
    if (c->lfdue) { c->lfdue = 0; c->pos++; done++; continue; }
    size_t room = c->len - c->pos;
    if (room > n - done) room = n - done;
    char const *q = memchr(c->s + c->pos, '\n', room);
    if (!q) { c->pos += room; done += room; continue; }
    size_t k = q - (c->s + c->pos);
    c->pos += k; done += k;
    if (done == n) break;
    if (c->pos && c->s[c->pos - 1] == '\r') { c->pos++; done++; continue; }  /* an LF as it is */
    done++; c->lfdue = 1;                              /* the added CR */
  }
  return done;
}

size_t mime_crlf_read(mime_crlf *c, char *buf, size_t max)
{
  size_t o = 0;
  while (o < max && c->pos < c->len) {
    char ch = c->s[c->pos];
    if (ch == '\n' && !c->lfdue && (!c->pos || c->s[c->pos - 1] != '\r')) { buf[o++] = '\r'; c->lfdue = 1; continue; }
    c->lfdue = 0;
    buf[o++] = ch;
    c->pos++;
  }
  return o;
}

int mime_section_cat(stralloc *sa, mime_msg const *m, mime_sect const *r, stralloc const *gen,
                     uint64_t from, uint64_t n)
{
  if (r->gen) {
    if (from >= r->len) return 1;
    if (n > r->len - from) n = r->len - from;
    return stralloc_catb(sa, gen->s + r->off + from, n);
  }
  mime_crlf c;
  char buf[4096];
  mime_crlf_init(&c, m->s + r->off, r->len);
  if (mime_crlf_skip(&c, from) < from) return 1;
  while (n) {
    size_t k = mime_crlf_read(&c, buf, n < sizeof buf ? n : sizeof buf);
    if (!k) break;
    if (!stralloc_catb(sa, buf, k)) return 0;
    n -= k;
  }
  return 1;
}
