/* libFuzzer target: IMAP command parsing (lib/imap). Each input is what a
   client sends: read command by command through imapread (small bounds,
   APPEND messages taken by hooks), each command parsed by imapcmd and
   then by the typed parser its name calls for (sequence sets, FETCH,
   STORE, SEARCH and its evaluation over a fake message, mailbox names,
   dates); the whole input is also parsed as one command in wire form.
   Besides "no crash", it checks what the headers promise and aborts when
   that does not hold: round trips of modified UTF-7, of section names and
   of strings written by imapwrite, and the two ways of testing
   membership in a sequence set. Built and run by `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <skalibs/stralloc.h>
#include "lineio.h"
#include "imap/imapcmd.h"
#include "imap/imapdate.h"
#include "imap/imapfetch.h"
#include "imap/imapflag.h"
#include "imap/imaplist.h"
#include "imap/imapmbox.h"
#include "imap/imapread.h"
#include "imap/imapsearch.h"
#include "imap/imapselect.h"
#include "imap/imapsort.h"
#include "imap/imapseq.h"
#include "imap/imapwrite.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

typedef struct mem_s { uint8_t const *in; size_t len, pos; stralloc out; } mem;

static ssize_t mem_read(void *ctx, char *buf, size_t len, tain const *d)
{
  mem *m = ctx;
  size_t n = m->len - m->pos;
  (void)d;
  if (n > len) n = len;
  if (n > 1000) n = 1000;
  memcpy(buf, m->in + m->pos, n);
  m->pos += n;
  return n;
}

static int mem_write(void *ctx, char const *s, size_t len, tain const *d)
{
  (void)d;
  return stralloc_catb(&((mem *)ctx)->out, s, len);
}

static int h_start(void *ctx, uint32_t idx, uint64_t size, char const **err)
{
  (void)ctx; (void)size;
  if (idx == 3) { *err = "[LIMIT] enough"; return 0; }
  return 1;
}
static int h_data(void *ctx, char const *s, size_t n, char const **err) { (void)ctx; (void)s; (void)n; (void)err; return 1; }

/* a fake message for the search evaluator */
static uint32_t f_seq(void *m) { (void)m; return 3; }
static uint32_t f_uid(void *m) { (void)m; return 77; }
static unsigned f_flags(void *m) { (void)m; return IMAPFLAG_SEEN | IMAPFLAG_RECENT; }
static int f_keyword(void *m, char const *kw) { (void)m; return !strcmp(kw, "$Junk"); }
static int f_size(void *m, uint64_t *n) { (void)m; *n = 1234; return 1; }
static int f_date(void *m, int64_t *t, int *z) { (void)m; *t = 1700000000; *z = 60; return 1; }
static int f_header(void *m, char const *name, stralloc *v) { (void)m; return strlen(name) & 1 ? stralloc_cats(v, "Some Value\n") : 0; }
static int f_text(void *m, int body, char const *s, size_t n) { (void)m; (void)body; return imapsearch_contains("the body text", 13, s, n); }
static uint64_t f_modseq(void *m) { (void)m; return 42; }
static imapview const view = { f_seq, f_uid, f_flags, f_keyword, f_size, f_date, f_date, f_header, f_text, f_modseq };

static void fz_seq(imapcmd const *c, uint32_t i)
{
  imapseq q = IMAPSEQ_ZERO, r = IMAPSEQ_ZERO;
  imapnode const *x = &c->node[i];
  if (i && x->type == IMAPN_ATOM && imapseq_issaved(x->s, x->len)) CHECK(imapseq_parse(&q, x->s, x->len) == 0);
  if (!i || x->type != IMAPN_ATOM || imapseq_parse(&q, x->s, x->len) != 1) return;
  CHECK(imapseq_parse(&r, x->s, x->len) == 1);
  imapseq_resolve(&r, 50);
  for (uint32_t k = 0; k < r.n; k++) CHECK(r.r[k].lo && r.r[k].lo <= r.r[k].hi && (!k || r.r[k].lo > r.r[k-1].hi + 1));
  for (uint32_t v = 0; v < 120; v++) CHECK(imapseq_has(&q, v, 50) == imapseq_has_sorted(&r, v));
  CHECK(imapseq_has(&q, 4294967295u, 50) == imapseq_has_sorted(&r, 4294967295u));
  imapseq_free(&q);
  imapseq_free(&r);
}

/* a section's name, parsed again, is the same section (partial aside) */
static void fz_fetch(imapcmd *c, uint32_t i, int uid)
{
  static imapfetch f;
  char const *err;
  stralloc sa = STRALLOC_ZERO;
  if (!imapfetch_parse(c, i, uid, &f, &err)) return;
  CHECK(f.nsec <= IMAPFETCH_MAXSECT);
  for (unsigned k = 0; k < f.nsec; k++) {
    imapfetch_sec s2;
    if (f.sec[k].partial) continue;
    sa.len = 0;
    CHECK(imapfetch_secname(&sa, &f.sec[k]) && stralloc_0(&sa));
    CHECK(imapfetch_section(sa.s, &s2));
    CHECK(s2.spec == f.sec[k].spec && s2.nparts == f.sec[k].nparts && s2.nfields == f.sec[k].nfields);
    CHECK(s2.kind == f.sec[k].kind && (s2.kind == IMAPSEC_BODY || (!s2.spec && !s2.nfields)));
    CHECK(!memcmp(s2.part, f.sec[k].part, s2.nparts * sizeof *s2.part));
  }
  stralloc_free(&sa);
}

