/* The plumbing of a qmail-queue filter (DESIGN.md): the message comes on
   fd 0, then the envelope on fd 1; the filter refuses the message with an
   exit code, or hands it, with new header fields before it, to the next
   stage, which it execs with the message on fd 0 and the envelope on fd 1.
   Errors end the program with qmail-queue's codes: 51 out of memory,
   53 temporary file (disk), 54 reading the message or envelope, 81
   internal (descriptors, exec), 91 bad envelope. */
#ifndef PM_QFILTER_H
#define PM_QFILTER_H
#include <stdint.h>
#include <skalibs/gccattributes.h>
#include <skalibs/stralloc.h>
#include "hdr.h"

#define QFILTER_MAXENV (16UL << 20)   /* envelope bytes */

/* The next stage from the command line "PROG [prog...]": argv + 1, or
   queue-inject (looked up in $PATH) when none is named. An option
   (argv[1] starting with '-') ends the program with usage, exit 100. */
char const *const *qfilter_next(int argc, char const *const *argv, char const *usage) ;

/* The message from fd 0 into an unlinked file in $TMPDIR (default /tmp),
   whose descriptor is returned, its length in *len. */
int qfilter_spool(uint64_t *len) ;

/* The envelope from fd 1 into env: F sender, then T recipients, each
   NUL-terminated, then an empty one, checked; at most QFILTER_MAXENV. */
void qfilter_envelope(stralloc *env) ;

/* The line end the message's first line has: "\r\n" or "\n". */
char const *qfilter_eol(int msgfd) ;

/* Exec argv (argv[0] looked up in $PATH) with hdr[0..hdrlen) then the
   message on fd 0 and the envelope on fd 1. The message's header fields
   named in drop (0-terminated list, or 0) are left out, when its header
   is within QFILTER_MAXHEAD bytes and QFILTER_MAXFIELDS lines (else it is
   passed whole). Never returns. */
#define QFILTER_MAXHEAD (256 * 1024)
#define QFILTER_MAXFIELDS 10000
void qfilter_pass(int msgfd, char const *hdr, size_t hdrlen, char const *const *drop,
                  stralloc const *env, char const *const *argv) gccattr_noreturn ;
/* The same, also leaving out the fields for which dropfn(f, ctx) is 1
   (auth-verify: the Authentication-Results fields that claim this host). */
typedef int qfilter_dropfn(hdr_field const *f, void *ctx) ;
void qfilter_pass_if(int msgfd, char const *hdr, size_t hdrlen, char const *const *drop,
                     qfilter_dropfn *dropfn, void *ctx,
                     stralloc const *env, char const *const *argv) gccattr_noreturn ;

/* Refuse: code (qmail-queue's: 11..40 permanent, 41..99 temporary) and,
   for the SMTP client, text ("5.7.1 words" or "4.7.1 words") on fd 4 as
   qmail's custom error patch has it (injector.h), when fd 4 is a pipe.
   Never returns. */
void qfilter_refuse(int code, char const *text) gccattr_noreturn ;
#endif
