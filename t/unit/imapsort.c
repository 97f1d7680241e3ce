/* Unit tests of lib/imap/imapsort.h: RFC 5256 base subjects, SORT keys,
   THREAD=ORDEREDSUBJECT and THREAD=REFERENCES on fixture threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <skalibs/stralloc.h>
#include "tap.h"
#include "imap/imapsort.h"

static char const *base(char const *s, int *reply)
{
  static stralloc sa = STRALLOC_ZERO ;
  sa.len = 0 ;
  if (!imapsort_basesubj(&sa, s, strlen(s), reply) || !stralloc_0(&sa)) return 0 ;
  return sa.s ;
}

static void test_base(void)
{
  static struct { char const *in, *out ; int reply ; } const c[] = {
    { "hello", "hello", 0 },
    { "Re: hello", "hello", 1 },
    { "RE[foo]: hello", "hello", 1 },
    { "Re[2]: hello", "hello", 1 },
    { "re : hello", "hello", 1 },
    { "Fwd: hello", "hello", 1 },
    { "FW: hello", "hello", 1 },
    { "[Fwd: hello]", "hello", 1 },
    { "hello (fwd)", "hello", 1 },
    { "hello (FWD) (fwd)  ", "hello", 1 },
    { "Re: Re: [list] Fw: [Fwd: Re: hello (fwd)] (fwd)", "hello", 1 },
    { "[list] hello", "hello", 0 },
    { "[list] [x] Re: hello", "hello", 1 },
    { "[list]", "[list]", 0 },
    { "  hello \t  world\r\n ", "hello world", 0 },
    { "Reply to all", "Reply to all", 0 },
    { "Re:", "", 1 },
    { "", "", 0 },
    { "Re: [Fwd: a] b", "b", 1 },   /* a leading blob goes (step 4) */
    { "=?UTF-8?Q?Re=3A_caf=C3=A9?=", "caf\xc3\xa9", 1 },
    { "=?ISO-8859-1?Q?Fwd:_=E9t=E9?= (fwd)", "\xc3\xa9t\xc3\xa9", 1 },
  } ;
  for (size_t i = 0 ; i < sizeof c / sizeof *c ; i++)
  {
    int r = -1 ;
    char const *got = base(c[i].in, &r) ;
    char name[64] ;   /* no line end in a TAP line */
    snprintf(name, sizeof name, "%s", c[i].in) ;
    for (char *p = name ; *p ; p++) if (*p == '\r' || *p == '\n' || *p == '\t') *p = '.' ;
    ok(got && !strcmp(got, c[i].out) && r == c[i].reply, "base subject of '%s' is '%s' (reply %d)", name, c[i].out, c[i].reply) ;
    if (got && strcmp(got, c[i].out)) printf("#   got '%s' reply %d\n", got, r) ;
  }
}

/* Fixtures: at most NMAX messages, subjects turned into base subjects. */
#define NMAX 64
static imapsort_msg M[NMAX] ;
static stralloc S[NMAX] ;

static void msg(unsigned i, int64_t date, char const *subj, char const *id, char const *refs, char const *irt)
{
  S[i].len = 0 ;
  if (!imapsort_basesubj(&S[i], subj, strlen(subj), &M[i].reply) || !stralloc_0(&S[i])) exit(111) ;
  M[i] = (imapsort_msg){ .num = i + 1, .date = date, .arrival = 1000 - i, .size = 100,
    .subj = S[i].s, .reply = M[i].reply, .msgid = id, .refs = refs, .irt = irt } ;
}

static char const *sorted(size_t n, char const *keys)
{
  static char out[512] ;
  unsigned char k[IMAPSORT_MAXKEYS] ;
  uint32_t order[NMAX] ;
  size_t nk = 0, o = 0 ;
  char buf[64] ;
  strcpy(buf, keys) ;
  int rev = 0 ;
  for (char *w = strtok(buf, " ") ; w ; w = strtok(0, " "))
  {
    int key = imapsort_key(w, strlen(w)) ;
    if (key < 0 || nk == IMAPSORT_MAXKEYS) return "badkey" ;
    if (key == IMAPSORT_REVERSE) rev = IMAPSORT_REVERSE ;
    else { k[nk++] = key | rev ; rev = 0 ; }
  }
  if (!imapsort_sort(order, M, n, k, nk)) return "fail" ;
  out[0] = 0 ;
  for (size_t i = 0 ; i < n ; i++) o += sprintf(out + o, "%s%u", i ? " " : "", M[order[i]].num) ;
  return out ;
}

