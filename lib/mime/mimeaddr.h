/* RFC 5322 address lists as IMAP address structures (RFC 3501 7.4.2
   ENVELOPE): "(" 1*("(" name SP adl SP mailbox SP host ")") ")" or NIL.

   name: the display name, its quoted strings unquoted, words joined by
   one space, encoded words left raw; without a display name, the
   comment after an addr-spec ("a@b (Name)"). adl: an obsolete route
   ("@a,@b"). mailbox: the local part as written (a quoted local part
   keeps its quotes). host: the domain; NIL only in group syntax:
   "(NIL NIL "group" NIL)" starts a group, "(NIL NIL NIL NIL)" ends it.
   A mailbox without '@' gets host "MISSING_DOMAIN" (what Dovecot
   sends). Lenient: nothing is refused; junk tokens are skipped.
   Bounds: MIMEADDR_MAX addresses (the rest are left out; an open
   group is still closed: at most MIMEADDR_MAX + 2 structures), comments
   nested MIMEADDR_NEST deep. */
#ifndef PM_MIMEADDR_H
#define PM_MIMEADDR_H
#include <stddef.h>
#include <skalibs/stralloc.h>

#define MIMEADDR_MAX 1000
#define MIMEADDR_NEST 50

/* Append the list of s[0..n) (a raw field value, folded or not). The
   number of address structures written (0: "NIL" written), -1 ENOMEM. */
int mimeaddr_list (stralloc *sa, char const *s, size_t n) ;
#endif
