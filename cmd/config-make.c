/* config-make: compile the instance's text configuration (etc/domains,
   etc/users, etc/aliases) into etc/users.cdb. See config-make(8). */
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include "users.h"

#define USAGE "config-make"

int main (int argc, char const *const *argv)
{
  stralloc err = STRALLOC_ZERO ;
  PROG = "config-make" ;
  (void)argv ;
  if (argc > 1) strerr_dieusage(100, USAGE) ;
  if (users_lock() < 0) strerr_diefusys(111, "lock etc/.lock") ;
  if (!users_compile(&err)) {
    if (err.len) strerr_dief(100, err.s) ;
    strerr_diefusys(111, "compile etc/users.cdb") ;
  }
  stralloc_free(&err) ;
  return 0 ;
}
