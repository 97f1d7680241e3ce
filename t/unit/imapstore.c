/* Unit tests of lib/imapstore (the IMAP folder store on Maildir++).
   With arguments it is t/83-imapstore.t's helper instead:
     imapstore dump ROOT FOLDER    the view: "V uidvalidity N uidnext" then
                                   "uid flags keywords... " lines
     imapstore list ROOT PATTERN   "name(attributes) ..." as t_folders shows them
     imapstore create ROOT FOLDER
     imapstore append ROOT FOLDER FLAGS < message   prints "uidvalidity uid" */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include "maildir.h"
#include "mdeliver.h"
#include "imapstore/mbox.h"
#include "imapstore/folders.h"
#include "tap.h"

static char top[256] ;

static char const *P (char const *rel)
{
  static char buf[8][512] ;
  static unsigned int i ;
  char *b = buf[i++ & 7] ;
  snprintf(b, 512, "%s/%s", top, rel) ;
  return b ;
}

static void put (char const *rel, char const *s)
{
  int fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC, 0600) ;
  if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s)) { perror(rel) ; exit(2) ; }
  close(fd) ;
}

static char const *slurpf (char const *rel)
{
  static stralloc sa = STRALLOC_ZERO ;
  sa.len = 0 ;
  if (!openslurpclose(&sa, P(rel)) || !stralloc_0(&sa)) return "" ;
  return sa.s ;
}

/* maildir-deliver, as delivery runs it: a child with the message on stdin */
static int deliver (char const *msg, char const *folder)
{
  int p[2] ;
  pid_t pid ;
  int st ;
  if (pipe(p) < 0) return 0 ;
  pid = fork() ;
  if (pid < 0) return 0 ;
  if (!pid)
  {
    char const *argv[5] = { "maildir-deliver", top, 0, 0, 0 } ;
    int argc = 2 ;
    if (folder) { argv[1] = "-f" ; argv[2] = folder ; argv[3] = top ; argc = 4 ; }
    dup2(p[0], 0) ; close(p[0]) ; close(p[1]) ;
    setenv("SENDER", "a@example.org", 1) ;
    setenv("RECIPIENT", "kate@example.org", 1) ;
    unsetenv("DELIVERY_ID") ;
    _exit(mdeliver_main(argc, argv)) ;
  }
  close(p[0]) ;
  if (write(p[1], msg, strlen(msg)) != (ssize_t)strlen(msg)) return 0 ;
  close(p[1]) ;
  return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st) ;
}

static uint32_t U (imapbox *b, size_t i) { return imapbox_msg(b, i)->uid ; }

static uint32_t E (genalloc *g, size_t i) { return genalloc_s(uint32_t, g)[i] ; }

/* a list of folders as "name(attrs) name(attrs)" */
static char const *listed (char const *pattern, int lsub)
{
  static char out[2048] ;
  imapfolders f = IMAPFOLDERS_ZERO ;
  out[0] = 0 ;
  if (!imapstore_list(&f, top, pattern, lsub)) return "error" ;
  for (size_t i = 0 ; i < imapfolders_len(&f) ; i++)
  {
    unsigned int a = imapfolders_get(&f, i)->attr ;
    char const *n = imapfolders_name(&f, i) ;
    snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s(%s%s%s%s%s)", i ? " " : "", n,
      a & IMAPLIST_NOSELECT ? "N" : "", a & IMAPLIST_HASCHILDREN ? "C" : "", a & IMAPLIST_HASNOCHILDREN ? "c" : "",
      a & IMAPLIST_SUBSCRIBED ? "S" : "", a & IMAPLIST_TRASH ? "T" : a & IMAPLIST_SENT ? "s" : "") ;
  }
  imapfolders_free(&f) ;
  return out ;
}

