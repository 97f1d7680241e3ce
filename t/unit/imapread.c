/* Unit tests of lib/imap's command reader (imapread) and response writer
   (imapwrite), through a lineio over a peer in memory. */
#include <string.h>
#include <skalibs/stralloc.h>
#include "tap.h"
#include "lineio.h"
#include "imap/imapcmd.h"
#include "imap/imapread.h"
#include "imap/imapsearch.h"
#include "imap/imapwrite.h"

typedef struct mem_s { char const *in ; size_t len, pos ; stralloc out ; } mem ;
static mem M ;

static ssize_t mem_read(void *ctx, char *buf, size_t len, tain const *deadline)
{
  mem *m = ctx ;
  size_t n = m->len - m->pos ;
  (void)deadline ;
  if (n > 7) n = 7 ;   /* small reads: literals and lines cut anywhere */
  if (n > len) n = len ;
  memcpy(buf, m->in + m->pos, n) ;
  m->pos += n ;
  return n ;
}

static int mem_write(void *ctx, char const *s, size_t len, tain const *deadline)
{
  (void)deadline ;
  return stralloc_catb(&((mem *)ctx)->out, s, len) ;
}

static lineio_io const memio = { .ctx = &M, .read = &mem_read, .write = &mem_write } ;
static lineio L ;
static imapread R ;

/* the hooks' record */
static unsigned gos, starts ;
static stralloc msg ;
static char const *refuse ;   /* msgstart refuses with this */
static uint64_t lastsize ;

static int h_go(void *ctx) { (void)ctx ; gos++ ; return 1 ; }
static int h_start(void *ctx, uint32_t idx, uint64_t size, char const **err)
{
  (void)ctx ; (void)idx ;
  starts++ ; lastsize = size ;
  if (refuse) { *err = refuse ; return 0 ; }
  return 1 ;
}
static size_t datamax = (size_t)-1 ;   /* msgdata refuses past it */
static int h_data(void *ctx, char const *s, size_t n, char const **err)
{
  (void)ctx ;
  if (msg.len + n > datamax) { *err = "[OVERQUOTA] quota reached" ; return 0 ; }
  return stralloc_catb(&msg, s, n) ;
}

static void start(char const *in, imapread_limits const *lim)
{
  static imapread_hooks const hooks = { 0, h_go, h_start, h_data } ;
  M.in = in ; M.len = strlen(in) ; M.pos = 0 ; M.out.len = 0 ;
  lineio_init_io(&L, &memio, 10) ;
  imapread_free(&R) ;
  imapread_init(&R, &L, lim, &hooks) ;
  gos = starts = 0 ; msg.len = 0 ; refuse = 0 ; datamax = (size_t)-1 ;
}

static int cmdis(char const *want)
{
  return R.cmd.len == strlen(want) && !memcmp(R.cmd.s, want, R.cmd.len) ;
}

