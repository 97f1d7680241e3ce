#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>
#include "maildir.h"

/* sa = a "/" b ["/" c], NUL-terminated, len excluding the NUL. */
static int path3 (stralloc *sa, char const *a, char const *b, char const *c)
{
  sa->len = 0 ;
  if (!stralloc_cats(sa, a) || !stralloc_catb(sa, "/", 1) || !stralloc_cats(sa, b)) return 0 ;
  if (c && (!stralloc_catb(sa, "/", 1) || !stralloc_cats(sa, c))) return 0 ;
  if (!stralloc_0(sa)) return 0 ;
  sa->len-- ;
  return 1 ;
}

int maildir_host (stralloc *sa, char const *host)
{
  for (; *host ; host++)
  {
    unsigned char c = *host ;
    if (c > 32 && c < 127 && c != '/' && c != ':' && c != ',' && c != '\\')
    {
      if (!stralloc_catb(sa, (char *)&c, 1)) return 0 ;
    }
    else
    {
      char o[4] = { '\\', '0' + (c >> 6), '0' + ((c >> 3) & 7), '0' + (c & 7) } ;
      if (!stralloc_catb(sa, o, 4)) return 0 ;
    }
  }
  return 1 ;
}

int maildir_uniq (stralloc *sa, char const *host)
{
  static uint64_t n = 0 ;
  struct timespec ts ;
  char fmt[UINT64_FMT] ;
  clock_gettime(CLOCK_REALTIME, &ts) ;
  sa->len = 0 ;
  if (!stralloc_catb(sa, fmt, uint64_fmt(fmt, (uint64_t)ts.tv_sec))
   || !stralloc_catb(sa, ".M", 2)
   || !stralloc_catb(sa, fmt, uint64_fmt(fmt, (uint64_t)ts.tv_nsec / 1000))
   || !stralloc_catb(sa, "P", 1)
   || !stralloc_catb(sa, fmt, uint64_fmt(fmt, (uint64_t)getpid()))
   || !stralloc_catb(sa, "Q", 1)
   || !stralloc_catb(sa, fmt, uint64_fmt(fmt, ++n))
   || !stralloc_catb(sa, ".", 1)
   || !maildir_host(sa, host)
   || !stralloc_0(sa)) return 0 ;
  sa->len-- ;
  return 1 ;
}

int maildir_name_size (char const *name, uint64_t *size)
{
  size_t end = str_chr(name, ':') ;
  size_t i = 0 ;
  while (i < end)
  {
    i += byte_chr(name + i, end - i, ',') ;
    if (i + 3 <= end && name[i+1] == 'S' && name[i+2] == '=')
    {
      size_t n = uint64_scan(name + i + 3, size) ;
      char c = name[i + 3 + n] ;
      if (n && i + 3 + n <= end && (c == ',' || c == ':' || !c)) return 1 ;
    }
    i++ ;
  }
  return 0 ;
}

int maildir_folder_valid (char const *name)
{
  size_t len = strlen(name), i ;
  if (!len || len > MAILDIR_FOLDER_MAX || name[0] == '.' || name[len-1] == '.') return 0 ;
  for (i = 0 ; i < len ; i++)
  {
    unsigned char c = name[i] ;
    if (c < 32 || c == 127 || c == '/') return 0 ;
    if (c == '.' && name[i+1] == '.') return 0 ;
  }
  return 1 ;
}

int maildir_folder_path (stralloc *sa, char const *maildir, char const *folder)
{
  sa->len = 0 ;
  if (!stralloc_cats(sa, maildir) || !stralloc_catb(sa, "/.", 2)
   || !stralloc_cats(sa, folder) || !stralloc_0(sa)) return 0 ;
  sa->len-- ;
  return 1 ;
}

static char const *const subdirs[3] = { "tmp", "new", "cur" } ;

int maildir_check (char const *dir)
{
  stralloc sa = STRALLOC_ZERO ;
  int ok = 1 ;
  for (unsigned int i = 0 ; ok && i < 3 ; i++)
  {
    struct stat st ;
    if (!path3(&sa, dir, subdirs[i], 0) || stat(sa.s, &st) < 0) ok = 0 ;
    else if (!S_ISDIR(st.st_mode)) { errno = ENOTDIR ; ok = 0 ; }
  }
  stralloc_free(&sa) ;
  return ok ;
}

int maildir_dirsync (char const *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  int r ;
  if (fd < 0) return 0 ;
  r = fsync(fd) ;
  /* some file systems cannot sync a directory: then nothing to wait for */
  if (r < 0 && errno == EINVAL) r = 0 ;
  fd_close(fd) ;
  return r == 0 ;
}

