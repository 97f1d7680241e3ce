#include <errno.h>
#include <string.h>
#include <strings.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>
#include "tlspolicy.h"

static char const *const names[] = { "none", "may", "encrypt", "verify" };

char const *tlspolicy_name(int p)
{
  return p >= 0 && p < (int)(sizeof names / sizeof *names) ? names[p] : "?";
}

int tlspolicy_scan(char const *s, size_t n)
{
  for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
    if (strlen(names[i]) == n && !strncasecmp(s, names[i], n)) return i;
  return -1;
}

static int isws(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Letters, digits, '-', '.', '_', and ':' '[' ']' for address literals. */
static int domain_ok(char const *s, size_t n)
{
  if (n == 1 && *s == '*') return 1;
  if (!n || n > 255 || (*s == '.' && n == 1)) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '.' || c == '_' || c == ':' || c == '[' || c == ']')) return 0;
  }
  return 1;
}

/* How well entry e[0..n) fits domain d: 0 not at all; else higher is more
   specific (the domain itself beats any suffix, a longer suffix a shorter). */
static size_t fit(char const *e, size_t n, char const *d)
{
  size_t dl = strlen(d);
  if (n == 1 && *e == '*') return 1;
  if (*e != '.') return n == dl && !strncasecmp(e, d, n) ? 2 + 256 : 0;
  return dl > n && !strncasecmp(e, d + dl - n, n) ? 2 + n : 0;
}

int tlspolicy_find(char const *s, size_t n, char const *domain, int *policy,
                   unsigned int *line, char const **why)
{
  size_t best = 0;
  *policy = TLSPOLICY_MAY;
  *line = 0;
  while (n) {
    char const *eol = memchr(s, '\n', n);
    size_t len = eol ? (size_t)(eol - s) : n, i = 0, d0, dn, p0, pn;
    char const *ln = s;
    int p;
    s += eol ? len + 1 : len;
    n -= eol ? len + 1 : len;
    ++*line;
    if (len > TLSPOLICY_LINEMAX) { *why = "line too long"; return 0; }
    while (i < len && isws(ln[i])) i++;
    if (i == len || ln[i] == '#') continue;
    d0 = i;
    while (i < len && !isws(ln[i])) i++;
    dn = i - d0;
    while (i < len && isws(ln[i])) i++;
    p0 = i;
    while (i < len && !isws(ln[i])) i++;
    pn = i - p0;
    while (i < len && isws(ln[i])) i++;
    if (!pn) { *why = "no policy after the domain"; return 0; }
    if (i < len && ln[i] != '#') { *why = "more than DOMAIN POLICY"; return 0; }
    if (!domain_ok(ln + d0, dn)) { *why = "invalid domain"; return 0; }
    if ((p = tlspolicy_scan(ln + p0, pn)) < 0) { *why = "unknown policy (none, may, encrypt or verify)"; return 0; }
    size_t f = fit(ln + d0, dn, domain);
    if (f > best) { best = f; *policy = p; }
  }
  *line = 0;
  *why = 0;
  return 1;
}

int tlspolicy_read(char const *file, char const *domain, int *policy,
                   unsigned int *line, char const **why)
{
  stralloc sa = STRALLOC_ZERO;
  ssize_t r;
  int ok;
  *line = 0;
  *why = 0;
  *policy = TLSPOLICY_MAY;
  if (!stralloc_ready(&sa, TLSPOLICY_FILEMAX + 1)) return 0;
  r = openreadnclose(file, sa.s, TLSPOLICY_FILEMAX + 1);
  if (r < 0) {
    stralloc_free(&sa);
    return errno == ENOENT;
  }
  if (r > TLSPOLICY_FILEMAX) { stralloc_free(&sa); *why = "file too large"; return 0; }
  ok = tlspolicy_find(sa.s, r, domain, policy, line, why);
  stralloc_free(&sa);
  return ok;
}

int tlspolicy_get(char const *file, char const *domain, int *policy, stralloc *why)
{
  unsigned int line;
  char const *w;
  char fmt[UINT_FMT];
  if (tlspolicy_read(file, domain, policy, &line, &w)) return 1;
  if (!w) w = strerror(errno);
  fmt[uint_fmt(fmt, line)] = 0;
  if (stralloc_cats(why, file) && (!line || (stralloc_cats(why, " line ") && stralloc_cats(why, fmt))))
    if (stralloc_cats(why, ": ")) stralloc_cats(why, w);
  return 0;
}
