/* imap-mailbox: FETCH and UID FETCH (RFC 3501 6.4.5, 7.4.2). The message
   file is mapped and parsed (lib/mime) only when an item needs its
   contents; body sections are streamed in CRLF form, never copied whole
   (BINARY's decoded ones are: imapdbinary.c). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include "mime/mime.h"
#include "mime/mimebs.h"
#include "mime/mimeenv.h"
#include "mime/mimesect.h"
#include "imap/imapwrite.h"
#include "imap/imapfetch.h"
#include "imapd/imapd.h"

#define NEEDMIME (IMAPF_ENVELOPE | IMAPF_BODYSTRUCTURE | IMAPF_BODY | IMAPF_RFC822 | IMAPF_RFC822_HEADER | IMAPF_RFC822_TEXT)

static imapfetch F ;
static char chunk[16384] ;
static stralloc hdrbuf = STRALLOC_ZERO ;   /* a header read alone (imapd_readheader) */
/* BINARY: the message one() mapped to check its encodings before the
   response begins, that contents() then uses */
static mime_msg pre = MIME_MSG_ZERO ;
static int premapped, unknowncte ;
static stralloc seenbits = STRALLOC_ZERO ;   /* bit i: \Seen set by presee */

static void sep (imapd *d, int *sp)
{
  if (*sp) imapd_puts(d, " ") ;
  *sp = 1 ;
}

/* The section text of an item name "BODY[spec]<n>". */
static void specof (char const *name, size_t len, char const **spec, size_t *n)
{
  char const *open = memchr(name, '[', len) ;
  size_t close = len ;
  while (close && name[close - 1] != ']') close-- ;
  *spec = open + 1 ;
  *n = close - 1 - (open + 1 - name) ;
}

/* A literal holds no NUL (RFC 3501 4.3, RFC 9051 4.3): a message that
   has some gets 0x80 in their place, as Dovecot does (the octet count is
   the same); BINARY sends such content as a literal8, as it is. */
static void putliteral (imapd *d, char *s, size_t n, int lit8)
{
  if (!lit8) for (char *z = memchr(s, 0, n) ; z ; z = memchr(z + 1, 0, n - (size_t)(z + 1 - s))) *z = (char)0x80 ;
  imapd_put(d, s, n) ;
}

void imapd_literal (imapd *d, mime_msg const *m, mime_sect const *r, stralloc const *gen, uint64_t from, uint64_t n, int lit8)
{
  mime_crlf c ;
  imapd_puts(d, lit8 ? "~{" : "{") ; imapd_putu(d, n) ; imapd_puts(d, "}\r\n") ;
  if (!r->gen)
  {
    mime_crlf_init(&c, m->s + r->off, r->len) ;
    mime_crlf_skip(&c, from) ;
  }
  while (n)
  {
    size_t k = n < sizeof chunk ? n : sizeof chunk ;
    if (r->gen) { memcpy(chunk, gen->s + r->off + from, k) ; from += k ; }
    else k = mime_crlf_read(&c, chunk, k) ;
    if (!k) break ;   /* cannot happen: size says how much there is */
    putliteral(d, chunk, k, lit8) ;
    n -= k ;
  }
}

/* One BODY[...] item: name as given by imapfetch_secname (or RFC822*). */
static void section (imapd *d, mime_msg const *m, char const *name, char const *spec, size_t slen, imapfetch_sec const *sec)
{
  mime_sect r ;
  stralloc gen = STRALLOC_ZERO ;
  uint64_t from = 0, n ;
  int k = mime_section(m, spec, slen, &r, &gen) ;
  if (k < -1) imapd_nomem(d) ;
  imapd_puts(d, name) ;
  imapd_puts(d, " ") ;
  if (k <= 0) { imapd_puts(d, "\"\"") ; stralloc_free(&gen) ; return ; }
  n = r.size ;
  if (sec && sec->partial)
  {
    from = sec->off < n ? sec->off : n ;
    n -= from ;
    if (n > sec->len) n = sec->len ;
  }
  imapd_literal(d, m, &r, &gen, from, n, 0) ;
  stralloc_free(&gen) ;
}

static void structure (imapd *d, int *sp, mime_msg const *m, char const *name, int what)
{
  d->sa.len = 0 ;
  if (!(what == IMAPF_ENVELOPE ? mime_envelope(&d->sa, m, 0) : mime_bodystructure(&d->sa, m, 0, what == IMAPF_BODYSTRUCTURE)))
    imapd_nomem(d) ;
  sep(d, sp) ;
  imapd_puts(d, name) ;
  imapd_puts(d, " ") ;
  imapd_put(d, d->sa.s, d->sa.len) ;
}

