/* Line-oriented network I/O with bounds: lines have a maximum length,
   every wait for the peer has a deadline, replies are buffered and flushed
   only before we wait for input (RFC 2920 pipelining), and bulk data
   (SMTP DATA, IMAP literals) can be taken raw from the same buffer.
   Shared by the protocol programs (SMTP server and client, POP3, IMAP). */
#ifndef PM_LINEIO_H
#define PM_LINEIO_H
#include <stddef.h>
#include <sys/types.h>
#include <skalibs/tai.h>

#define LINEIO_INSIZE 32768
#define LINEIO_OUTSIZE 8192

enum { LINEIO_EOF = 0, LINEIO_LINE = 1, LINEIO_TOOLONG = 2 } ;

typedef struct lineio_s lineio ;
struct lineio_s {
  int infd, outfd ;
  tain timeout ;          /* limit for each wait for the peer */
  tain deadline ;         /* no wait goes past it (whole session); zero: none */
  size_t r, w ;           /* unread input is in[r..w) */
  size_t outlen ;
  int discard ;           /* skipping the rest of an overlong line */
  char in[LINEIO_INSIZE] ;
  char out[LINEIO_OUTSIZE] ;
} ;

/* Sets outfd non-blocking (writes wait with iopause). */
void lineio_init(lineio *l, int infd, int outfd, unsigned int timeoutsecs) ;

/* From now on no wait for the peer goes past secs from now (0: no such
   limit): a bound on the whole session, which a client feeding a byte just
   before each timeout would otherwise not have. Such a wait fails with
   ETIMEDOUT, as a timeout does; lineio_overtime tells the two apart. */
void lineio_deadline(lineio *l, unsigned int secs) ;
int lineio_overtime(lineio const *l) ;

/* Flush pending output, then wait for more input and append it.
   >0 bytes read, 0 end of file, -1 error (ETIMEDOUT after the timeout). */
ssize_t lineio_fill(lineio *l) ;

/* Next input line, without its LF and an optional CR before it. The line
   stays valid until the next call on l; the caller may write a NUL at
   line[len] (the CR or LF that was there is consumed). Returns LINEIO_LINE; LINEIO_TOOLONG
   when the line exceeded max bytes (it has been read and thrown away up to
   its LF, never buffered whole); LINEIO_EOF (also for a partial last line);
   -1 on error or timeout (errno). max must be < LINEIO_INSIZE. */
int lineio_getline(lineio *l, size_t max, char **line, size_t *len) ;

/* Raw access: the unread bytes, and consume n of them. */
#define lineio_avail(l) ((l)->w - (l)->r)
#define lineio_peek(l) ((l)->in + (l)->r)
#define lineio_skip(l, n) ((l)->r += (n))

/* Queue output; flushes when the buffer is full. 1 ok, 0 error (errno). */
int lineio_put(lineio *l, char const *s, size_t n) ;
int lineio_puts(lineio *l, char const *s) ;
/* 1 ok, 0 error or timeout (errno). */
int lineio_flush(lineio *l) ;

/* Talk on other descriptors from now on (STARTTLS): pending output must
   have been flushed. Unread input is thrown away, never read as if it had
   come on the new descriptors (CVE-2011-0411: commands pipelined after
   STARTTLS in cleartext). Sets outfd non-blocking. Returns the number of
   bytes thrown away. */
size_t lineio_switch(lineio *l, int infd, int outfd) ;

/* Write all of s on fd, waiting at most *timeout each time fd is not
   writable (fd may be non-blocking). 1 ok, 0 error (errno; ETIMEDOUT). */
int lineio_writeall(int fd, char const *s, size_t n, tain const *timeout) ;
#endif
