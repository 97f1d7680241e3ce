/* IMAP sequence sets (RFC 3501 sequence-set): "1:4", "*", "*:*", "9:2",
   "1,3:5,7:*", for message sequence numbers and UIDs alike. Kept as
   ranges with "*" unresolved, so that a set is evaluated against a
   message count or the highest UID without expanding it ("1:4294967295"
   costs one range). */
#ifndef PM_IMAPSEQ_H
#define PM_IMAPSEQ_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>

#define IMAPSEQ_MAXRANGES 16384   /* ranges in one set */

typedef struct imapseq_range_s imapseq_range ;
struct imapseq_range_s { uint32_t lo, hi ; } ;   /* 0 stands for "*" */

typedef struct imapseq_s imapseq ;
struct imapseq_s { uint32_t n ; imapseq_range *r ; } ;  /* malloc'd */
#define IMAPSEQ_ZERO { 0, 0 }

/* Whether s[0..len) is "$", SEARCHRES's saved result (RFC 5182): a
   sequence set of its own, that the command's caller resolves. */
int imapseq_issaved(char const *s, size_t len) ;
/* q := the n ascending values v (a set as imapseq_resolve leaves it: the
   saved result). 1 ok, 0 out of memory (q then empty). */
int imapseq_fromsorted(imapseq *q, uint32_t const *v, size_t n) ;

/* Parse s[0..len): 1 ok (s replaces what *q held), 0 syntax error (a 0 as
   a number, an empty member) or too many ranges, -1 out of memory. */
int imapseq_parse(imapseq *q, char const *s, size_t len) ;
void imapseq_free(imapseq *q) ;

/* With "*" as star (the message count, or the highest UID; 0 for an empty
   mailbox): is v in the set? Linear in the ranges. */
int imapseq_has(imapseq const *q, uint32_t v, uint32_t star) ;
/* The set with "*" replaced by star, as sorted, disjoint, non-adjacent
   ranges (lo <= hi, no 0), in place: then imapseq_has_sorted (binary
   search) and walks over q->r work. A range whose lo is past star is
   kept: "UID FETCH 900:*" with a highest UID of 500 means 500 (RFC 3501
   6.4.8), and for sequence numbers the caller refuses numbers > star
   (imapseq_max). */
void imapseq_resolve(imapseq *q, uint32_t star) ;
int imapseq_has_sorted(imapseq const *q, uint32_t v) ;
/* The highest number in the set with "*" as star. */
uint32_t imapseq_max(imapseq const *q, uint32_t star) ;
/* Append the set of the n values v (compressed as "1:3,7") to sa. 1 ok,
   0 out of memory. Sorts v and drops its duplicates (v's first members
   then hold the set). */
int imapseq_fmt(stralloc *sa, uint32_t *v, size_t n) ;
/* The same keeping v's order (runs of ascending consecutive values
   joined): the two sets of COPYUID, whose members pair up in order
   (RFC 4315 3). */
int imapseq_fmt_ordered(stralloc *sa, uint32_t const *v, size_t n) ;
#endif
