/* libFuzzer target: whole POP3 sessions, both parts, many in one process.
   Each input is what a client sends (then end of file); the replies go to
   /dev/null. The first byte chooses: bit 0, the mailbox part
   (pop3-mailbox's code on demo's Maildir in $PIPEMAIL_ROOT, a tmpfs
   instance that `make fuzz` makes, with messages put back when a QUIT
   removed them; bit 1: the input's first line comes as $POP3_INPUT, as
   pipelined with the login) or the part before login (pop3-serve's code,
   its checkpassword program `false`, or `true` with bit 2, which then
   stands for a whole session). */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fuzzstdin.h"
#include "pop3login.h"
#include "pop3mbox.h"

static int devnull = -1 ;
static char md[4096] ;

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
  char const *root = getenv("PIPEMAIL_ROOT") ;
  char path[4096] ;
  (void)argc ; (void)argv ;
  if (!root) { fputs("pop3: PIPEMAIL_ROOT must name an instance\n", stderr) ; exit(100) ; }
  snprintf(md, sizeof md, "%s/mail/example.test/demo", root) ;
  snprintf(path, sizeof path, "%s/authfail-pop3", root) ;
  devnull = open("/dev/null", O_RDWR | O_CLOEXEC) ;
  setenv("PROTO", "TCP", 1) ;
  setenv("TCPREMOTEIP", "192.0.2.7", 1) ;
  setenv("POP3_PLAINTEXT", "1", 1) ;
  setenv("AUTH_FAIL_DELAY", "0", 1) ;
  setenv("AUTH_MAXFAIL", "1000000000", 1) ;
  setenv("AUTHFAIL_FILE", path, 1) ;
  return 0 ;
}

static unsigned count (char const *sub)
{
  char path[4200] ;
  unsigned n = 0 ;
  DIR *d ;
  struct dirent *e ;
  snprintf(path, sizeof path, "%s/%s", md, sub) ;
  d = opendir(path) ;
  if (!d) abort() ;
  while ((e = readdir(d))) if (e->d_name[0] != '.') n++ ;
  closedir(d) ;
  return n ;
}

/* three messages: dot lines and CRLF; no final newline; a wrong W= */
static void refill (void)
{
  static char const *const msgs[3][2] = {
    { "1000.a.fuzz,S=31,W=36", "Subject: a\n\n.dot\n..two\r\nend\n" },
    { "1001.b.fuzz", "Subject: b\n\nno newline" },
    { "1002.c.fuzz,S=12,W=99:2,S", "Subject: c\n\n" },
  } ;
  if (count("cur") + count("new") >= 3) return ;
  for (unsigned i = 0 ; i < 3 ; i++)
  {
    char path[4400] ;
    int fd ;
    snprintf(path, sizeof path, "%s/new/%s", md, msgs[i][0]) ;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600) ;
    if (fd < 0 || write(fd, msgs[i][1], strlen(msgs[i][1])) < 0) abort() ;
    close(fd) ;
  }
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  uint8_t mode ;
  if (!size || size > 60000) return 0 ;    /* a pipe's buffer, written at once */
  mode = data[0] ;
  data++ ; size-- ;
  unsetenv("POP3_INPUT") ;
  if (mode & 1 && mode & 2)
  {
    char line[1024] ;
    size_t n = 0 ;
    while (n < size && n < sizeof line - 1 && data[n] != '\n' && data[n]) n++ ;
    memcpy(line, data, n) ;
    line[n] = 0 ;
    setenv("POP3_INPUT", line, 1) ;
    data += n ; size -= n ;
  }
  fuzz_stdin(data, size, devnull) ;
  if (mode & 1)
  {
    refill() ;
    pop3mbox_main(2, (char const *const[]){ "pop3-mailbox", md, 0 }) ;
  }
  else pop3login_main(2, (char const *const[]){ "pop3-serve", mode & 4 ? "true" : "false", 0 }) ;
  close(0) ;
  return 0 ;
}
