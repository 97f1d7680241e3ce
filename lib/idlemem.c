#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
#include "idlemem.h"

/* Well below this frame: the frames of madvise() and its caller must not
   be dropped under them. */
#define MARGIN 4096u   /* their frames take a few hundred bytes; no signal handler runs */

/* The start of the mapping that holds p (the stack), or 0: never a page
   of another mapping is dropped, whatever the stack's guard gap is. */
static uintptr_t mapping_start (uintptr_t p)
{
  char line[512] ;
  uintptr_t lo = 0 ;
  FILE *f = fopen("/proc/self/maps", "re") ;
  if (!f) return 0 ;
  while (fgets(line, sizeof line, f))
  {
    unsigned long a, b ;
    if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a <= p && p < b) { lo = a ; break ; }
  }
  fclose(f) ;
  return lo ;
}

void idlemem_release (void)
{
  char here ;
  uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE) ;
  uintptr_t top = ((uintptr_t)&here - MARGIN) & ~(pg - 1) ;
  uintptr_t lo = mapping_start((uintptr_t)&here) ;
  malloc_trim(0) ;   /* after stdio's buffer is freed */
  if (!lo || top <= lo) return ;
  if (top - lo > IDLEMEM_STACK) lo = top - IDLEMEM_STACK ;
  madvise((void *)lo, top - lo, MADV_DONTNEED) ;
}

void idlemem_drop (void *p, size_t n)
{
  uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE) ;
  uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1), b = ((uintptr_t)p + n) & ~(pg - 1) ;
  if (b > a) madvise((void *)a, b - a, MADV_DONTNEED) ;
}
