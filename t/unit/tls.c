/* Unit tests of lib/tls, lib/tlspem and lib/tlsserver: error and suite
   names, PEM certificate and key loading, the SNI choice, and tls_run as
   a server against a BearSSL client over a socketpair (handshake, echo,
   ciphertext fed early, refused version, truncation). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <bearssl.h>
#include "tap.h"
#include "tls.h"
#include "tlspem.h"
#include "tlsserver.h"

/* Test keys, made for this file only (openssl req -x509 -newkey ec ...). */
static char const CERT[] =
  "-----BEGIN CERTIFICATE-----\n"
  "MIIBfjCCASWgAwIBAgIUfyg7KpxV4UgYN5trkd0/QxaTBeIwCgYIKoZIzj0EAwIw\n"
  "FDESMBAGA1UEAwwJdW5pdC50ZXN0MCAXDTI2MTEyMzE1MjkyMVoYDzIxMjYxMDMw\n"
  "MTUyOTIxWjAUMRIwEAYDVQQDDAl1bml0LnRlc3QwWTATBgcqhkjOPQIBBggqhkjO\n"
  "PQMBBwNCAAQ1QV2l/luDWmukHtbU05LMsG40MgvrPiULvMCq3ikBD3zXLpVW1Wg0\n"
  "uF7ygViKb5qO0t3HxeDNXQU2L7JJic/Xo1MwUTAdBgNVHQ4EFgQUDoONUCoNePEg\n"
  "bHOwzYtOJYe5y2kwHwYDVR0jBBgwFoAUDoONUCoNePEgbHOwzYtOJYe5y2kwDwYD\n"
  "VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiBMcDB/rpz9xKFv4nXyMULF\n"
  "g5weeSUYM15/sCs7dQRAnAIgS0Lk5qV+/YNBmLY1vt/8SjxntvQzMIJn0JGTXSwK\n"
  "+jY=\n"
  "-----END CERTIFICATE-----\n";

static char const KEY[] =
  "-----BEGIN PRIVATE KEY-----\n"
  "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgvs5dtNKUXNofh54T\n"
  "pqNuMj7LRmgv98iwVYJ8b1F+HbmhRANCAAQ1QV2l/luDWmukHtbU05LMsG40Mgvr\n"
  "PiULvMCq3ikBD3zXLpVW1Wg0uF7ygViKb5qO0t3HxeDNXQU2L7JJic/X\n"
  "-----END PRIVATE KEY-----\n";

static char const KEY_SEC1[] =
  "-----BEGIN EC PRIVATE KEY-----\n"
  "MHcCAQEEIL7OXbTSlFzaH4eeE6ajbjI+y0ZoL/fIsFWCfG9Rfh25oAoGCCqGSM49\n"
  "AwEHoUQDQgAENUFdpf5bg1prpB7W1NOSzLBuNDIL6z4lC7zAqt4pAQ981y6VVtVo\n"
  "NLhe8oFYim+ajtLdx8XgzV0FNi+ySYnP1w==\n"
  "-----END EC PRIVATE KEY-----\n";

static char const OTHER_KEY[] =
  "-----BEGIN PRIVATE KEY-----\n"
  "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgvxuT2GrcYfYPBdxo\n"
  "aFUHPPCKJhupj9Ao4ZzMoBDBP4+hRANCAATYuCkxAVJwKJsJve+Vo43rJ7Oy9kh/\n"
  "1sIhdK/WTod4L3sx/BCeE/rGiJ8ob+r/krSPU3EBXL6R2ZIFYTVVwDv9\n"
  "-----END PRIVATE KEY-----\n";

