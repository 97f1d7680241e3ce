/* Users, aliases and local domains.

   Text sources, edited by people or by user-add/alias-add (lines starting
   with # and blank lines are ignored; each line at most 4096 bytes):
     ROOT/etc/domains   one local domain per line
     ROOT/etc/users     address:passwordhash:mailbox:quota
                        mailbox is relative to ROOT (e.g. mail/example.test/demo)
                        or absolute; quota in bytes, 0 or empty = none
     ROOT/etc/aliases   alias: target[, target...]     (at most 1000 targets)
     ROOT/etc/senders   login: address[, @domain...]  (see senders.h)
   compiled by users_compile() into ROOT/etc/users.cdb, which programs read:
     "D" domain        -> ""
     "U" address       -> hash \0 mailbox \0 quota
     "A" address       -> target \0 target \0 ...
     "S" login         -> address \0 @domain \0 ...   (who may send as whom;
                          every user gets one, see senders.h)
   Addresses and domains are stored lower-cased.
*/
/* Details (see also THE SOURCE FILES in user-add(8)):
   - an address in etc/users or etc/aliases may be "@domain", a catch-all;
     its domain must be listed in etc/domains; an address is defined once,
     as a user or as an alias.
   - etc/users: the fields may be surrounded by blanks; an empty mailbox
     means mail/DOMAIN/LOCAL; an empty hash disables logins; the quota
     field may be left out.
   - etc/aliases: a target without '@' is a local part in the alias's
     domain. Targets may be remote addresses. In the cdb each target is
     NUL-terminated, the last one too.
   - "U" records: quota in decimal, last, not NUL-terminated.
   - a +tag is the local part from its first '+' (not in a quoted local
     part, not at its start).
   Entries returned point into the mapped cdb: valid until users_close(). */
#ifndef PM_USERS_H
#define PM_USERS_H
#include <stdint.h>
#include <stddef.h>
#include <skalibs/cdb.h>
#include <skalibs/stralloc.h>
#include "root.h"

typedef struct users_s users ;
struct users_s { cdb c ; int open ; pm_fileid id ; } ;
#define USERS_ZERO { .c = CDB_ZERO, .open = 0, .id = PM_FILEID_ZERO }

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
/* For a process that serves many sessions or runs long: keep u as it is
   if it was opened from the file ROOT/etc/users.cdb still is (one stat),
   else (or if force) open that file instead. 1 ok, 0 error (errno; u is
   left as it was). Entries from u are invalid after a refresh. */
int users_refresh(users *u, int force) ;
void users_close(users *u) ;
/* 1 if domain (any case) is local. */
int users_isdomain(users const *u, char const *domain, size_t len) ;
/* Look up addr (any case). Tries the address, then without a +tag in the
   local part, then the catch-all "@domain". Returns USERS_*; on -1, errno. */
int users_lookup(users const *u, char const *addr, size_t len, users_entry *e) ;
/* Look up addr (any case) for a login: only a mailbox user whose canonical
   address is addr's (no +tag stripping, no catch-all, no alias). Returns
   USERS_MAILBOX with canon = the canonical address (NUL-terminated), or
   USERS_NONE; on -1, errno. */
int users_login(users const *u, char const *addr, size_t len, stralloc *canon, users_entry *e) ;
/* Mailbox path: ROOT/mailbox unless absolute. NUL-terminated. */
int users_mailbox_path(stralloc *sa, char const *mailbox) ;
/* Compile the text sources into etc/users.cdb atomically (write tmp, fsync,
   rename). On a syntax error returns 0 with a message "FILE:LINE: reason"
   in err (NUL-terminated); on a system error returns 0 with errno and err
   empty. */
int users_compile(stralloc *err) ;

/* Expand aliases recursively: append to out the addresses that addr stands
   for, lower-cased, each NUL-terminated, without duplicates. An address
   that is not an alias (a mailbox, a remote address, an unknown local
   one) is final and appended as found (a mailbox keeps its +tag); look
   each one up to deliver or bounce it. An alias met again (a loop) adds
   nothing. Returns the number of addresses appended (0: an alias that
   loops onto itself only), or -1 with errno: ELOOP nested deeper than
   USERS_RESOLVE_DEPTH, E2BIG more than USERS_RESOLVE_MAX addresses,
   EPROTO corrupt cdb, ENOMEM. */
#define USERS_RESOLVE_DEPTH 10
#define USERS_RESOLVE_MAX 1000
int users_resolve(users const *u, char const *addr, size_t len, stralloc *out) ;

/* --- Editing the sources (user-add, alias-add, config-make). --- */
/* Take the lock ROOT/etc/.lock (making etc/), waiting for it. Returns the
   fd to keep open until done, -1 on error. Whoever writes etc/users,
   etc/aliases, etc/domains or users.cdb holds it: users_compile() and
   users_add_line() expect their caller to. */
int users_lock(void) ;
/* sa = "mail/DOMAIN/LOCAL" for the canonical address addr, NUL-terminated.
   0 with EINVAL if the local part or domain cannot be a path component
   (quoted, '/', leading '.', address literal), ENOMEM. */
int users_default_mailbox(stralloc *sa, char const *addr, size_t len) ;
/* Where the canonical address (or "@domain") is defined in the sources:
   1 and where = "FILE:LINE" (NUL-terminated), 0 if nowhere, -1 on a read
   error (errno). */
int users_find(char const *addr, size_t len, stralloc *where) ;
/* Append line (no newline) to ROOT/rel (etc/users or etc/aliases) and,
   unless listed, domain to etc/domains (files replaced atomically and
   durably), then users_compile(). If that fails, the files are put back.
   Returns like users_compile(). */
int users_add_line(char const *rel, char const *line, size_t len,
                   char const *domain, size_t dlen, stralloc *err) ;
#endif
