/* libFuzzer target: the text sources of lib/users, which people edit. The
   input is etc/domains, etc/users and etc/aliases separated by NUL bytes;
   they are written into $PIPEMAIL_ROOT (on a tmpfs, made by t/fuzz/run),
   compiled, and when that succeeds, every address of the sources is looked
   up and resolved through the aliases (loops, depth, catch-alls). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/stralloc.h>
#include "root.h"
#include "users.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static char const *const files[3] = { "etc/domains", "etc/users", "etc/aliases" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc; (void)argv;
  if (!getenv("PIPEMAIL_ROOT")) { fputs("users: PIPEMAIL_ROOT must name an instance\n", stderr); exit(100); }
  return 0;
}

static void put(char const *rel, char const *s, size_t n)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", pm_root(), rel);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, s, n) != (ssize_t)n) abort();
  close(fd);
}

/* The first field of each line of s (up to ':' or a blank): an address. */
static void lookups(users const *u, char const *s, size_t n)
{
  stralloc out = STRALLOC_ZERO;
  for (size_t i = 0; i < n;) {
    size_t e = i;
    while (e < n && s[e] != '\n') e++;
    size_t k = i;
    while (k < e && s[k] != ':' && s[k] != ' ' && s[k] != '\t') k++;
    users_entry ent;
    int r = users_lookup(u, s + i, k - i, &ent);
    CHECK(r >= -1 && r <= USERS_ALIAS);
    if (r == USERS_MAILBOX) CHECK(ent.hash && ent.mailbox);
    out.len = 0;
    r = users_resolve(u, s + i, k - i, &out);
    CHECK(r == -1 || out.len >= (size_t)r);
    if (r > 0) CHECK(out.s[out.len - 1] == 0);
    users_isdomain(u, s + i, k - i);
    i = e + 1;
  }
  stralloc_free(&out);
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  char const *part[3] = { 0, 0, 0 };
  size_t len[3] = { 0, 0, 0 };
  char const *s = (char const *)data;
  for (int f = 0, i = 0; f < 3; f++) {
    char const *z = memchr(s + i, 0, size - i);
    size_t e = z ? (size_t)(z - s) : size;
    part[f] = s + i;
    len[f] = e - i;
    i = e < size ? e + 1 : size;
  }
  for (int f = 0; f < 3; f++) put(files[f], part[f], len[f]);
  stralloc err = STRALLOC_ZERO;
  if (users_compile(&err)) {
    users u = USERS_ZERO;
    CHECK(users_open(&u));
    for (int f = 1; f < 3; f++) lookups(&u, part[f], len[f]);
    users_close(&u);
  } else {
    /* a syntax error names its file (ROOT/etc/...); else err is empty */
    CHECK(!err.len || (err.s[err.len - 1] == 0 && !strncmp(err.s, pm_root(), strlen(pm_root()))));
  }
  stralloc_free(&err);
  return 0;
}
