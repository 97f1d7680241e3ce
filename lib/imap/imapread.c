/* Reading a whole IMAP command: see imapread.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "imapread.h"

enum { SINK_CMD, SINK_MSG, SINK_DROP } ;

void imapread_init(imapread *r, lineio *l, imapread_limits const *lim, imapread_hooks const *hooks)
{
  static imapread_hooks const none = { 0, 0, 0, 0 } ;
  memset(r, 0, sizeof *r) ;
  r->l = l ;
  if (lim) r->lim = *lim ;
  r->hooks = hooks ? *hooks : none ;
  if (!r->lim.line || r->lim.line >= LINEIO_INSIZE - 1) r->lim.line = IMAPREAD_LINE ;
  if (!r->lim.literal) r->lim.literal = IMAPREAD_LITERAL ;
  if (!r->lim.nliterals) r->lim.nliterals = IMAPREAD_NLITERALS ;
  if (!r->lim.total) r->lim.total = IMAPREAD_TOTAL ;
  if (!r->lim.message) r->lim.message = IMAPREAD_MESSAGE ;
  if (!r->lim.nonsync) r->lim.nonsync = IMAPREAD_NONSYNC ;
}

void imapread_free(imapread *r)
{
  stralloc_free(&r->cmd) ;
}

/* The tag of a first line, for the BAD that answers a broken command. */
static void gettag(imapread *r, char const *s, size_t n)
{
  size_t k = 0 ;
  while (k < n && k < sizeof r->tag - 1 && s[k] > 0x20 && s[k] < 0x7f && !strchr("(){\"%*+\\", s[k])) k++ ;
  if (k == n || s[k] != ' ' || !k) k = 0 ;
  memcpy(r->tag, s, k) ;
  r->tag[k] = 0 ;
}

/* A literal announced at the end of the line: its size, sync or not, a
   literal8 or not, and where its "{" (or "~{") is. 0: none. */
static int litspec(char const *s, size_t n, uint64_t *size, int *nonsync, int *lit8, size_t *brace)
{
  size_t k ;
  uint64_t v = 0, m = 1 ;
  if (n < 3 || s[n-1] != '}') return 0 ;
  k = n - 1 ;
  *nonsync = s[k-1] == '+' ;
  if (*nonsync) k-- ;
  while (k && s[k-1] >= '0' && s[k-1] <= '9' && m <= 1000000000000ull) { v += (s[k-1] - '0') * m ; m *= 10 ; k-- ; }
  if (!k || s[k-1] != '{' || m == 1 || m > 1000000000000ull) return 0 ;
  *size = v ; *brace = k - 1 ;
  *lit8 = *brace && s[*brace - 1] == '~' ;
  if (*lit8) (*brace)-- ;
  return 1 ;
}

/* The command on the first line is APPEND. */
static int isappend(char const *s, size_t n)
{
  char const *sp = memchr(s, ' ', n) ;
  size_t k ;
  if (!sp) return 0 ;
  k = sp + 1 - s ;
  return n - k >= 7 && !strncasecmp(s + k, "APPEND ", 7) ;
}

/* n raw bytes of a literal into the sink. 1 ok, 0 EOF, -1 error. */
static int rawread(imapread *r, uint64_t n, int sink)
{
  while (n) {
    size_t k = lineio_avail(r->l) ;
    char const *p = lineio_peek(r->l) ;
    if (!k) {
      ssize_t got = lineio_fill(r->l) ;
      if (got <= 0) return got ? -1 : 0 ;
      continue ;
    }
    if (k > n) k = n ;
    if (sink == SINK_CMD) {
      if (memchr(p, 0, k) && !r->err) r->err = "NUL in literal" ;
      if (!stralloc_catb(&r->cmd, p, k)) return -1 ;
    } else if (sink == SINK_MSG && !r->err && !(*r->hooks.msgdata)(r->hooks.ctx, p, k, &r->err)) {
      if (!r->err) r->err = "message refused" ;
    }
    lineio_skip(r->l, k) ;
    n -= k ;
  }
  return 1 ;
}