static void sections (imapd *d, int *sp, mime_msg const *m)
{
  for (unsigned k = 0 ; k < F.nsec ; k++)
  {
    char const *spec ;
    size_t n ;
    d->sb.len = 0 ;
    if (!imapfetch_secname(&d->sb, &F.sec[k]) || !stralloc_0(&d->sb)) imapd_nomem(d) ;
    specof(d->sb.s, d->sb.len - 1, &spec, &n) ;
    sep(d, sp) ;
    if (F.sec[k].kind != IMAPSEC_BODY) imapd_binary(d, m, d->sb.s, &F.sec[k]) ;
    else section(d, m, d->sb.s, spec, n, &F.sec[k]) ;
  }
}

/* The items of message i that need its contents. 0: it is gone. */
static int contents (imapd *d, int *sp, size_t i)
{
  mime_msg m = MIME_MSG_ZERO ;
  imapcache_entry e ;
  int fd, r ;
  if (premapped) { m = pre ; premapped = 0 ; r = 2 ; }
  else
  {
    if ((fd = imapbox_open(&d->box, i)) < 0) return 0 ;
    r = imapd_headeronly(&F) ? imapd_readheader(fd, &m, &hdrbuf) : mime_map(&m, fd) ? 2 : 0 ;
    fd_close(fd) ;
    if (!r) return 0 ;
  }
  imapd_cache_put(d, i, &m, (r == 2 ? IMAPD_CACHE_WHOLE : 0) | (F.items & IMAPF_ENVELOPE ? IMAPD_CACHE_ENV : 0)) ;
  /* the ENVELOPE the entry just put holds, not made twice */
  if (F.items & IMAPF_ENVELOPE && imapd_cache_get(d, i, &e) && e.s[IMAPCACHE_ENV])
  { sep(d, sp) ; imapd_puts(d, "ENVELOPE ") ; imapd_put(d, e.s[IMAPCACHE_ENV], e.len[IMAPCACHE_ENV]) ; }
  else if (F.items & IMAPF_ENVELOPE) structure(d, sp, &m, "ENVELOPE", IMAPF_ENVELOPE) ;
  if (F.items & IMAPF_BODYSTRUCTURE) structure(d, sp, &m, "BODYSTRUCTURE", IMAPF_BODYSTRUCTURE) ;
  if (F.items & IMAPF_BODY) structure(d, sp, &m, "BODY", IMAPF_BODY) ;
  if (F.items & IMAPF_RFC822_HEADER) { sep(d, sp) ; section(d, &m, "RFC822.HEADER", "HEADER", 6, 0) ; }
  if (F.items & IMAPF_RFC822_TEXT) { sep(d, sp) ; section(d, &m, "RFC822.TEXT", "TEXT", 4, 0) ; }
  if (F.items & IMAPF_RFC822) { sep(d, sp) ; section(d, &m, "RFC822", "", 0, 0) ; }
  sections(d, sp, &m) ;
  mime_free(&m) ;
  return 1 ;
}

/* The items of message i that need its contents, from the cache (and
   its header block for HEADER.FIELDS, and for an ENVELOPE the entry
   does not hold), in contents()'s order. 0: not all are cached (nothing
   sent). */
static int cached (imapd *d, int *sp, size_t i)
{
  static char const *const names[] = { "ENVELOPE ", "BODYSTRUCTURE ", "BODY " } ;
  static unsigned const items[] = { IMAPF_ENVELOPE, IMAPF_BODYSTRUCTURE, IMAPF_BODY } ;
  mime_msg h = MIME_MSG_ZERO ;
  stralloc env = STRALLOC_ZERO ;   /* an ENVELOPE made from the header block */
  imapcache_entry e ;
  int envhdr ;
  if (!imapd_cache_fetchable(&F) || !imapd_cache_get(d, i, &e)) return 0 ;
  envhdr = F.items & IMAPF_ENVELOPE && !e.s[IMAPCACHE_ENV] ;
  if (envhdr && !e.s[IMAPCACHE_HDR]) return 0 ;
  for (unsigned k = 1 ; k < 3 ; k++) if (F.items & items[k] && !e.s[k]) return 0 ;
  /* the same entry again: e stays valid */
  if ((F.nsec || envhdr) && !imapd_cache_header(d, i, &h)) return 0 ;
  for (unsigned k = 0 ; k < 3 ; k++)
  {
    if (!(F.items & items[k])) continue ;
    if (!k && envhdr && !mime_envelope(&env, &h, 0)) imapd_nomem(d) ;
    sep(d, sp) ; imapd_puts(d, names[k]) ;
    if (!k && envhdr) imapd_put(d, env.s, env.len) ; else imapd_put(d, e.s[k], e.len[k]) ;
  }
  if (F.nsec) sections(d, sp, &h) ;
  mime_free(&h) ;
  /* made once: the entry keeps it from now on */
  if (envhdr) imapd_cache_addenv(d, i, env.s, env.len) ;
  stralloc_free(&env) ;
  return 1 ;
}

