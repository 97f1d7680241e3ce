/* The text of a message for SEARCH BODY/TEXT (RFC 3501 6.4.4): every
   text part (text/..., or a part without Content-Type) of the body,
   embedded messages included, with its transfer encoding (base64,
   quoted-printable) undone and its charset converted to UTF-8 where
   lib/mime/mimeword.h knows it (else left as it is); parts separated
   by LF. Bounded: at most max bytes are appended (the rest is not
   searched), and at most max bytes of each encoded part are decoded. */
#ifndef PM_MIMETEXT_H
#define PM_MIMETEXT_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "mime/mime.h"

#define MIMETEXT_MAX (4 << 20)   /* a sensible max for callers */

/* The text of part i and the parts under it. 1, or 0 on ENOMEM. */
int mime_text (stralloc *sa, mime_msg const *m, uint32_t i, size_t max) ;

/* The body of one leaf part i decoded (transfer encoding only), at
   most max bytes of input. 1, or 0 on ENOMEM. */
int mime_decode (stralloc *sa, mime_msg const *m, uint32_t i, size_t max) ;
#endif
