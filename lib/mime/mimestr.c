#include <stdio.h>
#include "mime/mimestr.h"

static int quotable(char const *s, size_t n)
{
  if (n > MIMESTR_QUOTEMAX) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    if (!c || c >= 0x80 || c == '\r' || c == '\n') return 0;
  }
  return 1;
}

/* s[0..n) with NUL as 0x80, lowered if asked, '"' and '\\' escaped if
   quoted: written in place, not byte by byte through stralloc_catb */
static int cat(stralloc *sa, char const *s, size_t n, int lower, int quoted)
{
  char *o;
  if (!stralloc_readyplus(sa, quoted ? 2 * n : n)) return 0;
  o = sa->s + sa->len;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!c) c = (char)0x80;
    else if (lower && c >= 'A' && c <= 'Z') c += 32;
    else if (quoted && (c == '"' || c == '\\')) *o++ = '\\';
    *o++ = c;
  }
  sa->len = o - sa->s;
  return 1;
}

static int str(stralloc *sa, char const *s, size_t n, int lower)
{
  if (quotable(s, n))
    return stralloc_catb(sa, "\"", 1) && cat(sa, s, n, lower, 1) && stralloc_catb(sa, "\"", 1);
  char b[32];
  int k = snprintf(b, sizeof b, "{%zu}\r\n", n);
  return stralloc_catb(sa, b, k) && cat(sa, s, n, lower, 0);
}

int mimestr_string(stralloc *sa, char const *s, size_t n) { return str(sa, s, n, 0); }
int mimestr_lower(stralloc *sa, char const *s, size_t n) { return str(sa, s, n, 1); }
int mimestr_nstring(stralloc *sa, char const *s, size_t n)
{
  return s ? str(sa, s, n, 0) : stralloc_cats(sa, "NIL");
}
