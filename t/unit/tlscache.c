/* lib/tlscache.c: the bound on the number of entries, which is counted at
   one save in 64 (session IDs whose first byte is a multiple of 64), not
   at every save; the verdict is kept in .full in between. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "tap.h"
#include "tlscache.h"

static char dir[] = "/tmp/pm-unit-tlscache.XXXXXX";
static br_ssl_server_context sc;   /* no server name */

static unsigned int entries(void)
{
  unsigned int n = 0;
  struct dirent *d;
  DIR *x = opendir(dir);
  if (!x) return 0;
  while ((d = readdir(x))) n += d->d_name[0] != '.';
  closedir(x);
  return n;
}

static int has_full(void)
{
  char p[64];
  struct stat st;
  snprintf(p, sizeof p, "%s/.full", dir);
  return !stat(p, &st);
}

/* Save a session whose ID starts with first, then n (distinct IDs). */
static void save(tls_cache *c, unsigned char first, unsigned char n)
{
  br_ssl_session_parameters sp;
  memset(&sp, 0, sizeof sp);
  sp.session_id_len = 32;
  sp.session_id[0] = first;
  sp.session_id[1] = n;
  sp.version = BR_TLS12;
  sp.cipher_suite = BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
  c->vtable->save(&c->vtable, &sc, &sp);
}

int main(void)
{
  tls_cache c;
  char const *why;
  char cmd[80];
  if (!mkdtemp(dir)) return 111;
  ok(tls_cache_open(&c, dir, 300, &why), "cache opened");
  c.maxfiles = 3;
  for (unsigned char i = 0; i < 5; i++) save(&c, 1, i);
  ok(entries() == 5 && !has_full(), "saves between counts: not counted (5 entries over a bound of 3)");
  save(&c, 64, 0);
  ok(entries() == 5 && has_full(), "a counting save (ID 64...): over, not saved, .full made");
  save(&c, 2, 0);
  ok(entries() == 5, "with .full: not saved");
  snprintf(cmd, sizeof cmd, "rm -f %s/01*", dir);
  ok(!system(cmd) && entries() == 0, "entries removed");
  save(&c, 3, 0);
  ok(entries() == 0, ".full still there: not saved");
  save(&c, 128, 0);
  ok(entries() == 1 && !has_full(), "a counting save with room: saved, .full removed");
  save(&c, 4, 0);
  ok(entries() == 2, "then saved again");
  tls_cache_close(&c);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) return 1;
  return done_testing();
}
