/* libFuzzer target over the parsers of lib/ that take untrusted bytes:
   the first input byte picks one, the rest is its input. Built and run by
   `make fuzz` (clang, AddressSanitizer, UBSan); not part of make check.
   Besides "no crash", each checks what its header promises (bounds of
   what it returns, round trips), and aborts when that does not hold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include "addr.h"
#include "addrlist.h"
#include "dmarc/dmarc.h"
#include "dsn.h"
#include "dkim/key.h"
#include "dkim/sig.h"
#include "dkim/tags.h"
#include "dkim/verify.h"
#include "hdr.h"
#include "maildir.h"
#include "queue.h"
#include "report.h"
#include "routes.h"
#include "smtpc.h"
#include "smtpcmd.h"
#include "smtpdata.h"
#include "spf/spf.h"
#include "subhdr.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void fz_addr(char const *s, size_t n)
{
  stralloc sa = STRALLOC_ZERO;
  size_t at = addr_at(s, n);
  CHECK(at <= n);
  if (addr_valid(s, n) && addr_canon(&sa, s, n)) {
    /* a canonical valid address is valid, and its own canonical form */
    stralloc sb = STRALLOC_ZERO;
    CHECK(addr_valid(sa.s, sa.len));
    CHECK(addr_canon(&sb, sa.s, sa.len) && sb.len == sa.len && !memcmp(sa.s, sb.s, sa.len));
    stralloc_free(&sb);
  }
  addr_domain_valid(s, n);
  stralloc_free(&sa);
}

static void fz_smtpcmd(char const *s, size_t n)
{
  char *b = malloc(n + 1), *addr, *params, *key, *value;
  size_t alen;
  memcpy(b, s, n);
  b[n] = 0;
  if (smtpcmd_path(b, n && (s[0] & 1) ? "TO" : "FROM", &addr, &alen, &params)) {
    CHECK(addr >= b && addr + alen <= b + n && strlen(addr) == alen);
    for (int i = 0; i < 1000 && smtpcmd_param(&params, &key, &value) == 1; i++)
      CHECK(key >= b && key <= b + n && (!value || (value >= b && value <= b + n)));
  }
  free(b);
}

/* The input cut at pseudo-random places: the decoder is a state machine
   over chunks, so the cuts must not change what comes out. */
static void fz_smtpdata(char const *s, size_t n)
{
  char *out1 = malloc(n + SMTPDATA_SLACK + 1), *out2 = malloc(n + SMTPDATA_SLACK + 1);
  smtpdata d1, d2;
  size_t o1 = 0, o2 = 0, c1, c2 = 0, k;
  unsigned seed = n;
  smtpdata_init(&d1);
  c1 = smtpdata_decode(&d1, s, n, out1, &o1);
  CHECK(c1 <= n && o1 <= c1 + SMTPDATA_SLACK);
  smtpdata_init(&d2);
  while (c2 < n && !d2.done) {
    seed = seed * 1103515245u + 12345u;
    size_t chunk = 1 + (seed >> 16) % 64, got = 0;
    if (chunk > n - c2) chunk = n - c2;
    k = smtpdata_decode(&d2, s + c2, chunk, out2 + o2, &got);
    CHECK(k <= chunk);
    c2 += k;
    o2 += got;
    if (k < chunk) CHECK(d2.done);
  }
  CHECK(d1.done == d2.done);
  if (d1.done) CHECK(c1 == c2 && o1 == o2 && !memcmp(out1, out2, o1) && d1.received == d2.received);
  free(out1);
  free(out2);
}

static void fz_hdr(char const *s, size_t n)
{
  size_t hlen, pos = 0;
  hdr_field f;
  stralloc sa = STRALLOC_ZERO;
  hdr_split(s, n, 1000, &hlen);
  CHECK(hlen <= n);
  for (int i = 0; hdr_next(s, hlen, &pos, &f); i++) {
    CHECK(i < 100000 && pos <= hlen);
    CHECK(f.name >= s && f.name + f.namelen <= s + hlen);
    CHECK(f.value >= s && f.value + f.valuelen <= s + hlen);
    sa.len = 0;
    hdr_unfold(&sa, &f);
    hdr_is(&f, "received");
    hdr_value_is(&f, "yes");
  }
  hdr_has(s, n, "x-spam", "yes");
  CHECK(dsn_headers(s, n) <= n);
  stralloc_free(&sa);
}