static int hasbinary (void)
{
  for (unsigned k = 0 ; k < F.nsec ; k++) if (F.sec[k].kind != IMAPSEC_BODY) return 1 ;
  return 0 ;
}

/* BINARY sections of message i: mapped into pre, their encodings known.
   1 ok; 0 it is gone; -1 an unknown encoding (nothing mapped). */
static int binarycheck (imapd *d, size_t i)
{
  int fd = imapbox_open(&d->box, i), ok ;
  if (fd < 0) return 0 ;
  ok = mime_map(&pre, fd) ;
  fd_close(fd) ;
  if (!ok) return 0 ;
  if (!imapd_binary_check(&pre, &F)) { mime_free(&pre) ; return -1 ; }
  premapped = 1 ;
  return 1 ;
}

static int preseen (size_t i)
{
  return i / 8 < seenbits.len && seenbits.s[i / 8] & (1 << (i % 8)) ;
}

/* RFC 7162 3.1: under CONDSTORE a response that tells flags tells their
   MODSEQ, which a change gets at a sync under the index lock (as STORE's
   do): so this FETCH's \Seen is set on its messages first (not on one
   whose BINARY part has an unknown encoding: RFC 3516 4.3), then the
   sync, then the responses. */
static void presee (imapd *d)
{
  imapbox_changes c1 = IMAPBOX_CHANGES_ZERO, c2 = IMAPBOX_CHANGES_ZERO ;
  size_t n = d->set.len / sizeof (size_t) ;
  int locked = imapbox_lock(&d->box), ok ;
  seenbits.len = 0 ;
  if (!stralloc_ready(&seenbits, imapbox_len(&d->box) / 8 + 1)) imapd_nomem(d) ;
  seenbits.len = imapbox_len(&d->box) / 8 + 1 ;
  memset(seenbits.s, 0, seenbits.len) ;
  ok = imapbox_sync(&d->box, 0, &c1) ;
  for (size_t k = 0 ; ok && k < n ; k++)
  {
    size_t i = ((size_t *)d->set.s)[k] ;
    imapmsg const *m = imapbox_msg(&d->box, i) ;
    if (m->gone || m->flags & IMAPF_SEEN || (F.changedsince && m->modseq <= F.modseq)) continue ;
    if (hasbinary())
    {
      int r = binarycheck(d, i) ;
      if (r > 0) { mime_free(&pre) ; premapped = 0 ; }
      if (r <= 0) continue ;
    }
    if (imapbox_store(&d->box, i, IMAPBOX_ADD, IMAPF_SEEN, 0)) seenbits.s[i / 8] |= 1 << (i % 8) ;
  }
  if (ok) ok = imapbox_sync(&d->box, 0, &c2) ;
  if (locked) imapbox_unlock(&d->box) ;
  if (!ok) strerr_warnwu2sys("read folder ", d->folder.s) ;
  imapd_report(d, &c1) ;
  imapd_report(d, &c2) ;
  imapbox_changes_free(&c1) ;
  imapbox_changes_free(&c2) ;
}