static void t_uidlist_dovecot (void)
{
  uidlist u = UIDLIST_ZERO ;
  /* as Dovecot 2.3 wrote it (header N not updated when it appends) */
  mkdir(P("dv"), 0700) ;
  put("dv/dovecot-uidlist", "3 V1796584681 N1 G8045e400e9b4156bd951000083ecc375\n"
      "1 :1000000001.M1P1Q1.host,S=30\n2 :1000000002.M1P1Q2.host,S=30\n3 W31 :1000000003.M1P1Q3.host,S=30\n") ;
  ok(uidlist_read(&u, P("dv")) == 1 && u.uidvalidity == 1796584681u && u.uidnext == 4 && uidlist_len(&u) == 3,
     "uidlist: Dovecot's file read, next UID past the last line") ;
  ok(uidlist_find(&u, "1000000002.M1P1Q2.host", 22) == 2 && uidlist_find(&u, "1000000003.M1P1Q3.host", 22) == 3
     && !uidlist_find(&u, "1000000004.M1P1Q4.host", 22), "uidlist: lookup by unique name, extension fields skipped") ;
  ok(uidlist_read(&u, P("dv")) == 2, "uidlist: an unchanged file is not read again") ;
  put("dv/dovecot-uidlist", "1 1275660208 7\n5 1275660208.M1P1.host\n") ;
  ok(uidlist_read(&u, P("dv")) == 1 && u.uidvalidity == 1275660208u && u.uidnext == 7
     && uidlist_find(&u, "1275660208.M1P1.host", 20) == 5, "uidlist: version 1 (Courier's) read") ;
  put("dv/dovecot-uidlist", "3 V100 N9 Gab\n1 :a.b\n2 :c.d") ;
  ok(uidlist_read(&u, P("dv")) == -1 && u.uidvalidity == 100, "uidlist: torn last line: lost, its UIDVALIDITY known") ;
  put("dv/dovecot-uidlist", "3 V100 N9 Gab\n2 :a.b\n2 :c.d\n") ;
  ok(uidlist_read(&u, P("dv")) == -1, "uidlist: UIDs not increasing: lost") ;
  put("dv/dovecot-uidlist", "garbage\n") ;
  ok(uidlist_read(&u, P("dv")) == -1, "uidlist: garbage: lost") ;
  uidlist_free(&u) ;
}

static void t_flags (void)
{
  stralloc sa = STRALLOC_ZERO ;
  uint32_t f, kw ;
  imapflags_parse("1.M1.h,S=3:2,FRSTab", &f, &kw) ;
  ok(f == (IMAPF_FLAGGED | IMAPF_ANSWERED | IMAPF_SEEN | IMAPF_DELETED) && kw == 3, "flags: parsed from the info") ;
  ok(imapflags_name(&sa, "1.M1.h,S=3:2,PSa", IMAPF_DRAFT | IMAPF_SEEN, 4) && !strcmp(sa.s, "1.M1.h,S=3:2,DPSc"),
     "flags: new info sorted, another program's letter P kept") ;
  ok(imapflags_name(&sa, "1.M1.h", IMAPF_SEEN, 0) && !strcmp(sa.s, "1.M1.h:2,S"), "flags: info added") ;
  stralloc_free(&sa) ;
}

#define MSG(n) "From: x@example.org\nSubject: " n "\n\nbody " n "\n"

