/* Header scanning (RFC 5322) of a message held in memory.

   The header is the part before the first empty line. Lines end in LF
   (a CR before it is tolerated). A field is a line "name:value" plus the
   continuation lines that follow it (lines starting with a space or tab).
   Nothing here allocates except hdr_unfold(); callers bound what they
   hand in (e.g. the first megabyte of a message). */
#ifndef PM_HDR_H
#define PM_HDR_H
#include <stddef.h>
#include <skalibs/stralloc.h>

typedef struct hdr_field_s hdr_field ;
struct hdr_field_s {
  char const *name ;   /* field name; namelen 0: a line that is not a field */
  size_t namelen ;
  char const *value ;  /* raw value after the colon, continuation lines */
  size_t valuelen ;    /* included, final line end excluded */
} ;

enum { HDR_MORE = 0, HDR_END = 1, HDR_LIMIT = 2 } ;

/* Where the header of s[0..len) ends. HDR_END: the empty line starts at
   *hlen (0 if the message starts with one). HDR_LIMIT: maxlines lines
   were seen without an empty line; *hlen is the end of the last of them.
   HDR_MORE: neither yet; *hlen is the end of the last complete line. */
int hdr_split (char const *s, size_t len, unsigned int maxlines, size_t *hlen) ;

/* Iterate over the fields of the header block s[0..len): start with
   *pos = 0. 1 and *f filled, or 0 at the end (len or an empty line).
   A final line without LF counts as a line. */
int hdr_next (char const *s, size_t len, size_t *pos, hdr_field *f) ;

/* 1 if the field's name is name (ASCII case-insensitive). */
int hdr_is (hdr_field const *f, char const *name) ;

/* 1 if the unfolded value, leading and trailing blanks removed, is
   want (ASCII case-insensitive). No allocation. */
int hdr_value_is (hdr_field const *f, char const *want) ;

/* sa = the unfolded value (line ends removed, leading and trailing blanks
   trimmed), NUL-terminated, sa->len excluding the NUL. 0 on ENOMEM. */
int hdr_unfold (stralloc *sa, hdr_field const *f) ;

/* 1 if the header block s[0..len) has a field name whose value
   matches value as hdr_value_is() does. */
int hdr_has (char const *s, size_t len, char const *name, char const *value) ;
#endif