static char const SMALL_RSA_KEY[] =
  "-----BEGIN PRIVATE KEY-----\n"
  "MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAMEct3sFo0nZ07l9\n"
  "tHSEEdq2QT3wRRygwTR1c+FOUR3mk+BsaVpBJ+Rk3p7QpkiaHx1vdH5naBeX33Fc\n"
  "yI2PPReF7/Iz1xkS9FdCVb7HSec+we2/kOjtv/0lEbXBWOOlfvUARdfBhUvTU8DC\n"
  "QGHsiFtKWOIGOUditmZhnEVmV6StAgMBAAECgYEAq9o0ZmSEBeq1gnMdrjsB8JMU\n"
  "yFwUBQACL/7+GtkpUuSpYKTZtJobOCOUAd1IvX96hSV0lDDN74EWNboON/vqroKf\n"
  "I/+BgSuxEk3HnSG5t9op/sxRSkuJnQp2V3pUJk41UNC1AZwrmAu+pcHDuRpRzlbS\n"
  "tQwaCCNose4rD517RfkCQQDgmbnJTn+M0dyedUmpYY1y243gq5KeZgMsAVaPQeVB\n"
  "D798gW3yKX37snD0l0PvSjRwPqM+dhEytH3l1zF9+gRvAkEA3BwMi5+NrRFcPnkA\n"
  "58PFaro9LyAXXuqxd9MPhlDTdBI6TtBi4xjSDN7sg0Vb+ftZwfuAlUDKw2ITFVw3\n"
  "IoNOowJBAJeVSL1jfFRHIxXS5NcrXrLBGT0jrr227bcaZBglihtiDIN0OwbwF/Xy\n"
  "laeOG6x5MXD75WL3fl3xUPL5TI7QWYMCQFqXHL62a1wIohuAN9QrqevUPOxRW+0P\n"
  "0PzNHD2etHi4K9FWSOzIwWLUuSkJ+eH4Bigld/V11j319n67FmIZAtsCQDf2u1l5\n"
  "ZXNttZ9ncP9lX9vUqRitV5qIh0ul8XJK6d+mlvJdGjWkDuebAs4aTGU7zv44i7jy\n"
  "6hny5IAn/hAiBKo=\n"
  "-----END PRIVATE KEY-----\n";

static char dir[] = "/tmp/pm-unit-tls-XXXXXX";

static char const *file(char const *name, char const *a, char const *b)
{
  static char paths[16][64];
  static int n;
  char *p = paths[n++ % 16];
  FILE *f;
  snprintf(p, 64, "%s/%s", dir, name);
  f = fopen(p, "w");
  fputs(a, f);
  if (b) fputs(b, f);
  fclose(f);
  return p;
}

static void test_names(void)
{
  char buf[TLS_ERRNAME_MAX];
  is_str(tls_error_name(BR_ERR_BAD_MAC, buf), "BR_ERR_BAD_MAC", "BearSSL error name");
  is_str(tls_error_name(BR_ERR_X509_EXPIRED, buf), "BR_ERR_X509_EXPIRED", "X.509 error name");
  is_str(tls_error_name(BR_ERR_RECV_FATAL_ALERT + 40, buf), "BR_ERR_RECV_FATAL_ALERT+40", "received alert");
  is_str(tls_error_name(BR_ERR_SEND_FATAL_ALERT + 70, buf), "BR_ERR_SEND_FATAL_ALERT+70", "sent alert");
  is_str(tls_error_name(TLS_ERR_TIMEOUT, buf), "timeout", "our timeout");
  is_str(tls_error_name(TLS_ERR_TRUNCATED, buf), "truncated", "our truncation");
  is_str(tls_error_name(999, buf), "unknown+999", "unknown code");
  is_str(tls_error_name(11, buf), "unknown+11", "gap in BearSSL's numbering");
  is_str(tls_suite_name(BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256), "ECDHE-RSA-CHACHA20-POLY1305", "suite name");
  ok(!tls_suite_name(0x0000), "unknown suite: no name");
  is_str(tls_version_name(BR_TLS12), "TLSv1.2", "version name");
  for (size_t i = 0; i < tls_server_nsuites; i++)
    ok(tls_suite_name(tls_server_suites[i]) != 0, "server suite %zu has a name", i);
}

