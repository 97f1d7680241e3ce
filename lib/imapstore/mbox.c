/* The view's load and sync; imapbox_store and friends in mboxops.c. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/strerr.h>
#include "imapstore/mbox.h"
#include "imapstore/mboxpriv.h"

#define NONE ((size_t)-1)

_Static_assert(sizeof (imapmsg) <= 48, "imapmsg stays small: see mbox.h");

void imapbox_changes_free (imapbox_changes *c)
{
  genalloc_free(uint32_t, &c->expunged) ;
  genalloc_free(uint32_t, &c->vanished) ;
  genalloc_free(uint32_t, &c->flagged) ;
}

static void changes_clear (imapbox_changes *c)
{
  genalloc_setlen(uint32_t, &c->expunged, 0) ;
  genalloc_setlen(uint32_t, &c->vanished, 0) ;
  genalloc_setlen(uint32_t, &c->flagged, 0) ;
  c->added = 0 ;
}

int imapbox_init (imapbox *b, char const *root, char const *folder)
{
  b->root.len = 0 ;
  if (!stralloc_cats(&b->root, root) || !stralloc_0(&b->root)) return 0 ;
  if (!imapstore_folder_dir(&b->dir, root, folder)) return 0 ;
  if (!maildir_check(b->dir.s)) return 0 ;
  genalloc_setlen(imapmsg, &b->msgs, 0) ;
  b->names.len = 0 ;
  b->loaded = b->validity_changed = b->stamped = 0 ;
  b->u.ino = 0 ;
  b->hms = b->logfloor = 0 ;
  imapbox_unmap(b) ;
  genalloc_setlen(imapbox_gone, &b->log, 0) ;
  b->scan.lazy = b->scan2.lazy = 1 ;
  return kwlist_read(&b->kw, b->dir.s) ;
}

/* ---- names: sorted indices, binary search ---- */

typedef struct { char const *names ; void const *arr ; size_t stride, nameoff, lenoff ; } keyctx ;

static int cmpbase (char const *a, size_t al, char const *b, size_t bl)
{
  int c = memcmp(a, b, al < bl ? al : bl) ;
  return c ? c : (al < bl ? -1 : al > bl) ;
}

static int cmp_msg (void const *x, void const *y, void *arg)
{
  imapbox const *b = arg ;
  imapmsg const *m = genalloc_s(imapmsg, &b->msgs) + *(size_t const *)x ;
  imapmsg const *n = genalloc_s(imapmsg, &b->msgs) + *(size_t const *)y ;
  return cmpbase(imapbox_mname(b, m), m->baselen, imapbox_mname(b, n), n->baselen) ;
}

static int cmp_scan (void const *x, void const *y, void *arg)
{
  mdlist *l = arg ;
  mdmsg const *m = mdlist_msg(l, *(size_t const *)x), *n = mdlist_msg(l, *(size_t const *)y) ;
  return cmpbase(l->names.s + m->name, m->baselen, l->names.s + n->name, n->baselen) ;
}

static int sort_idx (genalloc *idx, size_t n, int (*cmp)(void const *, void const *, void *), void *arg)
{
  if (!genalloc_ready(size_t, idx, n)) return 0 ;
  for (size_t i = 0 ; i < n ; i++) genalloc_s(size_t, idx)[i] = i ;
  genalloc_setlen(size_t, idx, n) ;
  if (n > 1) qsort_r(genalloc_s(size_t, idx), n, sizeof(size_t), cmp, arg) ;
  return 1 ;
}

static size_t find_msg (imapbox const *b, char const *base, size_t len)
{
  size_t lo = 0, hi = genalloc_len(size_t, &b->idx) ;
  while (lo < hi)
  {
    size_t mid = lo + (hi - lo) / 2, j = genalloc_s(size_t, &b->idx)[mid] ;
    imapmsg const *m = genalloc_s(imapmsg, &b->msgs) + j ;
    int c = cmpbase(imapbox_mname(b, m), m->baselen, base, len) ;
    if (!c) return j ;
    if (c < 0) lo = mid + 1 ; else hi = mid ;
  }
  return NONE ;
}

