/* The instance: every program finds its files under one root directory. */
#ifndef PM_ROOT_H
#define PM_ROOT_H
#include <stddef.h>
#include <skalibs/stralloc.h>

/* $PIPEMAIL_ROOT, or the root compiled in (PM_ROOT_DEFAULT). */
char const *pm_root(void);
/* sa = root "/" rel, NUL-terminated (sa->len excludes the NUL). 0 on ENOMEM. */
int pm_path(stralloc *sa, char const *rel);
/* First line of ROOT/rel without its newline, or def if the file is absent.
   1 on success, 0 on a read error (errno set). */
int pm_control_line(stralloc *sa, char const *rel, char const *def);
/* Unsigned decimal from the environment, def if unset; exits 100 if malformed. */
unsigned long pm_env_ulong(char const *name, unsigned long def);
/* This host's name: etc/me, else the system host name. Read once. */
char const *pm_me(void);
/* Read it again at the next pm_me() (a process that serves many sessions). */
void pm_me_forget(void);
#endif
