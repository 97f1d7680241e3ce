/* maildir_subscribe: a folder into the Maildir's IMAP subscriptions, the
   file Dovecot keeps (see maildir.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include "maildir.h"

#define V2_HEADER "V\t2\n\n"   /* Dovecot's version 2: '\t' between levels */
#define LOCK_TRIES 20          /* 100 ms apart: a delivery waits at most 2 s */
#define LOCK_STALE 30          /* seconds untouched: Dovecot's stale timeout */

/* Dovecot's lock protocol: PATH.lock made with O_EXCL, written, renamed
   over PATH; one older than LOCK_STALE seconds is a crashed writer's. */
int maildir_dotlock (char const *lock, unsigned int tries)
{
  for (unsigned int i = 0 ; i < tries ; i++)
  {
    struct stat st ;
    int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
    if (fd >= 0 || errno != EEXIST) return fd ;
    if (stat(lock, &st) == 0 && time(0) - st.st_mtime > LOCK_STALE) { unlink(lock) ; continue ; }
    nanosleep(&(struct timespec){ .tv_sec = 0, .tv_nsec = 100000000 }, 0) ;
  }
  errno = EAGAIN ;
  return -1 ;
}

/* sa = contents of path (empty if absent), at most MAILDIR_SUBS_MAX
   bytes; *mode its permissions, or if absent those of the Maildir less
   the x bits, as Dovecot makes it. */
static int read_subs (char const *path, char const *maildir, stralloc *sa, mode_t *mode)
{
  struct stat st ;
  size_t n ;
  int fd = open(path, O_RDONLY | O_CLOEXEC), e ;
  if (fd < 0) {
    if (errno != ENOENT || stat(maildir, &st) < 0) return 0 ;
    *mode = st.st_mode & 0666 ;
    return 1 ;
  }
  if (fstat(fd, &st) < 0) goto err ;
  *mode = st.st_mode & 0777 ;
  if (st.st_size > MAILDIR_SUBS_MAX) { errno = EFBIG ; goto err ; }
  if (!stralloc_ready(sa, MAILDIR_SUBS_MAX + 1)) goto err ;
  errno = 0 ;
  n = allread(fd, sa->s, MAILDIR_SUBS_MAX + 1) ;
  if (errno && errno != EPIPE) goto err ;
  if (n > MAILDIR_SUBS_MAX) { errno = EFBIG ; goto err ; }  /* grew meanwhile */
  sa->len = n ;
  fd_close(fd) ;
  return 1 ;
 err:
  e = errno ; fd_close(fd) ; errno = e ;
  return 0 ;
}

static int listed (char const *s, size_t len, char const *entry, size_t elen)
{
  while (len)
  {
    char const *nl = memchr(s, '\n', len) ;
    size_t n = nl ? (size_t)(nl - s) : len ;
    if (n == elen && !memcmp(s, entry, n)) return 1 ;
    if (!nl) break ;
    s += n + 1 ; len -= n + 1 ;
  }
  return 0 ;
}

