#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include <skalibs/bytestr.h>
#include "root.h"

char const *pm_root(void)
{
  char const *r = getenv("PIPEMAIL_ROOT");
  return r && *r ? r : PM_ROOT_DEFAULT;
}

int pm_path(stralloc *sa, char const *rel)
{
  sa->len = 0;
  if (!stralloc_cats(sa, pm_root()) || !stralloc_catb(sa, "/", 1)
   || !stralloc_cats(sa, rel) || !stralloc_0(sa)) return 0;
  sa->len--;
  return 1;
}

int pm_control_line(stralloc *sa, char const *rel, char const *def)
{
  stralloc path = STRALLOC_ZERO;
  int r;
  if (!pm_path(&path, rel)) return 0;
  sa->len = 0;
  r = openreadfileclose(path.s, sa, 4096);
  stralloc_free(&path);
  if (!r) {
    if (errno != ENOENT) return 0;
    sa->len = 0;
    if (!stralloc_cats(sa, def)) return 0;
  }
  size_t n = byte_chr(sa->s, sa->len, '\n');
  sa->len = n;
  while (sa->len && (sa->s[sa->len-1] == '\r' || sa->s[sa->len-1] == ' ')) sa->len--;
  if (!stralloc_0(sa)) return 0;
  sa->len--;
  return 1;
}

unsigned long pm_env_ulong(char const *name, unsigned long def)
{
  char const *s = getenv(name);
  unsigned long u;
  if (!s || !*s) return def;
  if (s[ulong_scan(s, &u)]) strerr_dief(100, "invalid number in $", name, ": not a decimal");
  return u;
}

int pm_fileid_changed(pm_fileid const *then, char const *rel, pm_fileid *now)
{
  struct stat st;
  pm_fileid_free(now);
  if (!pm_path(&now->path, rel)) return 1;    /* known = 0: never "unchanged" */
  now->known = 1;
  if (stat(now->path.s, &st) == 0) {
    now->dev = st.st_dev; now->ino = st.st_ino; now->size = st.st_size;
    now->mtim = st.st_mtim; now->ctim = st.st_ctim;
  } else if (errno != ENOENT) now->known = 0;
  else { now->ino = 0; now->size = -1; }      /* absent */
  return !(now->known && then->known && !strcmp(now->path.s, then->path.s)
    && now->dev == then->dev && now->ino == then->ino && now->size == then->size
    && now->mtim.tv_sec == then->mtim.tv_sec && now->mtim.tv_nsec == then->mtim.tv_nsec
    && now->ctim.tv_sec == then->ctim.tv_sec && now->ctim.tv_nsec == then->ctim.tv_nsec);
}

void pm_fileid_free(pm_fileid *id)
{
  stralloc_free(&id->path);
  *id = (pm_fileid)PM_FILEID_ZERO;
}

static stralloc me = STRALLOC_ZERO;
static pm_fileid meid = PM_FILEID_ZERO;   /* the etc/me that me came from */

void pm_me_refresh(void)
{
  pm_fileid now = PM_FILEID_ZERO;
  if (pm_fileid_changed(&meid, "etc/me", &now)) stralloc_free(&me);
  pm_fileid_free(&meid);
  meid = now;
}

char const *pm_me(void)
{
  if (me.s) return me.s;
  if (pm_control_line(&me, "etc/me", "") && me.len) return me.s;
  me.len = 0;
  if (sagethostname(&me) < 0 || !stralloc_0(&me)) strerr_diefusys(111, "get host name");
  return me.s;
}
