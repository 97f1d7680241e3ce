/* The arguments of LIST and LSUB (RFC 3501 6.3.8-9; RFC 5258
   LIST-EXTENDED; RFC 6154 SPECIAL-USE; RFC 5819 LIST-STATUS), of STATUS
   (RFC 3501 6.3.10 and its extensions' items), and the matching of
   mailbox names against LIST patterns ("%" and "*"). */
#ifndef PM_IMAPLIST_H
#define PM_IMAPLIST_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "imapcmd.h"

#define IMAPLIST_MAXPAT 32        /* patterns in one LIST */
#define IMAPLIST_MAXPATLEN 512    /* bytes of one pattern, UTF-8 */
#define IMAPLIST_MAXNAME 4096     /* longest name imaplist_match looks at */

/* selection options */
#define IMAPLIST_SUBSCRIBED 1
#define IMAPLIST_REMOTE 2
#define IMAPLIST_RECURSIVEMATCH 4
#define IMAPLIST_SPECIALUSE 8
/* return options (same bits for the first three) and STATUS */
#define IMAPLIST_RET_SUBSCRIBED 1
#define IMAPLIST_RET_CHILDREN 16
#define IMAPLIST_RET_SPECIALUSE 8
#define IMAPLIST_RET_STATUS 32

/* STATUS items */
#define IMAPSTATUS_MESSAGES 1
#define IMAPSTATUS_RECENT 2
#define IMAPSTATUS_UIDNEXT 4
#define IMAPSTATUS_UIDVALIDITY 8
#define IMAPSTATUS_UNSEEN 16
#define IMAPSTATUS_HIGHESTMODSEQ 32   /* RFC 7162 */
#define IMAPSTATUS_SIZE 64            /* RFC 8438 */
#define IMAPSTATUS_APPENDLIMIT 128    /* RFC 7889 */
#define IMAPSTATUS_DELETED 256        /* RFC 9051 */

typedef struct imaplist_s imaplist ;
struct imaplist_s {
  unsigned sel ;        /* IMAPLIST_ selection options */
  unsigned ret ;        /* IMAPLIST_RET_ */
  unsigned status ;     /* IMAPSTATUS_ items of RETURN (STATUS (...)) */
  int extended ;        /* LIST-EXTENDED syntax used (options or a pattern list) */
  stralloc ref ;        /* the reference name, UTF-8, NUL-terminated */
  stralloc pats ;       /* npat patterns, UTF-8, each NUL-terminated */
  unsigned npat ;
} ;
#define IMAPLIST_ZERO { 0, 0, 0, 0, STRALLOC_ZERO, STRALLOC_ZERO, 0 }

/* LIST's (lsub: LSUB's, no options) arguments from node i on, names
   decoded from modified UTF-7 (utf8: taken as UTF-8); a pattern starting
   with INBOX in any case has it upper-cased. 1 ok; 0 with *err; -1 out
   of memory. RECURSIVEMATCH alone is refused (RFC 5258 3.1). */
int imaplist_parse(imapcmd const *c, uint32_t i, int lsub, int utf8, imaplist *l, char const **err) ;
void imaplist_free(imaplist *l) ;

/* Does name match pattern (both UTF-8)? "*" matches anything, "%"
   anything but delim; INBOX at the start of name is matched without case.
   Time bounded by the lengths (at most IMAPLIST_MAXPATLEN by
   IMAPLIST_MAXNAME steps); longer names never match. */
int imaplist_match(char const *pat, size_t plen, char const *name, size_t nlen, char delim) ;

/* Node i, a list of STATUS items: their bits. 1 ok; 0 with *err (an
   empty or unknown item). */
int imapstatus_items(imapcmd const *c, uint32_t i, unsigned *items, char const **err) ;
/* The name of one item bit ("UIDNEXT"), or 0. */
char const *imapstatus_name(unsigned bit) ;
#endif