int maildir_dotlock_mine (int fd, char const *lock)
{
  struct stat a, b ;
  return fstat(fd, &a) == 0 && stat(lock, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino ;
}

/* old without the line entry (all of its copies). */
static void drop_line (stralloc *old, size_t body, char const *entry, size_t elen)
{
  size_t i = body, j = body ;
  while (i < old->len)
  {
    char const *nl = memchr(old->s + i, '\n', old->len - i) ;
    size_t n = nl ? (size_t)(nl - old->s - i) : old->len - i ;
    size_t end = i + n + !!nl ;
    if (!(n == elen && !memcmp(old->s + i, entry, n)))
    {
      memmove(old->s + j, old->s + i, end - i) ;
      j += end - i ;
    }
    i = end ;
  }
  old->len = j ;
}

static int edit (char const *maildir, char const *folder, int add)
{
  stralloc path = STRALLOC_ZERO, lock = STRALLOC_ZERO, old = STRALLOC_ZERO, entry = STRALLOC_ZERO ;
  int fd = -1, ok = 0, mine = 0, e ;
  mode_t mode ;
  size_t body = 0 ;
  if (!maildir_folder_valid(folder)) { errno = EINVAL ; return 0 ; }
  if (!stralloc_cats(&path, maildir) || !stralloc_cats(&path, "/subscriptions")
   || !stralloc_copy(&lock, &path) || !stralloc_cats(&lock, ".lock") || !stralloc_0(&lock)
   || !stralloc_0(&path)) goto end ;
  fd = maildir_dotlock(lock.s, LOCK_TRIES) ;
  if (fd < 0) goto end ;
  mine = 1 ;
  /* ready: old.s is not null even for an empty file (old.s + 0 below) */
  if (!read_subs(path.s, maildir, &old, &mode) || !stralloc_readyplus(&old, 1)) goto end ;
  if (old.len >= sizeof V2_HEADER - 1 && !memcmp(old.s, V2_HEADER, sizeof V2_HEADER - 1))
    body = sizeof V2_HEADER - 1 ;
  if (!stralloc_cats(&entry, folder)) goto end ;
  /* folder names have no control bytes (maildir_folder_valid): in
     version 2 only the '.' between levels changes */
  if (body) for (size_t i = 0 ; i < entry.len ; i++) if (entry.s[i] == '.') entry.s[i] = '\t' ;
  if (!add)
  {
    size_t before = old.len ;
    drop_line(&old, body, entry.s, entry.len) ;
    if (old.len == before) { ok = 1 ; goto end ; }
  }
  else if (listed(old.s + body, old.len - body, entry.s, entry.len)) { ok = 1 ; goto end ; }
  else if ((old.len && old.s[old.len - 1] != '\n' && !stralloc_catb(&old, "\n", 1))
   || !stralloc_cat(&old, &entry) || !stralloc_catb(&old, "\n", 1)) goto end ;
  if (fchmod(fd, mode) < 0 || allwrite(fd, old.s, old.len) < old.len) goto end ;
  if (fd_sync(fd) < 0) goto end ;
  if (!maildir_dotlock_mine(fd, lock.s)) { mine = 0 ; errno = EAGAIN ; goto end ; }
  if (rename(lock.s, path.s) < 0) goto end ;
  mine = 0 ;
  ok = maildir_dirsync(maildir) ;
 end:
  e = errno ;
  if (fd >= 0) fd_close(fd) ;
  if (mine) unlink(lock.s) ;
  stralloc_free(&path) ; stralloc_free(&lock) ; stralloc_free(&old) ; stralloc_free(&entry) ;
  errno = e ;
  return ok ;
}

int maildir_subscribe (char const *maildir, char const *folder)
{
  return edit(maildir, folder, 1) ;
}

int maildir_unsubscribe (char const *maildir, char const *folder)
{
  return edit(maildir, folder, 0) ;
}

int maildir_subscriptions (char const *maildir, stralloc *sa)
{
  stralloc path = STRALLOC_ZERO, raw = STRALLOC_ZERO ;
  mode_t mode ;
  size_t body = 0 ;
  int ok = 0 ;
  sa->len = 0 ;
  if (!stralloc_cats(&path, maildir) || !stralloc_cats(&path, "/subscriptions") || !stralloc_0(&path)) goto end ;
  if (!read_subs(path.s, maildir, &raw, &mode)) goto end ;
  if (raw.len >= sizeof V2_HEADER - 1 && !memcmp(raw.s, V2_HEADER, sizeof V2_HEADER - 1))
    body = sizeof V2_HEADER - 1 ;
  for (size_t i = body ; i < raw.len ;)
  {
    char const *nl = memchr(raw.s + i, '\n', raw.len - i) ;
    size_t n = nl ? (size_t)(nl - raw.s - i) : raw.len - i ;
    size_t start = sa->len ;
    if (n && !stralloc_catb(sa, raw.s + i, n)) goto end ;
    if (body) for (size_t k = start ; k < sa->len ; k++) if (sa->s[k] == '\t') sa->s[k] = '.' ;
    if (n && !stralloc_0(sa)) goto end ;
    i += n + 1 ;
  }
  ok = 1 ;
 end:
  stralloc_free(&path) ; stralloc_free(&raw) ;
  return ok ;
}
