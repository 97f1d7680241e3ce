/* imap-mailbox: COMPRESS DEFLATE (RFC 4978). After the tagged OK, which
   goes out uncompressed, both directions are raw deflate (lib/deflateio)
   until the end of the session. Bytes the client sent after the command
   and that we read already are its first compressed ones (it may not
   send before our OK, but if it did they were compressed). */
#include <errno.h>
#include "deflateio.h"
#include "imapd/imapd.h"

void imapd_compress (imapd *d)
{
  lineio_io io ;
  deflateio *z ;
  if (imapcmd_nargs(&d->c) != 1) { imapd_bad(d, "syntax: COMPRESS DEFLATE") ; return ; }
  if (!imapcmd_isatom(&d->c, imapcmd_arg(&d->c, 0), "DEFLATE")) { imapd_bad(d, "unknown compression mechanism") ; return ; }
  if (d->zio) { imapd_tagged(d, "NO", "COMPRESSIONACTIVE", "DEFLATE active via COMPRESS") ; return ; }
  /* the untagged updates before the OK, still in the clear */
  imapd_tagged(d, "OK", 0, "DEFLATE active") ;
  imapd_ok(d, lineio_flush(&d->io)) ;
  z = deflateio_new(&d->io.io, lineio_peek(&d->io), lineio_avail(&d->io)) ;
  if (!z) imapd_leave(d, errno == ENOMEM ? "out of memory" : "compress: too much pipelined") ;
  d->zio = z ;
  deflateio_io(z, &io) ;
  lineio_setio(&d->io, &io) ;
}

int imapd_compress_pending (imapd const *d)
{
  return d->zio && deflateio_pending(d->zio) ;
}

void imapd_compress_release (imapd *d)
{
  if (d->zio) deflateio_release(d->zio) ;
}

void imapd_compress_end (imapd *d)
{
  deflateio_free(d->zio) ;
  d->zio = 0 ;
}
