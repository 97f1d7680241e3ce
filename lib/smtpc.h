/* SMTP client protocol pieces (RFC 5321): a connection with buffered,
   deadline-bounded I/O, bounded reply reading (multiline replies), EHLO
   keyword parsing, and the DATA encoder (LF -> CRLF, dot-stuffing).

   The connection is a lib/lineio: its buffers and line reader, and its
   io, two functions that read and write with a deadline. smtpc_fdio_init
   makes one over a pair of file descriptors (a TCP socket). STARTTLS
   slots in by replacing the io after the 220 reply with smtpc_setio:
   either an in-process TLS engine, or the descriptors of a TLS process
   (UCSPI-TLS style, as tls-serve does on the server side). smtpc_setio
   drops any input that was buffered before the switch: bytes the peer
   sent in the clear after "220" must never be read as if they came
   through TLS (CVE-2011-0411 family). */
#ifndef PM_SMTPC_H
#define PM_SMTPC_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include "lineio.h"

/* Bounds on what the peer sends. */
#define SMTPC_LINEMAX 4096     /* bytes of one reply line, without CRLF */
#define SMTPC_LINESMAX 100     /* lines of one reply */

/* read: >0 bytes read, 0 end of file, -1 error (errno; ETIMEDOUT at the
   deadline). write: all of s; 1 ok, 0 error (errno). (lib/lineio.h) */
typedef lineio_io smtpc_io ;

/* Plain descriptors; wfd must be non-blocking. */
typedef lineio_fdio smtpc_fdio ;
void smtpc_fdio_init(smtpc_io *io, smtpc_fdio *f, int rfd, int wfd) ;

/* smtpc_getreply results other than a reply code. */
enum { SMTPC_EOF = 0, SMTPC_ERROR = -1, SMTPC_BADREPLY = -2 } ;

/* Must not be copied or moved once initialised (lib/lineio). */
typedef struct smtpc_s smtpc ;
struct smtpc_s {
  lineio l ;                /* buffers and io; each call gives its deadline */
  stralloc reply ;          /* last reply: its lines without CRLF, joined by '\n', NUL-terminated */
  unsigned int nlines ;
  char const *why ;         /* after SMTPC_BADREPLY: what was wrong */
  unsigned char bol ;       /* DATA encoder: at the start of a line */
} ;

void smtpc_init(smtpc *c, smtpc_io const *io) ;
/* Switch to another io (STARTTLS); buffered input and output are dropped. */
void smtpc_setio(smtpc *c, smtpc_io const *io) ;
void smtpc_free(smtpc *c) ;

/* Buffered output, flushed when full. 1 ok, 0 error (errno). */
int smtpc_put(smtpc *c, char const *s, size_t n, tain const *deadline) ;
int smtpc_puts(smtpc *c, char const *s, tain const *deadline) ;
int smtpc_flush(smtpc *c, tain const *deadline) ;

/* Flush the output, then read one reply, whole, by the deadline.
   Returns its code (100..599, that of the last line), SMTPC_EOF when the
   peer closed the connection (even within a reply), SMTPC_ERROR (errno,
   ETIMEDOUT), or SMTPC_BADREPLY (c->why) for a line that is not
   "DDD", "DDD text" or "DDD-text", a line longer than SMTPC_LINEMAX, or a
   reply of more than SMTPC_LINESMAX lines. After SMTPC_BADREPLY the
   connection is out of step: give it up. The reply is in c->reply. */
int smtpc_getreply(smtpc *c, tain const *deadline) ;

/* One reply line: 1 and *code, *last (0 for "DDD-") if well-formed. */
int smtpc_replyline(char const *s, size_t len, unsigned int *code, int *last) ;

/* The reply (lines joined by '\n') on one line for logs and reports, as
   a one-line reply would be: the first line with a space for its "-"
   ("550-5.1.1 a" -> "550 5.1.1 a"), then the text of each further line
   after a space, less its code and a repeated enhanced status code:
   "550-5.1.1 a\n550 5.1.1 b" -> "550 5.1.1 a b". Appended to sa, not
   NUL-terminated. 0 on ENOMEM. */
int smtpc_oneline(stralloc *sa, char const *reply, size_t len) ;

/* Length of an enhanced status code (RFC 3463, "D.D{1,3}.D{1,3}") at the
   start of s and followed by a space or the end, else 0. */
size_t smtpc_esc(char const *s, size_t len) ;

/* The first word of the first line's text (the host name in a greeting or
   an EHLO reply): *name and its length (0 if none). */
size_t smtpc_replyname(char const *reply, size_t len, char const **name) ;

/* EHLO extensions we use (RFC 2920, 1870, 6152, 6531, 3207, 2034). */
#define SMTPC_PIPELINING 0x01
#define SMTPC_SIZE 0x02
#define SMTPC_8BITMIME 0x04
#define SMTPC_SMTPUTF8 0x08
#define SMTPC_STARTTLS 0x10
#define SMTPC_ENHANCEDSTATUSCODES 0x20

