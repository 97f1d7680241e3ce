/* The IMAP argument tokenizer: see imapcmd.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imapcmd.h"

typedef struct pstate_s { imapcmd *c ; char const *s ; size_t n, pos ; uint32_t nstream ; char const *err ; int oom ; } pstate ;

static int fail(pstate *p, char const *err)
{
  if (!p->err) p->err = err ;
  return 0 ;
}

/* A new node, its index; 0 on failure (node 0 is the root, made first). */
static uint32_t newnode(pstate *p, unsigned char type)
{
  imapcmd *c = p->c ;
  if (c->nnodes >= IMAPCMD_MAXNODES) return fail(p, "too many arguments") ;
  if (c->nnodes == c->cap) {
    uint32_t cap = c->cap ? c->cap * 2 : 64 ;
    imapnode *m = realloc(c->node, cap * sizeof *m) ;
    if (!m) { p->oom = 1 ; return fail(p, "out of memory") ; }
    c->node = m ; c->cap = cap ;
  }
  memset(&c->node[c->nnodes], 0, sizeof *c->node) ;
  c->node[c->nnodes].type = type ;
  c->node[c->nnodes].s = c->data.s + c->data.len ;
  return c->nnodes++ ;
}

/* Append bytes to the current string (room was reserved: no realloc). */
static void put(pstate *p, char const *s, size_t n)
{
  memcpy(p->c->data.s + p->c->data.len, s, n) ;
  p->c->data.len += n ;
}

static void endstr(pstate *p, uint32_t i)
{
  imapnode *x = &p->c->node[i] ;
  x->len = p->c->data.s + p->c->data.len - x->s ;
  put(p, "", 1) ;
}

static int isatomchar(unsigned char ch)
{
  return ch > 0x20 && ch < 0x7f && !strchr("(){\"", ch) ;
}

/* Inside [...]: anything printable, quoted strings kept whole. */
static int bracket(pstate *p)
{
  int inq = 0 ;
  for (; p->pos < p->n ; p->pos++) {
    unsigned char ch = p->s[p->pos] ;
    if (ch < 0x20 || ch >= 0x7f) return fail(p, "bad character in brackets") ;
    put(p, (char *)&ch, 1) ;
    if (inq) {
      if (ch == '\\' && p->pos + 1 < p->n) put(p, p->s + ++p->pos, 1) ;
      else if (ch == '"') inq = 0 ;
    } else if (ch == '"') inq = 1 ;
    else if (ch == ']') { p->pos++ ; return 1 ; }
  }
  return fail(p, "unbalanced brackets") ;
}

static uint32_t atom(pstate *p)
{
  uint32_t i = newnode(p, IMAPN_ATOM) ;
  int brackets = 0 ;
  if (!i) return 0 ;
  while (p->pos < p->n) {
    unsigned char ch = p->s[p->pos] ;
    if (ch == '[' && !brackets) {
      brackets = 1 ;
      put(p, "[", 1) ; p->pos++ ;
      if (!bracket(p)) return 0 ;
      continue ;
    }
    if (!isatomchar(ch)) break ;
    put(p, (char *)&ch, 1) ; p->pos++ ;
  }
  endstr(p, i) ;
  if (!p->c->node[i].len) return fail(p, "bad character") ;
  if (p->c->node[i].len == 3 && !strncasecmp(p->c->node[i].s, "NIL", 3)) p->c->node[i].type = IMAPN_NIL ;
  return i ;
}

static uint32_t quoted(pstate *p)
{
  uint32_t i = newnode(p, IMAPN_QUOTED) ;
  if (!i) return 0 ;
  for (p->pos++ ; p->pos < p->n ; p->pos++) {
    char ch = p->s[p->pos] ;
    if (ch == '"') { p->pos++ ; endstr(p, i) ; return i ; }
    if (ch == '\r' || ch == '\n' || !ch) break ;
    if (ch == '\\') {
      if (++p->pos >= p->n) break ;
      ch = p->s[p->pos] ;
      if (ch != '\\' && ch != '"') return fail(p, "bad escape in quoted string") ;
    }
    put(p, &ch, 1) ;
  }
  return fail(p, "unterminated quoted string") ;
}

/* "{" number ["*"] "}" CRLF, then the bytes unless streamed. */
static uint32_t literal(pstate *p)
{
  uint64_t n = 0 ;
  size_t d = ++p->pos ;
  uint32_t i ;
  int streamed = 0 ;
  while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9' && p->pos - d < 10)
    n = n * 10 + (p->s[p->pos++] - '0') ;
  if (p->pos == d || n > 0xffffffffu) return fail(p, "bad literal") ;
  if (p->pos < p->n && p->s[p->pos] == '*') { streamed = 1 ; p->pos++ ; }
  if (p->n - p->pos < 3 || memcmp(p->s + p->pos, "}\r\n", 3)) return fail(p, "bad literal") ;
  p->pos += 3 ;
  i = newnode(p, streamed ? IMAPN_STREAM : IMAPN_LITERAL) ;
  if (!i) return 0 ;
  if (streamed) { p->c->node[i].len = n ; p->c->node[i].idx = p->nstream++ ; put(p, "", 1) ; return i ; }
  if (n > p->n - p->pos) return fail(p, "literal cut short") ;
  put(p, p->s + p->pos, n) ; p->pos += n ;
  endstr(p, i) ;
  return i ;
}

