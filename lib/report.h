/* The delivery report of a remote delivery agent, in qmail-remote's format,
   so that qmail-remote and remote-send can replace each other under
   queue-run (or qmail-rspawn).

   A report is a sequence of entries, each a code byte, a text and '\0':
   - one entry per recipient, in the order of the command line:
     'r' accepted by the peer, 'h' refused permanently, 's' refused
     temporarily (the text says why);
   - then one entry for the message: 'K' the peer took the message for the
     'r' recipients, 'Z' temporary failure, 'D' permanent failure.
   qmail-remote gives no recipient entries when it fails before RCPT (e.g.
   no connection); remote-send always gives all of them. The outcome for a
   recipient is its own entry when 'h' or 's', else the message entry. */
#ifndef PM_REPORT_H
#define PM_REPORT_H
#include <stddef.h>
#include <skalibs/stralloc.h>

/* Longest text written; a parsed text may be longer (qmail-remote). */
#define REPORT_TEXTMAX 1000

/* Outcome of one recipient (the same values as QJOB_OK/PERM/TEMP, lib/qjob.h). */
enum { REPORT_OK = 0, REPORT_PERM = 1, REPORT_TEMP = 2 } ;

typedef struct report_entry_s report_entry ;
struct report_entry_s {
  char code ;           /* r h s, or K Z D */
  char const *text ;    /* points into the parsed bytes, not NUL-terminated */
  size_t len ;
} ;

/* Append an entry: code, text with control bytes (and so NUL, CR, LF)
   turned into '?' and cut to REPORT_TEXTMAX bytes at a UTF-8 character
   boundary, '\0'. 1 ok, 0 ENOMEM. */
int report_add(stralloc *sa, char code, char const *text, size_t len) ;
/* report_add with a NUL-terminated text. */
int report_adds(stralloc *sa, char code, char const *text) ;

/* Parse s[0..len), the whole output of the agent, for nrcpt recipients:
   zero or nrcpt recipient entries (r/h/s), then one message entry (K/Z/D),
   then nothing. Fills rcpt[0..nrcpt) (with zero recipient entries, each
   gets a copy of the message entry) and *msg. 1 ok; 0 malformed: a
   missing '\0' (truncated output), a wrong number of recipient entries,
   an unknown code, bytes after the message entry, or 'K' with no 'r'
   entry, in which case nothing may be concluded (treat every recipient
   as a temporary failure). */
int report_parse(char const *s, size_t len, unsigned int nrcpt, report_entry *rcpt, report_entry *msg) ;

/* Outcome of recipient i after a successful report_parse, and the text
   that explains it (*text may point into the message entry). */
int report_outcome(report_entry const *rcpt, report_entry const *msg, char const **text, size_t *len) ;
#endif
