/* Arguments of SMTP commands (RFC 5321 4.1.2): the path of MAIL FROM and
   RCPT TO and the ESMTP parameters after it. Parsing works in place on a
   NUL-terminated command line. */
#ifndef PM_SMTPCMD_H
#define PM_SMTPCMD_H
#include <stddef.h>

/* s: what follows the command verb, e.g. "FROM:<a@b> SIZE=12"; kw: "FROM"
   or "TO" (any case, then ':', spaces after it tolerated). A source route
   (<@x,@y:a@b>) is dropped; a path without <> is tolerated. On success
   *addr is the NUL-terminated address ("" for <>), *params the rest
   (spaces skipped), and it returns 1; 0 on a syntax error. */
int smtpcmd_path(char *s, char const *kw, char **addr, size_t *addrlen, char **params) ;

/* Next ESMTP parameter from *p ("KEY" or "KEY=VALUE", space separated),
   NUL-terminated in place; *value is 0 when there is no '='. Returns 1 with
   a parameter, 0 at the end, -1 on a malformed one (empty key, bad byte). */
int smtpcmd_param(char **p, char **key, char **value) ;
#endif
