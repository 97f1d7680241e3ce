/* DKIM signing (RFC 6376 §5): rsa-sha256, relaxed/relaxed, the fields of
   DKIM_SIGN_HEADERS that the message has, each as many times as it has
   it, From once more (oversigned: a From added later breaks the
   signature). ed25519-sha256 is not offered: BearSSL has no Ed25519. */
#ifndef PM_DKIM_SIGN_H
#define PM_DKIM_SIGN_H
#include <stddef.h>
#include <stdint.h>
#include <bearssl.h>
#include <skalibs/stralloc.h>

#define DKIM_SIGN_HEADERS "From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", \
  "In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"

typedef struct dkim_signer_s dkim_signer;
struct dkim_signer_s {
  char const *domain;             /* d= */
  char const *selector;           /* s= */
  br_rsa_private_key const *sk;
  uint64_t t;                     /* t= (signing time); 0: left out */
};

/* Append the DKIM-Signature field for msg[0..len) to out, folded, its
   lines ending in CRLF if the message's first line does, else LF, the
   last one included. 1 ok; 0 with *why (a header too large, a bad domain
   or selector, out of memory, the RSA operation failed). */
int dkim_sign(stralloc *out, dkim_signer const *s, char const *msg, size_t len, char const **why);
#endif
