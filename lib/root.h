/* The instance: every program finds its files under one root directory. */
#ifndef PM_ROOT_H
#define PM_ROOT_H
#include <stddef.h>
#include <sys/stat.h>
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
/* For a process that serves many sessions: read etc/me again at the next
   pm_me() if it changed since it was read (one stat). */
void pm_me_refresh(void);

/* Which file ROOT/rel named when it was read (the root comes from the
   environment, which a session may set): a process that keeps what it read
   across sessions checks with one stat that it is still current. */
typedef struct pm_fileid_s pm_fileid;
struct pm_fileid_s { stralloc path; dev_t dev; ino_t ino; off_t size; struct timespec mtim, ctim; int known; };
#define PM_FILEID_ZERO { .path = STRALLOC_ZERO, .known = 0 }
/* Stat ROOT/rel into *now (path included): 0 if it is the file *then
   described (or both say absent), 1 if not. A stat failing other than
   with ENOENT, or no memory for the path, always counts as a change. */
int pm_fileid_changed(pm_fileid const *then, char const *rel, pm_fileid *now);
void pm_fileid_free(pm_fileid *id);
#endif
