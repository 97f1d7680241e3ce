/* The view and the folder's index: the load from it, the merge into it
   (MODSEQs, the expunge log), the lock. See mbox.h and mboxindex.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <skalibs/strerr.h>
#include "imapstore/mboxindex.h"
#include "imapstore/mboxpriv.h"

#define IX(b) ((imapindex *)(b)->ix)

void imapbox_unmap (imapbox *b)
{
  /* the records in the map go with it: only for a view thrown away */
  if (b->recmap) b->msgs = (genalloc)GENALLOC_ZERO ;
  if (b->map) munmap(b->map, b->maplen) ;
  b->map = 0 ; b->maplen = 0 ; b->recmap = 0 ; b->unverified = 0 ;
}

int imapbox_own (imapbox *b)
{
  genalloc g = GENALLOC_ZERO ;
  size_t n = imapbox_len(b) ;
  if (!b->recmap) return 1 ;
  if (!genalloc_ready(imapmsg, &g, n + 1)) return 0 ;
  memcpy(g.s, b->msgs.s, n * sizeof(imapmsg)) ;
  genalloc_setlen(imapmsg, &g, n) ;
  b->msgs = g ;
  b->recmap = 0 ;
  return 1 ;
}

/* The map's pages back to the page cache: all of them while the records
   are still as in the file, else only the names' (a private page that
   was written to would lose its changes). */
void imapbox_release (imapbox *b)
{
  size_t pg = (size_t)sysconf(_SC_PAGESIZE), from ;
  if (!b->map) return ;
  from = b->recmap ? (b->namesoff + pg - 1) / pg * pg : 0 ;
  if (from < b->maplen) madvise(b->map + from, b->maplen - from, MADV_DONTNEED) ;
}

int imapbox_lock (imapbox *b)
{
  if (b->locks) { b->locks++ ; return 1 ; }
  b->lockfd = imapindex_lock(b->dir.s) ;
  if (b->lockfd < 0) return 0 ;
  b->locks = 1 ;
  return 1 ;
}

void imapbox_unlock (imapbox *b)
{
  if (!b->locks || --b->locks) return ;
  imapindex_unlock(b->lockfd) ;
  b->lockfd = -1 ;
}

void imapbox_ixdone (imapbox *b)
{
  int e = errno ;
  if (b->ix) { imapindex_free(IX(b)) ; free(b->ix) ; b->ix = 0 ; }
  errno = e ;
}

static int ixget (imapbox *b, int (*rd)(imapindex *, char const *))
{
  imapindex *x ;
  imapbox_ixdone(b) ;   /* read again: a sync reads before and under the lock */
  x = malloc(sizeof *x) ;
  if (!x) return 0 ;
  *x = (imapindex)IMAPINDEX_ZERO ;
  memset(&x->h, 0, sizeof x->h) ;
  b->ix = x ;
  /* an unreadable one (EACCES) is as none: the folder is rebuilt */
  if ((*rd)(x, b->dir.s) < 0 && errno != EACCES) { imapbox_ixdone(b) ; return 0 ; }
  return 1 ;
}

int imapbox_ixread (imapbox *b) { return ixget(b, &imapindex_read) ; }
int imapbox_ixopen (imapbox *b) { return ixget(b, &imapindex_open) ; }

static int valid (imapbox const *b) { return b->ix && IX(b)->buf ; }

/* dovecot-uidlist's identity, as the index records it */
static int ulstat (imapbox *b, uint64_t *size, uint64_t *ino, int64_t *mtime)
{
  struct stat st ;
  b->tmp.len = 0 ;
  if (!stralloc_cats(&b->tmp, b->dir.s) || !stralloc_cats(&b->tmp, "/" UIDLIST_FILE) || !stralloc_0(&b->tmp)
   || stat(b->tmp.s, &st) < 0) return 0 ;
  *size = (uint64_t)st.st_size ; *ino = (uint64_t)st.st_ino ;
  *mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec ;
  return 1 ;
}

static int same (struct timespec const *a, struct timespec const *b)
{
  return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec ;
}

static int takelog (imapbox *b, imapindex const *x)
{
  genalloc_setlen(imapbox_gone, &b->log, 0) ;
  if (!genalloc_ready(imapbox_gone, &b->log, x->h.nlog)) return 0 ;
  for (size_t i = 0 ; i < x->h.nlog ; i++)
  {
    imapbox_gone *g = genalloc_s(imapbox_gone, &b->log) + i ;
    imapindex_logent(x, i, &g->modseq, &g->uid) ;
  }
  genalloc_setlen(imapbox_gone, &b->log, x->h.nlog) ;
  b->logfloor = x->h.logfloor ;
  return 1 ;
}

