#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "queue.h"
#include "root.h"

#define STATE_MAX (16u << 20)   /* a state log larger than this is corrupt */
#define REASON_MAX 1000

static char queue_hash(char const *id)
{
  unsigned h = 5381;
  while (*id) h = h * 33 + (unsigned char)*id++;
  return "0123456789abcdef"[h & 15];
}

void queue_id_make(char *id)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(id, QUEUE_IDLEN + 1, "%llx.%lx.%lx",
           (unsigned long long)ts.tv_sec, (unsigned long)ts.tv_nsec, (unsigned long)getpid());
}

int queue_path(stralloc *sa, char const *rel)
{
  sa->len = 0;
  if (!stralloc_cats(sa, pm_root()) || !stralloc_cats(sa, "/queue/")
   || !stralloc_cats(sa, rel) || !stralloc_0(sa)) return 0;
  sa->len--;
  return 1;
}

static int queue_path2(stralloc *sa, char const *dir, char const *id)
{
  if (!queue_path(sa, dir) || !stralloc_cats(sa, id) || !stralloc_0(sa)) return 0;
  sa->len--;
  return 1;
}

int queue_path_msg(stralloc *sa, char const *id)
{
  char dir[7] = "msg/x/";
  dir[4] = queue_hash(id);
  return queue_path2(sa, dir, id);
}

int queue_path_state(stralloc *sa, char const *id) { return queue_path2(sa, "state/", id); }
int queue_path_tmp(stralloc *sa, char const *id) { return queue_path2(sa, "tmp/", id); }

static int mkdir_p(stralloc *sa, char const *rel, mode_t mode)
{
  if (!queue_path(sa, rel)) return 0;
  return mkdir(sa->s, mode) == 0 || errno == EEXIST;
}

int queue_init_dirs(void)
{
  stralloc sa = STRALLOC_ZERO;
  char sub[7] = "msg/x";
  int ok = 1;
  stralloc_cats(&sa, pm_root());
  stralloc_0(&sa);
  if (mkdir(sa.s, 0755) < 0 && errno != EEXIST) ok = 0;
  ok = ok && mkdir_p(&sa, "", 0770) && mkdir_p(&sa, "tmp", 0770)
          && mkdir_p(&sa, "msg", 0770) && mkdir_p(&sa, "state", 0770)
          && mkdir_p(&sa, "pool", 0770);
  for (unsigned i = 0; ok && i < 16; i++) {
    sub[4] = "0123456789abcdef"[i];
    ok = mkdir_p(&sa, sub, 0770);
  }
  if (ok && queue_path(&sa, "trigger") && mkfifo(sa.s, 0660) < 0 && errno != EEXIST) ok = 0;
  stralloc_free(&sa);
  return ok;
}

int queue_env_check(char const *s, size_t len)
{
  size_t i = 0;
  uint32_t n = 0;
  if (!len || s[0] != 'F') return 91;
  for (;;) {
    if (i >= len) return 91;
    if (s[i] == 0) break;                 /* end of recipient list */
    if (s[i] != (n ? 'T' : 'F')) return 91;
    size_t e = i + 1 + byte_chr(s + i + 1, len - i - 1, 0);
    if (e >= len) return 91;
    if (e - i - 1 > QUEUE_MAXADDR) return 11;
    for (size_t j = i + 1; j < e; j++) if (s[j] == '\n' || s[j] == '\r') return 91;
    if (++n > QUEUE_MAXRCPT + 1) return 91;
    i = e + 1;
  }
  if (n < 2 || i + 1 != len) return 91;   /* a sender and at least one recipient */
  return 0;
}

static int parse_magic(qmsg *m, char const *h, uint64_t *envlen)
{
  uint64_t hl, el;
  if (memcmp(h, "PMQ1 ", 5) || h[QUEUE_MAGICLEN - 1] != '\n') return 0;
  if (uint64_scan(h + 5, &hl) != 10 || h[15] != ' ') return 0;
  if (uint64_scan(h + 16, &m->arrival) != 20 || h[36] != ' ') return 0;
  if (uint64_scan(h + 37, &el) != 10) return 0;
  if (hl < QUEUE_MAGICLEN + el || hl > (1u << 30)) return 0;
  m->hdrlen = (uint32_t)hl;
  *envlen = el;
  return 1;
}

static int parse_env(qmsg *m)
{
  char const *s = m->env.s;
  size_t len = m->env.len, i;
  if (queue_env_check(s, len)) return (errno = EPROTO, 0);
  m->sender = s + 1;
  i = strlen(s) + 1;
  m->nrcpt = 0;
  for (size_t j = i; s[j]; j += strlen(s + j) + 1) m->nrcpt++;
  m->rcpt = calloc(m->nrcpt, sizeof(qrcpt));
  if (!m->rcpt) return 0;
  for (uint32_t k = 0; k < m->nrcpt; k++) {
    m->rcpt[k].addr = s + i + 1;
    i += strlen(s + i) + 1;
  }
  return 1;
}

