/* Unit tests of lib/imap's LIST/LSUB/STATUS arguments and LIST pattern
   matching, SELECT parameters (CONDSTORE, QRESYNC), UIDPLUS codes. */
#include <string.h>
#include <skalibs/stralloc.h>
#include "tap.h"
#include "imap/imapcmd.h"
#include "imap/imaplist.h"
#include "imap/imapselect.h"
#include "imap/imapwrite.h"

static imapcmd C = IMAPCMD_ZERO ;
static imaplist L = IMAPLIST_ZERO ;
static char const *err ;

static int list(char const *s, int lsub)
{
  err = 0 ;
  if (imapcmd_parse(&C, s, strlen(s), &err) != 1) return 100 ;
  return imaplist_parse(&C, imapcmd_arg(&C, 0), lsub, 0, &L, &err) ;
}

static int m(char const *pat, char const *name)
{
  return imaplist_match(pat, strlen(pat), name, strlen(name), '.') ;
}

static void test_list(void)
{
  ok(list("a LIST \"\" %", 0) == 1 && !L.extended && L.npat == 1 && !strcmp(L.pats.s, "%") && !strcmp(L.ref.s, ""), "plain LIST") ;
  ok(list("a LIST \"\" \"\"", 0) == 1 && L.npat == 1 && !L.pats.s[0], "empty pattern (the delimiter)") ;
  ok(list("a LIST \"Entw&APw-rfe\" inbox.*", 0) == 1 && !strcmp(L.ref.s, "Entw\xc3\xbcrfe") && !strcmp(L.pats.s, "INBOX.*"), "names decoded, INBOX upper-cased") ;
  ok(list("a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"a*\" b%) RETURN (CHILDREN STATUS (MESSAGES UIDNEXT HIGHESTMODSEQ))", 0) == 1, "LIST-EXTENDED: %s", err ? err : "") ;
  ok(L.extended && L.sel == (IMAPLIST_SUBSCRIBED | IMAPLIST_RECURSIVEMATCH) && L.npat == 2 && !strcmp(L.pats.s + 3, "b%")
     && L.ret == (IMAPLIST_RET_CHILDREN | IMAPLIST_RET_STATUS) && L.status == (IMAPSTATUS_MESSAGES | IMAPSTATUS_UIDNEXT | IMAPSTATUS_HIGHESTMODSEQ), "options, patterns, STATUS items") ;
  ok(list("a LIST (SPECIAL-USE) \"\" * RETURN (SPECIAL-USE SUBSCRIBED)", 0) == 1 && L.sel == IMAPLIST_SPECIALUSE && L.ret == (IMAPLIST_RET_SPECIALUSE | IMAPLIST_RET_SUBSCRIBED), "SPECIAL-USE") ;
  ok(list("a LIST (RECURSIVEMATCH) \"\" *", 0) == 0, "RECURSIVEMATCH alone refused") ;
  ok(list("a LIST (BOGUS) \"\" *", 0) == 0, "unknown option refused") ;
  ok(list("a LIST \"\" * RETURN (STATUS)", 0) == 0, "STATUS without items refused") ;
  ok(list("a LIST \"\" * junk", 0) == 0, "junk refused") ;
  ok(list("a LIST \"\" ()", 0) == 0, "empty pattern list refused") ;
  ok(list("a LIST \"\"", 0) == 0 && list("a LIST", 0) == 0, "missing arguments") ;
  ok(list("a LSUB \"\" *", 1) == 1 && list("a LSUB (SUBSCRIBED) \"\" *", 1) == 0 && list("a LSUB \"\" (*)", 1) == 0, "LSUB: no extended syntax") ;
  ok(list("a LIST \"\" \"a\\\\b\"", 0) == 1 && list("a LIST \"\" &", 0) == 0, "quoted pattern; bad modified UTF-7 refused") ;
}

static void test_match(void)
{
  ok(m("*", "a.b.c") && m("%", "a") && !m("%", "a.b") && m("a.%", "a.b") && !m("a.%", "a.b.c"), "* and %%") ;
  ok(m("a*c", "a.b.c") && m("a%c", "abc") && !m("a%c", "a.c") && m("%.%", "a.b") && !m("%.%", "a"), "wildcards inside") ;
  ok(m("", "") && !m("", "a") && m("**%%", "") && m("a", "a") && !m("a", "A"), "edges, case kept") ;
  ok(m("inbox", "INBOX") && m("Inbox.%", "INBOX.sub") && !m("inbox.sub", "INBOX.Sub") && !m("inbox", "INBOXES"), "INBOX without case, only INBOX") ;
  {
    static char name[IMAPLIST_MAXNAME + 2], pat[IMAPLIST_MAXPATLEN + 1] ;
    memset(name, 'a', IMAPLIST_MAXNAME) ;
    for (int k = 0 ; k < IMAPLIST_MAXPATLEN ; k++) pat[k] = k % 2 ? 'a' : '*' ;
    pat[IMAPLIST_MAXPATLEN - 1] = 'b' ;
    ok(!imaplist_match(pat, IMAPLIST_MAXPATLEN, name, IMAPLIST_MAXNAME, '.'), "the worst pattern, bounded time") ;
    name[IMAPLIST_MAXNAME] = 'a' ;
    ok(!imaplist_match("*", 1, name, IMAPLIST_MAXNAME + 1, '.'), "overlong name never matches") ;
  }
}

