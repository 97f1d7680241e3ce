/* Alias forwarding: the message an alias hands on to its targets.

   It is the queued message with "Delivered-To: ALIAS" on top, as qmail and
   Postfix's local(8) write when they forward: a message that comes back
   to the same alias through other hosts already names it there, and is
   refused as a loop the second time round instead of after 100 hops. */
#ifndef PM_QALIAS_H
#define PM_QALIAS_H

/* msgfd: the queued message, positioned at its first byte (it is read,
   not moved). Returns a descriptor holding the new message, positioned at
   0 (a file in ROOT/queue/tmp with no name, gone when closed), or -1:
   *loop = 1 if the header already has Delivered-To: alias (a permanent
   failure), else errno (a temporary one). */
int qalias_message(int msgfd, char const *alias, int *loop) ;
#endif
