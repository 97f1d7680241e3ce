/* Writing IMAP responses: see imapwrite.h. */
#include <skalibs/types.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <skalibs/stralloc.h>
#include "imapdate.h"
#include "imapmbox.h"
#include "imapseq.h"
#include "imapsearch.h"
#include "imapwrite.h"

int imapw_puts(lineio *l, char const *s)
{
  return lineio_put(l, s, strlen(s)) ;
}

int imapw_putu(lineio *l, uint64_t n)
{
  char buf[UINT64_FMT] ;
  return lineio_put(l, buf, uint64_fmt(buf, n)) ;
}

/* eight: 8-bit bytes may be quoted (UTF-8 of IMAP4rev2, RFC 9051 9) */
static int quotable8(char const *s, size_t len, int eight)
{
  if (len > IMAPWRITE_QUOTEDMAX) return 0 ;
  for (size_t k = 0 ; k < len ; k++) {
    unsigned char ch = s[k] ;
    if (ch < 0x20 || ch == 0x7f || (ch > 0x7f && !eight) || ch == '"' || ch == '\\') return 0 ;
  }
  return 1 ;
}

static int quotable(char const *s, size_t len) { return quotable8(s, len, 0) ; }

int imapw_string(lineio *l, char const *s, size_t len)
{
  if (quotable(s, len))
    return lineio_put(l, "\"", 1) && lineio_put(l, s, len) && lineio_put(l, "\"", 1) ;
  return lineio_put(l, "{", 1) && imapw_putu(l, len) && lineio_put(l, "}\r\n", 3) && lineio_put(l, s, len) ;
}

int imapw_nstring(lineio *l, char const *s, size_t len)
{
  return s ? imapw_string(l, s, len) : lineio_put(l, "NIL", 3) ;
}

static int atomic(char const *s, size_t len)
{
  if (!len || (len == 3 && !strncasecmp(s, "NIL", 3))) return 0 ;
  for (size_t k = 0 ; k < len ; k++) {
    unsigned char ch = s[k] ;
    if (ch <= 0x20 || ch >= 0x7f || strchr("(){%*\"\\", ch)) return 0 ;
  }
  return 1 ;
}

int imapw_astring(lineio *l, char const *s, size_t len)
{
  return atomic(s, len) ? lineio_put(l, s, len) : imapw_string(l, s, len) ;
}

int imapw_mailbox(lineio *l, char const *s, size_t len, int utf8)
{
  stralloc sa = STRALLOC_ZERO ;
  int r ;
  if (utf8 && !atomic(s, len) && quotable8(s, len, 1))
    return lineio_put(l, "\"", 1) && lineio_put(l, s, len) && lineio_put(l, "\"", 1) ;
  if (utf8) return imapw_astring(l, s, len) ;
  r = imapmbox_mutf7_encode(&sa, s, len) ;
  if (!r) errno = EINVAL ;
  r = r == 1 && imapw_astring(l, sa.s, sa.len) ;
  stralloc_free(&sa) ;
  return r ;
}

int imapw_flags(lineio *l, unsigned sys, char const *const *kw, unsigned nkw)
{
  int sp = 0 ;
  if (!lineio_put(l, "(", 1)) return 0 ;
  for (unsigned b = 1 ; b <= IMAPFLAG_RECENT ; b <<= 1) {
    if (!(sys & b)) continue ;
    if ((sp && !lineio_put(l, " ", 1)) || !imapw_puts(l, imapflag_name(b))) return 0 ;
    sp = 1 ;
  }
  for (unsigned k = 0 ; k < nkw ; k++, sp = 1)
    if ((sp && !lineio_put(l, " ", 1)) || !imapw_puts(l, kw[k])) return 0 ;
  return lineio_put(l, ")", 1) ;
}

int imapw_seqset(lineio *l, uint32_t *v, size_t n)
{
  stralloc sa = STRALLOC_ZERO ;
  int r = imapseq_fmt(&sa, v, n) && lineio_put(l, sa.s, sa.len) ;
  stralloc_free(&sa) ;
  return r ;
}

int imapw_date(lineio *l, int64_t t, int zone)
{
  char buf[IMAPDATE_LEN] ;
  return lineio_put(l, buf, imapdate_fmt(buf, t, zone)) ;
}

int imapw_status(lineio *l, char const *tag, char const *status, char const *code, char const *text)
{
  if (!imapw_puts(l, tag && *tag ? tag : "*") || !lineio_put(l, " ", 1) || !imapw_puts(l, status)) return 0 ;
  if (code && *code && !(lineio_put(l, " [", 2) && imapw_puts(l, code) && lineio_put(l, "]", 1))) return 0 ;
  if (text && *text && !(lineio_put(l, " ", 1) && imapw_puts(l, text))) return 0 ;
  return lineio_put(l, "\r\n", 2) ;
}

static int item(lineio *l, char const *name, uint64_t n)
{
  return lineio_put(l, " ", 1) && imapw_puts(l, name) && lineio_put(l, " ", 1) && imapw_putu(l, n) ;
}

int imapw_esearch(lineio *l, char const *tag, int uid, unsigned ret, uint32_t *v, size_t n)
{
  return imapw_esearch_modseq(l, tag, uid, ret, v, n, 0) ;
}

int imapw_esearch_modseq(lineio *l, char const *tag, int uid, unsigned ret, uint32_t *v, size_t n, uint64_t modseq)
{
  uint32_t lo = 0, hi = 0 ;
  for (size_t k = 0 ; k < n ; k++) {
    if (!k || v[k] < lo) lo = v[k] ;
    if (v[k] > hi) hi = v[k] ;
  }
  if (!imapw_puts(l, "* ESEARCH (TAG ") || !imapw_string(l, tag, strlen(tag)) || !lineio_put(l, ")", 1)) return 0 ;
  if (uid && !imapw_puts(l, " UID")) return 0 ;
  if (n && (ret & IMAPSR_MIN) && !item(l, "MIN", lo)) return 0 ;
  if (n && (ret & IMAPSR_MAX) && !item(l, "MAX", hi)) return 0 ;
  if ((ret & IMAPSR_COUNT) && !item(l, "COUNT", n)) return 0 ;
  if (n && (ret & IMAPSR_ALL) && !(imapw_puts(l, " ALL ") && imapw_seqset(l, v, n))) return 0 ;
  if (modseq && !(imapw_puts(l, " MODSEQ ") && imapw_putu(l, modseq))) return 0 ;
  return lineio_put(l, "\r\n", 2) ;
}

static int code(stralloc *sa, char const *name, uint32_t uidvalidity)
{
  char buf[48] ;
  int k = snprintf(buf, sizeof buf, "%s %u ", name, uidvalidity) ;
  return stralloc_catb(sa, buf, k) ;
}

int imapw_code_appenduid(stralloc *sa, uint32_t uidvalidity, uint32_t const *uids, size_t n)
{
  return code(sa, "APPENDUID", uidvalidity) && imapseq_fmt_ordered(sa, uids, n) ;
}

int imapw_code_copyuid(stralloc *sa, uint32_t uidvalidity, uint32_t const *src, uint32_t const *dst, size_t n)
{
  return code(sa, "COPYUID", uidvalidity) && imapseq_fmt_ordered(sa, src, n)
    && stralloc_catb(sa, " ", 1) && imapseq_fmt_ordered(sa, dst, n) ;
}
