/* Parameters of Content-Type and Content-Disposition (RFC 2045 5.1,
   RFC 2183, RFC 2231), from a raw field value (folded or not).

   Names are lower-cased. Values: a quoted string is unquoted (escapes
   and folding line ends removed); an unquoted value runs to ';' or '('
   (lenient: real mail has "name=a b.txt"), trimmed. RFC 2231
   continuations (name*0, name*1*, ...) are joined in index order;
   when any segment is extended (charset'language'%XX), the joined
   parameter is named "name*" and its value stays in that encoded form
   (what IMAP BODYSTRUCTURE passes on raw: the client decodes it),
   plain segments being %-encoded where needed. mimeparam_get() also
   decodes, for the server's own use (the boundary, a file name).

   Bounds: MIMEPARAM_MAX parameters per field (the rest are ignored),
   continuation indexes below MIMEPARAM_SEGMAX. */
#ifndef PM_MIMEPARAM_H
#define PM_MIMEPARAM_H
#include <stddef.h>
#include <skalibs/stralloc.h>

#define MIMEPARAM_MAX 64
#define MIMEPARAM_SEGMAX 100

/* The token at s[*pos..len) after blanks and comments: *tok, *toklen.
   1, or 0 if there is none. *pos moves past it. */
int mimeparam_token (char const *s, size_t len, size_t *pos, size_t *tok, size_t *toklen) ;

/* Skip blanks, line ends and (nested, bounded) comments. */
size_t mimeparam_cfws (char const *s, size_t len, size_t pos) ;

/* The parameters of s[pos..len) ("; a=b; c=d"), merged as above,
   appended to sa as name\0value\0 pairs. The count, or -1 on ENOMEM. */
int mimeparam_list (stralloc *sa, char const *s, size_t len, size_t pos) ;

/* The decoded value of parameter name (lower case) appended to sa (no
   NUL): RFC 2231 segments joined, %XX decoded, the charset not
   converted. 1 found, 0 absent, -1 ENOMEM. */
int mimeparam_get (stralloc *sa, char const *s, size_t len, size_t pos, char const *name) ;
#endif
