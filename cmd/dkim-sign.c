/* dkim-sign: a qmail-queue filter that DKIM-signs the message with the key
   of its From domain (else of its envelope sender's domain) from
   ROOT/etc/dkim/, then runs the next stage with the signed message on
   fd 0 and the envelope on fd 1. See dkim-sign(8). */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <bearssl.h>
#include <skalibs/alloc.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include "qfilter.h"
#include "root.h"
#include "tlspem.h"
#include "dkim/sig.h"
#include "dkim/sign.h"

#define USAGE "dkim-sign [prog...]"
#define MAXSIGN (64UL << 20)   /* larger messages are passed on unsigned */

/* The selector and key of domain, when ROOT/etc/dkim/DOMAIN/selector
   names one. 1 found, 0 none; a broken configuration is fatal (71:
   better retried later than sent unsigned). */
static int load_key(char const *domain, char *sel, tls_key *k)
{
  stralloc sa = STRALLOC_ZERO, path = STRALLOC_ZERO;
  char const *why;
  if (!stralloc_cats(&path, "etc/dkim/") || !stralloc_cats(&path, domain)
   || !stralloc_cats(&path, "/selector") || !stralloc_0(&path)) strerr_diefsys(51, "out of memory");
  if (!pm_control_line(&sa, path.s, "")) strerr_diefu2sys(71, "read ", path.s);
  if (!sa.len) return 0;
  if (!dkim_name_ok(sa.s, sa.len, DKIM_MAXSELECTOR)) strerr_dief2x(71, "invalid selector in ", path.s);
  memcpy(sel, sa.s, sa.len);
  sel[sa.len] = 0;
  path.len = 0;
  if (!stralloc_cats(&path, "etc/dkim/") || !stralloc_cats(&path, domain) || !stralloc_cats(&path, "/")
   || !stralloc_cats(&path, sel) || !stralloc_cats(&path, ".key") || !stralloc_0(&path)
   || !pm_path(&sa, path.s)) strerr_diefsys(51, "out of memory");
  if (!tls_key_read(k, sa.s, &why)) {
    if (why) strerr_dief4x(71, "bad key ", sa.s, ": ", why);
    strerr_diefu2sys(71, "read ", sa.s);
  }
  if (k->type != BR_KEYTYPE_RSA) strerr_dief3x(71, "key ", sa.s, " is not an RSA key");
  stralloc_free(&sa);
  stralloc_free(&path);
  return 1;
}

/* The domain of the envelope sender, lower-cased; 0 if none valid. */
static int sender_domain(char *out, char const *sender)
{
  char const *at = strrchr(sender, '@');
  size_t n;
  if (!at || !dkim_name_ok(at + 1, (n = strlen(at + 1)), DKIM_MAXDOMAIN)) return 0;
  for (size_t i = 0; i <= n; i++) out[i] = at[1 + i] >= 'A' && at[1 + i] <= 'Z' ? at[1 + i] + 32 : at[1 + i];
  return 1;
}

/* The DKIM-Signature field for msg[0..len) into sig (empty: unsigned). */
static void sign(stralloc *sig, char const *msg, size_t len, char const *sender)
{
  dkim_msg *m = alloc(sizeof *m);
  char dom[2][DKIM_MAXDOMAIN + 1], sel[DKIM_MAXSELECTOR + 1];
  tls_key k = TLS_KEY_ZERO;
  char const *why;
  int n = 0, found = 0;
  if (!m) strerr_diefsys(51, "out of memory");
  if (!dkim_msg_split(m, msg, len, &why)) {
    /* retrying would not help, nor would a refusal: the mail goes unsigned */
    strerr_warnw2x("message passed on unsigned: ", why);
    alloc_free(m);
    return;
  }
  /* From first: DMARC aligns d= with the From domain */
  if (dkim_from_domain(dom[0], m)) n++;
  if (sender_domain(dom[n], sender) && !(n && !strcmp(dom[0], dom[1]))) n++;
  alloc_free(m);
  for (int i = 0; i < n && !found; i++) found = load_key(dom[i], sel, &k) ? i + 1 : 0;
  if (!found) return;
  dkim_signer s = { .domain = dom[found - 1], .selector = sel, .sk = &k.k.rsa, .t = time(0) };
  if (!dkim_sign(sig, &s, msg, len, &why)) strerr_dief2x(71, "unable to sign: ", why);
  tls_key_free(&k);
}

int main(int argc, char const *const *argv)
{
  stralloc env = STRALLOC_ZERO, sig = STRALLOC_ZERO;
  char const *const *next;
  uint64_t len;
  int msg;
  PROG = "dkim-sign";
  next = qfilter_next(argc, argv, USAGE);
  msg = qfilter_spool(&len);
  qfilter_envelope(&env);
  if (len > MAXSIGN) strerr_warnw1x("message too large to sign: passed on unsigned");
  else if (len) {
    char *m = mmap(0, len, PROT_READ, MAP_PRIVATE, msg, 0);
    if (m == MAP_FAILED) strerr_diefu1sys(51, "map the message");
    sign(&sig, m, len, env.s + 1);
    munmap(m, len);
  }
  qfilter_pass(msg, sig.s, sig.len, 0, &env, next);
}