static void t_view (void)
{
  imapbox a = IMAPBOX_ZERO, b = IMAPBOX_ZERO ;
  imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
  uint32_t uv, uid, uids[2] ;
  int deleted = 1 ;

  ok(deliver(MSG("1"), 0) && deliver(MSG("2"), 0) && deliver(MSG("3"), 0), "three deliveries") ;
  ok(imapbox_init(&a, top, "INBOX") && imapbox_sync(&a, 1, &c) && imapbox_len(&a) == 3 && c.added == 3,
     "load: three messages") ;
  ok(U(&a, 0) == 1 && U(&a, 1) == 2 && U(&a, 2) == 3 && imapbox_uidnext(&a) == 4 && imapbox_uidvalidity(&a),
     "UIDs 1 2 3 in delivery order") ;
  ok(imapbox_msg(&a, 0)->recent && imapbox_msg(&a, 0)->size && imapbox_msg(&a, 0)->vsize > imapbox_msg(&a, 0)->size,
     "recent to the session that numbered it; sizes from the name") ;
  ok(imapbox_init(&b, top, "INBOX") && imapbox_sync(&b, 1, &c) && imapbox_len(&b) == 3 && U(&b, 2) == 3
     && imapbox_uidvalidity(&b) == imapbox_uidvalidity(&a) && !imapbox_msg(&b, 0)->recent,
     "a second session: same UIDs and UIDVALIDITY, not recent") ;

  ok(deliver(MSG("4"), 0) && imapbox_sync(&a, 1, &c) && c.added == 1 && imapbox_len(&a) == 4 && U(&a, 3) == 4,
     "sync: a delivery seen, UID 4") ;
  ok(imapbox_sync(&b, 1, &c) && c.added == 1 && U(&b, 3) == 4, "the other session sees UID 4 too") ;

  ok(imapbox_store(&b, 1, IMAPBOX_ADD, IMAPF_SEEN, 0) && (imapbox_msg(&b, 1)->flags & IMAPF_SEEN), "store +\\Seen by rename") ;
  ok(imapbox_sync(&a, 1, &c) && genalloc_len(uint32_t, &c.flagged) == 1 && E(&c.flagged, 0) == 2
     && (imapbox_msg(&a, 1)->flags & IMAPF_SEEN), "sync: the other session's flag change reported (UID 2)") ;
  ok(imapbox_store(&b, 2, IMAPBOX_ADD, IMAPF_ANSWERED, 0), "session b answers message 3") ;
  ok(imapbox_store(&a, 2, IMAPBOX_ADD, IMAPF_FLAGGED, 0)
     && imapbox_msg(&a, 2)->flags == (IMAPF_ANSWERED | IMAPF_FLAGGED),
     "store racing another session's rename: found again, both changes kept") ;

  /* removed by another program (a POP3 DELE, a shell rm) */
  {
    stralloc p = STRALLOC_ZERO ;
    stralloc_cats(&p, top) ; stralloc_cats(&p, "/cur/") ; stralloc_cats(&p, imapbox_name(&a, 0)) ; stralloc_0(&p) ;
    ok(unlink(p.s) == 0, "message 1 removed behind the sessions' backs") ;
    stralloc_free(&p) ;
  }
  ok(imapbox_sync(&a, 0, &c) && !genalloc_len(uint32_t, &c.expunged) && imapbox_len(&a) == 4 && imapbox_msg(&a, 0)->gone,
     "sync while EXPUNGE may not be sent: kept, marked gone") ;
  ok(imapbox_open(&a, 0) < 0 && errno == ENOENT, "a gone message cannot be opened") ;
  ok(imapbox_sync(&a, 1, &c) && genalloc_len(uint32_t, &c.expunged) == 1 && E(&c.expunged, 0) == 1
     && E(&c.vanished, 0) == 1 && imapbox_len(&a) == 3 && U(&a, 0) == 2, "then reported: * 1 EXPUNGE, UID 1 vanished") ;

  /* expunge of \Deleted */
  ok(imapbox_store(&a, 0, IMAPBOX_ADD, IMAPF_DELETED, 0) && imapbox_store(&a, 2, IMAPBOX_ADD, IMAPF_DELETED, 0),
     "\\Deleted on UIDs 2 and 4") ;
  ok(imapbox_expunge(&a, 0, 0, &c) && genalloc_len(uint32_t, &c.expunged) == 2 && E(&c.expunged, 0) == 3
     && E(&c.expunged, 1) == 1 && imapbox_len(&a) == 1 && U(&a, 0) == 3, "expunge: * 3 EXPUNGE then * 1 EXPUNGE") ;
  ok(imapbox_sync(&b, 1, &c) && genalloc_len(uint32_t, &c.expunged) == 3 && E(&c.expunged, 0) == 4
     && E(&c.expunged, 1) == 2 && E(&c.expunged, 2) == 1 && imapbox_len(&b) == 1,
     "the other session: its three expunges in descending order") ;

  /* append, with a keyword and a date */
  {
    char const *kw[1] = { "Work" } ;
    int fd = open(P("app"), O_RDWR | O_CREAT | O_TRUNC, 0600) ;
    ok(fd >= 0 && write(fd, MSG("5"), strlen(MSG("5"))) > 0 && lseek(fd, 0, SEEK_SET) == 0
       && imapstore_append(top, "INBOX", fd, 1 << 20, IMAPF_SEEN, kw, 1, 1000000000, &uv, &uid)
       && uv == imapbox_uidvalidity(&a) && uid == 5, "append: APPENDUID %u 5", (unsigned)uv) ;
    close(fd) ;
  }
  ok(imapbox_sync(&a, 1, &c) && c.added == 1 && U(&a, 1) == 5 && imapbox_msg(&a, 1)->flags == IMAPF_SEEN
     && imapbox_date(&a, 1) == 1000000000 && kwlist_name(&a.kw, 0) && !strcmp(kwlist_name(&a.kw, 0), "Work")
     && imapbox_msg(&a, 1)->kw == 1, "the appended message: flags, keyword Work, internal date") ;
  is_str(slurpf("dovecot-keywords"), "0 Work\n", "keywords file in Dovecot's format") ;

  /* copy and move into a folder */
  ok(imapstore_create(top, "Sent"), "create Sent") ;
  {
    size_t idx[2] = { 0, 1 } ;
    imapbox s = IMAPBOX_ZERO ;
    ok(imapbox_copy(&a, idx, 2, "Sent", 0, &uv, uids, &c) && uids[0] == 1 && uids[1] == 2 && imapbox_len(&a) == 2,
       "copy: COPYUID 1:2 in Sent") ;
    ok(imapbox_init(&s, top, "Sent") && imapbox_sync(&s, 1, &c) && imapbox_len(&s) == 2 && U(&s, 1) == 2
       && imapbox_uidvalidity(&s) == uv && imapbox_msg(&s, 1)->kw == 1 && !strcmp(kwlist_name(&s.kw, 0), "Work")
       && imapbox_date(&s, 1) == 1000000000, "Sent sees them with their UIDs, keyword and date") ;
    ok(imapbox_copy(&a, idx, 1, "Sent", 1, &uv, uids, &c) && uids[0] == 3 && imapbox_len(&a) == 1
       && genalloc_len(uint32_t, &c.expunged) == 1 && E(&c.expunged, 0) == 1, "move: UID 3 in Sent, * 1 EXPUNGE here") ;
    ok(imapbox_sync(&s, 1, &c) && c.added == 1 && U(&s, 2) == 3, "Sent sees the moved one") ;
    imapbox_free(&s) ;
  }
  ok(!imapbox_copy(&a, (size_t[]){ 0 }, 1, "Nope", 0, &uv, uids, &c) && errno == ENOENT, "copy to a missing folder: ENOENT") ;

  /* another program's file, no sizes in its name, straight into new/ */
  put("new/1500000000.M1P1.other", MSG("x")) ;
  ok(imapbox_sync(&a, 1, &c) && c.added == 1 && imapbox_len(&a) == 2 && imapbox_msg(&a, 1)->size == strlen(MSG("x"))
     && imapbox_msg(&a, 1)->vsize == strlen(MSG("x")) + 4 && !strcmp(imapbox_name(&a, 1), "1500000000.M1P1.other:2,"),
     "a file without sizes in its name: moved to cur/, sizes read once") ;
  ok(imapbox_store(&a, 1, IMAPBOX_SET, IMAPF_SEEN, 0) && imapbox_sync(&a, 1, &c) && imapbox_msg(&a, 1)->size == strlen(MSG("x")),
     "its sizes stay known after a rename") ;

  {
    imapstatus st ;
    int okst = deliver(MSG("s"), 0) && imapstore_status(top, "INBOX", &st) ;
    ok(okst && st.messages == 3 && st.recent == 1
       && st.uidnext == imapbox_uidnext(&a) + 1 && st.uidvalidity == imapbox_uidvalidity(&a) && st.unseen == 1,
       "STATUS: the new delivery counted recent, UIDNEXT past it, nothing numbered") ;
    ok(imapbox_sync(&a, 1, &c) && c.added == 1 && imapbox_msg(&a, 2)->recent && U(&a, 2) == st.uidnext - 1,
       "the selected session numbers it as STATUS predicted, recent to it") ;    /* RFC 9051 6.3.11 STATUS DELETED: from the files' names */
    ok(st.deleted == 0 && imapbox_store(&a, 2, IMAPBOX_ADD, IMAPF_DELETED, 0) && imapstore_status(top, "INBOX", &st)
       && st.deleted == 1 && st.messages == 3, "STATUS DELETED counts the message flagged \\Deleted") ;
    ok(imapbox_store(&a, 2, IMAPBOX_DEL, IMAPF_DELETED, 0) && imapstore_status(top, "INBOX", &st) && st.deleted == 0,
       "and no longer once the flag is off") ;
  }

  {
    uint32_t only[1] = { U(&a, 0) }, kept = U(&a, 1) ;
    ok(imapbox_store(&a, 0, IMAPBOX_ADD, IMAPF_DELETED, 0) && imapbox_store(&a, 1, IMAPBOX_ADD, IMAPF_DELETED, 0)
       && imapbox_expunge(&a, only, 1, &c) && genalloc_len(uint32_t, &c.expunged) == 1 && E(&c.expunged, 0) == 1
       && E(&c.vanished, 0) == only[0] && imapbox_len(&a) == 2 && U(&a, 0) == kept, "UID EXPUNGE: only the UIDs given") ;
    ok(imapbox_store(&a, 0, IMAPBOX_DEL, IMAPF_DELETED, 0), "\\Deleted taken off the other") ;
  }

  /* a lost (deleted) uidlist: UIDVALIDITY changes, never reused UIDs */
  {
    imapbox x = IMAPBOX_ZERO ;
    uint32_t old = imapbox_uidvalidity(&a) ;
    put("dovecot-uidlist", "3 V1 N2 G00\n1 :x") ;
    ok(imapbox_init(&x, top, "INBOX") && imapbox_sync(&x, 1, &c) && imapbox_uidvalidity(&x) > old
       && imapbox_len(&x) == 2 && U(&x, 0) == 1 && U(&x, 1) == 2, "torn uidlist: a new, greater UIDVALIDITY, UIDs from 1") ;
    ok(imapbox_sync(&a, 1, &c) || 1, "the loaded session syncs") ;
    ok(a.validity_changed, "the loaded session is told its UIDs are void") ;
    imapbox_free(&x) ;
  }
  (void)deleted ;
  imapbox_changes_free(&c) ;
  imapbox_free(&a) ; imapbox_free(&b) ;
}