/* "$" (SEARCHRES) over a saved set that holds the fake message's UID;
   what SAVE keeps is some of the found, lowest first */
static void fz_search(imapcmd const *c, uint32_t i)
{
  static imapsearch q = IMAPSEARCH_ZERO;
  static imapseq saved = IMAPSEQ_ZERO;
  static uint32_t const sv[] = { 5, 6, 7, 77 };
  uint32_t v[3] = { 2, 4, 9 };
  size_t n;
  char const *err;
  int want = imapsearch_wantsave(c, i);
  if (!saved.n) CHECK(imapseq_fromsorted(&saved, sv, 4) && saved.n == 2);
  q.saved = &saved;
  if (imapsearch_parse(c, i, &q, &err) != IMAPSEARCH_OK) return;
  CHECK(q.nnodes <= IMAPSEARCH_MAXNODES);
  CHECK(!(q.ret & IMAPSR_SAVE) == !want);
  CHECK(imapsearch_match(&q, &view, 0, 10, 100, 1700003600) >= 0);
  n = imapsearch_savedpart(q.ret, v, 3);
  CHECK(n >= 1 && n <= 3 && v[0] <= v[n-1] && (n != 3 || v[1] == 4));
}

/* every astring: a mailbox name whose UTF-8 encodes back to the same
   name; a date-time; written by imapwrite and parsed again, the same */
static void fz_strings(imapcmd const *c, lineio *l, mem *m)
{
  static imapcmd c2 = IMAPCMD_ZERO;
  stralloc a = STRALLOC_ZERO, b = STRALLOC_ZERO;
  char const *s, *err;
  size_t n;
  for (uint32_t i = 1; i < c->nnodes; i++) {
    int64_t t;
    int z;
    if (!imapcmd_astring(c, i, &s, &n)) continue;
    a.len = b.len = 0;
    if (imapmbox_mutf7_decode(&a, s, n) == 1) {
      CHECK(imapmbox_mutf7_encode(&b, a.s, a.len) == 1);
      size_t k = a.len;
      CHECK(imapmbox_mutf7_decode(&a, b.s, b.len) == 1 && a.len == 2 * k && (!k || !memcmp(a.s, a.s + k, k)));
    }
    imapdate_datetime(s, n, &t, &z);
    m->out.len = 0;
    CHECK(lineio_puts(l, "t X ") && imapw_string(l, s, n) && lineio_flush(l));
    CHECK(imapcmd_parse(&c2, m->out.s, m->out.len, &err) == 1 && imapcmd_nargs(&c2) == 1);
    CHECK(c2.node[c2.node[0].child].len == n && !memcmp(c2.node[c2.node[0].child].s, s, n));
  }
  stralloc_free(&a);
  stralloc_free(&b);
}

/* LIST's patterns against a few names; SELECT's parameters */
static void fz_list(imapcmd const *c)
{
  static imaplist ls = IMAPLIST_ZERO;
  static char const *const names[] = { "INBOX", "INBOX.Sent", "a.b.c", "Entw\xc3\xbcrfe", "" };
  char const *err, *p;
  if (imaplist_parse(c, imapcmd_arg(c, 0), !strcmp(c->name, "LSUB"), c->uid, &ls, &err) != 1) return;
  CHECK(ls.npat >= 1 && ls.npat <= IMAPLIST_MAXPAT);
  p = ls.pats.s;
  for (unsigned k = 0; k < ls.npat; k++, p += strlen(p) + 1)
    for (unsigned j = 0; j < 5; j++) {
      int a = imaplist_match(p, strlen(p), names[j], strlen(names[j]), '.');
      /* "*" appended matches whatever the pattern matched */
      if (a && strlen(p) < IMAPLIST_MAXPATLEN) {
        char buf[IMAPLIST_MAXPATLEN + 2];
        memcpy(buf, p, strlen(p)); buf[strlen(p)] = '*';
        CHECK(imaplist_match(buf, strlen(p) + 1, names[j], strlen(names[j]), '.'));
      }
    }
}

static void fz_select(imapcmd const *c)
{
  imapselect s = IMAPSELECT_ZERO;
  char const *err;
  if (imapselect_parse(c, imapcmd_arg(c, 1), &s, &err) == 1) CHECK(!s.qresync || (s.uidvalidity && s.modseq));
  imapselect_free(&s);
}

