/* BINARY[section] (RFC 3516, RFC 9051 6.4.5): the body of a part with
   its Content-Transfer-Encoding undone.

   The content decoded is the section's CRLF form (what BODY[section]
   sends, lib/mime/mimesect.h), so that a quoted-printable hard line
   break is CRLF as RFC 2045 6.7 says; base64 ignores line ends anyway.
   7bit, 8bit, binary and no Content-Transfer-Encoding are the identity;
   BINARY[] (no part numbers) is the whole message as it is. Any other
   encoding is unknown (the server answers NO [UNKNOWN-CTE]). */
#ifndef PM_MIMEBIN_H
#define PM_MIMEBIN_H
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "mime/mime.h"

enum { MIMEBIN_IDENT, MIMEBIN_BASE64, MIMEBIN_QP, MIMEBIN_UNKNOWN } ;

/* The encoding of part i (MIMEBIN_). */
int mime_cte (mime_msg const *m, uint32_t i) ;

/* The part that the numbers nums[0..n) name and its encoding (n == 0:
   the whole message, MIMEBIN_IDENT). -1: no such part. */
int mime_binary_part (mime_msg const *m, uint32_t const *nums, unsigned n, long *part) ;

/* Append part's body decoded as enc (MIMEBIN_BASE64 or MIMEBIN_QP).
   Memory: the decoded bytes, plus the CRLF form for quoted-printable.
   1, or 0 on ENOMEM. */
int mime_binary_decode (stralloc *sa, mime_msg const *m, long part, int enc) ;
#endif