/* mkdir that tolerates an existing directory; *made = 1 if it made it. */
static int mkdir_ok (char const *path, int *made)
{
  if (mkdir(path, 0700) == 0) { *made = 1 ; return 1 ; }
  return errno == EEXIST ;
}

static int dirsync_parent (char const *dir)
{
  stralloc sa = STRALLOC_ZERO ;
  size_t n = strlen(dir) ;
  int r ;
  while (n > 1 && dir[n-1] == '/') n-- ;
  if (!sadirname(&sa, dir, n) || !stralloc_0(&sa)) { stralloc_free(&sa) ; return 0 ; }
  r = maildir_dirsync(sa.s) ;
  stralloc_free(&sa) ;
  return r ;
}

int maildir_make (char const *dir, int isfolder)
{
  stralloc sa = STRALLOC_ZERO ;
  int madetop = 0, made = 0, ok = 0 ;
  if (!mkdir_ok(dir, &madetop)) return 0 ;
  /* maildirfolder first: quota code looking at a half-made folder must
     already know it is one */
  if (isfolder)
  {
    int fd ;
    if (!path3(&sa, dir, "maildirfolder", 0)) goto end ;
    fd = open(sa.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
    if (fd >= 0) { fd_close(fd) ; made = 1 ; }
    else if (errno != EEXIST) goto end ;
  }
  for (unsigned int i = 0 ; i < 3 ; i++)
    if (!path3(&sa, dir, subdirs[i], 0) || !mkdir_ok(sa.s, &made)) goto end ;
  if (made && !maildir_dirsync(dir)) goto end ;
  if (madetop && !dirsync_parent(dir)) goto end ;
  ok = 1 ;
 end:
  stralloc_free(&sa) ;
  return ok ;
}

int maildir_commit (char const *dir, char const *tmpname, char const *newname)
{
  stralloc t = STRALLOC_ZERO, n = STRALLOC_ZERO, d = STRALLOC_ZERO ;
  int ok = 0, renamed = 0 ;
  if (!path3(&t, dir, "tmp", tmpname) || !path3(&n, dir, "new", newname)
   || !path3(&d, dir, "new", 0)) goto end ;
  if (link(t.s, n.s) < 0)
  {
    /* no hard links here (some FUSE, vfat): a rename that never replaces */
    if (errno != EPERM && errno != ENOSYS && errno != EOPNOTSUPP) goto end ;
    if (renameat2(AT_FDCWD, t.s, AT_FDCWD, n.s, RENAME_NOREPLACE) < 0) goto end ;
    renamed = 1 ;
  }
  if (!maildir_dirsync(d.s))
  {
    int e = errno ;
    if (renamed) rename(n.s, t.s) ; else unlink(n.s) ;
    errno = e ;
    goto end ;
  }
  if (!renamed) unlink(t.s) ;  /* a leftover in tmp/ is harmless */
  ok = 1 ;
 end:
  stralloc_free(&t) ; stralloc_free(&n) ; stralloc_free(&d) ;
  return ok ;
}

int maildir_tmpfile (char const *dir)
{
  stralloc t = STRALLOC_ZERO ;
  int fd = -1 ;
  if (path3(&t, dir, "tmp", 0)) fd = open(t.s, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600) ;
  stralloc_free(&t) ;
  return fd ;
}

int maildir_commit_fd (char const *dir, int fd, char const *newname)
{
  stralloc n = STRALLOC_ZERO, d = STRALLOC_ZERO ;
  char proc[40] ;
  int ok = 0 ;
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd) ;
  if (!path3(&n, dir, "new", newname) || !path3(&d, dir, "new", 0)) goto end ;
  /* through /proc, as AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH */
  if (linkat(AT_FDCWD, proc, AT_FDCWD, n.s, AT_SYMLINK_FOLLOW) < 0) goto end ;
  if (!maildir_dirsync(d.s)) { int e = errno ; unlink(n.s) ; errno = e ; goto end ; }
  ok = 1 ;
 end:
  stralloc_free(&n) ; stralloc_free(&d) ;
  return ok ;
}

static int name_matches (char const *name, char const *suffix, size_t slen)
{
  size_t i = 0 ;
  while (name[i] >= '0' && name[i] <= '9') i++ ;
  if (!i || strncmp(name + i, suffix, slen)) return 0 ;
  i += slen ;
  return !name[i] || name[i] == ',' || name[i] == ':' ;
}