static size_t find_scan (mdlist *l, genalloc const *idx, char const *base, size_t len)
{
  size_t lo = 0, hi = genalloc_len(size_t, idx) ;
  while (lo < hi)
  {
    size_t mid = lo + (hi - lo) / 2, j = genalloc_s(size_t, idx)[mid] ;
    mdmsg const *m = mdlist_msg(l, j) ;
    int c = cmpbase(l->names.s + m->name, m->baselen, base, len) ;
    if (!c) return j ;
    if (c < 0) lo = mid + 1 ; else hi = mid ;
  }
  return NONE ;
}

uint32_t imapbox_seq (imapbox const *b, uint32_t uid)
{
  size_t lo = 0, hi = imapbox_len(b) ;
  while (lo < hi)
  {
    size_t mid = lo + (hi - lo) / 2 ;
    uint32_t u = genalloc_s(imapmsg, &b->msgs)[mid].uid ;
    if (u == uid) return (uint32_t)mid + 1 ;
    if (u < uid) lo = mid + 1 ; else hi = mid ;
  }
  return 0 ;
}

/* ---- sync ---- */

/* where[j] = scan index of view message j (NONE: not seen); fresh = the
   scan indices of files not in the view. Files missed by the first scan
   (a rename by another session while we read the directory can hide a
   file from readdir) are looked for in a second one. */
static int match (imapbox *b, size_t *missing)
{
  size_t n = imapbox_len(b), ns = mdlist_len(&b->scan) ;
  size_t *where ;
  if (!sort_idx(&b->idx, n, cmp_msg, b) || !genalloc_ready(size_t, &b->where, n)) return 0 ;
  where = genalloc_s(size_t, &b->where) ;
  genalloc_setlen(size_t, &b->where, n) ;
  for (size_t j = 0 ; j < n ; j++) where[j] = NONE ;
  genalloc_setlen(size_t, &b->fresh, 0) ;
  for (size_t s = 0 ; s < ns ; s++)
  {
    mdmsg const *m = mdlist_msg(&b->scan, s) ;
    size_t j = find_msg(b, b->scan.names.s + m->name, m->baselen) ;
    if (j != NONE) where[j] = s ;
    else if (!genalloc_append(size_t, &b->fresh, &s)) return 0 ;
  }
  *missing = 0 ;
  for (size_t j = 0 ; j < n ; j++) *missing += where[j] == NONE ;
  return 1 ;
}

/* Second look for the missing ones: their where[] gets ns + index in scan2. */
static int rematch (imapbox *b)
{
  size_t n = imapbox_len(b), ns = mdlist_len(&b->scan) ;
  size_t *where = genalloc_s(size_t, &b->where) ;
  genalloc idx = GENALLOC_ZERO ;
  if (!mdlist_scan(&b->scan2, b->dir.s)) return 0 ;
  if (!sort_idx(&idx, mdlist_len(&b->scan2), cmp_scan, &b->scan2)) { genalloc_free(size_t, &idx) ; return 0 ; }
  for (size_t j = 0 ; j < n ; j++)
  {
    imapmsg const *m = imapbox_msg(b, j) ;
    size_t k ;
    if (where[j] != NONE) continue ;
    k = find_scan(&b->scan2, &idx, imapbox_mname(b, m), m->baselen) ;
    if (k != NONE) where[j] = ns + k ;
  }
  genalloc_free(size_t, &idx) ;
  return 1 ;
}

static char const *scan_name (imapbox *b, size_t s)
{
  size_t ns = mdlist_len(&b->scan) ;
  return s < ns ? mdlist_name(&b->scan, s) : mdlist_name(&b->scan2, s - ns) ;
}

/* Update the view's messages from where[]: names, flags (changes into c),
   vanished ones removed (expunge_ok) or marked gone. New names go into
   b->tmp, then become b->names. */
