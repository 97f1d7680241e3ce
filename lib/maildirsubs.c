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
static int take_lock (char const *lock)
{
  for (unsigned int i = 0 ; i < LOCK_TRIES ; i++)
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

/* 1 if the lock file is still fd (not broken as stale by another writer). */
static int still_mine (int fd, char const *lock)
{
  struct stat a, b ;
  return fstat(fd, &a) == 0 && stat(lock, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino ;
}

int maildir_subscribe (char const *maildir, char const *folder)
{
  stralloc path = STRALLOC_ZERO, lock = STRALLOC_ZERO, old = STRALLOC_ZERO, entry = STRALLOC_ZERO ;
  int fd = -1, ok = 0, mine = 0, e ;
  mode_t mode ;
  size_t body = 0 ;
  if (!maildir_folder_valid(folder)) { errno = EINVAL ; return 0 ; }
  if (!stralloc_cats(&path, maildir) || !stralloc_cats(&path, "/subscriptions")
   || !stralloc_copy(&lock, &path) || !stralloc_cats(&lock, ".lock") || !stralloc_0(&lock)
   || !stralloc_0(&path)) goto end ;
  fd = take_lock(lock.s) ;
  if (fd < 0) goto end ;
  mine = 1 ;
  if (!read_subs(path.s, maildir, &old, &mode)) goto end ;
  if (old.len >= sizeof V2_HEADER - 1 && !memcmp(old.s, V2_HEADER, sizeof V2_HEADER - 1))
    body = sizeof V2_HEADER - 1 ;
  if (!stralloc_cats(&entry, folder)) goto end ;
  /* folder names have no control bytes (maildir_folder_valid): in
     version 2 only the '.' between levels changes */
  if (body) for (size_t i = 0 ; i < entry.len ; i++) if (entry.s[i] == '.') entry.s[i] = '\t' ;
  if (listed(old.s + body, old.len - body, entry.s, entry.len)) { ok = 1 ; goto end ; }
  if ((old.len && old.s[old.len - 1] != '\n' && !stralloc_catb(&old, "\n", 1))
   || !stralloc_cat(&old, &entry) || !stralloc_catb(&old, "\n", 1)) goto end ;
  if (fchmod(fd, mode) < 0 || allwrite(fd, old.s, old.len) < old.len) goto end ;
  if (fd_sync(fd) < 0) goto end ;
  if (!still_mine(fd, lock.s)) { mine = 0 ; errno = EAGAIN ; goto end ; }
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
