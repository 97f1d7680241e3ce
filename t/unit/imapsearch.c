/* Unit tests of lib/imap's SEARCH: the keys parsed into a tree, and
   evaluated over fake messages through the imapview callbacks. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <skalibs/stralloc.h>
#include "tap.h"
#include "imap/imapcmd.h"
#include "imap/imapdate.h"
#include "imap/imapflag.h"
#include "imap/imapsearch.h"

typedef struct fake_s {
  uint32_t seq, uid ;
  unsigned flags ;
  char const *kw ;        /* one keyword or NULL */
  uint64_t size ;
  char const *idate ;     /* date-time */
  char const *date ;      /* Date: as a date-time, or NULL */
  char const *from, *subject, *xhdr ;
  char const *body ;
  uint64_t modseq ;
} fake ;

static fake const msgs[] = {
  { 1, 10, IMAPFLAG_SEEN, "$Junk", 500, "01-Feb-1994 23:30:00 +0000", "01-Feb-1994 10:00:00 -0500", "Alice <alice@example.org>", "Hello there", 0, "the quick brown fox", 5 },
  { 2, 20, IMAPFLAG_RECENT, 0, 5000, "02-Feb-1994 00:30:00 +0100", 0, "Bob <bob@example.net>", "Re: hello", "yes", "jumps over the lazy dog", 9 },
  { 3, 35, IMAPFLAG_FLAGGED | IMAPFLAG_DELETED | IMAPFLAG_ANSWERED, 0, 20000, "10-Mar-2020 12:00:00 +0000", "10-Mar-2020 11:00:00 +0000", "Carol <carol@example.com>", "Caf\xc3\xa9", 0, "nothing here", 12 },
} ;

static int fail_text ;
static unsigned calls_text ;

static uint32_t f_seq(void *m) { return ((fake *)m)->seq ; }
static uint32_t f_uid(void *m) { return ((fake *)m)->uid ; }
static unsigned f_flags(void *m) { return ((fake *)m)->flags ; }
static int f_keyword(void *m, char const *kw) { return ((fake *)m)->kw && !strcasecmp(((fake *)m)->kw, kw) ; }
static int f_size(void *m, uint64_t *n) { *n = ((fake *)m)->size ; return 1 ; }
static int f_idate(void *m, int64_t *t, int *z) { return imapdate_datetime(((fake *)m)->idate, 26, t, z) ; }
static int f_sdate(void *m, int64_t *t, int *z) { return ((fake *)m)->date ? imapdate_datetime(((fake *)m)->date, 26, t, z) : 0 ; }
static int f_header(void *m, char const *name, stralloc *v)
{
  fake const *f = m ;
  char const *s = !strcasecmp(name, "From") ? f->from : !strcasecmp(name, "Subject") ? f->subject : !strcasecmp(name, "X-Spam") ? f->xhdr : 0 ;
  if (!s) return 0 ;
  return stralloc_cats(v, s) && stralloc_cats(v, "\n") ? 1 : -1 ;
}
static int f_text(void *m, int body, char const *s, size_t len)
{
  fake const *f = m ;
  calls_text++ ;
  if (fail_text) { errno = EIO ; return -1 ; }
  return imapsearch_contains(f->body, strlen(f->body), s, len)
    || (!body && (imapsearch_contains(f->subject, strlen(f->subject), s, len) || imapsearch_contains(f->from, strlen(f->from), s, len))) ;
}
static uint64_t f_modseq(void *m) { return ((fake *)m)->modseq ; }

static imapview const view = { f_seq, f_uid, f_flags, f_keyword, f_size, f_idate, f_sdate, f_header, f_text, f_modseq } ;

static imapcmd C = IMAPCMD_ZERO ;
static imapsearch Q = IMAPSEARCH_ZERO ;
static char const *err ;

static int parse(char const *args)
{
  static stralloc buf ;
  buf.len = 0 ;
  stralloc_cats(&buf, "s SEARCH ") ;
  stralloc_cats(&buf, args) ;
  err = 0 ;
  if (imapcmd_parse(&C, buf.s, buf.len, &err) != 1) return 100 ;
  return imapsearch_parse(&C, imapcmd_arg(&C, 0), &Q, &err) ;
}