int maildir_find_suffix (char const *dir, char const *suffix)
{
  stralloc sa = STRALLOC_ZERO ;
  size_t slen = strlen(suffix) ;
  int r = 0 ;
  for (unsigned int i = 1 ; !r && i < 3 ; i++)
  {
    DIR *d ;
    if (!path3(&sa, dir, subdirs[i], 0)) { r = -1 ; break ; }
    d = opendir(sa.s) ;
    if (!d) { if (errno != ENOENT) r = -1 ; continue ; }
    for (;;)
    {
      struct dirent *de ;
      errno = 0 ;
      de = readdir(d) ;
      if (!de) { if (errno) r = -1 ; break ; }
      if (name_matches(de->d_name, suffix, slen)) { r = 1 ; break ; }
    }
    { int e = errno ; closedir(d) ; errno = e ; }
  }
  stralloc_free(&sa) ;
  return r ;
}

/* ---- quota ---- */

/* Scan an unsigned number of at most maxdigits digits. Length, 0 if none. */
static size_t scan_num (char const *s, size_t len, size_t maxdigits, uint64_t *u)
{
  size_t i = 0 ;
  *u = 0 ;
  while (i < len && i <= maxdigits && s[i] >= '0' && s[i] <= '9') *u = *u * 10 + (s[i++] - '0') ;
  return i > maxdigits ? 0 : i ;
}

static int parse_limits (char const *s, size_t len, maildir_quota *q)
{
  size_t i = 0 ;
  q->maxbytes = q->maxcount = 0 ;
  while (len && (s[len-1] == ' ' || s[len-1] == '\r')) len-- ;
  while (i < len)
  {
    uint64_t u ;
    size_t n = scan_num(s + i, len - i, 19, &u) ;
    if (!n || i + n >= len) return 0 ;
    i += n ;
    if (s[i] == 'S') q->maxbytes = u ;
    else if (s[i] == 'C') q->maxcount = u ;
    else if (s[i] < 'A' || s[i] > 'Z') return 0 ;  /* other letters: future types */
    i++ ;
    if (i < len && s[i++] != ',') return 0 ;
  }
  return 1 ;
}

/* Usage numbers are bounded (15 digits) so that the sum of the lines a
   5120-byte file holds cannot overflow. */
static size_t scan_signed (char const *s, size_t len, int64_t *v)
{
  size_t i = 0, n ;
  uint64_t u ;
  int neg = 0 ;
  if (i < len && s[i] == '-') { neg = 1 ; i++ ; }
  n = scan_num(s + i, len - i, 15, &u) ;
  if (!n) return 0 ;
  *v = neg ? -(int64_t)u : (int64_t)u ;
  return i + n ;
}

static int parse_usage_line (char const *s, size_t len, int64_t *b, int64_t *c)
{
  size_t i = 0, n ;
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++ ;
  if (i == len) { *b = *c = 0 ; return 1 ; }  /* blank line */
  n = scan_signed(s + i, len - i, b) ;
  if (!n) return 0 ;
  i += n ;
  if (i >= len || (s[i] != ' ' && s[i] != '\t')) return 0 ;
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++ ;
  n = scan_signed(s + i, len - i, c) ;
  if (!n) return 0 ;
  i += n ;
  while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++ ;
  return i == len ;
}

int maildir_quota_parse (char const *s, size_t len, maildir_quota *q)
{
  size_t e = byte_chr(s, len, '\n'), pos ;
  int ok = parse_limits(s, e, q) ;
  q->bytes = q->count = 0 ;
  if (e >= len) return 0 ;  /* not even one complete line */
  for (pos = e + 1 ; pos < len ; pos = e + 1)
  {
    int64_t b, c ;
    e = pos + byte_chr(s + pos, len - pos, '\n') ;
    if (e >= len) return 0 ;  /* a cut line: an append that did not finish */
    if (!parse_usage_line(s + pos, e - pos, &b, &c)) ok = 0 ;
    else { q->bytes += b ; q->count += c ; }
  }
  return ok ;
}

size_t maildir_quota_fmt (char *s, uint64_t maxbytes, uint64_t maxcount)
{
  size_t n = 0 ;
  if (maxbytes || !maxcount) { n += uint64_fmt(s + n, maxbytes) ; s[n++] = 'S' ; }
  if (maxcount)
  {
    if (n) s[n++] = ',' ;
    n += uint64_fmt(s + n, maxcount) ; s[n++] = 'C' ;
  }
  s[n] = 0 ;
  return n ;
}

