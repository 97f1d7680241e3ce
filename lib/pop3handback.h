/* The handback (lib/pop3auth): one process per logged-in session. The
   checkpassword program runs the mailbox part as the mailbox's owner, in
   the mailbox, in a child of the login process; that login process is
   the one the super-server (tcp-serve) counts, and it would have nothing
   left to do but wait. So the mailbox part, at its start, offers its
   place back: it sends (over the AUTH_DONE_FD socket, with its
   credentials as the kernel vouches for them) its directory, argv and
   environment, and waits for the verdict. Taken, it exits, and the login
   process takes on exactly its user, group, supplementary groups and
   directory (dropping root, if it had it, for good) and executes the
   same argv with the same environment: the session goes on in the
   process that tcp-serve counts, and no waiter is left. Declined (not
   the child it forked, another user than ours when not root, a message
   out of bounds), the mailbox part goes on serving as before.
   What a checkpassword program does besides ids, directory and
   environment (a chroot, resource limits) does not pass: set
   AUTH_NOHANDBACK then (imap-serve(8)). */
#ifndef PM_POP3HANDBACK_H
#define PM_POP3HANDBACK_H
#include <stddef.h>
#include <sys/types.h>

#define POP3HANDBACK_MAX 32768     /* bytes of an offer */
#define POP3HANDBACK_ARGMAX 256    /* argv and environment entries */
#define POP3HANDBACK_GROUPS 64     /* supplementary groups */

typedef struct pop3handback_s pop3handback ;
struct pop3handback_s {
  uid_t uid ;
  gid_t gid ;
  gid_t groups[POP3HANDBACK_GROUPS] ;
  size_t ngroups ;
  char const *cwd ;
  char const *argv[POP3HANDBACK_ARGMAX + 1] ;
  char const *envp[POP3HANDBACK_ARGMAX + 1] ;
  char buf[POP3HANDBACK_MAX] ;
} ;

/* The mailbox part's side, first thing at its start: if the variable
   (POP3AUTH_DONEVAR) names our socket, offer; returns unless the offer
   was taken (then exits 0). The variable is unset. */
void pop3handback_offer (int argc, char const *const *argv) ;

/* The login side. A socket pair whose end 0 receives credentials; both
   ends close-on-exec. 0 on error. */
int pop3handback_pair (int sv[2]) ;
/* Read an offer on fd from child: 1 an acceptable one (h filled), 0 none
   (end of file: no offer), -1 one that is declined (answered already). */
int pop3handback_take (int fd, pid_t child, pop3handback *h) ;
/* Take it: the verdict sent, the child reaped, then become it (under TLS
   started by STARTTLS, its descriptors on 0 and 1). Returns only if the
   child did not exit 0 after the verdict (a crash: its status). */
int pop3handback_accept (int fd, pid_t child, pop3handback const *h, char const *tlsproto) ;
#endif
