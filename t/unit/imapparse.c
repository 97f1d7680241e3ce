/* Unit tests of lib/imap's command parsing: the tokenizer (imapcmd),
   sequence sets, flags and STORE, dates, mailbox names and modified
   UTF-7, FETCH items. */
#include <string.h>
#include <skalibs/stralloc.h>
#include "tap.h"
#include "imap/imapcmd.h"
#include "imap/imapseq.h"
#include "imap/imapflag.h"
#include "imap/imapdate.h"
#include "imap/imapmbox.h"
#include "imap/imapfetch.h"

static imapcmd C = IMAPCMD_ZERO ;
static char const *err ;

static int parse(char const *s)
{
  err = 0 ;
  return imapcmd_parse(&C, s, strlen(s), &err) ;
}

/* The argument tree written back as text: atoms bare, strings in quotes,
   literals as {n}, lists in parentheses, streamed literals as <n#idx>. */
static void dump(stralloc *sa, uint32_t i)
{
  for (; i ; i = C.node[i].next) {
    imapnode const *x = &C.node[i] ;
    char buf[40] ;
    if (sa->len && sa->s[sa->len-1] != '(') stralloc_catb(sa, " ", 1) ;
    switch (x->type) {
      case IMAPN_LIST: stralloc_cats(sa, "(") ; dump(sa, x->child) ; stralloc_cats(sa, ")") ; break ;
      case IMAPN_QUOTED: stralloc_cats(sa, "\"") ; stralloc_catb(sa, x->s, x->len) ; stralloc_cats(sa, "\"") ; break ;
      case IMAPN_LITERAL: snprintf(buf, sizeof buf, "{%zu}", x->len) ; stralloc_cats(sa, buf) ; stralloc_catb(sa, x->s, x->len) ; break ;
      case IMAPN_STREAM: snprintf(buf, sizeof buf, "<%zu#%u>", x->len, x->idx) ; stralloc_cats(sa, buf) ; break ;
      case IMAPN_NIL: stralloc_cats(sa, "NIL") ; break ;
      default: stralloc_catb(sa, x->s, x->len) ;
    }
  }
}

static char const *tree(void)
{
  static stralloc sa ;
  sa.len = 0 ;
  dump(&sa, C.node[0].child) ;
  stralloc_0(&sa) ;
  return sa.s ;
}