/* The sequence numbers that match, as a string "1 3". */
static char const *run(char const *args)
{
  static char out[64] ;
  size_t n = 0 ;
  if (parse(args) != IMAPSEARCH_OK) return "refused" ;
  out[0] = 0 ;
  for (unsigned k = 0 ; k < 3 ; k++) {
    int r = imapsearch_match(&Q, &view, (void *)&msgs[k], 3, 35, imapdate_days(2020, 3, 10) * 86400 + 13 * 3600) ;
    if (r < 0) return "error" ;
    if (r) n += snprintf(out + n, sizeof out - n, "%s%u", n ? " " : "", msgs[k].seq) ;
  }
  return out ;
}

static void t(char const *args, char const *want)
{
  char name[300] ;
  snprintf(name, sizeof name, "SEARCH %s -> %s", args, want) ;
  is_str(run(args), want, name) ;
}

static void test_eval(void)
{
  t("ALL", "1 2 3") ;
  t("SEEN", "1") ; t("UNSEEN", "2 3") ; t("RECENT", "2") ; t("NEW", "2") ; t("OLD", "1 3") ;
  t("ANSWERED DELETED FLAGGED", "3") ; t("UNDELETED", "1 2") ; t("DRAFT", "") ; t("UNDRAFT", "1 2 3") ;
  t("UNANSWERED UNFLAGGED", "1 2") ;
  t("KEYWORD $junk", "1") ; t("UNKEYWORD $Junk", "2 3") ;
  t("LARGER 500", "2 3") ; t("SMALLER 5000", "1") ;
  t("2:*", "2 3") ; t("*", "3") ; t("3:1", "1 2 3") ; t("1,3", "1 3") ;
  t("UID 20:*", "2 3") ; t("UID 36:*", "3") ; t("UID 1:15", "1") ;
  t("FROM alice", "1") ; t("FROM EXAMPLE", "1 2 3") ; t("SUBJECT hello", "1 2") ;
  t("SUBJECT \"caf\xc3\xa9\"", "3") ; t("CHARSET UTF-8 SUBJECT {5}\r\ncaf\xc3\xa9", "3") ;
  t("TO bob", "") ; t("CC x", "") ; t("BCC x", "") ;
  t("HEADER X-Spam yes", "2") ; t("HEADER X-Spam \"\"", "2") ; t("HEADER X-Other \"\"", "") ;
  t("BODY fox", "1") ; t("BODY hello", "") ; t("TEXT hello", "1 2") ; t("TEXT LAZY", "2") ;
  /* internal date in its own zone: 1 is 01-Feb, 2 is 02-Feb (00:30 +0100) */
  t("ON 1-Feb-1994", "1") ; t("ON 2-Feb-1994", "2") ; t("BEFORE 2-Feb-1994", "1") ; t("SINCE 2-Feb-1994", "2 3") ;
  t("SINCE \"10-Mar-2020\"", "3") ;
  t("SENTON 1-Feb-1994", "1") ; t("SENTBEFORE 1-Jan-2000", "1") ; t("SENTSINCE 1-Jan-2000", "3") ;
  t("NOT SENTSINCE 1-Jan-1900", "2") ;
  t("OR SEEN FLAGGED", "1 3") ; t("NOT SEEN", "2 3") ; t("NOT NOT SEEN", "1") ;
  t("OR (SEEN LARGER 1) (UID 20 RECENT)", "1 2") ; t("(OR SEEN RECENT) NOT 2", "1") ;
  t("OR OR SEEN RECENT FLAGGED", "1 2 3") ;
  t("MODSEQ 9", "2 3") ; t("MODSEQ \"/flags/\\\\Seen\" all 6", "2 3") ;
  t("YOUNGER 86400", "3") ; t("OLDER 86400", "1 2") ;
  t("CHARSET us-ascii ALL", "1 2 3") ;
}

