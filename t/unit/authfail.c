/* lib/authfail: failures counted per address in a file, across
   processes (a child adds, the parent sees), lock-out, clear, expiry,
   a bounded table, a file not ours refused. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "tap.h"
#include "authfail.h"

int main(void)
{
  char path[] = "/tmp/pm-authfail-XXXXXX";
  char ip[64];
  authfail a;
  int fd = mkstemp(path), all = 1;
  pid_t pid;
  if (fd < 0) return 111;
  close(fd);
  unlink(path);
  setenv("AUTHFAIL_FILE", path, 1);
  setenv("AUTH_MAXFAIL", "3", 1);
  setenv("AUTH_LOCKOUT", "600", 1);
  authfail_init(&a);
  ok(a.maxfail == 3 && a.lockout == 600 && !strcmp(a.path, path), "settings from the environment");
  ok(authfail_locked(&a, "192.0.2.1") == 0, "a new table: nobody locked out");
  ok(authfail_add(&a, "192.0.2.1") == 1 && authfail_add(&a, "192.0.2.1") == 2, "failures counted");
  pid = fork();
  if (!pid) _exit(authfail_add(&a, "192.0.2.1") == 3 ? 0 : 1);
  {
    int w;
    waitpid(pid, &w, 0);
    ok(WIFEXITED(w) && !WEXITSTATUS(w), "another process sees the count and adds to it");
  }
  ok(authfail_locked(&a, "192.0.2.1") > 590, "3 failures: locked out for about AUTH_LOCKOUT seconds");
  ok(authfail_locked(&a, "192.0.2.2") == 0 && authfail_add(&a, "192.0.2.2") == 1, "another address apart");
  authfail_clear(&a, "192.0.2.2");
  ok(authfail_add(&a, "192.0.2.2") == 1, "clear forgets an address");
  ok(authfail_add(&a, 0) == 1 && authfail_add(&a, "") == 2, "no address: counted as one, 'unknown'");
  for (int i = 0; i < AUTHFAIL_SLOTS + 10; i++) {
    snprintf(ip, sizeof ip, "10.0.%d.%d", i / 256, i % 256);
    if (authfail_add(&a, ip) != 1) all = 0;
  }
  ok(all, "more addresses than slots: each added");
  {
    struct stat st;
    ok(!stat(path, &st) && st.st_size == AUTHFAIL_SLOTS * 64 && (st.st_mode & 0777) == 0600,
       "the file stays its fixed size, mode 600");
  }
  setenv("AUTH_LOCKOUT", "0", 1);
  authfail_init(&a);
  ok(authfail_add(&a, "192.0.2.9") == 1 && authfail_add(&a, "192.0.2.9") == 1, "AUTH_LOCKOUT 0: every slot expired at once");
  unlink(path);
  if (symlink("/etc/passwd", path) == 0) {
    ok(authfail_add(&a, "192.0.2.1") < 0 && authfail_locked(&a, "192.0.2.1") < 0, "a symlink is refused (O_NOFOLLOW)");
    unlink(path);
  }
  if (!geteuid() && (fd = open(path, O_CREAT | O_WRONLY, 0600)) >= 0) {
    if (!fchown(fd, 65534, 65534)) ok(authfail_add(&a, "192.0.2.1") < 0, "a file of another user is refused");
    close(fd);
    unlink(path);
  }
  return done_testing();
}