static void statuscmd(char const *s)
{
  imapcmd_parse(&C, s, strlen(s), &err) ;
}

static void test_status(void)
{
  unsigned b ;
  statuscmd("a STATUS x (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE APPENDLIMIT DELETED)") ;
  ok(imapstatus_items(&C, imapcmd_arg(&C, 1), &b, &err) && b == 0x1df, "STATUS items") ;
  statuscmd("a STATUS x ()") ;
  ok(!imapstatus_items(&C, imapcmd_arg(&C, 1), &b, &err), "empty refused") ;
  statuscmd("a STATUS x (FOO)") ;
  ok(!imapstatus_items(&C, imapcmd_arg(&C, 1), &b, &err), "unknown refused") ;
  ok(!strcmp(imapstatus_name(IMAPSTATUS_UIDNEXT), "UIDNEXT"), "item names") ;
}

static int sel(char const *s, imapselect *x)
{
  err = 0 ;
  if (imapcmd_parse(&C, s, strlen(s), &err) != 1) return 100 ;
  return imapselect_parse(&C, imapcmd_arg(&C, 1), x, &err) ;
}

static void test_select(void)
{
  imapselect s = IMAPSELECT_ZERO ;
  ok(sel("a SELECT INBOX", &s) == 1 && !s.condstore && !s.qresync, "no parameters") ;
  ok(sel("a SELECT INBOX (CONDSTORE)", &s) == 1 && s.condstore, "CONDSTORE") ;
  ok(sel("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))", &s) == 1 && s.qresync && s.uidvalidity == 67890007
     && s.modseq == 20050715194045000ull && s.known && imapseq_has(&s.knownuids, 300, 0) && !s.match, "QRESYNC with known UIDs") ;
  ok(sel("a SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))", &s) == 1
     && s.match && imapseq_has(&s.matchseq, 9995, 0) && imapseq_has(&s.matchuid, 29997, 0), "QRESYNC with match data (RFC 7162 example)") ;
  ok(sel("a SELECT INBOX (QRESYNC (1 2 (1 1)))", &s) == 1 && s.match && !s.known, "match data without known UIDs") ;
  static char const *const bad[] = { "a SELECT INBOX (QRESYNC (0 5))", "a SELECT INBOX (QRESYNC (1 0))", "a SELECT INBOX (QRESYNC (1))",
    "a SELECT INBOX (QRESYNC)", "a SELECT INBOX (QRESYNC (1 2 x))", "a SELECT INBOX (QRESYNC (1 2 1 (1)))", "a SELECT INBOX (FOO)",
    "a SELECT INBOX CONDSTORE", "a SELECT INBOX (CONDSTORE) x", "a SELECT INBOX (CONDSTORE CONDSTORE)" } ;
  for (unsigned k = 0 ; k < sizeof bad / sizeof *bad ; k++) ok(sel(bad[k], &s) != 1, "refused: %s", bad[k]) ;
  imapselect_free(&s) ;
}

static void test_uidplus(void)
{
  stralloc sa = STRALLOC_ZERO ;
  uint32_t src[] = { 304, 319, 320 }, dst[] = { 3956, 3957, 3958 }, app[] = { 3955, 3956, 3957 } ;
  ok(imapw_code_copyuid(&sa, 38505, src, dst, 3) && stralloc_0(&sa) && !strcmp(sa.s, "COPYUID 38505 304,319:320 3956:3958"), "COPYUID: %s", sa.s) ;
  sa.len = 0 ;
  ok(imapw_code_appenduid(&sa, 38505, app, 3) && stralloc_0(&sa) && !strcmp(sa.s, "APPENDUID 38505 3955:3957"), "APPENDUID: %s", sa.s) ;
  sa.len = 0 ;
  uint32_t rev[] = { 9, 8, 7 } ;
  ok(imapseq_fmt_ordered(&sa, rev, 3) && stralloc_0(&sa) && !strcmp(sa.s, "9,8,7"), "order kept: %s", sa.s) ;
  stralloc_free(&sa) ;
}

int main(void)
{
  test_list() ;
  test_match() ;
  test_status() ;
  test_select() ;
  test_uidplus() ;
  imaplist_free(&L) ;
  imapcmd_free(&C) ;
  return done_testing() ;
}
