/* Minimal TAP producer for the C unit tests of lib/. */
#ifndef PM_TAP_H
#define PM_TAP_H
#include <stdio.h>
#include <string.h>
static int tap_n, tap_fail;
/* ok() is an expression: its value is the condition, so a test can stop early. */
static inline int tap_ok(int c, char const *file, int line)
{
  tap_n++;
  if (!c) tap_fail++;
  printf("%sok %d - ", c ? "" : "not ", tap_n);
  (void)file; (void)line;
  return c;
}
#define ok(cond, ...) (tap_ok(!!(cond), __FILE__, __LINE__) \
  ? (printf(__VA_ARGS__), printf("\n"), fflush(stdout), 1) \
  : (printf(__VA_ARGS__), printf("\n#   at %s:%d\n", __FILE__, __LINE__), fflush(stdout), 0))
#define is_str(got, want, name) do { char const *g_ = (got), *w_ = (want); \
  ok(g_ && !strcmp(g_, w_), "%s", name); \
  if (!(g_ && !strcmp(g_, w_))) printf("#   got '%s' want '%s'\n", g_ ? g_ : "(null)", w_); } while (0)
#define done_testing() (printf("1..%d\n", tap_n), tap_fail ? 1 : 0)
#endif
