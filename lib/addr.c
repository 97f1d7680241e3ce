#include <string.h>
#include <skalibs/bytestr.h>
#include "addr.h"

size_t addr_at(char const *s, size_t len)
{
  size_t i = byte_rchr(s, len, '@') ;
  return i ;
}

/* RFC 5322 atext, plus UTF-8 bytes (RFC 6531). */
static int isatext(unsigned char c)
{
  if (c >= 0x80) return 1 ;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1 ;
  return c && !!strchr("!#$%&'*+-/=?^_`{|}~", c) ;
}

static int isctl(unsigned char c) { return c < 0x20 || c == 0x7f ; }

/* Quoted string: "..." with \-escapes; any non-control byte inside. */
static int quoted_valid(char const *s, size_t len)
{
  if (len < 2 || s[0] != '"' || s[len-1] != '"') return 0 ;
  for (size_t i = 1 ; i < len - 1 ; i++) {
    unsigned char c = s[i] ;
    if (c == '\t') continue ;
    if (isctl(c)) return 0 ;
    if (c == '"') return 0 ;
    if (c == '\\') {
      if (++i >= len - 1 || (isctl((unsigned char)s[i]) && s[i] != '\t')) return 0 ;
    }
  }
  return 1 ;
}

/* Unquoted local part: atext and dots. Dots are not checked for
   placement: real mail has "a..b" and "a.", and Postfix takes them. */
static int local_valid(char const *s, size_t len)
{
  if (!len || len > ADDR_LOCALMAX) return 0 ;
  if (s[0] == '"') return quoted_valid(s, len) ;
  for (size_t i = 0 ; i < len ; i++)
    if (s[i] != '.' && !isatext((unsigned char)s[i])) return 0 ;
  return 1 ;
}

int addr_domain_valid(char const *s, size_t len)
{
  size_t label = 0 ;
  if (!len || len > 255) return 0 ;
  if (s[0] == '[') {
    if (len < 3 || s[len-1] != ']') return 0 ;
    for (size_t i = 1 ; i < len - 1 ; i++) {
      unsigned char c = s[i] ;
      if (c <= 32 || c >= 127 || c == '[' || c == ']' || c == '\\') return 0 ;
    }
    return 1 ;
  }
  for (size_t i = 0 ; i < len ; i++) {
    unsigned char c = s[i] ;
    if (c == '.') {
      if (!label) return 0 ;
      label = 0 ;
      continue ;
    }
    if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
       || (c >= '0' && c <= '9') || c == '-' || c == '_')) return 0 ;
    if (++label > 63) return 0 ;
  }
  return label > 0 ;
}

int addr_valid(char const *s, size_t len)
{
  size_t at ;
  if (!len || len > ADDR_MAX) return 0 ;
  at = addr_at(s, len) ;
  if (at == len) return 0 ;
  return local_valid(s, at) && addr_domain_valid(s + at + 1, len - at - 1) ;
}

static void lower(char *s, size_t len)
{
  for (size_t i = 0 ; i < len ; i++)
    if (s[i] >= 'A' && s[i] <= 'Z') s[i] += 'a' - 'A' ;
}

/* "abc.def" quoted for nothing: a quoted local part that is a plain
   dot-string means the same as the unquoted one (RFC 5321 4.1.2). */
static int quote_needless(char const *s, size_t len)
{
  if (len < 3 || s[0] != '"' || s[len-1] != '"') return 0 ;
  s++ ; len -= 2 ;
  if (s[0] == '.' || s[len-1] == '.') return 0 ;
  for (size_t i = 0 ; i < len ; i++) {
    if (s[i] == '.') { if (s[i+1] == '.') return 0 ; }
    else if (!isatext((unsigned char)s[i])) return 0 ;
  }
  return 1 ;
}

int addr_canon(stralloc *sa, char const *s, size_t len)
{
  size_t at = addr_at(s, len) ;
  int unq = at < len && quote_needless(s, at) ;
  sa->len = 0 ;
  if (unq) {
    if (!stralloc_catb(sa, s + 1, at - 2) || !stralloc_catb(sa, s + at, len - at)) return 0 ;
  }
  else if (!stralloc_catb(sa, s, len)) return 0 ;
  if (!stralloc_0(sa)) return 0 ;
  sa->len-- ;
  lower(sa->s, sa->len) ;
  return 1 ;
}