/* One message's FETCH response. 0: it is gone (nothing sent). */
static int one (imapd *d, size_t i, int seen)
{
  imapmsg const *msg = imapbox_msg(&d->box, i) ;
  int sp = 0, flags = !!(F.items & IMAPF_FLAGS), modseq = !!(F.items & IMAPF_MODSEQ) ;
  if (msg->gone) return 0 ;
  /* RFC 3516 4.3: an unknown encoding fails the FETCH, before \Seen */
  switch (hasbinary() ? binarycheck(d, i) : 1)
  {
    case 0 : return 0 ;
    case -1 : unknowncte = 1 ; return 1 ;
  }
  if (seen && !d->readonly && !(msg->flags & IMAPF_SEEN))
  {
    if (!imapbox_store(&d->box, i, IMAPBOX_ADD, IMAPF_SEEN, 0)) { if (premapped) { mime_free(&pre) ; premapped = 0 ; } return 0 ; }
    flags = 1 ;   /* RFC 3501 6.4.5: the change is reported */
    msg = imapbox_msg(&d->box, i) ;
  }
  if (preseen(i)) flags = modseq = 1 ;
  imapd_puts(d, "* ") ; imapd_putu(d, i + 1) ; imapd_puts(d, " FETCH (") ;
  if (F.items & IMAPF_UID) { sep(d, &sp) ; imapd_puts(d, "UID ") ; imapd_putu(d, msg->uid) ; }
  if (flags) { sep(d, &sp) ; imapd_puts(d, "FLAGS ") ; imapd_flaglist(d, i) ; }
  if (modseq) { sep(d, &sp) ; imapd_puts(d, "MODSEQ (") ; imapd_putu(d, msg->modseq) ; imapd_puts(d, ")") ; }
  if (F.items & IMAPF_INTERNALDATE)
  {
    sep(d, &sp) ; imapd_puts(d, "INTERNALDATE ") ;
    imapd_ok(d, imapw_date(&d->io, imapbox_date(&d->box, i), 0)) ;
  }
  if (F.items & IMAPF_RFC822_SIZE) { sep(d, &sp) ; imapd_puts(d, "RFC822.SIZE ") ; imapd_putu(d, msg->vsize) ; }
  if ((F.items & NEEDMIME || F.nsec) && !cached(d, &sp, i) && !contents(d, &sp, i))
  {
    /* the file went away under us: the response is already begun */
    if (errno != ENOENT) strerr_warnwu2sys("read message in ", d->folder.s) ;
    imapd_puts(d, ")\r\n") ;
    return 0 ;
  }
  imapd_puts(d, ")\r\n") ;
  return 1 ;
}

/* Sections must be valid before the first response is begun. */
static int checksections (void)
{
  mime_msg m = MIME_MSG_ZERO ;
  stralloc sa = STRALLOC_ZERO, gen = STRALLOC_ZERO ;
  int ok = mime_parse(&m, "", 0) ;
  for (unsigned k = 0 ; ok > 0 && k < F.nsec ; k++)
  {
    char const *spec ;
    size_t n ;
    mime_sect r ;
    sa.len = 0 ;
    if (!imapfetch_secname(&sa, &F.sec[k])) { ok = -1 ; break ; }
    specof(sa.s, sa.len, &spec, &n) ;
    if (mime_section(&m, spec, n, &r, &gen) == -1) ok = 0 ;
  }
  mime_free(&m) ;
  stralloc_free(&sa) ;
  stralloc_free(&gen) ;
  return ok ;
}

void imapd_fetch (imapd *d)
{
  char const *err ;
  size_t n ;
  unsigned gone = 0 ;
  int seen ;
  if (imapcmd_nargs(&d->c) < 2) { imapd_bad(d, "FETCH takes a sequence set and items") ; return ; }
  if (!imapfetch_parse(&d->c, imapcmd_arg(&d->c, 1), d->c.uid, &F, &err)) { imapd_bad(d, err) ; return ; }
  if (F.vanished && !d->qresync) { imapd_bad(d, "QRESYNC is not enabled") ; return ; }
  switch (checksections())
  {
    case -1 : imapd_nomem(d) ;
    case 0 : imapd_bad(d, "invalid section") ; return ;
  }
  if (!imapd_msgset(d, imapcmd_arg(&d->c, 0), d->c.uid, &d->set)) return ;
  if (d->c.uid || d->qresync) F.items |= IMAPF_UID ;
  /* RFC 7162 3.1.4: CHANGEDSINCE implies MODSEQ; either enables CONDSTORE */
  if (F.changedsince) F.items |= IMAPF_MODSEQ ;
  if (F.items & IMAPF_MODSEQ) imapd_condstore(d) ;
  if (F.vanished) imapd_vanished_since(d, F.modseq, imapcmd_arg(&d->c, 0), 0) ;
  seen = imapfetch_sets_seen(&F) ;
  unknowncte = 0 ;
  seenbits.len = 0 ;
  if (seen && d->condstore && !d->readonly) presee(d) ;
  n = d->set.len / sizeof (size_t) ;
  for (size_t k = 0 ; k < n ; k++)
  {
    size_t i = ((size_t *)d->set.s)[k] ;
    if (F.changedsince && imapbox_msg(&d->box, i)->modseq <= F.modseq) continue ;
    gone += !one(d, i, seen) ;
  }
  d->nfetch += n ;
  imapd_cache_done(d) ;
  if (unknowncte) imapd_tagged(d, "NO", "UNKNOWN-CTE", "a part has a transfer encoding this server cannot decode") ;
  else if (gone) imapd_tagged(d, "NO", "EXPUNGEISSUED", "some of the messages were expunged") ;
  else imapd_tagged(d, "OK", 0, "FETCH completed") ;
}
