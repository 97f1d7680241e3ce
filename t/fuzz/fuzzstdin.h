/* The fuzz targets that run a whole session (session, pop3, imaplogin,
   imapsession): the input on fd 0 through a pipe (at most a pipe's
   buffer, written at once), the output to devnull on fd 1. */
#ifndef PM_FUZZSTDIN_H
#define PM_FUZZSTDIN_H
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static void fuzz_stdin (uint8_t const *data, size_t size, int devnull)
{
  int p[2] ;
  if (pipe(p) < 0) abort() ;
  if (write(p[1], data, size) != (ssize_t)size) abort() ;
  close(p[1]) ;
  /* fd 0 is closed after each session, so the pipe may already be on it */
  if (p[0] != 0)
  {
    if (dup2(p[0], 0) < 0) abort() ;
    close(p[0]) ;
  }
  if (dup2(devnull, 1) < 0) abort() ;
}
#endif