static void test_parse(void)
{
  ok(parse("RETURN (MIN COUNT) ALL") == IMAPSEARCH_OK && Q.esearch && Q.ret == (IMAPSR_MIN | IMAPSR_COUNT), "RETURN options") ;
  ok(parse("RETURN () ALL") == IMAPSEARCH_OK && Q.ret == IMAPSR_ALL, "RETURN () is ALL") ;
  ok(parse("ALL") == IMAPSEARCH_OK && !Q.esearch, "no RETURN: plain SEARCH") ;
  ok(parse("CHARSET KOI8-R ALL") == IMAPSEARCH_BADCHARSET && strstr(err, "BADCHARSET"), "unknown charset: %s", err) ;
  static char const *const bad[] = {
    "", "RETURN (FOO) ALL", "RETURN ALL", "FOO", "OR SEEN", "NOT", "()", "LARGER", "LARGER x", "LARGER -1",
    "BEFORE 31-Feb-2000", "BEFORE {10}\r\n1-Feb-1994", "UID x", "UID 0", "HEADER", "HEADER \"a:b\" c", "KEYWORD \\Seen",
    "FROM", "SINCE", "0", "1:*:2", "MODSEQ \"/x\" bogus 5", "OLDER 0", "CHARSET",
  } ;
  for (unsigned k = 0 ; k < sizeof bad / sizeof *bad ; k++) ok(parse(bad[k]) != IMAPSEARCH_OK, "refused: '%s' (%s)", bad[k], err ? err : "") ;
}

static void test_bounds(void)
{
  stralloc sa = STRALLOC_ZERO ;
  /* NOT NOT ... : deep without any parentheses */
  for (int k = 0 ; k <= IMAPSEARCH_MAXDEPTH ; k++) stralloc_cats(&sa, "NOT ") ;
  stralloc_cats(&sa, "ALL") ; stralloc_0(&sa) ;
  ok(parse(sa.s) == IMAPSEARCH_BAD && strstr(err, "deep"), "NOT chain depth bounded: %s", err) ;
  sa.len = 0 ;
  for (int k = 0 ; k < IMAPSEARCH_MAXDEPTH - 2 ; k++) stralloc_cats(&sa, "NOT ") ;
  stralloc_cats(&sa, "SEEN") ; stralloc_0(&sa) ;
  ok(parse(sa.s) == IMAPSEARCH_OK, "deep but within the bound") ;
  sa.len = 0 ;
  for (int k = 0 ; k < 400 ; k++) stralloc_cats(&sa, "(SEEN UNSEEN) ") ;
  stralloc_cats(&sa, "ALL") ; stralloc_0(&sa) ;
  ok(parse(sa.s) == IMAPSEARCH_BAD && strstr(err, "complex"), "node count bounded: %s", err) ;
  sa.len = 0 ;
  stralloc_cats(&sa, "ALL") ; stralloc_0(&sa) ;
  ok(parse(sa.s) == IMAPSEARCH_OK, "a search after a refused one") ;
  stralloc_free(&sa) ;
}

static void test_order(void)
{
  /* the text key is tried only for the messages the flag lets through,
     whatever the order it was written in */
  calls_text = 0 ;
  is_str(run("BODY the SEEN"), "1", "costly key last") ;
  ok(calls_text == 1, "body searched once (%u)", calls_text) ;
  fail_text = 1 ;
  is_str(run("BODY fox"), "error", "a view error ends the search") ;
  is_str(run("NOT BODY fox"), "error", "an error is not negated") ;
  fail_text = 0 ;
  ok(imapsearch_contains("Hello", 5, "", 0) && imapsearch_contains("HeLLo", 5, "ell", 3) && !imapsearch_contains("He", 2, "Hel", 3), "contains") ;
}

/* SEARCHRES (RFC 5182): "$" as a key over the saved UIDs, RETURN (SAVE) */
static int wantsave(char const *args)
{
  static stralloc buf ;
  buf.len = 0 ;
  stralloc_cats(&buf, "s SEARCH ") ;
  stralloc_cats(&buf, args) ;
  return imapcmd_parse(&C, buf.s, buf.len, &err) == 1 && imapsearch_wantsave(&C, imapcmd_arg(&C, 0)) ;
}

