/* mail-inject: a message from a script into the queue. Reads the message
   on stdin (LF or CRLF line ends), takes the recipients from argv and,
   with -t, from To:/Cc:/Bcc:, removes Bcc:, adds the From:, Date: and
   Message-ID: it lacks, and hands it to queue-inject (lib/injector; the
   setgid ROOT/bin/queue-inject for other users, see injector_local).
   See mail-inject(8). */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/genalloc.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include "addr.h"
#include "addrlist.h"
#include "datefmt.h"
#include "hdr.h"
#include "injector.h"
#include "msgid.h"
#include "queue.h"
#include "root.h"

#define USAGE "mail-inject [-t] [-i] [-d] [-s] [-f sender] [-F name] [recipient...]"
#define HDRMAX (1 << 20)      /* bytes of header */
#define HDRLINES 10000
#define LINEMAX 65536         /* a header line; body lines longer are cut in pieces */
#define TIMEOUT 3600          /* seconds for queue-inject to take a piece */

static struct { char buf[LINEMAX] ; size_t pos, len ; int eof ; } in ;
static int dotmode ;           /* -d: a line "." ends the input */
static stralloc env = STRALLOC_ZERO, tmp = STRALLOC_ZERO ;
static stralloc rcpts = STRALLOC_ZERO ;   /* "canonical\0as given\0" each */
static genalloc roffs = GENALLOC_ZERO ;   /* size_t offsets into rcpts */
static unsigned int nrcpt ;
/* Exit codes: qmail's, or with -s those of sysexits.h (for sendmail). */
static int ex_usage = 100, ex_data = 100, ex_nouser = 100, ex_unavail = 100, ex_temp = 111 ;

/* The next piece of input: a whole line (with its LF) if it is shorter
   than LINEMAX, else LINEMAX bytes of it; the last line may lack its LF.
   1 a piece, 0 end of input. */
static int piece(char **s, size_t *n)
{
  for (;;) {
    size_t k = byte_chr(in.buf + in.pos, in.len - in.pos, '\n') ;
    ssize_t r ;
    if (in.pos + k < in.len || in.len - in.pos == LINEMAX || (in.eof && in.pos < in.len)) {
      *s = in.buf + in.pos ;
      *n = in.pos + k < in.len ? k + 1 : in.len - in.pos ;
      in.pos += *n ;
      return 1 ;
    }
    if (in.eof) return 0 ;
    memmove(in.buf, in.buf + in.pos, in.len - in.pos) ;
    in.len -= in.pos ; in.pos = 0 ;
    r = fd_read(0, in.buf + in.len, LINEMAX - in.len) ;
    if (r < 0) strerr_diefusys(ex_temp, "read the message") ;
    if (!r) in.eof = 1 ;
    in.len += (size_t)r ;
  }
}

/* CRLF to LF at the end of a piece; refuses NUL bytes. */
static size_t clean(char *s, size_t n)
{
  if (byte_chr(s, n, 0) < n) strerr_dief(ex_data, "the message has a NUL byte") ;
  if (n >= 2 && s[n-1] == '\n' && s[n-2] == '\r') { s[n-2] = '\n' ; n-- ; }
  return n ;
}

static int isdot(char const *s, size_t n) { return dotmode && (n == 1 || s[1] == '\n') && s[0] == '.' ; }

static void cat(stralloc *sa, char const *s, size_t n)
{
  if (!stralloc_catb(sa, s, n)) strerr_diefusys(ex_temp, "allocate") ;
}

enum { END_BLANK, END_BODY, END_EOF } ;

/* The header into h (LF line ends): up to the empty line (END_BLANK),
   the first line that is no field (END_BODY, that line in first), or
   the end of the input (END_EOF, also at a "." line with -d). A leading
   mbox "From " line is dropped. */
static int read_header(stralloc *h, stralloc *first)
{
  char *s ; size_t n ;
  unsigned int lines = 0 ;
  while (piece(&s, &n)) {
    hdr_field f ;
    size_t pos = 0 ;
    n = clean(s, n) ;
    if (n == LINEMAX && s[n-1] != '\n') strerr_dief(ex_data, "a header line is longer than 65535 bytes") ;
    if (isdot(s, n)) return END_EOF ;
    if (s[0] == '\n') return END_BLANK ;
    if (!(s[0] == ' ' || s[0] == '\t') || !h->len) {
      if (!hdr_next(s, n, &pos, &f) || !f.namelen) {
        if (!lines && n > 5 && !memcmp(s, "From ", 5)) continue ;
        cat(first, s, n) ;
        return END_BODY ;
      }
    }
    cat(h, s, n) ;
    if (s[n-1] != '\n') cat(h, "\n", 1) ;
    if (h->len > HDRMAX || ++lines > HDRLINES) strerr_dief(ex_data, "the header is larger than 1 MiB or 10000 lines") ;
  }
  return END_EOF ;
}

