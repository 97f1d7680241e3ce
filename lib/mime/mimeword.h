/* RFC 2047 encoded words and charsets, to UTF-8 (for SEARCH on
   headers; IMAP's ENVELOPE and BODYSTRUCTURE stay raw).

   Charsets known: UTF-8, US-ASCII, ISO-8859-1 (Latin-1), ISO-8859-15,
   Windows-1252 (names case-insensitive, with their usual aliases; an
   RFC 2231 language suffix "*en" is ignored). An encoded word in an
   unknown charset, or malformed, is left as it is. Blanks between two
   adjacent encoded words are dropped (RFC 2047 6.2). Output is at most
   3 bytes per input byte: the caller bounds the input. */
#ifndef PM_MIMEWORD_H
#define PM_MIMEWORD_H
#include <stddef.h>
#include <skalibs/stralloc.h>

/* Append s[0..n) (a header value) with its encoded words decoded.
   Line ends of folding are removed. 1, or 0 on ENOMEM. */
int mime_words (stralloc *sa, char const *s, size_t n) ;

/* Append s[0..n) in charset cs[0..csl) converted to UTF-8 (UTF-8 and
   US-ASCII are copied). 1 done, 0 unknown charset (nothing appended),
   -1 ENOMEM. */
int mime_charset (stralloc *sa, char const *cs, size_t csl, char const *s, size_t n) ;

/* Decoders, appending: base64 (non-alphabet bytes skipped) and
   quoted-printable (q: the "Q" header form, '_' is a space). 0 ENOMEM. */
int mime_unbase64 (stralloc *sa, char const *s, size_t n) ;
int mime_unqp (stralloc *sa, char const *s, size_t n, int q) ;
#endif
