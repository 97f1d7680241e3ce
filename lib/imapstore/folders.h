/* The folders of a Maildir++ mailbox as IMAP sees them.

   INBOX is the Maildir itself; folder "a.b" is the directory ".a.b" (with
   a maildirfolder file); the hierarchy delimiter is '.'. Names are kept
   on disk as IMAP sends them, in modified UTF-7 (RFC 3501 5.1.3), as
   Dovecot and Courier do. A parent need not exist: "a" is then listed
   \Noselect (RFC 3501 6.3.4: what DELETE of a folder with children
   leaves). Subscriptions: the Maildir's "subscriptions" file (maildir.h).

   Special-use folders (RFC 6154): Sent, Drafts, Trash, Junk, Archive get
   \Sent \Drafts \Trash \Junk \Archive. imapstore_special makes those
   missing; the server calls it at each login, as Dovecot's "auto =
   subscribe" does, so that a new mailbox (or one a client broke) has them
   from the first login on, all clients seeing the same ones. */
#ifndef PM_IMAPSTORE_FOLDERS_H
#define PM_IMAPSTORE_FOLDERS_H
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#define IMAPLIST_NOSELECT     1u
#define IMAPLIST_HASCHILDREN  2u
#define IMAPLIST_HASNOCHILDREN 4u
#define IMAPLIST_SUBSCRIBED   8u
#define IMAPLIST_SENT        16u
#define IMAPLIST_DRAFTS      32u
#define IMAPLIST_TRASH       64u
#define IMAPLIST_JUNK       128u
#define IMAPLIST_ARCHIVE    256u
#define IMAPLIST_NONEXISTENT 512u    /* subscribed, not there (LSUB) */
#define IMAPLIST_MAX 10000           /* folders listed at most */

/* 1 if name is a valid folder name: INBOX, or a Maildir++ name
   (maildir_folder_valid) of printable ASCII in well-formed modified
   UTF-7, not starting with "INBOX." (those would be INBOX's children,
   which Maildir++ cannot hold). */
int imapstore_name_valid (char const *name) ;
/* The folder's directory (see mbox.h). */
int imapstore_folder_dir (stralloc *sa, char const *root, char const *name) ;
/* RFC 3501 6.3.8 matching: '*' any characters, '%' any but '.'. INBOX
   matches case-insensitively. A pattern longer than
   IMAPSTORE_PATTERN_MAX matches nothing. */
#define IMAPSTORE_PATTERN_MAX 1024
int imapstore_match (char const *pattern, char const *name) ;

typedef struct imapfolder_s imapfolder ;
struct imapfolder_s { size_t name ; unsigned int attr ; } ;
typedef struct imapfolders_s imapfolders ;
struct imapfolders_s { stralloc names ; genalloc list ; } ;  /* imapfolder, sorted by name */
#define IMAPFOLDERS_ZERO { .names = STRALLOC_ZERO, .list = GENALLOC_ZERO }
#define imapfolders_len(f) genalloc_len(imapfolder, &(f)->list)
#define imapfolders_get(f, i) (genalloc_s(imapfolder, &(f)->list) + (i))
#define imapfolders_name(f, i) ((f)->names.s + imapfolders_get(f, i)->name)

/* The folders matching pattern (the reference already prefixed), with
   their attributes; subscribed_only: LSUB (subscribed ones, even absent:
   \Noselect / NONEXISTENT). Parents that do not exist are listed
   \Noselect where they match. */
int imapstore_list (imapfolders *f, char const *root, char const *pattern, int subscribed_only) ;
void imapfolders_free (imapfolders *f) ;

/* CREATE: the folder, and its missing parents, made and subscribed.
   0 with EEXIST if it exists, EINVAL for a bad name. */
int imapstore_create (char const *root, char const *name) ;
/* DELETE: refused for INBOX (EPERM), ENOENT if absent. Its messages and
   directory are removed; its children stay (it is then \Noselect). The
   subscription stays (RFC 3501 6.3.4 leaves it to LSUB). */
int imapstore_delete (char const *root, char const *name) ;
/* RENAME with its children. INBOX: its messages move into the new folder
   and INBOX stays, empty (RFC 3501 6.3.5). EEXIST if to exists. */
int imapstore_rename (char const *root, char const *from, char const *to) ;
/* Make the special-use folders that are missing (made and subscribed). */
int imapstore_special (char const *root) ;
/* The special-use attribute of a folder name, 0 if none. */
unsigned int imapstore_special_use (char const *name) ;
#endif
