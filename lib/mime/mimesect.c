#include <string.h>
#include <strings.h>
#include "hdr.h"
#include "mime/mimesect.h"

typedef struct { char const *s ; size_t n ; } name ;

static int kw(char const *s, size_t n, size_t *pos, char const *want)
{
  size_t l = strlen(want);
  if (n - *pos < l || strncasecmp(s + *pos, want, l)) return 0;
  *pos += l;
  return 1;
}

/* " (a "b" c)" -> names (pointing into s; quoted ones with escapes kept) */
static int header_list(char const *s, size_t n, size_t pos, name *v, unsigned int *nv)
{
  *nv = 0;
  if (pos >= n || s[pos++] != ' ' || pos >= n || s[pos++] != '(') return 0;
  for (;;) {
    if (pos < n && s[pos] == ')' && *nv) return pos + 1 == n;
    if (*nv && (pos >= n || s[pos++] != ' ')) return 0;
    if (*nv >= MIMESECT_FIELDS || pos >= n) return 0;
    size_t a = pos;
    if (s[pos] == '"') {
      for (pos++; pos < n && s[pos] != '"'; pos++) if (s[pos] == '\\') pos++;
      if (pos >= n) return 0;
      v[*nv] = (name){ s + a + 1, pos - a - 1 };
      pos++;
    } else {
      while (pos < n && s[pos] > ' ' && s[pos] < 0x7f && !strchr("()\"{%*\\", s[pos])) pos++;
      if (pos == a) return 0;
      v[*nv] = (name){ s + a, pos - a };
    }
    (*nv)++;
  }
}

static int name_in(hdr_field const *f, name const *v, unsigned int nv)
{
  for (unsigned int i = 0; i < nv; i++) {
    size_t k = 0, j = 0;
    for (; j < v[i].n && k < f->namelen; j++, k++) {
      if (v[i].s[j] == '\\' && j + 1 < v[i].n) j++;
      char a = v[i].s[j], b = f->name[k];
      if (a >= 'A' && a <= 'Z') a += 32;
      if (b >= 'A' && b <= 'Z') b += 32;
      if (a != b) break;
    }
    if (j == v[i].n && k == f->namelen) return 1;
  }
  return 0;
}

static int append_crlf(stralloc *sa, char const *s, size_t n)
{
  mime_crlf c;
  char buf[1024];
  size_t k;
  mime_crlf_init(&c, s, n);
  while ((k = mime_crlf_read(&c, buf, sizeof buf)))
    if (!stralloc_catb(sa, buf, k)) return 0;
  return 1;
}

static int fields(mime_msg const *m, mime_part const *e, int not, name const *v, unsigned int nv,
                  mime_sect *r, stralloc *gen)
{
  size_t pos = 0, hl = e->body - e->hdr;
  char const *h = m->s + e->hdr;
  hdr_field f;
  if (hl > MIME_HDR_MAX) hl = MIME_HDR_MAX;
  r->gen = 1; r->off = gen->len;
  while (hdr_next(h, hl, &pos, &f)) {
    if (!f.namelen || name_in(&f, v, nv) == not) continue;
    if (!append_crlf(gen, f.name, f.value + f.valuelen - f.name) || !stralloc_catb(gen, "\r\n", 2)) return -2;
  }
  if (!stralloc_catb(gen, "\r\n", 2)) return -2;
  r->len = r->size = gen->len - r->off;
  return 1;
}

static int range(mime_msg const *m, size_t a, size_t b, mime_sect *r)
{
  r->gen = 0; r->off = a; r->len = b - a; r->size = mime_crlfsize(m, a, b);
  return 1;
}

int mime_section(mime_msg const *m, char const *s, size_t n, mime_sect *r, stralloc *gen)
{
  uint32_t nums[MIMESECT_NUMS] = { 0 };
  unsigned int nn = 0;
  size_t pos = 0;
  int ismsg = 0;
  while (pos < n && s[pos] >= '0' && s[pos] <= '9') {
    uint64_t v = 0;
    while (pos < n && s[pos] >= '0' && s[pos] <= '9' && v <= 0xffffffffu) v = v * 10 + (s[pos++] - '0');
    if (!v || v > 0xffffffffu || nn >= MIMESECT_NUMS) return -1;
    nums[nn++] = v;
    if (pos < n && s[pos] == '.' && pos + 1 < n && s[pos + 1] >= '0' && s[pos + 1] <= '9') pos++;
    else break;
  }
  if (nn && pos < n && (s[pos++] != '.' || pos == n)) return -1;
  long i = mime_find(m, nums, nn, &ismsg);
  if (pos == n) {
    if (nn && i < 0) return 0;
    return nn ? range(m, m->p[i].body, m->p[i].end, r) : range(m, 0, m->len, r);
  }
  int what = kw(s, n, &pos, "HEADER.FIELDS.NOT") ? 3 : kw(s, n, &pos, "HEADER.FIELDS") ? 2
           : kw(s, n, &pos, "HEADER") ? 1 : kw(s, n, &pos, "TEXT") ? 4 : kw(s, n, &pos, "MIME") ? 5 : 0;
  name v[MIMESECT_FIELDS];
  unsigned int nv = 0;
  if (!what || (what == 5 && !nn)) return -1;
  if ((what == 2 || what == 3) ? !header_list(s, n, pos, v, &nv) : pos != n) return -1;
  if (i < 0) return 0;
  mime_part const *p = m->p + i;
  if (what == 5) return range(m, p->hdr, p->body, r);
  if (!ismsg) {
    if (p->kind != MIME_MSG) return 0;
    p = m->p + p->child;
  }
  if (what == 1) return range(m, p->hdr, p->body, r);
  if (what == 4) return range(m, p->body, p->end, r);
  return fields(m, p, what == 3, v, nv, r, gen);
}