static void test_sort(void)
{
  memset(M, 0, sizeof M) ;
  msg(0, 300, "Re: beta", "<1@x>", 0, 0) ;
  msg(1, IMAPSORT_NODATE, "alpha", "<2@x>", 0, 0) ;   /* arrival 999 */
  msg(2, 100, "BETA", "<3@x>", 0, 0) ;
  msg(3, 300, "[Fwd: Alpha]", "<4@x>", 0, 0) ;
  msg(4, 200, "gamma", "<5@x>", 0, 0) ;
  M[0].size = 50 ; M[1].size = 70 ; M[2].size = 50 ; M[3].size = 10 ; M[4].size = 70 ;
  M[0].from = "bob" ; M[1].from = "Alice" ; M[2].from = 0 ; M[3].from = "alice" ; M[4].from = "carol" ;
  M[0].to = "z" ; M[1].to = "y" ; M[2].to = "x" ; M[3].to = "w" ; M[4].to = "v" ;
  M[2].cc = "b" ; M[3].cc = "a" ;
  is_str(sorted(5, "SUBJECT"), "2 4 1 3 5", "SORT SUBJECT: base subjects, casemap, ties by sequence") ;
  is_str(sorted(5, "REVERSE SUBJECT"), "5 1 3 2 4", "SORT REVERSE SUBJECT keeps ties in sequence order") ;
  is_str(sorted(5, "DATE"), "3 5 1 4 2", "SORT DATE: a message without Date: sorts by INTERNALDATE") ;
  is_str(sorted(5, "ARRIVAL"), "5 4 3 2 1", "SORT ARRIVAL") ;
  is_str(sorted(5, "SIZE"), "4 1 3 2 5", "SORT SIZE") ;
  is_str(sorted(5, "REVERSE SIZE"), "2 5 1 3 4", "SORT REVERSE SIZE") ;
  is_str(sorted(5, "FROM"), "3 2 4 1 5", "SORT FROM: none first, casemap") ;
  is_str(sorted(5, "TO"), "5 4 3 2 1", "SORT TO") ;
  is_str(sorted(5, "CC"), "1 2 5 4 3", "SORT CC: none first") ;
  is_str(sorted(5, "SIZE REVERSE DATE"), "4 1 3 2 5", "SORT SIZE REVERSE DATE") ;
  is_str(sorted(5, "SUBJECT REVERSE ARRIVAL"), "2 4 1 3 5", "SORT SUBJECT REVERSE ARRIVAL") ;
  ok(imapsort_key("subject", 7) == IMAPSORT_SUBJECT && imapsort_key("SUBJ", 4) < 0 && imapsort_key("reverse", 7) == IMAPSORT_REVERSE, "key names") ;
}

static char const *threads(size_t n, imapsort_msg const *m, int alg)
{
  static stralloc sa = STRALLOC_ZERO ;
  imapsort_tree t = IMAPSORT_TREE_ZERO ;
  sa.len = 0 ;
  if (!imapsort_thread(&t, m, n, alg) || !imapsort_thread_fmt(&sa, &t, m) || !stralloc_0(&sa)) return "fail" ;
  imapsort_tree_free(&t) ;
  return sa.s ;
}

static void test_orderedsubject(void)
{
  memset(M, 0, sizeof M) ;
  msg(0, 5, "A", 0, 0, 0) ;
  msg(1, 3, "Re: a", 0, 0, 0) ;
  msg(2, 1, "B", 0, 0, 0) ;
  msg(3, 2, "re: b", 0, 0, 0) ;
  msg(4, 4, "a", 0, 0, 0) ;
  msg(5, 4, "", 0, 0, 0) ;
  is_str(threads(6, M, IMAPSORT_ORDEREDSUBJECT), "(3 4)(2 (5)(1))(6)", "ORDEREDSUBJECT: by base subject, first message the parent, threads by date") ;
  ok(imapsort_threadalg("orderedsubject", 14) == IMAPSORT_ORDEREDSUBJECT && imapsort_threadalg("REFERENCES", 10) == IMAPSORT_REFERENCES && imapsort_threadalg("REFS", 4) < 0, "algorithm names") ;
}

