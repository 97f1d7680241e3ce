#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "maildir.h"
#include "imapstore/flags.h"

#define KWFILE_MAX 8192

static char const letters[5] = { 'R', 'F', 'T', 'S', 'D' } ;  /* bit order */
static char const *const names[5] = { "\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft" } ;

static char const *info (char const *name)
{
  char const *p = strchr(name, ':') ;
  return p && p[1] == '2' && p[2] == ',' ? p + 3 : 0 ;
}

void imapflags_parse (char const *name, uint32_t *flags, uint32_t *kw)
{
  char const *p = info(name) ;
  *flags = *kw = 0 ;
  if (!p) return ;
  for (; *p ; p++)
  {
    if (*p >= 'a' && *p <= 'z') *kw |= 1u << (*p - 'a') ;
    else for (unsigned int i = 0 ; i < 5 ; i++) if (*p == letters[i]) *flags |= 1u << i ;
  }
}

int imapflags_name (stralloc *sa, char const *name, uint32_t flags, uint32_t kw)
{
  char const *p = info(name) ;
  char set[128] = { 0 } ;
  sa->len = 0 ;
  if (!stralloc_catb(sa, name, str_chr(name, ':')) || !stralloc_cats(sa, ":2,")) return 0 ;
  /* other programs' letters stay, ours are replaced */
  if (p) for (; *p ; p++) if ((unsigned char)*p < 128 && *p > ' ') set[(unsigned char)*p] = 1 ;
  for (unsigned int i = 0 ; i < 5 ; i++) set[(unsigned char)letters[i]] = !!(flags & (1u << i)) ;
  for (unsigned int i = 0 ; i < KEYWORDS_MAX ; i++) set['a' + i] = !!(kw & (1u << i)) ;
  set[','] = set[':'] = set['/'] = 0 ;
  for (unsigned int c = 33 ; c < 127 ; c++)
    if (set[c] && !stralloc_catb(sa, (char *)&(char){ (char)c }, 1)) return 0 ;
  return stralloc_0(sa) ;
}

char const *imapflags_str (uint32_t bit)
{
  for (unsigned int i = 0 ; i < 5 ; i++) if (bit == 1u << i) return names[i] ;
  return 0 ;
}

/* IMAP atom characters, no '\\' (a keyword is not a system flag) */
static int valid_kw (char const *s)
{
  size_t n = strlen(s) ;
  if (!n || n > KEYWORD_LEN_MAX) return 0 ;
  for (size_t i = 0 ; i < n ; i++)
  {
    unsigned char c = s[i] ;
    if (c <= ' ' || c >= 127 || strchr("(){%*\"\\]", c)) return 0 ;
  }
  return 1 ;
}

static int parse (kwlist *k, char const *s, size_t len)
{
  k->names.len = 0 ;
  memset(k->off, 0, sizeof k->off) ;
  for (size_t i = 0 ; i < len ;)
  {
    size_t n = byte_chr(s + i, len - i, '\n'), sp ;
    unsigned int idx ;
    char const *line = s + i ;
    i += n + 1 ;
    sp = byte_chr(line, n, ' ') ;
    if (sp >= n || uint_scan(line, &idx) != sp || idx >= KEYWORDS_MAX || k->off[idx]) continue ;
    if (n - sp - 1 > KEYWORD_LEN_MAX || byte_chr(line + sp + 1, n - sp - 1, 0) < n - sp - 1) continue ;
    k->off[idx] = k->names.len + 1 ;
    if (!stralloc_catb(&k->names, line + sp + 1, n - sp - 1) || !stralloc_0(&k->names)) return 0 ;
  }
  return 1 ;
}

int kwlist_read (kwlist *k, char const *dir)
{
  stralloc path = STRALLOC_ZERO ;
  char buf[KWFILE_MAX] ;
  ssize_t r ;
  int ok = 0 ;
  if (!stralloc_cats(&path, dir) || !stralloc_cats(&path, "/" KEYWORDS_FILE) || !stralloc_0(&path)) goto end ;
  r = openreadnclose(path.s, buf, sizeof buf) ;
  if (r < 0 && errno != ENOENT) goto end ;
  ok = parse(k, buf, r < 0 ? 0 : (size_t)r) ;
 end:
  stralloc_free(&path) ;
  return ok ;
}

char const *kwlist_name (kwlist const *k, unsigned int i)
{
  return i < KEYWORDS_MAX && k->off[i] ? k->names.s + k->off[i] - 1 : 0 ;
}

int kwlist_find (kwlist const *k, char const *name)
{
  for (unsigned int i = 0 ; i < KEYWORDS_MAX ; i++)
    if (k->off[i] && !strcasecmp(k->names.s + k->off[i] - 1, name)) return (int)i ;
  return -1 ;
}

static int write_list (kwlist const *k, int fd)
{
  stralloc out = STRALLOC_ZERO ;
  char fmt[UINT_FMT] ;
  int ok = 1 ;
  for (unsigned int i = 0 ; ok && i < KEYWORDS_MAX ; i++)
    if (k->off[i])
      ok = stralloc_catb(&out, fmt, uint_fmt(fmt, i)) && stralloc_catb(&out, " ", 1)
        && stralloc_cats(&out, k->names.s + k->off[i] - 1) && stralloc_catb(&out, "\n", 1) ;
  ok = ok && allwrite(fd, out.s, out.len) == out.len && fd_sync(fd) == 0 ;
  stralloc_free(&out) ;
  return ok ;
}

int kwlist_add (kwlist *k, char const *dir, char const *name)
{
  stralloc path = STRALLOC_ZERO, lock = STRALLOC_ZERO ;
  int fd, r = -1, i ;
  if (!valid_kw(name)) return (errno = EINVAL, -1) ;
  i = kwlist_find(k, name) ;
  if (i >= 0) return i ;
  if (!stralloc_cats(&path, dir) || !stralloc_cats(&path, "/" KEYWORDS_FILE) || !stralloc_copy(&lock, &path)
   || !stralloc_cats(&lock, ".lock") || !stralloc_0(&lock) || !stralloc_0(&path)) goto end ;
  fd = maildir_dotlock(lock.s, 100) ;
  if (fd < 0) goto end ;
  if (!kwlist_read(k, dir)) goto unlock ;
  i = kwlist_find(k, name) ;
  if (i >= 0) { r = i ; goto unlock ; }
  for (i = 0 ; i < KEYWORDS_MAX && k->off[i] ; i++) ;
  if (i == KEYWORDS_MAX) { errno = ENOSPC ; goto unlock ; }
  k->off[i] = k->names.len + 1 ;
  if (!stralloc_cats(&k->names, name) || !stralloc_0(&k->names)) { k->off[i] = 0 ; goto unlock ; }
  if (!write_list(k, fd) || !maildir_dotlock_mine(fd, lock.s) || rename(lock.s, path.s) < 0) { k->off[i] = 0 ; goto unlock ; }
  fd_close(fd) ;
  r = i ;
  goto end ;
 unlock:
  { int e = errno ; unlink(lock.s) ; fd_close(fd) ; errno = e ; }
 end:
  stralloc_free(&path) ; stralloc_free(&lock) ;
  return r ;
}

void kwlist_free (kwlist *k)
{
  stralloc_free(&k->names) ;
}