static int update (imapbox *b, size_t n0, imapbox_changes *c)
{
  size_t n = imapbox_len(b), j ;
  size_t const *where = genalloc_s(size_t, &b->where) ;
  imapmsg *m = genalloc_s(imapmsg, &b->msgs) ;
  b->tmp.len = 0 ;
  for (j = 0 ; j < n ; j++)
  {
    /* the n0 old ones as found now; those just added as they are */
    size_t w = j < n0 ? where[j] : NONE ;
    char const *name = w != NONE ? scan_name(b, w) : imapbox_mname(b, &m[j]) ;
    size_t off = b->tmp.len ;
    /* a name as it is in the map stays there: not copied */
    if (!(m[j].name & IMAPBOX_INMAP) || strcmp(name, imapbox_mname(b, &m[j])))
    {
      if (!stralloc_catb(&b->tmp, name, strlen(name) + 1)) return 0 ;
      m[j].name = off ;
    }
    if (j >= n0) continue ;
    if (w == NONE) { m[j].gone = 1 ; continue ; }
    m[j].gone = 0 ;
    {
      uint32_t f, kw ;
      imapflags_parse(name, &f, &kw) ;
      if ((f != m[j].flags || kw != m[j].kw) && !genalloc_append(uint32_t, &c->flagged, &m[j].uid)) return 0 ;
      m[j].flags = f ; m[j].kw = kw ;
    }
  }
  return stralloc_copy(&b->names, &b->tmp) ;
}

int imapbox_remove_gone (imapbox *b, imapbox_changes *c)
{
  size_t n = imapbox_len(b), k = 0 ;
  imapmsg *m = genalloc_s(imapmsg, &b->msgs) ;
  /* read before written: the records may be a map's shared pages */
  while (k < n && !m[k].gone) k++ ;
  if (k == n) return 1 ;
  for (size_t j = n ; j-- > k ;)
  {
    uint32_t seq = (uint32_t)j + 1 ;
    if (!m[j].gone) continue ;
    if (!genalloc_append(uint32_t, &c->expunged, &seq) || !genalloc_append(uint32_t, &c->vanished, &m[j].uid)) return 0 ;
  }
  for (size_t j = k ; j < n ; j++) if (!m[j].gone) m[k++] = m[j] ;
  genalloc_setlen(imapmsg, &b->msgs, k) ;
  return 1 ;
}

typedef struct { uint64_t key ; size_t s ; } fkey ;

static int cmp_fkey (void const *x, void const *y)
{
  fkey const *a = x, *b = y ;
  return a->key < b->key ? -1 : a->key > b->key ;
}

/* Fresh files with a UID in the list first, by UID (another program may
   have numbered them in another order than delivery), then the others in
   delivery order. */
static int sort_fresh (imapbox *b)
{
  size_t nf = genalloc_len(size_t, &b->fresh) ;
  size_t *fresh = genalloc_s(size_t, &b->fresh) ;
  fkey *k ;
  if (nf < 2) return 1 ;
  k = malloc(nf * sizeof *k) ;
  if (!k) return 0 ;
  for (size_t i = 0 ; i < nf ; i++)
  {
    char const *name = mdlist_name(&b->scan, fresh[i]) ;
    uint32_t uid = uidlist_find(&b->u, name, mdlist_base(name)) ;
    k[i].key = uid ? uid : ((uint64_t)1 << 32) + i ;
    k[i].s = fresh[i] ;
  }
  qsort(k, nf, sizeof *k, cmp_fkey) ;
  for (size_t i = 0 ; i < nf ; i++) fresh[i] = k[i].s ;
  free(k) ;
  return 1 ;
}

static int keep_uid (uint32_t uid, void *arg)
{
  imapbox *b = arg ;
  uint32_t max = imapbox_len(b) ? imapbox_msg(b, imapbox_len(b) - 1)->uid : 0 ;
  return uid > max || imapbox_seq(b, uid) ;
}