/* The index is the folder as it is now: taken after the directories'
   last change (trusted stamps), with the uidlist as it is. */
static int current (imapbox *b, int stamp, struct timespec const *curt, struct timespec const *newt)
{
  imapindex const *x = IX(b) ;
  uint64_t size, ino ;
  int64_t mtime ;
  if (!valid(b) || !stamp || !x->h.stamped || !same(curt, &x->h.curt) || !same(newt, &x->h.newt)) return 0 ;
  return ulstat(b, &size, &ino, &mtime) && size == x->h.ulsize && ino == x->h.ulino && mtime == x->h.ulmtime ;
}

int imapbox_ixload (imapbox *b, int stamp, struct timespec const *curt, struct timespec const *newt, imapbox_changes *c)
{
  imapindex *x = IX(b) ;
  if (!current(b, stamp, curt, newt) || !x->mapped) return 0 ;
  if (!b->lazy && !imapindex_verify(x)) return 0 ;
  imapbox_unmap(b) ;
  genalloc_free(imapmsg, &b->msgs) ;
  b->names.len = 0 ;
  if (x->verified && !takelog(b, x)) return -1 ;
  /* the view is the map: records and names, nothing copied */
  b->map = x->buf ; b->maplen = x->len ;
  b->msgs.s = x->buf + IMAPINDEX_HEAD ;
  b->msgs.len = b->msgs.a = (size_t)x->h.nrec * sizeof(imapmsg) ;
  b->recmap = 1 ;
  b->namesoff = IMAPINDEX_HEAD + (size_t)x->h.nrec * IMAPINDEX_REC + (size_t)x->h.nlog * IMAPINDEX_LOG ;
  b->unverified = !x->verified ;
  b->hkwall = x->h.kwall ; b->hunseen = x->h.unseen ;
  b->logfloor = x->h.logfloor ;
  /* the uidlist is read only when a scan needs it */
  b->u.uidvalidity = b->uidvalidity = x->h.uidvalidity ;
  b->u.uidnext = x->h.uidnext ;
  b->u.ino = 0 ;
  b->hms = x->h.hms ;
  b->loaded = 1 ;
  b->stamped = 1 ; b->curt = *curt ; b->newt = *newt ;
  c->added = x->h.nrec ;
  /* pages read while checking go back to the page cache until used */
  if (x->verified) imapbox_release(b) ;
  *x = (imapindex)IMAPINDEX_ZERO ;
  return 1 ;
}

int imapbox_verify (imapbox *b, imapbox_changes *c)
{
  imapindex x = IMAPINDEX_ZERO ;
  size_t n = imapbox_len(b) ;
  uint32_t v = b->uidvalidity ;
  if (!b->unverified) return 1 ;
  b->unverified = 0 ;
  if (imapindex_check(b->map, b->maplen, &x.h))
  {
    x.buf = b->map ; x.len = b->maplen ;
    if (!takelog(b, &x)) { b->unverified = 1 ; return 0 ; }
    imapbox_release(b) ;
    return 1 ;
  }
  /* damaged: a view of the folder from a scan (which rewrites the index) */
  strerr_warnw3x("the index of ", b->dir.s, " is damaged: rebuilt") ;
  imapbox_unmap(b) ;
  genalloc_setlen(imapbox_gone, &b->log, 0) ;
  b->loaded = b->stamped = b->lazy = 0 ;
  if (!imapbox_sync(b, 1, c)) return 0 ;
  if (imapbox_len(b) != n || b->uidvalidity != v) b->validity_changed = 1 ;
  c->added = 0 ;
  c->rebuilt = 1 ;
  return 1 ;
}

void imapbox_counts (imapbox const *b, uint32_t *recent, uint32_t *unseen)
{
  size_t n = imapbox_len(b) ;
  *recent = *unseen = 0 ;
  /* loaded from the index: none recent (mbox.h), the rest in its header */
  if (b->unverified) { *unseen = b->hunseen ; return ; }
  for (size_t i = 0 ; i < n ; i++)
  {
    *recent += imapbox_msg(b, i)->recent ;
    if (!*unseen && !(imapbox_msg(b, i)->flags & IMAPF_SEEN)) *unseen = (uint32_t)i + 1 ;
  }
}

