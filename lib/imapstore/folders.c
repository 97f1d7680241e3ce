#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <skalibs/djbunix.h>
#include "maildir.h"
#include "imapstore/folders.h"

#define MATCH_NAME_MAX 255

static char const *const special[5] = { "Sent", "Drafts", "Trash", "Junk", "Archive" } ;

static int is_inbox (char const *name)
{
  return !strcasecmp(name, "INBOX") ;
}

/* modified UTF-7: "&" base64 (',' for '/') "-", "&-" for '&' */
static int mutf7_ok (char const *s)
{
  for (; *s ; s++)
  {
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return 0 ;
    if (*s != '&') continue ;
    if (s[1] == '-') { s++ ; continue ; }
    {
      size_t n = 0 ;
      for (s++ ; *s && *s != '-' ; s++, n++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '+' || *s == ',')) return 0 ;
      if (*s != '-' || !n) return 0 ;
    }
  }
  return 1 ;
}

int imapstore_name_valid (char const *name)
{
  if (is_inbox(name)) return 1 ;
  if (!strncasecmp(name, "INBOX.", 6)) return 0 ;
  return maildir_folder_valid(name) && mutf7_ok(name) ;
}

int imapstore_folder_dir (stralloc *sa, char const *root, char const *name)
{
  if (!imapstore_name_valid(name)) return (errno = EINVAL, 0) ;
  if (!is_inbox(name)) return maildir_folder_path(sa, root, name) ;
  sa->len = 0 ;
  if (!stralloc_cats(sa, root) || !stralloc_0(sa)) return 0 ;
  sa->len-- ;
  return 1 ;
}

/* Dynamic programming, not backtracking: a client's "*%*%*%...x"
   costs pattern length x name length, not an exponential. */
int imapstore_match (char const *p, char const *s)
{
  unsigned char cur[MATCH_NAME_MAX + 1], nxt[MATCH_NAME_MAX + 1] ;
  size_t n = strlen(s), pl = strlen(p) ;
  int ci = is_inbox(s) ;
  if (n > MATCH_NAME_MAX || pl > IMAPSTORE_PATTERN_MAX) return 0 ;
  memset(cur, 0, n + 1) ;
  cur[0] = 1 ;
  for (size_t i = 0 ; i < pl ; i++)
  {
    char c = p[i] ;
    nxt[0] = (c == '*' || c == '%') && cur[0] ;
    for (size_t j = 1 ; j <= n ; j++)
    {
      char x = s[j-1] ;
      if (c == '*') nxt[j] = cur[j] || nxt[j-1] ;
      else if (c == '%') nxt[j] = cur[j] || (nxt[j-1] && x != '.') ;
      else nxt[j] = cur[j-1] && (ci ? toupper((unsigned char)c) == toupper((unsigned char)x) : c == x) ;
    }
    memcpy(cur, nxt, n + 1) ;
  }
  return cur[n] ;
}

unsigned int imapstore_special_use (char const *name)
{
  for (unsigned int i = 0 ; i < 5 ; i++) if (!strcmp(name, special[i])) return IMAPLIST_SENT << i ;
  return 0 ;
}

/* ---- listing ---- */

typedef struct { stralloc names ; genalloc offs ; } nameset ;  /* size_t offsets */

static int cmp_str (void const *a, void const *b, void *arg)
{
  char const *s = arg ;
  return strcmp(s + *(size_t const *)a, s + *(size_t const *)b) ;
}

