/* imapstore_status: see mbox.h. */
#include <errno.h>
#include <time.h>
#include <sys/stat.h>
#include "imapstore/mboxindex.h"
#include "imapstore/mboxpriv.h"

int imapstore_status (char const *root, char const *folder, imapstatus *st)
{
  stralloc dir = STRALLOC_ZERO ;
  mdlist l = MDLIST_ZERO ;
  uidlist u = UIDLIST_ZERO ;
  int ok = 0, r ;
  *st = (imapstatus){ 0 } ;
  l.lazy = 1 ;
  if (!imapstore_folder_dir(&dir, root, folder) || !maildir_check(dir.s)) goto end ;
  r = uidlist_read(&u, dir.s) ;
  if (!r) goto end ;
  if (r < 0)
  {
    /* no list (or a lost one): the full load numbers the folder */
    imapbox b = IMAPBOX_ZERO ;
    imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
    ok = imapbox_init(&b, root, folder) && imapbox_sync(&b, 1, &c) ;
    if (ok)
    {
      st->messages = (uint32_t)imapbox_len(&b) ;
      st->uidnext = imapbox_uidnext(&b) ;
      st->uidvalidity = imapbox_uidvalidity(&b) ;
      for (size_t i = 0 ; i < imapbox_len(&b) ; i++)
      {
        st->unseen += !(imapbox_msg(&b, i)->flags & IMAPF_SEEN) ;
        st->deleted += !!(imapbox_msg(&b, i)->flags & IMAPF_DELETED) ;
        st->size += imapbox_msg(&b, i)->size ;
      }
    }
    imapbox_free(&b) ; imapbox_changes_free(&c) ;
    goto end ;
  }
  if (!mdlist_scan(&l, dir.s)) goto end ;
  st->messages = (uint32_t)mdlist_len(&l) ;
  st->uidvalidity = u.uidvalidity ;
  for (size_t i = 0 ; i < mdlist_len(&l) ; i++)
  {
    char const *name = mdlist_name(&l, i) ;
    uint32_t f, kw ;
    imapflags_parse(name, &f, &kw) ;
    st->unseen += !(f & IMAPF_SEEN) ;
    st->deleted += !!(f & IMAPF_DELETED) ;
    st->recent += !uidlist_find(&u, name, mdlist_base(name)) ;
    st->size += mdlist_msg(&l, i)->size ;
  }
  st->uidnext = u.uidnext + st->recent ;
  ok = 1 ;
 end:
  stralloc_free(&dir) ; mdlist_free(&l) ; uidlist_free(&u) ;
  return ok ;
}

uint64_t imapstore_highestmodseq (char const *root, char const *folder)
{
  stralloc dir = STRALLOC_ZERO, p = STRALLOC_ZERO ;
  imapindex_head h ;
  struct stat cur, new ;
  struct timespec now ;
  uint64_t hms = 0 ;
  if (!imapstore_folder_dir(&dir, root, folder)) goto end ;
  /* the index's, if the directories are as it says (and were, stably) */
  if (imapindex_readhead(&h, dir.s) > 0 && h.stamped && clock_gettime(CLOCK_REALTIME_COARSE, &now) == 0
   && stralloc_copy(&p, &dir) && stralloc_cats(&p, "/cur") && stralloc_0(&p) && stat(p.s, &cur) == 0
   && (p.len -= 4, stralloc_cats(&p, "new")) && stralloc_0(&p) && stat(p.s, &new) == 0
   && cur.st_mtim.tv_sec == h.curt.tv_sec && cur.st_mtim.tv_nsec == h.curt.tv_nsec
   && new.st_mtim.tv_sec == h.newt.tv_sec && new.st_mtim.tv_nsec == h.newt.tv_nsec)
  {
    hms = h.hms ;
    goto end ;
  }
  {
    imapbox b = IMAPBOX_ZERO ;
    imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
    if (imapbox_init(&b, root, folder) && imapbox_sync(&b, 1, &c)) hms = imapbox_highestmodseq(&b) ;
    imapbox_free(&b) ; imapbox_changes_free(&c) ;
  }
 end:
  stralloc_free(&dir) ; stralloc_free(&p) ;
  return hms ;
}