static void fz_routes(char const *s, size_t n)
{
  routes r = ROUTES_ZERO;
  unsigned line;
  char const *why;
  char buf[ROUTE_FMT];
  route rt;
  if (routes_parse(&r, s, n, &line, &why)) {
    if (routes_find(&r, "example.com", &rt)) CHECK(route_fmt(buf, &rt) < sizeof buf);
    if (routes_find(&r, "a.b.c.example.com", &rt)) CHECK(route_fmt(buf, &rt) < sizeof buf);
  }
  routes_free(&r);
}

static void fz_maildir(char const *s, size_t n)
{
  maildir_quota q;
  uint64_t size;
  char *b = malloc(n + 1);
  memset(&q, 0, sizeof q);
  maildir_quota_parse(s, n, &q);
  memcpy(b, s, n);
  b[n] = 0;
  maildir_name_size(b, &size);
  maildir_folder_valid(b);
  free(b);
}

static void fz_report(char const *s, size_t n)
{
  report_entry rcpt[8], msg;
  unsigned nrcpt = n ? 1 + (unsigned char)s[0] % 8 : 1;
  char const *text;
  size_t len;
  stralloc sa = STRALLOC_ZERO;
  if (report_parse(s, n, nrcpt, rcpt, &msg))
    for (unsigned i = 0; i < nrcpt; i++) {
      int o = report_outcome(rcpt + i, &msg, &text, &len);
      CHECK(o == REPORT_OK || o == REPORT_PERM || o == REPORT_TEMP);
      CHECK(text >= s && text + len <= s + n);
    }
  report_add(&sa, 'h', s, n);
  CHECK(sa.len <= REPORT_TEXTMAX + 2 && sa.s[sa.len - 1] == 0 && strlen(sa.s) == sa.len - 1);
  stralloc_free(&sa);
}

static void fz_queue(char const *s, size_t n)
{
  /* an envelope, then state lines applied to it */
  size_t e = 0;
  while (e + 1 < n && !(s[e] == 0 && s[e + 1] == 0)) e++;
  e = e + 2 <= n ? e + 2 : n;
  if (queue_env_check(s, e)) return;
  qmsg m = QMSG_ZERO;
  uint32_t nrcpt = 0;
  for (size_t i = strlen(s) + 1; i < e && s[i]; i += strlen(s + i) + 1) nrcpt++;
  m.rcpt = calloc(nrcpt, sizeof *m.rcpt);
  m.nrcpt = nrcpt;
  stralloc_0(&m.reasons);
  for (size_t i = e; i < n;) {
    size_t j = i;
    while (j < n && s[j] != '\n') j++;
    queue_state_apply(&m, s + i, j - i);
    i = j + 1;
  }
  for (uint32_t i = 0; i < nrcpt; i++) CHECK(m.rcpt[i].reason < m.reasons.len);
  queue_free(&m);
}

static void fz_smtpc(char const *s, size_t n)
{
  unsigned code;
  int last;
  uint64_t sizemax;
  char const *name;
  stralloc sa = STRALLOC_ZERO;
  if (smtpc_replyline(s, n, &code, &last)) CHECK(code >= 100 && code <= 599);
  CHECK(smtpc_esc(s, n) <= n);
  smtpc_ehlo(s, n, &sizemax);
  size_t nl = smtpc_replyname(s, n, &name);
  if (nl) CHECK(name >= s && name + nl <= s + n);
  if (smtpc_oneline(&sa, s, n)) CHECK(sa.len <= n && (!sa.len || !memchr(sa.s, '\n', sa.len)));
  stralloc_free(&sa);
}

static void fz_dsn(char const *s, size_t n)
{
  char *b = malloc(n + 1), st[16];
  memcpy(b, s, n);
  b[n] = 0;
  dsn_status(st, b);
  CHECK(strlen(st) < sizeof st);
  dsn_diagtype(b);
  char const *host, *reply;
  size_t hl, rl;
  if (dsn_remote(b, &host, &hl, &reply, &rl))
    CHECK(hl && host >= b && host + hl <= b + n && reply > host + hl && reply + rl <= b + n
          && reply[0] >= '1' && reply[0] <= '5');
  free(b);
}

/* smtpc over bytes in memory, handed out in chunks of varying size. */
typedef struct { char const *s ; size_t n, pos ; unsigned seed ; stralloc out ; } memio ;