/* One recipient (a bare local part gets @ME). */
static void add_rcpt(char const *a, size_t len)
{
  stralloc c = STRALLOC_ZERO ;
  size_t off = rcpts.len ;
  tmp.len = 0 ;
  cat(&tmp, a, len) ;
  if (addr_at(a, len) == len) { cat(&tmp, "@", 1) ; cat(&tmp, pm_me(), strlen(pm_me())) ; }
  if (!addr_valid(tmp.s, tmp.len)) strerr_dief(ex_nouser, "invalid recipient: ", a) ;
  if (++nrcpt > QUEUE_MAXRCPT) strerr_dief(ex_data, "more than 100000 recipients") ;
  if (!addr_canon(&c, tmp.s, tmp.len)) strerr_diefusys(ex_temp, "allocate") ;
  cat(&rcpts, c.s, c.len + 1) ;
  cat(&rcpts, tmp.s, tmp.len) ;
  cat(&rcpts, "", 1) ;
  if (!genalloc_append(size_t, &roffs, &off)) strerr_diefusys(ex_temp, "allocate") ;
  stralloc_free(&c) ;
}

static int rcptcmp(void const *a, void const *b)
{
  return strcmp(rcpts.s + *(size_t const *)a, rcpts.s + *(size_t const *)b) ;
}

/* The recipients into the envelope, each once (To: and Bcc: may both
   name one). */
static void envelope(void)
{
  size_t *o = genalloc_s(size_t, &roffs), n = genalloc_len(size_t, &roffs) ;
  if (n > 1) qsort(o, n, sizeof *o, &rcptcmp) ;
  for (size_t i = 0 ; i < n ; i++) {
    char const *c = rcpts.s + o[i], *a = c + strlen(c) + 1 ;
    if (i && !strcmp(c, rcpts.s + o[i-1])) continue ;
    cat(&env, "T", 1) ;
    cat(&env, a, strlen(a) + 1) ;
  }
  cat(&env, "", 1) ;
}

/* The recipients of an address list (a field value or an argument). */
static void add_list(char const *s, size_t len, char const *what)
{
  stralloc list = STRALLOC_ZERO ;
  if (addrlist_parse_bare(&list, s, len) < 0) {
    if (errno == ENOMEM) strerr_diefusys(ex_temp, "allocate") ;
    strerr_dief(ex_data, "invalid address list in ", what) ;
  }
  for (size_t i = 0 ; i < list.len ; i += strlen(list.s + i) + 1) add_rcpt(list.s + i, strlen(list.s + i)) ;
  stralloc_free(&list) ;
}

/* out = h without Bcc:; the recipients of To:/Cc:/Bcc: if extract.
   Which of From:, Date:, Message-ID: it has, in has[0..2]. */
static void filter(stralloc *out, stralloc const *h, int extract, int *has)
{
  static char const *const names[3] = { "from", "date", "message-id" } ;
  hdr_field f ;
  size_t pos = 0 ;
  while (hdr_next(h->s, h->len, &pos, &f)) {
    int bcc = hdr_is(&f, "bcc") || hdr_is(&f, "resent-bcc") ;
    for (int i = 0 ; i < 3 ; i++) has[i] |= hdr_is(&f, names[i]) ;
    if (extract && (bcc || hdr_is(&f, "to") || hdr_is(&f, "cc"))) add_list(f.value, f.valuelen, "To:, Cc: or Bcc:") ;
    if (!bcc) cat(out, f.name, (size_t)(h->s + pos - f.name)) ;
  }
}

/* The user's address: $MAILUSER, $USER, $LOGNAME or the login of our
   uid, with @ME if it has no domain. */
static void default_user(stralloc *sa)
{
  char const *u = getenv("MAILUSER") ;
  if (!u || !*u) u = getenv("USER") ;
  if (!u || !*u) u = getenv("LOGNAME") ;
  if (!u || !*u) {
    struct passwd *pw = getpwuid(getuid()) ;
    if (!pw) strerr_dief(ex_usage, "no MAILUSER or USER and no user name for my uid") ;
    u = pw->pw_name ;
  }
  cat(sa, u, strlen(u)) ;
  if (addr_at(u, strlen(u)) == strlen(u)) { cat(sa, "@", 1) ; cat(sa, pm_me(), strlen(pm_me())) ; }
  if (!addr_valid(sa->s, sa->len)) strerr_dief(ex_usage, "invalid sender address: ", u) ;
}

/* The envelope sender from -f ("" or "<>": none), else the user's. */
static void sender(stralloc *sa, char const *f)
{
  size_t n ;
  if (!f) { default_user(sa) ; return ; }
  n = strlen(f) ;
  if (n >= 2 && f[0] == '<' && f[n-1] == '>') { f++ ; n -= 2 ; }
  cat(sa, f, n) ;
  if (n && addr_at(f, n) == n) { cat(sa, "@", 1) ; cat(sa, pm_me(), strlen(pm_me())) ; }
  if (n && !addr_valid(sa->s, sa->len)) strerr_dief(ex_usage, "invalid sender address: ", f) ;
}

/* "From: name <addr>\n"; the name quoted unless it is plain words,
   control bytes dropped (no header can be slipped in through -F). */
