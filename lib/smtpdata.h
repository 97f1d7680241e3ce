/* The SMTP DATA decoder (RFC 5321 4.1.1.4, 4.5.2), a state machine over
   byte chunks as they arrive, so a message is never held whole.

   - DATA ends only at <CR><LF>.<CR><LF>, where the first <CR><LF> is the
     end of the previous line or of the DATA command itself.
   - Lines end at LF. <CR><LF> becomes LF; a bare LF stays LF; a bare CR is
     kept as a byte.
   - A leading dot is removed from lines that have more after it.
   - <LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF>, <CR><LF>.<LF>, <CR><LF>.<CR>x ...
     are message text, never an end (no SMTP smuggling).
   It also counts the message's Received: header fields (loop detection). */
#ifndef PM_SMTPDATA_H
#define PM_SMTPDATA_H
#include <stddef.h>
#include <stdint.h>

/* out needs room for inlen + SMTPDATA_SLACK bytes (bytes held back from
   the previous chunk, e.g. a CR that may be followed by LF). */
#define SMTPDATA_SLACK 2

typedef struct smtpdata_s smtpdata ;
struct smtpdata_s {
  unsigned char state ;
  unsigned char done ;      /* the terminator has been seen */
  unsigned char inhdr ;     /* still in the header section */
  unsigned char hbol ;      /* header scan: at the start of a line */
  signed char hmatch ;      /* header scan: bytes of "received:" matched, -1 none */
  uint64_t size ;           /* decoded bytes so far */
  uint32_t received ;       /* Received: fields in the header section */
} ;

void smtpdata_init(smtpdata *d) ;
/* Decode from in[0..inlen) into out, *outlen bytes. Returns the number of
   input bytes consumed: all of them, or fewer when the terminator was
   found (d->done; the terminator is consumed, what follows it is not). */
size_t smtpdata_decode(smtpdata *d, char const *in, size_t inlen, char *out, size_t *outlen) ;
#endif