static ssize_t mem_read(void *ctx, char *buf, size_t len, tain const *deadline)
{
  memio *m = ctx;
  (void)deadline;
  if (m->pos == m->n) return 0;
  m->seed = m->seed * 1103515245u + 12345u;
  size_t k = 1 + (m->seed >> 16) % 200;
  if (k > len) k = len;
  if (k > m->n - m->pos) k = m->n - m->pos;
  memcpy(buf, m->s + m->pos, k);
  m->pos += k;
  return k;
}

static int mem_write(void *ctx, char const *s, size_t len, tain const *deadline)
{
  (void)deadline;
  return stralloc_catb(&((memio *)ctx)->out, s, len);
}

/* A peer's replies, read one after the other as remote-send reads them. */
static void fz_replies(char const *s, size_t n)
{
  memio m = { .s = s, .n = n, .seed = n, .out = STRALLOC_ZERO };
  smtpc_io io = { .ctx = &m, .read = mem_read, .write = mem_write };
  smtpc c;
  ip46 ip;
  unsigned port = 25;   /* set only when the route gives one */
  char *b = malloc(n + 1);
  smtpc_init(&c, &io);
  for (int i = 0; i < 10000; i++) {
    int r = smtpc_getreply(&c, &tain_infinite_relative);
    if (r == SMTPC_EOF || r == SMTPC_ERROR || r == SMTPC_BADREPLY) break;
    CHECK(r >= 100 && r <= 599 && c.nlines >= 1 && c.nlines <= SMTPC_LINESMAX);
    CHECK(c.reply.s[c.reply.len] == 0 && strlen(c.reply.s) <= c.reply.len);
  }
  smtpc_free(&c);
  memcpy(b, s, n);
  b[n] = 0;
  smtpc_scan_ip(b, &ip);
  if (smtpc_scan_route(b, &ip, &port)) CHECK(port <= 65535);
  smtpc_scan_literal(b, &ip);
  free(b);
  stralloc_free(&m.out);
}

/* Our client's DATA encoder against our server's decoder: a message with
   LF line ends, sent by smtpc (in pieces) and read back by smtpdata, is
   the same message (with a final LF added to a last line without one). */
static void fz_dataroundtrip(char const *s, size_t n)
{
  memio m = { .out = STRALLOC_ZERO };
  smtpc_io io = { .ctx = &m, .read = mem_read, .write = mem_write };
  smtpc c;
  smtpdata d;
  unsigned seed = n;
  if (memchr(s, '\r', n)) return;   /* the decoder keeps a lone CR; CRLF becomes LF */
  smtpc_init(&c, &io);
  smtpc_data_begin(&c);
  for (size_t i = 0; i < n;) {
    seed = seed * 1103515245u + 12345u;
    size_t k = 1 + (seed >> 16) % 300;
    if (k > n - i) k = n - i;
    CHECK(smtpc_data_put(&c, s + i, k, &tain_infinite_relative));
    i += k;
  }
  CHECK(smtpc_data_end(&c, &tain_infinite_relative) && smtpc_flush(&c, &tain_infinite_relative));
  smtpc_free(&c);
  char *out = malloc(m.out.len + SMTPDATA_SLACK + 1);
  size_t olen = 0;
  smtpdata_init(&d);
  /* the decoder starts after the DATA command's own CRLF */
  size_t used = smtpdata_decode(&d, m.out.s, m.out.len, out, &olen);
  CHECK(d.done && used == m.out.len);
  size_t want = n + (n && s[n - 1] != '\n');
  CHECK(olen == want && !memcmp(out, s, n));
  if (want > n) CHECK(out[n] == '\n');
  free(out);
  stralloc_free(&m.out);
}

/* NUL-separated fields: sender, to, then address and reason pairs; the
   last field is the original header (me and the queue id are ours, not
   the peer's, so they are fixed here). Without that header every
   line of the bounce must be printable and at most 998 bytes (RFC 5322):
   nothing from the fields may break or inject a line. */
