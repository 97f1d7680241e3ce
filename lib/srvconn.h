/* A protocol server's view of its connection, shared by the servers that
   run under a UCSPI super-server (SMTP, POP3, IMAP): the peer as UCSPI
   names it, a session id for the logs, and TLS, either implicit
   (tls-serve sets SSL_PROTOCOL before running the server) or started by
   the protocol's STARTTLS command over UCSPI-TLS (lib/ucspitls). */
#ifndef PM_SRVCONN_H
#define PM_SRVCONN_H
#include <stddef.h>
#include "lineio.h"

typedef struct srvconn_s srvconn ;
struct srvconn_s {
  char id[40] ;            /* hex time . hex microseconds . pid */
  char const *ip, *host ;  /* $PROTO REMOTEIP / REMOTEHOST; 0 if unset or unsafe
                              (empty, too long, space, ()[] or control bytes) */
  int tls ;                /* the transport is TLS */
  int starttls ;           /* 1: STARTTLS can be offered; -1: the UCSPI-TLS
                              variables are set but a descriptor is not open;
                              0: no UCSPI-TLS, or already TLS */
  char tlsproto[32] ;      /* e.g. TLSv1.2; "" if unknown */
  char tlscipher[64] ;     /* OpenSSL's name, e.g. ECDHE-RSA-AES128-GCM-SHA256 */
} ;

/* From the environment. The UCSPI-TLS descriptors are made close-on-exec:
   children (the queue injector) never get the TLS pipes. */
void srvconn_init(srvconn *c) ;

/* The protocol's "go ahead" reply is in io's output buffer: flush it, ask
   for TLS, and once the handshake is done talk on the TLS descriptors.
   Cleartext input already buffered in io is thrown away (CVE-2011-0411),
   *dropped bytes of it. 1 ok (c->tls, c->tlsproto, c->tlscipher set);
   0 no TLS (errno; EPROTO: the handshake failed): end the session, the
   client is no longer talking cleartext. */
int srvconn_starttls(srvconn *c, lineio *io, unsigned int timeoutsecs, size_t *dropped) ;
#endif
