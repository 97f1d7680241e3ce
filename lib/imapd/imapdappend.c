/* imap-mailbox: APPEND. The message literal is streamed by imapread into
   an unlinked file in the Maildir's tmp/ as it comes (never held in
   memory), then handed to imapstore_append. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include "imap/imapwrite.h"
#include "imap/imapflag.h"
#include "imap/imapdate.h"
#include "imap/imapmbox.h"
#include "imapd/imapd.h"

int imapd_msgstart (void *ctx, uint32_t idx, uint64_t size, char const **err)
{
  imapd *d = ctx ;
  if (idx) { *err = "[CANNOT] one message per APPEND" ; return 0 ; }
  if (size > IMAPD_APPENDMAX) { *err = "[TOOBIG] message too large" ; return 0 ; }
  if (d->appfd >= 0) { fd_close(d->appfd) ; d->appfd = -1 ; }
  d->sa.len = 0 ;
  if (!stralloc_cats(&d->sa, d->root) || !stralloc_cats(&d->sa, "/tmp/imap-append.XXXXXX") || !stralloc_0(&d->sa))
  {
    *err = "[SERVERBUG] out of memory" ;
    return 0 ;
  }
  d->appfd = mkstemp(d->sa.s) ;
  if (d->appfd < 0) { strerr_warnwu2sys("create ", d->sa.s) ; *err = "[SERVERBUG] cannot store the message" ; return 0 ; }
  unlink(d->sa.s) ;
  d->appsize = size ;
  return 1 ;
}

int imapd_msgdata (void *ctx, char const *s, size_t n, char const **err)
{
  imapd *d = ctx ;
  if (allwrite(d->appfd, s, n) < n)
  {
    *err = errno == EDQUOT || errno == ENOSPC ? "[OVERQUOTA] no room for the message" : "[SERVERBUG] cannot store the message" ;
    return 0 ;
  }
  return 1 ;
}

/* The optional flag list and date before the message, from argument 1. */
static int options (imapd *d, imapflags *fl, int64_t *date, uint32_t *msgnode)
{
  unsigned n = imapcmd_nargs(&d->c), k = 1 ;
  char const *err ;
  int zone ;
  fl->sys = fl->nkw = 0 ;
  *date = 0 ;
  if (k < n - 1 && d->c.node[imapcmd_arg(&d->c, k)].type == IMAPN_LIST)
  {
    if (!imapflag_parse(&d->c, imapcmd_arg(&d->c, k), 0, fl, &err)) { imapd_bad(d, err) ; return 0 ; }
    k++ ;
  }
  if (k < n - 1)
  {
    imapnode const *a = &d->c.node[imapcmd_arg(&d->c, k)] ;
    if (a->type != IMAPN_QUOTED || !imapdate_datetime(a->s, a->len, date, &zone)) { imapd_bad(d, "invalid date-time") ; return 0 ; }
    k++ ;
  }
  if (k != n - 1 || d->c.node[imapcmd_arg(&d->c, k)].type != IMAPN_STREAM) { imapd_bad(d, "APPEND mailbox [(flags)] [date-time] literal") ; return 0 ; }
  *msgnode = imapcmd_arg(&d->c, k) ;
  return 1 ;
}

void imapd_append (imapd *d)
{
  imapflags fl ;
  int64_t date ;
  uint32_t node, uidv, uid ;
  char const *err ;
  int r ;
  if (imapcmd_nargs(&d->c) < 2) { imapd_bad(d, "APPEND mailbox [(flags)] [date-time] literal") ; return ; }
  if (!options(d, &fl, &date, &node)) return ;
  if (d->appfd < 0) { imapd_tagged(d, "NO", "SERVERBUG", "message not stored") ; return ; }
  r = imapmbox_name(&d->c, imapcmd_arg(&d->c, 0), d->rev2, &d->sb, &err) ;
  if (r < 0) imapd_nomem(d) ;
  if (!r) { imapd_bad(d, err) ; return ; }
  d->sa.len = 0 ;
  if (imapmbox_mutf7_encode(&d->sa, d->sb.s, strlen(d->sb.s)) < 0 || !stralloc_0(&d->sa)) imapd_nomem(d) ;
  if (lseek(d->appfd, 0, SEEK_SET) < 0) { imapd_no_errno(d, "read the message") ; return ; }
  if (!imapstore_append(d->root, d->sa.s, d->appfd, IMAPD_APPENDMAX, imapd_tostore(fl.sys),
                        fl.kw, fl.nkw, (time_t)date, &uidv, &uid))
  {
    if (errno == ENOENT) imapd_tagged(d, "NO", "TRYCREATE", "no such folder") ;
    else imapd_no_errno(d, "append") ;
    return ;
  }
  d->nappend++ ;
  d->sa.len = 0 ;
  if (!imapw_code_appenduid(&d->sa, uidv, &uid, 1) || !stralloc_0(&d->sa)) imapd_nomem(d) ;
  stralloc_copy(&d->sb, &d->sa) ;
  imapd_tagged(d, "OK", d->sb.s, "APPEND completed") ;
}
