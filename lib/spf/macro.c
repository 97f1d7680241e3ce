/* SPF macros (RFC 7208 7): %{L[digits][r][delimiters]}, %% %_ %-. */
#include <stdio.h>
#include <string.h>
#include <skalibs/fmtscan.h>
#include <skalibs/types.h>
#include "spf/spf.h"

#define MAXPARTS (SPF_MAXRECORD + 1)   /* a value of SPF_MAXRECORD delimiters */

static int is_v4(ip46full const *ip) { return !ip->is6; }

/* The address as dotted octets or nibbles, forward or reversed. */
static size_t ip_dotted(char *out, ip46full const *ip, int reverse)
{
  static char const hex[] = "0123456789abcdef";
  size_t n = 0;
  unsigned cnt = is_v4(ip) ? 4 : 32;
  for (unsigned k = 0; k < cnt; k++) {
    unsigned i = reverse ? cnt - 1 - k : k;
    unsigned char b = (unsigned char)ip->ip[is_v4(ip) ? i : i / 2];
    if (k) out[n++] = '.';
    if (is_v4(ip)) n += uint_fmt(out + n, b);
    else out[n++] = hex[i & 1 ? b & 15 : b >> 4];
  }
  out[n] = 0;
  return n;
}

size_t spf_ip_reverse(char *out, ip46full const *ip)
{
  return ip_dotted(out, ip, 1);
}

/* The value of macro letter c (lower case, allowed) into buf (72 bytes)
   or a pointer into m's strings; "" when only checking syntax (no m). */
static char const *value(int c, spf_macro const *m, char *buf)
{
  char const *at;
  if (!m) return "";
  switch (c) {
    case 's': return m->sender;
    case 'l': case 'o':
      at = strrchr(m->sender, '@');
      if (c == 'o') return at ? at + 1 : m->sender;
      if (!at) return "postmaster";
      snprintf(buf, 65, "%.*s", (int)(at - m->sender), m->sender);
      return buf;       /* a local part over 64 bytes is cut (RFC 5321 4.5.3.1.1) */
    case 'd': return m->domain;
    case 'i': ip_dotted(buf, &m->ip, 0); return buf;
    case 'p': return m->ptr ? m->ptr : "unknown";
    case 'v': return is_v4(&m->ip) ? "in-addr" : "ip6";
    case 'h': return m->helo ? m->helo : "unknown";
    case 'c': buf[ip46full_fmt(buf, &m->ip)] = 0; return buf;
    case 'r': return m->me ? m->me : "unknown";
    case 't': buf[uint64_fmt(buf, m->now)] = 0; return buf;
    default: return 0;
  }
}

static int is_delim(char c) { return c && strchr(".-+,/_=", c); }

static int urlesc(stralloc *out, char const *s, size_t len)
{
  static char const hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = s[i];
    int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
               || c == '-' || c == '.' || c == '_' || c == '~';
    char e[3] = { '%', hex[c >> 4], hex[c & 15] };
    if (!(keep ? stralloc_catb(out, (char *)&c, 1) : stralloc_catb(out, e, 3))) return -1;
  }
  return 1;
}

/* v split at delims, reversed if rev, its rightmost keep parts (0: all),
   joined with dots, URL-escaped if esc. */
