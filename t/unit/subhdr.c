/* lib/subhdr (the header as it streams by) and lib/msgid. */
#include <stdlib.h>
#include "msgid.h"
#include "subhdr.h"
#include "tap.h"

/* What h says after msg is fed in pieces of step bytes (0: whole):
   where the header ended, bad, the missing fields' names, the From. */
static char const *run(subhdr *h, char const *msg, size_t len, size_t step)
{
  static char buf[4096] ;
  stralloc miss = STRALLOC_ZERO ;
  char const *a ; size_t alen ; unsigned n ;
  size_t pos = 0, hend = (size_t)-1 ;
  int r ;
  subhdr_init(h) ;
  while (pos < len) {
    size_t k = step && len - pos > step ? step : len - pos ;
    size_t m = subhdr_feed(h, msg + pos, k) ;
    if (m > k) return "fed more than given" ;
    if (m < k || (subhdr_ended(h) && hend == (size_t)-1)) {
      if (hend == (size_t)-1 && subhdr_ended(h)) hend = pos + m ;
    }
    else if (subhdr_ended(h) && m) return "header bytes after its end" ;
    pos += k ;
  }
  if (!subhdr_missing(h, &miss, "host.test")) return "ENOMEM" ;
  r = subhdr_from(h, &a, &alen, &n) ;
  snprintf(buf, sizeof buf, "end=%ld bad=%d date=%d msgid=%d from=%d:",
           hend == (size_t)-1 ? -1L : (long)hend, subhdr_bad(h),
           !!strstr(miss.s ? miss.s : "", "Date: "), !!strstr(miss.s ? miss.s : "", "Message-ID: <"), r) ;
  for (size_t i = 0 ; r >= 0 && i < alen ; i += strlen(a + i) + 1)
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " %s", a + i) ;
  stralloc_free(&miss) ;
  return buf ;
}

/* The same answer whole and fed 1, 2, 3, 7 bytes at a time. */
static void t(subhdr *h, char const *msg, size_t len, char const *want, char const *name)
{
  static size_t const steps[] = { 0, 1, 2, 3, 7 } ;
  for (size_t i = 0 ; i < sizeof steps / sizeof *steps ; i++) {
    char nm[256] ;
    snprintf(nm, sizeof nm, "%s (pieces of %zu)", name, steps[i]) ;
    is_str(run(h, msg, len, steps[i]), want, nm) ;
  }
}
#define T(h, msg, want, name) t(h, msg, strlen(msg), want, name)

int main(void)
{
  subhdr h = SUBHDR_ZERO ;
  T(&h, "From: a@b.test\nTo: c@d\n\nbody\n\nmore\n", "end=23 bad=0 date=1 msgid=1 from=1: a@b.test", "From only") ;
  T(&h, "Date: x\nMessage-ID: <1@x>\nFrom: Joe <a@b.test>\n\nbody\n",
    "end=47 bad=0 date=0 msgid=0 from=1: a@b.test", "all there") ;
  T(&h, "DATE: x\nmessage-id: <1@x>\nfrom: a@b.test\n\n", "end=41 bad=0 date=0 msgid=0 from=1: a@b.test", "names in any case") ;
  T(&h, "From: Joe\n <a@b.test>,\n\tc@d.test\nSender: s@b.test\nSubject: x\n\n",
    "end=61 bad=0 date=1 msgid=1 from=1: a@b.test c@d.test s@b.test", "folded From, Sender") ;
  T(&h, "Subject: no from\n\nFrom: not@header\n", "end=17 bad=0 date=1 msgid=1 from=-1:", "no From") ;
  T(&h, "From: bad <a\n\n", "end=13 bad=0 date=1 msgid=1 from=0:", "malformed From") ;
  T(&h, "Sender: bad <a\nFrom: a@b\n\n", "end=25 bad=0 date=1 msgid=1 from=0: a@b", "malformed Sender") ;
  T(&h, "\nbody\n", "end=0 bad=0 date=1 msgid=1 from=-1:", "empty header") ;
  T(&h, "From: a@b\nDate: x", "end=-1 bad=0 date=0 msgid=1 from=1: a@b", "no empty line, no final LF") ;
  T(&h, "Date: x\nFrom: a@b\n", "end=-1 bad=0 date=0 msgid=1 from=1: a@b", "no empty line") ;
  T(&h, "X-Date: x\nFrom-X: a\nResent-Message-ID: <x>\n\n", "end=43 bad=0 date=1 msgid=1 from=-1:", "lookalike names") ;
  T(&h, "Date : x\nFrom\t: a@b\n\n", "end=20 bad=0 date=0 msgid=1 from=1: a@b", "blanks before the colon") ;
  {
    /* a field over SUBHDR_FIELDMAX: bad, not buffered whole */
    size_t n = 16 * SUBHDR_FIELDMAX ;
    char *m = malloc(n + 64), *p = m ;
    p += sprintf(p, "From: a@b\nX-Long: ") ;
    memset(p, 'x', n) ; p += n ;
    p += sprintf(p, "\nDate: y\n\nbody") ;
    is_str(run(&h, m, (size_t)(p - m), 0), "end=1048603 bad=1 date=0 msgid=1 from=1: a@b", "long field") ;
    ok(h.cur.a <= 2 * SUBHDR_FIELDMAX, "long field not buffered whole") ;
    p = m + sprintf(m, "From: ") ;
    for (size_t i = 0 ; i < n / 4 ; i++) { memcpy(p, "a@b,", 4) ; p += 4 ; }
    p += sprintf(p, "\n\n") ;
    is_str(strstr(run(&h, m, (size_t)(p - m), 0), "bad="), "bad=1 date=1 msgid=1 from=0:", "From over the bound: refused") ;
    free(m) ;
  }
  {
    /* more lines than SUBHDR_MAX: bad, the end still found */
    size_t n = (SUBHDR_MAX + 10) * 5 ;
    char *m = malloc(n + 64), *p = m ;
    for (int i = 0 ; i < SUBHDR_MAX + 10 ; i++) { memcpy(p, "X: y\n", 5) ; p += 5 ; }
    p += sprintf(p, "\nbody") ;
    ok(!strncmp(run(&h, m, (size_t)(p - m), 0), "end=", 4) && subhdr_bad(&h) && subhdr_ended(&h), "too many lines: bad") ;
    free(m) ;
  }
  {
    /* the first line of the empty-line search is its own feed */
    subhdr_init(&h) ;
    ok(subhdr_feed(&h, "A: b\n", 5) == 5 && !subhdr_ended(&h), "line fed") ;
    ok(subhdr_feed(&h, "\nbody", 5) == 0 && subhdr_ended(&h), "empty line at the start of a feed") ;
    ok(subhdr_feed(&h, "more", 4) == 0, "body after the end: 0") ;
  }
  {
    /* Message-IDs differ, carry the host */
    stralloc a = STRALLOC_ZERO, b = STRALLOC_ZERO ;
    ok(msgid_make(&a, "h.test") && msgid_make(&b, "h.test") && stralloc_0(&a) && stralloc_0(&b), "msgid_make") ;
    ok(a.s[0] == '<' && strstr(a.s, "@h.test>") && strlen(strstr(a.s, "@h.test>")) == 8, "msgid form: %s", a.s) ;
    ok(strcmp(a.s, b.s), "two ids differ") ;
    stralloc_free(&a) ; stralloc_free(&b) ;
  }
  subhdr_free(&h) ;
  return done_testing() ;
}
