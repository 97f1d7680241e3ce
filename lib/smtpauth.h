/* SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms,
   the password checked by a checkpassword program (lib/checkpw) and the
   failures counted per client address across connections (lib/authfail):
   each failure is answered after a delay that grows with the address's
   failures, and an address with too many is refused (421) for a while.
   A failure is logged in one line that fail2ban's stock postfix filter
   (mode auth) matches:
     smtp-recv: warning: session=ID client=HOST[IP]: SASL PLAIN authentication failed: user=<LOGIN> failures=N
   The password never reaches a log or a reply; the buffers that held it
   (decoded, and the base64 lines in the input buffer) are wiped. */
#ifndef PM_SMTPAUTH_H
#define PM_SMTPAUTH_H
#include <skalibs/stralloc.h>
#include "authfail.h"
#include "lineio.h"
#include "srvconn.h"

#define SMTPAUTH_LINEMAX 12288   /* RFC 4954 4: a line of the exchange */

typedef struct smtpauth_s smtpauth ;
struct smtpauth_s {
  char const *const *prog ;   /* the checkpassword program's argv; 0: no AUTH */
  authfail fail ;
  unsigned int delay ;        /* ms before the first failure's reply; doubles, up to 8 times */
  unsigned int timeout ;      /* seconds the program may take */
} ;

/* prog: argv, or 0 (or an empty argv) when there is no program. From the
   environment: AUTH_FAIL_DELAY (ms, 1000), AUTH_TIMEOUT (s, 30) and
   authfail's settings (authfail.h). */
void smtpauth_init(smtpauth *a, char const *const *prog) ;

enum {
  SMTPAUTH_OK,        /* authenticated: *user is the login, NUL-terminated */
  SMTPAUTH_NO,        /* refused (535, 454, 504): send *reply */
  SMTPAUTH_BAD,       /* a protocol error (501, 500): send *reply, count it */
  SMTPAUTH_LOCKED,    /* the address is locked out: send *reply (421), hang up */
  SMTPAUTH_IOERR      /* the client is gone or timed out (errno ETIMEDOUT) */
} ;

/* The dialogue after "AUTH ", arg being "MECHANISM [initial-response]"
   (arg is wiped). Challenges (334) are written to io, responses read from
   it. *reply is the final reply (code, enhanced code, text; no CRLF). */
int smtpauth_run(smtpauth const *a, lineio *io, srvconn const *c, char *arg,
                 stralloc *user, char const **reply) ;

/* 1 if the client's address is locked out now (say 421 and hang up);
   errors count as not locked (and warn). */
int smtpauth_locked(smtpauth const *a, srvconn const *c) ;
#endif
