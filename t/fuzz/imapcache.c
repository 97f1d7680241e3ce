/* libFuzzer target: the message cache's file reader (lib/imapcache).
   Each input is a pipemail.cache file, written into a scratch folder
   (under $TMPDIR or /dev/shm) and then opened, read for a few UIDs,
   appended to, compacted and opened again. So that the fuzzer gets past
   the checksums, the first byte chooses fixes made before the write:
   bit 0 a valid file header (its directory offset, count and tail taken
   from the input), bit 1 the checksums of the entries found where an
   entry's magic is, bit 2 the directory's checksum. Whatever the bytes,
   nothing may crash and a read entry must lie within what was read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include "imapcache/imapcache.h"
#include "imapcache/imapcachepriv.h"

static char dir[4096] ;
static char file[4200] ;

static void cleanup (void)
{
  unlink(file) ;
  rmdir(dir) ;
}

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
  char const *tmp = getenv("TMPDIR") ;
  (void)argc ; (void)argv ;
  snprintf(dir, sizeof dir, "%s/pm-fuzz-cache.XXXXXX", tmp ? tmp : "/dev/shm") ;
  if (!mkdtemp(dir)) { perror("mkdtemp") ; exit(111) ; }
  snprintf(file, sizeof file, "%s/" IMAPCACHE_FILE, dir) ;
  atexit(&cleanup) ;
  return 0 ;
}

static uint64_t get64 (uint8_t const *s) { uint64_t v ; memcpy(&v, s, 8) ; return v ; }

static void fix (uint8_t *s, size_t n, unsigned mode)
{
  if (mode & 2)
    for (size_t k = IMAPCACHE_FILEHDR ; k + IMAPCACHE_RECHDR <= n ; k++)
    {
      uint32_t magic, len ;
      memcpy(&magic, s + k, 4) ; memcpy(&len, s + k + 4, 4) ;
      if (magic != IMAPCACHE_RECMAGIC || len < 16 || len > n - k) continue ;
      uint64_t sum = imapcache_sum((char *)s + k + 16, len - 16, len) ;
      memcpy(s + k + 8, &sum, 8) ;
    }
  if (n >= IMAPCACHE_FILEHDR && mode & 1)
  {
    uint64_t off = get64(s + 16) % (n + 1), cnt = get64(s + 24) % 64, dsum = get64(s + 32) ;
    uint64_t klen = get64(s + 48) % (n + 1), ksum = get64(s + 56) ;
    if (mode & 4 && off + cnt * 12 <= n) dsum = imapcache_sum((char *)s + off, cnt * 12, 0) ;
    if (mode & 4 && off + cnt * 12 + klen <= n) ksum = imapcache_sum((char *)s + off + cnt * 12, klen, 0) ;
    imapcache_filehdr((char *)s, 17, off, cnt, dsum, klen, ksum, off + cnt * 12 + klen) ;
  }
}

static int keep (void *ctx, uint32_t uid, char const *name, size_t nl, uint64_t size)
{
  (void)ctx ; (void)name ; (void)nl ;
  return (uid ^ size) & 1 ;
}

static int inside (char const *p, size_t n, char const *s, size_t len)
{
  return s && p >= s && p + n <= s + len ;
}

static void reads (imapcache *c)
{
  imapcache_entry e ;
  for (uint32_t k = 0 ; k < c->n && k < 64 ; k++)
  {
    uint32_t uid = c->ref[k].uid, len ;
    char const *p ;
    if (imapcache_get(c, uid, "x", 1, 1, &e))
      for (unsigned j = 0 ; j < IMAPCACHE_N ; j++)
        if (e.s[j] && !inside(e.s[j], e.len[j], c->win.s, c->win.len) && !inside(e.s[j], e.len[j], c->rec.s, c->rec.len)) abort() ;
    if (imapcache_keys(c, uid, "x", 1, 1, &p, &len) && !inside(p, len, c->keys, c->keylen)
        && !inside(p, len, c->win.s, c->win.len) && !inside(p, len, c->rec.s, c->rec.len)) abort() ;
  }
  imapcache_keys_drop(c) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  imapcache c = IMAPCACHE_ZERO ;
  uint8_t *s ;
  int fd ;
  if (!size || size > 200000) return 0 ;
  s = malloc(size) ;
  if (!s) abort() ;
  memcpy(s, data + 1, size - 1) ;
  fix(s, size - 1, data[0]) ;
  fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600) ;
  if (fd < 0 || write(fd, s, size - 1) != (ssize_t)(size - 1)) abort() ;
  close(fd) ;
  free(s) ;
  {
    /* the parser alone, on the raw input */
    uint32_t uid ; char const *nm ; size_t nl ; uint64_t sz ; imapcache_entry e ;
    size_t len = imapcache_parse((char const *)data, size, &uid, &nm, &nl, &sz, &e) ;
    if (len > size || (len && nm + nl > (char const *)data + len)) abort() ;
  }
  if (imapcache_open(&c, dir, 17))
  {
    imapcache_entry e = { { "(env)", 0, "(body)", "Subject: x\n", "keys" }, { 5, 0, 6, 11, 4 } } ;
    reads(&c) ;
    imapcache_put(&c, 1, "x", 1, 1, &e) ;
    if (!imapcache_get(&c, 1, "x", 1, 1, &e) || e.len[0] != 5 || memcmp(e.s[0], "(env)", 5)) abort() ;
    if (imapcache_wants_compact(&c) || data[0] & 8) imapcache_compact(&c, &keep, 0) ;
    reads(&c) ;
  }
  imapcache_free(&c) ;
  if (imapcache_open(&c, dir, 17)) reads(&c) ;
  imapcache_free(&c) ;
  return 0 ;
}
