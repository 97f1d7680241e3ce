/* dkim-verify: verify the DKIM signatures of the message on stdin and
   print one RFC 8601 result per signature. See dkim-verify(8). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include "root.h"
#include "dkim/dns.h"
#include "dkim/verify.h"

#define USAGE "dkim-verify < message"
#define MAXMSG (64UL << 20)

static void readall(stralloc *sa)
{
  for (;;) {
    if (sa->len > MAXMSG) strerr_dief1x(100, "message larger than 64 MiB");
    if (!stralloc_readyplus(sa, 65536)) strerr_diefsys(111, "out of memory");
    ssize_t r = read(0, sa->s + sa->len, 65536);
    if (r < 0) { if (errno == EINTR) continue; strerr_diefu1sys(111, "read the message"); }
    if (!r) return;
    sa->len += r;
  }
}

int main(int argc, char const *const *argv)
{
  static dkim_result r[DKIM_MAXSIGS];
  stralloc msg = STRALLOC_ZERO, out = STRALLOC_ZERO;
  dkim_dns d = { .servers = getenv("DNS_SERVER"), .timeout = pm_env_ulong("DKIM_TIMEOUT", 5) };
  unsigned n;
  PROG = "dkim-verify";
  (void)argv;
  if (argc != 1) strerr_dieusage(100, USAGE);
  if (!d.timeout) d.timeout = 1;
  readall(&msg);
  n = dkim_verify(r, msg.s, msg.len, time(0), &dkim_dns_txt, &d);
  if (!n && !stralloc_cats(&out, "dkim=none\n")) strerr_diefsys(111, "out of memory");
  for (unsigned i = 0; i < n; i++)
    if (!dkim_result_fmt(&out, r + i) || !stralloc_catb(&out, "\n", 1)) strerr_diefsys(111, "out of memory");
  if (!buffer_putflush(buffer_1, out.s, out.len)) strerr_diefu1sys(111, "write to stdout");
  stralloc_free(&msg);
  stralloc_free(&out);
  return 0;
}