/* every existing folder name (INBOX first), and every parent of one */
static int all_names (nameset *ns, char const *root, stralloc *existing)
{
  DIR *d = opendir(root) ;
  if (!d) return 0 ;
  if (!stralloc_catb(existing, "INBOX", 6)) { closedir(d) ; return 0 ; }
  for (;;)
  {
    struct dirent *e ;
    struct stat st ;
    stralloc p = STRALLOC_ZERO ;
    int isdir ;
    errno = 0 ;
    e = readdir(d) ;
    if (!e) break ;
    if (e->d_name[0] != '.' || !imapstore_name_valid(e->d_name + 1) || is_inbox(e->d_name + 1)) continue ;
    isdir = maildir_folder_path(&p, root, e->d_name + 1) && stat(p.s, &st) == 0 && S_ISDIR(st.st_mode) ;
    stralloc_free(&p) ;
    if (!isdir) continue ;
    if (genalloc_len(size_t, &ns->offs) >= IMAPLIST_MAX) break ;
    if (!stralloc_catb(existing, e->d_name + 1, strlen(e->d_name)) ) { closedir(d) ; return 0 ; }
  }
  { int er = errno ; closedir(d) ; if (er) return (errno = er, 0) ; }
  /* the names and their parents */
  for (size_t o = 0 ; o < existing->len ; o += strlen(existing->s + o) + 1)
  {
    char const *n = existing->s + o ;
    for (size_t i = 0 ;; i++)
      if (!n[i] || n[i] == '.')
      {
        size_t off = ns->names.len ;
        if (!stralloc_catb(&ns->names, n, i) || !stralloc_0(&ns->names) || !genalloc_append(size_t, &ns->offs, &off)) return 0 ;
        if (!n[i]) break ;
      }
  }
  return 1 ;
}

static int listed (stralloc const *set, char const *name)
{
  for (size_t o = 0 ; o < set->len ; o += strlen(set->s + o) + 1)
    if (!strcmp(set->s + o, name) || (is_inbox(name) && is_inbox(set->s + o))) return 1 ;
  return 0 ;
}

static unsigned int attrs (char const *name, stralloc const *existing, nameset const *ns, stralloc const *subs)
{
  unsigned int a = imapstore_special_use(name) ;
  size_t n = strlen(name) ;
  int children = 0 ;
  for (size_t k = 0 ; k < genalloc_len(size_t, &ns->offs) ; k++)
  {
    char const *o = ns->names.s + genalloc_s(size_t, &ns->offs)[k] ;
    if (!strncmp(o, name, n) && o[n] == '.') { children = 1 ; break ; }
  }
  a |= children ? IMAPLIST_HASCHILDREN : IMAPLIST_HASNOCHILDREN ;
  if (!listed(existing, name)) a |= IMAPLIST_NOSELECT ;
  if (listed(subs, name)) a |= IMAPLIST_SUBSCRIBED ;
  return a ;
}

static int add (imapfolders *f, char const *name, unsigned int attr)
{
  imapfolder x = { .name = f->names.len, .attr = attr } ;
  for (size_t i = 0 ; i < imapfolders_len(f) ; i++) if (!strcmp(imapfolders_name(f, i), name)) return 1 ;
  return stralloc_catb(&f->names, name, strlen(name) + 1) && genalloc_append(imapfolder, &f->list, &x) ;
}

int imapstore_list (imapfolders *f, char const *root, char const *pattern, int subscribed_only)
{
  nameset ns = { STRALLOC_ZERO, GENALLOC_ZERO } ;
  stralloc existing = STRALLOC_ZERO, subs = STRALLOC_ZERO ;
  int ok = 0 ;
  f->names.len = 0 ;
  genalloc_setlen(imapfolder, &f->list, 0) ;
  if (!all_names(&ns, root, &existing) || !maildir_subscriptions(root, &subs)) goto end ;
  for (size_t k = 0 ; k < genalloc_len(size_t, &ns.offs) ; k++)
  {
    char const *name = ns.names.s + genalloc_s(size_t, &ns.offs)[k] ;
    unsigned int a ;
    if (!imapstore_match(pattern, name)) continue ;
    a = attrs(name, &existing, &ns, &subs) ;
    if (subscribed_only && !(a & IMAPLIST_SUBSCRIBED)) continue ;
    if (!add(f, is_inbox(name) ? "INBOX" : name, a)) goto end ;
  }
  if (subscribed_only)
    for (size_t o = 0 ; o < subs.len ; o += strlen(subs.s + o) + 1)
      if (imapstore_match(pattern, subs.s + o) && !listed(&existing, subs.s + o)
       && !add(f, subs.s + o, IMAPLIST_SUBSCRIBED | IMAPLIST_NOSELECT | IMAPLIST_NONEXISTENT)) goto end ;
  if (imapfolders_len(f) > 1) qsort_r(genalloc_s(imapfolder, &f->list), imapfolders_len(f), sizeof(imapfolder), cmp_str, f->names.s) ;
  ok = 1 ;
 end:
  stralloc_free(&ns.names) ; genalloc_free(size_t, &ns.offs) ;
  stralloc_free(&existing) ; stralloc_free(&subs) ;
  return ok ;
}

