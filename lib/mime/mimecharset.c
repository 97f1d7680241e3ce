/* Single-byte charsets to UTF-8; base64 and quoted-printable. */
#include <string.h>
#include <strings.h>
#include "mime/mimeword.h"

/* Windows-1252 0x80..0x9f (0: undefined, sent as U+FFFD) */
static const unsigned short cp1252[32] = {
  0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
  0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static unsigned int latin9(unsigned char c)
{
  switch (c) {
    case 0xa4: return 0x20ac; case 0xa6: return 0x0160; case 0xa8: return 0x0161;
    case 0xb4: return 0x017d; case 0xb8: return 0x017e; case 0xbc: return 0x0152;
    case 0xbd: return 0x0153; case 0xbe: return 0x0178; default: return c;
  }
}

static int utf8(stralloc *sa, unsigned int u)
{
  char b[3];
  if (u < 0x80) { b[0] = u; return stralloc_catb(sa, b, 1); }
  if (u < 0x800) { b[0] = 0xc0 | u >> 6; b[1] = 0x80 | (u & 63); return stralloc_catb(sa, b, 2); }
  b[0] = 0xe0 | u >> 12; b[1] = 0x80 | ((u >> 6) & 63); b[2] = 0x80 | (u & 63);
  return stralloc_catb(sa, b, 3);
}

static int named(char const *cs, size_t n, char const *const *names)
{
  for (; *names; names++)
    if (strlen(*names) == n && !strncasecmp(cs, *names, n)) return 1;
  return 0;
}

int mime_charset(stralloc *sa, char const *cs, size_t csl, char const *s, size_t n)
{
  static char const *const same[] = { "utf-8", "utf8", "us-ascii", "ascii", "us", "ansi_x3.4-1968", 0 };
  static char const *const l1[] = { "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1", "iso-ir-100", "cp819", 0 };
  static char const *const l9[] = { "iso-8859-15", "iso8859-15", "iso_8859-15", "latin-9", "latin9", 0 };
  static char const *const w[] = { "windows-1252", "cp1252", "x-cp1252", 0 };
  char const *star = csl ? memchr(cs, '*', csl) : 0;
  int kind;
  if (star) csl = star - cs;
  kind = named(cs, csl, same) ? 0 : named(cs, csl, l1) ? 1 : named(cs, csl, l9) ? 2 : named(cs, csl, w) ? 3 : -1;
  if (kind < 0) return 0;
  if (!kind) return stralloc_catb(sa, s, n) ? 1 : -1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    unsigned int u = c;
    if (kind == 2) u = latin9(c);
    else if (kind == 3 && c >= 0x80 && c < 0xa0) u = cp1252[c - 0x80] ? cp1252[c - 0x80] : 0xfffd;
    if (!utf8(sa, u)) return -1;
  }
  return 1;
}

static int b64val(unsigned char c)
{
  return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
       : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
}

int mime_unbase64(stralloc *sa, char const *s, size_t n)
{
  unsigned int acc = 0, bits = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '=') break;
    int v = b64val(s[i]);
    if (v < 0) continue;
    acc = (acc << 6 | v) & 0xffffff; bits += 6;
    if (bits >= 8) { bits -= 8; char c = acc >> bits; if (!stralloc_catb(sa, &c, 1)) return 0; }
  }
  return 1;
}

static int hex(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int mime_unqp(stralloc *sa, char const *s, size_t n, int q)
{
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '_' && q) c = ' ';
    else if (c == '=' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) { c = hex(s[i + 1]) * 16 + hex(s[i + 2]); i += 2; }
    else if (c == '=' && !q) {                /* soft line break: "=", blanks, line end */
      size_t j = i + 1;
      while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) j++;
      if (j >= n) break;
      if (s[j] == '\n') { i = j; continue; }
    }
    if (!stralloc_catb(sa, &c, 1)) return 0;
  }
  return 1;
}
