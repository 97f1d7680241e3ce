/* Message-ID values: "<TIME.PID.RANDOM@host>", the time in seconds and
   microseconds so that the ids of one process sort by time. */
#include <string.h>
#include <unistd.h>
#include <sys/time.h>
#include <skalibs/random.h>
#include <skalibs/types.h>
#include "msgid.h"

int msgid_make(stralloc *sa, char const *host)
{
  char buf[UINT64_FMT * 3 + 8] ;
  unsigned char r[8] ;
  uint64_t x = 0 ;
  struct timeval tv ;
  size_t n = 0 ;
  gettimeofday(&tv, 0) ;
  random_buf((char *)r, sizeof r) ;   /* getrandom(2), blocking until seeded */
  for (int i = 0 ; i < 8 ; i++) x = x << 8 | r[i] ;
  buf[n++] = '<' ;
  n += uint64_fmt(buf + n, (uint64_t)tv.tv_sec) ;
  buf[n++] = '.' ;
  n += uint64_xfmt(buf + n, (uint64_t)tv.tv_usec) ;
  buf[n++] = '.' ;
  n += uint64_fmt(buf + n, (uint64_t)getpid()) ;
  buf[n++] = '.' ;
  n += uint64_xfmt(buf + n, x) ;
  buf[n++] = '@' ;
  return stralloc_catb(sa, buf, n) && stralloc_cats(sa, host) && stralloc_catb(sa, ">", 1) ;
}