static void test_saved(void)
{
  imapseq sv = IMAPSEQ_ZERO ;
  uint32_t u[] = { 10, 35 }, w[] = { 1, 2, 3, 7, 9, 10 }, v[4] ;
  Q.saved = 0 ;
  t("$", "") ; t("UID $", "") ; t("NOT $", "1 2 3") ;
  ok(imapseq_fromsorted(&sv, u, 2) && sv.n == 2, "saved set of two UIDs") ;
  Q.saved = &sv ;
  t("$", "1 3") ; t("UID $", "1 3") ; t("$ SEEN", "1") ; t("NOT $", "2") ; t("OR $ 2", "1 2 3") ;
  t("(UID $ 3)", "3") ;
  ok(imapseq_fromsorted(&sv, u, 0) && !sv.n, "an empty saved set") ;
  t("$", "") ;
  Q.saved = 0 ;
  ok(imapseq_fromsorted(&sv, w, 6) && sv.n == 3 && sv.r[0].lo == 1 && sv.r[0].hi == 3 && sv.r[1].lo == 7 && sv.r[2].lo == 9 && sv.r[2].hi == 10,
     "values joined into ranges") ;
  ok(imapseq_has_sorted(&sv, 2) && imapseq_has_sorted(&sv, 10) && !imapseq_has_sorted(&sv, 8) && !imapseq_has_sorted(&sv, 11), "saved set lookups") ;
  imapseq_free(&sv) ;
  ok(imapseq_issaved("$", 1) && !imapseq_issaved("$$", 2) && !imapseq_issaved("1", 1) && !imapseq_issaved("", 0), "issaved") ;
  ok(parse("RETURN (SAVE) ALL") == IMAPSEARCH_OK && Q.esearch && Q.ret == IMAPSR_SAVE, "RETURN (SAVE)") ;
  ok(parse("RETURN (save MIN max) ALL") == IMAPSEARCH_OK && Q.ret == (IMAPSR_SAVE | IMAPSR_MIN | IMAPSR_MAX), "RETURN (SAVE MIN MAX)") ;
  static char const *const bad[] = { "$,1", "1,$", "$:2", "UID $,1", "UID 1:$", "$$", "RETURN (SAVE) $ FOO" } ;
  for (unsigned k = 0 ; k < sizeof bad / sizeof *bad ; k++) ok(parse(bad[k]) != IMAPSEARCH_OK, "refused: '%s' (%s)", bad[k], err ? err : "") ;
  ok(wantsave("RETURN (SAVE) FOO") && wantsave("RETURN (MIN SAVE) ALL") && wantsave("RETURN (BOGUS SAVE) ALL"), "wantsave: even if refused") ;
  ok(!wantsave("RETURN (MIN) ALL") && !wantsave("ALL") && !wantsave("RETURN SAVE") && !wantsave("CHARSET SAVE ALL"), "wantsave: not without SAVE in RETURN") ;
  /* RFC 5182 2.1: MIN/MAX alone keep those; with ALL or COUNT all */
  uint32_t f[] = { 3, 5, 8 } ;
  memcpy(v, f, sizeof f) ; ok(imapsearch_savedpart(IMAPSR_SAVE, v, 3) == 3, "SAVE alone: all") ;
  memcpy(v, f, sizeof f) ; ok(imapsearch_savedpart(IMAPSR_SAVE | IMAPSR_MIN, v, 3) == 1 && v[0] == 3, "SAVE MIN: the lowest") ;
  memcpy(v, f, sizeof f) ; ok(imapsearch_savedpart(IMAPSR_SAVE | IMAPSR_MAX, v, 3) == 1 && v[0] == 8, "SAVE MAX: the highest") ;
  memcpy(v, f, sizeof f) ; ok(imapsearch_savedpart(IMAPSR_SAVE | IMAPSR_MIN | IMAPSR_MAX, v, 3) == 2 && v[0] == 3 && v[1] == 8, "SAVE MIN MAX: both") ;
  memcpy(v, f, sizeof f) ; ok(imapsearch_savedpart(IMAPSR_SAVE | IMAPSR_MIN | IMAPSR_MAX, v, 1) == 1 && v[0] == 3, "SAVE MIN MAX of one: one") ;
  memcpy(v, f, sizeof f) ; ok(imapsearch_savedpart(IMAPSR_SAVE | IMAPSR_MIN | IMAPSR_COUNT, v, 3) == 3, "SAVE MIN COUNT: all") ;
  memcpy(v, f, sizeof f) ; ok(imapsearch_savedpart(IMAPSR_SAVE | IMAPSR_MAX | IMAPSR_ALL, v, 3) == 3, "SAVE MAX ALL: all") ;
  ok(imapsearch_savedpart(IMAPSR_SAVE | IMAPSR_MIN, v, 0) == 0, "SAVE MIN of none: none") ;
}

int main(void)
{
  test_eval() ;
  test_parse() ;
  test_bounds() ;
  test_order() ;
  test_saved() ;
  imapsearch_free(&Q) ;
  imapcmd_free(&C) ;
  return done_testing() ;
}
