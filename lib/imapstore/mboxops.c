/* imapbox_store, _expunge, _open, _date, imapstore_append, imapbox_copy. */
#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include "msgcrlf.h"
#include "imapstore/mboxpriv.h"

static int path (stralloc *sa, char const *dir, char const *sub, char const *name)
{
  sa->len = 0 ;
  return stralloc_cats(sa, dir) && stralloc_catb(sa, "/", 1) && stralloc_cats(sa, sub)
      && stralloc_catb(sa, "/", 1) && stralloc_cats(sa, name) && stralloc_0(sa) ;
}

/* Look for message i's unique name in cur/, then new/: the name found
   into b->tmp2. 1 found in cur, 2 in new, 0 gone, -1 error. */
static int refind1 (imapbox *b, size_t i)
{
  imapmsg const *m = imapbox_msg(b, i) ;
  char const *subs[2] = { "cur", "new" } ;
  for (unsigned int k = 0 ; k < 2 ; k++)
  {
    DIR *d ;
    if (!path(&b->tmp, b->dir.s, subs[k], "")) return -1 ;
    d = opendir(b->tmp.s) ;
    if (!d) return -1 ;
    for (;;)
    {
      struct dirent *e ;
      errno = 0 ;
      e = readdir(d) ;
      if (!e) { int er = errno ; closedir(d) ; if (er) return (errno = er, -1) ; break ; }
      if (mdlist_base(e->d_name) != m->baselen || memcmp(e->d_name, imapbox_mname(b, m), m->baselen)) continue ;
      b->tmp2.len = 0 ;
      if (!stralloc_cats(&b->tmp2, e->d_name) || !stralloc_0(&b->tmp2)) { closedir(d) ; return -1 ; }
      closedir(d) ;
      return k + 1 ;
    }
  }
  return 0 ;
}

/* readdir may miss a file that another process renames while the
   directory is read (POSIX leaves it open): a message is gone only if
   three readings in turn do not find it. */
static int refind (imapbox *b, size_t i)
{
  int r = 0 ;
  for (unsigned int pass = 0 ; !r && pass < 3 ; pass++) r = refind1(b, i) ;
  return r ;
}

static int setname (imapbox *b, size_t i, char const *name)
{
  size_t off = b->names.len ;
  if (!stralloc_catb(&b->names, name, strlen(name) + 1)) return 0 ;
  imapbox_msg(b, i)->name = off ;
  return 1 ;
}

/* One try of imapbox_store: 1 done, 0 failed, -1 lost a race to another
   renamer (the view then has the message as that one left it). */
static int store1 (imapbox *b, size_t i, int op, uint32_t flags, uint32_t kw, char const **sub, stralloc *from, stralloc *to, stralloc *nn)
{
  imapmsg *m = imapbox_msg(b, i) ;
  uint32_t nf = op == IMAPBOX_SET ? flags : op == IMAPBOX_ADD ? m->flags | flags : m->flags & ~flags ;
  uint32_t nk = op == IMAPBOX_SET ? kw : op == IMAPBOX_ADD ? m->kw | kw : m->kw & ~kw ;
  int r ;
  if (!strcmp(*sub, "cur") && nf == m->flags && nk == m->kw) return 1 ;
  if (!imapflags_name(nn, imapbox_mname(b, m), nf, nk)
   || !path(from, b->dir.s, *sub, imapbox_mname(b, m)) || !path(to, b->dir.s, "cur", nn->s)) return 0 ;
  if (rename(from->s, to->s) == 0)
  {
    if (!setname(b, i, nn->s)) return 0 ;
    m = imapbox_msg(b, i) ;
    m->flags = nf ; m->kw = nk ;
    return 1 ;
  }
  if (errno != ENOENT) return 0 ;
  /* renamed by someone else: take its flags as they are now */
  r = refind(b, i) ;
  if (r < 0) return 0 ;
  if (!r) { imapbox_msg(b, i)->gone = 1 ; errno = ENOENT ; return 0 ; }
  *sub = r == 1 ? "cur" : "new" ;
  if (!setname(b, i, b->tmp2.s)) return 0 ;
  m = imapbox_msg(b, i) ;
  {
    uint32_t f ;
    imapflags_parse(b->tmp2.s, &f, &m->kw) ;
    m->flags = f ;
  }
  return -1 ;
}

