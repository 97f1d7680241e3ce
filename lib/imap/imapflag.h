/* IMAP flags (RFC 3501 flag, flag-list) and the arguments of STORE
   (RFC 3501 6.4.6, RFC 7162 UNCHANGEDSINCE). */
#ifndef PM_IMAPFLAG_H
#define PM_IMAPFLAG_H
#include <stdint.h>
#include "imapcmd.h"

/* System flags, as bits; the Maildir info letters are D F R S T. */
#define IMAPFLAG_SEEN 1
#define IMAPFLAG_ANSWERED 2
#define IMAPFLAG_FLAGGED 4
#define IMAPFLAG_DELETED 8
#define IMAPFLAG_DRAFT 16
#define IMAPFLAG_RECENT 32    /* never stored by a client */
#define IMAPFLAG_MAXKW 64     /* keywords in one flag list */
#define IMAPFLAG_MAXKWLEN 128 /* bytes of a keyword */

typedef struct imapflags_s imapflags ;
struct imapflags_s {
  unsigned sys ;
  unsigned nkw ;
  char const *kw[IMAPFLAG_MAXKW] ;   /* point into the command */
} ;

/* The flag named s ("\Seen", case-insensitive): its bit, or 0. */
unsigned imapflag_bit(char const *s) ;
/* The name of one bit ("\\Seen"), or 0. */
char const *imapflag_name(unsigned bit) ;
/* A keyword: an atom without "\\", at most IMAPFLAG_MAXKWLEN bytes. */
int imapflag_iskeyword(char const *s, size_t len) ;

/* Node i of c: a flag list "(...)" (list=1: also a single flag, or, when
   more follow it as siblings, all of them: STORE's flag *(SP flag)).
   \Recent and unknown \ flags are refused. 1 ok, 0 with *err. */
int imapflag_parse(imapcmd const *c, uint32_t i, int list, imapflags *f, char const **err) ;

enum { IMAPSTORE_SET, IMAPSTORE_ADD, IMAPSTORE_REMOVE } ;
typedef struct imapstoreargs_s imapstoreargs ;
struct imapstoreargs_s {
  int op ;                 /* IMAPSTORE_ */
  int silent ;
  int unchangedsince ;     /* whether given; then modseq */
  uint64_t modseq ;
  imapflags flags ;
} ;
/* STORE's arguments from node i on (after the sequence set):
   [(UNCHANGEDSINCE n)] (+|-)FLAGS[.SILENT] flags. 1 ok, 0 with *err. */
int imapflag_store(imapcmd const *c, uint32_t i, imapstoreargs *st, char const **err) ;
#endif
