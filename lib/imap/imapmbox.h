/* IMAP mailbox names: INBOX (case-insensitive, RFC 3501 5.1) and modified
   UTF-7 (RFC 3501 5.1.3) to and from UTF-8. */
#ifndef PM_IMAPMBOX_H
#define PM_IMAPMBOX_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "imapcmd.h"

#define IMAPMBOX_MAXLEN 1024   /* bytes of a mailbox name, in UTF-8 */

/* Node i of c as a mailbox name: the astring, decoded from modified UTF-7
   to UTF-8 into sa (replacing it; NUL-terminated), "INBOX" for any case
   of it. Refused (0, *err): not an astring, empty, longer than
   IMAPMBOX_MAXLEN, control characters, invalid modified UTF-7. -1: out of
   memory. utf8: the client enabled UTF8=ACCEPT (RFC 6855): taken as
   UTF-8, not decoded. */
int imapmbox_name(imapcmd const *c, uint32_t i, int utf8, stralloc *sa, char const **err) ;

/* Append the modified UTF-7 s[0..len) as UTF-8 to sa. 1 ok; 0 invalid
   (bad base64, unterminated "&", a shift that encodes printable ASCII or
   is empty, "&-" aside, bad UTF-16, 8-bit input); -1 out of memory. */
int imapmbox_mutf7_decode(stralloc *sa, char const *s, size_t len) ;
/* Append UTF-8 s[0..len) as modified UTF-7 to sa. 1 ok; 0 not valid
   UTF-8; -1 out of memory. */
int imapmbox_mutf7_encode(stralloc *sa, char const *s, size_t len) ;
#endif
