#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "datefmt.h"
#include "root.h"
#include "dsn.h"

/* Append s, printable ASCII only, at most DSN_TEXTMAX bytes. */
static int cat_clean(stralloc *out, char const *s)
{
  size_t n = 0 ;
  if (!stralloc_readyplus(out, DSN_TEXTMAX + 3)) return 0 ;
  for (; *s && n < DSN_TEXTMAX ; s++, n++) {
    unsigned char c = *s ;
    out->s[out->len++] = c < 32 || c > 126 ? '?' : c ;
  }
  if (*s) { out->s[out->len++] = '.' ; out->s[out->len++] = '.' ; out->s[out->len++] = '.' ; }
  return 1 ;
}

static int cats(stralloc *out, char const *const *v, unsigned int n)
{
  for (unsigned int i = 0 ; i < n ; i++)
    if (!stralloc_cats(out, v[i])) return 0 ;
  return 1 ;
}
#define CATS(out, ...) cats(out, (char const *const[]){ __VA_ARGS__ }, sizeof((char const *const[]){ __VA_ARGS__ }) / sizeof(char const *))

static int isdigits(char const *s, size_t n)
{
  if (!n || n > 3) return 0 ;
  for (size_t i = 0 ; i < n ; i++) if (s[i] < '0' || s[i] > '9') return 0 ;
  return 1 ;
}

/* Length of an enhanced status code at s (class 4 or 5), else 0. */
static size_t status_at(char const *s)
{
  if ((s[0] != '4' && s[0] != '5') || s[1] != '.') return 0 ;
  size_t a = strspn(s + 2, "0123456789") ;
  if (!isdigits(s + 2, a) || s[2 + a] != '.') return 0 ;
  size_t b = strspn(s + 3 + a, "0123456789") ;
  if (!isdigits(s + 3 + a, b)) return 0 ;
  size_t n = 3 + a + b ;
  char c = s[n] ;
  if (c && c != ' ' && c != ';' && c != ',' && c != ':' && c != ')') return 0 ;
  return n ;
}

void dsn_status(char *out, char const *reason)
{
  for (char const *s = reason ; s && *s ; s++) {
    if (s != reason && s[-1] != ' ' && s[-1] != '(') continue ;
    size_t n = status_at(s) ;
    if (n) { memcpy(out, s, n) ; out[n] = 0 ; return ; }
  }
  strcpy(out, "5.0.0") ;
}

char const *dsn_diagtype(char const *reason)
{
  if ((reason[0] == '4' || reason[0] == '5') && isdigits(reason, 3) && (reason[3] == ' ' || reason[3] == '-'))
    return "smtp" ;
  return "x-pipemail" ;
}

size_t dsn_headers(char const *s, size_t len)
{
  if (len > DSN_HDRMAX) len = DSN_HDRMAX ;
  size_t last = 0 ;
  for (size_t i = 0 ; i < len ; i++) {
    if (s[i] != '\n') continue ;
    if (i == last) return last ;   /* empty line: end of the header */
    last = i + 1 ;
  }
  return last ;
}

int dsn_readheaders(stralloc *sa, int fd, uint64_t off)
{
  sa->len = 0 ;
  if (!stralloc_ready(sa, DSN_HDRMAX)) return 0 ;
  size_t got = 0 ;
  while (got < DSN_HDRMAX) {
    ssize_t r = pread(fd, sa->s + got, DSN_HDRMAX - got, off + got) ;
    if (r < 0) { if (errno == EINTR) continue ; return 0 ; }
    if (!r) break ;
    got += r ;
  }
  sa->len = dsn_headers(sa->s, got) ;
  return 1 ;
}

static int cat_human(stralloc *out, dsn const *d)
{
  if (!CATS(out, "This is the mail system at host ", d->me, ".\n\n")) return 0 ;
  if (!*d->sender) {
    if (!CATS(out, "A bounce message (from the null sender) could not be delivered:\n"
                   "this copy goes to the postmaster.\n\n")) return 0 ;
  }
  if (!CATS(out, "I'm sorry to have to inform you that your message could not\n"
                 "be delivered to one or more recipients. Its header is attached below.\n\n")) return 0 ;
  for (unsigned int i = 0 ; i < d->n ; i++) {
    if (!stralloc_cats(out, "<") || !cat_clean(out, d->rcpt[i].addr) || !stralloc_cats(out, ">:\n    ")
     || !cat_clean(out, d->rcpt[i].reason) || !stralloc_cats(out, "\n\n")) return 0 ;
  }
  return 1 ;
}

