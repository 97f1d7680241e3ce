/* imap-mailbox's use of the message cache (lib/imapcache) of the
   selected folder: opened at its first use (SELECT itself needs none),
   compacted then if it pays; an entry is made whenever a message is
   parsed and has none. An entry is used only for the message's UID,
   unique name and size: a file moved in by a shell is a new message. */
#include <errno.h>
#include <string.h>
#include <skalibs/djbunix.h>
#include "mime/mime.h"
#include "mime/mimebs.h"
#include "mime/mimeenv.h"
#include "imap/imapfetch.h"
#include "imapcache/imapcache.h"
#include "imapcache/imapcachehdr.h"
#include "imapd/imapd.h"

static stralloc hb = STRALLOC_ZERO ;   /* the header block being used */

/* Message uid of the view, with this name and size. */
static int live (void *ctx, uint32_t uid, char const *name, size_t nl, uint64_t size)
{
  imapbox const *b = ctx ;
  uint32_t seq = imapbox_seq(b, uid) ;
  imapmsg const *m = seq ? imapbox_msg(b, seq - 1) : 0 ;
  return m && !m->gone && m->size == size && m->baselen == nl && !memcmp(imapbox_name(b, seq - 1), name, nl) ;
}

static imapcache *cache (imapd *d)
{
  imapcache *c = &d->cache ;
  if (!d->selected) return 0 ;
  if (!imapcache_for(c, d->box.dir.s, imapbox_uidvalidity(&d->box))
      && imapcache_open(c, d->box.dir.s, imapbox_uidvalidity(&d->box)))
  {
    /* entries of expunged messages are dead too */
    for (uint32_t k = 0 ; k < c->n ; k++)
      if (!imapbox_seq(&d->box, c->ref[k].uid)) { c->dead += c->ref[k].len ; c->live -= c->ref[k].len ; }
    if (imapcache_wants_compact(c)) imapcache_compact(c, &live, &d->box) ;
  }
  return c->state == 1 ? c : 0 ;
}

int imapd_cache_get (imapd *d, size_t i, imapcache_entry *e)
{
  imapcache *c = cache(d) ;
  imapmsg const *m = imapbox_msg(&d->box, i) ;
  return c && !m->gone && imapcache_get(c, m->uid, imapbox_name(&d->box, i), m->baselen, m->size, e) ;
}

void imapd_cache_put (imapd *d, size_t i, mime_msg const *m)
{
  imapcache *c = cache(d) ;
  imapmsg const *msg = imapbox_msg(&d->box, i) ;
  stralloc sa = STRALLOC_ZERO ;
  size_t at[IMAPCACHE_N + 1] = { 0 } ;
  imapcache_entry e ;
  int hr ;
  if (!c || msg->gone || imapd_cache_get(d, i, &e)) return ;
  if (!mime_envelope(&sa, m, 0)) goto end ;
  at[1] = sa.len ;
  if (!mime_bodystructure(&sa, m, 0, 1)) goto end ;
  at[2] = sa.len ;
  if (!mime_bodystructure(&sa, m, 0, 0)) goto end ;
  at[3] = sa.len ;
  if (!(hr = imapcache_hdrblock(&sa, m))) goto end ;
  at[4] = sa.len ;
  for (unsigned k = 0 ; k < IMAPCACHE_N ; k++) { e.s[k] = sa.s + at[k] ; e.len[k] = at[k + 1] - at[k] ; }
  if (hr < 0) e.s[IMAPCACHE_HDR] = 0 ;
  imapcache_put(c, msg->uid, imapbox_name(&d->box, i), msg->baselen, msg->size, &e) ;
 end:
  stralloc_free(&sa) ;
}

int imapd_cache_header (imapd *d, size_t i, mime_msg *h)
{
  imapcache_entry e ;
  if (!imapd_cache_get(d, i, &e) || !e.s[IMAPCACHE_HDR]) return 0 ;
  hb.len = 0 ;
  if (!stralloc_catb(&hb, e.s[IMAPCACHE_HDR], e.len[IMAPCACHE_HDR]) || !stralloc_catb(&hb, "\n", 1)) return 0 ;
  return mime_parse(h, hb.s, hb.len) ;
}

int imapd_headers (imapd *d, size_t i, mime_msg *m)
{
  int fd ;
  if (imapd_cache_header(d, i, m)) return 1 ;
  if (imapbox_msg(&d->box, i)->gone) return 0 ;
  fd = imapbox_open(&d->box, i) ;
  if (fd < 0) return 0 ;
  if (!mime_map(m, fd)) { fd_close(fd) ; return 0 ; }
  fd_close(fd) ;
  imapd_cache_put(d, i, m) ;
  return 2 ;
}

int imapd_cache_fetchable (imapfetch const *f)
{
  if (f->items & (IMAPF_RFC822 | IMAPF_RFC822_HEADER | IMAPF_RFC822_TEXT)) return 0 ;
  for (unsigned k = 0 ; k < f->nsec ; k++)
  {
    char const *p = f->sec[k].fields ;
    if (f->sec[k].spec != IMAPSEC_FIELDS || f->sec[k].nparts) return 0 ;
    for (unsigned j = 0 ; j < f->sec[k].nfields ; j++, p += strlen(p) + 1)
      if (!imapcache_hdrname(p, strlen(p))) return 0 ;
  }
  return 1 ;
}
