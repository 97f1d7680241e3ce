/* Writing IMAP responses through lib/lineio (RFC 3501 section 7, 9):
   strings as quoted strings or literals as their bytes require, NIL,
   atoms, flag lists, sequence sets, dates, status responses with their
   codes, ESEARCH (RFC 4731). Each returns 1, or 0 on a write error
   (errno), as lineio_put. Output is buffered: lineio_flush before waiting
   for the client. */
#ifndef PM_IMAPWRITE_H
#define PM_IMAPWRITE_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "lineio.h"
#include "imapflag.h"

#define IMAPWRITE_QUOTEDMAX 1024  /* longer strings go as literals */

int imapw_puts(lineio *l, char const *s) ;
int imapw_putu(lineio *l, uint64_t n) ;
/* A string: quoted when every byte is printable 7-bit other than " and \
   and it is short; else a literal {n} CRLF bytes (8-bit, CR, LF, NUL,
   quotes, backslashes). */
int imapw_string(lineio *l, char const *s, size_t len) ;
/* NIL when s is NULL, else a string. */
int imapw_nstring(lineio *l, char const *s, size_t len) ;
/* An atom when it can be one (ASTRING-CHARs, not "NIL", not empty), else
   a string. */
int imapw_astring(lineio *l, char const *s, size_t len) ;
/* A mailbox name given in UTF-8: modified UTF-7 (utf8 = 0) or as it is
   (UTF8=ACCEPT, IMAP4rev2), as an astring, 8-bit bytes then quoted (RFC
   9051's quoted strings take UTF-8). 0 also when s is not UTF-8 (errno
   EINVAL). */
int imapw_mailbox(lineio *l, char const *s, size_t len, int utf8) ;
/* "(\Seen \Answered kw1 kw2)" from bits and nkw keywords. */
int imapw_flags(lineio *l, unsigned sys, char const *const *kw, unsigned nkw) ;
/* A sequence set of the n values of v (sorted in place): "1:3,7". */
int imapw_seqset(lineio *l, uint32_t *v, size_t n) ;
/* A quoted date-time (INTERNALDATE). */
int imapw_date(lineio *l, int64_t t, int zone) ;
/* A status response line: "TAG STATUS [CODE] text" CRLF; tag NULL or ""
   gives "*"; code NULL or "" none. E.g. (l, "a1", "OK", "READ-WRITE",
   "SELECT completed"), (l, 0, "BYE", 0, "logging out"). */
int imapw_status(lineio *l, char const *tag, char const *status, char const *code, char const *text) ;
/* "* ESEARCH (TAG "tag") [UID] [MIN n] [MAX n] [COUNT n] [ALL set]" CRLF
   for the n sorted matches v, as ret (IMAPSR_ bits) asks; MIN, MAX and
   ALL are left out when nothing matched (RFC 4731 3.1). */
int imapw_esearch(lineio *l, char const *tag, int uid, unsigned ret, uint32_t *v, size_t n) ;
/* The same with RFC 7162's "MODSEQ n" at the end (not if modseq is 0). */
int imapw_esearch_modseq(lineio *l, char const *tag, int uid, unsigned ret, uint32_t *v, size_t n, uint64_t modseq) ;
/* Response codes of UIDPLUS (RFC 4315), appended to sa for imapw_status:
   "APPENDUID 38505 3955:3957" and "COPYUID 38505 304,319 3956:3957",
   whose src and dst pair up in order. 1 ok, 0 out of memory. */
int imapw_code_appenduid(stralloc *sa, uint32_t uidvalidity, uint32_t const *uids, size_t n) ;
int imapw_code_copyuid(stralloc *sa, uint32_t uidvalidity, uint32_t const *src, uint32_t const *dst, size_t n) ;
#endif