int imapbox_store (imapbox *b, size_t i, int op, uint32_t flags, uint32_t kw)
{
  stralloc from = STRALLOC_ZERO, to = STRALLOC_ZERO, nn = STRALLOC_ZERO ;
  char const *sub = "cur" ;
  struct timespec t0, t ;
  int r = -1 ;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &t0) ;
  /* each lost race means another renamer's change is done, so this goes
     on while it loses (a fast renamer can win a hundred times in a row
     against one that reads the directory): bounded in time, not tries */
  for (unsigned int tries = 0 ; r < 0 ; tries++)
  {
    if (tries >= 10 && (clock_gettime(CLOCK_MONOTONIC_COARSE, &t) < 0 || t.tv_sec > t0.tv_sec + 2)) { errno = EBUSY ; r = 0 ; break ; }
    r = store1(b, i, op, flags, kw, &sub, &from, &to, &nn) ;
  }
  stralloc_free(&from) ; stralloc_free(&to) ; stralloc_free(&nn) ;
  return r ;
}

/* b->tmp = the path of message i now (found again if renamed). 1, 0 gone, -1 */
static int locate (imapbox *b, size_t i)
{
  struct stat st ;
  int r ;
  if (!path(&b->tmp, b->dir.s, "cur", imapbox_name(b, i))) return -1 ;
  if (lstat(b->tmp.s, &st) == 0) return 1 ;
  if (errno != ENOENT) return -1 ;
  r = refind(b, i) ;
  if (r <= 0) return r ;
  if (!setname(b, i, b->tmp2.s) || !path(&b->tmp, b->dir.s, r == 1 ? "cur" : "new", b->tmp2.s)) return -1 ;
  return 1 ;
}

/* Another session may rename the file (a flag change) between locate and
   the open or stat: then it is looked for again, not taken as expunged. */
int imapbox_open (imapbox *b, size_t i)
{
  /* where the view has it, first: an open, no lstat before it */
  if (!path(&b->tmp, b->dir.s, "cur", imapbox_name(b, i))) return -1 ;
  {
    int fd = openc_read(b->tmp.s) ;
    if (fd >= 0 || errno != ENOENT) return fd ;
  }
  for (unsigned int tries = 0 ; tries < 10 ; tries++)
  {
    int fd, r = locate(b, i) ;
    if (r <= 0) { if (!r) errno = ENOENT ; return -1 ; }
    fd = openc_read(b->tmp.s) ;
    if (fd >= 0 || errno != ENOENT) return fd ;
  }
  return -1 ;
}

time_t imapbox_date (imapbox *b, size_t i)
{
  struct stat st ;
  if (imapbox_msg(b, i)->date) return (time_t)imapbox_msg(b, i)->date ;
  for (unsigned int tries = 0 ; tries < 10 ; tries++)
  {
    int r = locate(b, i) ;
    if (r <= 0) { if (!r) errno = ENOENT ; return -1 ; }
    if (stat(b->tmp.s, &st) == 0) { b->datesnew = 1 ; return (time_t)(imapbox_msg(b, i)->date = st.st_mtime) ; }
    if (errno != ENOENT) return -1 ;
  }
  return -1 ;
}

static int wanted (uint32_t uid, uint32_t const *uids, size_t n)
{
  size_t lo = 0, hi = n ;
  if (!uids) return 1 ;
  while (lo < hi)
  {
    size_t mid = lo + (hi - lo) / 2 ;
    if (uids[mid] == uid) return 1 ;
    if (uids[mid] < uid) lo = mid + 1 ; else hi = mid ;
  }
  return 0 ;
}

/* After an expunge or a move, under the index lock: the sync that logs
   the UIDs gone in the index (its changes after c's). */
static int resync (imapbox *b, imapbox_changes *c)
{
  imapbox_changes more = IMAPBOX_CHANGES_ZERO ;
  uint32_t const *e ;
  int ok = imapbox_sync(b, 1, &more) ;
  e = genalloc_s(uint32_t, &more.expunged) ;
  /* even after a failure: what it removed from the view is reported */
  ok = genalloc_catb(uint32_t, &c->expunged, e, genalloc_len(uint32_t, &more.expunged))
    && genalloc_catb(uint32_t, &c->vanished, genalloc_s(uint32_t, &more.vanished), genalloc_len(uint32_t, &more.vanished))
    && genalloc_catb(uint32_t, &c->flagged, genalloc_s(uint32_t, &more.flagged), genalloc_len(uint32_t, &more.flagged)) ;
  c->added += more.added ;
  imapbox_changes_free(&more) ;
  return ok ;   /* the caller goes on either way: the next sync logs them */
}

