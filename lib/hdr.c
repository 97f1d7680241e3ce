#include <string.h>
#include <strings.h>
#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>
#include "hdr.h"

/* End of the line starting at pos: the index of its LF, or len. (s may be
   null when len is 0: an empty stralloc; no arithmetic on it then.) */
static size_t line_end (char const *s, size_t len, size_t pos)
{
  if (pos >= len) return len ;
  return pos + byte_chr(s + pos, len - pos, '\n') ;
}

static int is_empty_line (char const *s, size_t len, size_t pos)
{
  if (pos < len && s[pos] == '\n') return 1 ;
  return pos + 1 < len && s[pos] == '\r' && s[pos+1] == '\n' ;
}

static int is_blank (char c) { return c == ' ' || c == '\t' ; }
static int is_eol (char c) { return c == '\r' || c == '\n' ; }

int hdr_split (char const *s, size_t len, unsigned int maxlines, size_t *hlen)
{
  size_t pos = 0 ;
  unsigned int lines = 0 ;
  for (;;)
  {
    size_t e ;
    if (is_empty_line(s, len, pos)) { *hlen = pos ; return HDR_END ; }
    if (lines >= maxlines) { *hlen = pos ; return HDR_LIMIT ; }
    e = line_end(s, len, pos) ;
    if (e >= len) { *hlen = pos ; return HDR_MORE ; }
    pos = e + 1 ;
    lines++ ;
  }
}

/* Length of a field name at s[0..n) followed by optional blanks and ':';
   0 if the line does not start with one. *colon = index of the colon. */
static size_t name_len (char const *s, size_t n, size_t *colon)
{
  size_t i = 0, j ;
  while (i < n && s[i] > 32 && s[i] < 127 && s[i] != ':') i++ ;
  j = i ;
  while (j < n && is_blank(s[j])) j++ ;
  if (!i || j >= n || s[j] != ':') return 0 ;
  *colon = j ;
  return i ;
}

int hdr_next (char const *s, size_t len, size_t *pos, hdr_field *f)
{
  size_t p = *pos, e, colon = 0, vstart, vend ;
  if (p >= len || is_empty_line(s, len, p)) return 0 ;
  if (s[p] == '\r' && p + 1 == len) return 0 ;
  e = line_end(s, len, p) ;
  f->name = s + p ;
  f->namelen = is_blank(s[p]) ? 0 : name_len(s + p, e - p, &colon) ;
  vstart = f->namelen ? p + colon + 1 : p ;
  /* take in the continuation lines */
  while (e + 1 < len && is_blank(s[e+1])) e = line_end(s, len, e + 1) ;
  vend = e ;
  if (vend > vstart && s[vend-1] == '\r') vend-- ;
  f->value = s + vstart ;
  f->valuelen = vend - vstart ;
  *pos = e < len ? e + 1 : len ;
  return 1 ;
}

int hdr_is (hdr_field const *f, char const *name)
{
  size_t n = strlen(name) ;
  return f->namelen == n && !strncasecmp(f->name, name, n) ;
}

/* Bounds of the value without leading and trailing blanks and line ends. */
static void trim (hdr_field const *f, size_t *a, size_t *b)
{
  size_t i = 0, j = f->valuelen ;
  while (i < j && (is_blank(f->value[i]) || is_eol(f->value[i]))) i++ ;
  while (j > i && (is_blank(f->value[j-1]) || is_eol(f->value[j-1]))) j-- ;
  *a = i ; *b = j ;
}

static char lower (char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c ; }

int hdr_value_is (hdr_field const *f, char const *want)
{
  size_t i, j ;
  trim(f, &i, &j) ;
  for (; i < j ; i++)
  {
    if (is_eol(f->value[i])) continue ;  /* unfolding removes line ends */
    if (!*want || lower(f->value[i]) != lower(*want)) return 0 ;
    want++ ;
  }
  return !*want ;
}

int hdr_unfold (stralloc *sa, hdr_field const *f)
{
  size_t i, j ;
  trim(f, &i, &j) ;
  sa->len = 0 ;
  if (!stralloc_readyplus(sa, j - i + 1)) return 0 ;
  for (; i < j ; i++)
    if (!is_eol(f->value[i])) sa->s[sa->len++] = f->value[i] ;
  sa->s[sa->len] = 0 ;
  return 1 ;
}

int hdr_has (char const *s, size_t len, char const *name, char const *value)
{
  size_t pos = 0 ;
  hdr_field f ;
  while (hdr_next(s, len, &pos, &f))
    if (hdr_is(&f, name) && hdr_value_is(&f, value)) return 1 ;
  return 0 ;
}
