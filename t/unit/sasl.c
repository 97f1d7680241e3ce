/* lib/sasl: base64 as SASL uses it, PLAIN's message, the bounds. */
#include <string.h>
#include "tap.h"
#include "sasl.h"

static int dec(char const *in, char const *want, ssize_t wantlen)
{
  char out[256];
  ssize_t n = sasl_b64decode(out, in, strlen(in));
  return n == wantlen && (n < 0 || !memcmp(out, want, (size_t)n));
}

static int plain(char const *s, size_t n, int want, char const *user, char const *pass)
{
  sasl_cred c;
  int r = sasl_plain(s, n, &c);
  if (r != want) return 0;
  if (r != SASL_OK) return 1;
  return c.userlen == strlen(user) && !memcmp(c.user, user, c.userlen)
      && c.passlen == strlen(pass) && !memcmp(c.pass, pass, c.passlen);
}

int main(void)
{
  char big[SASL_PASSMAX + 40], enc[64];
  ok(dec("", "", 0), "empty");
  ok(dec("Zg==", "f", 1) && dec("Zm8=", "fo", 2) && dec("Zm9v", "foo", 3), "RFC 4648 vectors, padded");
  ok(dec("Zm9vYmFy", "foobar", 6), "two quanta");
  ok(dec("AGpvaG4AcHc=", "\0john\0pw", 8), "PLAIN message with NULs");
  ok(dec("Zg", 0, -1) && dec("Zm9", 0, -1), "unpadded: refused");
  ok(dec("Zm9v!mFy", 0, -1) && dec("Zm9v YmFy", 0, -1) && dec("Zm9v\r\n", 0, -1), "bytes out of the alphabet");
  ok(dec("Zg==Zg==", 0, -1) && dec("Z===", 0, -1) && dec("Zg=v", 0, -1), "misplaced padding");
  ok(dec("Zh==", 0, -1) && dec("Zm9=", 0, -1), "non-zero bits under the padding");
  ok(sasl_b64encode(enc, "foobar", 6) == 8 && !memcmp(enc, "Zm9vYmFy", 8), "encode");
  ok(sasl_b64encode(enc, "Username:", 9) == 12 && !memcmp(enc, "VXNlcm5hbWU6", 12), "encode LOGIN's challenge");
  ok(sasl_b64encode(enc, "fo", 2) == 4 && !memcmp(enc, "Zm8=", 4), "encode with padding");

  ok(plain("\0john\0pw", 8, SASL_OK, "john", "pw"), "PLAIN, empty authzid");
  ok(plain("john\0john\0pw", 12, SASL_OK, "john", "pw"), "authzid = user");
  ok(plain("JOHN\0john\0pw", 12, SASL_OK, "john", "pw"), "authzid = user, case ignored");
  ok(plain("kate\0john\0pw", 12, SASL_AUTHZID, 0, 0), "another authzid: refused");
  ok(plain("johnx\0john\0pw", 13, SASL_AUTHZID, 0, 0) && plain("joh\0john\0pw", 11, SASL_AUTHZID, 0, 0),
     "an authzid that only starts like the user: refused");
  ok(plain("\0john\0", 6, SASL_OK, "john", ""), "empty password: left to the program");
  ok(plain("\0\0pw", 4, SASL_MALFORMED, 0, 0), "empty user");
  ok(plain("\0john\0p\0w", 9, SASL_MALFORMED, 0, 0), "NUL in the password");
  ok(plain("john", 4, SASL_MALFORMED, 0, 0) && plain("\0john", 5, SASL_MALFORMED, 0, 0)
     && plain("", 0, SASL_MALFORMED, 0, 0), "too few NULs");
  memset(big, 'x', sizeof big);
  big[0] = 0; big[5] = 0;
  {
    sasl_cred c;
    ok(sasl_plain(big, 6 + SASL_PASSMAX, &c) == SASL_OK && c.userlen == 4 && c.passlen == SASL_PASSMAX,
       "a password of SASL_PASSMAX bytes");
  }
  ok(plain(big, 7 + SASL_PASSMAX, SASL_TOOLONG, 0, 0), "one byte more: too long");
  ok(sasl_userok("john", 4) && !sasl_userok("", 0) && !sasl_userok("jo\0hn", 5), "LOGIN user: 1+ bytes, no NUL");
  ok(sasl_passok("", 0) && !sasl_passok("p\0w", 3) && !sasl_passok(big + 6, SASL_PASSMAX + 1), "LOGIN password bounds");
  return done_testing();
}
