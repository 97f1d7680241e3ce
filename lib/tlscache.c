/* File-backed TLS session cache: see tlscache.h. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bearssl.h>
#include "tlscache.h"

/* The file: magic "PMTS", format 1, version (2, big-endian), suite (2),
   master secret (48), name length (1), server name (255, zero padded). */
#define MAGIC "PMTS\001"
#define MAGICLEN 5
#define NAMEMAX 255
#define OFF_VER MAGICLEN
#define OFF_SUITE (OFF_VER + 2)
#define OFF_MS (OFF_SUITE + 2)
#define OFF_NLEN (OFF_MS + 48)
#define OFF_NAME (OFF_NLEN + 1)
#define FILESIZE (OFF_NAME + NAMEMAX)
#define IDLEN 32
#define HEXLEN (2 * IDLEN)

static tls_cache *CACHE(br_ssl_session_cache_class const **ctx)
{
  return (tls_cache *)(void *)((char *)ctx - offsetof(tls_cache, vtable));
}

static void hexname(char *buf, char const *prefix, unsigned char const *id)
{
  static char const hex[] = "0123456789abcdef";
  size_t p = strlen(prefix);
  memcpy(buf, prefix, p);
  for (size_t i = 0; i < IDLEN; i++) {
    buf[p + 2*i] = hex[id[i] >> 4];
    buf[p + 2*i + 1] = hex[id[i] & 15];
  }
  buf[p + HEXLEN] = 0;
}

static void wipe(void *p, size_t n)
{
  volatile unsigned char *v = p;
  while (n--) *v++ = 0;
}

/* The SNI name of this handshake, as stored: at most NAMEMAX bytes, lower case. */
static size_t sniname(br_ssl_server_context const *sc, char *out)
{
  char const *s = br_ssl_engine_get_server_name(&sc->eng);
  size_t n = 0;
  for (; s && s[n] && n < NAMEMAX; n++)
    out[n] = s[n] >= 'A' && s[n] <= 'Z' ? s[n] + 32 : s[n];
  return n;
}

static int expired(struct stat const *st, unsigned int lifetime)
{
  time_t now = time(0);
  return st->st_mtime > now + 5 || now - st->st_mtime > (time_t)lifetime;
}

/* Entries in the directory, once expired ones and strays (wrong type or
   owner, old temporary files) are removed. */