static int expunge (imapbox *b, uint32_t const *uids, size_t n, imapbox_changes *c) ;

int imapbox_expunge (imapbox *b, uint32_t const *uids, size_t n, imapbox_changes *c)
{
  int ok ;
  if (!imapbox_lock(b) && errno != EACCES && errno != EROFS && errno != EPERM) return 0 ;
  /* the files are gone: a failed resync only leaves the logging of
     their UIDs to the next sync */
  ok = expunge(b, uids, n, c) ;
  if (ok) resync(b, c) ;
  { int e = errno ; imapbox_unlock(b) ; errno = e ; }
  return ok ;
}

static int expunge (imapbox *b, uint32_t const *uids, size_t n, imapbox_changes *c)
{
  maildir_quota q = MAILDIR_QUOTA_ZERO ;
  int64_t bytes = 0, count = 0 ;
  genalloc_setlen(uint32_t, &c->expunged, 0) ;
  genalloc_setlen(uint32_t, &c->vanished, 0) ;
  genalloc_setlen(uint32_t, &c->flagged, 0) ;
  c->added = 0 ;
  for (size_t i = 0 ; i < imapbox_len(b) ; i++)
  {
    imapmsg *m = imapbox_msg(b, i) ;
    int r ;
    if (m->gone || !(m->flags & IMAPF_DELETED) || !wanted(m->uid, uids, n)) continue ;
    r = locate(b, i) ;
    if (r < 0) return 0 ;
    m = imapbox_msg(b, i) ;
    if (r)
    {
      uint32_t f, kw ;
      imapflags_parse(imapbox_name(b, i), &f, &kw) ;
      if (!(f & IMAPF_DELETED)) { m->flags = f ; m->kw = kw ; continue ; }  /* undeleted meanwhile */
      if (unlink(b->tmp.s) < 0 && errno != ENOENT) return 0 ;
      bytes -= (int64_t)m->size ; count-- ;
    }
    m->gone = 1 ;
  }
  if (count && maildir_quota_read(b->root.s, &q) && q.present)
    maildir_quota_add(b->root.s, bytes, count) ;
  return imapbox_remove_gone(b, c) ;
}

/* ---- new files in another folder ---- */

int imapstore_assign (char const *root, char const *dir, char const *names, size_t n,
                      uint32_t *uidvalidity, uint32_t *uids)
{
  uidlist u = UIDLIST_ZERO ;
  int fd = uidlist_lock(dir), r, ok = 0 ;
  if (fd < 0) return 0 ;
  r = uidlist_read(&u, dir) ;
  if (!r) goto err ;
  if (r < 0)
  {
    /* a lost list: the view that loads next numbers the other files */
    uint32_t v = uidlist_validity(root, u.uidvalidity) ;
    if (!v || !uidlist_reset(&u, v)) goto err ;
  }
  for (size_t k = 0 ; k < n ; k++, names += strlen(names) + 1)
    if (!uidlist_add(&u, names, uids + k)) goto err ;
  *uidvalidity = u.uidvalidity ;
  ok = uidlist_commit(&u, dir, fd) ;
  uidlist_free(&u) ;
  return ok ;
 err:
  uidlist_unlock(dir, fd) ;
  uidlist_free(&u) ;
  return 0 ;
}

/* name = "UNIQUE,S=size,W=vsize:2,FLAGS" for a new file */
static int newname (stralloc *name, stralloc *host, uint64_t size, uint64_t vsize, uint32_t flags, uint32_t kw)
{
  stralloc base = STRALLOC_ZERO ;
  char fmt[UINT64_FMT] ;
  int ok ;
  if (!host->len && (sagethostname(host) < 0 || !stralloc_0(host))) return 0 ;
  ok = maildir_uniq(&base, host->s) && stralloc_cats(&base, ",S=") && stralloc_catb(&base, fmt, uint64_fmt(fmt, size))
    && stralloc_cats(&base, ",W=") && stralloc_catb(&base, fmt, uint64_fmt(fmt, vsize)) && stralloc_0(&base)
    && imapflags_name(name, base.s, flags, kw) ;
  stralloc_free(&base) ;
  return ok ;
}

