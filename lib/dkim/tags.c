#include <string.h>
#include <strings.h>
#include "dkim/tags.h"

/* FWS, unfolded or not: a parsed value may still hold its line ends. */
static int is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_alnumpunc(char c) { return is_alpha(c) || (c >= '0' && c <= '9') || c == '_'; }
static int is_valchar(char c) { return c >= 0x21 && c <= 0x7e && c != ';'; }

static size_t skip_fws(char const *s, size_t len, size_t i)
{
  while (i < len && is_fws(s[i])) i++;
  return i;
}

/* One tag-spec from s[i]; *i past it (at ';' or len). */
static int spec(dkim_tag *g, char const *s, size_t len, size_t *pi, char const **why)
{
  size_t i = skip_fws(s, len, *pi), e;
  g->name = s + i;
  if (i >= len || !is_alpha(s[i])) { *why = "tag name expected"; return 0; }
  while (i < len && is_alnumpunc(s[i])) i++;
  g->namelen = s + i - g->name;
  i = skip_fws(s, len, i);
  if (i >= len || s[i] != '=') { *why = "'=' expected after a tag name"; return 0; }
  g->vstart = ++i;
  i = skip_fws(s, len, i);
  g->val = s + i;
  for (e = i; i < len && s[i] != ';'; i++) {
    if (is_valchar(s[i])) e = i + 1;
    else if (!is_fws(s[i])) { *why = "invalid byte in a tag value"; return 0; }
  }
  g->vallen = s + e - g->val;
  g->vend = i;
  *pi = i;
  return 1;
}

int dkim_tags_parse(dkim_tags *t, char const *s, size_t len, char const **why)
{
  size_t i = 0;
  t->n = 0;
  for (;;) {
    dkim_tag g;
    if (t->n == DKIM_TAGS_MAX) { *why = "too many tags"; return 0; }
    if (!spec(&g, s, len, &i, why)) return 0;
    for (unsigned k = 0; k < t->n; k++)
      if (t->t[k].namelen == g.namelen && !memcmp(t->t[k].name, g.name, g.namelen)) {
        *why = "duplicate tag";
        return 0;
      }
    t->t[t->n++] = g;
    if (i >= len) return 1;
    i = skip_fws(s, len, i + 1);     /* after ';': a final ';' is allowed */
    if (i >= len) return 1;
  }
}

dkim_tag const *dkim_tags_get(dkim_tags const *t, char const *name)
{
  size_t n = strlen(name);
  for (unsigned k = 0; k < t->n; k++)
    if (t->t[k].namelen == n && !memcmp(t->t[k].name, name, n)) return t->t + k;
  return 0;
}

int dkim_tag_is(dkim_tag const *g, char const *v)
{
  return g && strlen(v) == g->vallen && !strncasecmp(g->val, v, g->vallen);
}
