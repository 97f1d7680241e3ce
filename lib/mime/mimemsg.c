/* The parsed message: mapping, CRLF counts, section numbers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "mime/mime.h"

int mime_map(mime_msg *m, int fd)
{
  struct stat st;
  void *p = 0;
  if (fstat(fd, &st) < 0) return 0;
  if (st.st_size > 0) {
    p = mmap(0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return 0;
  }
  if (!mime_parse(m, p ? p : "", p ? (size_t)st.st_size : 0)) {
    int e = errno;
    if (p) munmap(p, st.st_size);
    errno = e;
    return 0;
  }
  m->map = p; m->maplen = st.st_size;
  return 1;
}

void mime_free(mime_msg *m)
{
  free(m->p);
  free(m->ck);
  if (m->map) munmap(m->map, m->maplen);
  *m = (mime_msg)MIME_MSG_ZERO;
}

/* LFs (bare: 1) before offset a */
static uint64_t count(mime_msg const *m, size_t a, int bare)
{
  size_t i = a / MIME_CHUNK, p = i * MIME_CHUNK;
  uint64_t n = m->ck[2 * i + bare];
  for (char const *q; p < a && (q = memchr(m->s + p, '\n', a - p)); p = q - m->s + 1)
    if (!bare || q == m->s || q[-1] != '\r') n++;
  return n;
}

uint64_t mime_crlfsize(mime_msg const *m, size_t a, size_t b)
{
  if (b <= a) return 0;
  /* an LF at a counts as bare: the range's reader does not look before it */
  return (b - a) + count(m, b, 1) - count(m, a, 1) + (a && m->s[a] == '\n' && m->s[a - 1] == '\r');
}

uint64_t mime_lines(mime_msg const *m, size_t a, size_t b)
{
  if (b <= a) return 0;
  return count(m, b, 0) - count(m, a, 0) + (m->s[b - 1] != '\n');
}

int mime_is(mime_msg const *m, mime_range r, char const *want)
{
  size_t n = strlen(want);
  if (r.len != n) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = m->s[r.off + i];
    if (c >= 'A' && c <= 'Z') c += 32;
    if (c != want[i]) return 0;
  }
  return 1;
}

long mime_find(mime_msg const *m, uint32_t const *nums, unsigned int n, int *ismsg)
{
  uint32_t cur = 0;
  int msg = 1;
  for (unsigned int i = 0; i < n; i++) {
    mime_part const *p = m->p + cur;
    if (!msg && p->kind == MIME_MSG) { cur = p->child; p = m->p + cur; msg = 1; }
    if (p->kind == MIME_MULTI) {
      uint32_t k = p->child;
      if (!nums[i] || nums[i] > p->nchild) return -1;
      for (uint32_t j = 1; j < nums[i]; j++) k = m->p[k].next;
      cur = k;
    } else if (!msg || nums[i] != 1) return -1;
    msg = 0;
  }
  *ismsg = msg;
  return cur;
}