static void fz_dsnbuild(char const *s, size_t n)
{
  char *b = malloc(n + 1), *f[16];
  unsigned nf = 0;
  dsn_rcpt r[6];
  memcpy(b, s, n);
  b[n] = 0;
  for (size_t i = 0; nf < 16 && i <= n; nf++) {
    f[nf] = b + i;
    i += strlen(b + i) + 1;
  }
  while (nf < 4) f[nf++] = "";
  dsn d = { .me = "mx.example.test", .qid = "6b1025f5.1554f2cd.73e8", .sender = f[0], .to = f[1],
            .arrival = 1, .now = 2, .rcpt = r };
  for (unsigned i = 2; i + 1 < nf - 1 && d.n < 6; i += 2) r[d.n++] = (dsn_rcpt){ f[i], f[i + 1] };
  if (!d.n) r[d.n++] = (dsn_rcpt){ f[2], f[3] };
  stralloc out = STRALLOC_ZERO;
  CHECK(dsn_build(&out, &d));
  for (size_t i = 0, col = 0; i < out.len; i++) {
    unsigned char c = out.s[i];
    if (c == '\n') { col = 0; continue; }
    CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
    CHECK(++col <= 998);
  }
  d.hdr = f[nf - 1];
  d.hdrlen = dsn_headers(d.hdr, strlen(d.hdr));
  out.len = 0;
  CHECK(dsn_build(&out, &d));
  stralloc_free(&out);
  free(b);
}

/* Address lists: what comes out is a list of bounded addr-specs, as
   many as returned; a failure leaves out as it was. */
static void fz_addrlist(char const *s, size_t n)
{
  for (int bare = 0; bare < 2; bare++) {
    stralloc out = STRALLOC_ZERO;
    int r;
    CHECK(stralloc_catb(&out, "x", 1));
    r = bare ? addrlist_parse_bare(&out, s, n) : addrlist_parse(&out, s, n);
    CHECK(r >= -1 && r <= ADDRLIST_MAX);
    if (r < 0) CHECK(out.len == 1);
    else {
      int k = 0;
      for (size_t i = 1; i < out.len; i += strlen(out.s + i) + 1, k++) {
        size_t len = strlen(out.s + i);
        CHECK(len && len <= ADDR_MAX && (bare || addr_at(out.s + i, len) < len));
      }
      CHECK(k == r && (out.len == 1 || !out.s[out.len - 1]));
    }
    stralloc_free(&out);
  }
}

/* What subhdr says of a header: whole or cut anywhere, the same. */
static void subhdr_say(char const *s, size_t n, unsigned seed, stralloc *said)
{
  subhdr h = SUBHDR_ZERO;
  stralloc miss = STRALLOC_ZERO;
  char const *a;
  size_t pos = 0, alen, end = n + 1;
  unsigned na;
  while (pos < n) {
    size_t chunk = seed ? 1 + ((seed = seed * 1103515245u + 12345u) >> 16) % 64 : n;
    if (chunk > n - pos) chunk = n - pos;
    size_t k = subhdr_feed(&h, s + pos, chunk);
    CHECK(k <= chunk);
    if (k < chunk || (subhdr_ended(&h) && end > n)) { CHECK(subhdr_ended(&h)); if (end > n) end = pos + k; }
    pos += chunk;
  }
  CHECK(subhdr_missing(&h, &miss, "h.test") && stralloc_0(&miss));
  int r = subhdr_from(&h, &a, &alen, &na);
  CHECK(stralloc_catb(said, (char const *)&end, sizeof end) && stralloc_catb(said, (char const *)&r, sizeof r));
  CHECK(stralloc_catb(said, strstr(miss.s, "Date:") ? "D" : "-", 1));
  CHECK(stralloc_catb(said, strstr(miss.s, "Message-ID:") ? "M" : "-", 1));
  CHECK(stralloc_catb(said, subhdr_bad(&h) ? "B" : "-", 1));
  if (r >= 0) CHECK(stralloc_catb(said, a, alen));
  stralloc_free(&miss);
  subhdr_free(&h);
}

static void fz_subhdr(char const *s, size_t n)
{
  stralloc whole = STRALLOC_ZERO, cut = STRALLOC_ZERO;
  subhdr_say(s, n, 0, &whole);
  subhdr_say(s, n, (unsigned)n | 1, &cut);
  CHECK(whole.len == cut.len && !memcmp(whole.s, cut.s, whole.len));
  stralloc_free(&whole);
  stralloc_free(&cut);
}

/* DKIM tag-lists: every tag inside the input, values within their spec,
   no duplicate names; then the same bytes as a DKIM-Signature value and
   as a key record. */
