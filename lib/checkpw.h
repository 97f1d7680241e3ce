/* Running a checkpassword program (the interface of qmail's
   checkpassword, https://cr.yp.to/checkpwd/interface.html) for a server
   that authenticates a user: the program reads user\0password\0stamp\0
   on its fd 3, from a pipe (the password is on no command line and in no
   environment), and exits 0 (it ran its argv's rest) when the password is
   right, 1 when it is wrong, anything else on trouble. */
#ifndef PM_CHECKPW_H
#define PM_CHECKPW_H
#include <stddef.h>

/* Run argv (argv[0] looked up in PATH) with the credentials on fd 3, its
   fd 0 and 1 on /dev/null, fd 2 shared (its warnings go to our log); wait
   at most secs for its exit, then kill it (its process group). Returns the
   exit code 0..255, or -1 (errno): it could not be run, died of a signal
   or was killed (ETIMEDOUT). user and pass must hold no NUL and be at most
   a few KB together (one write into the pipe). The caller must ignore
   SIGPIPE, and wipe its own copy of the password. */
int checkpw_run(char const *const *argv, char const *user, size_t ulen,
                char const *pass, size_t plen, unsigned int secs) ;
#endif
