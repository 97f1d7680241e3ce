/* The SMTP client's TLS policy per destination domain (Postfix's security
   levels), from a file such as ROOT/etc/tls-policy: lines "DOMAIN POLICY",
   blank lines and '#' comments. DOMAIN is a domain (case-insensitive),
   ".example.org" for every domain below example.org, or "*" for the default.
   The most specific entry wins: the domain itself, then the longest ".suffix",
   then "*", else "may". Of two entries for the same DOMAIN, the first wins. */
#ifndef PM_TLSPOLICY_H
#define PM_TLSPOLICY_H
#include <stddef.h>
#include <skalibs/stralloc.h>

enum {
  TLSPOLICY_NONE,      /* never TLS */
  TLSPOLICY_MAY,       /* STARTTLS when offered, no certificate check; clear text else */
  TLSPOLICY_ENCRYPT,   /* TLS required, no certificate check */
  TLSPOLICY_VERIFY,    /* TLS required, certificate trusted and matching the host name */
};

#define TLSPOLICY_FILEMAX (1024 * 1024)   /* bytes of the file */
#define TLSPOLICY_LINEMAX 1024            /* bytes of a line */

/* The policy for domain from s[0..n). Every line is checked, whatever the
   domain. 1 ok and *policy; 0 malformed, with *line (from 1) and *why. */
int tlspolicy_find(char const *s, size_t n, char const *domain, int *policy,
                   unsigned int *line, char const **why);

/* The same from a file; no file means "may" for all. 0 on a malformed
   file (*line, *why) or a system error (*line 0, *why 0, errno). */
int tlspolicy_read(char const *file, char const *domain, int *policy,
                   unsigned int *line, char const **why);

/* tlspolicy_read, with the reason for a failure appended to why as
   "FILE line N: reason" or "FILE: strerror". 0 on ENOMEM too. */
#include <skalibs/stralloc.h>
int tlspolicy_get(char const *file, char const *domain, int *policy, stralloc *why);

/* "none", "may", "encrypt", "verify"; tlspolicy_scan: the policy named
   s[0..n), or -1. */
char const *tlspolicy_name(int policy);
int tlspolicy_scan(char const *s, size_t n);
#endif
