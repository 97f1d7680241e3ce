/* Base64 (RFC 4648) as DKIM uses it: the b=, bh= and p= values, where
   folding whitespace may appear anywhere and is ignored. Neither skalibs
   nor BearSSL exports a base64 codec. */
#ifndef PM_DKIM_B64_H
#define PM_DKIM_B64_H
#include <stddef.h>
#include <sys/types.h>

#define DKIM_B64_LEN(n) (((n) + 2) / 3 * 4)

/* Decode s[0..len), whitespace skipped, into out (at most max bytes).
   The bytes written, or -1 on anything else: a byte outside the alphabet,
   misplaced or missing padding, more than max bytes. */
ssize_t dkim_b64_decode(unsigned char *out, size_t max, char const *s, size_t len);
/* Encode in[0..n) into out (DKIM_B64_LEN(n) bytes, not terminated). */
size_t dkim_b64_encode(char *out, unsigned char const *in, size_t n);
#endif
