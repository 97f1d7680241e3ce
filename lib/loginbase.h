/* What pop3-serve and imap-serve share before login (lib/pop3login.c,
   lib/imaplogin.c): the connection, the settings read from the
   environment, the lock-out of addresses with too many failed logins
   (lib/authfail) and the answer to a failed one. Each protocol says its
   own words around these. */
#ifndef PM_LOGINBASE_H
#define PM_LOGINBASE_H
#include <stddef.h>
#include "authfail.h"
#include "lineio.h"
#include "srvconn.h"

typedef struct loginbase_s loginbase ;
struct loginbase_s {
  lineio io ;
  srvconn c ;
  char const *const *argv ;  /* checkpassword and its arguments */
  int plaintext ;            /* login allowed without TLS */
  int stlsdone ;             /* TLS started by STLS/STARTTLS: the mailbox part talks on its fds */
  unsigned int errors, fails, timeout ;
  unsigned long faildelay ;  /* ms before the first failure's answer; doubles */
  authfail fail ;            /* failures per client address, across sessions */
} ;

/* Set b up for a session of protocol P ("POP3", "IMAP"): P_LOGIN_TIMEOUT
   (seconds, default deftimeout), AUTH_FAIL_DELAY (ms, at most 10 s),
   P_PLAINTEXT; as root with P_UID/P_GID the network side drops to them
   (pop3auth_split); the UCSPI(-TLS) connection (stls names the command
   for the warning when TLS cannot start), the line I/O on 0 and 1 with a
   bound of 10 minutes on the whole dialogue. */
void loginbase_setup (loginbase *b, char const *const *argv, char const *p, unsigned int deftimeout, char const *stls) ;
/* The client's address for the logs. */
char const *loginbase_ip (loginbase const *b) ;
/* Whether the address is locked out (logged if so). */
int loginbase_locked (loginbase *b) ;
/* A failed login: counted for the address, answered after a delay that
   grows with its failures, logged in the form fail2ban's postfix filter
   (mode auth) matches, as smtp-recv's are. */
void loginbase_failed (loginbase *b, char const *mech, char const *user) ;
/* A user name that may go into a log line and to the checkpassword
   program: 1..max bytes, no space, control, '<' or '>'. */
int loginbase_user_ok (char const *u, size_t n, size_t max) ;
#endif