static void t_folders (void)
{
  ok(imapstore_create(top, "a.b.c") && maildir_check(P(".a")) && maildir_check(P(".a.b")) && maildir_check(P(".a.b.c")),
     "create a.b.c: its parents made too") ;
  ok(!imapstore_create(top, "a.b") && errno == EEXIST, "create of an existing one: EEXIST") ;
  ok(!imapstore_create(top, "x..y") && errno == EINVAL && !imapstore_create(top, "b&AOk") && errno == EINVAL
     && !imapstore_create(top, "INBOX.x") && errno == EINVAL, "bad names refused (empty level, bad UTF-7, INBOX.)") ;
  ok(imapstore_create(top, "Caf&AOk-"), "modified UTF-7 name") ;
  is_str(listed("*", 0), "Caf&AOk-(cS) INBOX(c) Sent(cSs) a(CS) a.b(CS) a.b.c(cS)", "LIST *") ;
  is_str(listed("%", 0), "Caf&AOk-(cS) INBOX(c) Sent(cSs) a(CS)", "LIST %") ;
  is_str(listed("a.%", 0), "a.b(CS)", "LIST a.%") ;
  is_str(listed("inbox", 0), "INBOX(c)", "LIST inbox: INBOX any case") ;
  is_str(listed("*c", 0), "a.b.c(cS)", "LIST *c") ;
  ok(!imapstore_delete(top, "INBOX") && errno == EPERM, "delete INBOX refused") ;
  ok(imapstore_delete(top, "a") && access(P(".a"), F_OK) < 0 && maildir_check(P(".a.b")), "delete a: its children stay") ;
  is_str(listed("a*", 0), "a(NCS) a.b(CS) a.b.c(cS)", "a is now \\Noselect") ;
  ok(imapstore_rename(top, "a.b", "x.y") && maildir_check(P(".x.y")) && maildir_check(P(".x.y.c")) && access(P(".a.b"), F_OK) < 0,
     "rename a.b to x.y with its child") ;
  is_str(listed("*", 1), "Caf&AOk-(cS) Sent(cSs) a(NS) x.y(CS) x.y.c(cS)", "LSUB *: subscriptions followed the rename; a gone") ;
  ok(maildir_unsubscribe(top, "a") && !strstr(listed("*", 1), "a("), "unsubscribe") ;
  ok(deliver(MSG("6"), 0) && imapstore_rename(top, "INBOX", "Old") && maildir_check(P(".Old")), "rename INBOX") ;
  {
    imapbox o = IMAPBOX_ZERO, i = IMAPBOX_ZERO ;
    imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
    ok(imapbox_init(&o, top, "Old") && imapbox_sync(&o, 1, &c) && imapbox_len(&o) == 3
       && imapbox_init(&i, top, "INBOX") && imapbox_sync(&i, 1, &c) && imapbox_len(&i) == 0,
       "INBOX's messages moved, INBOX empty") ;
    imapbox_free(&o) ; imapbox_free(&i) ; imapbox_changes_free(&c) ;
  }
  ok(imapstore_special(top) && maildir_check(P(".Trash")) && maildir_check(P(".Junk")) && maildir_check(P(".Archive"))
     && maildir_check(P(".Drafts")), "special-use folders made") ;
  is_str(listed("Trash", 1), "Trash(cST)", "\\Trash, subscribed") ;
  ok(imapstore_match("*", "a.b") && imapstore_match("a%", "abc") && !imapstore_match("a%", "a.b")
     && imapstore_match("%.%", "a.b") && !imapstore_match("%", "a.b") && imapstore_match("a*b*c", "a.xbyc"),
     "wildcards") ;
  ok(imapstore_match("In%", "INBOX") && imapstore_match("*", "INBOX") && !imapstore_match("In%", "Inx.y")
     && imapstore_match("%", "") && !imapstore_match("a", "") && imapstore_match("a.%.c", "a.b.c"), "more wildcards, INBOX any case") ;
  {
    char pat[1001], name[201] ;
    for (int i = 0 ; i < 1000 ; i++) pat[i] = i & 1 ? '%' : '*' ;
    pat[999] = 'y' ; pat[1000] = 0 ;
    memset(name, 'x', 200) ; name[200] = 0 ;
    ok(!imapstore_match(pat, name), "a pathological pattern: answered (no exponential backtracking)") ;
  }
}

