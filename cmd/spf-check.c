/* spf-check: the SPF result (RFC 7208) of a client address for a sender
   (or, with an empty sender, for the HELO name), printed plain and in the
   Authentication-Results form (RFC 8601). See spf-check(8). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <skalibs/buffer.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>
#include "spf/spf.h"

#define USAGE "spf-check ip sender [helo]"
#define MAXSENDER 512
#define MAXTIMEOUT 3600

static unsigned long timeout_secs(void)
{
  char const *s = getenv("SPF_TIMEOUT");
  unsigned long n = SPF_TIMEOUT;
  if (s && (!*s || s[ulong_scan(s, &n)])) strerr_dief(111, "malformed SPF_TIMEOUT: ", s);
  if (n > MAXTIMEOUT) n = MAXTIMEOUT;
  return n ? n : 1;
}

/* Strict: an IPv4 address must be in its canonical form (skalibs' ip4_scan
   takes "256" or "010" as it can). "::ffff:a.b.c.d" is the IPv4 one. */
static int ip_scan(char const *s, ip46full *ip)
{
  char fmt[IP46_FMT];
  if (!strncasecmp(s, "::ffff:", 7) && !strchr(s + 7, ':')) s += 7;
  size_t n = ip46full_scan(s, ip);
  if (!n || s[n]) return 0;
  if (ip->is6) return 1;
  fmt[ip46full_fmt(fmt, ip)] = 0;
  return !strcmp(fmt, s);
}

/* An RFC 8601 value: as it is when it is a plain address or name, else quoted. */
static int put_value(stralloc *sa, char const *s)
{
  static char const plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                              ".!#$%&'*+/=?^_`{|}~@-";
  if (*s && strspn(s, plain) == strlen(s)) return stralloc_cats(sa, s);
  if (!stralloc_catb(sa, "\"", 1)) return 0;
  for (; *s; s++) {
    char c = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    if ((c == '"' || c == '\\') && !stralloc_catb(sa, "\\", 1)) return 0;
    if (!stralloc_catb(sa, &c, 1)) return 0;
  }
  return stralloc_catb(sa, "\"", 1);
}

int main(int argc, char const *const *argv)
{
  static spf_check c;
  spf_resolver dns;
  stralloc sender = STRALLOC_ZERO, out = STRALLOC_ZERO;
  char const *why, *domain, *helo = argc > 3 ? argv[3] : 0;
  PROG = "spf-check";
  if (argc < 3 || argc > 4 || !ip_scan(argv[1], &c.ip)) strerr_dieusage(100, USAGE);
  if (strlen(argv[2]) > MAXSENDER || (helo && strlen(helo) > MAXSENDER)) strerr_dieusage(100, USAGE);
  if (!argv[2][0] && !helo) strerr_dieusage(100, USAGE);
  /* RFC 7208 2.4: a null sender is checked as postmaster@HELO; 4.3: a
     sender without local part gets "postmaster" */
  char const *at = strrchr(argv[2], '@');
  int mailfrom = argv[2][0] != 0;
  domain = !mailfrom ? helo : at ? at + 1 : argv[2];
  if ((!mailfrom || !at || at == argv[2]) ? !stralloc_cats(&sender, "postmaster@") || !stralloc_cats(&sender, domain)
                                          : !stralloc_cats(&sender, argv[2]))
    strerr_dief(111, "out of memory");
  if (!stralloc_0(&sender)) strerr_dief(111, "out of memory");
  why = spf_udns_open(&dns, getenv("DNS_SERVER"));
  if (why) strerr_diefsys(111, why);
  c.dns = &dns;
  c.sender = sender.s;
  c.helo = helo ? helo : "unknown";
  c.me = getenv("SPF_HOSTNAME");
  tain_now_g();
  tain_addsec_g(&c.deadline, timeout_secs());
  int r = spf_check_host(&c, domain);
  spf_udns_close(&dns);
  char const *name = spf_result_name(r);
  if (!stralloc_cats(&out, name) || !stralloc_cats(&out, "\nspf=") || !stralloc_cats(&out, name)
   || !stralloc_cats(&out, mailfrom ? " smtp.mailfrom=" : " smtp.helo=")
   || !put_value(&out, mailfrom ? argv[2] : helo) || !stralloc_catb(&out, "\n", 1)
   || (c.exp.len && (!stralloc_cats(&out, "explanation: ") || !stralloc_cats(&out, c.exp.s)
                     || !stralloc_catb(&out, "\n", 1))))
    strerr_dief(111, "out of memory");
  if (c.why[0]) strerr_warni("result=", name, " why=", c.why);
  if (!buffer_putflush(buffer_1, out.s, out.len)) strerr_diefsys(111, "unable to write to stdout");
  stralloc_free(&out);
  stralloc_free(&sender);
  stralloc_free(&c.exp);
  return 0;
}