/* The uidlist is lost: a new UIDVALIDITY; every file gets a new UID. */
static int lost (imapbox *b)
{
  uint32_t old = b->u.uidvalidity > b->uidvalidity ? b->u.uidvalidity : b->uidvalidity ;
  uint32_t v = uidlist_validity(b->root.s, old) ;
  if (!v) return 0 ;
  uidlist_reset(&b->u, v) ;
  if (imapbox_len(b))
  {
    size_t ns = mdlist_len(&b->scan) ;
    genalloc_setlen(imapmsg, &b->msgs, 0) ;
    b->names.len = 0 ;
    genalloc_setlen(size_t, &b->fresh, 0) ;
    for (size_t s = 0 ; s < ns ; s++) if (!genalloc_append(size_t, &b->fresh, &s)) return 0 ;
  }
  return 1 ;
}

/* 1 if a fresh file has no usable UID in the list: none, or one not above
   the view's (it would land in the middle of the sequence: the message
   gets a new one, and others see the old one vanish). */
static int need_uids (imapbox *b)
{
  size_t nf = genalloc_len(size_t, &b->fresh), n0 = imapbox_len(b) ;
  size_t const *fresh = genalloc_s(size_t, &b->fresh) ;
  uint32_t top = n0 ? imapbox_msg(b, n0 - 1)->uid : 0 ;
  for (size_t k = 0 ; k < nf ; k++)
  {
    char const *name = mdlist_name(&b->scan, fresh[k]) ;
    uint32_t uid = uidlist_find(&b->u, name, mdlist_base(name)) ;
    if (uid <= top) return 1 ;
    top = uid ;
  }
  return 0 ;
}

/* The lock, unless the UIDs come meanwhile: sessions that one delivery
   wakes at once (IDLE) all want them; one takes the lock, the others,
   instead of queueing for it 100 ms apart, find its UIDs in the list.
   The lock's fd, -1 the UIDs came (*r the list read), -2 an error. */
static int lock_or_read (imapbox *b, int *r)
{
  for (unsigned int i = 0 ; i < UIDLIST_LOCK_TRIES * 10 ; i++)
  {
    int fd = uidlist_lock_try(b->dir.s) ;
    if (fd >= 0 || errno != EAGAIN) return fd >= 0 ? fd : -2 ;
    nanosleep(&(struct timespec){ .tv_sec = 0, .tv_nsec = 10000000 }, 0) ;
    *r = uidlist_read(&b->u, b->dir.s) ;
    if (!*r || !sort_fresh(b)) return -2 ;
    if (*r > 0 && !need_uids(b)) return -1 ;
  }
  errno = EAGAIN ;
  return -2 ;
}

/* UIDs for the fresh files, in delivery order (scan order); the lock is
   taken only if some are missing (or there is no list yet). */
static int give_uids (imapbox *b, imapbox_changes *c)
{
  int fd, r = uidlist_read(&b->u, b->dir.s) ;
  if (!r || !sort_fresh(b)) return 0 ;
  /* another session found the list lost and renumbered: our UIDs are void */
  if (r > 0 && b->loaded && b->u.uidvalidity != b->uidvalidity) return 1 ;
  if (r > 0 && !need_uids(b)) return imapbox_add_fresh(b, -1, c) ;
  fd = lock_or_read(b, &r) ;
  if (fd == -2) return 0 ;
  if (fd == -1)
  {
    if (b->loaded && b->u.uidvalidity != b->uidvalidity) return 1 ;
    return imapbox_add_fresh(b, -1, c) ;
  }
  r = uidlist_read(&b->u, b->dir.s) ;
  if (!r || (r < 0 && !lost(b)) || !sort_fresh(b)) { uidlist_unlock(b->dir.s, fd) ; return 0 ; }
  /* drop the lines of files gone */
  if (r > 0) uidlist_filter(&b->u, keep_uid, b) ;
  return imapbox_add_fresh(b, fd, c) ;
}

static int drop_uid (uint32_t uid, void *arg)
{
  return uid != *(uint32_t *)arg ;
}

