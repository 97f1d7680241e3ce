/* dkim-keygen: make an RSA-2048 DKIM key for DOMAIN and SELECTOR in
   ROOT/etc/dkim/DOMAIN/SELECTOR.key and print the TXT record to publish.
   See dkim-keygen(8). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bearssl.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include "root.h"
#include "dkim/b64.h"
#include "dkim/key.h"
#include "dkim/sig.h"

#define USAGE "dkim-keygen domain selector"
#define BITS 2048
#define PUBEXP 65537

static unsigned char kpriv[BR_RSA_KBUF_PRIV_SIZE(BITS)], kpub[BR_RSA_KBUF_PUB_SIZE(BITS)];
static unsigned char der[4096], dexp[BITS / 8];
static char pem[8192];

static void keygen(br_rsa_private_key *sk, br_rsa_public_key *pk)
{
  br_hmac_drbg_context rng;
  br_prng_seeder seeder = br_prng_seeder_system(0);
  br_hmac_drbg_init(&rng, &br_sha256_vtable, 0, 0);
  if (!seeder || !seeder(&rng.vtable)) strerr_dief(111, "unable to seed the random generator");
  if (!br_rsa_keygen_get_default()(&rng.vtable, sk, kpriv, pk, kpub, BITS, PUBEXP))
    strerr_dief(111, "RSA key generation failed");
  explicit_bzero(&rng, sizeof rng);
}

/* The PEM of the PKCS#1 private key into pem; its length. */
static size_t key_pem(br_rsa_private_key const *sk, br_rsa_public_key const *pk)
{
  size_t dlen = br_rsa_compute_privexp_get_default()(dexp, sk, PUBEXP), n;
  if (!dlen || br_encode_rsa_raw_der(0, sk, pk, dexp, dlen) > sizeof der)
    strerr_dief(111, "unable to encode the key");
  n = br_encode_rsa_raw_der(der, sk, pk, dexp, dlen);
  if (br_pem_encode(0, der, n, BR_ENCODE_PEM_RSA_RAW, BR_PEM_LINE64) >= sizeof pem)
    strerr_dief(111, "unable to encode the key");
  n = br_pem_encode(pem, der, n, BR_ENCODE_PEM_RSA_RAW, BR_PEM_LINE64);
  explicit_bzero(der, sizeof der);
  explicit_bzero(dexp, sizeof dexp);
  return n;
}

static void write_key(char const *dir, char const *file, size_t len)
{
  int fd;
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) strerr_diefu2sys(111, "create ", dir);
  fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    if (errno == EEXIST) strerr_dief3x(100, "key ", file, " exists: choose another selector");
    strerr_diefu2sys(111, "create ", file);
  }
  if (allwrite(fd, pem, len) != len || fsync(fd) < 0 || close(fd) < 0) {
    unlink(file);
    strerr_diefu2sys(111, "write ", file);
  }
  explicit_bzero(pem, sizeof pem);
}

/* "SELECTOR._domainkey.DOMAIN. IN TXT ( "..." "..." )": strings of at
   most 255 bytes, as a TXT record's strings are. */
static void print_record(char const *domain, char const *sel, br_rsa_public_key const *pk)
{
  unsigned char spki[600];
  char b64[DKIM_B64_LEN(sizeof spki)];
  stralloc sa = STRALLOC_ZERO;
  size_t n = dkim_key_spki(spki, sizeof spki, pk);
  if (!n) strerr_dief(111, "unable to encode the public key");
  n = dkim_b64_encode(b64, spki, n);
  if (!stralloc_cats(&sa, sel) || !stralloc_cats(&sa, "._domainkey.") || !stralloc_cats(&sa, domain)
   || !stralloc_cats(&sa, ". IN TXT ( \"v=DKIM1; k=rsa; \"")) strerr_diefsys(111, "out of memory");
  for (size_t i = 0; i < n; i += 250)
    if (!stralloc_cats(&sa, "\n  \"") || !stralloc_cats(&sa, i ? "" : "p=")
     || !stralloc_catb(&sa, b64 + i, n - i < 250 ? n - i : 250) || !stralloc_cats(&sa, "\""))
      strerr_diefsys(111, "out of memory");
  if (!stralloc_cats(&sa, " )\n") || !buffer_putflush(buffer_1, sa.s, sa.len))
    strerr_diefsys(111, "unable to write to stdout");
  stralloc_free(&sa);
}

int main(int argc, char const *const *argv)
{
  br_rsa_private_key sk;
  br_rsa_public_key pk;
  stralloc dir = STRALLOC_ZERO, file = STRALLOC_ZERO;
  char domain[DKIM_MAXDOMAIN + 1];
  size_t len;
  PROG = "dkim-keygen";
  if (argc != 3) strerr_dieusage(100, USAGE);
  len = strlen(argv[1]);
  if (!dkim_name_ok(argv[1], len, DKIM_MAXDOMAIN)) strerr_dief2x(100, "invalid domain: ", argv[1]);
  if (!dkim_name_ok(argv[2], strlen(argv[2]), DKIM_MAXSELECTOR)) strerr_dief2x(100, "invalid selector: ", argv[2]);
  for (size_t i = 0; i <= len; i++) domain[i] = argv[1][i] >= 'A' && argv[1][i] <= 'Z' ? argv[1][i] + 32 : argv[1][i];
  if (!pm_path(&dir, "etc/dkim")) strerr_diefsys(111, "out of memory");
  if (mkdir(dir.s, 0755) < 0 && errno != EEXIST) strerr_diefu2sys(111, "create ", dir.s);
  if (!stralloc_catb(&dir, "/", 1) || !stralloc_cats(&dir, domain) || !stralloc_0(&dir)
   || !stralloc_copyb(&file, dir.s, dir.len - 1) || !stralloc_catb(&file, "/", 1)
   || !stralloc_cats(&file, argv[2]) || !stralloc_cats(&file, ".key") || !stralloc_0(&file))
    strerr_diefsys(111, "out of memory");
  keygen(&sk, &pk);
  write_key(dir.s, file.s, key_pem(&sk, &pk));
  explicit_bzero(kpriv, sizeof kpriv);
  print_record(domain, argv[2], &pk);
  stralloc_free(&dir);
  stralloc_free(&file);
  return 0;
}
