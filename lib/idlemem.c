#include <malloc.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/mman.h>
#include "idlemem.h"

/* Well below this frame: the frames of madvise() and its caller must not
   be dropped under them. Below the stack's lowest page lies its guard gap
   (unmapped; madvise skips it with ENOMEM), never another mapping. */
#define MARGIN 16384u

void idlemem_release (void)
{
  char here ;
  uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE) ;
  uintptr_t top = ((uintptr_t)&here - MARGIN) & ~(pg - 1) ;
  malloc_trim(0) ;
  if (top > IDLEMEM_STACK) madvise((void *)(top - IDLEMEM_STACK), IDLEMEM_STACK, MADV_DONTNEED) ;
}
