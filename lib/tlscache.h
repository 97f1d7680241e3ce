/* A TLS session cache shared by processes (BearSSL's
   br_ssl_session_cache_class), for a server run once per connection:
   one file per session in a directory, named by the hex of the session ID,
   holding the version, cipher suite, master secret and server name (SNI).
   BearSSL 0.6 has no session tickets, so this is its only way to resume.

   SECURITY: the files hold session master secrets. Whoever reads one can
   decrypt the recorded traffic of that session (and of its resumptions).
   The directory must be on tmpfs (/dev/shm, /run), so that secrets never
   reach a disk, and belong to the engine's user only (mode 0700):
   tls_cache_open refuses a directory that is group or other accessible or
   not owned by the effective uid. Files are 0600, written to a temporary
   name and renamed; an entry older than the lifetime is a miss and is
   removed; a file of the wrong size, magic, owner or type is ignored. A
   session may resume only with the server name it was made with (RFC 6066):
   BearSSL looks the session up before it reads SNI, so the caller checks
   with tls_cache_check after the handshake and drops a connection that fails. */
#ifndef PM_TLSCACHE_H
#define PM_TLSCACHE_H
#include <bearssl.h>

#define TLS_CACHE_LIFETIME 300     /* seconds, default */
#define TLS_CACHE_MAXFILES 10000   /* above: no new entry (counted, and expired
                                      entries removed, at one save in 64) */

typedef struct tls_cache_s tls_cache;
struct tls_cache_s {
  br_ssl_session_cache_class const *vtable;   /* for br_ssl_server_set_cache */
  int dirfd;
  unsigned int lifetime, maxfiles;
  int loaded, saved;                          /* this handshake's lookups */
  unsigned char nlen;                         /* server name of the loaded session */
  char name[255];
};

/* Open (creating it 0700 if absent) the cache directory dir, owned by the
   effective uid and not group or other accessible. 1 ok; 0 refused with
   *why, or *why == 0 and errno. Then br_ssl_server_set_cache(sc, &c->vtable). */
int tls_cache_open(tls_cache *c, char const *dir, unsigned int lifetime, char const **why);
void tls_cache_close(tls_cache *c);

/* After a handshake: was the session resumed from the cache? */
int tls_cache_resumed(tls_cache const *c);
/* 0 if the session was resumed under another server name than its own. */
int tls_cache_check(tls_cache const *c, br_ssl_server_context const *sc);
#endif