static void test_tokens(void)
{
  ok(parse("a1 NOOP") == 1 && !strcmp(C.tag, "a1") && !strcmp(C.name, "NOOP") && !imapcmd_nargs(&C), "a command without arguments") ;
  ok(parse("A2 login joe \"se\\\"cr\\\\et\"") == 1 && !strcmp(C.name, "LOGIN") && imapcmd_nargs(&C) == 2, "LOGIN, name upper-cased") ;
  is_str(tree(), "joe \"se\"cr\\et\"", "quoted string unescaped") ;
  ok(parse("t uid fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100>)") == 1 && C.uid && !strcmp(C.name, "FETCH"), "UID FETCH") ;
  is_str(tree(), "1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100>)", "a bracketed section is one atom") ;
  ok(parse("x APPEND saved (\\Seen) {5}\r\nhello") == 1, "a literal") ;
  is_str(tree(), "saved (\\Seen) {5}hello", "literal bytes taken as they are") ;
  ok(parse("x APPEND {3}\r\nbox {1000*}\r\n {7*}\r\n") == 1, "streamed literals") ;
  is_str(tree(), "{3}box <1000#0> <7#1>", "streamed literals ranked") ;
  ok(parse("x LIST \"\" %") == 1, "LIST wildcard atom") ;
  ok(parse("x SEARCH nil (a (b (c)))") == 1 && C.node[imapcmd_arg(&C, 0)].type == IMAPN_NIL, "NIL and nesting") ;
  is_str(tree(), "NIL (a (b (c)))", "nested lists") ;
  ok(parse("x SELECT ()") == 1 && imapcmd_nmembers(&C, imapcmd_arg(&C, 0)) == 0, "empty list") ;
  ok(parse("x SELECT \"a\\\"") == 0 && !strcmp(C.tag, "x"), "unterminated quoted string: BAD, tag known") ;
  ok(parse("x SELECT (a") == 0, "unbalanced (") ;
  ok(parse("x SELECT a)") == 0, "unbalanced )") ;
  ok(parse("x SELECT  a") == 0, "double space") ;
  ok(parse("x SELECT a ") == 0, "trailing space") ;
  ok(parse("x SELECT {5}\r\nab") == 0, "literal cut short") ;
  ok(parse("x SELECT {99999999999}\r\n") == 0, "literal size over 32 bits") ;
  ok(parse("x SELECT \"\\a\"") == 0, "bad escape") ;
  ok(parse("x SELECT a\rb") == 0, "CR in an atom") ;
  ok(parse("x SELECT caf\xc3\xa9") == 0, "8-bit atom") ;
  ok(parse("x SEARCH TEXT \"caf\xc3\xa9\"") == 1, "8-bit quoted string") ;
  ok(parse("x FETCH 1 BODY[HEADER") == 0, "unclosed bracket") ;
  ok(parse("+ NOOP") == 0 && !C.tag[0], "bad tag: no tag") ;
  ok(parse("") == 0 && parse("x") == 0 && parse("x ") == 0, "missing tag or command") ;
  ok(parse("x UID") == 0, "UID alone") ;
  {
    static char deep[200] ;
    memset(deep, '(', 17) ;
    strcpy(deep, "x SEARCH ") ;
    memset(deep + 9, '(', IMAPCMD_MAXDEPTH + 1) ;
    strcpy(deep + 9 + IMAPCMD_MAXDEPTH + 1, "a") ;
    memset(deep + strlen(deep), ')', IMAPCMD_MAXDEPTH + 1) ;
    ok(parse(deep) == 0 && err && strstr(err, "deep"), "nesting bounded: %s", err) ;
  }
  {
    static stralloc many ;
    stralloc_cats(&many, "x SEARCH") ;
    for (int k = 0 ; k <= IMAPCMD_MAXNODES ; k++) stralloc_cats(&many, " a") ;
    ok(imapcmd_parse(&C, many.s, many.len, &err) == 0 && strstr(err, "many"), "node count bounded") ;
    stralloc_free(&many) ;
  }
}

static void test_typed(void)
{
  char const *s ;
  size_t n ;
  uint32_t u ;
  uint64_t v ;
  parse("x CMD atom \"q\" {2}\r\nlt NIL 42 4294967296 9223372036854775807 a%b ( )") ;
  ok(imapcmd_astring(&C, imapcmd_arg(&C, 0), &s, &n) && n == 4, "atom as astring") ;
  ok(imapcmd_astring(&C, imapcmd_arg(&C, 1), &s, &n) && !strcmp(s, "q"), "quoted as astring") ;
  ok(imapcmd_astring(&C, imapcmd_arg(&C, 2), &s, &n) && !strcmp(s, "lt"), "literal as astring") ;
  ok(imapcmd_nstring(&C, imapcmd_arg(&C, 3), &s, &n) && !s, "NIL as nstring") ;
  ok(imapcmd_number(&C, imapcmd_arg(&C, 4), &u) && u == 42, "number") ;
  ok(!imapcmd_number(&C, imapcmd_arg(&C, 5), &u), "number over 32 bits refused") ;
  ok(imapcmd_number64(&C, imapcmd_arg(&C, 6), &v, 1) && v == 9223372036854775807ull, "63-bit mod-sequence") ;
  ok(!imapcmd_astring(&C, imapcmd_arg(&C, 7), &s, &n), "wildcard atom is no astring") ;
  ok(!imapcmd_astring(&C, imapcmd_arg(&C, 8), &s, &n), "list is no astring") ;
  ok(!imapcmd_arg(&C, 9), "no 10th argument") ;
}