static unsigned int scan(tls_cache *c)
{
  unsigned int n = 0;
  struct dirent *d;
  DIR *dir;
  int fd = openat(c->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return (unsigned int)-1;
  dir = fdopendir(fd);
  if (!dir) { close(fd); return (unsigned int)-1; }
  while ((d = readdir(dir))) {
    struct stat st;
    if (d->d_name[0] == '.' && (!d->d_name[1] || (d->d_name[1] == '.' && !d->d_name[2]))) continue;
    if (!fstatat(c->dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW)
        && (expired(&st, c->lifetime) || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
        && !unlinkat(c->dirfd, d->d_name, 0)) continue;
    n++;
  }
  closedir(dir);
  return n;
}

/* Counting the directory at every save read all its entries (and, over
   maxfiles, stat'ed each) at every full handshake: with 10000 entries,
   handshakes were 8 times slower. So it is counted, its expired entries
   removed, at one save in SAMPLE (the session ID is random), and the
   verdict kept in the file FULL for the saves in between. 1: no room. */
#define SAMPLE 64
#define FULL ".full"
static int full(tls_cache *c, unsigned char const *id)
{
  struct stat st;
  int over, fd;
  if (id[0] % SAMPLE) return !fstatat(c->dirfd, FULL, &st, AT_SYMLINK_NOFOLLOW);
  over = scan(c) >= c->maxfiles;
  if (!over) unlinkat(c->dirfd, FULL, 0);
  else if ((fd = openat(c->dirfd, FULL, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) close(fd);
  return over;
}

static void cache_save(br_ssl_session_cache_class const **ctx, br_ssl_server_context *sc,
                       br_ssl_session_parameters const *params)
{
  tls_cache *c = CACHE(ctx);
  unsigned char buf[FILESIZE];
  char name[HEXLEN + 1], tmp[HEXLEN + 4];
  size_t nlen;
  int fd;
  ssize_t w;
  c->saved = 1;
  if (c->dirfd < 0 || params->session_id_len != IDLEN) return;
  if (full(c, params->session_id)) return;
  memset(buf, 0, sizeof buf);
  memcpy(buf, MAGIC, MAGICLEN);
  buf[OFF_VER] = params->version >> 8;
  buf[OFF_VER + 1] = params->version & 255;
  buf[OFF_SUITE] = params->cipher_suite >> 8;
  buf[OFF_SUITE + 1] = params->cipher_suite & 255;
  memcpy(buf + OFF_MS, params->master_secret, 48);
  nlen = sniname(sc, (char *)buf + OFF_NAME);
  buf[OFF_NLEN] = nlen;
  hexname(name, "", params->session_id);
  hexname(tmp, ".t.", params->session_id);
  fd = openat(c->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) {
    do w = write(fd, buf, sizeof buf); while (w < 0 && errno == EINTR);
    if (close(fd) < 0 || w != (ssize_t)sizeof buf || renameat(c->dirfd, tmp, c->dirfd, name) < 0)
      unlinkat(c->dirfd, tmp, 0);
  }
  wipe(buf, sizeof buf);
}

/* Read exactly one entry's worth from a regular file of ours; 1 ok. */
static int readentry(tls_cache *c, char const *name, unsigned char *buf)
{
  struct stat st;
  ssize_t r;
  int fd = openat(c->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return 0;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) { close(fd); return 0; }
  if (expired(&st, c->lifetime) || st.st_size != FILESIZE) {
    close(fd);
    unlinkat(c->dirfd, name, 0);
    return 0;
  }
  do r = read(fd, buf, FILESIZE); while (r < 0 && errno == EINTR);
  close(fd);
  return r == FILESIZE;
}

static int cache_load(br_ssl_session_cache_class const **ctx, br_ssl_server_context *sc,
                      br_ssl_session_parameters *params)
{
  tls_cache *c = CACHE(ctx);
  unsigned char buf[FILESIZE];
  char name[HEXLEN + 1];
  unsigned int version;
  int ok = 0;
  (void)sc;
  if (c->dirfd < 0 || params->session_id_len != IDLEN) return 0;
  hexname(name, "", params->session_id);
  if (!readentry(c, name, buf)) return 0;
  version = (unsigned int)buf[OFF_VER] << 8 | buf[OFF_VER + 1];
  /* never trust the file beyond its layout: a known version only; the
     suite is BearSSL's to accept or refuse for this ClientHello (a wrong
     secret only fails the Finished check). The SNI name is not parsed yet
     (it comes after the session ID): tls_cache_check compares it later. */
  if (!memcmp(buf, MAGIC, MAGICLEN) && version >= BR_TLS10 && version <= BR_TLS12) {
    c->nlen = buf[OFF_NLEN];
    memcpy(c->name, buf + OFF_NAME, c->nlen);
    params->version = version;
    params->cipher_suite = (uint16_t)(buf[OFF_SUITE] << 8 | buf[OFF_SUITE + 1]);
    memcpy(params->master_secret, buf + OFF_MS, 48);
    ok = c->loaded = 1;
  }
  wipe(buf, sizeof buf);
  return ok;
}

static br_ssl_session_cache_class const tls_cache_vtable = {
  sizeof(tls_cache), &cache_save, &cache_load
};

int tls_cache_open(tls_cache *c, char const *dir, unsigned int lifetime, char const **why)
{
  struct stat st;
  *why = 0;
  c->vtable = &tls_cache_vtable;
  c->dirfd = -1;
  c->lifetime = lifetime;
  c->maxfiles = TLS_CACHE_MAXFILES;
  c->loaded = c->saved = 0;
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) return 0;
  c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (c->dirfd < 0) return 0;
  if (fstat(c->dirfd, &st) < 0) { tls_cache_close(c); return 0; }
  if (st.st_uid != geteuid()) *why = "not owned by the TLS user";
  else if (st.st_mode & 077) *why = "group or other accessible (must be 0700)";
  if (*why) { tls_cache_close(c); return 0; }
  return 1;
}

void tls_cache_close(tls_cache *c)
{
  if (c->dirfd >= 0) close(c->dirfd);
  c->dirfd = -1;
}

int tls_cache_resumed(tls_cache const *c)
{
  return c->loaded && !c->saved;
}

int tls_cache_check(tls_cache const *c, br_ssl_server_context const *sc)
{
  char sni[NAMEMAX];
  size_t n;
  if (!tls_cache_resumed(c)) return 1;
  n = sniname(sc, sni);
  return n == c->nlen && !memcmp(sni, c->name, n);
}
