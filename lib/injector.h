/* Client side of the qmail-queue protocol: run the injector (or a filter
   in front of it) with the message on its fd 0 and the envelope on its
   fd 1, stream the message as it comes, and turn its exit code into an
   SMTP reply. The injector is $QUEUE_INJECT, else $QMAILQUEUE. It runs in
   its own process group so that an abort kills a whole filter chain before
   any envelope exists; nothing is queued then. The caller must ignore
   SIGPIPE. When neither variable is set, the queue file is written
   in-process with lib/qinject, exactly as queue-inject would write it:
   that saves a fork, an exec and a copy through a pipe per message.

   A filter may give the SMTP side its own words for a refusal, as with
   qmail's custom error patch (simscan, qmail-qfilter's users): the
   injector's fd 4 is a pipe on which it writes "Dtext" (permanent) or
   "Ztext" (temporary) before it exits, with 82 ("see the text": the
   letter decides; 88 in indimail's version), or with a code of the same kind (11..40 with D,
   41..99 with Z). See injector_reply_text. */
#ifndef PM_INJECTOR_H
#define PM_INJECTOR_H
#include <stddef.h>
#include <sys/types.h>
#include <skalibs/tai.h>
#include "qinject.h"

typedef struct injector_s injector ;
struct injector_s {
  pid_t pid ;
  int msgfd ;       /* our end of the message pipe, -1 once closed */
  int envfd ;       /* our end of the envelope pipe, -1 once closed */
  int failed ;      /* a write failed: the message is incomplete */
  tain timeout ;    /* limit for each wait on a full pipe ... */
  unsigned int secs ; /* ... and for the exit after the envelope */
  int inproc ;        /* 1: writing the queue file ourselves, in qi */
  char const *vars ;  /* set for the child only: "NAME=value\0" (or "NAME\0":
                         unset) ..., as skalibs' mexec takes them; 0 none */
  size_t varslen ;
  int errfd ;         /* our end of the custom error pipe (fd 4 there) */
  char errtext[256] ; /* what came on it, cleaned up; "" if nothing */
  char reply[300] ;   /* injector_reply_text's answer */
  qinject qi ;
} ;
#define INJECTOR_ZERO { .pid = -1, .msgfd = -1, .envfd = -1, .inproc = 0, .qi = QINJECT_ZERO, .vars = 0, .varslen = 0, .errfd = -1 }

/* 1 ok, 0 error (errno). */
int injector_start(injector *q, unsigned int timeoutsecs) ;
/* For programs any local user runs (mail-inject, sendmail -bs): unless
   $QUEUE_INJECT or $QMAILQUEUE is set, set QUEUE_INJECT to
   ROOT/bin/queue-inject, the setgid copy instance-setup installs as root
   (queue-inject(8), Local users), if there is one: a queue file written
   in-process would belong to the caller and its group, unreadable by
   queue-run, or could not be written at all. 1 ok, 0 ENOMEM. */
int injector_local(void) ;
/* Append message bytes. Once a write failed (the injector died or is
   stuck), later writes do nothing. 1 ok, 0 failed. */
int injector_write(injector *q, char const *s, size_t n) ;
/* Kill (SIGKILL) and reap, without writing the envelope (or remove the
   in-process tmp file). Does nothing when no message is under way. */
void injector_abort(injector *q) ;
/* End the message, write the envelope env (the whole qmail-queue form,
   Fsender\0Trcpt\0...\0 with its final \0), wait for the exit.
   Returns the exit code 0..255, or -1 if it was killed or the message or
   envelope could not be written whole or it did not exit within the
   timeout (unless the exit code is a
   permanent refusal, 11..40, which is returned as is). */
int injector_finish(injector *q, char const *env, size_t envlen) ;
/* SMTP reply (code, enhanced code, text; no CRLF) for a finish result. */
char const *injector_reply(int result) ;
/* The same, in the filter's own words when it gave some on fd 4 that fit
   the result (above): "554 " or "451 " (or the text's own reply code of
   that class, "550 5.7.1 text"), then the text, after a default
   enhanced code (5.3.0, 4.3.0) unless it starts with one. Points into q. */
char const *injector_reply_text(injector *q, int result) ;
#endif
