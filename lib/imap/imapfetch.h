/* The arguments of FETCH (RFC 3501 6.4.5, 9 fetch-att; RFC 7162
   CHANGEDSINCE and VANISHED; RFC 3516 BINARY): the items asked for and
   each BODY[section]<partial>, BINARY[part]<partial> and
   BINARY.SIZE[part]. Parse only: the server fetches. UID FETCH implies UID: the
   server adds it. */
#ifndef PM_IMAPFETCH_H
#define PM_IMAPFETCH_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "imapcmd.h"

#define IMAPFETCH_MAXSECT 64     /* BODY[...] items in one FETCH */
#define IMAPFETCH_MAXDEPTH 16    /* numbers in a part specifier 1.2.3... */
#define IMAPFETCH_MAXFIELDS 128  /* names in one HEADER.FIELDS list */

/* items */
#define IMAPF_ENVELOPE 1
#define IMAPF_BODYSTRUCTURE 2
#define IMAPF_BODY 4              /* BODY without a section: no extension data */
#define IMAPF_FLAGS 8
#define IMAPF_INTERNALDATE 16
#define IMAPF_RFC822_SIZE 32
#define IMAPF_UID 64
#define IMAPF_MODSEQ 128
#define IMAPF_RFC822 256          /* = BODY[], sets \Seen; answered as RFC822 */
#define IMAPF_RFC822_HEADER 512   /* = BODY.PEEK[HEADER] */
#define IMAPF_RFC822_TEXT 1024    /* = BODY[TEXT], sets \Seen */

/* section texts */
enum { IMAPSEC_ALL, IMAPSEC_HEADER, IMAPSEC_FIELDS, IMAPSEC_FIELDS_NOT, IMAPSEC_MIME, IMAPSEC_TEXT } ;
/* the kind of a section item */
enum { IMAPSEC_BODY, IMAPSEC_BINARY, IMAPSEC_BINSIZE } ;

typedef struct imapfetch_sec_s imapfetch_sec ;
struct imapfetch_sec_s {
  unsigned char peek ;     /* BODY.PEEK, BINARY.PEEK, BINARY.SIZE: no \Seen */
  unsigned char kind ;     /* IMAPSEC_BODY, _BINARY (spec ALL: part numbers only), _BINSIZE (no partial) */
  unsigned char spec ;     /* IMAPSEC_; ALL with parts: the part's body */
  unsigned char nparts ;
  uint32_t part[IMAPFETCH_MAXDEPTH] ;
  char const *fields ;     /* FIELDS(_NOT): nfields names, each NUL-terminated, one after the other */
  unsigned nfields ;
  unsigned char partial ;  /* <off.len> given */
  uint32_t off, len ;
} ;

typedef struct imapfetch_s imapfetch ;
struct imapfetch_s {
  unsigned items ;         /* IMAPF_ */
  unsigned nsec ;
  imapfetch_sec sec[IMAPFETCH_MAXSECT] ;
  unsigned char changedsince, vanished ;   /* modifiers given */
  uint64_t modseq ;        /* CHANGEDSINCE's */
} ;

/* FETCH's arguments from node i on (after the sequence set): a macro
   (ALL, FAST, FULL), one item or a list of them, then the optional
   modifier list. The header field names are written over the command's
   atoms (so f lives no longer than c). 1 ok; 0 with *err. VANISHED is
   refused unless uid and CHANGEDSINCE (RFC 7162 3.2.6). */
int imapfetch_parse(imapcmd *c, uint32_t i, int uid, imapfetch *f, char const **err) ;
/* One section of an atom ("BODY[...]<...>", "BODY.PEEK[...]",
   "BINARY[1.2]<...>", "BINARY.PEEK[...]", "BINARY.SIZE[...]"), in
   place. 1 ok, 0 not. */
int imapfetch_section(char *s, imapfetch_sec *sec) ;
/* Whether fetching f sets \Seen (RFC 3501 6.4.5). */
int imapfetch_sets_seen(imapfetch const *f) ;
/* Append the item's name for the response: "BODY[1.HEADER.FIELDS (From)]",
   "BINARY[1]", "BINARY.SIZE[1]", and "<off>" for a partial fetch. 1 ok, 0 out of memory. */
int imapfetch_secname(stralloc *sa, imapfetch_sec const *sec) ;
#endif
