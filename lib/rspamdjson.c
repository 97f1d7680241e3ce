/* rspamd's /checkv2 answer (JSON, RFC 8259) read into an rspamd_reply:
   a small scanner over a bounded buffer, not a general JSON library. It
   walks the whole text (so that a malformed one is refused), keeps the few
   members spam-check uses and skips the rest, with a bound on nesting. */
#include <stdlib.h>
#include <string.h>
#include "rspamd.h"

#define MAXDEPTH 32

typedef struct scan_s scan ;
struct scan_s {
  char const *s ;
  size_t n, i ;
  unsigned int depth ;
  char const *why ;
} ;

static int fail(scan *p, char const *why)
{
  if (!p->why) p->why = why;
  return 0;
}

static void ws(scan *p)
{
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}

/* The next byte after blanks is c: consumed. */
static int eat(scan *p, char c)
{
  ws(p);
  if (p->i < p->n && p->s[p->i] == c) { p->i++; return 1; }
  return 0;
}

static int hex4(scan *p, unsigned int *u)
{
  *u = 0;
  if (p->n - p->i < 4) return 0;
  for (int k = 0; k < 4; k++) {
    char c = p->s[p->i++];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return 0;
    *u = *u * 16 + d;
  }
  return 1;
}

/* A string, into out[0..max) NUL-terminated when out is not 0: what does
   not fit is dropped, bytes outside printable ASCII (escaped or not)
   become '?'. */
static int str(scan *p, char *out, size_t max)
{
  size_t o = 0;
  if (!eat(p, '"')) return fail(p, "string expected");
  for (;;) {
    unsigned char c;
    if (p->i >= p->n) return fail(p, "unterminated string");
    c = p->s[p->i++];
    if (c == '"') break;
    if (c < 0x20) return fail(p, "control character in a string");
    if (c == '\\') {
      if (p->i >= p->n) return fail(p, "unterminated string");
      c = p->s[p->i++];
      switch (c) {
        case '"': case '\\': case '/': break;
        case 'b': case 'f': case 'n': case 'r': case 't': c = '?'; break;
        case 'u': {
          unsigned int u;
          if (!hex4(p, &u)) return fail(p, "bad \\u escape");
          c = u >= 0x20 && u < 0x7f ? (unsigned char)u : '?';
          break;
        }
        default: return fail(p, "bad escape");
      }
    }
    if (c < 0x20 || c > 0x7e) c = '?';
    if (out && o + 1 < max) out[o++] = c;
  }
  if (out && max) out[o] = 0;
  return 1;
}

/* A number, its value in *d (when d is not 0). */
static int num(scan *p, double *d)
{
  char buf[40];
  size_t k = 0;
  char *end;
  ws(p);
  while (p->i < p->n && strchr("+-0123456789.eE", p->s[p->i]) && p->s[p->i]) {
    if (k + 1 >= sizeof buf) return fail(p, "number too long");
    buf[k++] = p->s[p->i++];
  }
  buf[k] = 0;
  if (!k) return fail(p, "number expected");
  double v = strtod(buf, &end);
  if (*end) return fail(p, "bad number");
  if (d) *d = v;
  return 1;
}

static int word(scan *p, char const *w)
{
  size_t l = strlen(w);
  if (p->n - p->i < l || memcmp(p->s + p->i, w, l)) return fail(p, "unexpected character");
  p->i += l;
  return 1;
}

static int value(scan *p) ;

/* An object whose members are handed to member(p, key, ctx), which reads
   the value (or skips it with value()). */
typedef int memberfn (scan *, char const *, void *) ;
static int object(scan *p, memberfn *member, void *ctx)
{
  char key[64];
  if (!eat(p, '{')) return fail(p, "object expected");
  if (++p->depth > MAXDEPTH) return fail(p, "nested too deep");
  if (!eat(p, '}')) {
    do {
      if (!str(p, key, sizeof key) || !eat(p, ':') || !member(p, key, ctx)) return fail(p, "bad object");
    } while (eat(p, ','));
    if (!eat(p, '}')) return fail(p, "bad object");
  }
  p->depth--;
  return 1;
}

static int skipmember(scan *p, char const *key, void *ctx) { (void)key; (void)ctx; return value(p); }

static int array(scan *p)
{
  if (!eat(p, '[')) return fail(p, "array expected");
  if (++p->depth > MAXDEPTH) return fail(p, "nested too deep");
  if (!eat(p, ']')) {
    do { if (!value(p)) return 0; } while (eat(p, ','));
    if (!eat(p, ']')) return fail(p, "bad array");
  }
  p->depth--;
  return 1;
}

/* Any value, skipped. */
static int value(scan *p)
{
  ws(p);
  if (p->i >= p->n) return fail(p, "value expected");
  switch (p->s[p->i]) {
    case '{': return object(p, skipmember, 0);
    case '[': return array(p);
    case '"': return str(p, 0, 0);
    case 't': return word(p, "true");
    case 'f': return word(p, "false");
    case 'n': return word(p, "null");
    default: return num(p, 0);
  }
}

static int symscore(scan *p, char const *key, void *ctx)
{
  return strcmp(key, "score") ? value(p) : num(p, ctx);
}

/* One member of "symbols": NAME: { "score": S, ... }. The list keeps the
   highest scores: a new one replaces the lowest kept when it is higher. */
static int symbol(scan *p, char const *key, void *ctx)
{
  rspamd_reply *r = ctx;
  rspamd_symbol s;
  unsigned int k;
  s.score = 0;
  if (!object(p, symscore, &s.score)) return 0;
  r->allsym++;
  for (k = 0; key[k] && k + 1 < sizeof s.name; k++) {
    char c = key[k];
    int okc = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    s.name[k] = okc ? c : '?';
  }
  s.name[k] = 0;
  if (r->nsym == RSPAMD_MAXSYMBOLS) {
    if (s.score <= r->sym[r->nsym - 1].score) return 1;
    r->nsym--;
  }
  for (k = r->nsym; k && r->sym[k - 1].score < s.score; k--) r->sym[k] = r->sym[k - 1];
  r->sym[k] = s;
  r->nsym++;
  return 1;
}

static int message(scan *p, char const *key, void *ctx)
{
  rspamd_reply *r = ctx;
  return strcmp(key, "smtp_message") ? value(p) : str(p, r->message, sizeof r->message);
}

static int top(scan *p, char const *key, void *ctx)
{
  rspamd_reply *r = ctx;
  if (!strcmp(key, "action")) return str(p, r->action, sizeof r->action);
  if (!strcmp(key, "score")) return num(p, &r->score);
  if (!strcmp(key, "required_score")) return num(p, &r->required);
  if (!strcmp(key, "symbols")) return object(p, symbol, r);
  if (!strcmp(key, "messages")) return object(p, message, r);
  return value(p);
}

int rspamd_parse(rspamd_reply *r, char const *json, size_t len, char const **why)
{
  scan p = { .s = json, .n = len, .i = 0, .depth = 0, .why = 0 };
  memset(r, 0, sizeof *r);
  if (!object(&p, top, r)) { *why = p.why; return 0; }
  ws(&p);
  if (p.i != p.n) { *why = "data after the JSON object"; return 0; }
  if (!r->action[0]) { *why = "no action in the answer"; return 0; }
  return 1;
}