/* Two processes change flags of the same messages at once, each by
   rename: every change of each lands, no message is lost or doubled. */
static void t_race (void)
{
  imapbox a = IMAPBOX_ZERO ;
  imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
  pid_t pid ;
  int st, fails = 0, rounds = 300 ;
  mkdir(P(".Race"), 0700) ;
  ok(maildir_make(P(".Race"), 1) && deliver(MSG("r1"), "Race") && deliver(MSG("r2"), "Race"), "race folder") ;
  pid = fork() ;
  if (!pid)
  {
    imapbox b = IMAPBOX_ZERO ;
    int bad = 0 ;
    if (!imapbox_init(&b, top, "Race") || !imapbox_sync(&b, 1, &c)) _exit(2) ;
    for (int i = 0 ; i < rounds ; i++)
      bad += !imapbox_store(&b, i & 1, i & 2 ? IMAPBOX_DEL : IMAPBOX_ADD, IMAPF_FLAGGED, 0) ;
    bad += !imapbox_store(&b, 0, IMAPBOX_ADD, IMAPF_DRAFT, 0) || !imapbox_store(&b, 1, IMAPBOX_ADD, IMAPF_DRAFT, 0) ;
    _exit(bad ? 1 : 0) ;
  }
  ok(imapbox_init(&a, top, "Race") && imapbox_sync(&a, 1, &c), "this session loads it") ;
  for (int i = 0 ; i < rounds ; i++)
    fails += !imapbox_store(&a, i & 1, i & 2 ? IMAPBOX_DEL : IMAPBOX_ADD, IMAPF_SEEN, 0) ;
  fails += !imapbox_store(&a, 0, IMAPBOX_ADD, IMAPF_ANSWERED, 0) || !imapbox_store(&a, 1, IMAPBOX_ADD, IMAPF_ANSWERED, 0) ;
  ok(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st) && !fails, "every store of both processes done") ;
  ok(imapbox_sync(&a, 1, &c) && imapbox_len(&a) == 2 && !genalloc_len(uint32_t, &c.expunged)
     && imapbox_msg(&a, 0)->flags == (IMAPF_DRAFT | IMAPF_ANSWERED) && imapbox_msg(&a, 1)->flags == (IMAPF_DRAFT | IMAPF_ANSWERED),
     "both files there once, with the last flags of both") ;
  imapbox_free(&a) ; imapbox_changes_free(&c) ;
}

