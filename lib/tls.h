/* Running a BearSSL engine between file descriptors: the ciphertext side
   (a network socket) and the plaintext side (pipes to an application),
   with deadlines; names for logs and for the UCSPI-TLS environment.
   Used by tls-serve and usable as is by a TLS client. */
#ifndef PM_TLS_H
#define PM_TLS_H
#include <stddef.h>
#include <stdint.h>
#include <bearssl.h>
#include <skalibs/tai.h>

/* Errors of our own, beside BearSSL's BR_ERR_* (0..31, 256+, 512+). */
#define TLS_ERR_TIMEOUT   1024   /* handshake or idle deadline passed */
#define TLS_ERR_EOF       1025   /* peer closed the connection during the handshake */
#define TLS_ERR_TRUNCATED 1026   /* peer closed the connection in the middle of a record */
#define TLS_ERR_IO        1027   /* read or write error on the network (errno in syserr) */

typedef struct tls_io_s tls_io;
struct tls_io_s {
  int netin, netout;             /* ciphertext: read from, write to (may be equal) */
  int appin, appout;             /* plaintext: read from (to send), write to (received); -1: none */
  unsigned char const *pre;      /* ciphertext already read from netin, fed first */
  size_t prelen;
  tain hsdeadline;               /* absolute deadline for the handshake */
  tain idle;                     /* relative; tain_infinite_relative: none */
  /* state and results */
  int hsdone;
  int err;                       /* BR_ERR_* or TLS_ERR_*, 0 if none */
  int syserr;                    /* errno for TLS_ERR_IO */
  uint64_t inbytes, outbytes;    /* plaintext received from / sent to the peer */
  unsigned int rechdr;           /* record tracking: header bytes seen (0..5) */
  size_t recleft;                /* body bytes left in the current record */
  unsigned char hdr[5];
};

/* fds non-blocking as a side effect; appin/appout may be set later (before
   the second tls_run). */
void tls_io_init(tls_io *io, int netin, int netout, int appin, int appout,
                 unsigned int hssecs, unsigned int idlesecs);

enum { TLS_RUN_FAIL = -1, TLS_RUN_DONE = 0, TLS_RUN_HANDSHAKE = 1 };

/* Drive the engine. With until_handshake, returns TLS_RUN_HANDSHAKE once
   the handshake is complete and our last flight is sent. Otherwise relays
   until the session ends: the application's EOF sends close_notify and
   ends it; the peer's close_notify or EOF closes appout (after all received
   data is delivered). appin and appout are closed by tls_run when done with
   them. TLS_RUN_DONE: clean end (io->err may be TLS_ERR_EOF: the peer
   closed without close_notify at a record boundary); TLS_RUN_FAIL: io->err. */
int tls_run(br_ssl_engine_context *eng, tls_io *io, int until_handshake);

/* "BR_ERR_BAD_VERSION", "BR_ERR_RECV_FATAL_ALERT+40", "timeout", ...;
   never 0 (buf, of TLS_ERRNAME_MAX bytes, is used for composed names). */
#define TLS_ERRNAME_MAX 48
char const *tls_error_name(int err, char *buf);

/* "TLSv1.2"; OpenSSL's names for cipher suites ("ECDHE-RSA-AES128-GCM-SHA256")
   as mod_ssl, ucspi-ssl and s6-networking report them; 0 if unknown. */
char const *tls_version_name(unsigned int version);
char const *tls_suite_name(uint16_t suite);

/* The UCSPI-TLS environment after a handshake: SSL_PROTOCOL=...\0
   SSL_CIPHER=...\0 and SSL_TLS_SNI_SERVERNAME=name\0 (or, with no SNI,
   "SSL_TLS_SNI_SERVERNAME\0" if unset_absent, meaning "unset" to skalibs'
   mexec, else nothing), then a final \0. Length written (< max), 0 if it
   does not fit. */
#define TLS_ENV_MAX 512
size_t tls_env_fmt(br_ssl_engine_context const *eng, char *buf, size_t max, int unset_absent);

#endif
