/* Mail addresses as they travel in envelopes: "local@domain", "" (null). */
#ifndef PM_ADDR_H
#define PM_ADDR_H
#include <stddef.h>
#include <skalibs/stralloc.h>

#define ADDR_MAX 254       /* RFC 5321 path limit less the brackets */
#define ADDR_LOCALMAX 64

/* Position of the last '@', or len if none. */
size_t addr_at(char const *s, size_t len) ;
/* 1 if s is an acceptable envelope address: one '@', non-empty parts,
   local part <= 64, total <= 254, no control bytes, no spaces outside a
   quoted local part; domain is a name or an address literal [..]. */
int addr_valid(char const *s, size_t len) ;
/* sa = s with its domain and local part lower-cased (local parts are
   case-insensitive here, as in Postfix), a needlessly quoted local part
   unquoted ("a.b"@x -> a.b@x), NUL-terminated. s must not point into sa.
   0 on ENOMEM. */
int addr_canon(stralloc *sa, char const *s, size_t len) ;
/* 1 if s is an acceptable domain: dot-separated labels of letters, digits,
   '-', '_' and UTF-8 bytes, each 1 to 63 bytes; or an address literal [..]. */
int addr_domain_valid(char const *s, size_t len) ;
#endif
