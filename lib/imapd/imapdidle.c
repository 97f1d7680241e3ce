/* imap-mailbox: IDLE (RFC 2177). inotify on the selected folder's new/
   and cur/ wakes us when mail comes, goes or changes flags (a rename in
   cur/); the updates are pushed at once. DONE ends it, and so does
   IMAPD_IDLE_MAX (clients re-IDLE; RFC 2177 asks them to every 29
   minutes), with the session's own timeout as the bound. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/tai.h>
#include <skalibs/strerr.h>
#include "imap/imapwrite.h"
#include "imapd/imapd.h"

#define IDLE_LINEMAX 64

static int watch (imapd *d)
{
  int fd ;
  if (!d->selected) return -1 ;
  fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC) ;
  if (fd < 0) { strerr_warnwu1sys("inotify_init") ; return -1 ; }
  for (int k = 0 ; k < 2 ; k++)
  {
    d->sa.len = 0 ;
    if (!stralloc_catb(&d->sa, d->box.dir.s, d->box.dir.len) || !stralloc_cats(&d->sa, k ? "/cur" : "/new") || !stralloc_0(&d->sa))
      imapd_nomem(d) ;
    if (inotify_add_watch(fd, d->sa.s, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB) < 0)
      strerr_warnwu2sys("watch ", d->sa.s) ;
  }
  return fd ;
}

static void drain (int fd)
{
  char buf[4096] ;
  while (fd_read(fd, buf, sizeof buf) > 0) ;
}

/* The client's line: DONE or not. */
static int done (imapd *d)
{
  char *line ;
  size_t len ;
  int r = lineio_getline(&d->io, IDLE_LINEMAX, &line, &len) ;
  if (r < 0) imapd_leave(d, errno == ETIMEDOUT ? "timeout" : "read error") ;
  if (r == LINEIO_EOF) imapd_leave(d, "disconnect") ;
  return r == LINEIO_LINE && len == 4 && !strncasecmp(line, "DONE", 4) ;
}

void imapd_idle (imapd *d)
{
  tain deadline ;
  int fd ;
  if (imapcmd_nargs(&d->c)) { imapd_bad(d, "IDLE takes no arguments") ; return ; }
  fd = watch(d) ;
  imapd_puts(d, "+ idling\r\n") ;
  imapd_update(d, 1) ;
  imapd_ok(d, lineio_flush(&d->io)) ;
  tain_now_g() ;
  tain_addsec_g(&deadline, IMAPD_IDLE_MAX) ;
  for (;;)
  {
    iopause_fd x[2] = { { .fd = d->io.fd.infd, .events = IOPAUSE_READ }, { .fd = fd, .events = IOPAUSE_READ } } ;
    int r ;
    if (lineio_avail(&d->io) || imapd_compress_pending(d)) break ;
    r = iopause_g(x, fd >= 0 ? 2 : 1, &deadline) ;
    if (r < 0) { if (errno == EINTR) continue ; imapd_leave(d, "iopause error") ; }
    if (!r)
    {
      if (fd >= 0) fd_close(fd) ;
      imapw_status(&d->io, 0, "BYE", 0, "idle for too long") ;
      imapd_leave(d, "idle timeout") ;
    }
    if (x[0].revents) break ;
    if (fd >= 0 && x[1].revents)
    {
      drain(fd) ;
      imapd_update(d, 1) ;
      imapd_ok(d, lineio_flush(&d->io)) ;
    }
  }
  if (fd >= 0) fd_close(fd) ;
  if (!done(d)) { imapd_bad(d, "DONE expected") ; return ; }
  imapd_tagged(d, "OK", 0, "IDLE terminated") ;
}