static void test_seq(void)
{
  imapseq q = IMAPSEQ_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  uint32_t v[] = { 9, 1, 2, 3, 7, 3, 4294967295u } ;
  ok(imapseq_parse(&q, "1:4294967295", 12) == 1 && q.n == 1 && imapseq_has(&q, 4294967295u, 5), "1:4294967295: one range") ;
  ok(imapseq_parse(&q, "*:*", 3) == 1 && imapseq_has(&q, 7, 7) && !imapseq_has(&q, 6, 7) && !imapseq_has(&q, 1, 0), "*:* is the last") ;
  ok(imapseq_parse(&q, "9:2", 3) == 1 && imapseq_has(&q, 5, 100) && !imapseq_has(&q, 10, 100), "reversed range") ;
  ok(imapseq_parse(&q, "900:*", 5) == 1 && imapseq_has(&q, 500, 500) && imapseq_max(&q, 500) == 900, "n:* past the end includes the last (UID)") ;
  ok(imapseq_parse(&q, "5,1:3,2:4,10:*,8", 16) == 1 && q.n == 5, "list") ;
  imapseq_resolve(&q, 12) ;
  ok(q.n == 3 && q.r[0].lo == 1 && q.r[0].hi == 5 && q.r[1].lo == 8 && q.r[1].hi == 8 && q.r[2].lo == 10 && q.r[2].hi == 12, "resolved, sorted, merged") ;
  ok(imapseq_has_sorted(&q, 4) && imapseq_has_sorted(&q, 12) && !imapseq_has_sorted(&q, 9) && !imapseq_has_sorted(&q, 13), "binary search") ;
  ok(imapseq_parse(&q, "*", 1) == 1, "star") ;
  imapseq_resolve(&q, 0) ;
  ok(q.n == 0, "star of an empty mailbox: nothing") ;
  ok(!imapseq_parse(&q, "0", 1) && !imapseq_parse(&q, "1,", 2) && !imapseq_parse(&q, ",1", 2) && !imapseq_parse(&q, "1:", 2)
     && !imapseq_parse(&q, "4294967296", 10) && !imapseq_parse(&q, "01", 2) && !imapseq_parse(&q, "1::2", 4) && !imapseq_parse(&q, "", 0),
     "bad sets refused") ;
  stralloc_cats(&sa, "1") ;
  for (int k = 0 ; k < IMAPSEQ_MAXRANGES ; k++) stralloc_cats(&sa, ",1") ;
  ok(!imapseq_parse(&q, sa.s, sa.len), "range count bounded") ;
  sa.len = 0 ;
  ok(imapseq_fmt(&sa, v, 7) && (stralloc_0(&sa), !strcmp(sa.s, "1:3,7,9,4294967295")), "formatted: %s", sa.s) ;
  imapseq_free(&q) ;
  stralloc_free(&sa) ;
}

static void test_flags(void)
{
  imapflags f ;
  imapstoreargs st ;
  ok(parse("x STORE 1 +FLAGS.SILENT (\\Seen \\deleted $Junk foo foo)") == 1, "STORE parsed") ;
  ok(imapflag_store(&C, imapcmd_arg(&C, 1), &st, &err) && st.op == IMAPSTORE_ADD && st.silent
     && st.flags.sys == (IMAPFLAG_SEEN | IMAPFLAG_DELETED) && st.flags.nkw == 2, "+FLAGS.SILENT, keywords once") ;
  parse("x STORE 1 (UNCHANGEDSINCE 12345) -FLAGS \\Answered \\Draft") ;
  ok(imapflag_store(&C, imapcmd_arg(&C, 1), &st, &err) && st.op == IMAPSTORE_REMOVE && st.unchangedsince && st.modseq == 12345
     && st.flags.sys == (IMAPFLAG_ANSWERED | IMAPFLAG_DRAFT), "UNCHANGEDSINCE, flags without parentheses") ;
  parse("x STORE 1 FLAGS ()") ;
  ok(imapflag_store(&C, imapcmd_arg(&C, 1), &st, &err) && st.op == IMAPSTORE_SET && !st.flags.sys && !st.flags.nkw, "FLAGS () clears") ;
  parse("x STORE 1 FLAGS (\\Recent)") ;
  ok(!imapflag_store(&C, imapcmd_arg(&C, 1), &st, &err), "\\Recent refused: %s", err) ;
  parse("x STORE 1 FLAGS (\\Bogus)") ;
  ok(!imapflag_store(&C, imapcmd_arg(&C, 1), &st, &err), "unknown system flag refused") ;
  parse("x STORE 1 FLAGS (\"quoted\")") ;
  ok(!imapflag_store(&C, imapcmd_arg(&C, 1), &st, &err), "quoted flag refused") ;
  parse("x STORE 1 XFLAGS (a)") ;
  ok(!imapflag_store(&C, imapcmd_arg(&C, 1), &st, &err), "bad item refused") ;
  parse("x STORE 1 FLAGS") ;
  ok(!imapflag_store(&C, imapcmd_arg(&C, 1), &st, &err), "missing flags refused") ;
  parse("x APPEND box \\Seen") ;
  ok(!imapflag_parse(&C, imapcmd_arg(&C, 1), 0, &f, &err), "APPEND needs a list") ;
  ok(imapflag_bit("\\FLAGGED") == IMAPFLAG_FLAGGED && !strcmp(imapflag_name(IMAPFLAG_DRAFT), "\\Draft"), "names and bits") ;
}

