/* Who may send as whom: the envelope sender and the From:/Sender:
   addresses a logged-in user may use (RFC 6409 6.1).

   ROOT/etc/senders, a text source like etc/aliases (# comments and blank
   lines ignored, 4096 bytes a line):
     login: address, address, @domain, ...
   is compiled by users_compile() into users.cdb as
     "S" + lower-cased login -> allowed addresses, each NUL-terminated
   (canonical, lib/addr.h; "@domain" allows the whole domain). A line
   replaces the default, which every user of etc/users (not a catch-all)
   gets at compile time: its own address and the aliases that resolve
   to it (users_resolve: directly or through other aliases, a +tag
   ignored; catch-all aliases "@domain" excluded, they would let a user
   pose as every address of a domain). An alias with several targets
   (a list) lets each of them send as the list. */
#ifndef PM_SENDERS_H
#define PM_SENDERS_H
#include <stddef.h>
#include "users.h"

/* 1 if login (as given to AUTH; case-insensitive) may use addr (any
   case, quoted or not; a +tag of an allowed address allowed too) as
   envelope sender or in From:/Sender:. The null sender "" is allowed. A
   login without a record (not in etc/users nor etc/senders) may use its
   own address, if it is one. 0 not allowed, -1 error (errno). */
int senders_allowed(users const *u, char const *login, size_t loginlen,
                    char const *addr, size_t addrlen) ;
#endif
