#include "smtpdata.h"

/* Where we are in the input. BOL = beginning of a line; "after CRLF" is
   what matters for the terminator, a line started by a bare LF can not
   end DATA. */
enum {
  S_BOL_CRLF,   /* line start after CRLF (or at the start of DATA) */
  S_BOL_LF,     /* line start after a bare LF */
  S_MID,        /* inside a line */
  S_CR,         /* inside a line, a CR held back */
  S_DOT_CRLF,   /* "." at a line start after CRLF, held back */
  S_DOT_LF,     /* "." at a line start after a bare LF, held back */
  S_DOTCR_CRLF, /* ".\r" at a line start after CRLF, held back */
  S_DOTCR_LF    /* ".\r" at a line start after a bare LF, held back */
} ;

static char const rcvd[] = "received:" ;

/* Header scan on the decoded output: count Received: lines before the
   first empty line. */
static void scan(smtpdata *d, unsigned char c)
{
  if (d->hbol) {
    if (c == '\n') { d->inhdr = 0; return; }
    d->hbol = 0;
    d->hmatch = 0;
  }
  if (c == '\n') { d->hbol = 1; return; }
  if (d->hmatch < 0) return;
  unsigned char want = rcvd[(int)d->hmatch];
  if (c == want || (want >= 'a' && want <= 'z' && c == want - 32)) {
    if (!rcvd[(int)++d->hmatch]) { d->received++; d->hmatch = -1; }
  } else d->hmatch = -1;
}

void smtpdata_init(smtpdata *d)
{
  d->state = S_BOL_CRLF;
  d->done = 0;
  d->inhdr = 1;
  d->hbol = 1;
  d->hmatch = 0;
  d->size = 0;
  d->received = 0;
}

size_t smtpdata_decode(smtpdata *d, char const *in, size_t inlen, char *out, size_t *outlen)
{
  size_t i = 0, o = 0;
  unsigned int st = d->state;
#define PUT(ch) (out[o++] = (ch))
  while (i < inlen && !d->done) {
    char c = in[i++];
    switch (st) {
      case S_BOL_CRLF:
      case S_BOL_LF:
        if (c == '.') { st = st == S_BOL_CRLF ? S_DOT_CRLF : S_DOT_LF; break; }
        /* fall through */
      case S_MID:
        if (c == '\r') st = S_CR;
        else if (c == '\n') { PUT('\n'); st = S_BOL_LF; }
        else { PUT(c); st = S_MID; }
        break;
      case S_CR:
        if (c == '\n') { PUT('\n'); st = S_BOL_CRLF; }
        else if (c == '\r') PUT('\r');        /* the first one was bare */
        else { PUT('\r'); PUT(c); st = S_MID; }
        break;
      case S_DOT_CRLF:
      case S_DOT_LF:
        if (c == '\r') st = st == S_DOT_CRLF ? S_DOTCR_CRLF : S_DOTCR_LF;
        else if (c == '\n') { PUT('.'); PUT('\n'); st = S_BOL_LF; }  /* "." alone stays */
        else { PUT(c); st = S_MID; }          /* dot-stuffing undone */
        break;
      case S_DOTCR_CRLF:
      case S_DOTCR_LF:
        if (c == '\n') {
          if (st == S_DOTCR_CRLF) { d->done = 1; break; }
          PUT('.'); PUT('\n'); st = S_BOL_CRLF;
        }
        else if (c == '\r') { PUT('\r'); st = S_CR; }  /* ".\r\r": more on the line */
        else { PUT('\r'); PUT(c); st = S_MID; }
        break;
    }
  }
#undef PUT
  d->state = st;
  d->size += o;
  if (d->inhdr)
    for (size_t k = 0; k < o && d->inhdr; k++) scan(d, (unsigned char)out[k]);
  *outlen = o;
  return i;
}
