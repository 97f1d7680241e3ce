/* Unit tests of lib/queue: envelope checks, state log replay, load, the pool. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include "tap.h"
#include "queue.h"
#include "root.h"

#define ENV(s) s, sizeof(s) - 1

static void test_env_check(void)
{
  char longaddr[QUEUE_MAXADDR + 10];
  char buf[sizeof longaddr + 10];
  ok(queue_env_check(ENV("Fa@b\0Tc@d\0\0")) == 0, "valid envelope");
  ok(queue_env_check(ENV("F\0Tc@d\0Te@f\0\0")) == 0, "null sender, two recipients");
  ok(queue_env_check(ENV("Fa@b\0\0")) == 91, "no recipient");
  ok(queue_env_check(ENV("Fa@b\0Tc@d\0")) == 91, "unterminated list");
  ok(queue_env_check(ENV("Ta@b\0Tc@d\0\0")) == 91, "no sender");
  ok(queue_env_check(ENV("Fa@b\0Xc@d\0\0")) == 91, "bad item type");
  ok(queue_env_check(ENV("Fa@b\0Tc@d\0\0junk")) == 91, "trailing junk");
  ok(queue_env_check(ENV("Fa@b\0Tc\n@d\0\0")) == 91, "newline in address");
  ok(queue_env_check("", 0) == 91, "empty");
  memset(longaddr, 'x', sizeof longaddr);
  buf[0] = 'F'; buf[1] = 0; buf[2] = 'T';
  memcpy(buf + 3, longaddr, sizeof longaddr);
  buf[3 + sizeof longaddr] = 0; buf[4 + sizeof longaddr] = 0;
  ok(queue_env_check(buf, 5 + sizeof longaddr) == 11, "address too long -> 11");
}

static void test_state(void)
{
  qmsg m = QMSG_ZERO;
  qrcpt r[3];
  memset(r, 0, sizeof r);
  m.rcpt = r; m.nrcpt = 3;
  stralloc_0(&m.reasons);
  ok(queue_state_apply(&m, ENV("0 T 100 160 4.2.2 try later")) == 1, "T line applies");
  ok(r[0].state == QR_TEMP && r[0].attempts == 1 && r[0].next == 160, "temp state recorded");
  is_str(m.reasons.s + r[0].reason, "4.2.2 try later", "reason kept");
  ok(queue_state_apply(&m, ENV("0 D 200 0")) == 1 && r[0].state == QR_DONE, "delivered");
  ok(queue_state_apply(&m, ENV("0 T 300 360 x")) == 1 && r[0].state == QR_DONE, "delivered is final");
  ok(queue_state_apply(&m, ENV("1 F 10 0 5.2.2 mailbox full")) == 1 && r[1].state == QR_FAILED, "failed");
  ok(queue_state_apply(&m, ENV("1 B 11 0")) == 1 && r[1].state == QR_BOUNCED, "bounced");
  is_str(m.reasons.s + r[1].reason, "5.2.2 mailbox full", "bounce keeps the failure reason");
  ok(queue_state_apply(&m, ENV("7 D 1 0")) == 0, "index out of range rejected");
  ok(queue_state_apply(&m, ENV("2 Z 1 0")) == 0, "unknown code rejected");
  ok(queue_state_apply(&m, ENV("x")) == 0, "garbage rejected");
  ok(!queue_msg_finished(&m), "not finished while one pending");
  r[2].state = QR_DONE;
  ok(queue_msg_finished(&m), "finished");
  stralloc_free(&m.reasons);
}

static void test_load(char const *dir)
{
  char id[QUEUE_IDLEN + 1];
  stralloc p = STRALLOC_ZERO;
  qmsg m = QMSG_ZERO;
  int fd;
  char magic[QUEUE_MAGICLEN + 20];
  setenv("PIPEMAIL_ROOT", dir, 1);
  ok(queue_init_dirs(), "init dirs");
  queue_id_make(id);
  ok(strlen(id) > 10 && strlen(id) <= QUEUE_IDLEN, "id length");
  queue_path_msg(&p, id);
  fd = open_trunc(p.s);
  static char const env[] = "F\0Tx@y\0Tz@example\0";
  snprintf(magic, sizeof magic, "PMQ1 %010u %020llu %010u\n", 1024u, 12345ull, (unsigned)sizeof env);
  pwrite(fd, magic, QUEUE_MAGICLEN, 0);
  pwrite(fd, env, sizeof env, QUEUE_MAGICLEN);
  pwrite(fd, "hello\n", 6, 1024);
  close(fd);
  ok(queue_state_append(id, 1, QR_TEMP, 5, 65, "4.0.0 later\nwith newline", 1), "append state");
  if (!ok(queue_load(&m, id, &fd) == 1, "load")) return;
  ok(m.arrival == 12345 && m.size == 6 && m.nrcpt == 2, "header fields");
  is_str(m.sender, "", "null sender");
  is_str(m.rcpt[1].addr, "z@example", "second recipient");
  ok(m.rcpt[1].state == QR_TEMP && m.rcpt[1].next == 65, "state replayed");
  is_str(m.reasons.s + m.rcpt[1].reason, "4.0.0 later with newline", "newline in reason flattened");
  char b[6];
  ok(lseek(fd, m.hdrlen, SEEK_SET) == 1024 && read(fd, b, 6) == 6 && !memcmp(b, "hello\n", 6), "message at hdrlen");
  close(fd);
  queue_free(&m);
  ok(queue_remove(id), "remove");
  ok(queue_load(&m, id, 0) == 0, "removed message is gone");
  stralloc_free(&p);
}

/* A file in queue/pool named name, holding name. */
static void pool_put(char const *dir, char const *name)
{
  char path[256];
  snprintf(path, sizeof path, "%s/queue/pool/%s", dir, name);
  int fd = open_trunc(path);
  if (fd >= 0) { if (write(fd, name, strlen(name)) < 0) {} close(fd); }
}