static int count_cb(char const *name, unsigned char const *der, size_t len, void *arg)
{
  (void)der;
  if (!strcmp(name, "CERTIFICATE") && len > 100) ++*(int *)arg;
  if (!strcmp(name, "PRIVATE KEY") && len > 50) *(int *)arg += 10;
  return 1;
}

static void test_pem(void)
{
  char const *why;
  char both[4096];
  int n = 0;
  snprintf(both, sizeof both, "junk before\n%s%s", CERT, KEY);
  ok(tls_pem_each(both, strlen(both), &count_cb, &n, &why) && n == 11, "two PEM objects, text around ignored");
  ok(!tls_pem_each("", 0, &count_cb, &n, &why) && why && !strcmp(why, "no PEM object"), "empty: no PEM object");
  ok(!tls_pem_each(CERT, 200, &count_cb, &n, &why) && why, "cut short: refused (%s)", why ? why : "?");
  ok(!tls_pem_each("-----BEGIN X-----\nab!$\n-----END X-----\n", 38, &count_cb, &n, &why) && why,
     "bad base64: refused (%s)", why ? why : "?");
}

static void test_files(void)
{
  tls_chain c = TLS_CHAIN_ZERO;
  tls_key k = TLS_KEY_ZERO;
  char const *why;
  int it = 0;
  ok(tls_chain_read(&c, file("c", CERT, 0), &why) && c.n == 1, "certificate read");
  ok(tls_key_read(&k, file("k", KEY, 0), &why) && k.type == BR_KEYTYPE_EC && k.k.ec.curve == BR_EC_secp256r1,
     "PKCS#8 EC key read");
  ok(tls_key_matches(&k, &c, &it, &why) && it == BR_KEYTYPE_EC, "key matches; issuer is EC (self-signed)");
  tls_key_free(&k);
  ok(tls_key_read(&k, file("k1", KEY_SEC1, 0), &why) && k.type == BR_KEYTYPE_EC, "SEC1 EC key read");
  ok(tls_key_matches(&k, &c, 0, &why), "SEC1 key matches too");
  tls_key_free(&k);
  ok(!k.data && !k.type, "freed key wiped");
  ok(tls_key_read(&k, file("k2", OTHER_KEY, 0), &why), "another key read");
  ok(!tls_key_matches(&k, &c, 0, &why) && why && strstr(why, "does not match"), "mismatch detected");
  ok(tls_key_fits(&k, &c, &it, &why) && it == BR_KEYTYPE_EC, "tls_key_fits: the same curve is enough");
  tls_key_free(&k);
  ok(!tls_key_read(&k, file("k3", SMALL_RSA_KEY, 0), &why) && why && strstr(why, "2048"), "RSA-1024 refused");
  ok(!tls_key_read(&k, file("k4", CERT, 0), &why) && why && !strcmp(why, "no private key"), "no key in file");
  ok(!tls_key_read(&k, file("k5", KEY, OTHER_KEY), &why) && why && strstr(why, "more than one"), "two keys refused");
  tls_chain_free(&c);
  ok(!tls_chain_read(&c, file("c2", KEY, 0), &why) && why && !strcmp(why, "no certificate"), "no certificate in file");
  ok(tls_chain_read(&c, file("c3", KEY, CERT), &why) && c.n == 1, "combined key + certificate file: chain");
  ok(tls_key_read(&k, file("c3", KEY, CERT), &why), "combined file: key");
  tls_key_free(&k);
  tls_chain_free(&c);
  errno = 0;
  ok(!tls_chain_read(&c, "/nonexistent/x.pem", &why) && !why && errno == ENOENT, "missing file: errno");
}

