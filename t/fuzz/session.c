/* libFuzzer target: whole smtp-recv sessions. Each input is what a client
   sends (then end of file); the replies go to /dev/null, messages that
   reach the end of DATA are queued in $PIPEMAIL_ROOT (an instance that
   `make fuzz` makes on a tmpfs) and removed again now and then. The first
   byte sets RELAYCLIENT and REQUIRE_TLS, and AUTH: offered (from a
   loopback client, in clear), with a checkpassword program that says yes
   (true) or no (false), and submission mode; the session is smtp-recv's
   own code, as tcp-serve's workers run it, many sessions in one process. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fuzzstdin.h"
#include "smtprecv.h"

static int devnull = -1;
static char const *root;
static char table[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc; (void)argv;
  root = getenv("PIPEMAIL_ROOT");
  if (!root) { fputs("session: PIPEMAIL_ROOT must name an instance\n", stderr); exit(100); }
  devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  setenv("PROTO", "TCP", 1);
  setenv("TCPREMOTEIP", "192.0.2.7", 1);
  setenv("TCPLOCALIP", "192.0.2.1", 1);
  setenv("TCPLOCALPORT", "25", 1);
  setenv("MAXRCPT", "20", 1);
  setenv("DATABYTES", "20000", 1);
  /* AUTH: no delay after a failure, no lock-out, the table in the instance */
  setenv("AUTH_FAIL_DELAY", "0", 1);
  setenv("AUTH_MAXFAIL", "1000000", 1);
  snprintf(table, sizeof table, "%s/authfail", root);
  setenv("AUTHFAIL_FILE", table, 1);
  return 0;
}

/* queue/msg/?/ emptied, so that the tmpfs does not fill (nothing is
   delivered, so queue/state/ stays empty) */
static void sweep(void)
{
  char path[4096];
  for (char const *sub = "0123456789abcdef"; *sub; sub++) {
    snprintf(path, sizeof path, "%s/queue/msg/%c", root, *sub);
    DIR *d = opendir(path);
    struct dirent *e;
    if (!d) continue;
    while ((e = readdir(d)))
      if (e->d_name[0] != '.') unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
  }
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  static unsigned runs;
  if (!size || size > 60000) return 0;    /* a pipe's buffer, written at once */
  if (data[0] & 1) setenv("RELAYCLIENT", "", 1); else unsetenv("RELAYCLIENT");
  if (data[0] & 2) setenv("REQUIRE_TLS", "1", 1); else unsetenv("REQUIRE_TLS");
  if (data[0] & 4) setenv("AUTH_LOOPBACK_CLEARTEXT", "1", 1); else unsetenv("AUTH_LOOPBACK_CLEARTEXT");
  if (data[0] & 8) setenv("SUBMISSION", "1", 1); else unsetenv("SUBMISSION");
  setenv("TCPREMOTEIP", data[0] & 4 ? "127.0.0.1" : "192.0.2.7", 1);
  fuzz_stdin(data + 1, size - 1, devnull);
  if (data[0] & 4)
    smtprecv_main(2, (char const *const[]){ "smtp-recv", data[0] & 16 ? "true" : "false", 0 });
  else
    smtprecv_main(1, (char const *const[]){ "smtp-recv", 0 });
  close(0);
  if (!(++runs % 256)) sweep();
  return 0;
}
