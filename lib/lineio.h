/* Line-oriented network I/O with bounds, the one line reader of the
   protocol programs (SMTP server and client, POP3, IMAP): lines have a
   maximum length, every wait for the peer has a deadline, output is
   buffered and flushed only before we wait for input (RFC 2920
   pipelining), and bulk data (SMTP DATA, IMAP literals) can be taken raw
   from the same buffer.

   All I/O goes through a lineio_io: a read and a write function that
   stop at a deadline, and their context. The default one works on file
   descriptors (lineio_init); TLS in process slots in as another
   (lineio_setio), e.g. lib/tlsclient's. Switching the io (STARTTLS)
   drops the input buffered before it: bytes that came in the clear are
   never read as if they had come through TLS (CVE-2011-0411). */
#ifndef PM_LINEIO_H
#define PM_LINEIO_H
#include <stddef.h>
#include <sys/types.h>
#include <skalibs/tai.h>

#define LINEIO_INSIZE 32768
#define LINEIO_OUTSIZE 16384

enum { LINEIO_EOF = 0, LINEIO_LINE = 1, LINEIO_TOOLONG = 2 } ;

typedef struct lineio_io_s lineio_io ;
struct lineio_io_s {
  void *ctx ;
  /* Read at most len bytes, waiting until the deadline at most: >0 bytes
     read, 0 end of file, -1 error (errno; ETIMEDOUT at the deadline). */
  ssize_t (*read)(void *ctx, char *buf, size_t len, tain const *deadline) ;
  /* Write all of s by the deadline: 1 ok, 0 error (errno; ETIMEDOUT). */
  int (*write)(void *ctx, char const *s, size_t len, tain const *deadline) ;
} ;

/* The io over file descriptors: reads wait with iopause (rfd may block),
   writes need wfd non-blocking. */
typedef struct lineio_fdio_s lineio_fdio ;
struct lineio_fdio_s { int infd, outfd ; } ;
void lineio_fdio_init(lineio_io *io, lineio_fdio *f, int infd, int outfd) ;

/* A lineio points into itself (the default io's context): it must not be
   copied or moved once initialised. */
typedef struct lineio_s lineio ;
struct lineio_s {
  lineio_io io ;
  lineio_fdio fd ;        /* the default io's context */
  tain timeout ;          /* limit for each read and each flush */
  tain deadline ;         /* no wait goes past it (whole session); zero: none */
  size_t r, w ;           /* unread input is in[r..w) */
  size_t outlen ;
  int discard ;           /* skipping the rest of an overlong line */
  char in[LINEIO_INSIZE] ;
  char out[LINEIO_OUTSIZE] ;
} ;

/* On descriptors; sets outfd non-blocking. */
void lineio_init(lineio *l, int infd, int outfd, unsigned int timeoutsecs) ;
/* Through io (copied). */
void lineio_init_io(lineio *l, lineio_io const *io, unsigned int timeoutsecs) ;

/* From now on no wait for the peer goes past secs from now (0: no such
   limit): a bound on the whole session, which a client feeding a byte just
   before each timeout would otherwise not have. Such a wait fails with
   ETIMEDOUT, as a timeout does; lineio_overtime tells the two apart. */
void lineio_deadline(lineio *l, unsigned int secs) ;
int lineio_overtime(lineio const *l) ;

/* Each function that may wait has a form ending in _until that takes the
   deadline of its waits: then the whole call ends by it (or by the session
   deadline if sooner). The plain forms, as deadline 0, give each read
   and each flush the timeout. */

/* Flush pending output, then wait for more input and append it.
   >0 bytes read, 0 end of file, -1 error (ETIMEDOUT after the timeout). */
ssize_t lineio_fill(lineio *l) ;
ssize_t lineio_fill_until(lineio *l, tain const *deadline) ;

/* Next input line, without its LF and an optional CR before it. The line
   stays valid until the next call on l; the caller may write a NUL at
   line[len] (the CR or LF that was there is consumed). Returns
   LINEIO_LINE; LINEIO_TOOLONG when the line exceeds max bytes, as soon as
   that is known (never buffered whole: the next call skips the rest of it,
   up to its LF), with *line and *len its first max bytes (read-only, e.g.
   for the IMAP tag of the error reply); LINEIO_EOF (also for a partial last line); -1 on error
   or timeout (errno). max must be < LINEIO_INSIZE - 1. */
int lineio_getline(lineio *l, size_t max, char **line, size_t *len) ;
int lineio_getline_until(lineio *l, size_t max, char **line, size_t *len, tain const *deadline) ;

/* Raw access: the unread bytes, and consume n of them (not right after
   LINEIO_TOOLONG: the rest of that line is still to come). */
#define lineio_avail(l) ((l)->w - (l)->r)
#define lineio_peek(l) ((l)->in + (l)->r)
#define lineio_skip(l, n) ((l)->r += (n))

/* Queue output; flushes when the buffer is full. 1 ok, 0 error (errno). */
int lineio_put(lineio *l, char const *s, size_t n) ;
int lineio_put_until(lineio *l, char const *s, size_t n, tain const *deadline) ;
int lineio_puts(lineio *l, char const *s) ;
/* 1 ok, 0 error or timeout (errno). */
int lineio_flush(lineio *l) ;
int lineio_flush_until(lineio *l, tain const *deadline) ;

/* Raw output, for an encoder writing in place (SMTP DATA): the free room
   at the end of the buffer, and the n bytes just written there. */
#define lineio_outroom(l) (sizeof (l)->out - (l)->outlen)
#define lineio_outptr(l) ((l)->out + (l)->outlen)
#define lineio_outadd(l, n) ((l)->outlen += (n))

/* Talk through io (copied) from now on (STARTTLS): pending output must
   have been flushed, and is dropped. Unread input is thrown away, never
   read as if it had come through the new io (CVE-2011-0411: commands
   pipelined after STARTTLS in cleartext). Returns the number of bytes
   thrown away. */
size_t lineio_setio(lineio *l, lineio_io const *io) ;
/* The same on other descriptors; sets outfd non-blocking. */
size_t lineio_switch(lineio *l, int infd, int outfd) ;

/* Before a long wait (an IMAP IDLE): when nothing is buffered, the
   buffers' pages go back to the system (their bytes are lost). */
void lineio_release(lineio *l) ;

/* Write all of s on fd, waiting at most *timeout each time fd is not
   writable (fd may be non-blocking). 1 ok, 0 error (errno; ETIMEDOUT). */
int lineio_writeall(int fd, char const *s, size_t n, tain const *timeout) ;
#endif
