#include <string.h>
#include "msgcrlf.h"

void msgcrlf_add (msgcrlf *m, char const *s, size_t n)
{
  unsigned char cr = m->cr ;
  uint64_t size = m->size + n ;
  char const *end = s + n, *p = s ;
  if (!n) return ;
  /* one extra byte per LF that has no CR before it */
  while ((p = memchr(p, '\n', end - p)))
  {
    if (p == s ? !cr : p[-1] != '\r') size++ ;
    p++ ;
  }
  m->size = size ;
  m->cr = end[-1] == '\r' ;
  m->bol = end[-1] == '\n' ;
}

uint64_t msgcrlf_total (msgcrlf const *m)
{
  return m->size + (m->bol ? 0 : 2 - m->cr) ;
}

char const *msgcrlf_end (msgcrlf const *m)
{
  return m->bol ? "" : m->cr ? "\n" : "\r\n" ;
}

/* Line by line: memchr finds the LFs, memcpy moves the rest. */
size_t msgcrlf_encode (msgcrlf *m, int dot, char const *in, size_t n, char *out)
{
  size_t o = 0, i = 0, stuffed = 0 ;
  unsigned char cr = m->cr, bol = m->bol ;
  while (i < n)
  {
    char const *nl ;
    size_t span ;
    if (bol && dot && in[i] == '.') { out[o++] = '.' ; stuffed++ ; }
    nl = memchr(in + i, '\n', n - i) ;
    if (!nl)
    {
      memcpy(out + o, in + i, n - i) ;
      o += n - i ;
      cr = in[n-1] == '\r' ;
      bol = 0 ;
      break ;
    }
    span = nl - (in + i) ;
    memcpy(out + o, in + i, span) ;
    o += span ;
    if (span ? in[i + span - 1] != '\r' : !cr) out[o++] = '\r' ;
    out[o++] = '\n' ;
    i += span + 1 ;
    cr = 0 ;
    bol = 1 ;
  }
  m->cr = cr ;
  m->bol = bol ;
  m->size += o - stuffed ;
  return o ;
}
