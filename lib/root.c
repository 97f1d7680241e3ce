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

int pm_fileid_changed(pm_fileid *id, char const *path)
{
  struct stat st;
  pm_fileid n = { .known = 1 };
  if (stat(path, &st) == 0) {
    n.dev = st.st_dev; n.ino = st.st_ino; n.size = st.st_size;
    n.mtim = st.st_mtim; n.ctim = st.st_ctim;
  } else if (errno != ENOENT) n.known = 0;   /* unknown: never "unchanged" */
  else { n.ino = 0; n.size = -1; }            /* absent */
  int same = n.known && id->known && n.dev == id->dev && n.ino == id->ino && n.size == id->size
    && n.mtim.tv_sec == id->mtim.tv_sec && n.mtim.tv_nsec == id->mtim.tv_nsec
    && n.ctim.tv_sec == id->ctim.tv_sec && n.ctim.tv_nsec == id->ctim.tv_nsec;
  *id = n;
  return !same;
}

static stralloc me = STRALLOC_ZERO;
static stralloc mepath = STRALLOC_ZERO;   /* the etc/me that me came from */
static pm_fileid meid = PM_FILEID_ZERO;

void pm_me_refresh(void)
{
  stralloc path = STRALLOC_ZERO;
  if (!pm_path(&path, "etc/me")) {       /* out of memory: read it again */
    stralloc_free(&path);
    stralloc_free(&me);
    meid.known = 0;
    return;
  }
  /* the root comes from the environment, which a session may set */
  int moved = !mepath.s || strcmp(path.s, mepath.s);
  if (pm_fileid_changed(&meid, path.s) || moved) {
    stralloc_free(&me);
    stralloc_free(&mepath);
    mepath = path;
    return;
  }
  stralloc_free(&path);
}

char const *pm_me(void)
{
  if (me.s) return me.s;
  if (pm_control_line(&me, "etc/me", "") && me.len) return me.s;
  me.len = 0;
  if (sagethostname(&me) < 0 || !stralloc_0(&me)) strerr_diefusys(111, "get host name");
  return me.s;
}
