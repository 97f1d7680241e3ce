/* Unit tests of lib/srvconn: the peer and TLS state from the environment,
   and STARTTLS against a fake UCSPI-TLS server (socketpairs and pipes, no
   cryptography): buffered cleartext is dropped, the variables are read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/socket.h>
#include "tap.h"
#include "srvconn.h"

static srvconn C;
static lineio L;

static void setfd(char const *name, int fd)
{
  char num[16];
  snprintf(num, sizeof num, "%d", fd);
  setenv(name, num, 1);
}

static int cloexec(int fd) { int f = fcntl(fd, F_GETFD); return f >= 0 && (f & FD_CLOEXEC); }

/* A UCSPI-TLS setup: the control socket's far end in *ctlpeer, the TLS
   plaintext pipes' far ends in *tlsin (we write the client's data there)
   and *tlsout. */
static void ucspitls(int *ctlpeer, int *tlsin, int *tlsout)
{
  int ctl[2], in[2], out[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, ctl) < 0 || pipe(in) < 0 || pipe(out) < 0) exit(111);
  setfd("SSLCTLFD", ctl[0]);
  setfd("SSLREADFD", in[0]);
  setfd("SSLWRITEFD", out[1]);
  *ctlpeer = ctl[1];
  *tlsin = in[1];
  *tlsout = out[0];
}

int main(void)
{
  int net[2], ctlpeer, tlsin, tlsout;
  char buf[256], *line;
  size_t len, dropped = 99;
  char pid[32];
  ssize_t r;
  static char const answer[] = "SSL_PROTOCOL=TLSv1.2\0SSL_CIPHER=ECDHE-RSA-AES128-GCM-SHA256\0\0";

  signal(SIGPIPE, SIG_IGN);   /* as in the servers */
  setenv("PROTO", "TCP", 1);
  setenv("TCPREMOTEIP", "192.0.2.1", 1);
  setenv("TCPREMOTEHOST", "bad host", 1);
  unsetenv("SSL_PROTOCOL");
  srvconn_init(&C);
  snprintf(pid, sizeof pid, ".%d", (int)getpid());
  ok(strlen(C.id) > strlen(pid) && !strcmp(C.id + strlen(C.id) - strlen(pid), pid), "session id %s ends in the pid", C.id);
  is_str(C.ip, "192.0.2.1", "TCPREMOTEIP");
  ok(!C.host, "a host name with a space is dropped");
  ok(!C.tls && !C.starttls, "no TLS, no UCSPI-TLS");
  setenv("TCPREMOTEIP", "1.2.3.4)", 1);
  setenv("TCPREMOTEHOST", "mx.example.org", 1);
  srvconn_init(&C);
  ok(!C.ip, "an IP with ')' is dropped");
  is_str(C.host, "mx.example.org", "TCPREMOTEHOST");

  setenv("SSL_PROTOCOL", "TLSv1.2", 1);
  setenv("SSL_CIPHER", "A B(C)\n", 1);
  srvconn_init(&C);
  ok(C.tls && !C.starttls, "SSL_PROTOCOL: implicit TLS");
  is_str(C.tlsproto, "TLSv1.2", "protocol name");
  is_str(C.tlscipher, "A?B?C??", "cipher name made one safe word");
  memset(buf, 'x', 200);
  buf[200] = 0;
  setenv("SSL_CIPHER", buf, 1);
  srvconn_init(&C);
  ok(strlen(C.tlscipher) == sizeof C.tlscipher - 1, "cipher name cut to %zu bytes", strlen(C.tlscipher));
  unsetenv("SSL_PROTOCOL");
  unsetenv("SSL_CIPHER");

  setenv("SSLCTLFD", "900", 1);
  setenv("SSLREADFD", "901", 1);
  setenv("SSLWRITEFD", "902", 1);
  srvconn_init(&C);
  ok(!C.tls && C.starttls == -1, "UCSPI-TLS variables, descriptors not open: -1");

  /* STARTTLS with a command pipelined after it */
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, net) < 0) return 111;
  ucspitls(&ctlpeer, &tlsin, &tlsout);
  srvconn_init(&C);
  ok(C.starttls == 1, "UCSPI-TLS: STARTTLS can be offered");
  ok(cloexec(atoi(getenv("SSLCTLFD"))) && cloexec(atoi(getenv("SSLREADFD"))) && cloexec(atoi(getenv("SSLWRITEFD"))),
     "the UCSPI-TLS descriptors are close-on-exec");
  lineio_init(&L, net[0], net[0], 5);
  r = write(net[1], "STARTTLS\r\nRSET\r\n", 16);
  ok(lineio_getline(&L, 100, &line, &len) == LINEIO_LINE && len == 8, "STARTTLS read, RSET buffered");
  lineio_puts(&L, "220 go\r\n");
  r = write(ctlpeer, answer, sizeof answer - 1);
  ok(srvconn_starttls(&C, &L, 5, &dropped), "srvconn_starttls");
  ok(dropped == 6, "the 6 bytes of RSET dropped (%zu)", dropped);
  r = read(net[1], buf, sizeof buf);
  ok(r == 8 && !memcmp(buf, "220 go\r\n", 8), "the go-ahead was flushed first");
  r = read(ctlpeer, buf, sizeof buf);
  ok(r == 1 && buf[0] == 'Y', "'Y' on the control socket");
  ok(C.tls && !C.starttls, "now TLS, no more STARTTLS");
  is_str(C.tlsproto, "TLSv1.2", "SSL_PROTOCOL from the answer");
  is_str(C.tlscipher, "ECDHE-RSA-AES128-GCM-SHA256", "SSL_CIPHER from the answer");
  r = write(tlsin, "EHLO x\r\n", 8);
  ok(lineio_getline(&L, 100, &line, &len) == LINEIO_LINE && len == 6 && !memcmp(line, "EHLO x", 6),
     "the next line comes from SSLREADFD");
  lineio_puts(&L, "250 ok\r\n");
  lineio_flush(&L);
  r = read(tlsout, buf, sizeof buf);
  ok(r == 8 && !memcmp(buf, "250 ok\r\n", 8), "replies go to SSLWRITEFD");
  ok(cloexec(L.fd.infd) && cloexec(L.fd.outfd), "the TLS descriptors are close-on-exec");
  close(ctlpeer); close(tlsin); close(tlsout);

  /* an answer without variables ('y'-style servers may send just \0) */
  ucspitls(&ctlpeer, &tlsin, &tlsout);
  srvconn_init(&C);
  r = write(ctlpeer, "\0", 1);
  shutdown(ctlpeer, SHUT_WR);   /* 'Y' can still be written */
  ok(srvconn_starttls(&C, &L, 5, &dropped) && C.tls && !C.tlsproto[0] && !C.tlscipher[0],
     "no variables: TLS, names empty");
  close(ctlpeer); close(tlsin); close(tlsout);

  /* the handshake failed: the control socket closes without an answer */
  ucspitls(&ctlpeer, &tlsin, &tlsout);
  srvconn_init(&C);
  shutdown(ctlpeer, SHUT_WR);
  errno = 0;
  ok(!srvconn_starttls(&C, &L, 5, &dropped) && !C.tls && errno == EPROTO,
     "control socket closed: failure (%s)", strerror(errno));
  (void)r;
  return done_testing();
}
