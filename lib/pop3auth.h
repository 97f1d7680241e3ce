/* The login of pop3-serve and imap-serve: the
   checkpassword program runs with the credentials on fd 3 and the client
   on fds 0 and 1; on success it runs the mailbox part, which serves the
   rest of the session. Optionally through a privileged process: a
   checkpassword program that switches to the mailbox's owner must be
   started as root, while the process that reads the network must not be
   root. pop3auth_split forks once at the start: the parent keeps root and
   only reads login requests from the child through a pipe; the child
   drops to the service's ids and talks to the client. */
#ifndef PM_POP3AUTH_H
#define PM_POP3AUTH_H
#include <stddef.h>
#include "lineio.h"

#define POP3AUTH_REQMAX 16384    /* bytes of a login request */
#define POP3AUTH_ENVMAX 8        /* environment entries of a login request */
/* In the mailbox part's environment: a socket on which it may offer the
   handback (lib/pop3handback: the session goes on in the login process,
   which tcp-serve counts, and no waiter is left); an offer also tells that
   the login is complete: declined (AUTH_NOHANDBACK set, or not
   acceptable), the unprivileged process of a split exits and the one
   left gives its spare memory back (lib/idlemem) while it waits. A
   mailbox part that offers nothing changes nothing. (A process that
   outlives the mailbox part must not keep it open, as it must not keep
   the client's descriptors: the login side would wait for it.) */
#define POP3AUTH_DONEVAR "AUTH_DONE_FD"

enum {
  POP3AUTH_DONE,      /* the checkpassword program ran the session (exit 0 or other) */
  POP3AUTH_FAIL,      /* exit 1: bad password */
  POP3AUTH_MISUSE,    /* exit 2 */
  POP3AUTH_TEMP,      /* exit 111, or it could not be run */
  POP3AUTH_CRASH      /* killed by a signal */
} ;

typedef struct pop3auth_req_s pop3auth_req ;
struct pop3auth_req_s {
  char const *user, *pass ;   /* no NUL inside */
  /* for the mailbox part, NULL-terminated (at most POP3AUTH_ENVMAX):
     "NAME=value" sets, "NAME" unsets (e.g. "POP3_INPUT=" the commands
     pipelined with the login, or "POP3_INPUT" if none) */
  char const *const *env ;
  char const *tlsproto ;      /* TLS started by STLS: its protocol; 0 if not */
  /* without a split: called once the login is complete, before the
     handback (after which pop3auth_login never returns); 0: none */
  void (*done)(void) ;
} ;

/* argv: the checkpassword program and its arguments. If we are root and
   uid/gid are given (not 0), fork: the parent serves login requests and
   exits when the child closes its end (it never returns); the child
   drops to uid/gid and returns 1. Else returns 0 and logins run in this
   process. Dies (111) on a system error. */
int pop3auth_split (char const *const *argv, unsigned int uid, unsigned int gid) ;

/* Run a login (POP3AUTH_*). The caller has flushed its output. */
int pop3auth_login (pop3auth_req const *r) ;
/* Commands the client sent after its login command, before the answer
   (pipelining): the mailbox part's, handed over in the environment. Waits
   for the end of a line the client is in the middle of. *env: "VAR=" and
   a copy of the whole lines (malloc'd), or 0 if none; they stay in io's
   buffer too (after a failed login they are the login part's). 0 if more
   than max bytes, or a NUL among them. var is "NAME=". */
int pop3auth_pipelined (lineio *io, char const *var, size_t max, char **env) ;
#endif