void imapfolders_free (imapfolders *f)
{
  stralloc_free(&f->names) ;
  genalloc_free(imapfolder, &f->list) ;
}

/* ---- create, delete, rename ---- */

static int make_one (char const *root, char const *name)
{
  stralloc p = STRALLOC_ZERO ;
  int ok = maildir_folder_path(&p, root, name) && maildir_make(p.s, 1) ;
  stralloc_free(&p) ;
  /* subscribed: clients showing subscribed folders only show it */
  return ok && maildir_subscribe(root, name) ;
}

int imapstore_create (char const *root, char const *name)
{
  stralloc p = STRALLOC_ZERO, parent = STRALLOC_ZERO ;
  int ok = 0 ;
  if (!imapstore_name_valid(name)) return (errno = EINVAL, 0) ;
  if (is_inbox(name)) return (errno = EEXIST, 0) ;
  if (!imapstore_folder_dir(&p, root, name)) goto end ;
  if (access(p.s, F_OK) == 0)
  {
    /* another session may be making it right now (the directory comes
       before its tmp/ new/ cur/): complete it, so that an APPEND after
       our NO finds a whole folder (maildir_make keeps what exists) */
    if (!maildir_check(p.s)) make_one(root, name) ;
    errno = EEXIST ;
    goto end ;
  }
  for (size_t i = 0 ; name[i] ; i++)
    if (name[i] == '.')
    {
      parent.len = 0 ;
      if (!stralloc_catb(&parent, name, i) || !stralloc_0(&parent)) goto end ;
      if (!maildir_folder_path(&p, root, parent.s)) goto end ;
      if (!maildir_check(p.s) && !make_one(root, parent.s)) goto end ;
    }
  ok = make_one(root, name) ;
 end:
  stralloc_free(&p) ; stralloc_free(&parent) ;
  return ok ;
}

int imapstore_delete (char const *root, char const *name)
{
  stralloc p = STRALLOC_ZERO ;
  int ok = 0 ;
  if (!imapstore_name_valid(name)) return (errno = EINVAL, 0) ;
  if (is_inbox(name)) return (errno = EPERM, 0) ;
  if (!imapstore_folder_dir(&p, root, name)) goto end ;
  if (access(p.s, F_OK) < 0) goto end ;
  /* out of sight at once (a name LIST skips: two dots), then removed */
  {
    char tmp[64] ;
    stralloc t = STRALLOC_ZERO ;
    snprintf(tmp, sizeof tmp, "/..deleted.%d", (int)getpid()) ;
    if (stralloc_cats(&t, root) && stralloc_cats(&t, tmp) && stralloc_0(&t))
      ok = rename(p.s, t.s) == 0 && rm_rf(t.s) == 0 ;
    stralloc_free(&t) ;
  }
 end:
  stralloc_free(&p) ;
  return ok ;
}

/* move every message of INBOX into dir (a new folder) */
static int move_inbox (char const *root, char const *dir)
{
  char const *subs[2] = { "new", "cur" } ;
  int ok = 1 ;
  for (unsigned int k = 0 ; k < 2 && ok ; k++)
  {
    stralloc s = STRALLOC_ZERO, a = STRALLOC_ZERO, b = STRALLOC_ZERO ;
    DIR *d ;
    if (!stralloc_cats(&s, root) || !stralloc_catb(&s, "/", 1) || !stralloc_cats(&s, subs[k]) || !stralloc_0(&s)) { ok = 0 ; goto next ; }
    d = opendir(s.s) ;
    if (!d) { ok = 0 ; goto next ; }
    for (;;)
    {
      struct dirent *e = readdir(d) ;
      if (!e) break ;
      if (e->d_name[0] == '.') continue ;
      a.len = b.len = 0 ;
      if (!stralloc_copy(&a, &s) || (a.len--, !stralloc_catb(&a, "/", 1)) || !stralloc_cats(&a, e->d_name) || !stralloc_0(&a)
       || !stralloc_cats(&b, dir) || !stralloc_catb(&b, "/", 1) || !stralloc_cats(&b, subs[k])
       || !stralloc_catb(&b, "/", 1) || !stralloc_cats(&b, e->d_name) || !stralloc_0(&b)) { ok = 0 ; break ; }
      if (rename(a.s, b.s) < 0 && errno != ENOENT) { ok = 0 ; break ; }
    }
    closedir(d) ;
   next:
    stralloc_free(&s) ; stralloc_free(&a) ; stralloc_free(&b) ;
  }
  return ok ;
}