static int quota_ok (char const *root, uint64_t bytes, uint64_t count, int *present)
{
  maildir_quota q = MAILDIR_QUOTA_ZERO ;
  if (!maildir_quota_get(root, &q, 0, 0)) return 0 ;
  *present = q.present ;
  if (q.present && maildir_quota_over(&q, bytes, count)) return (errno = EDQUOT, 0) ;
  return 1 ;
}

/* Copy fd to the open file out (at most max bytes): sizes. */
static int copyfd (int fd, int out, uint64_t max, uint64_t *size, uint64_t *vsize)
{
  static char buf[65536] ;
  msgcrlf w = MSGCRLF_ZERO ;
  *size = 0 ;
  for (;;)
  {
    ssize_t r = fd_read(fd, buf, sizeof buf) ;
    if (r < 0) return 0 ;
    if (!r) break ;
    *size += r ;
    if (*size > max) return (errno = EFBIG, 0) ;
    msgcrlf_add(&w, buf, r) ;
    if (allwrite(out, buf, r) < (size_t)r) return 0 ;
  }
  *vsize = msgcrlf_total(&w) ;
  return fd_sync(out) == 0 ;
}

int imapstore_append (char const *root, char const *folder, int fd, uint64_t maxbytes,
                      uint32_t flags, char const *const *kw, size_t nkw, time_t date,
                      uint32_t *uidvalidity, uint32_t *uid)
{
  stralloc dir = STRALLOC_ZERO, tmp = STRALLOC_ZERO, name = STRALLOC_ZERO, host = STRALLOC_ZERO, dst = STRALLOC_ZERO ;
  kwlist k = KWLIST_ZERO ;
  uint32_t kwbits = 0 ;
  uint64_t size, vsize ;
  int out = -1, ok = 0, present = 0, e ;
  if (!imapstore_folder_dir(&dir, root, folder)) goto end ;
  if (!maildir_check(dir.s)) goto end ;
  if (!kwlist_read(&k, dir.s)) goto end ;
  for (size_t i = 0 ; i < nkw ; i++)
  {
    int x = kwlist_add(&k, dir.s, kw[i]) ;
    if (x < 0) goto end ;
    kwbits |= 1u << x ;
  }
  if (!quota_ok(root, 1, 1, &present)) goto end ;
  if (sagethostname(&host) < 0 || !stralloc_0(&host) || !maildir_uniq(&name, host.s)
   || !path(&tmp, dir.s, "tmp", name.s)) goto end ;
  out = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
  if (out < 0) goto end ;
  if (!copyfd(fd, out, maxbytes, &size, &vsize)) goto end ;
  if (!quota_ok(root, size, 1, &present)) goto end ;
  if (date && futimens(out, (struct timespec[2]){ { .tv_sec = date }, { .tv_sec = date } }) < 0) goto end ;
  if (!newname(&name, &host, size, vsize, flags, kwbits) || !path(&dst, dir.s, "cur", name.s)) goto end ;
  if (link(tmp.s, dst.s) < 0) goto end ;
  if (!path(&dst, dir.s, "cur", "") || !maildir_dirsync(dst.s)) goto end ;
  if (!imapstore_assign(root, dir.s, name.s, 1, uidvalidity, uid)) goto end ;
  if (present) maildir_quota_add(root, (int64_t)size, 1) ;
  ok = 1 ;
 end:
  e = errno ;
  if (out >= 0) { fd_close(out) ; unlink(tmp.s) ; }
  stralloc_free(&dir) ; stralloc_free(&tmp) ; stralloc_free(&name) ; stralloc_free(&host) ; stralloc_free(&dst) ;
  kwlist_free(&k) ;
  errno = e ;
  return ok ;
}

/* Put message i of b into dir/cur under a new name (link, else copy);
   its name appended to names. */