int queue_state_apply(qmsg *m, char const *line, size_t len)
{
  uint64_t idx, t, next;
  size_t p = 0, n;
  char code;
  char buf[REASON_MAX + 1];
  n = uint64_scan(line, &idx); if (!n || idx >= m->nrcpt) return 0; p += n;
  if (p + 3 > len || line[p] != ' ') return 0;
  code = line[p + 1];
  if (code != QR_DONE && code != QR_FAILED && code != QR_BOUNCED && code != QR_TEMP) return 0;
  p += 2;
  if (line[p++] != ' ') return 0;
  n = uint64_scan(line + p, &t); if (!n) return 0; p += n;
  if (p >= len || line[p++] != ' ') return 0;
  n = uint64_scan(line + p, &next); if (!n) return 0; p += n;
  qrcpt *r = &m->rcpt[idx];
  if (r->state == QR_DONE || r->state == QR_BOUNCED) return 1;   /* final */
  r->state = code;
  if (code != QR_BOUNCED) { r->attempts++; r->last = t; r->next = next; }
  if (p < len && line[p] == ' ') {
    n = len - p - 1;
    if (n > REASON_MAX) n = REASON_MAX;
    if (n) {
      memcpy(buf, line + p + 1, n);
      buf[n] = 0;
      r->reason = m->reasons.len;
      if (!stralloc_catb(&m->reasons, buf, n + 1)) return -1;
    }
  }
  return 1;
}

static int load_state(qmsg *m)
{
  stralloc path = STRALLOC_ZERO, sa = STRALLOC_ZERO;
  int r = 1;
  if (!queue_path_state(&path, m->id)) return 0;
  if (!openreadfileclose(path.s, &sa, STATE_MAX)) r = errno == ENOENT;
  for (size_t i = 0; r && i < sa.len; ) {
    size_t e = i + byte_chr(sa.s + i, sa.len - i, '\n');
    if (e >= sa.len) break;                     /* partial last line: crash */
    if (queue_state_apply(m, sa.s + i, e - i) < 0) r = 0;
    i = e + 1;
  }
  stralloc_free(&sa);
  stralloc_free(&path);
  return r;
}

