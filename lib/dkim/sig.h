/* The DKIM-Signature field (RFC 6376 §3.5) and what signing and verifying
   share: a message's header fields and the header hash (§3.7). */
#ifndef PM_DKIM_SIG_H
#define PM_DKIM_SIG_H
#include <stddef.h>
#include <stdint.h>
#include "hdr.h"
#include "dkim/tags.h"

#define DKIM_MAXFIELDS 1000       /* header fields of a message */
#define DKIM_MAXHEADER (1 << 20)  /* bytes of a message's header */
#define DKIM_MAXH 64              /* names in h= */
#define DKIM_MAXDOMAIN 253
#define DKIM_MAXSELECTOR 63
#define DKIM_SIGMAX 512           /* signature bytes: RSA-4096 */

typedef struct dkim_msg_s dkim_msg;
struct dkim_msg_s {
  hdr_field f[DKIM_MAXFIELDS];    /* the fields, top to bottom */
  unsigned n;
  char const *body;
  size_t bodylen;
};

/* Split msg[0..len) into fields and body. 1 ok; 0 with *why if the header
   has more than DKIM_MAXFIELDS fields or DKIM_MAXHEADER bytes. */
int dkim_msg_split(dkim_msg *m, char const *msg, size_t len, char const **why);

typedef struct dkim_name_s dkim_name;
struct dkim_name_s { char const *s; size_t len; };

typedef struct dkim_sig_s dkim_sig;
struct dkim_sig_s {
  dkim_tags tags;
  int hrelaxed, brelaxed;
  char domain[DKIM_MAXDOMAIN + 1];
  char selector[DKIM_MAXSELECTOR + 1];
  unsigned nh;
  dkim_name h[DKIM_MAXH];
  unsigned char bh[32];
  unsigned char b[DKIM_SIGMAX];
  size_t blen;
  uint64_t l;                     /* UINT64_MAX: no l= */
  uint64_t t, x;                  /* 0: absent */
  size_t bcut[2];                 /* the b= value in the field's value */
};

/* Parse a DKIM-Signature value (the raw field value, folding included).
   1 ok (v=1, a=rsa-sha256, all required tags well-formed); 0 with *why. */
int dkim_sig_parse(dkim_sig *sg, char const *v, size_t len, char const **why);

/* The header hash: the fields named in h[0..nh) (each name takes the
   last field of that name not taken yet; none: nothing), then field sf
   with its value's bytes [cut[0], cut[1]) left out and no final CRLF.
   1, or 0 on ENOMEM. */
int dkim_header_hash(unsigned char out[32], dkim_msg const *m, int relaxed,
                     dkim_name const *h, unsigned nh, hdr_field const *sf, size_t const cut[2]);

/* The domain of the one From field's address, lower-cased, into out
   (DKIM_MAXDOMAIN + 1 bytes): "a@b.example", "Name <a@b.example>".
   1 ok; 0 if there is no From field, or several, or no valid domain. */
int dkim_from_domain(char *out, dkim_msg const *m);

/* A domain name or selector as DKIM allows (letters, digits, '-', '_'
   in labels of 1..63, no final dot), at most max bytes. */
int dkim_name_ok(char const *s, size_t len, size_t max);
#endif
