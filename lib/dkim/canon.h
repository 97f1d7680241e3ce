/* DKIM canonicalization (RFC 6376 §3.4), "simple" and "relaxed", of a
   message held in memory whose lines end in LF or CRLF: both count as the
   CRLF of the canonical form. */
#ifndef PM_DKIM_CANON_H
#define PM_DKIM_CANON_H
#include <stddef.h>
#include <stdint.h>
#include <bearssl.h>
#include <skalibs/stralloc.h>
#include "hdr.h"

enum { DKIM_SIMPLE = 0, DKIM_RELAXED = 1 };

/* Append the canonical form of field f to sa, CRLF included; with cut,
   the bytes of the field's value [cutfrom, cutto) (offsets into
   f->value) are left out first (the b= value of a DKIM-Signature).
   1, or 0 on ENOMEM. */
int dkim_canon_header(stralloc *sa, int relaxed, hdr_field const *f, size_t cutfrom, size_t cutto);

/* Hash the canonical form of body[0..len) with SHA-256 into h, at most
   limit bytes of it (UINT64_MAX: all). *total: the length of the whole
   canonical body. */
void dkim_canon_body(br_sha256_context *h, int relaxed, char const *body, size_t len,
                     uint64_t limit, uint64_t *total);
#endif
