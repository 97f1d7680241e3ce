/* alias-add: add an alias (address -> targets) to the instance.
   See alias-add(8). */
#include <errno.h>
#include <string.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include "addr.h"
#include "users.h"

#define USAGE "alias-add ALIAS TARGET..."
#define LINE_MAX_ 4096
#define TARGETS_MAX 1000

/* The alias: an address or "@domain" (catch-all); sa = canonical form. */
static void alias_canon(stralloc *sa, char const *s)
{
  size_t len = strlen(s) ;
  if (s[0] == '@') {
    if (!addr_domain_valid(s + 1, len - 1) || s[1] == '[') strerr_dief(100, "invalid alias: ", s) ;
  }
  else if (!addr_valid(s, len)) strerr_dief(100, "invalid alias: ", s) ;
  if (!addr_canon(sa, s, len)) strerr_diefusys(111, "addr_canon") ;
  if (sa->s[addr_at(sa->s, sa->len) + 1] == '[') strerr_dief(100, "an address literal cannot be a local domain: ", s) ;
}

/* A target: an address, or a local part in the alias's domain. */
static void target_check(stralloc *tmp, char const *t, char const *domain)
{
  size_t len = strlen(t) ;
  tmp->len = 0 ;
  if (!stralloc_catb(tmp, t, len)) strerr_diefusys(111, "stralloc_catb") ;
  if (addr_at(t, len) == len && (!stralloc_catb(tmp, "@", 1) || !stralloc_cats(tmp, domain)))
    strerr_diefusys(111, "stralloc_catb") ;
  if (!addr_valid(tmp->s, tmp->len)) strerr_dief(100, "invalid target: ", t) ;
}

int main (int argc, char const *const *argv)
{
  stralloc alias = STRALLOC_ZERO, line = STRALLOC_ZERO, tmp = STRALLOC_ZERO, err = STRALLOC_ZERO ;
  char const *domain ;
  PROG = "alias-add" ;
  if (argc > 1 && argv[1][0] == '-' && argv[1][1]) {
    if (strcmp(argv[1], "--")) strerr_dieusage(100, USAGE) ;
    argc-- ; argv++ ;
  }
  if (argc < 3) strerr_dieusage(100, USAGE) ;
  if (argc - 2 > TARGETS_MAX) strerr_dief(100, "more than 1000 targets") ;
  alias_canon(&alias, argv[1]) ;
  domain = alias.s + addr_at(alias.s, alias.len) + 1 ;
  if (!stralloc_catb(&line, alias.s, alias.len) || !stralloc_catb(&line, ":", 1)) strerr_diefusys(111, "stralloc_catb") ;
  for (int i = 2 ; i < argc ; i++) {
    target_check(&tmp, argv[i], domain) ;
    if (!stralloc_cats(&line, i > 2 ? ", " : " ") || !stralloc_cats(&line, argv[i])) strerr_diefusys(111, "stralloc_catb") ;
  }
  if (line.len > LINE_MAX_) strerr_dief(100, "alias line longer than 4096 bytes") ;

  if (users_lock() < 0) strerr_diefusys(111, "lock etc/.lock") ;
  switch (users_find(alias.s, alias.len, &err)) {
    case 1 : strerr_dief(100, alias.s, " already exists at ", err.s) ;
    case -1 : strerr_diefusys(111, "read etc/users or etc/aliases") ;
  }
  if (!users_add_line("etc/aliases", line.s, line.len, domain, strlen(domain), &err)) {
    if (err.len) strerr_dief(100, err.s, " (etc/aliases left unchanged)") ;
    strerr_diefusys(111, "update etc/aliases and etc/users.cdb") ;
  }
  if (!stralloc_0(&line)) strerr_diefusys(111, "stralloc_0") ;
  strerr_warni("added alias=", alias.s, " targets=", line.s + alias.len + 2) ;
  stralloc_free(&alias) ; stralloc_free(&line) ; stralloc_free(&tmp) ; stralloc_free(&err) ;
  return 0 ;
}