/* How many files queue/pool holds. */
static unsigned pool_count(char const *dir)
{
  char path[256];
  unsigned n = 0;
  snprintf(path, sizeof path, "%s/queue/pool", dir);
  DIR *d = opendir(path);
  for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

static void test_pool(char const *dir)
{
  char path[256], other[256], buf[16];
  unsigned seen = 0;
  int fd, all = 1;
  ssize_t r;
  snprintf(path, sizeof path, "%s/queue/tmp/taken", dir);
  rm_rf(path);
  snprintf(other, sizeof other, "%s/queue/pool", dir);
  rm_rf(other);
  ok(mkdir(other, 0700) == 0, "an empty pool");
  ok(queue_pool_take(path) < 0 && access(path, F_OK) < 0, "gives nothing, and makes no file");

  pool_put(dir, "7"); pool_put(dir, "4000"); pool_put(dir, "junk"); pool_put(dir, "4096");
  fd = queue_pool_take(path);
  r = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  buf[r > 0 ? r : 0] = 0;
  ok(fd >= 0 && (!strcmp(buf, "7") || !strcmp(buf, "4000")), "files at any two slots: one is taken (%s)", buf);
  if (fd >= 0) close(fd);
  ok(pool_count(dir) == 3, "and is gone from the pool");
  unlink(path);
  fd = queue_pool_take(path);
  r = fd >= 0 ? read(fd, buf + 8, 7) : -1;
  buf[8 + (r > 0 ? r : 0)] = 0;
  ok(fd >= 0 && strcmp(buf + 8, buf) && (!strcmp(buf + 8, "7") || !strcmp(buf + 8, "4000")), "the next take gets the other one");
  if (fd >= 0) close(fd);
  unlink(path);
  ok(queue_pool_take(path) < 0 && access(path, F_OK) < 0, "then nothing, and no file");
  ok(pool_count(dir) == 2, "names that are no slot are left alone");

  for (unsigned k = 0; k < 300; k++) { snprintf(buf, sizeof buf, "%u", k); pool_put(dir, buf); }
  for (unsigned k = 0; k < 300 && all; k++) {
    unsigned n;
    fd = queue_pool_take(path);
    r = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    buf[r > 0 ? r : 0] = 0;
    all = fd >= 0 && buf[uint_scan(buf, &n)] == 0 && n < 300;
    if (fd >= 0) close(fd);
    unlink(path);
    seen++;
  }
  ok(all && seen == 300, "300 files: 300 takes, each a listing");
  ok(queue_pool_take(path) < 0 && pool_count(dir) == 2, "then the pool is empty");
}

int main(void)
{
  char dir[] = "/tmp/pm-unit-queue-XXXXXX";
  PROG = "unit-queue";
  test_env_check();
  test_state();
  if (!mkdtemp(dir)) return 1;
  test_load(dir);
  test_pool(dir);
  rm_rf(dir);
  return done_testing();
}
