/* Maildir (https://cr.yp.to/proto/maildir.html) and Maildir++ (folders
   ".NAME" with a "maildirfolder" file; quota in "maildirsize", see
   https://www.courier-mta.org/imap/README.maildirquota.html).

   Message names: "TIME.MusecPpidQn.HOST[,S=SIZE][:2,FLAGS]"; HOST has
   '/', ':' and ',' written as \057, \072, \054. Directories are made
   mode 700, files 600. Functions return 1 on success, 0 on a system
   error with errno set, unless told otherwise. */
#ifndef PM_MAILDIR_H
#define PM_MAILDIR_H
#include <stdint.h>
#include <stddef.h>
#include <time.h>
#include <skalibs/stralloc.h>

#define MAILDIR_FOLDER_MAX 200     /* bytes in a folder name */
#define MAILDIRSIZE_MAX 5120       /* larger maildirsize: recalculate */
#define MAILDIRSIZE_STALE 900      /* seconds; see maildir_quota_get */

/* Append host to sa with the characters that cannot appear in a
   message name escaped. */
int maildir_host (stralloc *sa, char const *host) ;
/* sa = "TIME.MusecPpidQn.HOST" (NUL-terminated, len excluding it), unique
   on this host: n counts the calls in this process. */
int maildir_uniq (stralloc *sa, char const *host) ;
/* Size from the ",S=SIZE" part of a message name. 1 found, 0 not. */
int maildir_name_size (char const *name, uint64_t *size) ;

/* 1 if name can be a Maildir++ folder (the part after the dot): not
   empty, at most MAILDIR_FOLDER_MAX bytes, no '/', no control bytes,
   no empty component (leading, trailing or double '.'). */
int maildir_folder_valid (char const *name) ;
/* sa = maildir "/." folder, NUL-terminated. 0 on ENOMEM. */
int maildir_folder_path (stralloc *sa, char const *maildir, char const *folder) ;
/* 1 if dir holds tmp/, new/ and cur/ directories. */
int maildir_check (char const *dir) ;
/* Make dir, dir/tmp, dir/new, dir/cur (and dir/maildirfolder if
   isfolder); parts that exist are kept, so that concurrent calls are
   safe. Anything created is made durable (parent directory fsynced). */
int maildir_make (char const *dir, int isfolder) ;
/* fsync the directory dir. */
int maildir_dirsync (char const *dir) ;

/* Move dir/tmp/tmpname to dir/new/newname: link() (rename without
   replacing where the file system has no hard links), fsync new/, unlink
   the tmp file. 0 with EEXIST if newname exists (tmp file kept). On any
   other error nothing is left in new/ and the tmp file is kept. */
int maildir_commit (char const *dir, char const *tmpname, char const *newname) ;
/* Open an unnamed file in dir/tmp (O_TMPFILE) for writing: no directory
   entry until maildir_commit_fd names it, and nothing to clean up after a
   crash. -1 where the filesystem has no O_TMPFILE (use tmp/ names then). */
int maildir_tmpfile (char const *dir) ;
/* Name the written, fsynced file fd as dir/new/newname (linkat: EEXIST if
   that name exists), then fsync new/. 1 ok, 0 error (errno). */
int maildir_commit_fd (char const *dir, int fd, char const *newname) ;
/* Look in dir/new and dir/cur for a message named "DIGITS" suffix
   followed by nothing, ',' or ':'. 1 found, 0 not found, -1 error. */
int maildir_find_suffix (char const *dir, char const *suffix) ;

/* Subscribe the folder (as for maildir_folder_valid) in the Maildir's
   "subscriptions" file, Dovecot's: one mailbox name a line, relative to
   the namespace ("Junk", "Work.Projects"); after a "V\t2\n\n" header
   (Dovecot's version 2) the levels are separated by '\t' instead. A name
   already listed is not added again; the other lines are kept as they
   are. Written as Dovecot writes it: "subscriptions.lock" made with
   O_EXCL (waited for at most 2 s; taken over when untouched for 30 s),
   then renamed over the file. 0 with EFBIG if the file is larger than
   MAILDIR_SUBS_MAX bytes (left alone), EAGAIN if the lock stays taken. */