int queue_load(qmsg *m, char const *id, int *fdp)
{
  stralloc path = STRALLOC_ZERO;
  char h[QUEUE_MAGICLEN];
  struct stat st;
  uint64_t envlen;
  int fd, e;
  if (strlen(id) > QUEUE_IDLEN) return (errno = EINVAL, -1);
  strcpy(m->id, id);
  if (!queue_path_msg(&path, id)) return -1;
  fd = open(path.s, O_RDONLY | O_CLOEXEC);
  stralloc_free(&path);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  if (fstat(fd, &st) < 0 || allread(fd, h, sizeof h) != sizeof h) goto err;
  if (!parse_magic(m, h, &envlen) || (uint64_t)st.st_size < m->hdrlen) { errno = EPROTO; goto err; }
  m->size = st.st_size - m->hdrlen;
  m->env.len = 0;
  if (!stralloc_ready(&m->env, envlen + 1)) goto err;
  if (allread(fd, m->env.s, envlen) != envlen) { errno = EPROTO; goto err; }
  m->env.len = envlen;
  m->reasons.len = 0;
  if (!stralloc_0(&m->reasons)) goto err;
  if (!parse_env(m) || !load_state(m)) goto err;
  if (fdp) *fdp = fd; else close(fd);
  return 1;
err:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

void queue_free(qmsg *m)
{
  free(m->rcpt);
  m->rcpt = 0;
  m->nrcpt = 0;
  stralloc_free(&m->env);
  stralloc_free(&m->reasons);
}

int queue_state_append(char const *id, uint32_t idx, char code, uint64_t t, uint64_t next, char const *text, int dosync)
{
  stralloc path = STRALLOC_ZERO;
  char line[REASON_MAX + 80];
  int n, fd, ok;
  n = snprintf(line, sizeof line - 1, "%u %c %llu %llu ", idx, code,
               (unsigned long long)t, (unsigned long long)next);
  for (char const *s = text ? text : ""; *s && n < (int)sizeof line - 2; s++)
    line[n++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
  line[n++] = '\n';
  if (!queue_path_state(&path, id)) return 0;
  fd = open(path.s, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  stralloc_free(&path);
  if (fd < 0) return 0;
  /* one write: O_APPEND keeps a line whole, so a crash leaves at most a partial last line */
  ok = write(fd, line, n) == n && (!dosync || fsync(fd) == 0);
  n = errno;
  close(fd);
  errno = n;
  return ok;
}

int queue_msg_finished(qmsg const *m)
{
  for (uint32_t i = 0; i < m->nrcpt; i++)
    if (m->rcpt[i].state != QR_DONE && m->rcpt[i].state != QR_BOUNCED) return 0;
  return 1;
}

/* A finished file goes to a free slot found by probing at random (the pool
   is sparse: the first probe mostly finds one). A probe looks the name up
   with fstatat before any rename: a rename between directories takes the
   file system's rename lock even when it fails, and every session and
   delivery contends for it. */
#define POOL_PROBES 16

static int pool_dir(void)
{
  stralloc sa = STRALLOC_ZERO;
  int fd = queue_path(&sa, "pool") ? open(sa.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  stralloc_free(&sa);
  return fd;
}

static int pool_used(int dir, char *name, unsigned k)
{
  struct stat st;
  name[uint_fmt(name, k % QUEUE_POOL)] = 0;
  return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static unsigned pool_start(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned)(ts.tv_nsec ^ getpid());
}

/* Out of msg/ into a free pool slot, else unlinked (so are large files:
   disk kept for reuse stays bounded). */
static int recycle(char const *path)
{
  char name[UINT_FMT];
  unsigned k = pool_start();
  int r = -1, dir;
  struct stat st;
  if (stat(path, &st) < 0) return errno == ENOENT;
  if (st.st_size <= QUEUE_POOL_FILEMAX && (dir = pool_dir()) >= 0) {
    for (unsigned i = 0; i < POOL_PROBES; i++, k += 37) {
      if (pool_used(dir, name, k)) continue;
      r = renameat2(AT_FDCWD, path, dir, name, RENAME_NOREPLACE);
      if (r == 0 || errno != EEXIST) break;
    }
    close(dir);
    if (r == 0 || errno == ENOENT) return 1;
  }
  return unlink(path) == 0 || errno == ENOENT;
}

/* Into path and open, or -1 (not ours to reuse: removed). */
static int pool_open(char const *path)
{
  /* no O_TRUNC: overwriting the blocks in place spares the file system
     freeing and allocating them again; the writer cuts off the rest */
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) unlink(path);
  return fd;
}

/* Up to max slots of the pool that hold files, into slot, from the first
   getdents64 calls that find any: the pool holds a handful of files in
   4096 slots, so probing slots at random cost a dozen failed lookups per
   message, and a listing kept from one message to the next had mostly
   been taken by the other sessions. A small buffer: the kernel's cost is
   per entry returned, and a few dozen to choose from are enough. */
static unsigned list_pool(int dir, uint16_t *slot, unsigned max)
{
  char buf[1024];
  unsigned n = 0;
  ssize_t r;
  if (lseek(dir, 0, SEEK_SET) < 0) return 0;
  for (unsigned calls = 0; !n && calls < 4 && (r = getdents64(dir, buf, sizeof buf)) > 0; calls++) {
    for (ssize_t o = 0; o < r && n < max;) {
      struct dirent64 *e = (struct dirent64 *)(buf + o);
      unsigned k;
      o += e->d_reclen;
      if (!e->d_name[uint0_scan(e->d_name, &k)] && k < QUEUE_POOL) slot[n++] = k;
    }
  }
  return n;
}

int queue_pool_take(char const *path)
{
  char name[UINT_FMT];
  uint16_t slot[64];
  unsigned seed = pool_start(), n;
  int dir = pool_dir(), fd = -1;
  if (dir < 0) return -1;
  n = list_pool(dir, slot, sizeof slot / sizeof *slot);
  /* one listed at random: sessions that listed the same files at the same
     time seldom go for the same one (the loser's rename fails, harmless).
     renameat2, not rename: fault-injection tests tell the two apart */
  for (unsigned tries = 0; fd < 0 && n && tries < 8; tries++) {
    unsigned i = (seed = seed * 1103515245u + 12345u) % n;
    name[uint_fmt(name, slot[i])] = 0;
    slot[i] = slot[--n];
    if (renameat2(dir, name, AT_FDCWD, path, RENAME_NOREPLACE) == 0) { fd = pool_open(path); break; }
  }
  close(dir);
  return fd;
}

int queue_remove(char const *id)
{
  stralloc path = STRALLOC_ZERO;
  int ok = 1;
  /* message first: a crash in between leaves an orphan state log (swept by
     queue-run), never a message that would be delivered again from scratch */
  if (!queue_path_msg(&path, id) || !recycle(path.s)) ok = 0;
  if (ok && (!queue_path_state(&path, id) || (unlink(path.s) < 0 && errno != ENOENT))) ok = 0;
  stralloc_free(&path);
  return ok;
}

void queue_trigger(char const *id)
{
  stralloc path = STRALLOC_ZERO;
  char line[QUEUE_IDLEN + 2];
  size_t n = strlen(id);
  int fd;
  if (n > QUEUE_IDLEN || !queue_path(&path, "trigger")) return;
  memcpy(line, id, n);
  line[n++] = '\n';
  fd = open(path.s, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  stralloc_free(&path);
  if (fd < 0) return;          /* no reader: queue-run scans at start */
  if (write(fd, line, n) < 0) {}
  close(fd);
}

int queue_wake(void)
{
  stralloc path = STRALLOC_ZERO;
  int fd, e;
  ssize_t w;
  if (!queue_path(&path, "trigger")) return 0;
  fd = open(path.s, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  e = errno;
  stralloc_free(&path);
  if (fd < 0) { errno = e; return 0; }
  w = write(fd, "!\n", 2);
  e = errno;
  close(fd);
  errno = e;
  return w == 2;
}
