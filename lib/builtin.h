/* Running one of our programs' main() in a forked child instead of
   exec'ing it. An exec costs ~0.5 ms of CPU on the machines we measure
   (mostly glibc's start-up), a fork a fifth of that; the server that runs
   a program per connection or per delivery pays it every time. The child
   gets what exec would have given it: default signal handling, an empty
   signal mask, the environment changes, and none of the parent's
   close-on-exec descriptors (the caller closes those it knows). */
#ifndef PM_BUILTIN_H
#define PM_BUILTIN_H

typedef int builtin_main_func(int, char const *const *) ;

/* 1 if NAME, looked up in PATH as exec would, is the program installed
   beside the running one (same file): running our own code in its place
   is then the same program. 0 otherwise, e.g. a wrapper of that name
   earlier in PATH. */
int builtin_sibling(char const *name) ;

/* In the child: signals back to default handling, none blocked. */
void builtin_reset_signals(void) ;

/* In the child: one environment change, "VAR=value" to set (the string is
   kept, not copied) or "VAR" to unset. 0 on ENOMEM. */
int builtin_setenv(char const *mod) ;

/* A new environment array: environ changed by envmod (n strings,
   "NAME=value" to set, "NAME" to unset, applied in order); the strings are
   not copied. Free it with free(). 0 on ENOMEM. */
char const **builtin_env(char const *const *envmod, unsigned int n) ;

/* In the child: run f(argv) and _exit with what it returns. */
void builtin_run(builtin_main_func *f, char const *const *argv) __attribute__((noreturn)) ;
#endif