int imapbox_ixlist (imapbox *b, int stamp, struct timespec const *curt, struct timespec const *newt)
{
  imapindex const *x = IX(b) ;
  if (!current(b, stamp, curt, newt) || x->h.uidvalidity != b->uidvalidity) return 0 ;
  b->scan.names.len = 0 ;
  genalloc_setlen(mdmsg, &b->scan.msgs, 0) ;
  for (size_t i = 0 ; i < x->h.nrec ; i++)
  {
    imapindex_rec r ;
    imapindex_get(x, i, &r) ;
    if (!mdlist_push(&b->scan, r.name, r.size, r.vsize)) return -1 ;
  }
  mdlist_order(&b->scan) ;
  return 1 ;
}

int imapbox_ixknown (imapbox *b, char const *name, imapmsg *m)
{
  imapindex_rec r ;
  size_t i ;
  if (!valid(b) || !m->uid || IX(b)->h.uidvalidity != b->u.uidvalidity) return 0 ;
  i = imapindex_find(IX(b), m->uid) ;
  if (i == (size_t)-1) return 0 ;
  imapindex_get(IX(b), i, &r) ;
  if (r.baselen != m->baselen || memcmp(r.name, name, r.baselen)) return 0 ;
  m->size = r.size ; m->vsize = r.vsize ; m->date = r.date ;
  return 1 ;
}

/* ---- the merge ---- */

typedef struct merge_s merge ;
struct merge_s {
  imapbox *b ;
  size_t *live ;        /* the view's messages not gone */
  size_t nlive ;
  size_t logfrom ;      /* first log entry kept */
} ;

static void src_rec (void *ctx, size_t i, imapindex_rec *r)
{
  merge *g = ctx ;
  imapmsg const *m = imapbox_msg(g->b, g->live[i]) ;
  char const *name = imapbox_mname(g->b, m) ;
  *r = (imapindex_rec){ .uid = m->uid, .flags = m->flags, .kw = m->kw, .namelen = strlen(name), .baselen = m->baselen,
                        .size = m->size, .vsize = m->vsize, .modseq = m->modseq, .date = m->date, .name = name } ;
}

static void src_log (void *ctx, size_t i, uint64_t *modseq, uint32_t *uid)
{
  merge *g = ctx ;
  imapbox_gone const *e = genalloc_s(imapbox_gone, &g->b->log) + g->logfrom + i ;
  *modseq = e->modseq ; *uid = e->uid ;
}

static int logit (imapbox *b, uint32_t uid, uint64_t modseq)
{
  imapbox_gone e = { .modseq = modseq, .uid = uid } ;
  return genalloc_append(imapbox_gone, &b->log, &e) ;
}

/* The view's messages get their MODSEQs from the index (unchanged ones)
   or the next ones (changed, new); the index's messages the view lacks,
   and those it has as gone, are logged as expunged. 0 out of memory. */
static int assign (imapbox *b, imapindex const *x, int ok, uint64_t *hms, int *dirty)
{
  size_t n = imapbox_len(b), k = 0, nrec = ok ? x->h.nrec : 0 ;
  imapindex_rec r = { .uid = 0 } ;
  for (size_t j = 0 ; j <= n ; j++)
  {
    imapmsg *m = j < n ? imapbox_msg(b, j) : 0 ;
    for (; k < nrec ; k++)
    {
      imapindex_get(x, k, &r) ;
      if (m && r.uid >= m->uid) break ;
      if (!logit(b, r.uid, ++*hms)) return 0 ;
      *dirty = 1 ;
    }
    if (!m) break ;
    if (k < nrec && r.uid == m->uid)
    {
      k++ ;
      if (m->gone) { if (!logit(b, m->uid, ++*hms)) return 0 ; *dirty = 1 ; continue ; }
      if (r.flags == m->flags && r.kw == m->kw && r.baselen == m->baselen && !memcmp(r.name, imapbox_mname(b, m), r.baselen))
      {
        m->modseq = r.modseq ;
        if (!m->date) m->date = r.date ;
        if (strcmp(r.name, imapbox_mname(b, m))) *dirty = 1 ;
        continue ;
      }
    }
    if (m->gone) continue ;
    m->modseq = ++*hms ;
    *dirty = 1 ;
  }
  return 1 ;
}

