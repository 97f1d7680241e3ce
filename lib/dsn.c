#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "datefmt.h"
#include "root.h"
#include "dsn.h"

/* Append s[0..len), printable ASCII only, at most DSN_TEXTMAX bytes. */
static int cat_cleann(stralloc *out, char const *s, size_t len)
{
  size_t n = 0 ;
  if (!stralloc_readyplus(out, DSN_TEXTMAX + 3)) return 0 ;
  for (; n < len && s[n] && n < DSN_TEXTMAX ; n++) {
    unsigned char c = s[n] ;
    out->s[out->len++] = c < 32 || c > 126 ? '?' : c ;
  }
  if (n < len && s[n]) { out->s[out->len++] = '.' ; out->s[out->len++] = '.' ; out->s[out->len++] = '.' ; }
  return 1 ;
}

static int cat_clean(stralloc *out, char const *s)
{
  return cat_cleann(out, s, (size_t)-1) ;
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

/* s (within reason) starts a word: after a space, '(' or a reply
   code "DDD-" (a multi-line reply kept as it came, "550-5.1.1 ..."). */
static int wordstart(char const *reason, char const *s)
{
  if (s == reason || s[-1] == ' ' || s[-1] == '(') return 1 ;
  return s[-1] == '-' && s - reason >= 4 && isdigits(s - 4, 3) && (s - 4 == reason || s[-5] == ' ') ;
}

void dsn_status(char *out, char const *reason)
{
  for (char const *s = reason ; s && *s ; s++) {
    if (!wordstart(reason, s)) continue ;
    size_t n = status_at(s) ;
    if (n) { memcpy(out, s, n) ; out[n] = 0 ; return ; }
  }
  strcpy(out, "5.0.0") ;
}

/* s starts with an SMTP reply code "DDD" and a space, '-' or the end. */
static int replycode(char const *s, int anyclass)
{
  if (s[0] < (anyclass ? '1' : '4') || s[0] > '5' || !isdigits(s, 3)) return 0 ;
  return !s[3] || s[3] == ' ' || s[3] == '-' ;
}

char const *dsn_diagtype(char const *reason)
{
  return replycode(reason, 0) && reason[3] ? "smtp" : "x-pipemail" ;
}

/* HOST of a "HOST[IP]" word ending at e (within reason): its length, or 0. */
static size_t hostword(char const *reason, char const *e, char const **host)
{
  char const *w = e ;
  while (w > reason && w[-1] != ' ') w-- ;
  char const *b = memchr(w, '[', e - w) ;
  if (!b || b == w || e[-1] != ']') return 0 ;
  *host = w ;
  return b - w ;
}

int dsn_remote(char const *reason, char const **host, size_t *hostlen,
               char const **reply, size_t *replylen)
{
  static char const *const intro[] = { " said: ", " refused to talk to me: " } ;
  static char const note[] = " (in reply to " ;
  char const *best = 0 ;
  for (unsigned int i = 0 ; i < 2 ; i++) {
    char const *p = strstr(reason, intro[i]) ;
    char const *h ;
    size_t hl ;
    if (!p || (best && best < p) || !(hl = hostword(reason, p, &h))) continue ;
    char const *r = p + strlen(intro[i]) ;
    if (!replycode(r, 1)) continue ;
    best = p ;
    *host = h ;
    *hostlen = hl ;
    *reply = r ;
  }
  if (!best) return 0 ;
  size_t all = strlen(*reply) ;
  *replylen = all ;
  /* less remote-send's note on the command, "(in reply to RCPT TO command)" */
  if (all >= 9 && !strcmp(*reply + all - 9, " command)"))
    for (char const *p = *reply ; (p = strstr(p, note)) ; p++) *replylen = p - *reply ;
  return 1 ;
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

/* One recipient's block: a remote MTA's reply as RFC 3464 2.3.5 has it
   (Remote-MTA, Diagnostic-Code of type smtp), else our own reason. */
static int cat_rcpt(stralloc *out, dsn_rcpt const *r)
{
  char st[16] ;
  char const *host, *reply ;
  size_t hl, rl ;
  int remote = dsn_remote(r->reason, &host, &hl, &reply, &rl) ;
  dsn_status(st, remote ? reply : r->reason) ;
  /* a reply without an enhanced code: its class (a 4xx we gave up on) */
  if (remote && !strcmp(st, "5.0.0") && reply[0] == '4') st[0] = '4' ;
  if (!stralloc_cats(out, "\nFinal-Recipient: rfc822; ") || !cat_clean(out, r->addr)
   || !CATS(out, "\nAction: failed\nStatus: ", st, "\n")) return 0 ;
  if (remote)
    return stralloc_cats(out, "Remote-MTA: dns; ") && cat_cleann(out, host, hl)
        && stralloc_cats(out, "\nDiagnostic-Code: smtp; ") && cat_cleann(out, reply, rl) && stralloc_cats(out, "\n") ;
  return CATS(out, "Diagnostic-Code: ", dsn_diagtype(r->reason), "; ") && cat_clean(out, r->reason)
      && stralloc_cats(out, "\n") ;
}

static int cat_report(stralloc *out, dsn const *d)
{
  char date[DATEFMT_LEN] ;
  datefmt_rfc5322(date, (time_t)d->arrival) ;
  if (!CATS(out, "Reporting-MTA: dns; ", d->me, "\nX-Pipemail-Queue-ID: ", d->qid,
            "\nArrival-Date: ", date, "\n")) return 0 ;
  for (unsigned int i = 0 ; i < d->n ; i++)
    if (!cat_rcpt(out, d->rcpt + i)) return 0 ;
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