static void fz_dkimtags(char const *s, size_t n)
{
  dkim_tags t;
  char const *why = 0;
  static dkim_sig sg;
  static dkim_key k;
  if (dkim_tags_parse(&t, s, n, &why)) {
    CHECK(t.n >= 1 && t.n <= DKIM_TAGS_MAX);
    for (unsigned i = 0; i < t.n; i++) {
      dkim_tag const *g = t.t + i;
      CHECK(g->namelen && g->name >= s && g->name + g->namelen <= s + n);
      CHECK(g->vstart <= g->vend && g->vend <= n);
      CHECK(g->val >= s + g->vstart && g->val + g->vallen <= s + g->vend);
      for (unsigned j = 0; j < i; j++)
        CHECK(t.t[j].namelen != g->namelen || memcmp(t.t[j].name, g->name, g->namelen));
    }
  } else CHECK(why && *why);
  why = 0;
  if (!dkim_sig_parse(&sg, s, n, &why)) CHECK(why && *why);
  else CHECK(sg.nh >= 1 && sg.blen <= sizeof sg.b && sg.bcut[0] <= sg.bcut[1] && sg.bcut[1] <= n);
  why = 0;
  if (!dkim_key_parse(&k, s, n, &why)) CHECK(why && *why);
  else CHECK(k.bits >= DKIM_KEY_MINBITS && k.bits <= DKIM_KEY_MAXBITS);
}

/* A whole message through dkim_verify, the key record being the input's
   first line (a resolver table): one result per signature, each named. */
static char const *fz_keyrec;
static size_t fz_keyreclen;
static int fz_txt(void *ctx, char const *name, stralloc *out)
{
  (void)ctx; (void)name;
  return stralloc_catb(out, fz_keyrec, fz_keyreclen) && stralloc_0(out) ? 1 : -1;
}

static void fz_dkimverify(char const *s, size_t n)
{
  static dkim_result r[DKIM_MAXSIGS];
  size_t eol = 0;
  while (eol < n && s[eol] != '\n') eol++;
  fz_keyrec = s;
  fz_keyreclen = eol;
  if (eol < n) eol++;
  unsigned k = dkim_verify(r, s + eol, n - eol, 1800000000, &fz_txt, 0);
  CHECK(k <= DKIM_MAXSIGS);
  for (unsigned i = 0; i < k; i++) {
    stralloc sa = STRALLOC_ZERO;
    CHECK(r[i].result >= DKIM_NONE && r[i].result <= DKIM_PERMERROR);
    CHECK(dkim_result_fmt(&sa, r + i));
    stralloc_free(&sa);
  }
}

/* An SPF record (the "v=spf1 " prefix added when missing): what the
   parser keeps lies within the record, and every domain-spec it accepted
   expands, with all the macro letters, to a bounded name; the input as a
   macro-string or an explanation expands without crash. */
static void fz_spf(char const *s, size_t n)
{
  static spf_record r;
  spf_macro m = { .sender = "strong-bad@email.example.com", .domain = "email.example.com",
                  .helo = "mx.example.org", .ptr = "host.example.com", .me = "mx.test", .now = 1 };
  char const *why;
  char name[SPF_MAXDOMAIN + 1];
  stralloc sa = STRALLOC_ZERO;
  m.ip.is6 = n & 1;
  memset(m.ip.ip, 0xa5, 16);
  if (!stralloc_cats(&sa, spf_is_record(s, n) ? "" : "v=spf1 ") || !stralloc_catb(&sa, s, n)) abort();
  if (spf_parse(&r, sa.s, sa.len, &why)) {
    CHECK(r.nterms <= SPF_MAXTERMS && sa.len <= SPF_MAXRECORD);
    for (unsigned i = 0; i < r.nterms; i++) {
      spf_term const *t = r.term + i;
      CHECK(t->spec + t->speclen <= sa.len && t->cidr4 <= 32 && t->cidr6 <= 128);
      if (t->speclen && spf_expand_domain(name, r.text + t->spec, t->speclen, &m) > 0)
        CHECK(strlen(name) <= SPF_MAXDOMAIN);
    }
    CHECK(r.redirect + r.redirectlen <= sa.len && r.exp + r.explen <= sa.len);
  } else CHECK(why && *why);
  sa.len = 0;
  spf_expand(&sa, s, n, &m, 1);
  stralloc_free(&sa);
}

/* check_host() over a zone made of the input: its lines are the TXT
   records of d0.test, d1.test...; names beginning with "a" have an A and
   an AAAA record, with "mx" two MX names, with "p" a PTR; names with
   "temp" fail temporarily. The result is one of the seven, within the
   limits, whatever the records say. */
typedef struct { char const *s; size_t n; } fzzone;

