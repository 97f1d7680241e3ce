#include <string.h>
#include <strings.h>
#include "smtpcmd.h"

static char *skipsp(char *s)
{
  while (*s == ' ' || *s == '\t') s++;
  return s;
}

/* End of a <path>: the '>' that is not inside a quoted string. */
static char *pathend(char *s)
{
  int q = 0;
  for (; *s; s++) {
    if (q && *s == '\\' && s[1]) s++;
    else if (*s == '"') q = !q;
    else if (!q && *s == '>') return s;
  }
  return 0;
}

int smtpcmd_path(char *s, char const *kw, char **addr, size_t *addrlen, char **params)
{
  size_t n = strlen(kw);
  char *a, *e;
  if (strncasecmp(s, kw, n) || s[n] != ':') return 0;
  s = skipsp(s + n + 1);
  if (*s == '<') {
    a = s + 1;
    e = pathend(a);
    if (!e) return 0;
    s = e + 1;
    if (*a == '@') {              /* source route, obsolete: ignore it */
      char *c = memchr(a, ':', e - a);
      if (!c) return 0;
      a = c + 1;
    }
  } else {
    a = s;
    e = s + strcspn(s, " \t");
    if (e == a) return 0;
    s = e;
  }
  if (*s && *s != ' ' && *s != '\t') return 0;
  if (*s) s++;
  *e = 0;
  *addr = a;
  *addrlen = e - a;
  *params = skipsp(s);
  return 1;
}

int smtpcmd_param(char **p, char **key, char **value)
{
  char *s = skipsp(*p), *k, *v = 0;
  if (!*s) { *p = s; return 0; }
  k = s;
  while (*s && *s != ' ' && *s != '\t') {
    unsigned char c = *s;
    if (c < 33 || c > 126) return -1;
    if (c == '=' && !v) { *s = 0; v = s + 1; }
    s++;
  }
  if (*s) *s++ = 0;
  if (!*k) return -1;
  *p = s;
  *key = k;
  *value = v;
  return 1;
}