static int cat_report(stralloc *out, dsn const *d)
{
  char date[DATEFMT_LEN] ;
  char st[16] ;
  datefmt_rfc5322(date, (time_t)d->arrival) ;
  if (!CATS(out, "Reporting-MTA: dns; ", d->me, "\nX-Pipemail-Queue-ID: ", d->qid,
            "\nArrival-Date: ", date, "\n")) return 0 ;
  for (unsigned int i = 0 ; i < d->n ; i++) {
    char const *reason = d->rcpt[i].reason ;
    dsn_status(st, reason) ;
    if (!stralloc_cats(out, "\nFinal-Recipient: rfc822; ") || !cat_clean(out, d->rcpt[i].addr)
     || !CATS(out, "\nAction: failed\nStatus: ", st, "\nDiagnostic-Code: ", dsn_diagtype(reason), "; ")
     || !cat_clean(out, reason) || !stralloc_cats(out, "\n")) return 0 ;
  }
  return 1 ;
}

int dsn_build(stralloc *out, dsn const *d)
{
  char date[DATEFMT_LEN] ;
  char now[UINT64_FMT] ;
  stralloc b = STRALLOC_ZERO ;
  now[uint64_fmt(now, d->now)] = 0 ;
  datefmt_rfc5322(date, (time_t)d->now) ;
  /* The queue id and time make the boundary unique to this bounce. */
  if (!CATS(&b, "=_", d->qid, ".", now, "_=") || !stralloc_0(&b)) goto nomem ;
  if (!CATS(out, "From: Mail Delivery System <MAILER-DAEMON@", d->me, ">\n")
   || !stralloc_cats(out, "To: <") || !cat_clean(out, d->to)
   || !CATS(out, ">\nSubject: Undelivered Mail Returned to Sender\nDate: ", date,
            "\nMessage-ID: <", now, ".", d->qid, ".bounce@", d->me, ">\n",
            "MIME-Version: 1.0\nAuto-Submitted: auto-replied\n",
            "Content-Type: multipart/report; report-type=delivery-status;\n",
            "\tboundary=\"", b.s, "\"\n\n",
            "This is a MIME-encapsulated message.\n\n",
            "--", b.s, "\nContent-Type: text/plain; charset=us-ascii\n",
            "Content-Description: Notification\n\n")
   || !cat_human(out, d)
   || !CATS(out, "--", b.s, "\nContent-Type: message/delivery-status\n",
            "Content-Description: Delivery report\n\n")
   || !cat_report(out, d)
   || !CATS(out, "\n--", b.s, "\nContent-Type: text/rfc822-headers\n",
            "Content-Description: Undelivered Message Headers\n\n")
   || !stralloc_catb(out, d->hdr, d->hdrlen)
   || (d->hdrlen && d->hdr[d->hdrlen-1] != '\n' && !stralloc_cats(out, "\n"))
   || !CATS(out, "\n--", b.s, "--\n")) goto nomem ;
  stralloc_free(&b) ;
  return 1 ;
nomem:
  stralloc_free(&b) ;
  return 0 ;
}

/* First line of ROOT/rel that is not blank or a comment, trimmed. */
static int first_line(stralloc *sa, char const *rel)
{
  char buf[4096] ;
  stralloc path = STRALLOC_ZERO ;
  if (!pm_path(&path, rel)) return -1 ;
  ssize_t r = openreadnclose(path.s, buf, sizeof buf - 1) ;
  stralloc_free(&path) ;
  if (r < 0) return errno == ENOENT ? 0 : -1 ;
  buf[r] = 0 ;
  for (char *s = buf ; *s ; ) {
    size_t n = strcspn(s, "\n") ;
    char *e = s + n ;
    while (*s == ' ' || *s == '\t') s++ ;
    char *t = e ;
    while (t > s && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r')) t-- ;
    if (t > s && *s != '#') {
      sa->len = 0 ;
      return stralloc_catb(sa, s, t - s) && stralloc_0(sa) ? 1 : -1 ;
    }
    s = *e ? e + 1 : e ;
  }
  return 0 ;
}

int dsn_route(stralloc *to, char const **bsender, char const *sender)
{
  if (!strcmp(sender, DSN_DOUBLE)) return 0 ;
  to->len = 0 ;
  if (*sender) {
    *bsender = "" ;
    return stralloc_cats(to, sender) && stralloc_0(to) ? 1 : -1 ;
  }
  *bsender = DSN_DOUBLE ;
  int r = first_line(to, "etc/doublebounceto") ;
  if (r) return r ;
  stralloc dom = STRALLOC_ZERO ;
  r = first_line(&dom, "etc/domains") ;
  if (r >= 0) {
    to->len = 0 ;
    r = stralloc_cats(to, "postmaster@") && stralloc_cats(to, r ? dom.s : pm_me()) && stralloc_0(to) ? 1 : -1 ;
  }
  stralloc_free(&dom) ;
  return r ;
}
