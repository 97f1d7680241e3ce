/* MIME structure of a message held in memory or mapped from a file
   (RFC 5322, RFC 2045, RFC 2046), for IMAP's BODYSTRUCTURE and
   BODY[section] (RFC 3501).

   The tree holds offsets into the message, never copies: a 20 MB
   attachment is one range. The message may have LF or CRLF line ends
   (a Maildir holds LF); sizes that IMAP reports count the CRLF form, so
   every LF not preceded by CR counts two octets.

   Parts: the root (index 0) is the message itself. A multipart part has
   its parts as children (RFC 2046 5.1: a delimiter is "--" boundary at a
   line start, then an optional "--" for the close delimiter, then only
   blanks (transport padding); the line break before it belongs to the
   delimiter; preamble and epilogue belong to the multipart's body; a
   missing close delimiter ends the part at its parent's next delimiter
   or at the end; a delimiter of an enclosing multipart ends every inner
   one). A message/rfc822 part has one child: the embedded message (its
   header is the embedded message's header). Default type text/plain;
   charset=us-ascii, message/rfc822 inside multipart/digest (RFC 2045
   5.2, RFC 2046 5.1.5); an invalid Content-Type counts as absent.

   Bounds (beyond them the content is opaque, never an error):
   MIME_DEPTH_MAX nesting levels, MIME_PARTS_MAX parts, MIME_HDR_MAX
   bytes of each part's header scanned for fields (the header still
   ends at its empty line), MIME_BOUNDARY_MAX bytes of a boundary. A
   multipart or message/rfc822 part that would go beyond them, a
   multipart without a boundary and a message/rfc822 part with a
   transfer encoding other than 7bit, 8bit or binary are leaves marked
   MIME_OPAQUE, reported as application/octet-stream (BODYSTRUCTURE has
   no form for a container without its contents). Every byte is scanned
   a bounded number of times: parsing is linear in the message size. */
#ifndef PM_MIME_H
#define PM_MIME_H
#include <stddef.h>
#include <stdint.h>

#define MIME_DEPTH_MAX 50
#define MIME_PARTS_MAX 10000
#define MIME_HDR_MAX (256 * 1024)
#define MIME_BOUNDARY_MAX 200
#define MIME_CHUNK 4096          /* LF-count checkpoints: 16 bytes per chunk */

/* header fields kept per part (the first of each name) */
enum { MIME_F_TYPE, MIME_F_CTE, MIME_F_ID, MIME_F_DESC, MIME_F_DISP,
       MIME_F_LANG, MIME_F_LOC, MIME_F_MD5, MIME_F_N };

/* part kinds */
enum { MIME_LEAF = 0, MIME_MULTI = 1, MIME_MSG = 2 };
/* flags */
#define MIME_DEFTYPE 1   /* no (valid) Content-Type: the default applies */
#define MIME_DIGEST 2    /* default is message/rfc822 (multipart/digest) */
#define MIME_OPAQUE 4    /* container beyond bounds or unparsable */
#define MIME_TEXT 8      /* text/... (lines are reported) */

typedef struct { size_t off, len ; } mime_range ;  /* len 0: absent */

typedef struct mime_part_s mime_part ;
struct mime_part_s {
  size_t hdr, body, end ;      /* header [hdr, body) with its empty line; body [body, end) */
  mime_range f[MIME_F_N] ;     /* raw field values (after the colon, folded) */
  mime_range type, subtype ;   /* tokens of Content-Type (when !MIME_DEFTYPE) */
  size_t params ;              /* where Content-Type's parameters start */
  uint32_t parent, child, next ; /* indexes; 0 = none (the root is no one's child) */
  uint32_t last ;              /* the last child */
  uint32_t nchild ;
  uint16_t depth ;
  uint8_t kind, flags ;
} ;

typedef struct mime_msg_s mime_msg ;
struct mime_msg_s {
  char const *s ;
  size_t len ;
  mime_part *p ;               /* p[0] is the root */
  uint32_t n ;
  uint32_t nck ;
  uint64_t *ck ;               /* ck[2i], ck[2i+1]: LFs, bare LFs before i*MIME_CHUNK */
  void *map ;                  /* mime_map's mapping, or 0 */
  size_t maplen ;
} ;
#define MIME_MSG_ZERO { .s = 0, .len = 0, .p = 0, .n = 0, .nck = 0, .ck = 0, .map = 0, .maplen = 0 }

/* Parse s[0..len) (kept, not copied: it must outlive m). 1, or 0 on
   ENOMEM (m is then empty). */
int mime_parse (mime_msg *m, char const *s, size_t len) ;
/* mmap the file (read-only, private) and parse it. 1, or 0 with errno.
   The file must not shrink while mapped (a delivered Maildir message
   never changes; reading a truncated mapping would raise SIGBUS). The
   tree costs sizeof(mime_part) per part plus 16 bytes per MIME_CHUNK of
   the message; the message's pages are touched once by the parse. */
int mime_map (mime_msg *m, int fd) ;
/* Free the tree (and unmap what mime_map mapped). */
void mime_free (mime_msg *m) ;

/* Octets of s[a..b) in CRLF form (RFC822.SIZE: mime_crlfsize(m, 0,
   m->len)), and lines (LFs, plus one for a last
   line without LF). O(MIME_CHUNK) each. */
uint64_t mime_crlfsize (mime_msg const *m, size_t a, size_t b) ;
uint64_t mime_lines (mime_msg const *m, size_t a, size_t b) ;

/* The part that BODY[section]'s numbers "1.2.3" name (nums[0..n)), or
   -1 (no such part). *ismsg: the part is a message (the root, n == 0)
   whose HEADER/TEXT are its own; otherwise HEADER/TEXT apply to a
   message/rfc822 part's embedded message (its child). RFC 3501 6.4.5:
   "1" of a non-multipart message is its body. */
long mime_find (mime_msg const *m, uint32_t const *nums, unsigned int n, int *ismsg) ;

/* Case-insensitive comparison of a range of the message with a C string. */
int mime_is (mime_msg const *m, mime_range r, char const *want) ;
#endif