int imapbox_ixmerge (imapbox *b, int stamp, struct timespec const *curt, struct timespec const *newt)
{
  imapindex const *x = IX(b) ;
  int ok = valid(b) && x->h.uidvalidity == b->u.uidvalidity, dirty = !ok, r = 0 ;
  uint64_t hms = ok ? x->h.hms : 0, floor ;
  imapindex_head h = { .uidvalidity = b->u.uidvalidity, .uidnext = b->u.uidnext, .stamped = !!stamp } ;
  merge g = { .b = b } ;
  if (!ok)
  {
    /* no index to go on: MODSEQs start above any handed out before */
    uint64_t now = imapindex_clock() ;
    if (valid(b) && x->h.hms > hms) hms = x->h.hms ;
    if (now > hms) hms = now ;
  }
  if (b->hms > hms) hms = b->hms ;
  floor = ok ? x->h.logfloor : hms ;
  if (ok) { if (!takelog(b, x)) return 0 ; }
  else genalloc_setlen(imapbox_gone, &b->log, 0) ;
  if (!assign(b, x, ok, &hms, &dirty)) return 0 ;
  b->hms = hms ;
  /* the log is bounded: the oldest go, the floor rises */
  if (genalloc_len(imapbox_gone, &b->log) > IMAPINDEX_LOG_MAX)
  {
    size_t drop = genalloc_len(imapbox_gone, &b->log) - IMAPINDEX_LOG_MAX ;
    imapbox_gone *e = genalloc_s(imapbox_gone, &b->log) ;
    floor = e[drop - 1].modseq ;
    memmove(e, e + drop, IMAPINDEX_LOG_MAX * sizeof *e) ;
    genalloc_setlen(imapbox_gone, &b->log, IMAPINDEX_LOG_MAX) ;
  }
  b->logfloor = floor ;
  if (!b->locks) return 1 ;   /* read-only folder: nothing written */
  if (!ulstat(b, &h.ulsize, &h.ulino, &h.ulmtime)) { if (errno != ENOENT) return 0 ; }
  if (stamp) { h.curt = *curt ; h.newt = *newt ; }
  if (!dirty && !b->datesnew && ok && x->h.stamped == h.stamped && same(&x->h.curt, &h.curt) && same(&x->h.newt, &h.newt)
   && x->h.ulsize == h.ulsize && x->h.ulino == h.ulino && x->h.ulmtime == h.ulmtime && x->h.uidnext == h.uidnext)
    return 1 ;
  g.live = malloc((imapbox_len(b) ? imapbox_len(b) : 1) * sizeof *g.live) ;
  if (!g.live) return 0 ;
  for (size_t j = 0 ; j < imapbox_len(b) ; j++)
  {
    imapmsg const *m = imapbox_msg(b, j) ;
    if (m->gone) continue ;
    g.live[g.nlive++] = j ;
    h.nameslen += strlen(imapbox_mname(b, m)) + 1 ;
  }
  h.nrec = g.nlive ;
  h.nlog = genalloc_len(imapbox_gone, &b->log) ;
  h.hms = hms ; h.logfloor = floor ;
  {
    imapindex_src src = { .ctx = &g, .rec = &src_rec, .log = &src_log } ;
    r = imapindex_write(b->dir.s, &h, &src) ;
  }
  free(g.live) ;
  if (r) b->datesnew = 0 ;
  /* an index that cannot be written costs speed, not answers */
  if (!r && errno != EACCES && errno != EROFS && errno != ENOSPC && errno != EDQUOT) return 0 ;
  return 1 ;
}

void imapbox_ixdates (imapbox *b)
{
  imapindex const *x ;
  if (!imapbox_lock(b)) { b->datesnew = 0 ; return ; }
  if (imapbox_ixread(b))
  {
    x = IX(b) ;
    /* the index is this view if it says the directories are as the view
       saw them and no change came since */
    if (valid(b) && x->h.stamped && same(&x->h.curt, &b->curt) && same(&x->h.newt, &b->newt) && x->h.hms == b->hms
     && x->h.uidvalidity == b->uidvalidity)
      imapbox_ixmerge(b, 1, &b->curt, &b->newt) ;
  }
  imapbox_ixdone(b) ;
  imapbox_unlock(b) ;
  b->datesnew = 0 ;
}

int imapbox_vanished (imapbox const *b, uint64_t modseq, genalloc *uids)
{
  size_t n = genalloc_len(imapbox_gone, &b->log) ;
  imapbox_gone const *e = genalloc_s(imapbox_gone, &b->log) ;
  genalloc_setlen(uint32_t, uids, 0) ;
  if (modseq < b->logfloor) return 0 ;
  for (size_t i = 0 ; i < n ; i++)
    if (e[i].modseq > modseq && !genalloc_append(uint32_t, uids, &e[i].uid)) return -1 ;
  return 1 ;
}
