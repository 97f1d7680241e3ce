/* The SPF record parser (RFC 7208 4.6, 5, 6): terms separated by spaces,
   each a directive ([qualifier] mechanism) or a modifier (name=value).
   Domain-specs are kept unexpanded: macros depend on the check. */
#include <string.h>
#include <strings.h>
#include <skalibs/fmtscan.h>
#include "spf/spf.h"

static char const *const mechname[] = { "all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists" };

char const *spf_result_name(int result)
{
  static char const *const name[] = { "none", "neutral", "pass", "fail", "softfail",
                                      "temperror", "permerror" };
  return result >= 0 && result <= SPF_PERMERROR ? name[result] : "permerror";
}

int spf_is_record(char const *s, size_t len)
{
  return len >= 6 && !strncasecmp(s, "v=spf1", 6) && (len == 6 || s[6] == ' ');
}

static int is_alpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alnum(char c) { return is_alpha(c) || is_digit(c); }

/* An IPv4 address, each octet 0..255 (skalibs' ip4_scan wraps). */
static int ip4_strict(char const *s, size_t len, char *ip)
{
  size_t i = 0;
  for (int k = 0; k < 4; k++) {
    unsigned v = 0, d = 0;
    if (k && (i >= len || s[i++] != '.')) return 0;
    for (; d < 4 && i < len && is_digit(s[i]); d++) v = v * 10 + (s[i++] - '0');
    if (!d || d > 3 || v > 255) return 0;
    ip[k] = (char)v;
  }
  return i == len;
}