static int go(imapread *r)
{
  if (r->hooks.go) return (*r->hooks.go)(r->hooks.ctx) ;
  return lineio_puts(r->l, "+ go ahead\r\n") && lineio_flush(r->l) ;
}

typedef struct rstate_s { int append, no ; size_t nlit ; uint32_t nstream ; } rstate ;

static int failed(rstate const *st)
{
  return st->no ? IMAPREAD_NO : IMAPREAD_BAD ;
}

/* The literal announced at the end of a line, whose spec is at r->cmd
   from `at` on (written again, canonical). mbox: it is APPEND's first
   argument; lit8: "~{n}" (RFC 3516: APPEND's message only). Returns 0 to
   read on, else what imapread_command returns. */
static int lit(imapread *r, rstate *st, size_t at, int mbox, uint64_t n, int nonsync, int lit8)
{
  int msg = st->append && !mbox ;
  uint64_t max = msg ? r->lim.message : r->lim.literal ;
  int sink = msg ? SINK_MSG : SINK_CMD, x ;
  char num[32] ;
  if (nonsync && max > r->lim.nonsync) max = r->lim.nonsync ;
  if (!r->err && ++st->nlit > r->lim.nliterals) r->err = "too many literals" ;
  if (!r->err && lit8 && !msg) r->err = "literal8 is only for APPEND's message" ;
  if (!r->err && n > max) {
    r->err = msg ? "[TOOBIG] message too large" : "literal too large" ;
    st->no = msg ;   /* RFC 7889: NO [TOOBIG] */
  }
  if (!r->err && !msg && at + n > r->lim.total) r->err = "command too long" ;
  if (r->err && !nonsync) return failed(st) ;
  if (r->err && n > max) return IMAPREAD_FATAL ;
  if (!r->err && msg) {
    if (!r->hooks.msgstart || !(*r->hooks.msgstart)(r->hooks.ctx, st->nstream, n, &r->err)) {
      if (!r->err) r->err = "message refused" ;
      st->no = 1 ;
      if (!nonsync) return IMAPREAD_NO ;
    }
    st->nstream++ ;
  }
  if (!nonsync && !go(r)) return IMAPREAD_ERROR ;
  if (r->err) sink = SINK_DROP ;
  else {
    r->cmd.len = at ;
    x = snprintf(num, sizeof num, "{%llu%s}\r\n", (unsigned long long)n, msg ? "*" : "") ;
    if (!stralloc_catb(&r->cmd, num, x)) return IMAPREAD_ERROR ;
  }
  x = rawread(r, n, sink) ;
  if (x <= 0) return x ? IMAPREAD_ERROR : IMAPREAD_EOF ;
  if (msg && r->err) st->no = 1 ;
  return 0 ;
}

int imapread_command(imapread *r)
{
  rstate st = { 0, 0, 0, 0 } ;
  int first = 1 ;
  r->cmd.len = 0 ; r->err = 0 ; r->tag[0] = 0 ;
  for (;; first = 0) {
    char *s ;
    size_t n, brace, base = r->cmd.len ;
    uint64_t size ;
    int nonsync, lit8, x = lineio_getline(r->l, r->lim.line, &s, &n) ;
    if (x < 0) return IMAPREAD_ERROR ;
    if (x == LINEIO_EOF) return IMAPREAD_EOF ;
    if (x == LINEIO_TOOLONG) {
      if (first) gettag(r, s, n) ;   /* so that the BAD is tagged */
      if (!r->err) r->err = "line too long" ;
      return failed(&st) ;
    }
    if (first) { gettag(r, s, n) ; st.append = isappend(s, n) ; }
    if (!r->err && memchr(s, 0, n)) r->err = "NUL in command" ;
    if (!r->err && base + n > r->lim.total) r->err = "command too long" ;
    if (!r->err && !stralloc_catb(&r->cmd, s, n)) return IMAPREAD_ERROR ;
    if (!litspec(s, n, &size, &nonsync, &lit8, &brace)) return r->err ? failed(&st) : IMAPREAD_OK ;
    x = lit(r, &st, base + brace, first && r->tag[0] && brace == strlen(r->tag) + 8, size, nonsync, lit8) ;
    if (x) return x ;
  }
}
