/* libFuzzer target: lib/mime on a whole message (the input), as
   imap-serve will run it on every stored message. Besides "no crash",
   it checks what lib/mime's headers promise, and aborts when that does
   not hold: the tree's bounds and ranges (parts inside their parents,
   in order), BODYSTRUCTURE, BODY and ENVELOPE well formed (balanced
   lists, literals of the stated length), every part reachable by its
   section numbers with the size BODYSTRUCTURE gives, partials of the
   CRLF form consistent with a full read, the text extractor bounded;
   and the field parsers (parameters, addresses, encoded words) on the
   input as a field value. Built and run by `make fuzz`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <skalibs/stralloc.h>
#include "mime/mime.h"
#include "mime/mimeaddr.h"
#include "mime/mimebs.h"
#include "mime/mimeenv.h"
#include "mime/mimeparam.h"
#include "mime/mimesect.h"
#include "mime/mimetext.h"
#include "mime/mimeword.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

/* an IMAP value list: balanced parentheses outside strings, literals whole */
static void wellformed(stralloc const *sa)
{
  long depth = 0;
  for (size_t i = 0; i < sa->len; i++) {
    char c = sa->s[i];
    if (c == '"') {
      for (i++; i < sa->len && sa->s[i] != '"'; i++) {
        CHECK(sa->s[i] != '\r' && sa->s[i] != '\n' && sa->s[i]);
        if (sa->s[i] == '\\') i++;
      }
      CHECK(i < sa->len);
    } else if (c == '{') {
      size_t n = strtoul(sa->s + i + 1, 0, 10);
      char const *e = memchr(sa->s + i, '}', sa->len - i);
      CHECK(e && e + 2 < sa->s + sa->len && e[1] == '\r' && e[2] == '\n');
      i = e + 2 - sa->s + n;
      CHECK(i < sa->len);
    } else if (c == '(') depth++;
    else if (c == ')') CHECK(--depth >= 0);
  }
  CHECK(depth == 0);
}

static void tree(mime_msg const *m)
{
  CHECK(m->n >= 1 && m->n <= MIME_PARTS_MAX);
  for (uint32_t i = 0; i < m->n; i++) {
    mime_part const *p = m->p + i, *q = m->p + p->parent;
    CHECK(p->hdr <= p->body && p->body <= p->end && p->end <= m->len);
    CHECK(p->depth <= MIME_DEPTH_MAX);
    if (i) CHECK(p->hdr >= q->body && p->end <= q->end && p->depth == q->depth + 1);
    if (p->next) CHECK(m->p[p->next].hdr >= p->end && m->p[p->next].parent == p->parent);
    if (p->kind == MIME_MULTI) CHECK(p->nchild >= 1);
    if (p->kind == MIME_MSG) CHECK(p->nchild == 1);
  }
}

/* Every part by its section numbers: BODY[n] is its body, its size the
   CRLF size; a partial equals the slice of the whole. */
static void sections(mime_msg const *m, uint32_t i, uint32_t *nums, unsigned int n, unsigned int *budget)
{
  if (!*budget) return;
  (*budget)--;
  mime_part const *p = m->p + i;
  if (n) {
    int ismsg;
    long k = mime_find(m, nums, n, &ismsg);
    CHECK(k == (long)i);
    char spec[16 * 12], *w = spec;
    for (unsigned int j = 0; j < n; j++) w += sprintf(w, j ? ".%u" : "%u", nums[j]);
    mime_sect r;
    stralloc gen = STRALLOC_ZERO, all = STRALLOC_ZERO, part = STRALLOC_ZERO;
    CHECK(mime_section(m, spec, w - spec, &r, &gen) == 1);
    CHECK(r.off == p->body && r.len == p->end - p->body && r.size == mime_crlfsize(m, p->body, p->end));
    CHECK(mime_section_cat(&all, m, &r, &gen, 0, r.size) && all.len == r.size);
    uint64_t from = r.size / 3, len = r.size / 2 + 1;
    CHECK(mime_section_cat(&part, m, &r, &gen, from, len));
    CHECK(part.len == (from + len > r.size ? r.size - from : len) && (!part.len || !memcmp(part.s, all.s + from, part.len)));
    strcpy(w, ".MIME");
    CHECK(mime_section(m, spec, strlen(spec), &r, &gen) == 1 && r.off == p->hdr);
    stralloc_free(&gen); stralloc_free(&all); stralloc_free(&part);
  }
  if (n >= 16) return;
  if (!n && p->kind != MIME_MULTI) {      /* "1" of a non-multipart message: itself */
    nums[0] = 1;
    sections(m, 0, nums, 1, budget);
    return;
  }
  if (p->kind == MIME_MULTI) {
    uint32_t k = p->child;
    for (uint32_t j = 1; k; j++, k = m->p[k].next) { nums[n] = j; sections(m, k, nums, n + 1, budget); }
  } else if (p->kind == MIME_MSG) {
    mime_part const *e = m->p + p->child;
    if (e->kind == MIME_MULTI) {
      uint32_t k = e->child;
      for (uint32_t j = 1; k; j++, k = m->p[k].next) { nums[n] = j; sections(m, k, nums, n + 1, budget); }
    } else { nums[n] = 1; sections(m, p->child, nums, n + 1, budget); }
  }
}

static void fields(char const *s, size_t n)
{
  stralloc sa = STRALLOC_ZERO;
  CHECK(mimeparam_list(&sa, s, n, 0) >= 0);
  sa.len = 0;
  CHECK(mimeparam_get(&sa, s, n, 0, "boundary") >= 0);
  sa.len = 0;
  int k = mimeaddr_list(&sa, s, n);
  CHECK(k >= 0 && k <= MIMEADDR_MAX + 2);
  wellformed(&sa);
  sa.len = 0;
  CHECK(mime_words(&sa, s, n) && sa.len <= 3 * n);
  stralloc_free(&sa);
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  char *s = malloc(size ? size : 1);
  memcpy(s, data, size);
  mime_msg m = MIME_MSG_ZERO;
  stralloc sa = STRALLOC_ZERO, gen = STRALLOC_ZERO;
  CHECK(mime_parse(&m, s, size));
  tree(&m);
  CHECK(mime_bodystructure(&sa, &m, 0, 1)); wellformed(&sa);
  sa.len = 0;
  CHECK(mime_bodystructure(&sa, &m, 0, 0)); wellformed(&sa);
  sa.len = 0;
  CHECK(mime_envelope(&sa, &m, 0)); wellformed(&sa);
  uint32_t nums[16];
  unsigned int budget = 200;
  sections(&m, 0, nums, 0, &budget);
  mime_sect r;
  static char const *const specs[] = { "", "HEADER", "TEXT", "HEADER.FIELDS (from subject)", "1.HEADER.FIELDS.NOT (to)", "1.1.TEXT", "2.HEADER" };
  for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
    int k = mime_section(&m, specs[i], strlen(specs[i]), &r, &gen);
    CHECK(k == 0 || k == 1);
    if (k == 1) CHECK(r.gen ? r.off + r.len <= gen.len : r.off + r.len <= m.len);
  }
  sa.len = 0;
  CHECK(mime_text(&sa, &m, 0, 4096) && sa.len <= 4096);
  fields(s, size < 4096 ? size : 4096);
  mime_free(&m);
  stralloc_free(&sa); stralloc_free(&gen);
  free(s);
  return 0;
}
