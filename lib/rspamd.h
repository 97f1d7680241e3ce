/* The client side of rspamd's HTTP protocol: a message and what the MTA
   knows of it (POST /checkv2 with the headers rspamd documents: IP, Helo,
   Hostname, From, Rcpt, User, Queue-Id, TLS-Version, TLS-Cipher), and its
   JSON answer read into a bounded summary: the action, the score, the
   symbols and the SMTP message. Every length, count and wait is bounded;
   anything unexpected in the answer is an error, never a guess.
   rspamd.c: the exchange; rspamdjson.c: the answer's parser. */
#ifndef PM_RSPAMD_H
#define PM_RSPAMD_H
#include <stddef.h>
#include <stdint.h>

#define RSPAMD_MAXREPLY (256 * 1024)  /* bytes of JSON read at most */
#define RSPAMD_MAXSYMBOLS 64          /* symbols kept (the highest scores) */
#define RSPAMD_MAXRCPT 1000           /* Rcpt headers sent (rspamd takes 1024) */

typedef struct rspamd_symbol_s rspamd_symbol ;
struct rspamd_symbol_s {
  char name[64] ;          /* [A-Za-z0-9_.-] only, else '?' */
  double score ;
} ;

typedef struct rspamd_reply_s rspamd_reply ;
struct rspamd_reply_s {
  char action[32] ;        /* "reject", "soft reject", "greylist",
                              "add header", "rewrite subject", "no action" */
  double score, required ; /* score and required_score (0 if absent) */
  char message[200] ;      /* messages.smtp_message, printable ASCII; "" if none */
  rspamd_symbol sym[RSPAMD_MAXSYMBOLS] ;
  unsigned int nsym ;      /* kept, sorted by score, highest first */
  unsigned int allsym ;    /* seen (more than nsym if some were dropped) */
} ;

/* What the MTA knows; 0 (or "") for what it does not. */
typedef struct rspamd_request_s rspamd_request ;
struct rspamd_request_s {
  char const *ip, *helo, *hostname, *user, *queueid, *tlsversion, *tlscipher ;
  char const *env ;        /* qmail-queue envelope, Fsender\0Trcpt\0...\0 */
  size_t envlen ;
  int msgfd ;              /* the message, read from offset 0 ... */
  uint64_t msglen ;        /* ... this many bytes */
} ;

/* Parse "IP:PORT" ("[IPv6]:PORT" too; no host names) into where.
   1 ok, 0 malformed. */
typedef struct rspamd_addr_s rspamd_addr ;
struct rspamd_addr_s { char ip[16] ; int is6 ; uint16_t port ; } ;
int rspamd_addr_scan(rspamd_addr *where, char const *s) ;

/* Ask rspamd at where about the message, all within timeoutsecs.
   1: r is filled. 0: no usable answer, *why says what went wrong: with
   errno EPROTO, what is wrong with the answer ("answer too large");
   else what could not be done ("connect"), errno saying why. */
int rspamd_check(rspamd_reply *r, rspamd_addr const *where, rspamd_request const *q,
                 unsigned int timeoutsecs, char const **why) ;

/* Parse a /checkv2 JSON answer of len bytes (no NUL needed). 1 ok;
   0 malformed or without an action, *why says why. */
int rspamd_parse(rspamd_reply *r, char const *json, size_t len, char const **why) ;
#endif
