/* Message-ID values (RFC 5322 3.6.4). */
#ifndef PM_MSGID_H
#define PM_MSGID_H
#include <skalibs/stralloc.h>

/* Append "<UNIQUE@host>" to sa (not NUL-terminated): unique across
   processes, hosts' restarts and time (time, pid, and 64 random bits
   from the kernel, getrandom). 1 ok, 0 ENOMEM. */
int msgid_make(stralloc *sa, char const *host) ;
#endif
