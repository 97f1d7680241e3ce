/* Private to lib/imapcache: the file format (imapcache.h).
   File header, IMAPCACHE_FILEHDR bytes: "PMCACHE1", u32 version, u32
   UIDVALIDITY, u64 directory offset, u64 directory entries, u64 their
   checksum, u64 tail (where entries appended after the directory and
   the key section start), u64 the key section's length, u64 its
   checksum, 3 x u64 0, u64 checksum of the 88 bytes before.
   Entry: u32 IMAPCACHE_RECMAGIC, u32 length (all of it), u64 checksum
   of the bytes after it, u32 UID, u32 name length, u64 file size,
   u32 x IMAPCACHE_N part lengths (IMAPCACHE_ABSENT: none), the name,
   the parts. Directory: imapcache_ref (u32 uid, offset, length) each.
   Key section, right after the directory: for each directory entry with
   a KEYS part, in the same order, u32 UID, u32 the entry's offset, u64
   imapcache_id of its name and size, u32 length, the KEYS part. */
#ifndef PM_IMAPCACHEPRIV_H
#define PM_IMAPCACHEPRIV_H
#include "imapcache/imapcache.h"

#define IMAPCACHE_MAGIC "PMCACHE1"
#define IMAPCACHE_VERSION 2
#define IMAPCACHE_FILEHDR 96
#define IMAPCACHE_KEYHDR 20
#define IMAPCACHE_RECMAGIC 0x31434d50u
#define IMAPCACHE_RECHDR (32 + 4 * IMAPCACHE_N)
#define IMAPCACHE_ABSENT 0xffffffffu
#define IMAPCACHE_TAILMAX (4u << 20)   /* appended bytes before a compaction pays */
#define IMAPCACHE_SLACK (16u << 10)

uint64_t imapcache_sum (char const *s, size_t n, uint64_t seed) ;
char const *imapcache_read (imapcache *c, uint64_t off, uint32_t len) ;
int imapcache_addref (imapcache *c, uint32_t uid, uint64_t off, uint32_t len) ;
/* The file header for these, into h[IMAPCACHE_FILEHDR]. */
void imapcache_filehdr (char *h, uint32_t uidvalidity, uint64_t diroff, uint64_t dirn, uint64_t dirsum, uint64_t keylen, uint64_t keysum, uint64_t tail) ;
/* The identity of a message in the key section. */
uint64_t imapcache_id (char const *name, size_t namelen, uint64_t size) ;
#endif
