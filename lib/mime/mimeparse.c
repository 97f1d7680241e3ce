/* The part tree: one pass over the message, with a stack of the
   enclosing multiparts' boundaries (see mime.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <skalibs/stralloc.h>
#include "hdr.h"
#include "mime/mime.h"
#include "mime/mimeparam.h"

typedef struct { size_t len ; uint32_t h ; char b[MIME_BOUNDARY_MAX] ; } bnd ;
typedef struct {
  mime_msg *m ;
  uint32_t cap ;
  unsigned int nb ;
  int nomem ;
  bnd st[MIME_DEPTH_MAX + 1] ;
} ctx ;
/* a delimiter line [line, next); level -1: none (line = next = len) */
typedef struct { size_t line, next ; int level, close ; } delim ;

static uint32_t fnv(char const *s, size_t n)
{
  uint32_t h = 2166136261u;
  while (n--) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}

/* Is s[pos..e) (a line, LF excluded) a delimiter of a stacked boundary?
   Innermost first; a close delimiter "--b--" after an exact "--b". */
static int is_delim(ctx const *c, size_t pos, size_t e, delim *d)
{
  char const *s = c->m->s;
  if (e - pos < 2 || s[pos] != '-' || s[pos + 1] != '-') return 0;
  while (e > pos + 2 && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) e--;
  char const *core = s + pos + 2;
  size_t cl = e - pos - 2;
  uint32_t h0 = fnv(core, cl), h1 = cl >= 2 ? fnv(core, cl - 2) : 0;
  int canclose = cl >= 2 && core[cl - 1] == '-' && core[cl - 2] == '-';
  for (int l = (int)c->nb - 1; l >= 0; l--) {
    bnd const *b = c->st + l;
    if (b->len == cl && b->h == h0 && !memcmp(b->b, core, cl)) { d->level = l; d->close = 0; return 1; }
    if (canclose && b->len == cl - 2 && b->h == h1 && !memcmp(b->b, core, cl - 2)) { d->level = l; d->close = 1; return 1; }
  }
  return 0;
}

static delim find_delim(ctx const *c, size_t pos)
{
  char const *s = c->m->s;
  size_t len = c->m->len;
  delim d = { len, len, -1, 0 };
  if (!c->nb) return d;
  while (pos < len) {
    char const *nl = memchr(s + pos, '\n', len - pos);
    size_t e = nl ? (size_t)(nl - s) : len;
    if (s[pos] == '-' && is_delim(c, pos, e, &d)) { d.line = pos; d.next = nl ? e + 1 : len; return d; }
    pos = nl ? e + 1 : len;
  }
  return d;
}

/* The part's end: before the line break that belongs to the delimiter. */
static size_t end_before(ctx const *c, delim d, size_t floor)
{
  char const *s = c->m->s;
  size_t e = d.line;
  if (d.level < 0) return e;        /* the end of the message */
  if (e > floor && s[e - 1] == '\n') e--;
  if (e > floor && s[e - 1] == '\r') e--;
  return e;
}

/* Part i ends at delimiter d, not before atleast (the end of its last
   child). A header's empty line may be the line break of the delimiter:
   the body is then empty, at the end. */
static void set_end(ctx const *c, uint32_t i, delim d, size_t atleast)
{
  mime_part *p = c->m->p + i;
  size_t e = end_before(c, d, p->hdr);
  if (e < atleast) e = atleast;
  if (p->body > e) p->body = e;
  p->end = e;
}

static long newpart(ctx *c, uint32_t parent)
{
  mime_msg *m = c->m;
  if (m->n >= MIME_PARTS_MAX) return -1;
  if (m->n == c->cap) {
    uint32_t cap = c->cap ? c->cap * 2 : 16;
    mime_part *p = realloc(m->p, cap * sizeof *p);
    if (!p) { c->nomem = 1; return -1; }
    m->p = p; c->cap = cap;
  }
  mime_part *p = m->p + m->n;
  memset(p, 0, sizeof *p);
  p->parent = parent;
  if (m->n) {
    mime_part *par = m->p + parent;
    p->depth = par->depth + 1;
    if (!par->child) par->child = m->n;
    else m->p[par->last].next = m->n;
    par->last = m->n;
    par->nchild++;
  }
  return m->n++;
}