/* Deliveries, two syncing sessions and a third renaming files all the
   time, at once: each message gets one UID, the same in both sessions,
   and no sync reports a message vanished that was only renamed. */
static int session_child (int out, int rounds, int storer)
{
  imapbox b = IMAPBOX_ZERO ;
  imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
  int bad = 0 ;
  if (!imapbox_init(&b, top, "Conc")) return 2 ;
  for (int i = 0 ; i < rounds ; i++)
  {
    if (!imapbox_sync(&b, 1, &c)) bad |= 4 ;
    if (genalloc_len(uint32_t, &c.expunged)) bad |= 8 ;
    if (storer && imapbox_len(&b)) imapbox_store(&b, i % imapbox_len(&b), i & 1 ? IMAPBOX_DEL : IMAPBOX_ADD, IMAPF_SEEN, 0) ;
  }
  while (!bad && !access(P("conc-delivering"), F_OK)) if (!imapbox_sync(&b, 1, &c)) bad |= 4 ;
  if (!imapbox_sync(&b, 1, &c)) bad |= 4 ;
  for (size_t i = 0 ; i < imapbox_len(&b) ; i++)
    dprintf(out, "%u %.*s\n", (unsigned)U(&b, i), (int)imapbox_msg(&b, i)->baselen, imapbox_name(&b, i)) ;
  imapbox_free(&b) ; imapbox_changes_free(&c) ;
  return bad ;
}

