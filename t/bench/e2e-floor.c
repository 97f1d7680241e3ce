/* e2e-floor [-m nosync|maildir|inplace|durable] MAILDIR PORTFILE: the least a
 * server can score on the end-to-end figures here. A minimal SMTP server
 * on 127.0.0.1 (a free port, written to PORTFILE) that does only what its
 * mode says with each message, one connection at a time:
 *   nosync   the file is in MAILDIR/new/ before the 250, nothing fsynced
 *            (what the harness itself costs: smtp-source, the shell's polls)
 *   maildir  no queue: written to tmp/, fsynced and linked into new/ before
 *            the 250 (the Maildir spec's one fsync, and nothing else)
 *   inplace  the least a queue commit can be: the message written over a
 *            file that is already there and fdatasynced, before the 250 (no
 *            rename, no directory to sync: a queue of preallocated files
 *            that mark a commit inside), then the Maildir delivery as above
 *   durable  the two commits pipemail's contracts ask for: a queue file
 *            written, fsynced, renamed and its directory fsynced before the
 *            250 (DESIGN.md, queue-inject), then the Maildir delivery
 * Benchmark use only (make bench): it trusts its one client, keeps no queue
 * and runs until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MSGMAX (32u << 20)

static char const *md;
static enum { NOSYNC, MAILDIR, INPLACE, DURABLE } mode = NOSYNC;
static int cl;
static char rbuf[65536];
static size_t rpos, rlen;
static char *msg;
static size_t msglen;

static void die(char const *what)
{
  fprintf(stderr, "e2e-floor: fatal: %s: %s\n", what, strerror(errno));
  exit(111);
}

static void reply(char const *s)
{
  size_t n = strlen(s);
  if (write(cl, s, n) != (ssize_t)n) die("write");
}

/* One line with its CRLF into line (cut at max); 0 at end of input. */
static size_t read_line(char *line, size_t max)
{
  size_t n = 0;
  for (;;) {
    if (rpos == rlen) {
      ssize_t r = read(cl, rbuf, sizeof rbuf);
      if (r <= 0) return 0;
      rpos = 0;
      rlen = r;
    }
    char c = rbuf[rpos++];
    if (n < max) line[n++] = c;
    if (c == '\n') return n;
  }
}

static void put(char const *dir, char const *name, char *path, size_t max)
{
  snprintf(path, max, "%s/%s/%s", md, dir, name);
}

/* Written to path, fsynced if sync. */
static void write_file(char const *path, int sync)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) die(path);
  if (write(fd, msg, msglen) != (ssize_t)msglen || (sync && fsync(fd) < 0)) die(path);
  close(fd);
}

static void fsync_dir(char const *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) < 0) die(dir);
  close(fd);
}

static void queue_commit(char const *name)
{
  char tmp[4096], final[4096];
  put("q", "tmp", tmp, sizeof tmp);
  put("q", name, final, sizeof final);
  write_file(tmp, 1);
  if (rename(tmp, final) < 0) die("rename");
  put("q", "", tmp, sizeof tmp);
  fsync_dir(tmp);
  unlink(final);      /* no queue is kept: the commit is what is timed */
}

static void queue_inplace(void)
{
  char path[4096];
  put("q", "slot", path, sizeof path);
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || pwrite(fd, msg, msglen, 0) != (ssize_t)msglen || fdatasync(fd) < 0) die(path);
  close(fd);
}

static void deliver(char const *name, int sync)
{
  char tmp[4096], final[4096];
  put("tmp", name, tmp, sizeof tmp);
  put("new", name, final, sizeof final);
  write_file(tmp, sync);
  if (link(tmp, final) < 0) die("link");
  unlink(tmp);
}

static void message(void)
{
  static unsigned long seq;
  char name[128];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(name, sizeof name, "%lld.M%ldP%dQ%lu.floor", (long long)ts.tv_sec, ts.tv_nsec / 1000,
           (int)getpid(), ++seq);
  if (mode == DURABLE) queue_commit(name);
  else if (mode == INPLACE) queue_inplace();
  else deliver(name, mode == MAILDIR);
  reply("250 ok\r\n");
  if (mode == DURABLE || mode == INPLACE) deliver(name, 1);
}

static void data(void)
{
  char line[1024];
  size_t n;
  msglen = 0;
  reply("354 go ahead\r\n");
  while ((n = read_line(line, sizeof line))) {
    char const *s = line;
    if (n == 3 && !memcmp(line, ".\r\n", 3)) { message(); return; }
    if (*s == '.') { s++; n--; }
    if (msglen + n > MSGMAX) { errno = EFBIG; die("message"); }
    memcpy(msg + msglen, s, n);
    msglen += n;
  }
}

static void session(void)
{
  char line[1024];
  rpos = rlen = 0;
  reply("220 floor ESMTP\r\n");
  while (read_line(line, sizeof line)) {
    if (!strncasecmp(line, "DATA", 4)) data();
    else if (!strncasecmp(line, "QUIT", 4)) { reply("221 bye\r\n"); return; }
    else reply("250 ok\r\n");
  }
}

int main(int argc, char **argv)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t salen = sizeof sa;
  char path[4096];
  int opt, s, one = 1;
  while ((opt = getopt(argc, argv, "m:")) != -1) {
    if (opt != 'm') goto usage;
    if (!strcmp(optarg, "nosync")) mode = NOSYNC;
    else if (!strcmp(optarg, "maildir")) mode = MAILDIR;
    else if (!strcmp(optarg, "inplace")) mode = INPLACE;
    else if (!strcmp(optarg, "durable")) mode = DURABLE;
    else goto usage;
  }
  if (argc - optind != 2) goto usage;
  md = argv[optind];
  if (!(msg = malloc(MSGMAX))) die("malloc");
  mkdir(md, 0700);
  for (char const *const *d = (char const *const[]){ "tmp", "new", "cur", "q", 0 }; *d; d++) {
    put(*d, "", path, sizeof path);
    if (mkdir(path, 0700) < 0 && errno != EEXIST) die(path);
  }
  s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
   || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 16) < 0
   || getsockname(s, (struct sockaddr *)&sa, &salen) < 0) die("listen");
  snprintf(path, sizeof path, "%s.tmp", argv[optind + 1]);
  FILE *f = fopen(path, "w");
  if (!f || fprintf(f, "%d\n", ntohs(sa.sin_port)) < 0 || fclose(f) || rename(path, argv[optind + 1]) < 0)
    die(argv[optind + 1]);
  for (;;) {
    cl = accept4(s, 0, 0, SOCK_CLOEXEC);
    if (cl < 0) { if (errno == EINTR) continue; die("accept"); }
    session();
    close(cl);
  }
usage:
  fprintf(stderr, "usage: e2e-floor [-m nosync|maildir|inplace|durable] MAILDIR PORTFILE\n");
  return 100;
}
