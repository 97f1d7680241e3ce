/* DKIM verification (RFC 6376 §6) of every DKIM-Signature of a message
   held in memory, with the key records fetched through a resolver
   function (udns in production: dkim/dns.h; a table in unit tests). */
#ifndef PM_DKIM_VERIFY_H
#define PM_DKIM_VERIFY_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "dkim/sig.h"

#define DKIM_MAXSIGS 8            /* signatures verified; the rest ignored */

/* RFC 8601 §2.7.1 results. */
enum { DKIM_NONE, DKIM_PASS, DKIM_FAIL, DKIM_POLICY, DKIM_NEUTRAL, DKIM_TEMPERROR, DKIM_PERMERROR };

typedef struct dkim_result_s dkim_result;
struct dkim_result_s {
  int result;
  char domain[DKIM_MAXDOMAIN + 1];     /* "" when the signature had none */
  char selector[DKIM_MAXSELECTOR + 1];
  char why[128];                       /* "" on pass */
};

/* The TXT records at name, each followed by a NUL, appended to out.
   1 found; 0 there is none (NXDOMAIN, no TXT); -1 temporary failure. */
typedef int dkim_txt_fn(void *ctx, char const *name, stralloc *out);

/* Verify the signatures of msg[0..len) (the first DKIM_MAXSIGS), now
   (seconds since the epoch) to check x=. Results into r[], in the order
   of the fields; returns their count (0: the message has none, or its
   header is malformed: r[0] then says why with DKIM_PERMERROR, count 1). */
unsigned dkim_verify(dkim_result *r, char const *msg, size_t len, uint64_t now,
                     dkim_txt_fn *txt, void *ctx);

char const *dkim_result_name(int result);
/* Append "dkim=RESULT [(reason)] header.d=D header.s=S" (RFC 8601
   form; a reason made of printable ASCII only). 1, or 0 on ENOMEM. */
int dkim_result_fmt(stralloc *sa, dkim_result const *r);
/* " (why)" for an Authentication-Results comment, its bytes outside
   printable ASCII and "()\\" shown as '?'; nothing if why is "". */
int authres_comment_fmt(stralloc *sa, char const *why);
#endif
