#include <string.h>
#include <skalibs/stralloc.h>
#include "dkim/sig.h"

/* The domain of the address in an unfolded From value: inside <...> if
   there is one, else the whole value; after its last '@'. */
static int domain_of(char *out, char const *v, size_t len)
{
  char const *lt = memchr(v, '<', len), *at = 0, *end;
  if (lt) {
    end = memchr(lt, '>', len - (lt - v));
    if (!end) return 0;
    v = lt + 1;
  } else end = v + len;
  for (char const *p = v; p < end; p++) if (*p == '@') at = p;
  if (!at) return 0;
  size_t n = end - at - 1;
  if (!dkim_name_ok(at + 1, n, DKIM_MAXDOMAIN)) return 0;
  for (size_t i = 0; i < n; i++) out[i] = at[1 + i] >= 'A' && at[1 + i] <= 'Z' ? at[1 + i] + 32 : at[1 + i];
  out[n] = 0;
  return 1;
}

int dkim_from_domain(char *out, dkim_msg const *m)
{
  hdr_field const *f = 0;
  stralloc sa = STRALLOC_ZERO;
  int r;
  for (unsigned i = 0; i < m->n; i++)
    if (hdr_is(m->f + i, "From")) {
      if (f) return 0;                /* two From fields: no single domain */
      f = m->f + i;
    }
  if (!f || !hdr_unfold(&sa, f)) return 0;
  r = domain_of(out, sa.s, sa.len);
  stralloc_free(&sa);
  return r;
}
