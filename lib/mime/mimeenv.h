/* IMAP ENVELOPE (RFC 3501 7.4.2) of a message: the root, or the
   embedded message (child) of a message/rfc822 part.

   (date subject from sender reply-to to cc bcc in-reply-to message-id):
   the first field of each name within the first MIME_HDR_MAX bytes of
   the header; string fields are the raw values unfolded (line ends of
   folding removed, blanks around trimmed), no RFC 2047 decoding; NIL
   when absent. Address fields as lib/mime/mimeaddr.h; Sender and
   Reply-To, when absent or without an address, are From's. */
#ifndef PM_MIMEENV_H
#define PM_MIMEENV_H
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "mime/mime.h"

/* Append the ENVELOPE of part i (an entity with a message header) to
   sa. 1, or 0 on ENOMEM. */
int mime_envelope (stralloc *sa, mime_msg const *m, uint32_t i) ;

/* The raw value of the first field name (lower case) of the header of
   part i, within MIME_HDR_MAX bytes: 1 and *r set, or 0. */
int mime_field (mime_msg const *m, uint32_t i, char const *name, mime_range *r) ;

/* Append r's value unfolded and trimmed (no NUL). 0 on ENOMEM. */
int mime_unfold (stralloc *sa, mime_msg const *m, mime_range r) ;
#endif
