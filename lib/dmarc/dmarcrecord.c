/* The DMARC record parser (RFC 7489 6.3, 6.4): a tag-list as DKIM's
   (RFC 6376 3.2), "v=DMARC1" first. */
#include <string.h>
#include <strings.h>
#include "dmarc/dmarc.h"

static int is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static int is_alpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

int dmarc_is_record(char const *s, size_t len)
{
  size_t i = 0;
  while (i < len && is_wsp(s[i])) i++;
  if (i == len || (s[i] | 0x20) != 'v') return 0;
  for (i++; i < len && is_wsp(s[i]); i++) ;
  if (i == len || s[i++] != '=') return 0;
  while (i < len && is_wsp(s[i])) i++;
  if (len - i < 6 || memcmp(s + i, "DMARC1", 6)) return 0;
  i += 6;
  return i == len || s[i] == ';' || is_wsp(s[i]);
}

static int is(char const *s, size_t len, char const *word)
{
  return strlen(word) == len && !strncasecmp(s, word, len);
}

static int policy(char const *s, size_t len)
{
  return is(s, len, "none") ? DMARC_P_NONE : is(s, len, "quarantine") ? DMARC_P_QUARANTINE
       : is(s, len, "reject") ? DMARC_P_REJECT : -1;
}

/* A number of 1..max_digits digits, at most max: its value, or -1. */
static long number(char const *s, size_t len, unsigned maxdigits, unsigned long max)
{
  unsigned long v = 0;
  if (!len || len > maxdigits) return -1;
  for (size_t i = 0; i < len; i++) {
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v <= max ? (long)v : -1;
}

/* One dmarc-uri: URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ], the URI
   checked only as scheme ":" and something. */
static int uri_ok(char const *s, size_t len)
{
  size_t i = 0, bang;
  if (!len || !is_alpha(s[0])) return 0;
  while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) i++;
  if (i == len || s[i] != ':' || i + 1 == len) return 0;
  for (bang = i + 1; bang < len && s[bang] != '!'; bang++)
    if (is_wsp(s[bang]) || (unsigned char)s[bang] > 0x7e) return 0;
  if (bang == len) return 1;
  size_t d = bang + 1;
  while (d < len && is_digit(s[d])) d++;
  if (d == bang + 1 || d + 1 < len) return 0;
  return d == len || strchr("kmgt", s[d] | 0x20);
}

/* rua/ruf: URIs separated by commas (spaces around allowed). */
static unsigned uris(char const *s, size_t len)
{
  unsigned n = 0;
  for (size_t i = 0; i < len; ) {
    size_t j = i, a, b;
    while (j < len && s[j] != ',') j++;
    for (a = i; a < j && is_wsp(s[a]); a++) ;
    for (b = j; b > a && is_wsp(s[b - 1]); b--) ;
    if (uri_ok(s + a, b - a) && n < DMARC_MAXURIS) n++;
    i = j + 1;
  }
  return n;
}

/* fo: "0", "1", "d", "s" separated by colons; anything else: the default. */
static unsigned fo(char const *s, size_t len)
{
  static char const opt[] = "01ds";    /* bit k: DMARC_FO_0, _1, _D, _S */
  unsigned bits = 0;
  for (size_t i = 0; i < len; i += 2) {
    char const *o = s[i] ? strchr(opt, s[i] | 0x20) : 0;
    if (!o || (i + 1 < len && (s[i + 1] != ':' || i + 2 == len))) return DMARC_FO_0;
    bits |= 1u << (o - opt);
  }
  return bits ? bits : DMARC_FO_0;
}

struct tags { int p, sp, spbad; };