static void test_reader(void)
{
  imapcmd c = IMAPCMD_ZERO ;
  char const *e ;
  imapread_limits small = { .literal = 100, .message = 1000, .nliterals = 3, .total = 300, .line = 200 } ;

  start("a1 NOOP\r\na2 LOGIN {3}\r\njoe {4+}\r\npass\r\n", 0) ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("a1 NOOP") && !strcmp(R.tag, "a1"), "a plain command") ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("a2 LOGIN {3}\r\njoe {4}\r\npass") && gos == 1, "a synchronizing and a LITERAL+ literal, one continuation") ;
  ok(imapcmd_parse(&c, R.cmd.s, R.cmd.len, &e) == 1 && imapcmd_nargs(&c) == 2 && !strcmp(c.node[imapcmd_arg(&c, 1)].s, "pass"), "parsed") ;
  ok(imapread_command(&R) == IMAPREAD_EOF, "end of input") ;

  start("a3 LOGIN {101}\r\na4 NOOP\r\n", &small) ;
  ok(imapread_command(&R) == IMAPREAD_BAD && !strcmp(R.tag, "a3") && strstr(R.err, "large") && !gos, "literal over its bound: BAD, no continuation") ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("a4 NOOP"), "the session goes on") ;

  start("a5 LOGIN {5000+}\r\n", 0) ;
  ok(imapread_command(&R) == IMAPREAD_FATAL, "LITERAL- over 4096: fatal") ;
  start("a5 LOGIN {101+}\r\n", &small) ;
  ok(imapread_command(&R) == IMAPREAD_FATAL, "non-synchronizing over the literal bound: fatal") ;

  start("a6 APPEND INBOX (\\Seen) {11}\r\nhello world\r\na7 NOOP\r\n", 0) ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("a6 APPEND INBOX (\\Seen) {11*}\r\n") && gos == 1 && starts == 1 && lastsize == 11
     && msg.len == 11 && !memcmp(msg.s, "hello world", 11), "APPEND: the message streamed to the hooks") ;
  ok(imapcmd_parse(&c, R.cmd.s, R.cmd.len, &e) == 1 && c.node[imapcmd_arg(&c, 2)].type == IMAPN_STREAM && c.node[imapcmd_arg(&c, 2)].len == 11, "stands as a streamed node") ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("a7 NOOP"), "next command") ;

  start("a8 append {5}\r\nINBOX {3+}\r\nabc\r\n", 0) ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("a8 append {5}\r\nINBOX {3*}\r\n") && msg.len == 3 && gos == 1, "APPEND with the mailbox as a literal") ;

  start("a9 APPEND INBOX {1001}\r\na10 NOOP\r\n", &small) ;
  ok(imapread_command(&R) == IMAPREAD_NO && strstr(R.err, "TOOBIG") && !gos && !starts, "message over its bound: NO [TOOBIG], no continuation") ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("a10 NOOP"), "the session goes on") ;

  start("b1 APPEND INBOX {3}\r\nabc\r\n", 0) ;
  refuse = "[OVERQUOTA] over quota" ;
  ok(imapread_command(&R) == IMAPREAD_NO && !strcmp(R.err, refuse) && !gos, "a hook refuses a synchronizing message: NO, no continuation") ;

  start("b2 APPEND INBOX {3+}\r\nabc {2+}\r\nde\r\nb3 NOOP\r\n", 0) ;
  refuse = "[OVERQUOTA] over quota" ;
  ok(imapread_command(&R) == IMAPREAD_NO && !msg.len, "a hook refuses a non-synchronizing message: its bytes dropped") ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("b3 NOOP"), "the rest of the command skipped, the next read") ;

  start("b2a APPEND INBOX {20}\r\n0123456789abcdefghij {2+}\r\nde\r\nb3a NOOP\r\n", 0) ;
  datamax = 10 ;
  ok(imapread_command(&R) == IMAPREAD_NO && strstr(R.err, "OVERQUOTA") && msg.len <= 10 && gos == 1, "msgdata refuses halfway: NO") ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("b3a NOOP"), "the rest of the message and of the command skipped") ;

  start("b4 X {1+}\r\na {1+}\r\nb {1+}\r\nc {1+}\r\nd\r\nb5 NOOP\r\n", &small) ;
  ok(imapread_command(&R) == IMAPREAD_BAD && strstr(R.err, "many"), "literal count bounded") ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("b5 NOOP"), "the session goes on") ;

  {
    /* 11 + 99 bytes, a line of 156 and a literal of 99: over 300 */
    static char in[400] ;
    strcpy(in, "b6 X {99}\r\n") ;
    memset(in + strlen(in), 'y', 99) ;
    strcat(in, " ") ;
    memset(in + strlen(in), 'z', 150) ;
    strcat(in, " {99}\r\n") ;
    start(in, &small) ;
    ok(imapread_command(&R) == IMAPREAD_BAD && strstr(R.err, "long") && gos == 1, "total size bounded: %s", R.err) ;
  }
  {
    static char line[400] ;
    memset(line, 'x', 300) ;
    strcpy(line + 300, "\r\nb7 NOOP\r\n") ;
    start(line, &small) ;
    ok(imapread_command(&R) == IMAPREAD_BAD && strstr(R.err, "line"), "line length bounded") ;
    ok(imapread_command(&R) == IMAPREAD_OK && cmdis("b7 NOOP"), "the session goes on") ;
    memcpy(line, "t9 NOOP ", 8) ;
    start(line, &small) ;
    ok(imapread_command(&R) == IMAPREAD_BAD && !strcmp(R.tag, "t9"), "an overlong line's BAD is tagged") ;
  }

  M.in = "b8 NO\0OP\r\n" ; start(M.in, 0) ; M.len = 10 ;
  ok(imapread_command(&R) == IMAPREAD_BAD && strstr(R.err, "NUL"), "NUL refused") ;
  M.in = "b9 X {3}\r\na\0c\r\n" ; start(M.in, 0) ; M.len = 15 ;
  ok(imapread_command(&R) == IMAPREAD_BAD && strstr(R.err, "NUL"), "NUL in a literal refused") ;
  static char const d1[] = "d1 APPEND INBOX ~{5}\r\na\0b\0c\r\nd2 NOOP\r\n", d3[] = "d3 APPEND INBOX (\\Seen) ~{2+}\r\n\0\0\r\n" ;
  M.in = d1 ; start(M.in, 0) ; M.len = sizeof d1 - 1 ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("d1 APPEND INBOX {5*}\r\n") && gos == 1 && msg.len == 5 && !memcmp(msg.s, "a\0b\0c", 5),
     "APPEND with a literal8: streamed, NULs kept") ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("d2 NOOP"), "the session goes on") ;
  M.in = d3 ; start(M.in, 0) ; M.len = sizeof d3 - 1 ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("d3 APPEND INBOX (\\Seen) {2*}\r\n") && !gos && msg.len == 2, "a non-synchronizing literal8") ;
  start("d4 APPEND ~{5}\r\nd5 NOOP\r\n", 0) ;
  ok(imapread_command(&R) == IMAPREAD_BAD && strstr(R.err, "literal8") && !gos, "a literal8 as the mailbox name: BAD") ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("d5 NOOP"), "the session goes on") ;
  start("d6 LOGIN ~{3+}\r\nabc\r\nd7 NOOP\r\n", 0) ;
  ok(imapread_command(&R) == IMAPREAD_BAD && strstr(R.err, "literal8"), "a literal8 outside APPEND: BAD") ;
  ok(imapread_command(&R) == IMAPREAD_OK && cmdis("d7 NOOP"), "its bytes skipped") ;
  start("c1 LOGIN {10}\r\nabc", 0) ;
  ok(imapread_command(&R) == IMAPREAD_EOF, "end of input within a literal") ;
  start("c2 APPEND INBOX {10}\r\n", 0) ;
  ok(imapread_command(&R) == IMAPREAD_EOF && M.out.len == 0, "the hook sends the continuation, not the reader") ;
  imapcmd_free(&c) ;
}

