/* Message authentication for a receiving MTA: SPF (RFC 7208) of the
   MAIL FROM identity (HELO's when the sender is null), DKIM of every
   signature, DMARC (RFC 7489) alignment and policy of the From domain,
   and their one Authentication-Results field (RFC 8601). auth-verify(8)
   is its program. Nothing here prints or exits. */
#ifndef PM_AUTHRES_H
#define PM_AUTHRES_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include "hdr.h"
#include "spf/spf.h"
#include "dkim/verify.h"
#include "dmarc/dmarc.h"

#define AUTHRES_MAXID 253     /* an authserv-id (etc/me) */
#define AUTHRES_MAXKEYTXT 8192 /* bytes of the TXT records of a key name */

/* The DMARC result (RFC 8601 2.7.4). */
enum { AUTHRES_DMARC_NONE, AUTHRES_DMARC_PASS, AUTHRES_DMARC_FAIL,
       AUTHRES_DMARC_TEMPERROR, AUTHRES_DMARC_PERMERROR };
/* What the receiver does with the message. */
enum { AUTHRES_ACCEPT, AUTHRES_QUARANTINE, AUTHRES_REJECT, AUTHRES_DEFER };

typedef struct authres_in_s authres_in;
struct authres_in_s {
  spf_resolver const *dns;   /* for all three, within deadline */
  dmarc_psl const *psl;
  int haveip;                /* 0: no client address known: spf=none */
  ip46full ip;
  char const *mailfrom;      /* the envelope sender, "" when null */
  char const *helo;          /* "" or NULL when unknown */
  char const *me;            /* %{r}, and the authserv-id */
  char const *msg;           /* the whole message */
  size_t len;
  uint64_t now;              /* seconds since the epoch, for DKIM x= */
  unsigned roll;             /* 0..99, drawn by the caller: pct sampling */
  tain deadline;
};

typedef struct authres_s authres;
struct authres_s {
  int spf;                   /* enum spf_result */
  int spfhelo;               /* 1: the HELO identity was checked */
  char spfdomain[SPF_MAXDOMAIN + 1];  /* for alignment */
  char spfid[520];           /* smtp.mailfrom= (the sender) or smtp.helo= */
  unsigned ndkim;            /* 0: no signature (dkim=none) */
  dkim_result dkim[DKIM_MAXSIGS];
  int dmarc;                 /* AUTHRES_DMARC_* */
  char from[DKIM_MAXDOMAIN + 1];  /* the From domain, "" if none usable */
  int policy;                /* enum dmarc_policy after pct; -1: none applies */
  int sampled;               /* 1: pct lowered the policy */
  int action;                /* AUTHRES_* */
  char why[128];             /* the DMARC comment, e.g. "p=reject" */
};

/* Check in into r. The verdict (r->action): DMARC fail under the
   applied policy (p=, or sp= for a subdomain's record found at the
   organizational domain; pct: when roll >= pct the next lower policy,
   6.6.4) gives QUARANTINE or REJECT; a DMARC temperror (DNS failure of
   SPF, DKIM or the policy, nothing aligned passing) gives DEFER only
   where the policy is reject, else ACCEPT. */
void authres_check(authres *r, authres_in const *in);

/* Append the field "Authentication-Results: ID; spf=...; dkim=...;
   dmarc=..." folded with eol, eol-terminated. 1, or 0 on ENOMEM. */
int authres_fmt(stralloc *sa, authres const *r, char const *id, char const *eol);

/* 1 if f is an Authentication-Results field whose authserv-id is id
   (ASCII case-insensitive): one that claims to be ours (RFC 8601 5). */
int authres_claims(hdr_field const *f, char const *id);

/* A dkim_txt_fn on an spf_resolver (ctx: an authres_in), within its
   deadline: all lookups share one time bound. */
int authres_dkim_txt(void *ctx, char const *name, stralloc *out);

char const *authres_dmarc_name(int result);
#endif
