/* imap-mailbox: IDLE (RFC 2177). inotify on the selected folder's new/
   and cur/ wakes us when mail comes, goes or changes flags (a rename in
   cur/); the updates are pushed at once. DONE ends it, and so does
   IMAPD_IDLE_MAX (clients re-IDLE; RFC 2177 asks them to every 29
   minutes), with the session's own timeout as the bound.
   An idle session is what a machine holds thousands of: while it waits,
   nothing polls, and the memory that only a command needs (scratch,
   the command's parse, freed heap, stack and the I/O buffers' pages)
   goes back to the system (lib/idlemem). Where inotify is refused (fs.inotify.max_user_instances,
   128 per user by default, or max_user_watches), the folder is checked
   every IMAPD_IDLE_POLL seconds ($IMAP_IDLE_POLL) instead, and the log
   says which sysctl to raise (imap-mailbox(8)). */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/tai.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "idlemem.h"
#include "root.h"
#include "imap/imapwrite.h"
#include "imapd/imapd.h"

#define IDLE_LINEMAX 64

/* $IMAP_IDLE_POLL, or IMAPD_IDLE_POLL: seconds between checks without inotify */
static unsigned long pollsecs (void)
{
  unsigned long n = pm_env_ulong("IMAP_IDLE_POLL", IMAPD_IDLE_POLL) ;
  return n && n <= IMAPD_IDLE_MAX ? n : IMAPD_IDLE_POLL ;
}

static void refused (char const *what)
{
  char fmt[ULONG_FMT] ;
  fmt[ulong_fmt(fmt, pollsecs())] = 0 ;
  strerr_warnw("unable to ", what, ": ", strerror(errno), ": IDLE checks the folder every ", fmt,
    " seconds (raise the sysctls fs.inotify.max_user_instances and max_user_watches)") ;
}

/* An inotify descriptor on new/ and cur/, or -1: poll. */
static int watch (imapd *d)
{
  int fd ;
  if (!d->selected) return -1 ;
  fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC) ;
  if (fd < 0) { refused("start inotify") ; return -1 ; }
  for (int k = 0 ; k < 2 ; k++)
  {
    d->sa.len = 0 ;
    if (!stralloc_catb(&d->sa, d->box.dir.s, d->box.dir.len) || !stralloc_cats(&d->sa, k ? "/cur" : "/new") || !stralloc_0(&d->sa))
      imapd_nomem(d) ;
    if (inotify_add_watch(fd, d->sa.s, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB) < 0)
    {
      refused("watch the folder") ;
      fd_close(fd) ;
      return -1 ;
    }
  }
  return fd ;
}

static void drain (int fd)
{
  char buf[4096] ;
  while (fd_read(fd, buf, sizeof buf) > 0) ;
}

/* What only a command needs, given back before a long wait. */
static void shrink (imapd *d)
{
  stralloc_free(&d->sa) ;
  stralloc_free(&d->sb) ;
  stralloc_free(&d->set) ;
  imapread_free(&d->rd) ;
  imapcmd_free(&d->c) ;   /* its tag and name stay */
  lineio_release(&d->io) ;
  imapd_compress_release(d) ;
  idlemem_release() ;
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

static void wait_done (imapd *d, int fd)
{
  tain deadline, poll ;
  tain_now_g() ;
  tain_addsec_g(&deadline, IMAPD_IDLE_MAX) ;
  for (;;)
  {
    iopause_fd x[2] = { { .fd = d->io.fd.infd, .events = IOPAUSE_READ }, { .fd = fd, .events = IOPAUSE_READ } } ;
    int r ;
    if (lineio_avail(&d->io) || imapd_compress_pending(d)) return ;
    shrink(d) ;
    tain_addsec_g(&poll, pollsecs()) ;
    r = iopause_g(x, fd >= 0 ? 2 : 1, fd >= 0 || tain_less(&deadline, &poll) ? &deadline : &poll) ;
    if (r < 0) { if (errno == EINTR) continue ; imapd_leave(d, "iopause error") ; }
    if (!r && !tain_less(&STAMP, &deadline))
    {
      if (fd >= 0) fd_close(fd) ;
      imapw_status(&d->io, 0, "BYE", 0, "idle for too long") ;
      imapd_leave(d, "idle timeout") ;
    }
    if (x[0].revents) return ;
    if (fd >= 0 && x[1].revents) drain(fd) ;
    imapd_update(d, 1) ;   /* woken by inotify, or the time to poll */
    imapd_ok(d, lineio_flush(&d->io)) ;
  }
}

void imapd_idle (imapd *d)
{
  int fd ;
  if (imapcmd_nargs(&d->c)) { imapd_bad(d, "IDLE takes no arguments") ; return ; }
  fd = watch(d) ;
  imapd_puts(d, "+ idling\r\n") ;
  imapd_update(d, 1) ;
  imapd_ok(d, lineio_flush(&d->io)) ;
  wait_done(d, fd) ;
  if (fd >= 0) fd_close(fd) ;
  if (!done(d)) { imapd_bad(d, "DONE expected") ; return ; }
  imapd_tagged(d, "OK", 0, "IDLE terminated") ;
}