/* One known tag's value into r; unknown tags and bad values are left. */
static void tag(dmarc_record *r, struct tags *t, char const *n, size_t nl, char const *v, size_t vl)
{
  long x;
  if (is(n, nl, "p")) t->p = policy(v, vl);
  else if (is(n, nl, "sp")) { t->sp = policy(v, vl); t->spbad = t->sp < 0; }
  else if (is(n, nl, "adkim") || is(n, nl, "aspf")) {
    if (vl == 1 && ((v[0] | 0x20) == 'r' || (v[0] | 0x20) == 's')) *(nl == 5 ? &r->adkim : &r->aspf) = v[0] | 0x20;
  } else if (is(n, nl, "pct")) { if ((x = number(v, vl, 3, 100)) >= 0) r->pct = x; }
  else if (is(n, nl, "ri")) { if ((x = number(v, vl, 10, 0xffffffffUL)) >= 0) r->ri = x; }
  else if (is(n, nl, "rua")) r->nrua = uris(v, vl);
  else if (is(n, nl, "ruf")) r->nruf = uris(v, vl);
  else if (is(n, nl, "fo")) r->fo = fo(v, vl);
}

static int fail(char const **why, char const *s)
{
  *why = s;
  return 0;
}

/* tag-spec: [FWS] name [FWS] "=" [FWS] value [FWS]; name ALPHA *(ALNUM / "_"),
   value printable but ";" (inner spaces allowed). */
static int spec(char const *s, size_t len, size_t *nl, size_t *vs, size_t *vl)
{
  size_t i = 0, e = len, n;
  while (i < len && is_wsp(s[i])) i++;
  while (e > i && is_wsp(s[e - 1])) e--;
  if (i == e || !is_alpha(s[i])) return 0;
  for (n = i; n < e && (is_alpha(s[n]) || is_digit(s[n]) || s[n] == '_'); n++) ;
  *nl = n - i;
  while (n < e && is_wsp(s[n])) n++;
  if (n == e || s[n++] != '=') return 0;
  while (n < e && is_wsp(s[n])) n++;
  for (size_t k = n; k < e; k++)
    if (!is_wsp(s[k]) && ((unsigned char)s[k] < 0x21 || (unsigned char)s[k] > 0x7e)) return 0;
  *vs = n; *vl = e - n;
  return 1;
}

int dmarc_parse(dmarc_record *r, char const *s, size_t len, char const **why)
{
  struct tags t = { -1, -1, 0 };
  char const *name[DMARC_MAXTAGS];
  size_t namelen[DMARC_MAXTAGS];
  unsigned ntags = 0;
  *r = (dmarc_record){ .adkim = 'r', .aspf = 'r', .pct = 100, .fo = DMARC_FO_0, .ri = 86400 };
  if (len > DMARC_MAXRECORD) return fail(why, "record too long");
  if (!dmarc_is_record(s, len)) return fail(why, "not a DMARC record");
  for (size_t i = 0; i < len; ) {
    size_t j = i, nl, vs, vl, lead = i;
    while (j < len && s[j] != ';') j++;
    while (lead < j && is_wsp(s[lead])) lead++;
    if (lead < j) {
      if (!spec(s + i, j - i, &nl, &vs, &vl)) return fail(why, "malformed tag");
      if (ntags == DMARC_MAXTAGS) return fail(why, "too many tags");
      for (unsigned k = 0; k < ntags; k++)
        if (namelen[k] == nl && !strncasecmp(name[k], s + lead, nl)) return fail(why, "a tag given twice");
      name[ntags] = s + lead; namelen[ntags++] = nl;
      if (ntags > 1) tag(r, &t, s + lead, nl, s + i + vs, vl);
    }
    i = j + 1;
  }
  if (t.p < 0 || t.spbad) {
    /* 6.6.3: no valid p= (or a bad sp=) reads as p=none when there is a rua= */
    if (!r->nrua) return fail(why, t.p < 0 ? "no valid p= tag" : "invalid sp= tag");
    t.p = t.sp = DMARC_P_NONE;
  }
  r->p = t.p;
  r->sp = t.sp < 0 ? t.p : t.sp;
  return 1;
}
