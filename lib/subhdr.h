/* The header of a message as it streams by (RFC 6409 8: a submission
   server adds the Date: and Message-ID: a message lacks, and checks its
   From:/Sender: against the authenticated user).

   Input has LF line ends (as smtpdata_decode outputs them); the header
   ends at the first empty line ("\n" at the start of a line). A field
   is a line that does not start with a blank plus its continuation
   lines. Memory is bounded: a field is buffered up to SUBHDR_FIELDMAX
   bytes only (a longer one marks the header bad), the From:/Sender:
   addresses number at most ADDRLIST_MAX, and a header of more than
   SUBHDR_MAX lines is marked bad (it is still scanned for its end). */
#ifndef PM_SUBHDR_H
#define PM_SUBHDR_H
#include <stddef.h>
#include <skalibs/stralloc.h>

#define SUBHDR_FIELDMAX 65536
#define SUBHDR_MAX 10000     /* lines */

typedef struct subhdr_s subhdr ;
struct subhdr_s {
  stralloc cur ;          /* the field being read, up to SUBHDR_FIELDMAX */
  stralloc addrs ;        /* From:/Sender: addr-specs, NUL-terminated */
  unsigned int naddrs ;
  unsigned int lines ;
  unsigned int bol : 1 ;      /* at the start of a line */
  unsigned int ended : 1 ;
  unsigned int bad : 1 ;
  unsigned int curlong : 1 ;  /* cur was cut */
  unsigned int hasdate : 1 ;
  unsigned int hasmsgid : 1 ;
  unsigned int hasfrom : 1 ;
  unsigned int frombad : 1 ;
} ;
#define SUBHDR_ZERO { .cur = STRALLOC_ZERO, .addrs = STRALLOC_ZERO, .naddrs = 0, .lines = 0, .bol = 1, \
  .ended = 0, .bad = 0, .curlong = 0, .hasdate = 0, .hasmsgid = 0, .hasfrom = 0, .frombad = 0 }

/* Before each message; keeps memory. */
void subhdr_init(subhdr *h) ;
/* Feed the next n bytes of the message. Returns how many of them (<= n)
   come before the empty line that ends the header (0 once it was seen);
   once the header's end has been seen, subhdr_ended(h) is 1 and the rest
   is body. The caller writes s[0..k), then (at the header's end) the
   missing fields, then the rest. */
size_t subhdr_feed(subhdr *h, char const *s, size_t n) ;
int subhdr_ended(subhdr const *h) ;
/* 1 if a field was over SUBHDR_FIELDMAX or the header over SUBHDR_MAX
   lines. */
int subhdr_bad(subhdr const *h) ;
/* After the header's end (or at the end of the message if the message
   had no empty line): append to sa the fields the message lacks, each
   LF-terminated: "Date: ..." (datefmt_rfc5322, now) if it has no Date:,
   "Message-ID: <...@host>" (msgid_make) if it has no Message-ID:.
   1 ok, 0 ENOMEM. */
int subhdr_missing(subhdr const *h, stralloc *sa, char const *host) ;
/* The addr-specs of the From: and Sender: fields (addrlist_parse), each
   NUL-terminated, in h's own stralloc (*addrs, *len bytes): *n of them;
   returns 1, or 0 if a From:/Sender: field was malformed or too long
   (refuse the message: the sender cannot be checked), -1 if there was no
   From:. (h is logically const: a field still pending at the end of a
   message without an empty line is examined here.) */
int subhdr_from(subhdr const *h, char const **addrs, size_t *len, unsigned int *n) ;
void subhdr_free(subhdr *h) ;
#endif
