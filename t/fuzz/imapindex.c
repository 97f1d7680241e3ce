/* libFuzzer target: the folder index file reader (lib/imapstore/
   mboxindex.c), whose input is a file any program with access to the
   Maildir may have written or torn. The first byte chooses: odd, the
   checksums are made right first (imapindex_seal), so the checks of the
   records, names and expunge log are reached; even, the bytes as they
   are. A file taken as valid is then walked as imapstore walks it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "imapstore/mboxindex.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  imapindex x = IMAPINDEX_ZERO ;
  char *buf ;
  int seal ;
  if (!size) return 0 ;
  seal = data[0] & 1 ;
  data++ ; size-- ;
  buf = malloc(size ? size : 1) ;
  if (!buf) return 0 ;
  memcpy(buf, data, size) ;
  if (seal) imapindex_seal(buf, size) ;
  if (imapindex_parse(&x, buf, size) == 1)
  {
    uint64_t names = 0 ;
    for (size_t i = 0 ; i < x.h.nrec ; i++)
    {
      imapindex_rec r ;
      imapindex_get(&x, i, &r) ;
      if (strlen(r.name) != r.namelen || r.baselen > r.namelen || r.modseq > x.h.hms) abort() ;
      if (imapindex_find(&x, r.uid) != i) abort() ;
      names += r.namelen + 1 ;
    }
    if (names != x.h.nameslen) abort() ;
    for (size_t i = 0 ; i < x.h.nlog ; i++)
    {
      uint64_t m ;
      uint32_t uid ;
      imapindex_logent(&x, i, &m, &uid) ;
      if (!uid || m > x.h.hms) abort() ;
    }
  }
  imapindex_free(&x) ;
  return 0 ;
}
