/* imap-mailbox's use of the message cache (lib/imapcache) of the
   selected folder: opened at its first use (SELECT itself needs none),
   compacted then if it pays; an entry is made whenever a message is
   parsed and has none (or lacks a part that parse gives). An entry is
   used only for the message's UID, unique name and size: a file moved
   in by a shell is a new message. What needs only a message's header
   (ENVELOPE, header fields, SEARCH and SORT keys) reads only its
   header's bytes (imapd_readheader), not the whole file; such an entry
   has no BODYSTRUCTURE until the whole message is parsed. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/djbunix.h>
#include "mime/mime.h"
#include "mime/mimebs.h"
#include "mime/mimeenv.h"
#include "imap/imapfetch.h"
#include "imapcache/imapcache.h"
#include "imapcache/imapcachehdr.h"
#include "imapd/imapd.h"

static stralloc hb = STRALLOC_ZERO ;   /* the header block being used */
static stralloc fb = STRALLOC_ZERO ;   /* a header read from a file */

#define HDRREAD 8192               /* bytes read at once */
#define HDRLIMIT (64u << 10)       /* a longer header: the file is mapped */

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
    /* entries of expunged messages are dead too (both in UID order) */
    size_t n = imapbox_len(&d->box), j = 0 ;
    for (uint32_t k = 0 ; k < c->n ; k++)
    {
      while (j < n && imapbox_msg(&d->box, j)->uid < c->ref[k].uid) j++ ;
      if (j >= n || imapbox_msg(&d->box, j)->uid != c->ref[k].uid) { c->dead += c->ref[k].len ; c->live -= c->ref[k].len ; }
    }
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

/* The KEYS part of m into sa (imapd.h's imapd_keys, in the form
   imapd_cache_keys reads). 0 ENOMEM. */
static int mkkeys (stralloc *sa, mime_msg const *m)
{
  char h[13] ;
  int64_t t = 0 ;
  int32_t zone = 0 ;
  int z = 0, found ;
  size_t at = sa->len ;
  mime_range r ;
  h[12] = mime_field(m, 0, "date", &r) && imapd_rfcdate(m->s + r.off, m->s + r.off + r.len, &t, &z) ? KEYS_DATED : 0 ;
  zone = z ;
  memcpy(h, &t, 8) ; memcpy(h + 8, &zone, 4) ;
  if (!stralloc_catb(sa, h, sizeof h)) return 0 ;
  found = imapd_hdrvalue(m, "subject", sa) ;
  if (found < 0) return 0 ;
  if (sa->len - at - sizeof h > KEYS_SUBJMAX) sa->len = at + sizeof h ;
  else sa->s[at + 12] |= KEYS_SUBJKEPT | (found ? KEYS_SUBJFOUND : 0) ;
  return 1 ;
}

void imapd_cache_put (imapd *d, size_t i, mime_msg const *m, unsigned how)
{
  imapcache *c = cache(d) ;
  imapmsg const *msg = imapbox_msg(&d->box, i) ;
  stralloc sa = STRALLOC_ZERO ;
  size_t end[IMAPCACHE_N] ;   /* where each part ends in sa */
  imapcache_entry e ;
  int whole = how & IMAPD_CACHE_WHOLE, hr ;
  if (!c || msg->gone) return ;
  if (imapd_cache_get(d, i, &e) && e.s[IMAPCACHE_KEYS] && (e.s[IMAPCACHE_ENV] || e.s[IMAPCACHE_HDR])
      && (e.s[IMAPCACHE_ENV] || !(how & (IMAPD_CACHE_ENV | IMAPD_CACHE_WHOLE))) && (!whole || e.s[IMAPCACHE_BS])) return ;
  if (!(hr = imapcache_hdrblock(&sa, m))) goto end ;
  end[IMAPCACHE_HDR] = sa.len ;
  if ((how || hr < 0) && !mime_envelope(&sa, m, 0)) goto end ;
  end[IMAPCACHE_ENV] = sa.len ;
  if (whole && !mime_bodystructure(&sa, m, 0, 1)) goto end ;
  end[IMAPCACHE_BS] = sa.len ;
  if (whole && !mime_bodystructure(&sa, m, 0, 0)) goto end ;
  end[IMAPCACHE_BODY] = sa.len ;
  if (!mkkeys(&sa, m)) goto end ;
  end[IMAPCACHE_KEYS] = sa.len ;
  /* in the order made: HDR, ENV, BS, BODY, KEYS */
  {
    static unsigned const order[IMAPCACHE_N] = { IMAPCACHE_HDR, IMAPCACHE_ENV, IMAPCACHE_BS, IMAPCACHE_BODY, IMAPCACHE_KEYS } ;
    size_t from = 0 ;
    for (unsigned k = 0 ; k < IMAPCACHE_N ; k++)
    {
      unsigned p = order[k] ;
      e.s[p] = sa.s + from ; e.len[p] = end[p] - from ;
      from = end[p] ;
    }
  }
  if (!(how || hr < 0)) e.s[IMAPCACHE_ENV] = 0 ;
  if (!whole) e.s[IMAPCACHE_BS] = e.s[IMAPCACHE_BODY] = 0 ;
  if (hr < 0) e.s[IMAPCACHE_HDR] = 0 ;
  imapcache_put(c, msg->uid, imapbox_name(&d->box, i), msg->baselen, msg->size, &e) ;
 end:
  stralloc_free(&sa) ;
}

