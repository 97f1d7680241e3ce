/* Failed authentications per client address, across connections and
   processes (each connection is a process of its own, or a session of a
   reused worker): a small table file on tmpfs, one fixed-size slot per
   address, under an fcntl lock. Bounded: AUTHFAIL_SLOTS addresses; when
   it is full the slot whose last failure is oldest is taken over. A slot
   expires lockout seconds after its last failure. Protocol-independent:
   SMTP, POP3 and IMAP servers of one instance may share one file.
   Errors (the file cannot be opened, is not ours) make the calls answer
   "nothing known" and return -1: authentication then goes on without the
   table (the caller warns), rather than lock everyone out. */
#ifndef PM_AUTHFAIL_H
#define PM_AUTHFAIL_H

#define AUTHFAIL_SLOTS 1024
#define AUTHFAIL_IPMAX 47

typedef struct authfail_s authfail ;
struct authfail_s {
  char const *path ;       /* the table file */
  unsigned int maxfail ;   /* failures that lock an address out */
  unsigned int lockout ;   /* seconds: the lock-out, and a slot's life */
} ;

/* From the environment: AUTHFAIL_FILE (default
   /dev/shm/pipemail-authfail-UID), AUTH_MAXFAIL (10), AUTH_LOCKOUT (900). */
void authfail_init(authfail *a) ;

/* Seconds ip stays locked out, 0 if it is not; -1 on error (errno). */
long authfail_locked(authfail const *a, char const *ip) ;

/* Count a failure of ip, now. Returns its failures within the window
   (1 for the first), -1 on error (errno). */
long authfail_add(authfail const *a, char const *ip) ;

/* Forget ip's failures (it authenticated). */
void authfail_clear(authfail const *a, char const *ip) ;
#endif
