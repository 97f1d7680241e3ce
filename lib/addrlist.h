/* RFC 5322 3.4 address lists, as in From:, To:, Cc:, Bcc:, Sender:.

   The parser takes a field value (folded or not: CR LF or LF followed by
   a blank is folding) and yields the addr-spec of each mailbox. Display
   names, comments (nested), angle brackets, obsolete routes
   (<@a,@b:x@y>), group syntax ("name: a@b, c@d;") and blanks between the
   tokens of an addr-spec (obsolete "a . b @ c") are removed; a quoted
   local part or a domain literal is kept as written (line ends inside
   removed): lib/addr.h canonicalises. Empty list elements (obsolete
   "a@b, , c@d") are skipped. Bytes >= 0x80 are atom characters
   (RFC 6532). Malformed: control bytes outside quoted strings, an
   unclosed quote, comment, bracket or group, a mailbox without '@', a
   local part of words without dots between them ("a b@c"; extra dots,
   "a..b@c", are tolerated as real mail has them), an addr-spec longer
   than ADDR_MAX (254), a nested group. */
#ifndef PM_ADDRLIST_H
#define PM_ADDRLIST_H
#include <stddef.h>
#include <skalibs/stralloc.h>

#define ADDRLIST_MAX 1000

/* Append the addr-spec of every mailbox in s[0..len) to out, each
   NUL-terminated, as local@domain. Returns the count (0: empty list or
   empty group), or -1 with errno EINVAL (malformed), E2BIG (more than
   ADDRLIST_MAX), ENOMEM. On -1, out->len is as it was. */
int addrlist_parse(stralloc *out, char const *s, size_t len) ;

/* Same, but a mailbox may also be a bare local part without '@' ("To:
   root", as scripts write it): it is appended without a domain, for the
   caller to complete. */
int addrlist_parse_bare(stralloc *out, char const *s, size_t len) ;
#endif