/* Keywords of an EHLO reply (lines joined by '\n'; the first line is the
   greeting and is skipped), case-insensitive. *sizemax is the SIZE limit,
   0 if none was given (or it is 0, malformed or out of range: no limit). */
unsigned int smtpc_ehlo(char const *reply, size_t len, uint64_t *sizemax) ;

/* The DATA encoder. smtpc_data_begin once, then smtpc_data_put the message
   (LF line ends) in pieces, then smtpc_data_end, which completes a last
   line without LF and writes the final ".". Lines become CRLF-terminated,
   a line starting with '.' gets another '.' (RFC 5321 4.5.2). */
void smtpc_data_begin(smtpc *c) ;
int smtpc_data_put(smtpc *c, char const *s, size_t n, tain const *deadline) ;
int smtpc_data_end(smtpc *c, tain const *deadline) ;
/* All three for the message in fd from offset start to its end, each
   write by secs seconds from its start. 1 ok; 0 write error (errno);
   -1 the message could not be read (errno). */
int smtpc_data_file(smtpc *c, int fd, off_t start, unsigned int secs) ;

/* The encoder itself: encode in[0..n) into out (room for 2n bytes), *bol
   the state (1 at the start); returns the output length. */
size_t smtpc_dotstuff(unsigned char *bol, char const *in, size_t n, char *out) ;

/* Facts about a message (LF line ends) for MAIL FROM: its size on the wire
   as RFC 1870 counts it (CRLF line ends, no dot-stuffing, no final dot)
   and whether it has bytes >= 0x80. Feed it in pieces. */
typedef struct smtpc_msginfo_s smtpc_msginfo ;
struct smtpc_msginfo_s { uint64_t size ; int eightbit ; int lastlf ; } ;
#define SMTPC_MSGINFO_ZERO { .size = 0, .eightbit = 0, .lastlf = 1 }
void smtpc_msginfo_add(smtpc_msginfo *m, char const *s, size_t n) ;
/* The size including the CRLF that smtpc_data_end adds to a last line. */
uint64_t smtpc_msginfo_size(smtpc_msginfo const *m) ;

/* Where to connect. */
/* The whole of s as an IPv4 or IPv6 address: 1 and *ip, else 0. */
int smtpc_scan_ip(char const *s, ip46 *ip) ;
/* A route "IPV4", "IPV4:PORT", "IPV6", "[IPV6]", "[IPV6]:PORT" (or
   "[IPV4]:PORT"): 1 and *ip (and *port when given), else 0. */
int smtpc_scan_route(char const *s, ip46 *ip, unsigned int *port) ;
/* A domain that is an address literal (RFC 5321 4.1.3), "[1.2.3.4]" or
   "[IPv6:2001:db8::1]": 1 and *ip, else 0. */
int smtpc_scan_literal(char const *domain, ip46 *ip) ;
/* 1 if ip is an address of one of this host's interfaces, or the
   unspecified address (which reaches this host too); else 0. */
int smtpc_ip_is_mine(ip46 const *ip) ;

/* An exchanger's address to try. host is a name (named) or else the
   address itself, formatted in ipfmt. */
typedef struct smtpc_target_s smtpc_target ;
struct smtpc_target_s {
  char const *host ;
  unsigned long pref ;
  ip46 ip ;
  int named ;
  char ipfmt[IP46_FMT] ;
} ;
/* Append one target to t[0..*n) unless *n == max (more are never needed).
   host 0: the address stands for it. host must outlive t. */
void smtpc_target_add(smtpc_target *t, unsigned int *n, unsigned int max,
                      char const *host, unsigned long pref, ip46 const *ip) ;
/* Append the targets of an MXLIST (mx-lookup(8)): lines "PREF HOST ADDR
   [ADDR...]" in the order to try. copy keeps the host names. 1 ok; 0
   ENOMEM (*line 0), or a malformed line *line (from 1), with *bad the
   invalid address if that is what is wrong (else 0). */
int smtpc_mxlist(char const *s, stralloc *copy, smtpc_target *t, unsigned int *n,
                 unsigned int max, unsigned int *line, char const **bad) ;

/* The message: from fd's current offset to its end. A descriptor that
   cannot seek (a pipe) is first copied to an anonymous file. Scanned once
   into *info. 1 ok with *msgfd (fd or the copy) and *start; 0 error
   (errno). */
int smtpc_msg_open(int fd, int *msgfd, off_t *start, smtpc_msginfo *info) ;

/* An envelope address for MAIL FROM or RCPT TO: 1 fine, 0 longer than 998
   bytes, -1 with a control byte, '<' or '>'. */
int smtpc_addr_check(char const *a) ;
/* Does s have a byte >= 0x80 (SMTPUTF8 needed for an address)? */
int smtpc_8bit(char const *s) ;
#endif