#define MAILDIR_SUBS_MAX 65536
int maildir_subscribe (char const *maildir, char const *folder) ;
/* Remove the folder's line(s) from the subscriptions, the same way; a
   folder not listed leaves the file untouched. */
int maildir_unsubscribe (char const *maildir, char const *folder) ;
/* The subscribed names into sa, each NUL-terminated, levels separated by
   '.' whatever the file's version. An absent file gives none. */
int maildir_subscriptions (char const *maildir, stralloc *sa) ;
/* Dovecot's dot-lock: lock made with O_EXCL (mode 600); tries 100 ms
   apart; a lock untouched for 30 s is a crashed writer's and is taken
   over. The fd, or -1 (EAGAIN: still taken). The writer writes the new
   contents into the lock, checks maildir_dotlock_mine (1 if the lock is
   still fd, not taken over meanwhile) and renames it over the file. */
int maildir_dotlock (char const *lock, unsigned int tries) ;
int maildir_dotlock_mine (int fd, char const *lock) ;

/* Maildir++ quota of a Maildir (the top one: its folders count too). */
typedef struct maildir_quota_s maildir_quota ;
struct maildir_quota_s {
  uint64_t maxbytes ;  /* limits from the first line; 0 = none */
  uint64_t maxcount ;
  int64_t bytes ;      /* usage: the sum of the other lines */
  int64_t count ;
  int present ;        /* maildirsize exists */
  int valid ;          /* ... well formed and at most MAILDIRSIZE_MAX bytes */
  time_t mtime ;       /* its modification time */
} ;
#define MAILDIR_QUOTA_ZERO { 0, 0, 0, 0, 0, 0, 0 }

/* Parse the contents of a maildirsize file into q (limits and usage;
   present, mtime untouched). 1 if well formed, 0 if not. */
int maildir_quota_parse (char const *s, size_t len, maildir_quota *q) ;
/* The first line for these limits ("NS", "NS,MC", "MC"; "0S" = none),
   NUL-terminated, into s (at least MAILDIR_QUOTA_FMT bytes). Length. */
#define MAILDIR_QUOTA_FMT 48
size_t maildir_quota_fmt (char *s, uint64_t maxbytes, uint64_t maxcount) ;
/* Read dir/maildirsize. An absent file gives present = 0. */
int maildir_quota_read (char const *dir, maildir_quota *q) ;
/* Count the messages in new/ and cur/ of dir and of all its folders:
   size from S= in the name, else from stat. Rescans (at most 3 times)
   while a directory changed during the scan. */
int maildir_quota_scan (char const *dir, int64_t *bytes, int64_t *count) ;
/* Replace dir/maildirsize with q's limits and usage (tmp/ + rename). */
int maildir_quota_write (char const *dir, maildir_quota const *q) ;
/* Append "BYTES COUNT\n" to dir/maildirsize (one write). An absent
   file is not created (returns 1). */
int maildir_quota_add (char const *dir, int64_t bytes, int64_t count) ;
/* Recount the usage (maildir_quota_scan) and rewrite maildirsize. */
int maildir_quota_recalc (char const *dir, maildir_quota *q) ;
/* 1 if maildirsize is older than MAILDIRSIZE_STALE seconds. */
int maildir_quota_stale (maildir_quota const *q) ;
/* 1 if adding bytes and count messages would exceed q's limits. */
int maildir_quota_over (maildir_quota const *q, uint64_t bytes, uint64_t count) ;
/* The quota of dir for a delivery. If set, the limit is maxbytes (from
   the caller, e.g. -q), and maildirsize is made to say so (created if
   absent, unless maxbytes is 0); if not set, the limits are those of
   maildirsize, if any. Usage is recalculated as Maildir++ says: when
   maildirsize is absent, malformed, larger than MAILDIRSIZE_MAX, or says
   the Maildir is full and is older than MAILDIRSIZE_STALE seconds.
   q->present tells whether maildirsize is in use afterwards. */
int maildir_quota_get (char const *dir, maildir_quota *q, int set, uint64_t maxbytes) ;
#endif
