/* libFuzzer target: whole IMAP sessions after login (imap-mailbox's code,
   lib/imapd) on demo's Maildir in $PIPEMAIL_ROOT, the tmpfs instance that
   `make fuzz` makes, many sessions in one process. Each input is what a
   client sends (then end of file); the replies go to /dev/null. The first
   byte chooses: bit 0, the login is answered for a tag (IMAP_LOGIN_TAG,
   as after imap-serve); bit 1, the input's first line comes as
   $IMAP_INPUT, as pipelined with the login; bit 2, the message cache
   (pipemail.cache) is removed; bit 3, it is cut to a length that the
   input's size chooses. The Maildir is put back to a
   few messages of several shapes when sessions expunged, moved or
   appended too much. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fuzzstdin.h"
#include "imapd/imapd.h"

static int devnull = -1 ;
static char md[4096] ;

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
  char const *root = getenv("PIPEMAIL_ROOT") ;
  (void)argc ; (void)argv ;
  if (!root) { fputs("imapsession: PIPEMAIL_ROOT must name an instance\n", stderr) ; exit(100) ; }
  snprintf(md, sizeof md, "%s/mail/example.test/demo", root) ;
  devnull = open("/dev/null", O_RDWR | O_CLOEXEC) ;
  setenv("TCPREMOTEIP", "192.0.2.7", 1) ;
  return 0 ;
}

/* The messages of new/ and cur/ (removed when remove is set). */
static unsigned count (char const *sub, int remove)
{
  char path[4400] ;
  unsigned n = 0 ;
  DIR *d ;
  struct dirent *e ;
  snprintf(path, sizeof path, "%s/%s", md, sub) ;
  d = opendir(path) ;
  if (!d) abort() ;
  while ((e = readdir(d)))
  {
    if (e->d_name[0] == '.') continue ;
    n++ ;
    if (remove)
    {
      snprintf(path, sizeof path, "%s/%s/%s", md, sub, e->d_name) ;
      unlink(path) ;
    }
  }
  closedir(d) ;
  return n ;
}

static void refill (void)
{
  static char const *const msgs[4][2] = {
    { "1000.a.fuzz,S=60", "From: a@example.org\nSubject: =?UTF-8?Q?caf=C3=A9?=\nDate: Tue, 3 Mar 2026 10:00:00 +0100\n\nplain\n" },
    { "1001.b.fuzz", "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\none\n--x\n"
                     "Content-Type: message/rfc822\n\nSubject: in\n\ninner\n--x\nContent-Transfer-Encoding: base64\n\naGVsbG8K\n--x\n"
                     "Content-Transfer-Encoding: quoted-printable\n\nq=3D=\np=00\n--x\nContent-Transfer-Encoding: x-unknown\n\n?\n--x--\n" },
    { "1002.c.fuzz:2,S", "Subject: c\n\nno newline" },
    { "1003.d.fuzz:2,FTa", "" },
  } ;
  unsigned n = count("cur", 0) + count("new", 0) ;
  if (n >= 3 && n <= 20) return ;
  count("cur", 1) ;
  count("new", 1) ;
  for (unsigned i = 0 ; i < 4 ; i++)
  {
    char path[4400] ;
    int fd ;
    snprintf(path, sizeof path, "%s/cur/%s", md, msgs[i][0]) ;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600) ;
    if (fd < 0 || write(fd, msgs[i][1], strlen(msgs[i][1])) < 0) abort() ;
    close(fd) ;
  }
}

/* The cache as the mode bits say: torn or gone between sessions. */
static void cache (uint8_t mode, size_t size)
{
  char path[4400] ;
  snprintf(path, sizeof path, "%s/pipemail.cache", md) ;
  if (mode & 4) unlink(path) ;
  if (mode & 8 && truncate(path, size * 37 % 3000) < 0) { /* absent: fine */ }
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  uint8_t mode ;
  if (!size || size > 60000) return 0 ;    /* a pipe's buffer, written at once */
  mode = data[0] ;
  data++ ; size-- ;
  unsetenv("IMAP_INPUT") ;
  unsetenv("IMAP_LOGIN_TAG") ;
  if (mode & 1) setenv("IMAP_LOGIN_TAG", "L1", 1) ;
  if (mode & 2)
  {
    char line[IMAPD_INPUT_MAX] ;
    size_t n = 0 ;
    while (n < size && n < sizeof line - 1 && data[n]) n++ ;
    if (n > 200) n = 200 ;
    memcpy(line, data, n) ;
    line[n] = 0 ;
    setenv("IMAP_INPUT", line, 1) ;
    data += n ; size -= n ;
  }
  fuzz_stdin(data, size, devnull) ;
  refill() ;
  cache(mode, size) ;
  imapd_main(2, (char const *const[]){ "imap-mailbox", md, 0 }) ;
  close(0) ;
  return 0 ;
}