/* Sizes another program did not put in the name (the scan is lazy):
   read once, here, not at every sync. */
static int sizes (imapbox *b, char const *name, imapmsg *m)
{
  uint64_t v ;
  if (mdlist_field(name, 'S', &v) && mdlist_field(name, 'W', &v)) return 1 ;
  b->tmp.len = 0 ;
  if (!stralloc_cats(&b->tmp, b->dir.s) || !stralloc_cats(&b->tmp, "/cur/")
   || !stralloc_cats(&b->tmp, name) || !stralloc_0(&b->tmp)) return 0 ;
  return mdlist_sizes(b->tmp.s, &m->size, &m->vsize) ;
}

/* Append the fresh files to the view with their UIDs (under the lock fd,
   new ones where missing, then the list committed; without it, files
   without a usable UID wait for the next sync). */
int imapbox_add_fresh (imapbox *b, int fd, imapbox_changes *c)
{
  size_t nf = genalloc_len(size_t, &b->fresh), n0 = imapbox_len(b) ;
  size_t const *fresh = genalloc_s(size_t, &b->fresh) ;
  uint32_t top = n0 ? imapbox_msg(b, n0 - 1)->uid : 0 ;
  /* the UIDs looked up before any is added: an add unsorts the list,
     and a lookup after each would sort it again (100,000 new files) */
  uint32_t *known = malloc((nf ? nf : 1) * sizeof *known) ;
  /* the view grows: its records out of the index's map */
  if (!known || (nf && !imapbox_own(b))) goto err ;
  for (size_t k = 0 ; k < nf ; k++)
    known[k] = uidlist_find(&b->u, mdlist_name(&b->scan, fresh[k]), mdlist_msg(&b->scan, fresh[k])->baselen) ;
  for (size_t k = 0 ; k < nf ; k++)
  {
    mdmsg const *s = mdlist_msg(&b->scan, fresh[k]) ;
    char const *name = mdlist_name(&b->scan, fresh[k]) ;
    imapmsg m = { .size = s->size, .vsize = s->vsize, .baselen = s->baselen, .name = b->names.len } ;
    m.uid = known[k] ;
    if (!imapbox_ixknown(b, name, &m) && !sizes(b, name, &m)) { if (errno == ENOENT) continue ; goto err ; }
    if (m.uid <= top)
    {
      if (fd < 0) continue ;
      if (m.uid) uidlist_filter(&b->u, drop_uid, &m.uid) ;
      if (!uidlist_add(&b->u, name, &m.uid)) goto err ;
      m.recent = 1 ;
    }
    top = m.uid ;
    {
      uint32_t f ;
      imapflags_parse(name, &f, &m.kw) ;
      m.flags = f ;
    }
    if (!stralloc_catb(&b->names, name, strlen(name) + 1) || !genalloc_append(imapmsg, &b->msgs, &m)) goto err ;
  }
  free(known) ;
  known = 0 ;
  if (fd >= 0 && !uidlist_commit(&b->u, b->dir.s, fd)) { fd = -1 ; goto err ; }
  c->added = (uint32_t)(imapbox_len(b) - n0) ;
  return 1 ;
 err:
  free(known) ;
  /* no UID that is not on disk reaches the view */
  genalloc_setlen(imapmsg, &b->msgs, n0) ;
  if (fd >= 0) uidlist_unlock(b->dir.s, fd) ;
  return 0 ;
}

static int dirtime (imapbox *b, char const *sub, struct timespec const *now, struct timespec *t)
{
  struct stat st ;
  b->tmp.len = 0 ;
  if (!stralloc_cats(&b->tmp, b->dir.s) || !stralloc_cats(&b->tmp, sub) || !stralloc_0(&b->tmp)
   || stat(b->tmp.s, &st) < 0) return 0 ;
  *t = st.st_mtim ;
  /* changed in this tick of the coarse clock, it could change again with
     the same mtime: not a stamp to trust */
  return t->tv_sec < now->tv_sec || (t->tv_sec == now->tv_sec && t->tv_nsec < now->tv_nsec) ;
}