static void fz_command(imapcmd *c, lineio *l, mem *m)
{
  imapstoreargs st;
  imapflags fl;
  stralloc sa = STRALLOC_ZERO;
  char const *err;
  fz_seq(c, imapcmd_arg(c, 0));
  if (!strcmp(c->name, "FETCH")) fz_fetch(c, imapcmd_arg(c, 1), c->uid);
  else if (!strcmp(c->name, "STORE") && imapflag_store(c, imapcmd_arg(c, 1), &st, &err)) CHECK(st.flags.nkw <= IMAPFLAG_MAXKW);
  else if (!strcmp(c->name, "SEARCH")) fz_search(c, imapcmd_arg(c, 0));
  else if (!strcmp(c->name, "APPEND")) imapflag_parse(c, imapcmd_arg(c, 1), 0, &fl, &err);
  else if (!strcmp(c->name, "LIST") || !strcmp(c->name, "LSUB")) fz_list(c);
  else if (!strcmp(c->name, "SELECT") || !strcmp(c->name, "EXAMINE")) fz_select(c);
  if (imapmbox_name(c, imapcmd_arg(c, 0), c->uid, &sa, &err) == 1) CHECK(sa.len <= IMAPMBOX_MAXLEN && sa.s[sa.len] == 0);
  stralloc_free(&sa);
  fz_strings(c, l, m);
}

/* SORT/THREAD (imapsort.h): each input line is a message
   "subject|Message-ID|References"; both algorithms must take every
   message once, in balanced parentheses. */
static void fz_thread(char const *data, size_t size)
{
  enum { N = 64 } ;
  static char buf[6001] ;
  static stralloc subj[N], out ;
  imapsort_msg m[N] ;
  imapsort_tree t = IMAPSORT_TREE_ZERO ;
  size_t n = 0 ;
  if (size > 6000) size = 6000 ;
  memcpy(buf, data, size) ; buf[size] = 0 ;
  for (char *line = buf, *nl ; line && n < N ; line = nl, n++)
  {
    char *f[3] = { line, 0, 0 } ;
    if ((nl = strchr(line, '\n'))) *nl++ = 0 ;
    for (int k = 1 ; k < 3 && f[k-1] ; k++) if ((f[k] = strchr(f[k-1], '|'))) *f[k]++ = 0 ;
    subj[n].len = 0 ;
    memset(m + n, 0, sizeof *m) ;
    CHECK(imapsort_basesubj(&subj[n], f[0], strlen(f[0]), &m[n].reply) && stralloc_0(&subj[n])) ;
    m[n].num = n + 1 ; m[n].date = (int64_t)(unsigned char)f[0][0] ; m[n].subj = subj[n].s ;
    m[n].msgid = f[1] ; m[n].refs = f[2] ;
  }
  for (int alg = IMAPSORT_ORDEREDSUBJECT ; alg <= IMAPSORT_REFERENCES ; alg++)
  {
    size_t nums = 0 ;
    int depth = 0 ;
    out.len = 0 ;
    CHECK(imapsort_thread(&t, m, n, alg) && imapsort_thread_fmt(&out, &t, m)) ;
    for (size_t i = 0 ; i < out.len ; i++)
    {
      if (out.s[i] == '(') depth++ ;
      else if (out.s[i] == ')') CHECK(depth-- > 0) ;
      else if (out.s[i] != ' ' && (!i || out.s[i-1] < '0' || out.s[i-1] > '9')) nums++ ;
    }
    CHECK(!depth && nums == n) ;
  }
  imapsort_tree_free(&t) ;
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  static lineio l, w;
  static imapread r;
  static imapcmd c = IMAPCMD_ZERO;
  static mem m, out;
  static imapread_limits const lim = { .line = 2000, .literal = 2000, .nliterals = 8, .total = 6000, .message = 3000, .nonsync = 500 };
  static imapread_hooks const hooks = { 0, 0, h_start, h_data };
  lineio_io const io = { .ctx = &m, .read = &mem_read, .write = &mem_write };
  lineio_io const wio = { .ctx = &out, .read = &mem_read, .write = &mem_write };
  char const *err;
  int x;
  m.in = data; m.len = size; m.pos = 0; m.out.len = 0;
  lineio_init_io(&l, &io, 10);
  lineio_init_io(&w, &wio, 10);
  imapread_init(&r, &l, &lim, &hooks);
  while ((x = imapread_command(&r)) > 0 && x != IMAPREAD_FATAL) {
    CHECK(r.cmd.len <= lim.total + 8 * 40);
    if (x != IMAPREAD_OK) { CHECK(r.err); continue; }
    if (imapcmd_parse(&c, r.cmd.s, r.cmd.len, &err) == 1) fz_command(&c, &w, &out);
    else CHECK(err);
  }
  imapread_free(&r);
  /* the raw input as a command in wire form ("{n*}" and all) */
  if (imapcmd_parse(&c, (char const *)data, size, &err) == 1) fz_command(&c, &w, &out);
  fz_thread((char const *)data, size);
  return 0;
}
