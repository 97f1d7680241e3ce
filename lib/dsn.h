/* Delivery status notifications (bounces), RFC 3464: one multipart/report
   (report-type=delivery-status) per batch of failed recipients of a
   message, with a human part, a machine part and the original header. */
#ifndef PM_DSN_H
#define PM_DSN_H
#include <stdint.h>
#include <stddef.h>
#include <skalibs/stralloc.h>

#define DSN_HDRMAX 65536     /* original header bytes put in the bounce */
#define DSN_TEXTMAX 900      /* longest address or reason put on one line */
#define DSN_DOUBLE "#@[]"    /* envelope sender of double bounces; never bounced */

typedef struct dsn_rcpt_s dsn_rcpt ;
struct dsn_rcpt_s {
  char const *addr ;
  char const *reason ;   /* "X.Y.Z text" ideally; anything printable */
} ;

typedef struct dsn_s dsn ;
struct dsn_s {
  char const *me ;       /* reporting host name */
  char const *qid ;      /* queue id of the original message */
  char const *sender ;   /* original envelope sender ("" for a bounce) */
  char const *to ;       /* recipient of this bounce (To: header) */
  uint64_t arrival ;     /* original arrival time */
  uint64_t now ;
  dsn_rcpt const *rcpt ;
  unsigned int n ;
  char const *hdr ;      /* original header block (see dsn_headers) */
  size_t hdrlen ;
} ;

/* Append the bounce message (LF line ends) to out. 0 on ENOMEM. */
int dsn_build(stralloc *out, dsn const *d) ;
/* The enhanced status code (RFC 3463) of a reason: the first "4.x.y" or
   "5.x.y" word in it (also right after a reply code "DDD-"), else "5.0.0".
   out gets at least 12 bytes. */
void dsn_status(char *out, char const *reason) ;
/* A remote MTA's reply in a reason, worded as remote-send(8) words it
   (lib/qremote passes it on): "HOST[IP] said: REPLY (in reply to CMD
   command)" or "host HOST[IP] refused to talk to me: REPLY", maybe after
   a prefix ("gave up after 3 attempts: "), where REPLY (made one line by
   smtpc_oneline) starts with an SMTP reply code. 1 with HOST in
   *host, *hostlen and REPLY, less the "(in reply to" note, in *reply,
   *replylen (both within reason); else 0. The bounce then says
   "Remote-MTA: dns; HOST" and "Diagnostic-Code: smtp; REPLY", and takes
   the Status from REPLY (RFC 3464 2.3.4-2.3.6). */
int dsn_remote(char const *reason, char const **host, size_t *hostlen,
               char const **reply, size_t *replylen) ;
/* The diagnostic type for a reason: "smtp" if it starts with an SMTP
   reply code (remote reply), else "x-pipemail". */
char const *dsn_diagtype(char const *reason) ;
/* Length of the header block at the start of s (up to the empty line,
   at most DSN_HDRMAX, cut after a whole line). */
size_t dsn_headers(char const *s, size_t len) ;
/* Read the start of the message in fd at offset off (at most DSN_HDRMAX
   bytes) and keep its header block in sa. 0 on error (errno). */
int dsn_readheaders(stralloc *sa, int fd, uint64_t off) ;
/* Where a bounce for a message from sender goes. Returns 1 with the
   recipient in to (NUL-terminated) and the bounce's envelope sender in
   *bsender; 0 if it must not be bounced (sender is DSN_DOUBLE); -1 on a
   read error (errno). Null sender: ROOT/etc/doublebounceto, else
   postmaster@ the first line of ROOT/etc/domains (else of etc/me). */
int dsn_route(stralloc *to, char const **bsender, char const *sender) ;
#endif
