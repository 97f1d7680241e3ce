#include <string.h>
#include <skalibs/stralloc.h>
#include "report.h"

/* Cut at most max bytes of s[0..len) without splitting a UTF-8 sequence. */
static size_t cut_utf8(char const *s, size_t len, size_t max)
{
  if (len <= max) return len;
  len = max;
  /* back off over continuation bytes to the start of the cut character */
  while (len && ((unsigned char)s[len] & 0xc0) == 0x80) len--;
  return len;
}

int report_add(stralloc *sa, char code, char const *text, size_t len)
{
  size_t n = cut_utf8(text, len, REPORT_TEXTMAX);
  size_t base;
  if (!stralloc_readyplus(sa, n + 2)) return 0;
  sa->s[sa->len++] = code;
  base = sa->len;
  memcpy(sa->s + base, text, n);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = sa->s[base + i];
    if (c < 0x20 || c == 0x7f) sa->s[base + i] = '?';
  }
  sa->len += n;
  sa->s[sa->len++] = 0;
  return 1;
}

int report_adds(stralloc *sa, char code, char const *text)
{
  return report_add(sa, code, text, strlen(text));
}

/* Next entry at s[*pos..len): 1 and *e filled, 0 if there is no '\0'. */
static int next_entry(char const *s, size_t len, size_t *pos, report_entry *e)
{
  char const *z;
  if (*pos >= len) return 0;
  z = memchr(s + *pos, 0, len - *pos);
  if (!z) return 0;
  e->code = s[*pos];
  e->text = s + *pos + 1;
  e->len = z > e->text ? (size_t)(z - e->text) : 0;
  *pos = z - s + 1;
  return 1;
}

static int is_rcpt_code(char c) { return c == 'r' || c == 'h' || c == 's'; }
static int is_msg_code(char c) { return c == 'K' || c == 'Z' || c == 'D'; }

int report_parse(char const *s, size_t len, unsigned int nrcpt, report_entry *rcpt, report_entry *msg)
{
  size_t pos = 0;
  unsigned int n = 0, accepted = 0;
  report_entry e;
  for (;;) {
    if (!next_entry(s, len, &pos, &e)) return 0;
    /* an empty entry (code '\0') is neither kind: malformed */
    if (is_msg_code(e.code)) break;
    if (!is_rcpt_code(e.code) || n >= nrcpt) return 0;
    if (e.code == 'r') accepted++;
    rcpt[n++] = e;
  }
  if (pos != len) return 0;
  if (n && n != nrcpt) return 0;
  if (e.code == 'K' && !accepted) return 0;
  *msg = e;
  for (; n < nrcpt; n++) rcpt[n] = e;
  return 1;
}

int report_outcome(report_entry const *rcpt, report_entry const *msg, char const **text, size_t *len)
{
  switch (rcpt->code) {
    case 'h': *text = rcpt->text; *len = rcpt->len; return REPORT_PERM;
    case 's': *text = rcpt->text; *len = rcpt->len; return REPORT_TEMP;
    default: break;
  }
  *text = msg->text;
  *len = msg->len;
  return msg->code == 'K' ? REPORT_OK : msg->code == 'D' ? REPORT_PERM : REPORT_TEMP;
}
