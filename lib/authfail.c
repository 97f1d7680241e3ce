/* The table of failed authentications: see authfail.h. The file is an
   array of AUTHFAIL_SLOTS slots, zero-filled when made (an empty ip is a
   free slot). It lives on tmpfs: a reboot forgets it, which is fine. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "authfail.h"
#include "idlemem.h"
#include "root.h"

typedef struct slot_s slot ;
struct slot_s {
  char ip[AUTHFAIL_IPMAX + 1] ;   /* NUL-terminated; "" free */
  uint32_t count ;
  uint32_t pad ;
  int64_t last ;                  /* time of the last failure */
} ;

static slot table[AUTHFAIL_SLOTS] ;
#define TABLESIZE (sizeof table)

void authfail_init(authfail *a)
{
  static char def[64] = "/dev/shm/pipemail-authfail-" ;
  char const *p = getenv("AUTHFAIL_FILE");
  if (!p || !*p) {
    size_t n = strlen(def);
    if (def[n-1] == '-') def[n + uint_fmt(def + n, (unsigned int)geteuid())] = 0;
    p = def;
  }
  a->path = p;
  a->maxfail = pm_env_ulong("AUTH_MAXFAIL", 10);
  a->lockout = pm_env_ulong("AUTH_LOCKOUT", 900);
  if (!a->maxfail) a->maxfail = 10;
}

/* Open and lock the table, read it into table[]. fd, or -1. A file that
   is not a regular file of ours (planted by another user of /dev/shm) is
   refused. */
static int load(authfail const *a)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET } ;
  struct stat st;
  int fd = open(a->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (fstat(fd, &st) < 0) goto fail;
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) { errno = EPERM; goto fail; }
  while (fcntl(fd, F_SETLKW, &fl) < 0) if (errno != EINTR) goto fail;
  if (fstat(fd, &st) < 0) goto fail;
  if ((size_t)st.st_size != TABLESIZE) {     /* new (or damaged): empty */
    memset(table, 0, TABLESIZE);
    if (ftruncate(fd, 0) < 0 || ftruncate(fd, TABLESIZE) < 0) goto fail;
  } else if (pread(fd, table, TABLESIZE, 0) != (ssize_t)TABLESIZE) { errno = EIO; goto fail; }
  for (size_t i = 0; i < AUTHFAIL_SLOTS; i++) table[i].ip[AUTHFAIL_IPMAX] = 0;
  return fd;
 fail:
  fd_close(fd);
  return -1;
}

/* The lock dropped; table[] is only a copy of the file for one call:
   its pages go back (64 KB a login process would keep all session). */
static void done(int fd)
{
  fd_close(fd);
  idlemem_drop(table, TABLESIZE);
}

static int store(int fd, size_t i)
{
  int r = pwrite(fd, &table[i], sizeof table[i], (off_t)(i * sizeof table[i])) == (ssize_t)sizeof table[i];
  done(fd);
  return r;
}

static char const *key(char const *ip)
{
  return ip && *ip && strlen(ip) <= AUTHFAIL_IPMAX ? ip : "unknown";
}

/* ip's slot, or -1; a slot past its life is freed on the way. */
static long find(authfail const *a, char const *ip, int64_t now)
{
  long found = -1;
  for (size_t i = 0; i < AUTHFAIL_SLOTS; i++) {
    if (!table[i].ip[0]) continue;
    if (now - table[i].last >= (int64_t)a->lockout) { table[i].ip[0] = 0; continue; }
    if (!strcmp(table[i].ip, ip)) found = (long)i;
  }
  return found;
}

long authfail_locked(authfail const *a, char const *ip)
{
  int64_t now = time(0);
  long i, r = 0;
  int fd = load(a);
  if (fd < 0) return -1;
  i = find(a, key(ip), now);
  if (i >= 0 && table[i].count >= a->maxfail) r = (long)(table[i].last + a->lockout - now);
  done(fd);
  return r;
}

long authfail_add(authfail const *a, char const *ip)
{
  int64_t now = time(0);
  long i;
  uint32_t n;
  int fd = load(a);
  if (fd < 0) return -1;
  ip = key(ip);
  i = find(a, ip, now);
  if (i < 0) {                     /* a free slot, else the stalest */
    i = 0;
    for (size_t j = 0; j < AUTHFAIL_SLOTS; j++) {
      if (!table[j].ip[0]) { i = (long)j; break; }
      if (table[j].last < table[i].last) i = (long)j;
    }
    memset(&table[i], 0, sizeof table[i]);
    memcpy(table[i].ip, ip, strlen(ip));
  }
  if (table[i].count < UINT32_MAX) table[i].count++;
  table[i].last = now;
  n = table[i].count;
  if (!store(fd, (size_t)i)) return -1;
  return (long)n;
}

void authfail_clear(authfail const *a, char const *ip)
{
  long i;
  int fd = load(a);
  if (fd < 0) return;
  i = find(a, key(ip), time(0));
  if (i < 0) { done(fd); return; }
  memset(&table[i], 0, sizeof table[i]);
  store(fd, (size_t)i);
}