static void add_from(stralloc *out, char const *addr, size_t len, char const *name)
{
  int plain = 1 ;
  cat(out, "From: ", 6) ;
  if (name && *name) {
    for (char const *p = name ; *p ; p++)
      if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == ' ' || (unsigned char)*p >= 0x80)) plain = 0 ;
    if (!plain) cat(out, "\"", 1) ;
    for (char const *p = name ; *p ; p++) {
      if ((unsigned char)*p < 0x20 || *p == 0x7f) continue ;
      if (!plain && (*p == '"' || *p == '\\')) cat(out, "\\", 1) ;
      cat(out, p, 1) ;
    }
    cat(out, plain ? " <" : "\" <", plain ? 2 : 3) ;
  }
  cat(out, addr, len) ;
  cat(out, name && *name ? ">\n" : "\n", name && *name ? 2 : 1) ;
}

/* The fields the message lacks, in has[0..2] order. */
static void add_missing(stralloc *out, int const *has, char const *from, char const *fromname)
{
  char date[DATEFMT_LEN] ;
  if (!has[0]) {
    stralloc u = STRALLOC_ZERO ;
    if (from && *from) cat(&u, from, strlen(from)) ; else default_user(&u) ;
    add_from(out, u.s, u.len, fromname) ;
    stralloc_free(&u) ;
  }
  if (!has[1]) {
    cat(out, "Date: ", 6) ;
    cat(out, date, datefmt_rfc5322(date, time(0))) ;
    cat(out, "\n", 1) ;
  }
  if (!has[2] && !(stralloc_cats(out, "Message-ID: ") && msgid_make(out, pm_me()) && stralloc_catb(out, "\n", 1)))
    strerr_diefusys(ex_temp, "allocate") ;
}

/* Write to the injector; once it failed, finish tells why. */
static void put(injector *q, char const *s, size_t n)
{
  if (n) injector_write(q, s, n) ;
}

/* The rest of the input, CRLF to LF, up to the end (or a "." line with -d). */
static void body(injector *q)
{
  char *s ; size_t n ;
  int bol = 1 ;
  while (piece(&s, &n)) {
    if (byte_chr(s, n, 0) < n) { injector_abort(q) ; strerr_dief(ex_data, "the message has a NUL byte") ; }
    if (s[n-1] == '\n') n = clean(s, n) ;
    if (bol && isdot(s, n)) return ;
    bol = s[n-1] == '\n' ;
    put(q, s, n) ;
  }
}

static int finish(injector *q)
{
  int r ;
  envelope() ;
  r = injector_finish(q, env.s, env.len) ;
  if (!r) return 0 ;
  if (r >= 11 && r <= 40) strerr_dief(ex_unavail, "the queue refused the message: ", injector_reply_text(q, r)) ;
  strerr_dief(ex_temp, "the queue did not take the message: ", injector_reply_text(q, r)) ;
}

int main(int argc, char const *const *argv)
{
  /* static: reachable at exit, for leak checkers */
  static stralloc h = STRALLOC_ZERO, first = STRALLOC_ZERO, out = STRALLOC_ZERO, snd = STRALLOC_ZERO ;
  static injector q = INJECTOR_ZERO ;
  char const *from = 0, *fromname = 0 ;
  int extract = 0, end, has[3] = { 0, 0, 0 } ;
  PROG = "mail-inject" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (int opt ; (opt = subgetopt_r(argc, argv, "tidsf:F:", &l)) != -1 ;) {
      switch (opt) {
        case 't' : extract = 1 ; break ;
        case 'i' : break ;
        case 'd' : dotmode = 1 ; break ;
        case 's' : ex_usage = 64 ; ex_data = 65 ; ex_nouser = 67 ; ex_unavail = 69 ; ex_temp = 75 ; break ;
        case 'f' : from = l.arg ; break ;
        case 'F' : fromname = l.arg ; break ;
        default : strerr_dieusage(ex_usage, USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  signal(SIGPIPE, SIG_IGN) ;
  sender(&snd, from) ;
  cat(&env, "F", 1) ; cat(&env, snd.s, snd.len) ; cat(&env, "", 1) ;
  for (int i = 0 ; i < argc ; i++) add_list(argv[i], strlen(argv[i]), "the arguments") ;
  end = read_header(&h, &first) ;
  filter(&out, &h, extract, has) ;
  if (!nrcpt) strerr_dief(ex_usage, extract ? "no recipients in the arguments, To:, Cc: or Bcc:" : "no recipients (give some, or -t)") ;
  cat(&snd, "", 1) ;
  add_missing(&out, has, snd.s, fromname) ;
  cat(&out, "\n", 1) ;
  if (!injector_local()) strerr_diefusys(ex_temp, "allocate") ;
  if (!injector_start(&q, TIMEOUT)) strerr_diefusys(ex_temp, "start queue-inject") ;
  put(&q, out.s, out.len) ;
  put(&q, first.s, first.len) ;
  if (end != END_EOF) body(&q) ;
  return finish(&q) ;
}
