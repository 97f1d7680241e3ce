/* POP3 (RFC 1939, RFC 2449 CAPA and response codes) pieces shared by the
   two parts of the server: pop3-serve (greeting to login) and
   pop3-mailbox (after login, on the Maildir). */
#ifndef PM_POP3_H
#define PM_POP3_H
#include <stddef.h>
#include <stdint.h>
#include "lineio.h"

#define POP3_LINEMAX 2048      /* a command line (RFC 2449: 255; SASL's longer) */
#define POP3_ERRMAX 10         /* bad commands before the session ends */
#define POP3_UIDLMAX 70        /* RFC 1939 7 */
#define POP3_TIMEOUT 600       /* seconds (RFC 1939 3: at least 10 minutes) */

/* The command in line (NUL-terminated): *verb its keyword, upper-cased
   (1 to 4 letters, RFC 2449 3), *arg what follows one space ("" if
   nothing). 1 ok, 0 not a command. Modifies line. */
int pop3_cmd (char *line, char verb[5], char **arg) ;

/* s is 1 to 9 decimal digits and nothing else: 1 and *n, else 0. */
int pop3_num (char const *s, uint32_t *n) ;

/* The unique-id listing of a message from its unique name (lib/mdlist):
   the name itself when it is at most POP3_UIDLMAX bytes of 0x21..0x7E, else
   "~" and the hex SHA-256 of it (65 bytes). out: POP3_UIDLMAX + 1 bytes;
   NUL-terminated. */
void pop3_uidl (char const *name, size_t len, char *out) ;

/* The CAPA reply (RFC 2449). prelogin: before login, with USER (if user),
   SASL PLAIN (if user) and STLS (if stls). 1 ok, 0 write error. */
int pop3_capa (lineio *io, int prelogin, int user, int stls) ;

/* A POP3 server writes a message in several segments, then waits for the
   next command: with Nagle's algorithm the last, partial segment would wait
   for the client's delayed ACK (40 ms per RETR). Sets TCP_NODELAY on fd if
   it is a TCP socket (else nothing: a pipe from tls-serve). */
void pop3_nodelay (int fd) ;

/* Queue s and CRLF. 1 ok, 0 write error. */
int pop3_say (lineio *io, char const *s) ;
#endif