static int copy_one (imapbox *b, size_t i, char const *dir, kwlist *tk, stralloc *names, stralloc *dst)
{
  imapmsg const *m = imapbox_msg(b, i) ;
  stralloc name = STRALLOC_ZERO ;
  uint32_t kwbits = 0 ;
  int ok = 0, r = locate(b, i) ;
  if (r <= 0) { if (!r) errno = ENOENT ; return 0 ; }
  m = imapbox_msg(b, i) ;
  for (unsigned int x = 0 ; x < KEYWORDS_MAX ; x++)
  {
    char const *kn = (m->kw & (1u << x)) ? kwlist_name(&b->kw, x) : 0 ;
    int y ;
    if (!kn) continue ;
    y = kwlist_add(tk, dir, kn) ;
    if (y >= 0) kwbits |= 1u << y ;
  }
  if (!newname(&name, &b->host, m->size, m->vsize, m->flags, kwbits) || !path(dst, dir, "cur", name.s)) goto end ;
  if (link(b->tmp.s, dst->s) < 0)
  {
    struct stat st ;
    int in, out ;
    if (errno != EXDEV && errno != EPERM && errno != EMLINK) goto end ;
    in = openc_read(b->tmp.s) ;
    if (in < 0) goto end ;
    out = open(dst->s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
    if (out < 0) { fd_close(in) ; goto end ; }
    {
      uint64_t s, v ;
      ok = copyfd(in, out, (uint64_t)-1, &s, &v) && fstat(in, &st) == 0
        && futimens(out, (struct timespec[2]){ st.st_atim, st.st_mtim }) == 0 ;
    }
    fd_close(in) ; fd_close(out) ;
    if (!ok) { unlink(dst->s) ; goto end ; }
    ok = 0 ;
  }
  ok = stralloc_catb(names, name.s, name.len) ;
 end:
  stralloc_free(&name) ;
  return ok ;
}

int imapbox_copy (imapbox *b, size_t const *idx, size_t n, char const *folder, int move,
                  uint32_t *uidvalidity, uint32_t *uids, imapbox_changes *c)
{
  stralloc dir = STRALLOC_ZERO, names = STRALLOC_ZERO, dst = STRALLOC_ZERO ;
  kwlist tk = KWLIST_ZERO ;
  uint64_t bytes = 0 ;
  int ok = 0, present = 0 ;
  genalloc_setlen(uint32_t, &c->expunged, 0) ;
  genalloc_setlen(uint32_t, &c->vanished, 0) ;
  genalloc_setlen(uint32_t, &c->flagged, 0) ;
  c->added = 0 ;
  if (!imapstore_folder_dir(&dir, b->root.s, folder) || !maildir_check(dir.s) || !kwlist_read(&tk, dir.s)) goto end ;
  for (size_t k = 0 ; k < n ; k++) bytes += imapbox_msg(b, idx[k])->size ;
  if (!move && !quota_ok(b->root.s, bytes, n, &present)) goto end ;
  for (size_t k = 0 ; k < n ; k++)
    if (!copy_one(b, idx[k], dir.s, &tk, &names, &dst)) goto undo ;
  if (!path(&dst, dir.s, "cur", "") || !maildir_dirsync(dst.s)) goto undo ;
  if (!imapstore_assign(b->root.s, dir.s, names.s, n, uidvalidity, uids)) goto undo ;
  if (present) maildir_quota_add(b->root.s, (int64_t)bytes, (int64_t)n) ;
  if (move)
  {
    int locked = imapbox_lock(b), r ;
    for (size_t k = 0 ; k < n ; k++)
    {
      if (locate(b, idx[k]) > 0) unlink(b->tmp.s) ;
      imapbox_msg(b, idx[k])->gone = 1 ;
    }
    r = imapbox_remove_gone(b, c) ;
    if (r) resync(b, c) ;
    if (locked) imapbox_unlock(b) ;
    if (!r) goto end ;
  }
  ok = 1 ;
  goto end ;
 undo:
  /* a failed COPY leaves nothing behind (RFC 3501 6.4.7) */
  {
    int e = errno ;
    for (size_t o = 0 ; o < names.len ; o += strlen(names.s + o) + 1)
      if (path(&dst, dir.s, "cur", names.s + o)) unlink(dst.s) ;
    errno = e ;
  }
 end:
  stralloc_free(&dir) ; stralloc_free(&names) ; stralloc_free(&dst) ;
  kwlist_free(&tk) ;
  return ok ;
}