static int transform(stralloc *out, char const *v, char const *delims, size_t nd,
                     unsigned keep, int rev, int esc)
{
  static unsigned short start[MAXPARTS], end[MAXPARTS];
  size_t len = strlen(v), from = out->len;
  unsigned n = 0, first;
  if (len > SPF_MAXRECORD) return 0;
  for (size_t i = 0, b = 0; i <= len; i++)
    if (i == len || (nd ? memchr(delims, v[i], nd) != 0 : v[i] == '.')) {
      start[n] = b; end[n++] = i; b = i + 1;
    }
  if (rev)
    for (unsigned i = 0; i < n / 2; i++) {
      unsigned short s = start[i], e = end[i];
      start[i] = start[n - 1 - i]; end[i] = end[n - 1 - i];
      start[n - 1 - i] = s; end[n - 1 - i] = e;
    }
  first = keep && keep < n ? n - keep : 0;
  for (unsigned i = first; i < n; i++) {
    if (i > first && !stralloc_catb(out, ".", 1)) return -1;
    if (!stralloc_catb(out, v + start[i], end[i] - start[i])) return -1;
  }
  if (!esc) return 1;
  /* escape in place: copy the plain form out, escape it back */
  stralloc t = STRALLOC_ZERO;
  int r = stralloc_catb(&t, out->s + from, out->len - from) ? 1 : -1;
  out->len = from;
  if (r > 0) r = urlesc(out, t.s, t.len);
  stralloc_free(&t);
  return r;
}

/* One "%{...}" at s (after "%{"): its length up to and with "}", or 0. */
static size_t macro(stralloc *out, char const *s, size_t len, spf_macro const *m, int exp)
{
  char buf[72];
  size_t i = 1, d;
  unsigned keep = 0, nd = 0;
  int rev = 0, c;
  if (!len) return 0;
  c = s[0] | 0x20;
  if (!strchr(exp ? "slodipvhcrt" : "slodipvh", c) || !c) return 0;
  char const *v = value(c, m, buf);
  if (!v) return 0;
  for (d = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++, d++)
    if (d < 4) keep = keep * 10 + (s[i] - '0');
  if (d && !keep) return 0;                /* the digit "MUST be nonzero" */
  if (i < len && (s[i] | 0x20) == 'r') { rev = 1; i++; }
  size_t ds = i;
  for (; i < len && is_delim(s[i]); i++) nd++;
  if (i >= len || s[i] != '}') return 0;
  if (!out) return i + 1;
  int r = transform(out, v, s + ds, nd, keep, rev, s[0] >= 'A' && s[0] <= 'Z');
  return r > 0 ? i + 1 : r < 0 ? (size_t)-1 : 0;
}

int spf_expand(stralloc *out, char const *s, size_t len, spf_macro const *m, int exp)
{
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    char const *lit = &s[i];
    size_t litlen = 1;
    if (c == '%') {
      if (++i == len) return 0;
      if (s[i] == '%') lit = "%";
      else if (s[i] == '_') lit = " ";
      else if (s[i] == '-') { lit = "%20"; litlen = 3; }
      else if (s[i] == '{') {
        size_t k = macro(out, s + i + 1, len - i - 1, m, exp);
        if (k == (size_t)-1) return -1;
        if (!k) return 0;
        i += k;
        continue;
      } else return 0;
    } else if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7e) {
      if (!(exp && c == ' ')) return 0;
    }
    if (out && !stralloc_catb(out, lit, litlen)) return -1;
  }
  return 1;
}

/* Labels of 1 to 63 bytes (an empty one is a malformed name, not a
   query to make). */
static int labels_ok(char const *s)
{
  size_t lab = 0;
  for (; *s; s++) {
    if (*s != '.') { if (++lab > 63) return 0; }
    else if (!lab) return 0;
    else lab = 0;
  }
  return lab > 0;
}

int spf_expand_domain(char *name, char const *s, size_t len, spf_macro const *m)
{
  stralloc sa = STRALLOC_ZERO;
  int r = spf_expand(&sa, s, len, m, 0);
  size_t from = 0, n;
  if (r <= 0) { stralloc_free(&sa); return r; }
  n = sa.len;
  if (n && sa.s[n - 1] == '.') n--;
  while (n - from > SPF_MAXDOMAIN) {
    char const *dot = memchr(sa.s + from, '.', n - from);
    if (!dot) { n = from; break; }
    from = dot - sa.s + 1;
  }
  memcpy(name, sa.s + from, n - from);
  name[n - from] = 0;
  stralloc_free(&sa);
  return n > from && labels_ok(name);
}
