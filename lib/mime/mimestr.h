/* IMAP strings for FETCH responses (RFC 3501 4.3, 9): a quoted string
   when every byte may be quoted (7-bit, no CR, LF or NUL) and it is at
   most MIMESTR_QUOTEMAX bytes, else a literal {n}CRLF followed by the
   bytes. A NUL (never allowed in an IMAP string) is sent as 0x80.
   Local to lib/mime until lib/imap's response writer is merged: then
   one of them should call the other. */
#ifndef PM_MIMESTR_H
#define PM_MIMESTR_H
#include <stddef.h>
#include <skalibs/stralloc.h>

#define MIMESTR_QUOTEMAX 1024

/* 1, or 0 on ENOMEM. */
int mimestr_string (stralloc *sa, char const *s, size_t n) ;
/* NIL when s is 0. */
int mimestr_nstring (stralloc *sa, char const *s, size_t n) ;
/* A string of s lower-cased (MIME tokens). */
int mimestr_lower (stralloc *sa, char const *s, size_t n) ;
#endif
