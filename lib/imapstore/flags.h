/* IMAP flags in Maildir file names, and a folder's keywords.

   System flags are the info letters after ":2," (Maildir's D F R S T =
   \Draft \Flagged \Answered \Seen \Deleted), keywords the letters a-z,
   'a' + i meaning the keyword on line "i NAME" of the folder's
   "dovecot-keywords" file (Dovecot's format, so Dovecot's keywords are
   read right and ours are Dovecot's). Letters of other meaning (another
   program's) are kept when the flags change. Info letters are written in
   ASCII order, as the Maildir specification asks. */
#ifndef PM_IMAPSTORE_FLAGS_H
#define PM_IMAPSTORE_FLAGS_H
#include <stdint.h>
#include <skalibs/stralloc.h>

#define IMAPF_ANSWERED 1u
#define IMAPF_FLAGGED  2u
#define IMAPF_DELETED  4u
#define IMAPF_SEEN     8u
#define IMAPF_DRAFT    16u
#define IMAPF_ALL      31u

#define KEYWORDS_MAX 26
#define KEYWORD_LEN_MAX 100          /* bytes in a keyword name */
#define KEYWORDS_FILE "dovecot-keywords"

/* The flags and keyword bits (bit i = letter 'a' + i) of a file name. */
void imapflags_parse (char const *name, uint32_t *flags, uint32_t *kw) ;
/* sa = name with its info replaced by these flags and keywords (and the
   other letters of its old info), NUL-terminated. */
int imapflags_name (stralloc *sa, char const *name, uint32_t flags, uint32_t kw) ;
/* The IMAP name of a system flag bit, e.g. "\\Seen". */
char const *imapflags_str (uint32_t bit) ;

typedef struct kwlist_s kwlist ;
struct kwlist_s {
  stralloc names ;                 /* NUL-terminated */
  size_t off[KEYWORDS_MAX] ;       /* offset of keyword i's name + 1; 0: unused */
} ;
#define KWLIST_ZERO { .names = STRALLOC_ZERO, .off = { 0 } }

/* Read dir/dovecot-keywords (absent: none; bad lines are skipped). */
int kwlist_read (kwlist *k, char const *dir) ;
/* Keyword i's name, or 0. */
char const *kwlist_name (kwlist const *k, unsigned int i) ;
/* The index of the keyword (case-insensitive), -1 if unknown. */
int kwlist_find (kwlist const *k, char const *name) ;
/* The index of the keyword, added to dir/dovecot-keywords if new (under
   its dot-lock, re-read first). -1 on error: ENOSPC all 26 letters used,
   EINVAL not a valid keyword (IMAP atom, at most KEYWORD_LEN_MAX). */
int kwlist_add (kwlist *k, char const *dir, char const *name) ;
void kwlist_free (kwlist *k) ;
#endif
