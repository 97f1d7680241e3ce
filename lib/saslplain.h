/* SASL PLAIN (RFC 4616) as servers receive it: base64 (RFC 4648, padding
   required as RFC 4422 says) of "authzid\0authcid\0password". Shared by
   the POP3 and IMAP servers (and SMTP AUTH). TODO: one module with
   smtp-recv's AUTH decoder (being written beside this one). */
#ifndef PM_SASLPLAIN_H
#define PM_SASLPLAIN_H
#include <stddef.h>

#define SASLPLAIN_MAX 1024     /* decoded bytes at most */

/* Decode b64[0..len) into out (SASLPLAIN_MAX + 1 bytes) and split it:
   *user and *pass point into out, NUL-terminated. An authzid must be
   empty or the authcid itself (we do not act for others). 1 ok; 0 bad
   base64 (EINVAL), bad form (EPROTO), too long (E2BIG), other authzid
   (EPERM). */
int saslplain_decode (char const *b64, size_t len, char *out, char const **user, char const **pass) ;
#endif
