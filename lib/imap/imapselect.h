/* The parameters of SELECT and EXAMINE (RFC 7162 3.1.8 CONDSTORE, 3.2.5
   QRESYNC): "(CONDSTORE)", "(QRESYNC (uidvalidity modseq [known-uids
   [(seq-set uid-set)]]))". Parse only. */
#ifndef PM_IMAPSELECT_H
#define PM_IMAPSELECT_H
#include <stdint.h>
#include "imapcmd.h"
#include "imapseq.h"

typedef struct imapselect_s imapselect ;
struct imapselect_s {
  int condstore, qresync ;
  uint32_t uidvalidity ;
  uint64_t modseq ;
  int known, match ;           /* which sets were given */
  imapseq knownuids ;          /* the client's known UIDs */
  imapseq matchseq, matchuid ; /* sequence match data: pairs in order */
} ;
#define IMAPSELECT_ZERO { 0, 0, 0, 0, 0, 0, IMAPSEQ_ZERO, IMAPSEQ_ZERO, IMAPSEQ_ZERO }

/* The parameter list at node i (0: none given). 1 ok; 0 with *err; -1 out
   of memory. The caller refuses QRESYNC unless the client ENABLEd it. */
int imapselect_parse(imapcmd const *c, uint32_t i, imapselect *s, char const **err) ;
void imapselect_free(imapselect *s) ;
#endif