static uint32_t item(pstate *p, unsigned depth) ;

/* Items separated by single spaces until `end` (')' or the end of input). */
static int items(pstate *p, uint32_t parent, unsigned depth, int paren)
{
  uint32_t prev = 0 ;
  for (;;) {
    uint32_t i ;
    if (p->pos == p->n) return paren ? fail(p, "unbalanced parentheses") : 1 ;
    if (p->s[p->pos] == ')') {
      if (!paren) return fail(p, "unbalanced parentheses") ;
      p->pos++ ;
      return 1 ;
    }
    if (prev) {
      if (p->s[p->pos] != ' ') return fail(p, "space expected") ;
      if (++p->pos == p->n || p->s[p->pos] == ')' || p->s[p->pos] == ' ') return fail(p, "stray space") ;
    }
    if (!(i = item(p, depth))) return 0 ;
    if (prev) p->c->node[prev].next = i ; else p->c->node[parent].child = i ;
    prev = i ;
  }
}

static uint32_t item(pstate *p, unsigned depth)
{
  uint32_t i ;
  switch (p->s[p->pos]) {
    case '"': return quoted(p) ;
    case '{': return literal(p) ;
    case '(':
      if (depth >= IMAPCMD_MAXDEPTH) return fail(p, "lists nested too deep") ;
      if (!(i = newnode(p, IMAPN_LIST))) return 0 ;
      put(p, "", 1) ;
      p->pos++ ;
      return items(p, i, depth + 1, 1) ? i : 0 ;
    default: return atom(p) ;
  }
}

/* One word up to a space or the end, into out (NUL-terminated). */
static int word(pstate *p, char *out, size_t max, int tag)
{
  size_t k = 0 ;
  while (p->pos < p->n && p->s[p->pos] != ' ') {
    unsigned char ch = p->s[p->pos++] ;
    if (k == max) return fail(p, tag ? "tag too long" : "unknown command") ;
    if (tag ? !isatomchar(ch) || ch == '+' || ch == '%' || ch == '*' : !(ch >= 'A' && ch <= 'Z') && !(ch >= 'a' && ch <= 'z') && !(ch >= '0' && ch <= '9') && ch != '-' && ch != '.')
      return fail(p, tag ? "bad tag" : "unknown command") ;
    out[k++] = !tag && ch >= 'a' && ch <= 'z' ? ch - 32 : ch ;
  }
  out[k] = 0 ;
  if (!k) return fail(p, tag ? "missing tag" : "missing command") ;
  return 1 ;
}

static int head(pstate *p)
{
  imapcmd *c = p->c ;
  if (!word(p, c->tag, IMAPCMD_MAXTAG, 1)) { c->tag[0] = 0 ; return 0 ; }
  if (p->pos++ == p->n) return fail(p, "missing command") ;
  if (!word(p, c->name, IMAPCMD_MAXNAME, 0)) return 0 ;
  if (!strcmp(c->name, "UID")) {
    c->uid = 1 ;
    if (p->pos++ == p->n) return fail(p, "missing command after UID") ;
    if (!word(p, c->name, IMAPCMD_MAXNAME, 0)) return 0 ;
  }
  if (p->pos == p->n) return 1 ;
  if (++p->pos == p->n) return fail(p, "stray space") ;
  return 1 ;
}

int imapcmd_parse(imapcmd *c, char const *buf, size_t len, char const **err)
{
  pstate p = { .c = c, .s = buf, .n = len } ;
  int r ;
  c->tag[0] = 0 ; c->name[0] = 0 ; c->uid = 0 ; c->nnodes = 0 ; c->data.len = 0 ;
  /* every string is at most its source's bytes plus a NUL: room once */
  if (!stralloc_ready(&c->data, 2 * len + 8)) { *err = "out of memory" ; return -1 ; }
  if (!newnode(&p, IMAPN_LIST) && p.err) { *err = p.err ; return -1 ; }
  put(&p, "", 1) ;
  r = head(&p) && items(&p, 0, 0, 0) ;
  if (r) return 1 ;
  *err = p.err ? p.err : "syntax error" ;
  return p.oom ? -1 : 0 ;
}

void imapcmd_free(imapcmd *c)
{
  free(c->node) ;
  c->node = 0 ; c->cap = c->nnodes = 0 ;
  stralloc_free(&c->data) ;
}