/* The mtimes of cur/ and new/, if a later change is sure to change them.
   Taken before the scan: a change during it makes the next sync scan. */
static int dirtimes (imapbox *b, struct timespec *cur, struct timespec *new)
{
  struct timespec now ;
  return clock_gettime(CLOCK_REALTIME_COARSE, &now) == 0
      && dirtime(b, "/cur", &now, cur) && dirtime(b, "/new", &now, new) ;
}

static int same (struct timespec const *a, struct timespec const *b)
{
  return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec ;
}

/* The scan and its merge into the index, under the index lock (or
   without it where the folder is read-only to us: then nothing is
   written). */
static int scan_sync (imapbox *b, int expunge_ok, imapbox_changes *c, int stamp, struct timespec const *curt, struct timespec const *newt, int listed)
{
  size_t missing, n0 ;
  int r ;
  if (!listed)
  {
    if (!imapbox_ixread(b)) return 0 ;
    if (!b->loaded)
    {
      r = imapbox_ixload(b, stamp, curt, newt, c) ;
      if (r) return r > 0 ;
    }
    if (!mdlist_scan(&b->scan, b->dir.s)) return 0 ;
  }
  b->stamped = 0 ;
  if (!match(b, &missing)) return 0 ;
  /* a listing from a current index is the folder: what it lacks is gone */
  if (missing && !listed && !rematch(b)) return 0 ;
  /* UIDs first: if that fails (the lock held too long), the view is as
     it was, and the next sync finds every change again */
  n0 = imapbox_len(b) ;
  if (!give_uids(b, c)) return 0 ;
  if (b->loaded && b->u.uidvalidity != b->uidvalidity) b->validity_changed = 1 ;
  if (b->validity_changed) return 1 ;
  if (!update(b, n0, c)) return 0 ;
  if (!b->loaded) genalloc_setlen(uint32_t, &c->flagged, 0) ;
  if (expunge_ok && !imapbox_remove_gone(b, c)) return 0 ;
  b->uidvalidity = b->u.uidvalidity ;
  b->loaded = 1 ;
  b->stamped = stamp ; b->curt = *curt ; b->newt = *newt ;
  /* the listing is read again at the next scan: not kept between */
  mdlist_free(&b->scan) ; mdlist_free(&b->scan2) ;
  b->scan.lazy = b->scan2.lazy = 1 ;
  /* the view has changed: the index failing (a write error) must not
     hide that from the caller; the next sync merges again */
  if (!imapbox_ixmerge(b, stamp, curt, newt)) strerr_warnwu2sys("update the index of ", b->dir.s) ;
  return 1 ;
}

/* What a sync read and the view does not need until the next change to
   the folder goes back to the system: a session that holds a big folder
   open (IDLE) keeps only its view. */
static void lighten (imapbox *b)
{
  uint32_t v = b->u.uidvalidity, n = b->u.uidnext ;
  uidlist_free(&b->u) ;
  b->u = (uidlist)UIDLIST_ZERO ;
  b->u.uidvalidity = v ; b->u.uidnext = n ;
  stralloc_free(&b->tmp) ; stralloc_free(&b->tmp2) ;
  genalloc_free(size_t, &b->idx) ; genalloc_free(size_t, &b->where) ; genalloc_free(size_t, &b->fresh) ;
  malloc_trim(0) ;
  /* the names left in the index's map back to the page cache */
  imapbox_release(b) ;
}

/* The keywords in use all named, else the keywords file read again */
static int kwnamed (imapbox *b)
{
  uint32_t kwall = 0 ;
  if (b->unverified) kwall = b->hkwall ;
  else for (size_t j = 0 ; j < imapbox_len(b) ; j++) kwall |= imapbox_msg(b, j)->kw ;
  for (unsigned int i = 0 ; i < KEYWORDS_MAX ; i++)
    if ((kwall & (1u << i)) && !kwlist_name(&b->kw, i)) return kwlist_read(&b->kw, b->dir.s) ;
  return 1 ;
}