int maildir_quota_read (char const *dir, maildir_quota *q)
{
  stralloc sa = STRALLOC_ZERO ;
  char buf[MAILDIRSIZE_MAX + 1] ;
  struct stat st ;
  size_t n ;
  int fd ;
  q->maxbytes = q->maxcount = 0 ; q->bytes = q->count = 0 ;
  q->present = q->valid = 0 ; q->mtime = 0 ;
  if (!path3(&sa, dir, "maildirsize", 0)) return 0 ;
  fd = open(sa.s, O_RDONLY | O_CLOEXEC) ;
  stralloc_free(&sa) ;
  if (fd < 0) return errno == ENOENT ;
  if (fstat(fd, &st) < 0) { fd_close(fd) ; return 0 ; }
  errno = 0 ;  /* a short count is EOF unless errno says otherwise */
  n = allread(fd, buf, sizeof buf) ;
  if (n < sizeof buf && errno && errno != EPIPE) { int e = errno ; fd_close(fd) ; errno = e ; return 0 ; }
  fd_close(fd) ;
  q->present = 1 ;
  q->mtime = st.st_mtime ;
  q->valid = maildir_quota_parse(buf, n, q) && n <= MAILDIRSIZE_MAX ;
  return 1 ;
}

typedef struct scan_s scan_t ;
struct scan_s { int64_t bytes, count ; struct timespec start ; int changed ; } ;

/* Add up the messages of one new/ or cur/ directory. */
static int scan_dir (char const *path, scan_t *sc)
{
  struct stat st ;
  DIR *d = opendir(path) ;
  int ok = 1 ;
  if (!d) return errno == ENOENT ;
  for (;;)
  {
    struct dirent *de ;
    uint64_t size ;
    errno = 0 ;
    de = readdir(d) ;
    if (!de) { if (errno) ok = 0 ; break ; }
    if (de->d_name[0] == '.') continue ;
    if (!maildir_name_size(de->d_name, &size))
    {
      if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      {
        if (errno == ENOENT) continue ;  /* moved or deleted meanwhile */
        ok = 0 ; break ;
      }
      if (!S_ISREG(st.st_mode)) continue ;
      size = st.st_size ;
    }
    sc->bytes += size ;
    sc->count++ ;
  }
  if (ok && fstat(dirfd(d), &st) == 0
   && (st.st_mtim.tv_sec > sc->start.tv_sec
    || (st.st_mtim.tv_sec == sc->start.tv_sec && st.st_mtim.tv_nsec >= sc->start.tv_nsec)))
    sc->changed = 1 ;
  { int e = errno ; closedir(d) ; errno = e ; }
  return ok ;
}

static int scan_maildir (char const *dir, scan_t *sc, stralloc *sa)
{
  for (unsigned int i = 1 ; i < 3 ; i++)
    if (!path3(sa, dir, subdirs[i], 0) || !scan_dir(sa->s, sc)) return 0 ;
  return 1 ;
}

static int scan_all (char const *dir, scan_t *sc)
{
  stralloc sa = STRALLOC_ZERO, sub = STRALLOC_ZERO ;
  DIR *d ;
  int ok = 0 ;
  if (!scan_maildir(dir, sc, &sa)) goto end ;
  d = opendir(dir) ;
  if (!d) goto end ;
  ok = 1 ;
  for (;;)
  {
    struct dirent *de ;
    struct stat st ;
    errno = 0 ;
    de = readdir(d) ;
    if (!de) { if (errno) ok = 0 ; break ; }
    if (de->d_name[0] != '.' || !de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])) continue ;
    if (!path3(&sub, dir, de->d_name, 0)) { ok = 0 ; break ; }
    if (stat(sub.s, &st) < 0 || !S_ISDIR(st.st_mode)) continue ;
    if (!scan_maildir(sub.s, sc, &sa)) { ok = 0 ; break ; }
  }
  { int e = errno ; closedir(d) ; errno = e ; }
 end:
  stralloc_free(&sa) ; stralloc_free(&sub) ;
  return ok ;
}

int maildir_quota_scan (char const *dir, int64_t *bytes, int64_t *count)
{
  scan_t sc ;
  for (unsigned int tries = 0 ; tries < 3 ; tries++)
  {
    /* file times come from the coarse clock: compare with it */
    clock_gettime(CLOCK_REALTIME_COARSE, &sc.start) ;
    sc.bytes = sc.count = 0 ; sc.changed = 0 ;
    if (!scan_all(dir, &sc)) return 0 ;
    if (!sc.changed) break ;
  }
  *bytes = sc.bytes ; *count = sc.count ;
  return 1 ;
}

