/* The header fields the cache keeps (imapcache.h's IMAPCACHE_HDR part):
   those SORT, THREAD, SEARCH and ENVELOPE read and those clients fetch
   first with BODY.PEEK[HEADER.FIELDS (...)] (Thunderbird, Apple Mail,
   K-9, Outlook's lists): a fixed, bounded set of names. The block holds
   each such field of the message's header as it is written there (name,
   value, continuation lines, its line end; a last line without one gets
   LF), in the header's order: parsed as a message by lib/mime, it gives
   the same HEADER.FIELDS sections, fields and dates for those names as
   the message itself. */
#ifndef PM_IMAPCACHEHDR_H
#define PM_IMAPCACHEHDR_H
#include <stddef.h>
#include <skalibs/stralloc.h>
#include "mime/mime.h"

#define IMAPCACHE_HDRMAX (32u << 10)   /* a longer block is not kept */

/* Whether the field name s[0..n) is kept (ASCII case-insensitive). */
int imapcache_hdrname (char const *s, size_t n) ;
/* Append the block of message m's header (part 0). 1 done, 0 ENOMEM;
   -1 the block would be longer than IMAPCACHE_HDRMAX (sa unchanged). */
int imapcache_hdrblock (stralloc *sa, mime_msg const *m) ;
#endif