/* The header: up to and with its empty line, or up to a delimiter. */
static delim scan_header(ctx const *c, mime_part *p, size_t pos)
{
  char const *s = c->m->s;
  size_t len = c->m->len;
  delim d = { len, len, -1, 0 };
  p->hdr = pos;
  while (pos < len) {
    char const *nl = memchr(s + pos, '\n', len - pos);
    size_t e = nl ? (size_t)(nl - s) : len;
    if (e == pos || (e == pos + 1 && s[pos] == '\r')) { p->body = nl ? e + 1 : len; return d; }
    if (c->nb && s[pos] == '-' && is_delim(c, pos, e, &d)) {
      d.line = pos; d.next = nl ? e + 1 : len;
      p->body = pos;                        /* set_end() cuts the line break */
      return d;
    }
    pos = nl ? e + 1 : len;
  }
  p->body = len;
  return d;
}

static const char *const fieldname[MIME_F_N] = {
  "content-type", "content-transfer-encoding", "content-id", "content-description",
  "content-disposition", "content-language", "content-location", "content-md5",
};

static void set_type(mime_msg const *m, mime_part *p, int digest)
{
  char const *s = m->s;
  mime_range f = p->f[MIME_F_TYPE];
  size_t pos = f.off, end = f.off + f.len, a, al, b, bl;
  if (f.len && mimeparam_token(s, end, &pos, &a, &al)
      && (pos = mimeparam_cfws(s, end, pos)) < end && s[pos] == '/'
      && (pos++, mimeparam_token(s, end, &pos, &b, &bl))) {
    p->type = (mime_range){ a, al };
    p->subtype = (mime_range){ b, bl };
    p->params = pos;
    if (mime_is(m, p->type, "multipart")) p->kind = MIME_MULTI;
    else if (mime_is(m, p->type, "message") && mime_is(m, p->subtype, "rfc822")) p->kind = MIME_MSG;
    else if (mime_is(m, p->type, "text")) p->flags |= MIME_TEXT;
    return;
  }
  p->flags |= MIME_DEFTYPE;
  if (digest) { p->flags |= MIME_DIGEST; p->kind = MIME_MSG; }
  else p->flags |= MIME_TEXT;
}

static void scan_fields(ctx const *c, mime_part *p, int digest)
{
  mime_msg const *m = c->m;
  size_t hl = p->body - p->hdr, pos = 0;
  hdr_field f;
  if (hl > MIME_HDR_MAX) hl = MIME_HDR_MAX;
  while (hdr_next(m->s + p->hdr, hl, &pos, &f)) {
    if (f.namelen < 10 || f.namelen > 25) continue;
    for (int k = 0; k < MIME_F_N; k++)
      if (!p->f[k].len && hdr_is(&f, fieldname[k])) { p->f[k] = (mime_range){ (size_t)(f.value - m->s), f.valuelen }; break; }
  }
  set_type(m, p, digest);
  if (p->kind == MIME_MSG && p->f[MIME_F_CTE].len) {
    size_t q = p->f[MIME_F_CTE].off, e = q + p->f[MIME_F_CTE].len, t, tl;
    if (mimeparam_token(m->s, e, &q, &t, &tl)) {
      mime_range r = { t, tl };
      if (!mime_is(m, r, "7bit") && !mime_is(m, r, "8bit") && !mime_is(m, r, "binary")) p->kind = MIME_LEAF, p->flags |= MIME_OPAQUE;
    }
  }
}

