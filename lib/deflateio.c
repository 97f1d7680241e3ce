#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "deflateio.h"
#include "idlemem.h"

#define DEFLATEIO_INSIZE 8192
#define DEFLATEIO_OUTSIZE 16384

struct deflateio_s {
  lineio_io lower ;          /* the io below (copied) */
  z_stream in, out ;
  int inok, outok ;          /* the streams are initialised */
  int full ;                 /* the last inflate filled its output: more may be held */
  int ended ;                /* the peer ended its stream: end of file */
  char ibuf[DEFLATEIO_INSIZE] ;
  char obuf[DEFLATEIO_OUTSIZE] ;
} ;

/* The peer's stream: inflated into buf, reading from below when all that
   was read is used. */
static ssize_t zread (void *ctx, char *buf, size_t len, tain const *deadline)
{
  deflateio *z = ctx ;
  if (!len) return 0 ;
  for (;;)
  {
    int e ;
    size_t got ;
    if (z->ended) return 0 ;
    if (!z->in.avail_in && !z->full)
    {
      ssize_t r = (*z->lower.read)(z->lower.ctx, z->ibuf, sizeof z->ibuf, deadline) ;
      if (r <= 0) return r ;
      z->in.next_in = (unsigned char *)z->ibuf ;
      z->in.avail_in = r ;
    }
    z->in.next_out = (unsigned char *)buf ;
    z->in.avail_out = len > 0x40000000u ? 0x40000000u : len ;
    got = z->in.avail_out ;
    e = inflate(&z->in, Z_SYNC_FLUSH) ;
    got -= z->in.avail_out ;
    z->full = !z->in.avail_out ;
    if (e == Z_STREAM_END) z->ended = 1 ;
    else if (e != Z_OK && e != Z_BUF_ERROR) { errno = EPROTO ; return -1 ; }
    if (got) return got ;
  }
}

/* Everything, then a sync flush: the peer can inflate all of it now. */
static int zwrite (void *ctx, char const *s, size_t len, tain const *deadline)
{
  deflateio *z = ctx ;
  z->out.next_in = (unsigned char *)s ;
  z->out.avail_in = len ;
  do
  {
    size_t n ;
    z->out.next_out = (unsigned char *)z->obuf ;
    z->out.avail_out = sizeof z->obuf ;
    if (deflate(&z->out, Z_SYNC_FLUSH) == Z_STREAM_ERROR) { errno = EPROTO ; return 0 ; }
    n = sizeof z->obuf - z->out.avail_out ;
    if (n && !(*z->lower.write)(z->lower.ctx, z->obuf, n, deadline)) return 0 ;
  } while (!z->out.avail_out || z->out.avail_in) ;
  return 1 ;
}

deflateio *deflateio_new (lineio_io const *lower, char const *pre, size_t n)
{
  deflateio *z ;
  if (n > DEFLATEIO_INSIZE) { errno = EINVAL ; return 0 ; }
  z = calloc(1, sizeof *z) ;
  if (!z) return 0 ;
  z->lower = *lower ;
  if (inflateInit2(&z->in, -15) != Z_OK) goto nomem ;
  z->inok = 1 ;
  if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -DEFLATEIO_WBITS, DEFLATEIO_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
    goto nomem ;
  z->outok = 1 ;
  memcpy(z->ibuf, pre, n) ;
  z->in.next_in = (unsigned char *)z->ibuf ;
  z->in.avail_in = n ;
  return z ;
 nomem:
  deflateio_free(z) ;
  errno = ENOMEM ;
  return 0 ;
}

void deflateio_free (deflateio *z)
{
  if (!z) return ;
  if (z->inok) inflateEnd(&z->in) ;
  if (z->outok) deflateEnd(&z->out) ;
  free(z) ;
}

void deflateio_io (deflateio *z, lineio_io *io)
{
  io->ctx = z ;
  io->read = &zread ;
  io->write = &zwrite ;
}

int deflateio_pending (deflateio const *z)
{
  return z->in.avail_in || z->full || z->ended ;
}

void deflateio_release (deflateio *z)
{
  idlemem_drop(z->obuf, sizeof z->obuf) ;
  if (!z->in.avail_in) idlemem_drop(z->ibuf, sizeof z->ibuf) ;
}
