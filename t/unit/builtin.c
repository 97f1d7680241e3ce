/* Unit tests of lib/builtin: the environment a built-in program gets. */
#include <stdlib.h>
#include <string.h>
#include <skalibs/strerr.h>
#include "tap.h"
#include "builtin.h"

extern char **environ;

/* The value of name in the array e, or 0. */
static char const *get(char const **e, char const *name)
{
  size_t n = strlen(name);
  char const *found = 0;
  int count = 0;
  for (; *e; e++)
    if (!strncmp(*e, name, n) && (*e)[n] == '=') { found = *e + n + 1; count++; }
  return count > 1 ? "DUPLICATE" : found;
}

int main(void)
{
  static char *base[] = { "A=1", "B=2", "AB=3", "C=4", 0 };
  char const *mods[] = { "A=one", "B", "D=new", "C=x", "C", "E", "F=a", "F=b" };
  char const **e;
  PROG = "unit-builtin";
  environ = base;
  e = builtin_env(mods, sizeof mods / sizeof *mods);
  if (!ok(e != 0, "builtin_env allocates")) return done_testing();
  is_str(get(e, "A"), "one", "NAME=value replaces the inherited value");
  ok(!get(e, "B"), "NAME alone unsets");
  is_str(get(e, "AB"), "3", "a longer name that starts the same is kept");
  is_str(get(e, "D"), "new", "a new variable is added");
  ok(!get(e, "C"), "set then unset: unset (in order)");
  ok(!get(e, "E"), "unsetting an absent variable is harmless");
  is_str(get(e, "F"), "b", "set twice: the last value, once");
  free(e);
  e = builtin_env(mods, 0);
  ok(e && get(e, "A") && !strcmp(get(e, "A"), "1") && get(e, "C"), "no changes: the environment as it is");
  free(e);
  return done_testing();
}
