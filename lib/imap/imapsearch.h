/* SEARCH (RFC 3501 6.4.4; RFC 4731 ESEARCH RETURN; RFC 7162 MODSEQ;
   RFC 5032 OLDER/YOUNGER; RFC 5182 SEARCHRES: RETURN (SAVE) and "$"): the keys as a bounded tree, and their
   evaluation over one message through an abstract view (imapview), so
   that it is tested with fake messages and any store plugs in. */
#ifndef PM_IMAPSEARCH_H
#define PM_IMAPSEARCH_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "imapcmd.h"
#include "imapseq.h"

#define IMAPSEARCH_MAXNODES 1024  /* keys in one SEARCH, AND/OR/NOT included */
#define IMAPSEARCH_MAXDEPTH 32    /* nesting of OR, NOT and parentheses */

enum {
  IMAPSK_AND, IMAPSK_OR, IMAPSK_NOT, IMAPSK_ALL,
  IMAPSK_FLAG,          /* flag: an IMAPFLAG_ bit */
  IMAPSK_KEYWORD,       /* s */
  IMAPSK_SEQ, IMAPSK_UID,   /* set */
  IMAPSK_LARGER, IMAPSK_SMALLER,   /* n */
  IMAPSK_BEFORE, IMAPSK_ON, IMAPSK_SINCE,   /* day: internal date */
  IMAPSK_SENTBEFORE, IMAPSK_SENTON, IMAPSK_SENTSINCE,   /* day: Date: */
  IMAPSK_HEADER,        /* hdr contains s (FROM, TO, CC, BCC, SUBJECT too) */
  IMAPSK_BODY, IMAPSK_TEXT,   /* s */
  IMAPSK_MODSEQ,        /* n: MODSEQ >= n */
  IMAPSK_OLDER, IMAPSK_YOUNGER,  /* n seconds */
  IMAPSK_SAVED          /* "$" or "UID $": in imapsearch's saved */
} ;

typedef struct imapsk_s imapsk ;
struct imapsk_s {
  unsigned char key ;   /* IMAPSK_ */
  uint32_t child ;      /* AND, OR (two), NOT (one): first child; 0 none */
  uint32_t next ;       /* next sibling; 0 none */
  unsigned flag ;
  uint64_t n ;
  int64_t day ;         /* days since 1970-01-01 */
  char const *s ;       /* points into the command */
  size_t len ;
  char const *hdr ;
  imapseq set ;
} ;

/* RETURN options (ESEARCH, RFC 4731) */
#define IMAPSR_MIN 1
#define IMAPSR_MAX 2
#define IMAPSR_ALL 4
#define IMAPSR_COUNT 8
#define IMAPSR_SAVE 16   /* RFC 5182: keep the result as "$" */

typedef struct imapsearch_s imapsearch ;
struct imapsearch_s {
  imapsk *node ;        /* node[0]: the AND of the keys */
  uint32_t nnodes, cap ;
  int esearch ;         /* RETURN given: answer ESEARCH with ret */
  unsigned ret ;        /* IMAPSR_; RETURN () is ALL */
  stralloc scratch ;    /* private: header values, kept from message to message */
  imapseq const *saved ;   /* the caller's: "$" as UIDs, sorted (imapseq_fromsorted); 0 empty */
} ;
#define IMAPSEARCH_ZERO { 0, 0, 0, 0, 0, STRALLOC_ZERO, 0 }

enum { IMAPSEARCH_OK = 1, IMAPSEARCH_BAD = 0, IMAPSEARCH_BADCHARSET = -2, IMAPSEARCH_NOMEM = -1 } ;
/* SEARCH's arguments from node i on: [RETURN (...)] [CHARSET x] keys.
   IMAPSEARCH_OK; BAD with *err; BADCHARSET: answer NO [BADCHARSET
   (UTF-8 US-ASCII)] (only those two are taken; the strings are then
   compared as UTF-8); NOMEM. q points into c: it lives no longer. */
int imapsearch_parse(imapcmd const *c, uint32_t i, imapsearch *q, char const **err) ;
/* Whether the command's SEARCH arguments from node i on ask for RETURN
   (... SAVE ...): even when they are otherwise bad, for RFC 5182 2.1 (a
   failed SEARCH SAVE empties "$"). */
int imapsearch_wantsave(imapcmd const *c, uint32_t i) ;
/* Which of the n found values v (ascending) the result keeps as "$"
   (RFC 5182 2.1: MIN and/or MAX without ALL or COUNT keep those only,
   else all): moved to v's start; their number. */
size_t imapsearch_savedpart(unsigned ret, uint32_t *v, size_t n) ;
void imapsearch_free(imapsearch *q) ;

/* A message as the evaluator sees it: callbacks on msg (the caller's).
   Each is called only when a key needs it; -1 from any is an error that
   ends the evaluation. */
typedef struct imapview_s imapview ;
struct imapview_s {
  uint32_t (*seq)(void *msg) ;
  uint32_t (*uid)(void *msg) ;
  unsigned (*flags)(void *msg) ;                          /* IMAPFLAG_ bits, \Recent included */
  int (*keyword)(void *msg, char const *kw) ;             /* 1 set, 0 not */
  int (*size)(void *msg, uint64_t *size) ;                /* RFC822.SIZE; 1 ok */
  int (*internaldate)(void *msg, int64_t *t, int *zone) ; /* 1 ok */
  int (*sentdate)(void *msg, int64_t *t, int *zone) ;     /* 1 ok, 0 no valid Date: */
  /* 1: present, every occurrence's value (unfolded, encoded words
     decoded to UTF-8) appended to *value, each ending in "\n"; 0 absent */
  int (*header)(void *msg, char const *name, stralloc *value) ;
  /* 1 if s[0..len) is in the decoded body (body=1) or in the header or
     body (body=0), case-insensitively (imapsearch_contains), 0 not */
  int (*text)(void *msg, int body, char const *s, size_t len) ;
  uint64_t (*modseq)(void *msg) ;
} ;

/* Does msg match q? 1 yes, 0 no, -1 error (errno from the view). nmsgs
   and maxuid stand for "*" in sequence and UID sets; now (seconds since
   the epoch) is for OLDER/YOUNGER. Cheap keys of an AND are tried first.
   q is written only in its scratch buffer, kept for the next message. */
int imapsearch_match(imapsearch *q, imapview const *v, void *msg, uint32_t nmsgs, uint32_t maxuid, int64_t now) ;

/* s[0..len) contains n[0..nlen), ASCII letters compared without case. An
   empty n is in every s. */
int imapsearch_contains(char const *s, size_t len, char const *n, size_t nlen) ;
#endif