/* A first sync: the view loaded from the index if it is the folder,
   without the lock (its writers rename it into place). 1 loaded, 0 not,
   -1 error. */
static int quickload (imapbox *b, int stamp, struct timespec const *curt, struct timespec const *newt, imapbox_changes *c)
{
  int r ;
  if (!stamp) return 0 ;
  if (!imapbox_ixopen(b)) return -1 ;
  r = imapbox_ixload(b, stamp, curt, newt, c) ;
  imapbox_ixdone(b) ;
  return r ;
}

int imapbox_sync (imapbox *b, int expunge_ok, imapbox_changes *c)
{
  struct timespec curt, newt ;
  int stamp, locked, ok, listed = 0 ;
  changes_clear(c) ;
  /* no record is used unchecked (a lazy load; imapd checks before) */
  if (b->unverified)
  {
    if (!imapbox_verify(b, c)) return 0 ;
    if (c->rebuilt) return 1 ;
  }
  stamp = dirtimes(b, &curt, &newt) ;
  if (!b->loaded)
  {
    ok = quickload(b, stamp, &curt, &newt, c) ;
    if (ok) return ok > 0 && kwnamed(b) ;
  }
  /* nothing renamed, added or removed since the last full sync: no scan
     (a folder of thousands is not read again at every command) */
  if (stamp && b->stamped && b->loaded && !b->validity_changed && same(&curt, &b->curt) && same(&newt, &b->newt))
  {
    if (b->datesnew) imapbox_ixdates(b) ;
    return expunge_ok ? imapbox_remove_gone(b, c) : 1 ;
  }
  /* another session merged the folder's changes since: its index is the
     listing, with the MODSEQs it gave (sessions woken by one delivery do
     not queue for the lock, nor read the directory, one after another) */
  if (stamp && b->loaded && !b->validity_changed)
  {
    if (!imapbox_ixread(b)) return 0 ;
    listed = imapbox_ixlist(b, stamp, &curt, &newt) ;
    if (listed < 0) { imapbox_ixdone(b) ; return 0 ; }
  }
  locked = listed ? 0 : imapbox_lock(b) ;
  if (!listed && !locked && errno != EACCES && errno != EROFS && errno != EPERM) { imapbox_ixdone(b) ; return 0 ; }
  /* the lock may have waited for another session's merge: the index it
     wrote may be the folder now (the directories looked at again) */
  if (locked && b->loaded && !b->validity_changed)
  {
    stamp = dirtimes(b, &curt, &newt) ;
    if (stamp && (!imapbox_ixread(b) || (listed = imapbox_ixlist(b, stamp, &curt, &newt)) < 0))
    {
      imapbox_ixdone(b) ; imapbox_unlock(b) ;
      return 0 ;
    }
  }
  ok = scan_sync(b, expunge_ok, c, stamp, &curt, &newt, listed) ;
  imapbox_ixdone(b) ;
  if (locked) { int e = errno ; imapbox_unlock(b) ; errno = e ; }
  if (!ok) return 0 ;
  lighten(b) ;
  return kwnamed(b) ;
}

void imapbox_free (imapbox *b)
{
  stralloc_free(&b->root) ; stralloc_free(&b->dir) ;
  uidlist_free(&b->u) ; kwlist_free(&b->kw) ;
  imapbox_unmap(b) ;   /* before the records, which may be in the map */
  genalloc_free(imapmsg, &b->msgs) ; stralloc_free(&b->names) ;
  mdlist_free(&b->scan) ; mdlist_free(&b->scan2) ;
  stralloc_free(&b->tmp) ; stralloc_free(&b->tmp2) ; stralloc_free(&b->host) ;
  genalloc_free(size_t, &b->idx) ; genalloc_free(size_t, &b->where) ; genalloc_free(size_t, &b->fresh) ;
  genalloc_free(imapbox_gone, &b->log) ;
  while (b->locks) imapbox_unlock(b) ;
}
