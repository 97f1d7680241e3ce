/* imap-mailbox: SEARCH and UID SEARCH (RFC 3501 6.4.4; RETURN as RFC
   4731 ESEARCH; RFC 5182 SEARCHRES; ESEARCH only for IMAP4rev2).
   lib/imap's evaluator asks for what a key needs through the view below:
   flags and sizes from the folder's view, headers, dates and text from
   the message parsed by lib/mime, at most once per message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <skalibs/djbunix.h>
#include "mime/mime.h"
#include "mime/mimeenv.h"
#include "mime/mimetext.h"
#include "mime/mimeword.h"
#include "imap/imapwrite.h"
#include "imap/imapflag.h"
#include "imap/imapdate.h"
#include "imap/imapsearch.h"
#include "imapcache/imapcachehdr.h"
#include "imapd/imapd.h"

typedef struct smsg_s smsg ;
struct smsg_s {
  imapd *d ;
  size_t i ;
  mime_msg m ;
  int mapped ;      /* 0 not yet, 1 ok, -1 failed */
  int texted ;
  stralloc text ;   /* the decoded body text (mime_text) */
  mime_msg hm ;     /* the cached header fields (imapd_headers) */
  int hdred ;       /* hm: 0 not yet, 1 or 2 ok, -1 failed */
} ;

static uint32_t v_seq (void *p) { return ((smsg *)p)->i + 1 ; }
static uint32_t v_uid (void *p) { smsg *s = p ; return imapbox_msg(&s->d->box, s->i)->uid ; }
static unsigned v_flags (void *p) { smsg *s = p ; return imapd_sysflags(&s->d->box, s->i) ; }
static uint64_t v_modseq (void *p) { smsg *s = p ; return imapbox_msg(&s->d->box, s->i)->modseq ; }

static int v_keyword (void *p, char const *kw)
{
  smsg *s = p ;
  int b = kwlist_find(&s->d->box.kw, kw) ;
  return b >= 0 && imapbox_msg(&s->d->box, s->i)->kw & (1u << b) ;
}

static int v_size (void *p, uint64_t *size)
{
  smsg *s = p ;
  *size = imapbox_msg(&s->d->box, s->i)->vsize ;
  return 1 ;
}

static int v_internaldate (void *p, int64_t *t, int *zone)
{
  smsg *s = p ;
  time_t x = imapbox_date(&s->d->box, s->i) ;
  if (x == (time_t)-1) return -1 ;
  *t = x ; *zone = 0 ;
  return 1 ;
}

static int load (smsg *s)
{
  int fd ;
  if (s->mapped) return s->mapped ;
  s->mapped = -1 ;
  fd = imapbox_open(&s->d->box, s->i) ;
  if (fd < 0) return -1 ;
  if (mime_map(&s->m, fd)) s->mapped = 1 ;
  fd_close(fd) ;
  if (s->mapped > 0) imapd_cache_put(s->d, s->i, &s->m, IMAPD_CACHE_WHOLE) ;
  return s->mapped ;
}

/* The header for a cached field name: the message's if it is mapped,
   else the cache's (imapd_headers). 0 on error. */
static mime_msg const *hdrmsg (smsg *s, char const *name)
{
  if (s->mapped > 0 || !imapcache_hdrname(name, strlen(name))) return load(s) < 0 ? 0 : &s->m ;
  if (!s->hdred) { int r = imapd_headers(s->d, s->i, &s->hm) ; s->hdred = r ? r : -1 ; }
  return s->hdred > 0 ? &s->hm : 0 ;
}

static int num (char const **p, char const *e, int max, int *v)
{
  int n = 0 ;
  *v = 0 ;
  while (*p < e && **p >= '0' && **p <= '9' && n < max) *v = *v * 10 + *(*p)++ - '0', n++ ;
  return n > 0 ;
}

static void blanks (char const **p, char const *e) { while (*p < e && (**p == ' ' || **p == '\t')) (*p)++ ; }

/* RFC 5322 3.3 date-time, obsolete forms in part: [Day,] D Mon Y H:M[:S] zone. */
int imapd_rfcdate (char const *p, char const *e, int64_t *t, int *zone)
{
  static char const mon[] = "janfebmaraprmayjunjulaugsepoctnovdec" ;
  int d, y, h, mi, s = 0, z = 0, m = -1 ;
  blanks(&p, e) ;
  if (e - p > 4 && p[3] == ',') { p += 4 ; blanks(&p, e) ; }
  if (!num(&p, e, 2, &d)) return 0 ;
  blanks(&p, e) ;
  if (e - p < 3) return 0 ;
  for (int k = 0 ; k < 12 ; k++)
    if (!strncasecmp(p, mon + 3 * k, 3)) m = k ;
  if (m < 0) return 0 ;
  p += 3 ; blanks(&p, e) ;
  if (!num(&p, e, 4, &y)) return 0 ;
  if (y < 50) y += 2000 ; else if (y < 1000) y += 1900 ;
  blanks(&p, e) ;
  if (!num(&p, e, 2, &h) || p >= e || *p++ != ':' || !num(&p, e, 2, &mi)) return 0 ;
  if (p < e && *p == ':') { p++ ; if (!num(&p, e, 2, &s)) return 0 ; }
  blanks(&p, e) ;
  if (p < e && (*p == '+' || *p == '-'))
  {
    int sign = *p++ == '-' ? -1 : 1, hhmm ;
    if (!num(&p, e, 4, &hhmm)) return 0 ;
    z = sign * (hhmm / 100 * 60 + hhmm % 100) ;
  }
  if (d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y > 9999) return 0 ;
  *t = imapdate_days(y, m + 1, d) * 86400 + h * 3600 + mi * 60 + s - z * 60 ;
  *zone = z ;
  return 1 ;
}

