/* libFuzzer target: the inflate input path of COMPRESS=DEFLATE
   (lib/deflateio under lib/lineio), as imap-mailbox reads a client. The
   input is what the client sends after COMPRESS (raw deflate, or not),
   given to the reader in pieces of 1 to 64 bytes (sizes from the input
   itself, as a network would cut it); lines are read with a bound, as
   the IMAP reader does, and each is written back through the deflater.
   Checks what the headers promise: a line is never longer than its
   bound, a read never returns more than was asked for. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "deflateio.h"
#include "lineio.h"

#define CHECK(x) do { if (!(x)) abort() ; } while (0)
#define LINEMAX 1000

typedef struct { uint8_t const *s ; size_t n, k ; } feed ;

/* The client's bytes in small pieces; then end of file. */
static ssize_t lower_read (void *ctx, char *buf, size_t len, tain const *deadline)
{
  feed *f = ctx ;
  size_t piece ;
  (void)deadline ;
  if (f->k >= f->n) return 0 ;
  piece = 1 + f->s[f->k] % 64 ;
  if (piece > len) piece = len ;
  if (piece > f->n - f->k) piece = f->n - f->k ;
  memcpy(buf, f->s + f->k, piece) ;
  f->k += piece ;
  return piece ;
}

static int lower_write (void *ctx, char const *s, size_t len, tain const *deadline)
{
  (void)ctx ; (void)s ; (void)len ; (void)deadline ;
  return 1 ;
}

static lineio l ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  feed f = { data, size, 0 } ;
  lineio_io low = { .ctx = &f, .read = &lower_read, .write = &lower_write }, io ;
  /* the first bytes as if read with the COMPRESS command */
  size_t pre = size && data[0] < 16 ? data[0] : 0 ;
  deflateio *z ;
  if (pre > size) pre = size ;
  f.k = pre ;
  z = deflateio_new(&low, (char const *)data, pre) ;
  CHECK(z) ;
  deflateio_io(z, &io) ;
  lineio_init_io(&l, &io, 5) ;
  for (;;)
  {
    char *line ;
    size_t len ;
    int r = lineio_getline(&l, LINEMAX, &line, &len) ;
    if (r < 0 || r == LINEIO_EOF) break ;
    CHECK(len <= LINEMAX) ;
    CHECK(lineio_put(&l, line, len) && lineio_put(&l, "\r\n", 2)) ;
    CHECK(lineio_flush(&l)) ;
  }
  deflateio_free(z) ;
  return 0 ;
}