static void test_dates(void)
{
  int64_t d, t ;
  int z ;
  char buf[IMAPDATE_LEN] ;
  ok(imapdate_date("1-Feb-1994", 10, &d) && d == imapdate_days(1994, 2, 1), "date, one-digit day") ;
  ok(imapdate_date("01-feb-1994", 11, &d) && d == imapdate_days(1994, 2, 1), "date, two digits, any case") ;
  ok(imapdate_days(1970, 1, 1) == 0 && imapdate_days(2000, 3, 1) == 11017, "day numbers") ;
  ok(!imapdate_date("30-Feb-2000", 11, &d) && imapdate_date("29-Feb-2000", 11, &d) && !imapdate_date("29-Feb-1900", 11, &d), "leap years") ;
  ok(!imapdate_date("1-Foo-1994", 10, &d) && !imapdate_date("1-Feb-94", 8, &d) && !imapdate_date("0-Feb-1994", 10, &d), "bad dates") ;
  ok(imapdate_datetime("17-Jul-1996 02:44:25 -0700", 26, &t, &z) && t == 837596665 && z == -420, "date-time with zone") ;
  ok(imapdate_datetime(" 7-Jul-1996 02:44:25 +0000", 26, &t, &z) && t == imapdate_days(1996, 7, 7) * 86400 + 9865, "date-time, day with a space") ;
  ok(!imapdate_datetime("17-Jul-1996 24:44:25 -0700", 26, &t, &z) && !imapdate_datetime("17-Jul-1996 02:44:25 0700", 25, &t, &z), "bad date-times") ;
  imapdate_fmt(buf, 837596665, -420) ;
  is_str(buf, "\"17-Jul-1996 02:44:25 -0700\"", "formatted") ;
  ok(imapdate_day(837596665, -420) == imapdate_days(1996, 7, 17) && imapdate_day(837596665, 0) == imapdate_days(1996, 7, 17), "day in its zone") ;
  ok(imapdate_day(-1, 0) == -1, "day before the epoch") ;
}