static void test_references(void)
{
  memset(M, 0, sizeof M) ;
  msg(0, 10, "hello", "<a@x>", 0, 0) ;
  msg(1, 30, "Re: hello", "<b@x>", "<a@x>", "<a@x>") ;
  msg(2, 40, "Re: hello", "<c@x>", "<a@x>\r\n <b@x>", 0) ;
  msg(3, 20, "Re: hello", "<d@x>", 0, "<a@x> (by x)") ;
  is_str(threads(4, M, IMAPSORT_REFERENCES), "(1 (4)(2 3))", "a reply chain, siblings by sent date, In-Reply-To without References") ;

  memset(M, 0, sizeof M) ;
  msg(0, 10, "one", "<b@x>", "<a@x>", 0) ;
  msg(1, 20, "two", "<c@x>", "<a@x>", 0) ;
  msg(2, 30, "three", "<e@x>", "<q@x>", 0) ;
  msg(3, 40, "four", "<f@x>", 0, 0) ;
  msg(4, 50, "Re: four", "<g@x>", "<f@x> <gone@x>", 0) ;
  is_str(threads(5, M, IMAPSORT_REFERENCES), "((1)(2))(3)(4 5)", "missing parents: a dummy root kept for two, dropped for one, spliced inside") ;

  memset(M, 0, sizeof M) ;
  msg(0, 10, "x", "<a@x>", "<b@x>", 0) ;
  msg(1, 20, "y", "<b@x>", "<a@x>", 0) ;
  msg(2, 30, "z", "<c@x>", "<c@x>", 0) ;
  msg(3, 40, "w", "<d@x>", "<e@x> <f@x> <e@x> <d@x>", 0) ;
  is_str(threads(4, M, IMAPSORT_REFERENCES), "(2 1)(3)(4)", "References loops are not linked") ;

  memset(M, 0, sizeof M) ;
  msg(0, 10, "x", "<a@x>", 0, 0) ;
  msg(1, 20, "y", "<a@x>", 0, 0) ;
  msg(2, 30, "z", "<c@x>", "<a@x>", 0) ;
  msg(3, 40, "v", 0, 0, 0) ;
  msg(4, 50, "u", "<bad", "<", 0) ;
  is_str(threads(5, M, IMAPSORT_REFERENCES), "(1 3)(2)(4)(5)", "a duplicate Message-ID is a message of its own; none or bad ids") ;

  memset(M, 0, sizeof M) ;
  msg(0, 10, "Hello", "<a@x>", 0, 0) ;
  msg(1, 20, "Re: hello", "<b@x>", 0, 0) ;
  msg(2, 30, "Other", "<c@x>", 0, 0) ;
  msg(3, 25, "other", "<d@x>", 0, 0) ;
  msg(4, 5, "Re: third", "<e@x>", 0, 0) ;
  msg(5, 50, "Third", "<f@x>", 0, 0) ;
  msg(6, 60, "Re: other", "<g@x>", "<zz@x>", 0) ;
  msg(7, 70, "Re: other", "<h@x>", "<zz@x>", 0) ;
  is_str(threads(8, M, IMAPSORT_REFERENCES), "(1 2)((4)(3)(7)(8))(6 5)", "roots grouped by base subject: reply under original, dummies merged") ;
}

/* N messages, each replying to the one before: one thread N deep. */
static void test_deep(void)
{
  enum { N = 10000 } ;
  imapsort_msg *m = calloc(2 * N, sizeof *m) ;
  char (*id)[16] = malloc(2 * N * sizeof *id) ;
  stralloc want = STRALLOC_ZERO ;
  char const *got ;
  if (!m || !id) exit(111) ;
  for (unsigned i = 0 ; i < N ; i++)
  {
    char b[16] ;
    sprintf(id[i], "<%u@d>", i) ;
    m[i] = (imapsort_msg){ .num = i + 1, .date = i, .subj = "deep", .msgid = id[i], .refs = i ? id[i-1] : 0 } ;
    sprintf(b, "%s%u", i ? " " : "(", i + 1) ;
    if (!stralloc_cats(&want, b)) exit(111) ;
  }
  if (!stralloc_cats(&want, ")") || !stralloc_0(&want)) exit(111) ;
  got = threads(N, m, IMAPSORT_REFERENCES) ;
  ok(!strcmp(got, want.s), "a thread %d deep", N) ;
  /* every message of the chain also has a leaf reply: N nested lists */
  for (unsigned i = 0 ; i < N ; i++)
  {
    sprintf(id[N + i], "<l%u@d>", i) ;
    m[N + i] = (imapsort_msg){ .num = N + i + 1, .date = N + i, .subj = "deep", .msgid = id[N + i], .refs = id[i] } ;
  }
  got = threads(2 * N, m, IMAPSORT_REFERENCES) ;
  ok(!strncmp(got, "(1 (2 (3 (4 ", 12) && strstr(got, "(10000 20000)(19999))(19998))")
     && strlen(got) >= 16 && !strcmp(got + strlen(got) - 16, "(10002))(10001))"), "a thread %d deep with a branch at every level", N) ;
  got = threads(2 * N, m, IMAPSORT_ORDEREDSUBJECT) ;
  ok(!strncmp(got, "(1 (2)(3)(4)", 12) && strlen(got) >= 8 && !strcmp(got + strlen(got) - 8, "(20000))"), "ORDEREDSUBJECT of %d messages", 2 * N) ;
  /* the same chain delivered newest first: dummies filled later */
  for (unsigned i = 0 ; i < N ; i++)
    m[i] = (imapsort_msg){ .num = i + 1, .date = N - i, .subj = "deep", .msgid = id[N - 1 - i], .refs = i < N - 1 ? id[N - 2 - i] : 0 } ;
  got = threads(N, m, IMAPSORT_REFERENCES) ;
  ok(!strncmp(got, "(10000 9999 9998 ", 17) && strlen(got) >= 5 && !strcmp(got + strlen(got) - 5, " 2 1)"), "a thread %d deep, newest first", N) ;
  stralloc_free(&want) ;
  free(m) ; free(id) ;
}

int main(void)
{
  test_base() ;
  test_sort() ;
  test_orderedsubject() ;
  test_references() ;
  test_deep() ;
  return done_testing() ;
}
