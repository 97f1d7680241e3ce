/* A lineio_io (lib/lineio.h) that compresses: raw deflate (RFC 1951, no
   zlib or gzip header) in both directions over another io, as IMAP's
   COMPRESS=DEFLATE (RFC 4978) wants. Written data is deflated and flushed
   (Z_SYNC_FLUSH) at each write call, i.e. at each lineio flush: the peer
   gets every response whole when we wait for it. Read data is inflated
   into the caller's buffer and no further, so however much a few bytes
   inflate to (deflate's ratio goes up to about 1032:1), memory stays
   what it is, and the reader's bounds (line lengths, literal sizes) apply
   to the inflated bytes as they do to clear ones. A stream that is not
   valid deflate is a read error (EPROTO); the peer's end of its stream
   is an end of file. Our output window is smaller than the maximum
   (DEFLATEIO_WBITS: memory per session); the peer's may be any size. */
#ifndef PM_DEFLATEIO_H
#define PM_DEFLATEIO_H
#include <stddef.h>
#include "lineio.h"

#define DEFLATEIO_WBITS 12          /* our window: 4 KB (the peer's: up to 32 KB) */
#define DEFLATEIO_MEMLEVEL 5          /* 32 KB of state for our side, all told */

/* Opaque (zlib.h stays out of its users: it clashes with skalibs'
   free_func). */
typedef struct deflateio_s deflateio ;

/* A new deflateio over lower (malloc'd), with pre[0..n) as the first
   compressed input (bytes already read from lower). 0: out of memory
   (errno) or n over 8 KB (EINVAL). */
deflateio *deflateio_new (lineio_io const *lower, char const *pre, size_t n) ;
void deflateio_free (deflateio *z) ;
/* io reads and writes through z. */
void deflateio_io (deflateio *z, lineio_io *io) ;
/* Input is held that a read would return without reading from lower. */
int deflateio_pending (deflateio const *z) ;
/* Before a long wait: the I/O buffers' pages go back to the system (the
   streams' state stays: it is the dictionary both sides share). */
void deflateio_release (deflateio *z) ;
#endif
