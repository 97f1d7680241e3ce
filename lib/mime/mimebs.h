/* IMAP BODYSTRUCTURE and BODY (RFC 3501 7.4.2) of a parsed message.

   Types, subtypes and parameter names are sent lower-cased (as Dovecot
   does); parameter values as mimeparam_list() gives them (RFC 2231
   continuations joined, extended values left encoded under "name*").
   A part without a valid Content-Type is ("text" "plain" ("charset"
   "us-ascii")), or message/rfc822 in a multipart/digest; an opaque part
   (mime.h) is ("application" "octet-stream" NIL ...). The encoding is
   the Content-Transfer-Encoding token as written, "7BIT" when absent;
   sizes count octets in CRLF form; lines are given for text and
   message/rfc822. Extension data (BODYSTRUCTURE only): for a single
   part md5, disposition, language, location; for a multipart the
   parameters, disposition, language, location. */
#ifndef PM_MIMEBS_H
#define PM_MIMEBS_H
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "mime/mime.h"

/* Append the structure of part i (0: the whole message); ext: 1 for
   BODYSTRUCTURE, 0 for BODY. 1, or 0 on ENOMEM. */
int mime_bodystructure (stralloc *sa, mime_msg const *m, uint32_t i, int ext) ;
#endif