int maildir_quota_write (char const *dir, maildir_quota const *q)
{
  stralloc name = STRALLOC_ZERO, t = STRALLOC_ZERO, f = STRALLOC_ZERO ;
  char buf[MAILDIR_QUOTA_FMT + 2 * (LONG_FMT + 1)] ;
  size_t n = maildir_quota_fmt(buf, q->maxbytes, q->maxcount) ;
  int fd = -1, ok = 0 ;
  buf[n++] = '\n' ;
  n += long_fmt(buf + n, q->bytes) ; buf[n++] = ' ' ;
  n += long_fmt(buf + n, q->count) ; buf[n++] = '\n' ;
  if (!path3(&f, dir, "maildirsize", 0)) goto end ;
  for (unsigned int tries = 0 ; fd < 0 && tries < 3 ; tries++)
  {
    if (!maildir_uniq(&name, "maildirsize") || !path3(&t, dir, "tmp", name.s)) goto end ;
    fd = open(t.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
    if (fd < 0 && errno != EEXIST) goto end ;
  }
  if (fd < 0) goto end ;
  {
    int w = allwrite(fd, buf, n) == n ;
    int e = w ? 0 : errno ? errno : EIO ;
    if (close(fd) < 0 && w) { w = 0 ; e = errno ; }
    if (w && rename(t.s, f.s) < 0) { w = 0 ; e = errno ; }
    if (!w) { unlink(t.s) ; errno = e ; goto end ; }
  }
  ok = 1 ;
 end:
  stralloc_free(&name) ; stralloc_free(&t) ; stralloc_free(&f) ;
  return ok ;
}

int maildir_quota_add (char const *dir, int64_t bytes, int64_t count)
{
  stralloc sa = STRALLOC_ZERO ;
  char buf[2 * (LONG_FMT + 1)] ;
  size_t n = long_fmt(buf, bytes) ;
  ssize_t w ;
  int fd ;
  buf[n++] = ' ' ;
  n += long_fmt(buf + n, count) ;
  buf[n++] = '\n' ;
  if (!path3(&sa, dir, "maildirsize", 0)) return 0 ;
  fd = open(sa.s, O_WRONLY | O_APPEND | O_CLOEXEC) ;
  stralloc_free(&sa) ;
  if (fd < 0) return errno == ENOENT ;
  /* one write, so that concurrent appends do not interleave */
  w = fd_write(fd, buf, n) ;
  if (w >= 0 && (size_t)w < n) errno = ENOSPC ;
  if (w < 0 || (size_t)w < n) { int e = errno ; fd_close(fd) ; errno = e ; return 0 ; }
  return close(fd) == 0 ;
}

int maildir_quota_over (maildir_quota const *q, uint64_t bytes, uint64_t count)
{
  uint64_t b = q->bytes > 0 ? (uint64_t)q->bytes : 0 ;
  uint64_t c = q->count > 0 ? (uint64_t)q->count : 0 ;
  if (q->maxbytes && b + bytes > q->maxbytes) return 1 ;
  if (q->maxcount && c + count > q->maxcount) return 1 ;
  return 0 ;
}

int maildir_quota_recalc (char const *dir, maildir_quota *q)
{
  if (!maildir_quota_scan(dir, &q->bytes, &q->count)) return 0 ;
  if (!maildir_quota_write(dir, q)) return 0 ;
  q->present = q->valid = 1 ;
  q->mtime = time(0) ;
  return 1 ;
}

int maildir_quota_stale (maildir_quota const *q)
{
  return q->present && time(0) - q->mtime > MAILDIRSIZE_STALE ;
}

int maildir_quota_get (char const *dir, maildir_quota *q, int set, uint64_t maxbytes)
{
  int rewrite = 0 ;
  if (!maildir_quota_read(dir, q)) return 0 ;
  if (set)
  {
    if (!q->present && !maxbytes) return 1 ;  /* no quota, none to record */
    if (!q->present || q->maxbytes != maxbytes || q->maxcount) rewrite = 1 ;
    q->maxbytes = maxbytes ; q->maxcount = 0 ;
  }
  else if (!q->present) return 1 ;
  if (!q->present || !q->valid
   || (maildir_quota_over(q, 1, 1) && maildir_quota_stale(q)))
    return maildir_quota_recalc(dir, q) ;
  if (rewrite)
  {
    if (!maildir_quota_write(dir, q)) return 0 ;
    q->mtime = time(0) ;
  }
  return 1 ;
}
