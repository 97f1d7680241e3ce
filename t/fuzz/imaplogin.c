/* libFuzzer target: whole imap-serve sessions (the part before login),
   many in one process. Each input is what a client sends (then end of
   file); the replies go to /dev/null. The first byte chooses: bit 0, the
   checkpassword program is `true` (a login that stands for a whole
   session) rather than `false` (every login fails); bit 1, logins are
   allowed without TLS (IMAP_PLAINTEXT). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fuzzstdin.h"
#include "imaplogin.h"

static int devnull = -1 ;

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
  char const *root = getenv("PIPEMAIL_ROOT") ;
  char path[4096] ;
  (void)argc ; (void)argv ;
  snprintf(path, sizeof path, "%s/authfail-imaplogin", root ? root : "/tmp") ;
  devnull = open("/dev/null", O_RDWR | O_CLOEXEC) ;
  setenv("PROTO", "TCP", 1) ;
  setenv("TCPREMOTEIP", "192.0.2.8", 1) ;
  setenv("AUTH_FAIL_DELAY", "0", 1) ;
  setenv("AUTH_MAXFAIL", "1000000000", 1) ;
  setenv("AUTHFAIL_FILE", path, 1) ;
  return 0 ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  uint8_t mode ;
  if (!size || size > 60000) return 0 ;    /* a pipe's buffer, written at once */
  mode = data[0] ;
  data++ ; size-- ;
  if (mode & 2) setenv("IMAP_PLAINTEXT", "1", 1) ;
  else unsetenv("IMAP_PLAINTEXT") ;
  fuzz_stdin(data, size, devnull) ;
  imaplogin_main(2, (char const *const[]){ "imap-serve", mode & 1 ? "true" : "false", 0 }) ;
  close(0) ;
  return 0 ;
}