static int push_boundary(ctx *c, mime_part const *p)
{
  stralloc b = STRALLOC_ZERO;
  mime_msg const *m = c->m;
  int r = mimeparam_get(&b, m->s, p->f[MIME_F_TYPE].off + p->f[MIME_F_TYPE].len, p->params, "boundary");
  if (r < 0) c->nomem = 1;
  while (b.len && (b.s[b.len - 1] == ' ' || b.s[b.len - 1] == '\t')) b.len--;
  if (r > 0 && b.len && b.len <= MIME_BOUNDARY_MAX) {
    bnd *t = c->st + c->nb++;
    memcpy(t->b, b.s, b.len);
    t->len = b.len;
    t->h = fnv(b.s, b.len);
  } else r = 0;
  stralloc_free(&b);
  return r > 0;
}

static delim scan_entity(ctx *c, uint32_t i, size_t pos, int digest);

static delim scan_multi(ctx *c, uint32_t i)
{
  int level = c->nb - 1, isdigest = mime_is(c->m, c->m->p[i].subtype, "digest");
  delim d = find_delim(c, c->m->p[i].body);
  while (d.level == level && !d.close && !c->nomem) {
    long k = newpart(c, i);
    if (k < 0) { d = find_delim(c, d.next); continue; }
    d = scan_entity(c, k, d.next, isdigest);
  }
  c->nb--;
  if (d.level == level) d = find_delim(c, d.next);   /* the epilogue */
  return d;
}

static delim scan_entity(ctx *c, uint32_t i, size_t pos, int digest)
{
  delim d = scan_header(c, c->m->p + i, pos);
  mime_part *p = c->m->p + i;
  scan_fields(c, p, digest);
  if (p->kind != MIME_LEAF && (p->depth >= MIME_DEPTH_MAX || c->m->n >= MIME_PARTS_MAX))
    p->kind = MIME_LEAF, p->flags |= MIME_OPAQUE;
  if (p->kind == MIME_MULTI && !push_boundary(c, p)) p->kind = MIME_LEAF, p->flags |= MIME_OPAQUE;
  if (p->kind == MIME_MULTI) {
    d = scan_multi(c, i);
    p = c->m->p + i;
    if (!p->nchild) p->kind = MIME_LEAF, p->flags |= MIME_OPAQUE;
    set_end(c, i, d, p->nchild ? c->m->p[p->last].end : 0);
  } else if (p->kind == MIME_MSG) {
    long k = newpart(c, i);
    if (k >= 0) {
      d = scan_entity(c, k, c->m->p[i].body, 0);
      c->m->p[i].end = c->m->p[k].end;     /* the message is the whole body */
    } else {
      d = find_delim(c, p->body);
      p->kind = MIME_LEAF, p->flags |= MIME_OPAQUE;
      set_end(c, i, d, 0);
    }
  } else {
    if (d.level < 0) d = find_delim(c, p->body);
    set_end(c, i, d, 0);
  }
  return d;
}

static int checkpoints(mime_msg *m)
{
  m->nck = m->len / MIME_CHUNK + 1;
  m->ck = malloc(2 * sizeof *m->ck * m->nck);
  if (!m->ck) return 0;
  uint64_t lf = 0, bare = 0;
  for (uint32_t i = 0; i < m->nck; i++) {
    size_t a = (size_t)i * MIME_CHUNK, b = a + MIME_CHUNK < m->len ? a + MIME_CHUNK : m->len;
    m->ck[2 * i] = lf; m->ck[2 * i + 1] = bare;
    for (char const *q; a < b && (q = memchr(m->s + a, '\n', b - a)); a = q - m->s + 1) {
      lf++;
      if (q == m->s || q[-1] != '\r') bare++;
    }
  }
  return 1;
}

int mime_parse(mime_msg *m, char const *s, size_t len)
{
  ctx *c = malloc(sizeof *c);
  m->s = s; m->len = len; m->p = 0; m->n = 0; m->ck = 0;
  if (!c) return 0;
  c->m = m; c->cap = 0; c->nb = 0; c->nomem = 0;
  if (!checkpoints(m) || newpart(c, 0) < 0) c->nomem = 1;
  else scan_entity(c, 0, 0, 0);
  int nomem = c->nomem;
  free(c);
  if (nomem) { free(m->p); free(m->ck); m->p = 0; m->ck = 0; m->n = 0; errno = ENOMEM; return 0; }
  return 1;
}