void imapd_cache_addenv (imapd *d, size_t i, char const *env, size_t len)
{
  imapcache *c = cache(d) ;
  imapmsg const *msg = imapbox_msg(&d->box, i) ;
  stralloc sa = STRALLOC_ZERO ;
  size_t at[IMAPCACHE_N] ;
  imapcache_entry e ;
  if (!c || !imapd_cache_get(d, i, &e) || e.s[IMAPCACHE_ENV]) return ;
  /* copied first: e may point into the entries not yet written */
  e.s[IMAPCACHE_ENV] = env ; e.len[IMAPCACHE_ENV] = len ;
  for (unsigned k = 0 ; k < IMAPCACHE_N ; k++)
  {
    at[k] = sa.len ;
    if (e.s[k] && !stralloc_catb(&sa, e.s[k], e.len[k])) goto end ;
  }
  for (unsigned k = 0 ; k < IMAPCACHE_N ; k++) if (e.s[k]) e.s[k] = sa.s + at[k] ;
  imapcache_put(c, msg->uid, imapbox_name(&d->box, i), msg->baselen, msg->size, &e) ;
 end:
  stralloc_free(&sa) ;
}

int imapd_cache_keys (imapd *d, size_t i, imapd_keys *k)
{
  imapcache *c = cache(d) ;
  imapmsg const *m = imapbox_msg(&d->box, i) ;
  char const *s ;
  uint32_t len ;
  int32_t zone ;
  if (!c || m->gone || !imapcache_keys(c, m->uid, imapbox_name(&d->box, i), m->baselen, m->size, &s, &len) || len < 13) return 0 ;
  memcpy(&k->date, s, 8) ; memcpy(&zone, s + 8, 4) ;
  k->zone = zone ;
  k->flags = (unsigned char)s[12] ;
  k->subj = s + 13 ; k->subjlen = len - 13 ;
  return 1 ;
}

void imapd_cache_done (imapd *d)
{
  imapcache_flush(&d->cache) ;
  imapcache_keys_drop(&d->cache) ;
}

/* A line [pos, e) of s that ends a header (mime_parse's rule). */
static int hdrend (char const *s, size_t pos, size_t e)
{
  return e == pos || (e == pos + 1 && s[pos] == '\r') ;
}

int imapd_readheader (int fd, mime_msg *m, stralloc *buf)
{
  size_t line = 0 ;
  buf->len = 0 ;
  for (;;)
  {
    ssize_t r ;
    char const *nl ;
    if (buf->len >= HDRLIMIT) return mime_map(m, fd) ? 2 : 0 ;
    if (!stralloc_readyplus(buf, HDRREAD)) return 0 ;
    do r = read(fd, buf->s + buf->len, HDRREAD) ;
    while (r < 0 && errno == EINTR) ;
    if (r < 0) return 0 ;
    if (!r) return mime_parse(m, buf->s, buf->len) ? 1 : 0 ;
    buf->len += r ;
    while ((nl = memchr(buf->s + line, '\n', buf->len - line)))
    {
      size_t e = nl - buf->s ;
      if (hdrend(buf->s, line, e)) { buf->len = e + 1 ; return mime_parse(m, buf->s, buf->len) ? 1 : 0 ; }
      line = e + 1 ;
    }
  }
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
  int fd, r ;
  if (imapd_cache_header(d, i, m)) return 1 ;
  if (imapbox_msg(&d->box, i)->gone) return 0 ;
  fd = imapbox_open(&d->box, i) ;
  if (fd < 0) return 0 ;
  r = imapd_readheader(fd, m, &fb) ;
  fd_close(fd) ;
  if (!r) return 0 ;
  imapd_cache_put(d, i, m, r == 2 ? IMAPD_CACHE_WHOLE : 0) ;
  return 2 ;
}

int imapd_headeronly (imapfetch const *f)
{
  if (f->items & (IMAPF_BODYSTRUCTURE | IMAPF_BODY | IMAPF_RFC822 | IMAPF_RFC822_TEXT)) return 0 ;
  for (unsigned k = 0 ; k < f->nsec ; k++)
    if (f->sec[k].nparts || (f->sec[k].spec != IMAPSEC_HEADER && f->sec[k].spec != IMAPSEC_FIELDS && f->sec[k].spec != IMAPSEC_FIELDS_NOT))
      return 0 ;
  return 1 ;
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
