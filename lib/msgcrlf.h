/* A stored message as the network protocols send it (POP3 RETR/TOP, the
   size IMAP and Dovecot call "virtual"): every LF that has no CR before it
   becomes CRLF, a CRLF already there stays, and a last line without LF is
   completed with CRLF. The size is counted by the same rule as the
   encoder's output, so that what LIST/STAT announce is what RETR sends.
   maildir-deliver writes that size into the name as ",W=VSIZE". */
#ifndef PM_MSGCRLF_H
#define PM_MSGCRLF_H
#include <stddef.h>
#include <stdint.h>

typedef struct msgcrlf_s msgcrlf ;
struct msgcrlf_s {
  uint64_t size ;          /* output bytes so far (no final completion) */
  unsigned char cr ;       /* the last byte seen was CR */
  unsigned char bol ;      /* at the start of a line (nothing seen: 1) */
} ;
#define MSGCRLF_ZERO { .size = 0, .cr = 0, .bol = 1 }

/* Count s[0..n) (a piece of the message). */
void msgcrlf_add (msgcrlf *m, char const *s, size_t n) ;
/* The size of the whole message so encoded, the completion included. */
uint64_t msgcrlf_total (msgcrlf const *m) ;

/* Encode in[0..n) into out (room for 2n bytes); with dot set, a line that
   starts with '.' gets another '.' (RFC 1939 byte-stuffing; not counted
   by msgcrlf_add, as the protocols do not count it). Returns the output
   length. m->size counts the output less the stuffed dots. */
size_t msgcrlf_encode (msgcrlf *m, int dot, char const *in, size_t n, char *out) ;
/* The completion of an unterminated last line ("\r\n" or ""). */
char const *msgcrlf_end (msgcrlf const *m) ;
#endif
