/* A process about to wait a long time with nothing to do (an IMAP IDLE,
   a login's waiter) gives back the memory that only its work needed:
   the free heap (malloc_trim) and the stack pages below the current
   frame, which deep calls touched earlier and which would stay resident
   for the whole wait (tens of KB per process, a lot across thousands of
   idle sessions). Those pages read as zeros when touched again, which is
   what fresh stack is; only pages of the mapping that holds the current
   frame (/proc/self/maps) are dropped. */
#ifndef PM_IDLEMEM_H
#define PM_IDLEMEM_H
#include <stddef.h>

#define IDLEMEM_STACK (1u << 20)   /* how far below the frame, at most */

void idlemem_release (void) ;
/* The whole pages inside p[0..n) go back to the system: a buffer whose
   contents are no longer needed (they read as zeros, or the file's
   bytes for initialised data, after). */
void idlemem_drop (void *p, size_t n) ;
#endif
