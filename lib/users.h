/* Users, aliases and local domains.

   Text sources, edited by people or by user-add/alias-add (lines starting
   with # and blank lines are ignored; each line at most 4096 bytes):
     ROOT/etc/domains   one local domain per line
     ROOT/etc/users     address:passwordhash:mailbox:quota
                        mailbox is relative to ROOT (e.g. mail/example.test/demo)
                        or absolute; quota in bytes, 0 or empty = none
     ROOT/etc/aliases   alias: target[, target...]     (at most 1000 targets)
   compiled by users_compile() into ROOT/etc/users.cdb, which programs read:
     "D" domain        -> ""
     "U" address       -> hash \0 mailbox \0 quota
     "A" address       -> target \0 target \0 ...
   Addresses and domains are stored lower-cased.
*/
#ifndef PM_USERS_H
#define PM_USERS_H
#include <stdint.h>
#include <stddef.h>
#include <skalibs/cdb.h>
#include <skalibs/stralloc.h>

typedef struct users_s users ;
struct users_s { cdb c ; } ;
#define USERS_ZERO { .c = CDB_ZERO }

enum { USERS_NONE = 0, USERS_MAILBOX = 1, USERS_ALIAS = 2 } ;

typedef struct users_entry_s users_entry ;
struct users_entry_s {
  char const *hash ;      /* password hash, NUL-terminated (USERS_MAILBOX) */
  char const *mailbox ;   /* as written in etc/users, NUL-terminated */
  uint64_t quota ;        /* bytes, 0 = none */
  char const *targets ;   /* USERS_ALIAS: NUL-separated list ... */
  size_t targetslen ;     /* ... of this many bytes */
} ;

/* Open ROOT/etc/users.cdb. 1 ok, 0 error (errno). */
int users_open(users *u) ;
void users_close(users *u) ;
/* 1 if domain (any case) is local. */
int users_isdomain(users const *u, char const *domain, size_t len) ;
/* Look up addr (any case). Tries the address, then without a +tag in the
   local part, then the catch-all "@domain". Returns USERS_*; on -1, errno. */
int users_lookup(users const *u, char const *addr, size_t len, users_entry *e) ;
/* Mailbox path: ROOT/mailbox unless absolute. NUL-terminated. */
int users_mailbox_path(stralloc *sa, char const *mailbox) ;
/* Compile the text sources into etc/users.cdb atomically (write tmp, fsync,
   rename). On a syntax error returns 0 with a message "FILE:LINE: reason"
   in err (NUL-terminated); on a system error returns 0 with errno and err
   empty. */
int users_compile(stralloc *err) ;
#endif
