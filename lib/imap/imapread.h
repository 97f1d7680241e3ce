/* Reading one whole IMAP command from the client through lib/lineio:
   its lines and literals, bounded, in the wire form that imapcmd_parse
   takes (imapcmd.h).

   Literals: "{n}" (synchronizing: the reader calls hooks.go, which sends
   the continuation "+ ..." and flushes, before it reads the bytes) and
   "{n+}" (non-synchronizing, RFC 7888: no continuation; bounded by
   nonsync, which is 4096 for LITERAL- and the literal's own bound for
   LITERAL+). A literal is refused before its bytes come when it is over its
   bound: a synchronizing one ends the command (the client waits for our
   answer); a non-synchronizing one is on its way and cannot be skipped
   cheaply, so the reader answers IMAPREAD_FATAL (send BAD, close).

   APPEND's message literals (every literal of an APPEND command but one
   that is the mailbox name, first argument) are never buffered: bounded
   by lim.message, each is handed to hooks.msgstart (its rank and size),
   then hooks.msgdata in chunks as it arrives, and stands in the command as
   "{n*}" (an IMAPN_STREAM node). A hook may refuse (over quota): the
   reader then drops what the client still sends of that command.

   Bounds (imapread_limits, 0 taking the default below): line, a command
   line's bytes (< LINEIO_INSIZE - 1); literal, one buffered literal;
   nliterals, literals in a command (streamed ones included); total, the
   whole command as buffered (lines and buffered literals); message, one
   streamed literal; nonsync, one non-synchronizing literal. NUL bytes are
   refused outside streamed literals (RFC 3501 CHAR8).

   A literal8 ("~{n}", "~{n+}", RFC 3516 / RFC 9051 4.3) is taken as APPEND's
   message (streamed as any message literal: it may hold NULs) and refused
   (BAD) anywhere else. */
#ifndef PM_IMAPREAD_H
#define PM_IMAPREAD_H
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "lineio.h"

#define IMAPREAD_LINE 8192
#define IMAPREAD_LITERAL 65536
#define IMAPREAD_NLITERALS 64
#define IMAPREAD_TOTAL 262144
#define IMAPREAD_MESSAGE (64u << 20)
#define IMAPREAD_NONSYNC 4096    /* LITERAL- (RFC 7888 section 4) */

typedef struct imapread_limits_s imapread_limits ;
struct imapread_limits_s { size_t line, literal, nliterals, total ; uint64_t message, nonsync ; } ;

typedef struct imapread_hooks_s imapread_hooks ;
struct imapread_hooks_s {
  void *ctx ;
  /* Send a continuation request and flush: 1 ok, 0 error. NULL: the
     reader sends "+ go ahead" itself. */
  int (*go)(void *ctx) ;
  /* A message literal starts: 1 take it, 0 refuse (*err: the tagged NO
     text, e.g. "[TOOBIG] message too large"). NULL: messages refused. */
  int (*msgstart)(void *ctx, uint32_t idx, uint64_t size, char const **err) ;
  /* Its bytes, in order, as they come: 1 ok, 0 refuse from now (*err). */
  int (*msgdata)(void *ctx, char const *s, size_t n, char const **err) ;
} ;

enum {
  IMAPREAD_EOF = 0,       /* the client closed (between or within commands) */
  IMAPREAD_OK = 1,        /* a command in r->cmd */
  IMAPREAD_BAD = 2,       /* r->err: send "tag BAD err" (tag: r->tag), go on */
  IMAPREAD_NO = 3,        /* a hook refused a message: "tag NO err", go on */
  IMAPREAD_FATAL = 4,     /* send "* BYE err" (or tagged BAD), then close */
  IMAPREAD_ERROR = -1     /* I/O error or timeout (errno) */
} ;

typedef struct imapread_s imapread ;
struct imapread_s {
  lineio *l ;
  imapread_limits lim ;
  imapread_hooks hooks ;
  stralloc cmd ;          /* the command read, in wire form */
  char const *err ;
  char tag[65] ;          /* the tag, as far as it could be read ("" none) */
} ;

/* lim and hooks are copied; lim may be NULL (defaults). */
void imapread_init(imapread *r, lineio *l, imapread_limits const *lim, imapread_hooks const *hooks) ;
/* Read the next command. See the IMAPREAD_ values. */
int imapread_command(imapread *r) ;
void imapread_free(imapread *r) ;
#endif
