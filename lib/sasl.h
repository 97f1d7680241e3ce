/* SASL pieces that do not depend on the protocol (SMTP AUTH, POP3 AUTH,
   IMAP AUTHENTICATE): base64 as SASL uses it (RFC 4648 section 4, padded,
   no line breaks) and the PLAIN mechanism's message (RFC 4616). skalibs
   has no base64, BearSSL none we can reach, so it is here. */
#ifndef PM_SASL_H
#define PM_SASL_H
#include <stddef.h>
#include <sys/types.h>

#define SASL_USERMAX 512       /* bytes of a login name */
#define SASL_PASSMAX 1024      /* bytes of a password */

/* Decode s[0..n) into out, which has room for n / 4 * 3 bytes. Returns
   the decoded length, or -1 if s is not canonical padded base64 (length
   not a multiple of 4, a byte out of the alphabet, misplaced '='). */
ssize_t sasl_b64decode(char *out, char const *s, size_t n) ;

/* Encode s[0..n) into out (room for (n + 2) / 3 * 4 bytes); returns the
   encoded length (not NUL-terminated). */
size_t sasl_b64encode(char *out, char const *s, size_t n) ;

typedef struct sasl_cred_s sasl_cred ;
struct sasl_cred_s {
  char const *user ;  size_t userlen ;    /* authentication identity */
  char const *pass ;  size_t passlen ;
} ;

enum {
  SASL_OK = 0,
  SASL_MALFORMED,   /* not authzid NUL authcid NUL passwd (e.g. a NUL in
                       the password), or an empty authcid */
  SASL_TOOLONG,     /* authcid or passwd over the bounds above */
  SASL_AUTHZID      /* an authorization identity that is not the user's
                       own: acting as someone else is not supported */
} ;

/* PLAIN's message s[0..n) (decoded): points c into s. An empty authzid,
   or one equal to authcid (ASCII case ignored), is the user's own. */
int sasl_plain(char const *s, size_t n, sasl_cred *c) ;

/* A login name as LOGIN sends it (decoded): 1 if usable (1 to
   SASL_USERMAX bytes, no NUL), else 0. Also for passwords with
   SASL_PASSMAX (and empty allowed). */
int sasl_userok(char const *s, size_t n) ;
int sasl_passok(char const *s, size_t n) ;
#endif