/* A CIDR length: "0" or no leading zero, at most max. -1 if malformed. */
static int cidr_scan(char const *s, size_t len, unsigned max)
{
  unsigned v = 0;
  if (!len || len > 3 || (len > 1 && s[0] == '0')) return -1;
  for (size_t i = 0; i < len; i++) {
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v <= max ? (int)v : -1;
}

/* A "/N" at the end of s[0..*len): 1 with *len cut before the slash and
   *v set, 0 if there is none, -1 if malformed. */
static int cidr_tail(char const *s, size_t *len, unsigned max, int *v)
{
  size_t i = *len;
  while (i && is_digit(s[i - 1])) i--;
  if (!i || s[i - 1] != '/') return 0;
  *v = cidr_scan(s + i, *len - i, max);
  if (*v < 0) return -1;
  *len = i - 1;
  return 1;
}

/* domain-end (7.1): "." toplabel ["."], or a macro-expand at the end. */
static int domain_end_ok(char const *s, size_t len)
{
  size_t i;
  int alpha = 0;
  if (len && s[len - 1] == '.') len--;
  if (len >= 2 && (s[len - 1] == '}' || s[len - 2] == '%')) return 1;   /* a macro: checked by spf_expand */
  for (i = len; i && s[i - 1] != '.'; i--) {
    if (!is_alnum(s[i - 1]) && s[i - 1] != '-') return 0;
    alpha |= is_alpha(s[i - 1]);
  }
  if (!i || i == len || s[i] == '-' || s[len - 1] == '-') return 0;
  return alpha || memchr(s + i, '-', len - i) != 0;
}

static int spec_ok(char const *s, size_t len)
{
  return len && domain_end_ok(s, len) && spf_expand(0, s, len, 0, 0) == 1;
}

static int mech_find(char const *s, size_t len)
{
  for (unsigned m = 0; m < sizeof mechname / sizeof *mechname; m++)
    if (strlen(mechname[m]) == len && !strncasecmp(s, mechname[m], len)) return (int)m;
  return -1;
}

/* The argument of a mechanism (after its name): ":" domain-spec, CIDR
   lengths, an address; t filled. 0 if malformed. */
static int mech_arg(spf_term *t, char const *text, size_t pos, size_t len)
{
  char const *s = text + pos;
  int c4 = 32, c6 = 128, r;
  t->cidr4 = 32; t->cidr6 = 128; t->spec = t->speclen = 0;
  switch (t->mech) {
    case SPF_ALL: return !len;
    case SPF_IP4:
      if (!len || s[0] != ':') return 0;
      if (cidr_tail(s, &len, 32, &c4) < 0) return 0;
      t->cidr4 = c4;
      return ip4_strict(s + 1, len - 1, t->ip);
    case SPF_IP6:
      if (!len || s[0] != ':') return 0;
      if (cidr_tail(s, &len, 128, &c6) < 0) return 0;
      t->cidr6 = c6;
      return len > 1 && ip6_scan(s + 1, t->ip) == len - 1;
    case SPF_A: case SPF_MX:
      r = cidr_tail(s, &len, 128, &c6);
      if (r < 0) return 0;
      if (r && len && s[len - 1] == '/') len--;          /* "//N": the IPv6 length */
      else if (r) { if (c6 > 32) return 0; c4 = c6; c6 = 128; r = 0; }
      if (r && cidr_tail(s, &len, 32, &c4) < 0) return 0;
      t->cidr4 = c4; t->cidr6 = c6;
      break;
    default: break;
  }
  if (!len) return t->mech != SPF_INCLUDE && t->mech != SPF_EXISTS;
  if (s[0] != ':' || !spec_ok(s + 1, len - 1)) return 0;
  t->spec = pos + 1;
  t->speclen = len - 1;
  return 1;
}

static int fail(char const **why, char const *text)
{
  *why = text;
  return 0;
}

/* A modifier name=value (5.1-5.2 and unknown ones, 6). */
static int modifier(spf_record *r, size_t pos, size_t namelen, size_t len, char const **why)
{
  char const *s = r->text + pos;
  unsigned short vpos = pos + namelen + 1, vlen = len - namelen - 1;
  int isredir = namelen == 8 && !strncasecmp(s, "redirect", 8);
  int isexp = namelen == 3 && !strncasecmp(s, "exp", 3);
  if (!isredir && !isexp)
    return spf_expand(0, s + namelen + 1, vlen, 0, 0) == 1 || fail(why, "malformed modifier");
  if (!spec_ok(r->text + vpos, vlen)) return fail(why, "malformed domain in a modifier");
  if (isredir ? r->redirectlen : r->explen) return fail(why, "redirect= or exp= given twice");
  if (isredir) { r->redirect = vpos; r->redirectlen = vlen; }
  else { r->exp = vpos; r->explen = vlen; }
  return 1;
}

static int term(spf_record *r, size_t pos, size_t len, char const **why)
{
  char const *s = r->text + pos;
  spf_term *t = r->term + r->nterms;
  size_t n = 0, q = 0;
  if (s[0] == '+' || s[0] == '-' || s[0] == '~' || s[0] == '?') q = 1;
  if (!is_alpha(s[q])) return fail(why, "malformed term");
  for (n = q + 1; n < len && (is_alnum(s[n]) || s[n] == '-' || s[n] == '_' || s[n] == '.'); n++) ;
  if (!q && n < len && s[n] == '=') return modifier(r, pos, n, len, why);
  int m = mech_find(s + q, n - q);
  if (m < 0) return fail(why, "unknown mechanism");
  if (r->nterms == SPF_MAXTERMS) return fail(why, "too many terms");
  t->mech = m;
  t->qual = q ? s[0] : '+';
  if (!mech_arg(t, r->text, pos + n, len - n)) return fail(why, "malformed mechanism argument");
  r->nterms++;
  return 1;
}

int spf_parse(spf_record *r, char const *s, size_t len, char const **why)
{
  size_t i = 6;
  r->nterms = 0;
  r->redirect = r->redirectlen = r->exp = r->explen = 0;
  if (len > SPF_MAXRECORD) return fail(why, "record too long");
  if (!spf_is_record(s, len)) return fail(why, "not an SPF record");
  memcpy(r->text, s, len);
  r->text[len] = 0;
  for (size_t k = 0; k < len; k++)
    if ((unsigned char)s[k] < 0x20 || (unsigned char)s[k] > 0x7e)
      return fail(why, "control or 8-bit character in the record");
  while (i < len) {
    size_t j;
    if (s[i] == ' ') { i++; continue; }
    for (j = i; j < len && s[j] != ' '; j++) ;
    if (!term(r, i, j - i, why)) return 0;
    i = j;
  }
  return 1;
}