static void t_concurrent (void)
{
  char const *outs[3] = { "conc0", "conc1", "conc2" } ;
  pid_t pids[3] ;
  int okall = 1, n = 40 ;
  ok(maildir_make(P(".Conc"), 1) && deliver(MSG("c"), "Conc"), "folder Conc") ;
  put("conc-delivering", "") ;
  for (int k = 0 ; k < 3 ; k++)
  {
    pids[k] = fork() ;
    if (!pids[k])
    {
      int fd = open(P(outs[k]), O_WRONLY | O_CREAT | O_TRUNC, 0600) ;
      _exit(session_child(fd, 150, k == 2)) ;
    }
  }
  for (int i = 0 ; i < n ; i++) okall &= deliver(MSG("c"), "Conc") ;
  unlink(P("conc-delivering")) ;
  for (int k = 0 ; k < 3 ; k++)
  {
    int st ;
    if (waitpid(pids[k], &st, 0) != pids[k] || !WIFEXITED(st) || WEXITSTATUS(st))
    {
      okall = 0 ;
      printf("# session %d: status %d\n", k, WIFEXITED(st) ? WEXITSTATUS(st) : -1) ;
    }
  }
  ok(okall, "%d deliveries, three sessions syncing, one of them renaming: no error, no false expunge", n) ;
  {
    char first[8192] ;
    snprintf(first, sizeof first, "%s", slurpf(outs[0])) ;
    ok(!strcmp(first, slurpf(outs[1])) && !strcmp(first, slurpf(outs[2])), "all sessions agree on every UID") ;
    {
      unsigned int count = 0, last = 0, up = 1 ;
      for (char const *p = first ; *p ; p = strchr(p, '\n') + 1)
      {
        unsigned int u = (unsigned int)strtoul(p, 0, 10) ;
        up &= u > last ; last = u ; count++ ;
      }
      ok(count == (unsigned int)n + 1 && up, "%u messages, UIDs strictly ascending (last %u)", count, last) ;
    }
  }
}

/* APPEND and COPY within the quota that delivery enforces; EXPUNGE gives
   the room back. */
static void t_quota (void)
{
  imapbox b = IMAPBOX_ZERO ;
  imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
  maildir_quota q = MAILDIR_QUOTA_ZERO ;
  uint32_t uv, uid, uids[1] ;
  int64_t used ;
  int fd = open(P("big"), O_RDWR | O_CREAT | O_TRUNC, 0600) ;
  char big[3000] ;
  memset(big, 'x', sizeof big) ;
  big[sizeof big - 1] = '\n' ;
  ok(fd >= 0 && write(fd, big, sizeof big) == sizeof big && maildir_quota_recalc(top, &q), "a message of 3000 bytes") ;
  used = q.bytes ;
  q.maxbytes = (uint64_t)used + 4000 ;
  ok(maildir_quota_write(top, &q), "quota: 4000 bytes left") ;
  ok(lseek(fd, 0, SEEK_SET) == 0 && imapstore_append(top, "INBOX", fd, 1 << 20, 0, 0, 0, 0, &uv, &uid),
     "append within the quota") ;
  ok(maildir_quota_read(top, &q) && q.bytes == used + 3000, "its size counted in maildirsize") ;
  ok(lseek(fd, 0, SEEK_SET) == 0 && !imapstore_append(top, "INBOX", fd, 1 << 20, 0, 0, 0, 0, &uv, &uid) && errno == EDQUOT,
     "the next one is over: EDQUOT") ;
  ok(imapbox_init(&b, top, "INBOX") && imapbox_sync(&b, 1, &c), "load") ;
  {
    size_t last = imapbox_len(&b) - 1 ;
    ok(imapbox_msg(&b, last)->size == 3000 && !imapbox_copy(&b, &last, 1, "Sent", 0, &uv, uids, &c) && errno == EDQUOT,
       "copy over the quota: EDQUOT") ;
    ok(imapbox_store(&b, last, IMAPBOX_ADD, IMAPF_DELETED, 0) && imapbox_expunge(&b, 0, 0, &c)
       && maildir_quota_read(top, &q) && q.bytes == used, "expunge gives the room back") ;
  }
  ok(lseek(fd, 0, SEEK_SET) == 0 && !imapstore_append(top, "INBOX", fd, 100, 0, 0, 0, 0, &uv, &uid) && errno == EFBIG,
     "append past its byte limit: EFBIG") ;
  {
    int left = 0 ;
    DIR *d = opendir(P("tmp")) ;
    for (struct dirent *e ; d && (e = readdir(d)) ;) left += e->d_name[0] != '.' ;
    if (d) closedir(d) ;
    ok(d && !left, "nothing left in tmp/") ;
  }
  close(fd) ;
  unlink(P("maildirsize")) ;
  imapbox_free(&b) ; imapbox_changes_free(&c) ;
}