static int v_sentdate (void *p, int64_t *t, int *zone)
{
  smsg *s = p ;
  mime_msg const *m ;
  mime_range r ;
  imapd_keys k ;
  if (s->mapped <= 0 && imapd_cache_keys(s->d, s->i, &k))
  {
    if (!(k.flags & KEYS_DATED)) return 0 ;
    *t = k.date ; *zone = k.zone ;
    return 1 ;
  }
  m = hdrmsg(p, "date") ;
  if (!m) return -1 ;
  if (!mime_field(m, 0, "date", &r)) return 0 ;
  return imapd_rfcdate(m->s + r.off, m->s + r.off + r.len, t, zone) ;
}

int imapd_hdrvalue (mime_msg const *m, char const *name, stralloc *value)
{
  size_t nl = strlen(name), pos = m->p[0].hdr, end = m->p[0].body ;
  int found = 0 ;
  if (end - pos > MIME_HDR_MAX) end = pos + MIME_HDR_MAX ;
  while (pos < end)
  {
    char const *line = m->s + pos ;
    char const *nlp = memchr(line, '\n', end - pos) ;
    size_t stop = nlp ? (size_t)(nlp - m->s) + 1 : end ;
    if (stop - pos > nl && line[nl] == ':' && !strncasecmp(line, name, nl))
    {
      size_t v = pos + nl + 1 ;
      /* continuation lines start with a blank */
      while (stop < end && (m->s[stop] == ' ' || m->s[stop] == '\t'))
      {
        char const *q = memchr(m->s + stop, '\n', end - stop) ;
        stop = q ? (size_t)(q - m->s) + 1 : end ;
      }
      while (v < stop && (m->s[v] == ' ' || m->s[v] == '\t')) v++ ;
      if (!mime_words(value, m->s + v, stop - v) || !stralloc_catb(value, "\n", 1)) return -1 ;
      found = 1 ;
    }
    pos = stop ;
  }
  return found ;
}

/* Every field called name in the message's header, decoded: Subject:
   from the cache's keys when it has them. */
static int v_header (void *p, char const *name, stralloc *value)
{
  smsg *s = p ;
  mime_msg const *m ;
  imapd_keys k ;
  if (s->mapped <= 0 && !strcasecmp(name, "subject") && imapd_cache_keys(s->d, s->i, &k) && k.flags & KEYS_SUBJKEPT)
    return stralloc_catb(value, k.subj, k.subjlen) ? !!(k.flags & KEYS_SUBJFOUND) : -1 ;
  m = hdrmsg(s, name) ;
  return m ? imapd_hdrvalue(m, name, value) : -1 ;
}

static int v_text (void *p, int body, char const *str, size_t len)
{
  smsg *s = p ;
  if (load(s) < 0) return -1 ;
  if (!s->texted)
  {
    s->text.len = 0 ;
    if (!mime_text(&s->text, &s->m, 0, MIMETEXT_MAX)) return -1 ;
    s->texted = 1 ;
  }
  if (imapsearch_contains(s->text.s, s->text.len, str, len)) return 1 ;
  if (body) return 0 ;
  {
    mime_part const *r = &s->m.p[0] ;
    size_t hl = r->body - r->hdr ;
    stralloc dec = STRALLOC_ZERO ;
    int found ;
    if (imapsearch_contains(s->m.s + r->hdr, hl, str, len)) return 1 ;
    if (!mime_words(&dec, s->m.s + r->hdr, hl > MIME_HDR_MAX ? MIME_HDR_MAX : hl)) return -1 ;
    found = imapsearch_contains(dec.s, dec.len, str, len) ;
    stralloc_free(&dec) ;
    return found ;
  }
}

static imapview const view = {
  .seq = &v_seq, .uid = &v_uid, .flags = &v_flags, .keyword = &v_keyword, .size = &v_size,
  .internaldate = &v_internaldate, .sentdate = &v_sentdate, .header = &v_header, .text = &v_text,
  .modseq = &v_modseq,
} ;