static int fz_query(void *ctx, int type, char const *name, spf_answer *a, tain const *deadline)
{
  fzzone const *z = ctx;
  (void)deadline;
  a->n = 0;
  a->text.len = 0;
  if (strstr(name, "temp")) return SPF_DNS_TEMP;
  if (type == SPF_T_TXT && name[0] == 'd' && name[1] >= '0' && name[1] <= '9' && !strcmp(name + 2, ".test")) {
    size_t i = 0, line = name[1] - '0';
    for (; line && i < z->n; i++) if (z->s[i] == '\n') line--;
    if (i >= z->n) return SPF_DNS_NONE;
    size_t e = i;
    while (e < z->n && z->s[e] != '\n') e++;
    if (!stralloc_catb(&a->text, z->s + i, e - i) || !stralloc_0(&a->text)) return SPF_DNS_TEMP;
    for (size_t k = 0; k + 1 < a->text.len; k++) if (!a->text.s[k]) a->text.s[k] = 1;
    a->n = 1;
  } else if ((type == SPF_T_A || type == SPF_T_AAAA) && name[0] == 'a') {
    a->ip[0].is6 = type == SPF_T_AAAA;
    memset(a->ip[0].ip, 10, 16);
    a->n = 1;
  } else if ((type == SPF_T_MX && !strncmp(name, "mx", 2)) || (type == SPF_T_PTR && name[0] == 'p')) {
    if (!stralloc_catb(&a->text, "a.test\0d1.test", 14)) return SPF_DNS_TEMP;
    a->n = 2;
  }
  return a->n ? SPF_DNS_OK : SPF_DNS_NONE;
}

static void fz_spfcheck(char const *s, size_t n)
{
  fzzone z = { s, n };
  spf_resolver dns = { &fz_query, &z };
  spf_check c = { .dns = &dns, .sender = "john@d0.test", .helo = "a.helo.test", .me = "mx.test" };
  c.ip.is6 = n & 1;
  memset(c.ip.ip, 10, 16);
  tain_now_g();
  tain_addsec_g(&c.deadline, 10);
  int r = spf_check_host(&c, "d0.test");
  CHECK(r >= SPF_NONE && r <= SPF_PERMERROR && c.lookups <= SPF_MAXLOOKUPS + 1 && c.voids <= SPF_MAXVOID + 1);
  CHECK(strlen(c.why) < sizeof c.why);
  if (c.exp.len) CHECK(r == SPF_FAIL && c.exp.len <= SPF_MAXEXP + 1 && c.exp.s[c.exp.len - 1] == 0);
  stralloc_free(&c.exp);
}

/* A DMARC record: a parsed one has its values in range; the same bytes
   as a Public Suffix List, asked for a few names, give an organizational
   domain that ends the name. */
static void fz_dmarc(char const *s, size_t n)
{
  dmarc_record r;
  dmarc_psl p = DMARC_PSL_ZERO;
  char const *why, *names[] = { "a.b.example.com", "www.city.kobe.jp", "x.y.z", "com" };
  char out[254];
  if (dmarc_parse(&r, s, n, &why))
    CHECK(r.p >= DMARC_P_NONE && r.p <= DMARC_P_REJECT && r.sp >= DMARC_P_NONE && r.sp <= DMARC_P_REJECT
          && (r.adkim == 'r' || r.adkim == 's') && (r.aspf == 'r' || r.aspf == 's') && r.pct <= 100
          && r.nrua <= DMARC_MAXURIS && r.nruf <= DMARC_MAXURIS && r.fo && r.fo <= 15);
  else CHECK(why && *why);
  if (dmarc_psl_parse(&p, s, n))
    for (unsigned i = 0; i < 4; i++)
      if (dmarc_orgdomain(&p, names[i], out)) {
        size_t lo = strlen(out), ln = strlen(names[i]);
        CHECK(lo <= ln && !strcmp(names[i] + ln - lo, out) && (lo == ln || names[i][ln - lo - 1] == '.'));
      }
  dmarc_psl_free(&p);
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  static void (*const target[])(char const *, size_t) = {
    fz_addr, fz_smtpcmd, fz_smtpdata, fz_hdr, fz_routes, fz_maildir,
    fz_report, fz_queue, fz_smtpc, fz_dsn, fz_dsnbuild, fz_replies, fz_dataroundtrip,
    fz_addrlist, fz_subhdr, fz_dkimtags, fz_dkimverify,
    fz_spf, fz_dmarc, fz_spfcheck,
  };
  if (!size) return 0;
  char *s = malloc(size - 1 ? size - 1 : 1);
  memcpy(s, data + 1, size - 1);
  target[data[0] % (sizeof target / sizeof *target)](s, size - 1);
  free(s);
  return 0;
}
