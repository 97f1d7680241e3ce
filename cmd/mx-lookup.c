/* mx-lookup: the mail exchangers of a domain, in the order to try them.
   Prints them, or execs the rest of the command line with them in $MXLIST
   (chain style, in front of remote-send). See mx-lookup(8). */
#include <stdlib.h>
#include <skalibs/buffer.h>
#include <skalibs/exec.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include "mx.h"

#define USAGE "mx-lookup domain [prog...]"
#define MAXTIMEOUT 3600

/* $MX_TIMEOUT; a bad value is a configuration error (temporary), not a
   reason to bounce mail. */
static unsigned long timeout_secs(void)
{
  char const *s = getenv("MX_TIMEOUT");
  unsigned long n = 30;
  if (s && (!*s || s[ulong_scan(s, &n)])) strerr_dief(111, "4.3.5 malformed MX_TIMEOUT: ", s);
  return n ? n : 1;
}

int main(int argc, char const *const *argv)
{
  static mx_list l;
  stralloc sa = STRALLOC_ZERO;
  tain deadline;
  unsigned long secs;
  int r;
  PROG = "mx-lookup";
  if (argc < 2 || !argv[1][0] || argv[1][0] == '-') strerr_dieusage(100, USAGE);
  secs = timeout_secs();
  if (secs > MAXTIMEOUT) secs = MAXTIMEOUT;
  tain_now_g();
  tain_addsec_g(&deadline, secs);
  r = mx_lookup(&l, argv[1], getenv("DNS_SERVER"), &deadline);
  if (r) strerr_dief(r, l.why);
  if (!mx_fmt(&sa, &l) || !stralloc_0(&sa)) strerr_dief(111, "4.3.0 out of memory");
  if (argc == 2) {
    if (!buffer_putflush(buffer_1, sa.s, sa.len - 1))
      strerr_diefsys(111, "4.3.0 unable to write to stdout");
    stralloc_free(&sa);
    return 0;
  }
  if (setenv("MXLIST", sa.s, 1) < 0) strerr_dief(111, "4.3.0 out of memory");
  exec(argv + 2);
  strerr_diefsys(111, "4.3.0 unable to exec ", argv[2]);
}