static void test_pick(void)
{
  tls_keypair kp[3];
  tls_server s;
  kp[0].name = "";
  kp[1].name = "mail.test";
  kp[2].name = "*.wild.test";
  s.kp = kp;
  s.n = 3;
  ok(tls_server_pick(&s, 0) == &kp[0], "no SNI: default");
  ok(tls_server_pick(&s, "MAIL.test") == &kp[1], "exact name, any case");
  ok(tls_server_pick(&s, "a.wild.test") == &kp[2], "wildcard");
  ok(tls_server_pick(&s, "a.b.wild.test") == &kp[0], "wildcard covers one label only");
  ok(tls_server_pick(&s, "wild.test") == &kp[0], "wildcard does not cover the parent");
  ok(tls_server_pick(&s, "x.test") == &kp[0], "unknown name: default");
}

/* -- a server in a child, a BearSSL client here -------------------------- */

struct result { int r, err; char cert[32]; };
static tls_keypair kps[1];

static int sock_read(void *ctx, unsigned char *buf, size_t len)
{
  for (;;) {
    ssize_t r = read(*(int *)ctx, buf, len);
    if (r < 0 && errno == EINTR) continue;
    return r > 0 ? (int)r : -1;
  }
}

static int sock_write(void *ctx, unsigned char const *buf, size_t len)
{
  for (;;) {
    ssize_t r = write(*(int *)ctx, buf, len);
    if (r < 0 && errno == EINTR) continue;
    return r > 0 ? (int)r : -1;
  }
}

/* Server with an echo application (its output pipe feeds its input). */
static pid_t server(int sock, int other, int res, unsigned char const *pre, size_t prelen)
{
  static tls_server s;
  pid_t pid = fork();
  if (pid) return pid;
  close(other);   /* the client's end: its close must be an EOF here */
  {
    struct result out = { 0, 0, "" };
    tls_io io;
    int p[2];
    if (pipe(p) < 0 || !tls_server_init(&s, kps, 1)) _exit(99);
    tls_io_init(&io, sock, sock, p[0], p[1], 5, 5);
    io.pre = pre;
    io.prelen = prelen;
    out.r = tls_run(&s.sc.eng, &io, 1);
    if (out.r == TLS_RUN_HANDSHAKE) out.r = tls_run(&s.sc.eng, &io, 0);
    out.err = io.err;
    snprintf(out.cert, sizeof out.cert, "%s", s.chosen->name);
    if (write(res, &out, sizeof out) != sizeof out) _exit(98);
    _exit(0);
  }
}

static br_ssl_client_context cc;
static br_x509_minimal_context xm;
static br_x509_knownkey_context xk;
static unsigned char cbuf[BR_SSL_BUFSIZE_BIDI];

static void client_init(unsigned vmin, unsigned vmax)
{
  static unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
  static br_ec_public_key pub;
  br_ec_compute_pub(br_ec_get_default(), &pub, q, &kps[0].key.k.ec);
  br_ssl_client_init_full(&cc, &xm, 0, 0);
  br_x509_knownkey_init_ec(&xk, &pub, BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN);
  br_ssl_engine_set_x509(&cc.eng, &xk.vtable);
  br_ssl_engine_set_versions(&cc.eng, vmin, vmax);
  br_ssl_engine_set_buffer(&cc.eng, cbuf, sizeof cbuf, 1);
  br_ssl_client_reset(&cc, "unit.test", 0);
}

static struct result finish(int res, pid_t pid)
{
  struct result r = { -9, -9, "" };
  int wstat;
  if (read(res, &r, sizeof r) != sizeof r) r.r = -8;
  waitpid(pid, &wstat, 0);
  close(res);
  return r;
}

/* Handshake and echo; with early, the ClientHello reaches the server as
   io->pre instead of through the socket. */