static void out(char const *want, char const *name)
{
  lineio_flush(&L) ;
  ok(M.out.len == strlen(want) && !memcmp(M.out.s, want, M.out.len), "%s", name) ;
  if (M.out.len != strlen(want) || memcmp(M.out.s, want, M.out.len)) printf("#   got '%.*s'\n", (int)M.out.len, M.out.s) ;
  M.out.len = 0 ;
}

static void test_writer(void)
{
  char const *kw[] = { "$Junk", "work" } ;
  uint32_t v[] = { 7, 3, 1, 2 } ;
  start("", 0) ;
  imapw_string(&L, "plain text", 10) ; out("\"plain text\"", "quoted string") ;
  imapw_string(&L, "caf\xc3\xa9", 5) ; out("{5}\r\ncaf\xc3\xa9", "8-bit: literal") ;
  imapw_string(&L, "a\"b", 3) ; out("{3}\r\na\"b", "quote: literal") ;
  imapw_string(&L, "a\\b", 3) ; out("{3}\r\na\\b", "backslash: literal") ;
  imapw_string(&L, "a\r\nb", 4) ; out("{4}\r\na\r\nb", "CR LF: literal") ;
  imapw_string(&L, "", 0) ; out("\"\"", "empty string") ;
  imapw_nstring(&L, 0, 0) ; out("NIL", "NIL") ;
  imapw_astring(&L, "INBOX", 5) ; out("INBOX", "atom") ;
  imapw_astring(&L, "nil", 3) ; out("\"nil\"", "NIL as a string") ;
  imapw_astring(&L, "a b", 3) ; out("\"a b\"", "space: quoted") ;
  imapw_mailbox(&L, "Entw\xc3\xbcrfe", 9, 0) ; out("Entw&APw-rfe", "mailbox in modified UTF-7") ;
  imapw_mailbox(&L, "A&B C", 5, 0) ; out("\"A&-B C\"", "mailbox with & and space") ;
  imapw_mailbox(&L, "Entw\xc3\xbcrfe", 9, 1) ; out("\"Entw\xc3\xbcrfe\"", "UTF-8 mailbox (IMAP4rev2): quoted") ;
  imapw_mailbox(&L, "R&D", 3, 1) ; out("R&D", "UTF-8 mailbox: an atom when it can be") ;
  imapw_mailbox(&L, "caf\xc3\xa9\"", 6, 1) ; out("{6}\r\ncaf\xc3\xa9\"", "UTF-8 mailbox with a quote: literal") ;
  imapw_mailbox(&L, "a\x7f", 2, 1) ; out("{2}\r\na\x7f", "UTF-8 mailbox with DEL: literal") ;
  imapw_flags(&L, IMAPFLAG_SEEN | IMAPFLAG_DELETED | IMAPFLAG_RECENT, kw, 2) ; out("(\\Seen \\Deleted \\Recent $Junk work)", "flags") ;
  imapw_flags(&L, 0, 0, 0) ; out("()", "no flags") ;
  imapw_seqset(&L, v, 4) ; out("1:3,7", "sequence set") ;
  imapw_date(&L, 837596665, -420) ; out("\"17-Jul-1996 02:44:25 -0700\"", "date-time") ;
  imapw_status(&L, "a1", "OK", "READ-WRITE", "SELECT completed") ; out("a1 OK [READ-WRITE] SELECT completed\r\n", "tagged status with code") ;
  imapw_status(&L, "", "BAD", 0, "line too long") ; out("* BAD line too long\r\n", "untagged status") ;
  imapw_esearch(&L, "t1", 1, IMAPSR_MIN | IMAPSR_MAX | IMAPSR_COUNT | IMAPSR_ALL, v, 4) ; out("* ESEARCH (TAG \"t1\") UID MIN 1 MAX 7 COUNT 4 ALL 1:3,7\r\n", "ESEARCH") ;
  imapw_esearch(&L, "t2", 0, IMAPSR_MIN | IMAPSR_COUNT, v, 0) ; out("* ESEARCH (TAG \"t2\") COUNT 0\r\n", "ESEARCH, nothing matched") ;
}

int main(void)
{
  test_reader() ;
  test_writer() ;
  imapread_free(&R) ;
  stralloc_free(&msg) ;
  stralloc_free(&M.out) ;
  return done_testing() ;
}
