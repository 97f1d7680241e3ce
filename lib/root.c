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

static stralloc me = STRALLOC_ZERO;

void pm_me_forget(void) { stralloc_free(&me); }

char const *pm_me(void)
{
  if (me.s) return me.s;
  if (pm_control_line(&me, "etc/me", "") && me.len) return me.s;
  me.len = 0;
  if (sagethostname(&me) < 0 || !stralloc_0(&me)) strerr_diefusys(111, "get host name");
  return me.s;
}
