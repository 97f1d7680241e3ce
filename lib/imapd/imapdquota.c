/* imap-mailbox: QUOTA (RFC 9208) from the Maildir++ quota that delivery
   enforces (maildirsize): one quota root "" for every folder, with
   STORAGE (in units of 1024 octets) and MESSAGE where set. */
#include <string.h>
#include "maildir.h"
#include "imap/imapwrite.h"
#include "imapd/imapd.h"

/* "* QUOTA "" (...)" if there is a limit; 0 if none. */
static int quotaline (imapd *d)
{
  maildir_quota q = MAILDIR_QUOTA_ZERO ;
  int sp = 0 ;
  if (!maildir_quota_read(d->root, &q) || !q.present || (!q.maxbytes && !q.maxcount)) return 0 ;
  imapd_puts(d, "* QUOTA \"\" (") ;
  if (q.maxbytes)
  {
    imapd_puts(d, "STORAGE ") ;
    imapd_putu(d, q.bytes > 0 ? ((uint64_t)q.bytes + 1023) / 1024 : 0) ;
    imapd_puts(d, " ") ;
    imapd_putu(d, q.maxbytes / 1024) ;
    sp = 1 ;
  }
  if (q.maxcount)
  {
    imapd_puts(d, sp ? " MESSAGE " : "MESSAGE ") ;
    imapd_putu(d, q.count > 0 ? (uint64_t)q.count : 0) ;
    imapd_puts(d, " ") ;
    imapd_putu(d, q.maxcount) ;
  }
  imapd_puts(d, ")\r\n") ;
  return 1 ;
}

void imapd_getquotaroot (imapd *d)
{
  maildir_quota q = MAILDIR_QUOTA_ZERO ;
  if (imapcmd_nargs(&d->c) != 1) { imapd_bad(d, "GETQUOTAROOT takes a folder name") ; return ; }
  if (!imapd_boxname(d, 0, &d->sa)) return ;
  imapd_puts(d, "* QUOTAROOT ") ;
  imapd_putbox(d, d->sa.s) ;
  if (maildir_quota_read(d->root, &q) && q.present && (q.maxbytes || q.maxcount)) imapd_puts(d, " \"\"") ;
  imapd_puts(d, "\r\n") ;
  quotaline(d) ;
  imapd_tagged(d, "OK", 0, "GETQUOTAROOT completed") ;
}

void imapd_getquota (imapd *d)
{
  char const *s ;
  size_t len ;
  if (imapcmd_nargs(&d->c) != 1 || !imapcmd_astring(&d->c, imapcmd_arg(&d->c, 0), &s, &len)) { imapd_bad(d, "GETQUOTA takes a quota root") ; return ; }
  if (len || !quotaline(d)) { imapd_tagged(d, "NO", "NONEXISTENT", "no such quota root") ; return ; }
  imapd_tagged(d, "OK", 0, "GETQUOTA completed") ;
}

/* The limits are the administrator's (user-add -q), not the user's. */
void imapd_setquota (imapd *d)
{
  imapd_tagged(d, "NO", "NOPERM", "quotas are set by the administrator") ;
}
