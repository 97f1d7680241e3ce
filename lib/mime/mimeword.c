#include <string.h>
#include <strings.h>
#include "mime/mimeword.h"

/* =?charset?E?text?= at s[0..n): its length, or 0 */
static size_t word(char const *s, size_t n, size_t *cs, size_t *csl, char *enc, size_t *t, size_t *tl)
{
  if (n < 8 || s[0] != '=' || s[1] != '?') return 0;
  size_t i = 2;
  while (i < n && s[i] != '?' && s[i] > ' ') i++;
  if (i == 2 || i + 3 >= n || s[i] != '?' || s[i + 2] != '?') return 0;
  *cs = 2; *csl = i - 2;
  *enc = s[i + 1] | 0x20;
  if (*enc != 'b' && *enc != 'q') return 0;
  size_t a = i + 3, j = a;
  while (j + 1 < n && !(s[j] == '?' && s[j + 1] == '=') && s[j] > ' ') j++;
  if (j + 1 >= n || s[j] != '?') return 0;
  *t = a; *tl = j - a;
  return j + 2;
}

static int decode(stralloc *sa, char const *s, size_t cs, size_t csl, char enc, size_t t, size_t tl)
{
  stralloc raw = STRALLOC_ZERO;
  int r = enc == 'b' ? mime_unbase64(&raw, s + t, tl) : mime_unqp(&raw, s + t, tl, 1);
  r = r ? mime_charset(sa, s + cs, csl, raw.s ? raw.s : "", raw.len) : -1;
  stralloc_free(&raw);
  return r;
}

int mime_words(stralloc *sa, char const *s, size_t n)
{
  size_t i = 0, pend = 0, pendlen = 0;   /* blanks after an encoded word, held back */
  int after = 0;
  while (i < n) {
    size_t cs, csl, t, tl, k = 0;
    char enc;
    if (s[i] == '=' && (i == 0 || after || strchr(" \t\r\n(\"", s[i - 1]))) k = word(s + i, n - i, &cs, &csl, &enc, &t, &tl);
    if (k) {
      int r = decode(sa, s + i, cs, csl, enc, t, tl);
      if (r < 0) return 0;
      if (r > 0) {
        after = 1; pendlen = 0; i += k;
        continue;
      }
    }
    if (s[i] == '\r' || s[i] == '\n') { i++; continue; }
    if (after && (s[i] == ' ' || s[i] == '\t')) {     /* maybe between two words */
      if (!pendlen) pend = i;
      pendlen++; i++;
      continue;
    }
    if (pendlen) {
      for (size_t j = pend; j < i; j++)
        if (s[j] != '\r' && s[j] != '\n' && !stralloc_catb(sa, s + j, 1)) return 0;
      pendlen = 0;
    }
    after = 0;
    {
      /* a run of plain text: up to where a word or a line end may be */
      size_t j = i + 1;
      while (j < n && s[j] != '=' && s[j] != '\r' && s[j] != '\n') j++;
      if (!stralloc_catb(sa, s + i, j - i)) return 0;
      i = j;
    }
  }
  return 1;
}
