/* The organizational domain (RFC 7489 3.2) by the Public Suffix List
   (publicsuffix.org's algorithm): the rules kept sorted, looked up by
   bsearch for each suffix of the name, as "x.y", "*.y" and "!x.y". */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/djbunix.h>
#include "dmarc/dmarc.h"

static int cmp(void const *a, void const *b, void *base)
{
  return strcmp((char const *)base + *(size_t const *)a, (char const *)base + *(size_t const *)b);
}

void dmarc_psl_free(dmarc_psl *p)
{
  stralloc_free(&p->rules);
  free(p->idx);
  p->idx = 0;
  p->n = 0;
}

/* One line: its rule (up to the first white space) appended, lower case. */
static int add_rule(dmarc_psl *p, char const *s, size_t len)
{
  size_t n = 0;
  while (n < len && s[n] != ' ' && s[n] != '\t' && s[n] != '\r') n++;
  if (!n || n > DMARC_PSL_MAXRULE || (n >= 2 && s[0] == '/' && s[1] == '/')) return 1;
  if (p->n == DMARC_PSL_MAXRULES) return (errno = EFBIG, 0);
  size_t from = p->rules.len;
  if (!stralloc_catb(&p->rules, s, n) || !stralloc_0(&p->rules)) return 0;
  for (size_t i = from; i < from + n; i++)
    if (p->rules.s[i] >= 'A' && p->rules.s[i] <= 'Z') p->rules.s[i] += 32;
  p->n++;
  return 1;
}

int dmarc_psl_parse(dmarc_psl *p, char const *s, size_t len)
{
  dmarc_psl_free(p);
  if (len > DMARC_PSL_MAXSIZE) return (errno = EFBIG, 0);
  for (size_t i = 0; i < len; ) {
    char const *nl = memchr(s + i, '\n', len - i);
    size_t e = nl ? (size_t)(nl - s) : len;
    if (!add_rule(p, s + i, e - i)) { dmarc_psl_free(p); return 0; }
    i = e + 1;
  }
  p->idx = malloc((p->n ? p->n : 1) * sizeof *p->idx);
  if (!p->idx) { dmarc_psl_free(p); return 0; }
  for (size_t i = 0, off = 0; i < p->n; i++) {
    p->idx[i] = off;
    off += strlen(p->rules.s + off) + 1;
  }
  qsort_r(p->idx, p->n, sizeof *p->idx, &cmp, p->rules.s);
  return 1;
}

int dmarc_psl_load(dmarc_psl *p, char const *path)
{
  stralloc sa = STRALLOC_ZERO;
  struct stat st;
  int fd = openc_read(path ? path : DMARC_PSL), r = 0;
  if (fd < 0) return 0;
  if (fstat(fd, &st) < 0) goto end;
  if (st.st_size > DMARC_PSL_MAXSIZE) { errno = EFBIG; goto end; }
  if (!slurp(&sa, fd)) goto end;     /* the size checked: a system file, not a stream */
  r = dmarc_psl_parse(p, sa.s, sa.len);
 end:
  fd_close(fd);
  stralloc_free(&sa);
  return r;
}

static int has(dmarc_psl const *p, char const *rule)
{
  size_t lo = 0, hi = p->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(rule, p->rules.s + p->idx[mid]);
    if (!c) return 1;
    if (c < 0) hi = mid; else lo = mid + 1;
  }
  return 0;
}

/* The name lower case in d, its label starts in at[]: the label count, or 0. */
static unsigned labels(char const *domain, char *d, size_t *at)
{
  size_t len = strlen(domain), lab = 0;
  unsigned n = 0;
  if (len && domain[len - 1] == '.') len--;
  if (!len || len > 253) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = domain[i];
    if (c == '.') { if (!lab) return 0; lab = 0; }
    else if ((unsigned char)c <= 0x20 || (unsigned char)c >= 0x7f || ++lab > 63) return 0;
    else if (lab == 1) at[n++] = i;
    d[i] = c >= 'A' && c <= 'Z' ? c + 32 : c;
  }
  d[len] = 0;
  return lab ? n : 0;
}

/* A rule, exact or wildcard, for the suffix of d from its label i. */
static int listed(dmarc_psl const *p, char const *d, size_t const *at, unsigned i, unsigned n)
{
  char rule[260];
  if (has(p, d + at[i])) return 1;
  if (i + 1 == n) return 0;
  rule[0] = '*'; rule[1] = '.';
  strcpy(rule + 2, d + at[i + 1]);
  return has(p, rule);
}

int dmarc_orgdomain(dmarc_psl const *p, char const *domain, char *out)
{
  char d[256], rule[260];
  size_t at[128];
  unsigned n = labels(domain, d, at), ps = 1;   /* the default rule "*" */
  if (!n) return 0;
  /* the longest listed suffix, unless an exception rule says otherwise */
  for (unsigned i = 0; i < n; i++) {
    rule[0] = '!';
    strcpy(rule + 1, d + at[i]);
    if (has(p, rule)) { ps = n - i - 1; break; }
    if (n - i > ps && listed(p, d, at, i, n)) ps = n - i;
  }
  if (ps >= n) return 0;
  strcpy(out, d + at[n - ps - 1]);
  return 1;
}
