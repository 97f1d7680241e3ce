#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/stralloc.h>
#include "builtin.h"

extern char **environ;

/* The file exec would run for name: the first executable one in PATH. */
static int path_lookup(char const *name, struct stat *st)
{
  char const *p = getenv("PATH");
  stralloc sa = STRALLOC_ZERO;
  int found = 0;
  if (!p) p = "/usr/bin:/bin";
  while (!found) {
    size_t n = strcspn(p, ":");
    sa.len = 0;
    if (!(n ? stralloc_catb(&sa, p, n) : stralloc_cats(&sa, "."))
     || !stralloc_catb(&sa, "/", 1) || !stralloc_cats(&sa, name) || !stralloc_0(&sa)) break;
    found = access(sa.s, X_OK) == 0 && stat(sa.s, st) == 0 && S_ISREG(st->st_mode);
    if (!p[n]) break;
    p += n + 1;
  }
  stralloc_free(&sa);
  return found;
}

int builtin_sibling(char const *name)
{
  char self[PATH_MAX + 1];
  struct stat a, b;
  ssize_t n;
  char *slash;
  if (strchr(name, '/') || !path_lookup(name, &a)) return 0;
  n = readlink("/proc/self/exe", self, PATH_MAX);
  if (n <= 0) return 0;
  self[n] = 0;
  slash = strrchr(self, '/');
  if (!slash || (size_t)(slash + 1 - self) + strlen(name) > PATH_MAX) return 0;
  strcpy(slash + 1, name);
  return stat(self, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void builtin_reset_signals(void)
{
  /* every signal our servers trap (skalibs' selfpipe, SIGPIPE ignored) */
  static int const caught[] = { SIGCHLD, SIGALRM, SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2 };
  struct sigaction sa;
  sigset_t none;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (unsigned int i = 0; i < sizeof caught / sizeof *caught; i++) sigaction(caught[i], &sa, 0);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, 0);
}

int builtin_setenv(char const *mod)
{
  if (strchr(mod, '=')) return putenv((char *)mod) == 0;
  return unsetenv(mod) == 0 || errno != ENOMEM;
}

/* envmod[j] and s name the same variable (s may be "NAME=value" or "NAME") */
static int samename(char const *mod, char const *s)
{
  size_t nl = strcspn(mod, "=");
  return !strncmp(s, mod, nl) && (s[nl] == '=' || !s[nl]);
}

char const **builtin_env(char const *const *envmod, unsigned int n)
{
  size_t len = 0, k = 0;
  char const **e;
  while (environ[len]) len++;
  e = malloc((len + n + 1) * sizeof *e);
  if (!e) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned int j = 0;
    while (j < n && !samename(envmod[j], environ[i])) j++;
    if (j == n) e[k++] = environ[i];
  }
  /* in order, as putenv/unsetenv one after the other: the last one wins */
  for (unsigned int j = 0; j < n; j++) {
    unsigned int l = j + 1;
    if (!strchr(envmod[j], '=')) continue;
    while (l < n && !samename(envmod[l], envmod[j])) l++;
    if (l == n) e[k++] = envmod[j];
  }
  e[k] = 0;
  return e;
}

void builtin_run(builtin_main_func *f, char const *const *argv)
{
  int argc = 0;
  while (argv[argc]) argc++;
  errno = 0;   /* as in a fresh process: no stale value from the parent */
  _exit(f(argc, argv));
}
