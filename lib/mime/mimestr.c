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

static int cat(stralloc *sa, char const *s, size_t n, int lower)
{
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!c) c = (char)0x80;
    else if (lower && c >= 'A' && c <= 'Z') c += 32;
    if (!stralloc_catb(sa, &c, 1)) return 0;
  }
  return 1;
}

static int str(stralloc *sa, char const *s, size_t n, int lower)
{
  if (quotable(s, n)) {
    if (!stralloc_catb(sa, "\"", 1)) return 0;
    for (size_t i = 0; i < n; i++) {
      if ((s[i] == '"' || s[i] == '\\') && !stralloc_catb(sa, "\\", 1)) return 0;
      if (!cat(sa, s + i, 1, lower)) return 0;
    }
    return stralloc_catb(sa, "\"", 1);
  }
  char b[32];
  int k = snprintf(b, sizeof b, "{%zu}\r\n", n);
  return stralloc_catb(sa, b, k) && cat(sa, s, n, lower);
}

int mimestr_string(stralloc *sa, char const *s, size_t n) { return str(sa, s, n, 0); }
int mimestr_lower(stralloc *sa, char const *s, size_t n) { return str(sa, s, n, 1); }
int mimestr_nstring(stralloc *sa, char const *s, size_t n)
{
  return s ? str(sa, s, n, 0) : stralloc_cats(sa, "NIL");
}