static void test_mbox(void)
{
  stralloc sa = STRALLOC_ZERO ;
  static char const *const pairs[][2] = {
    { "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
    { "A&-B", "A&B" }, { "Entw&APw-rfe", "Entw\xc3\xbc" "rfe" }, { "&2D3eAA-", "\xf0\x9f\x98\x80" },
  } ;
  char const *e ;
  for (unsigned k = 0 ; k < 4 ; k++) {
    sa.len = 0 ;
    ok(imapmbox_mutf7_decode(&sa, pairs[k][0], strlen(pairs[k][0])) == 1 && sa.len == strlen(pairs[k][1]) && !memcmp(sa.s, pairs[k][1], sa.len), "decode %s", pairs[k][0]) ;
    sa.len = 0 ;
    ok(imapmbox_mutf7_encode(&sa, pairs[k][1], strlen(pairs[k][1])) == 1 && sa.len == strlen(pairs[k][0]) && !memcmp(sa.s, pairs[k][0], sa.len), "encode %s", pairs[k][0]) ;
  }
  static char const *const bad[] = { "&", "&U,BTFw", "&AGE-", "&2D3-", "&3gA-", "a\xc3\xa9", "&U,BTF-", "&Jjo!-" } ;
  for (unsigned k = 0 ; k < sizeof bad / sizeof *bad ; k++) {
    sa.len = 0 ;
    ok(imapmbox_mutf7_decode(&sa, bad[k], strlen(bad[k])) == 0, "invalid modified UTF-7 refused: %s", bad[k]) ;
  }
  sa.len = 0 ;
  ok(imapmbox_mutf7_encode(&sa, "\xc3", 1) == 0 && imapmbox_mutf7_encode(&sa, "\xed\xa0\x80", 3) == 0, "invalid UTF-8 refused") ;
  parse("x SELECT inBoX") ;
  ok(imapmbox_name(&C, imapcmd_arg(&C, 0), 0, &sa, &e) == 1 && !strcmp(sa.s, "INBOX"), "INBOX any case") ;
  parse("x SELECT inbox.sub") ;
  ok(imapmbox_name(&C, imapcmd_arg(&C, 0), 0, &sa, &e) == 1 && !strcmp(sa.s, "inbox.sub"), "only INBOX itself") ;
  parse("x SELECT \"Entw&APw-rfe\"") ;
  ok(imapmbox_name(&C, imapcmd_arg(&C, 0), 0, &sa, &e) == 1 && !strcmp(sa.s, "Entw\xc3\xbcrfe"), "decoded name") ;
  parse("x SELECT \"Entw\xc3\xbcrfe\"") ;
  ok(imapmbox_name(&C, imapcmd_arg(&C, 0), 1, &sa, &e) == 1 && imapmbox_name(&C, imapcmd_arg(&C, 0), 0, &sa, &e) == 0, "UTF-8 only with UTF8=ACCEPT") ;
  parse("x SELECT \"\"") ;
  ok(imapmbox_name(&C, imapcmd_arg(&C, 0), 0, &sa, &e) == 0, "empty name refused") ;
  stralloc_free(&sa) ;
}

static void test_fetch(void)
{
  static imapfetch f ;
  stralloc sa = STRALLOC_ZERO ;
  parse("x FETCH 1:* ALL") ;
  ok(imapfetch_parse(&C, imapcmd_arg(&C, 1), 0, &f, &err) && f.items == (IMAPF_FLAGS | IMAPF_INTERNALDATE | IMAPF_RFC822_SIZE | IMAPF_ENVELOPE), "ALL") ;
  parse("x FETCH 1 (FLAGS ALL)") ;
  ok(!imapfetch_parse(&C, imapcmd_arg(&C, 1), 0, &f, &err), "a macro only alone") ;
  parse("x FETCH 1 (uid flags rfc822.size BODY BODYSTRUCTURE ENVELOPE INTERNALDATE RFC822 RFC822.HEADER RFC822.TEXT MODSEQ)") ;
  ok(imapfetch_parse(&C, imapcmd_arg(&C, 1), 0, &f, &err) && f.items == 2047 && f.nsec == 0 && imapfetch_sets_seen(&f), "every plain item %x %s", f.items, err ? err : "") ;
  parse("x FETCH 1 (BODY.PEEK[1.2.HEADER.FIELDS.NOT (X-A \"X-B\")]<10.20> BODY[] BODY[3.MIME] BODY[TEXT] BODY[2]<0.1>)") ;
  ok(imapfetch_parse(&C, imapcmd_arg(&C, 1), 0, &f, &err) && f.nsec == 5, "sections: %s", err ? err : "") ;
  ok(f.sec[0].peek && f.sec[0].nparts == 2 && f.sec[0].part[1] == 2 && f.sec[0].spec == IMAPSEC_FIELDS_NOT && f.sec[0].nfields == 2
     && !strcmp(f.sec[0].fields, "X-A") && !strcmp(f.sec[0].fields + 4, "X-B") && f.sec[0].partial && f.sec[0].off == 10 && f.sec[0].len == 20, "HEADER.FIELDS.NOT, partial") ;
  ok(!f.sec[1].peek && !f.sec[1].nparts && f.sec[1].spec == IMAPSEC_ALL, "BODY[]") ;
  ok(f.sec[2].spec == IMAPSEC_MIME && f.sec[2].part[0] == 3 && f.sec[3].spec == IMAPSEC_TEXT && f.sec[4].nparts == 1, "MIME, TEXT, part") ;
  ok(imapfetch_secname(&sa, &f.sec[0]) && (stralloc_0(&sa), !strcmp(sa.s, "BODY[1.2.HEADER.FIELDS.NOT (X-A X-B)]<10>")), "response name %s", sa.s) ;
  sa.len = 0 ;
  ok(imapfetch_secname(&sa, &f.sec[1]) && (stralloc_0(&sa), !strcmp(sa.s, "BODY[]")), "response name BODY[]") ;
  static char const *const bad[] = {
    "BODY[0]", "BODY[1.]", "BODY[MIME]", "BODY[1.HEADER.FIELDS]", "BODY[HEADER.FIELDS ()]", "BODY[HEADER.FIELDS (a:b)]",
    "BODY[]<1>", "BODY[]<1.0>", "BODY[]<1.2>x", "BODY[TEXTX]", "BODY.PEEK", "BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17]",
    "BODY[HEADER.FIELDS (a b]", "BODY[4294967296]",
  } ;
  for (unsigned k = 0 ; k < sizeof bad / sizeof *bad ; k++) {
    char cmd[200] ;
    snprintf(cmd, sizeof cmd, "x FETCH 1 %s", bad[k]) ;
    ok(parse(cmd) != 1 || !imapfetch_parse(&C, imapcmd_arg(&C, 1), 0, &f, &err), "refused: %s", bad[k]) ;
  }
  parse("x FETCH 1 (BINARY[1.2]<5.10> binary.peek[] BINARY.SIZE[3] BODY.PEEK[1])") ;
  ok(imapfetch_parse(&C, imapcmd_arg(&C, 1), 0, &f, &err) && f.nsec == 4, "BINARY sections: %s", err ? err : "") ;
  ok(f.sec[0].kind == IMAPSEC_BINARY && !f.sec[0].peek && f.sec[0].nparts == 2 && f.sec[0].partial && f.sec[0].off == 5 && f.sec[0].len == 10, "BINARY[1.2]<5.10>") ;
  ok(f.sec[1].kind == IMAPSEC_BINARY && f.sec[1].peek && !f.sec[1].nparts, "BINARY.PEEK[]") ;
  ok(f.sec[2].kind == IMAPSEC_BINSIZE && f.sec[2].peek && f.sec[2].part[0] == 3 && f.sec[3].kind == IMAPSEC_BODY, "BINARY.SIZE[3], BODY") ;
  ok(imapfetch_sets_seen(&f), "BINARY sets \\Seen") ;
  sa.len = 0 ;
  ok(imapfetch_secname(&sa, &f.sec[0]) && (stralloc_0(&sa), !strcmp(sa.s, "BINARY[1.2]<5>")), "response name %s", sa.s) ;
  sa.len = 0 ;
  ok(imapfetch_secname(&sa, &f.sec[1]) && imapfetch_secname(&sa, &f.sec[2]) && (stralloc_0(&sa), !strcmp(sa.s, "BINARY[]BINARY.SIZE[3]")), "response names %s", sa.s) ;
  parse("x FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[2])") ;
  ok(imapfetch_parse(&C, imapcmd_arg(&C, 1), 0, &f, &err) && !imapfetch_sets_seen(&f), "BINARY.PEEK, BINARY.SIZE: no \\Seen") ;
  static char const *const badbin[] = {
    "BINARY[1.MIME]", "BINARY[HEADER]", "BINARY[TEXT]", "BINARY[1.HEADER.FIELDS (a)]", "BINARY.SIZE[1]<0.5>",
    "BINARY[0]", "BINARY[1.]", "BINARY", "BINARY.SIZE", "BINARY.PEEK", "BINARY.SIZE.PEEK[1]", "BINARY[]<1.0>",
  } ;
  for (unsigned k = 0 ; k < sizeof badbin / sizeof *badbin ; k++) {
    char cmd[200] ;
    snprintf(cmd, sizeof cmd, "x FETCH 1 %s", badbin[k]) ;
    ok(parse(cmd) != 1 || !imapfetch_parse(&C, imapcmd_arg(&C, 1), 0, &f, &err), "refused: %s", badbin[k]) ;
  }
  parse("x FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)") ;
  ok(imapfetch_parse(&C, imapcmd_arg(&C, 1), 1, &f, &err) && f.changedsince && f.vanished && f.modseq == 12345 && (f.items & IMAPF_MODSEQ), "CHANGEDSINCE VANISHED") ;
  ok(!imapfetch_parse(&C, imapcmd_arg(&C, 1), 0, &f, &err), "VANISHED only with UID FETCH") ;
  parse("x FETCH 1 FLAGS (FOO)") ;
  ok(!imapfetch_parse(&C, imapcmd_arg(&C, 1), 0, &f, &err), "unknown modifier") ;
  stralloc_free(&sa) ;
}

int main(void)
{
  test_tokens() ;
  test_typed() ;
  test_seq() ;
  test_flags() ;
  test_dates() ;
  test_mbox() ;
  test_fetch() ;
  imapcmd_free(&C) ;
  return done_testing() ;
}
