/* IMAP4rev1 commands (RFC 3501 section 9) as a tree of arguments.

   A command comes in wire form, as lib/imap/imapread assembles it: the
   command line(s), each literal written "{n}" CRLF and its n bytes, and a
   literal that was streamed elsewhere (APPEND's message) written "{n*}"
   CRLF with no bytes. imapcmd_parse splits it into a tag, a command name
   and the arguments: atoms, quoted strings (\" and \\ unescaped), literals,
   NIL and parenthesised lists, nested at most IMAPCMD_MAXDEPTH deep and at
   most IMAPCMD_MAXNODES in all. The parser checks everything itself (any
   bytes may come in: the fuzzer feeds it); an error gives the text of the
   tagged BAD to send.

   Atoms follow RFC 3501 ASTRING-CHAR, plus a leading "\" (flags) and the
   list wildcards "%" "*". An atom may hold one bracketed part in which
   spaces, parentheses and quoted strings are kept as they are, so that
   BODY[HEADER.FIELDS (From "To")]<0.100> is one atom; the FETCH parser
   (imapfetch.h) reads inside it. 8-bit bytes are refused in atoms and taken
   in quoted strings (UTF-8 search strings); CR, LF and NUL nowhere outside
   literals. */
#ifndef PM_IMAPCMD_H
#define PM_IMAPCMD_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>

#define IMAPCMD_MAXDEPTH 16     /* nesting of parenthesised lists */
#define IMAPCMD_MAXNODES 20000  /* arguments, list members included */
#define IMAPCMD_MAXTAG 64       /* bytes of a tag */
#define IMAPCMD_MAXNAME 32      /* bytes of a command name */

enum { IMAPN_ATOM, IMAPN_QUOTED, IMAPN_LITERAL, IMAPN_NIL, IMAPN_LIST, IMAPN_STREAM } ;

typedef struct imapnode_s imapnode ;
struct imapnode_s {
  unsigned char type ;
  /* ATOM, QUOTED, LITERAL: the bytes, NUL-terminated (a literal may hold
     NULs: use len). NIL: "NIL". LIST: empty. STREAM: empty, len is the
     streamed literal's size and idx its rank among the streamed literals
     of the command (0 first). Writable: the typed parsers split atoms in
     place. */
  char *s ;
  size_t len ;
  uint32_t idx ;
  uint32_t next ;         /* the next sibling's index; 0: none */
  uint32_t child ;        /* LIST: first member's index; 0: empty */
} ;

typedef struct imapcmd_s imapcmd ;
struct imapcmd_s {
  char tag[IMAPCMD_MAXTAG + 1] ;    /* as sent; "" until read */
  char name[IMAPCMD_MAXNAME + 1] ;  /* upper case; UID X gives X, uid=1 */
  int uid ;
  imapnode *node ;        /* node[0]: the list of the arguments */
  uint32_t nnodes ;
  /* private */
  stralloc data ;
  uint32_t cap ;
} ;
#define IMAPCMD_ZERO { { 0 }, { 0 }, 0, 0, 0, STRALLOC_ZERO, 0 }

/* Parse buf[0..len) (without the final CRLF). 1 ok; 0 syntax error, *err
   the BAD text (a string constant); -1 out of memory. The tag is set as
   soon as it was read, so that even a BAD can be tagged (else "": answer
   "* BAD"). c is reused from command to command; imapcmd_free at the end. */
int imapcmd_parse(imapcmd *c, char const *buf, size_t len, char const **err) ;
void imapcmd_free(imapcmd *c) ;

/* The i-th argument (0 first) of the command, or 0 when there are fewer. */
uint32_t imapcmd_arg(imapcmd const *c, unsigned i) ;
/* The number of arguments. */
unsigned imapcmd_nargs(imapcmd const *c) ;
/* The number of members of list node i. */
unsigned imapcmd_nmembers(imapcmd const *c, uint32_t i) ;
/* Node i is an atom equal to s, case-insensitively. */
int imapcmd_isatom(imapcmd const *c, uint32_t i, char const *s) ;
/* Node i as an astring (atom, quoted or literal): 1 and its bytes, or 0.
   nstring: NIL too, giving *s = 0. */
int imapcmd_astring(imapcmd const *c, uint32_t i, char const **s, size_t *len) ;
int imapcmd_nstring(imapcmd const *c, uint32_t i, char const **s, size_t *len) ;
/* Node i as a number (RFC 3501 number, 32 bits) or an RFC 7162 mod-sequence
   value (63 bits, non-zero when nz): 1 ok, 0 not. */
int imapcmd_number(imapcmd const *c, uint32_t i, uint32_t *n) ;
int imapcmd_number64(imapcmd const *c, uint32_t i, uint64_t *n, int nz) ;
/* Parse digits s[0..len) as a number of at most max: 1 ok, 0 not. */
int imapcmd_digits(char const *s, size_t len, uint64_t max, uint64_t *n) ;
#endif