static void test_session(int early)
{
  int sv[2], rp[2], fd;
  unsigned char *pre = 0, echo[6];
  size_t prelen = 0;
  br_sslio_context ioc;
  struct result r;
  pid_t pid;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(rp) < 0) { ok(0, "socketpair"); return; }
  client_init(BR_TLS10, BR_TLS12);
  if (early) {
    unsigned char *b = br_ssl_engine_sendrec_buf(&cc.eng, &prelen);
    pre = malloc(prelen);
    memcpy(pre, b, prelen);
    br_ssl_engine_sendrec_ack(&cc.eng, prelen);
  }
  pid = server(sv[1], sv[0], rp[1], pre, prelen);
  close(sv[1]);
  close(rp[1]);
  fd = sv[0];
  br_sslio_init(&ioc, &cc.eng, &sock_read, &fd, &sock_write, &fd);
  ok(br_sslio_write_all(&ioc, "ping\n", 5) == 0 && br_sslio_flush(&ioc) == 0, "%s: handshake, data sent",
     early ? "early ClientHello" : "plain");
  ok(br_sslio_read_all(&ioc, echo, 5) == 0 && !memcmp(echo, "ping\n", 5), "echoed through tls_run");
  ok(br_ssl_engine_get_version(&cc.eng) == BR_TLS12, "TLS 1.2");
  ok(cc.eng.session.cipher_suite == BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "server's preferred suite");
  br_sslio_close(&ioc);
  close(fd);
  r = finish(rp[0], pid);
  ok(r.r == TLS_RUN_DONE && r.err == 0, "close_notify: clean end (r=%d err=%d)", r.r, r.err);
  free(pre);
}

static void test_refused(void)
{
  int sv[2], rp[2], fd;
  br_sslio_context ioc;
  struct result r;
  pid_t pid;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(rp) < 0) { ok(0, "socketpair"); return; }
  client_init(BR_TLS10, BR_TLS11);
  pid = server(sv[1], sv[0], rp[1], 0, 0);
  close(sv[1]);
  close(rp[1]);
  fd = sv[0];
  br_sslio_init(&ioc, &cc.eng, &sock_read, &fd, &sock_write, &fd);
  ok(br_sslio_flush(&ioc) < 0, "TLS 1.1 client: handshake fails");
  close(fd);
  r = finish(rp[0], pid);
  ok(r.r == TLS_RUN_FAIL && r.err == BR_ERR_SEND_FATAL_ALERT + 70, "server: protocol_version alert sent (err=%d)", r.err);
}

static void test_truncated(void)
{
  int sv[2], rp[2], fd;
  br_sslio_context ioc;
  struct result r;
  pid_t pid;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(rp) < 0) { ok(0, "socketpair"); return; }
  client_init(BR_TLS12, BR_TLS12);
  pid = server(sv[1], sv[0], rp[1], 0, 0);
  close(sv[1]);
  close(rp[1]);
  fd = sv[0];
  br_sslio_init(&ioc, &cc.eng, &sock_read, &fd, &sock_write, &fd);
  ok(br_sslio_flush(&ioc) == 0, "handshake");
  ok(write(fd, "\x17\x03\x03\x00\x40" "abc", 8) == 8, "half a record sent");
  close(fd);
  r = finish(rp[0], pid);
  ok(r.r == TLS_RUN_FAIL && r.err == TLS_ERR_TRUNCATED, "EOF mid-record: TLS_ERR_TRUNCATED (err=%d)", r.err);
}

int main(void)
{
  char const *why;
  alarm(60);
  if (!mkdtemp(dir)) return 111;
  test_names();
  test_pem();
  test_files();
  test_pick();
  ok(tls_keypair_load(&kps[0], "", file("so", CERT, 0), file("sko", OTHER_KEY, 0), &why)
     && !tls_keypair_check(&kps[0], &why) && why && strstr(why, "does not match"),
     "keypair of another EC key of the curve: loaded, tls_keypair_check says no");
  tls_keypair_free(&kps[0]);
  ok(tls_keypair_load(&kps[0], "", file("sc", CERT, 0), file("sk", KEY, 0), &why), "keypair loaded");
  ok(tls_keypair_check(&kps[0], &why), "tls_keypair_check: its key");
  test_session(0);
  test_session(1);
  test_refused();
  test_truncated();
  tls_keypair_free(&kps[0]);
  {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
  }
  return done_testing();
}
