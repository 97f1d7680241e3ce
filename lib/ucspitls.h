/* The protocol program's side of UCSPI-TLS, for STARTTLS/STLS under
   tls-serve -S, s6-networking's s6-ucspitlsd or ucspi-ssl's sslserver -n.
   No cryptography here: the TLS engine is the server's other process. */
#ifndef PM_UCSPITLS_H
#define PM_UCSPITLS_H
#include <stddef.h>

#define UCSPITLS_ENV_MAX 1024

/* SSLCTLFD, SSLREADFD and SSLWRITEFD are set: STARTTLS can be offered. */
int ucspitls_available(void);

/* Once the "go ahead" reply has been written, and flushed, on fd 1: ask
   for TLS ('Y') and wait at most timeoutsecs for the handshake.
   1: the session is up. Talk on *rfd and *wfd from now on, and drop any
   cleartext input still buffered: it must not be taken as having come
   through TLS. env (if not 0; envmax bytes) gets the connection's
   "VAR=value\0...\0" list (SSL_PROTOCOL, SSL_CIPHER, ...).
   0: no TLS (errno; EPROTO: the handshake failed): end the session. */
int ucspitls_start(int *rfd, int *wfd, char *env, size_t envmax, unsigned int timeoutsecs);
#endif