/* Dovecot's subscriptions file, version 2 ('\t' between levels) */
static void t_subs (void)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *d = P("subs") ;
  mkdir(d, 0700) ;
  put("subs/subscriptions", "V\t2\n\nWork\tProjects\nJunk\nJunk\n") ;
  ok(maildir_subscriptions(d, &sa) && sa.len == 24 && !memcmp(sa.s, "Work.Projects\0Junk\0", 19),
     "subscriptions v2 read, levels with '.'") ;
  ok(maildir_unsubscribe(d, "Junk"), "unsubscribe") ;
  is_str(slurpf("subs/subscriptions"), "V\t2\n\nWork\tProjects\n", "every copy of its line gone, the header kept") ;
  ok(maildir_unsubscribe(d, "Nope") && maildir_unsubscribe(d, "Work.Projects"), "unsubscribe of unlisted and nested names") ;
  is_str(slurpf("subs/subscriptions"), "V\t2\n\n", "empty list") ;
  stralloc_free(&sa) ;
}

static int dump (char const *root, char const *folder)
{
  imapbox b = IMAPBOX_ZERO ;
  imapbox_changes c = IMAPBOX_CHANGES_ZERO ;
  if (!imapbox_init(&b, root, folder) || !imapbox_sync(&b, 1, &c)) { perror("imapstore") ; return 111 ; }
  printf("V %u N %u\n", (unsigned)imapbox_uidvalidity(&b), (unsigned)imapbox_uidnext(&b)) ;
  for (size_t i = 0 ; i < imapbox_len(&b) ; i++)
  {
    imapmsg const *m = imapbox_msg(&b, i) ;
    printf("%u", (unsigned)m->uid) ;
    for (uint32_t f = 1 ; f <= IMAPF_DRAFT ; f <<= 1) if (m->flags & f) printf(" %s", imapflags_str(f)) ;
    for (unsigned int k = 0 ; k < KEYWORDS_MAX ; k++)
      if (m->kw & (1u << k)) printf(" %s", kwlist_name(&b.kw, k) ? kwlist_name(&b.kw, k) : "?") ;
    printf("\n") ;
  }
  imapbox_free(&b) ;
  imapbox_changes_free(&c) ;
  return 0 ;
}

int main (int argc, char **argv)
{
  if (argc == 4 && !strcmp(argv[1], "dump")) return dump(argv[2], argv[3]) ;
  if (argc == 4 && !strcmp(argv[1], "list"))
  {
    snprintf(top, sizeof top, "%s", argv[2]) ;
    printf("%s\n", listed(argv[3], 0)) ;
    return 0 ;
  }
  if (argc == 4 && !strcmp(argv[1], "create"))
  {
    if (!imapstore_create(argv[2], argv[3])) { perror("create") ; return 111 ; }
    return 0 ;
  }
  if (argc == 5 && !strcmp(argv[1], "append"))
  {
    uint32_t uv, uid, f = 0 ;
    for (char const *p = argv[4] ; *p ; p++) f |= *p == 'S' ? IMAPF_SEEN : *p == 'F' ? IMAPF_FLAGGED : 0 ;
    if (!imapstore_append(argv[2], argv[3], 0, 1 << 24, f, 0, 0, 0, &uv, &uid)) { perror("append") ; return 111 ; }
    printf("%u %u\n", (unsigned)uv, (unsigned)uid) ;
    return 0 ;
  }
  snprintf(top, sizeof top, "%s/pm-imapstore-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid()) ;
  if (!maildir_make(top, 0)) { perror(top) ; return 2 ; }
  t_uidlist_dovecot() ;
  t_flags() ;
  t_view() ;
  t_folders() ;
  t_race() ;
  t_concurrent() ;
  t_quota() ;
  t_subs() ;
  rm_rf(top) ;
  return done_testing() ;
}
