/* The header of a message as it streams by (subhdr.h). Fields are
   examined when complete: when the next one starts, at the header's end,
   or, for a message without an empty line, when asked. */
#include <errno.h>
#include <time.h>
#include <skalibs/bytestr.h>
#include "addrlist.h"
#include "datefmt.h"
#include "hdr.h"
#include "msgid.h"
#include "subhdr.h"

void subhdr_init(subhdr *h)
{
  stralloc cur = h->cur, addrs = h->addrs ;
  *h = (subhdr)SUBHDR_ZERO ;
  h->cur = cur ; h->cur.len = 0 ;
  h->addrs = addrs ; h->addrs.len = 0 ;
}

void subhdr_free(subhdr *h)
{
  stralloc_free(&h->cur) ;
  stralloc_free(&h->addrs) ;
  *h = (subhdr)SUBHDR_ZERO ;
}

static void take_from(subhdr *h, hdr_field const *f)
{
  size_t start = h->addrs.len ;
  int r ;
  if (h->curlong) { h->frombad = 1 ; return ; }
  r = addrlist_parse(&h->addrs, f->value, f->valuelen) ;
  if (r < 0 || h->naddrs + (unsigned)r > ADDRLIST_MAX) { h->addrs.len = start ; h->frombad = 1 ; return ; }
  h->naddrs += (unsigned)r ;
}

/* Examine the field in h->cur, then forget it. */
static void finish(subhdr *h)
{
  hdr_field f ;
  size_t pos = 0 ;
  if (h->cur.len && hdr_next(h->cur.s, h->cur.len, &pos, &f) && f.namelen) {
    if (hdr_is(&f, "date")) h->hasdate = 1 ;
    else if (hdr_is(&f, "message-id")) h->hasmsgid = 1 ;
    else if (hdr_is(&f, "from")) { h->hasfrom = 1 ; take_from(h, &f) ; }
    else if (hdr_is(&f, "sender")) take_from(h, &f) ;
  }
  h->cur.len = 0 ;
  h->curlong = 0 ;
}

/* Buffer s[0..n) of the current field, up to the bound. */
static void keep(subhdr *h, char const *s, size_t n)
{
  if (h->cur.len + n > SUBHDR_FIELDMAX) {
    n = SUBHDR_FIELDMAX - h->cur.len ;
    h->curlong = h->bad = 1 ;
  }
  if (n && !stralloc_catb(&h->cur, s, n)) h->curlong = h->bad = 1 ;
}

size_t subhdr_feed(subhdr *h, char const *s, size_t n)
{
  size_t i = 0 ;
  if (h->ended) return 0 ;
  while (i < n) {
    size_t e ;
    if (h->bol) {
      if (s[i] == '\n') { finish(h) ; h->ended = 1 ; return i ; }
      if (s[i] != ' ' && s[i] != '\t') finish(h) ;
      if (++h->lines > SUBHDR_MAX) h->bad = 1 ;
      h->bol = 0 ;
    }
    e = i + byte_chr(s + i, n - i, '\n') ;
    if (e < n) { e++ ; h->bol = 1 ; }
    keep(h, s + i, e - i) ;
    i = e ;
  }
  return n ;
}

int subhdr_ended(subhdr const *h) { return h->ended ; }
int subhdr_bad(subhdr const *h) { return h->bad ; }

int subhdr_missing(subhdr const *h, stralloc *sa, char const *host)
{
  char date[DATEFMT_LEN] ;
  finish((subhdr *)h) ;
  if (!h->hasdate && !(stralloc_cats(sa, "Date: ")
      && stralloc_catb(sa, date, datefmt_rfc5322(date, time(0))) && stralloc_catb(sa, "\n", 1))) return 0 ;
  if (!h->hasmsgid && !(stralloc_cats(sa, "Message-ID: ") && msgid_make(sa, host)
      && stralloc_catb(sa, "\n", 1))) return 0 ;
  return 1 ;
}

int subhdr_from(subhdr const *h, char const **addrs, size_t *len, unsigned int *n)
{
  finish((subhdr *)h) ;
  *addrs = h->addrs.s ;
  *len = h->addrs.len ;
  *n = h->naddrs ;
  if (h->frombad) return 0 ;
  return h->hasfrom ? 1 : -1 ;
}