/* the keyword letters of INBOX's messages keep their meaning */
static int copy_keywords (char const *root, char const *dir)
{
  stralloc a = STRALLOC_ZERO, s = STRALLOC_ZERO ;
  int ok = 0 ;
  if (!stralloc_cats(&a, root) || !stralloc_cats(&a, "/dovecot-keywords") || !stralloc_0(&a)) goto end ;
  if (!openslurpclose(&s, a.s)) { ok = errno == ENOENT ; goto end ; }
  a.len = 0 ;
  if (!stralloc_cats(&a, dir) || !stralloc_cats(&a, "/dovecot-keywords") || !stralloc_0(&a)) goto end ;
  ok = openwritenclose_suffix(a.s, s.s, s.len, ".tmp") ;
 end:
  stralloc_free(&a) ; stralloc_free(&s) ;
  return ok ;
}

int imapstore_rename (char const *root, char const *from, char const *to)
{
  stralloc a = STRALLOC_ZERO, b = STRALLOC_ZERO, x = STRALLOC_ZERO ;
  imapfolders f = IMAPFOLDERS_ZERO ;
  size_t fl = strlen(from) ;
  int ok = 0 ;
  if (!imapstore_name_valid(from) || !imapstore_name_valid(to) || is_inbox(to)) return (errno = EINVAL, 0) ;
  if (!imapstore_folder_dir(&b, root, to)) goto end ;
  if (access(b.s, F_OK) == 0) { errno = EEXIST ; goto end ; }
  if (is_inbox(from))
  {
    ok = imapstore_create(root, to) && copy_keywords(root, b.s) && move_inbox(root, b.s) ;
    goto end ;
  }
  if (!imapstore_folder_dir(&a, root, from)) goto end ;
  if (access(a.s, F_OK) < 0) goto end ;
  /* the children first, listed before anything moves */
  if (!stralloc_cats(&x, from) || !stralloc_cats(&x, ".*") || !stralloc_0(&x)) goto end ;
  if (!imapstore_list(&f, root, x.s, 0)) goto end ;
  if (rename(a.s, b.s) < 0) goto end ;
  maildir_unsubscribe(root, from) ; maildir_subscribe(root, to) ;
  for (size_t i = 0 ; i < imapfolders_len(&f) ; i++)
  {
    char const *child = imapfolders_name(&f, i) ;
    if (imapfolders_get(&f, i)->attr & IMAPLIST_NOSELECT) continue ;
    x.len = 0 ;
    if (!stralloc_cats(&x, to) || !stralloc_cats(&x, child + fl) || !stralloc_0(&x)) goto end ;
    if (!imapstore_folder_dir(&a, root, child) || !imapstore_folder_dir(&b, root, x.s)) goto end ;
    if (rename(a.s, b.s) < 0) goto end ;
    maildir_unsubscribe(root, child) ; maildir_subscribe(root, x.s) ;
  }
  ok = 1 ;
 end:
  stralloc_free(&a) ; stralloc_free(&b) ; stralloc_free(&x) ;
  imapfolders_free(&f) ;
  return ok ;
}

int imapstore_special (char const *root)
{
  stralloc p = STRALLOC_ZERO ;
  int ok = 1 ;
  for (unsigned int i = 0 ; i < 5 && ok ; i++)
  {
    if (!maildir_folder_path(&p, root, special[i])) { ok = 0 ; break ; }
    if (!maildir_check(p.s)) ok = make_one(root, special[i]) ;
  }
  stralloc_free(&p) ;
  return ok ;
}