/* RFC 7162 3.1.5: with a MODSEQ key, the highest MODSEQ of the found.
   IMAP4rev2 has no "* SEARCH": ESEARCH always (RFC 9051 6.4.4, 7.3.4);
   RETURN (SAVE) alone answers nothing (RFC 5182 2.1). */
static void answer (imapd *d, imapsearch *q, uint32_t *v, size_t n, uint64_t modseq)
{
  if (q->esearch || d->rev2)
  {
    unsigned ret = q->ret & ~IMAPSR_SAVE ;
    if (q->ret && !ret) return ;
    imapd_ok(d, imapw_esearch_modseq(&d->io, d->c.tag, d->c.uid, ret ? ret : IMAPSR_ALL, v, n, modseq)) ;
    return ;
  }
  imapd_puts(d, "* SEARCH") ;
  for (size_t k = 0 ; k < n ; k++) { imapd_puts(d, " ") ; imapd_putu(d, v[k]) ; }
  if (modseq) { imapd_puts(d, " (MODSEQ ") ; imapd_putu(d, modseq) ; imapd_puts(d, ")") ; }
  imapd_puts(d, "\r\n") ;
}

/* RETURN (SAVE): "$" := the UIDs of the found (indices v, ascending) or
   of their MIN/MAX (RFC 5182 2.1), whatever the UID prefix. */
static void save (imapd *d, unsigned ret, uint32_t const *v, size_t n)
{
  uint32_t *u = malloc((n ? n : 1) * sizeof *u) ;
  if (!u) imapd_nomem(d) ;
  for (size_t k = 0 ; k < n ; k++) u[k] = imapbox_msg(&d->box, v[k])->uid ;
  n = imapsearch_savedpart(ret, u, n) ;
  if (!imapseq_fromsorted(&d->saved, u, n)) { free(u) ; imapd_nomem(d) ; }
  free(u) ;
}

size_t imapd_searchmatch (imapd *d, imapsearch *q, uint32_t *v)
{
  smsg s = { .d = d, .text = STRALLOC_ZERO, .hm = MIME_MSG_ZERO } ;
  size_t n = imapbox_len(&d->box), hits = 0 ;
  uint32_t maxuid = n ? imapbox_msg(&d->box, n - 1)->uid : 0 ;
  int64_t now = time(0) ;
  q->saved = &d->saved ;
  for (size_t i = 0 ; i < n ; i++)
  {
    int r ;
    if (imapbox_msg(&d->box, i)->gone) continue ;
    s.i = i ; s.mapped = 0 ; s.texted = 0 ; s.hdred = 0 ;
    r = imapsearch_match(q, &view, &s, n, maxuid, now) ;
    if (s.mapped > 0) mime_free(&s.m) ;
    if (s.hdred > 0) mime_free(&s.hm) ;
    if (r > 0) v[hits++] = i ;
  }
  stralloc_free(&s.text) ;
  return hits ;
}

void imapd_search (imapd *d)
{
  imapsearch q = IMAPSEARCH_ZERO ;
  char const *err ;
  size_t n = imapbox_len(&d->box), hits ;
  uint32_t *v ;
  uint64_t modseq = 0 ;
  int withmodseq = 0 ;
  uint32_t first = imapcmd_arg(&d->c, 0) ;
  int r = imapsearch_parse(&d->c, first, &q, &err) ;
  if (r == IMAPSEARCH_NOMEM) imapd_nomem(d) ;
  /* RFC 5182 2.1: a SEARCH ... SAVE that fails empties "$" */
  if (r != IMAPSEARCH_OK && imapsearch_wantsave(&d->c, first)) imapseq_free(&d->saved) ;
  if (r == IMAPSEARCH_BADCHARSET) { imapsearch_free(&q) ; imapd_tagged(d, "NO", "BADCHARSET (UTF-8 US-ASCII)", "unknown charset") ; return ; }
  if (r != IMAPSEARCH_OK) { imapsearch_free(&q) ; imapd_bad(d, err) ; return ; }
  if (!imapd_search_rev2(d, &q)) { imapsearch_free(&q) ; return ; }
  for (uint32_t k = 0 ; k < q.nnodes ; k++) if (q.node[k].key == IMAPSK_MODSEQ) withmodseq = 1 ;
  if (withmodseq) imapd_condstore(d) ;
  v = malloc((n ? n : 1) * sizeof *v) ;
  if (!v) imapd_nomem(d) ;
  hits = imapd_searchmatch(d, &q, v) ;
  if (q.ret & IMAPSR_SAVE) save(d, q.ret, v, hits) ;
  for (size_t k = 0 ; k < hits ; k++)
  {
    imapmsg const *m = imapbox_msg(&d->box, v[k]) ;
    if (withmodseq && m->modseq > modseq) modseq = m->modseq ;
    v[k] = d->c.uid ? m->uid : v[k] + 1 ;
  }
  imapd_cache_done(d) ;
  answer(d, &q, v, hits, modseq) ;
  free(v) ;
  imapsearch_free(&q) ;
  imapd_tagged(d, "OK", 0, "SEARCH completed") ;
}
