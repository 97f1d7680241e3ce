/* The text sources of lib/users (etc/domains, etc/users, etc/aliases,
   etc/senders):
   reading them and their lines, shared by users_compile (userscompile.c)
   and the editing functions (usersedit.c). Internal to lib/. */
#ifndef PM_USERSSRC_H
#define PM_USERSSRC_H
#include <stddef.h>
#include <skalibs/cdbmake.h>
#include <skalibs/stralloc.h>

#define USRC_LINEMAX 4096
#define USRC_FILEMAX (64 << 20)   /* bytes in one source file */
#define USRC_TARGETSMAX 1000      /* targets of one alias */

enum { USRC_DOMAINS, USRC_USERS, USRC_ALIASES, USRC_SENDERS, USRC_N } ;
extern char const *const usrc_name[USRC_N] ;   /* "etc/domains", ... */

/* sa = contents of ROOT/rel; an absent file is empty. 1 ok, 0 error. */
int usrc_read (char const *rel, stralloc *sa) ;

/* Iterate over the meaningful lines of a file: blanks trimmed at both
   ends, empty and # lines skipped. 1 line, 0 end, -1 line too long. */
typedef struct { char const *s ; size_t len, pos ; unsigned line ; } usrc_lines ;
int usrc_next (usrc_lines *l, char const **s, size_t *len) ;

/* Blanks (space, tab, CR) off both ends. */
void usrc_trim (char const **s, size_t *len) ;

/* Index of the first sep outside a quoted string, or len. */
size_t usrc_field_end (char const *s, size_t len, char sep) ;

/* Give fd, the new file about to replace path, the owner, group and mode
   of path, or if there is none the group of path's directory: so a file
   compiled or edited by root stays readable by the services' group that
   instance-setup gave etc/. 1 ok, 0 error (errno). */
int usrc_keepmode (int fd, char const *path) ;

/* Copy every record of the cdb file from into cm, then add the default
   "S" record (senders.h) of every user without one. 1 ok, 0 error
   (errno). (sendersmake.c) */
int usrc_senders_defaults (cdbmaker *cm, char const *from) ;

/* fsync the directory path. 1 ok, 0 error. */
int usrc_dirsync (char const *path) ;
#endif
