/* imapstore_status: see mbox.h. */
#include <errno.h>
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
    st->recent += !uidlist_find(&u, name, mdlist_base(name)) ;
    st->size += mdlist_msg(&l, i)->size ;
  }
  st->uidnext = u.uidnext + st->recent ;
  ok = 1 ;
 end:
  stralloc_free(&dir) ; mdlist_free(&l) ; uidlist_free(&u) ;
  return ok ;
}
