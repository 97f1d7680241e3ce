/* lib/mime: the part tree, BODYSTRUCTURE, ENVELOPE, BODY[section],
   RFC 2047 and the text extractor, on fixtures of real-world shapes,
   checked against RFC 3501 7.4.2 and 6.4.5.
   With arguments it is the tool t/84-mime.t runs:
     mime -x bodystructure|body|envelope FILE
     mime -s SECTION [FROM N] FILE     (the section's CRLF bytes)
     mime -t FILE                      (the text extractor's output)
     mime -w TEXT                      (RFC 2047 decoding) */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "tap.h"
#include "mime/mime.h"
#include "mime/mimebin.h"
#include "mime/mimebs.h"
#include "mime/mimeenv.h"
#include "mime/mimesect.h"
#include "mime/mimeparam.h"
#include "mime/mimetext.h"
#include "mime/mimeword.h"

static int tool(int argc, char **argv)
{
  mime_msg m = MIME_MSG_ZERO;
  stralloc sa = STRALLOC_ZERO, gen = STRALLOC_ZERO;
  char const *file = argv[argc - 1];
  int fd = open(file, O_RDONLY);
  if (fd < 0 || !mime_map(&m, fd)) { perror(file); return 111; }
  close(fd);
  if (!strcmp(argv[1], "-x")) {
    int ok = !strcmp(argv[2], "envelope") ? mime_envelope(&sa, &m, 0)
           : mime_bodystructure(&sa, &m, 0, !strcmp(argv[2], "bodystructure"));
    if (!ok) return 111;
  } else if (!strcmp(argv[1], "-s")) {
    mime_sect r;
    int k = mime_section(&m, argv[2], strlen(argv[2]), &r, &gen);
    if (k <= 0) { printf("%s\n", k ? "BAD" : "NONE"); mime_free(&m); stralloc_free(&gen); return 1; }
    uint64_t from = argc > 5 ? strtoull(argv[3], 0, 10) : 0, n = argc > 5 ? strtoull(argv[4], 0, 10) : r.size;
    if (!mime_section_cat(&sa, &m, &r, &gen, from, n)) return 111;
  } else return 100;
  fwrite(sa.s, 1, sa.len, stdout);
  mime_free(&m);
  stralloc_free(&sa); stralloc_free(&gen);
  return 0;
}


/* a fixture with LF line ends (as a Maildir holds it) */
static mime_msg m;
static stralloc out;
static void load(char const *s) { mime_free(&m); ok(mime_parse(&m, s, strlen(s)), "parse"); }
static char const *bs(int ext) { out.len = 0; mime_bodystructure(&out, &m, 0, ext); stralloc_0(&out); return out.s; }
static char const *env(uint32_t i) { out.len = 0; mime_envelope(&out, &m, i); stralloc_0(&out); return out.s; }
static char const *sect(char const *spec, uint64_t from, uint64_t n)
{
  static stralloc gen;
  mime_sect r;
  gen.len = 0; out.len = 0;
  int k = mime_section(&m, spec, strlen(spec), &r, &gen);
  if (k <= 0) return k ? "BAD" : "NONE";
  mime_section_cat(&out, &m, &r, &gen, from, n);
  stralloc_0(&out);
  return out.s;
}
static char const *words(char const *s) { out.len = 0; mime_words(&out, s, strlen(s)); stralloc_0(&out); return out.s; }

static char const alt[] =
  "From: Kate <kate@example.org>\n"
  "Subject: hi\n"
  "Content-Type: multipart/alternative;\n boundary=\"=_b1\"\n"
  "\n"
  "This is a multi-part message.\n"
  "--=_b1\n"
  "Content-Type: text/plain; charset=\"utf-8\"\n"
  "Content-Transfer-Encoding: 8bit\n"
  "\n"
  "caf\xc3\xa9\n"
  "line 2\n"
  "\n"
  "--=_b1  \n"               /* transport padding */
  "Content-Type: text/html; charset=utf-8\n"
  "Content-Transfer-Encoding: quoted-printable\n"
  "Content-ID: <h@x>\n"
  "Content-Description: the HTML\n"
  "Content-Language: en, fr\n"
  "Content-Location: http://x/y\n"
  "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
  "\n"
  "<p>caf=C3=A9</p>\n"
  "--=_b1--\n"
  "epilogue\n";

static void t_alternative(void)
{
  load(alt);
  ok(m.n == 3 && m.p[0].kind == MIME_MULTI && m.p[0].nchild == 2, "three parts");
  /* text/plain body "café\nline 2\n": 14 bytes LF, 16 CRLF, 3 lines
     (the LF before the delimiter belongs to it) */
  is_str(bs(1),
    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 15 2 NIL NIL NIL NIL)"
    "(\"text\" \"html\" (\"charset\" \"utf-8\") \"<h@x>\" \"the HTML\" \"quoted-printable\" 16 1"
    " \"Q2hlY2sgSW50ZWdyaXR5IQ==\" NIL (\"en\" \"fr\") \"http://x/y\")"
    " \"alternative\" (\"boundary\" \"=_b1\") NIL NIL NIL)", "BODYSTRUCTURE of multipart/alternative");
  is_str(bs(0),
    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 15 2)"
    "(\"text\" \"html\" (\"charset\" \"utf-8\") \"<h@x>\" \"the HTML\" \"quoted-printable\" 16 1) \"alternative\")",
    "BODY: no extension data");
  is_str(sect("1", 0, 100), "caf\xc3\xa9\r\nline 2\r\n", "BODY[1] in CRLF form");
  is_str(sect("1", 3, 4), "\xc3\xa9\r\n", "BODY[1]<3.4>: offsets on the CRLF form");
  is_str(sect("1", 6, 1), "\n", "BODY[1]<6.1>: the LF of an added CRLF");
  is_str(sect("1", 100, 5), "", "partial beyond the end: empty");
  is_str(sect("2.MIME", 0, 1000) + 0, "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
         "Content-ID: <h@x>\r\nContent-Description: the HTML\r\nContent-Language: en, fr\r\n"
         "Content-Location: http://x/y\r\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\r\n", "2.MIME with its empty line");
  is_str(sect("HEADER.FIELDS (SUBJECT \"from\")", 0, 1000), "From: Kate <kate@example.org>\r\nSubject: hi\r\n\r\n",
         "HEADER.FIELDS: message order, case-insensitive, quoted names");
  is_str(sect("header.fields.not (from Content-Type)", 0, 1000), "Subject: hi\r\n\r\n",
         "HEADER.FIELDS.NOT drops a folded field whole");
  is_str(sect("TEXT", 0, 30), "This is a multi-part message.\r", "TEXT starts with the preamble");
  is_str(sect("3", 0, 10), "NONE", "no part 3");
  is_str(sect("1.1", 0, 10), "NONE", "a text part has no part 1");
  is_str(sect("1.HEADER", 0, 10), "NONE", "HEADER of a non-message part: none");
  is_str(sect("0", 0, 10), "BAD", "part 0: syntax");
  is_str(sect("1.", 0, 10), "BAD", "trailing dot: syntax");
  is_str(sect("MIME", 0, 10), "BAD", "MIME without a part: syntax");
  is_str(sect("HEADER.FIELDS ()", 0, 10), "BAD", "empty field list: syntax");
  is_str(sect("HEADER.FIELDS (a", 0, 10), "BAD", "unclosed list: syntax");
  is_str(sect("99999999999.1", 0, 10), "BAD", "part number over 32 bits");
  {
    char deep[600] = "1";
    for (int i = 1; i < 200; i++) strcat(deep, ".1");
    is_str(sect(deep, 0, 10), "BAD", "200 part numbers: over MIMESECT_NUMS");
    deep[2 * 60 - 1] = 0;
    is_str(sect(deep, 0, 10), "NONE", "60 part numbers: no such part");
  }
  mime_sect r;
  stralloc gen = STRALLOC_ZERO;
  ok(mime_section(&m, "", 0, &r, &gen) == 1 && r.size == strlen(alt) + 25 && r.off == 0, "BODY[]: the message, %llu CRLF octets", (unsigned long long)r.size);
  stralloc_free(&gen);
}

static char const mixed[] =
  "From: \"Kate Q. User\" <kate@example.org>, bob@example.com (Bob B)\n"
  "To: undisclosed-recipients:;\n"
  "Cc: Team: a@x.org, \"b c\" <b@y.org>;, <@r1,@r2:c@z.org>\n"
  "Reply-To:\n"
  "Subject: =?UTF-8?B?w6nDqQ==?=\n test\n"
  "Date: Sun, 6 Dec 2026 10:00:00 +0000\n"
  "Message-ID: <1@x>\n"
  "In-Reply-To: <0@x>\n"
  "MIME-Version: 1.0\n"
  "Content-Type: multipart/mixed; boundary=\"outer\"\n"
  "\n"
  "--outer\n"
  "Content-Type: multipart/alternative; boundary=inner\n"
  "\n"
  "--inner\n"
  "Content-Type: text/plain; charset=utf-8\n"
  "\n"
  "hello\n"
  "--inner\n"
  "Content-Type: text/html\n"
  "\n"
  "<p>hello</p>\n"
  "--inner--\n"
  "--outer\n"
  "Content-Type: application/pdf; name*0*=utf-8''%E2%82%AC; name*1=\" 1.pdf\"\n"
  "Content-Disposition: attachment; filename=\"a b.pdf\"; size=3\n"
  "Content-Transfer-Encoding: base64\n"
  "\n"
  "QUJD\n"
  "--outer\n"
  "Content-Type: message/rfc822\n"
  "\n"
  "From: x@y\n"
  "Subject: inner\n"
  "Content-Type: multipart/mixed; boundary=in2\n"
  "\n"
  "--in2\n"
  "\n"
  "default type\n"
  "--in2\n"
  "Content-Type: image/png\n"
  "Content-Transfer-Encoding: base64\n"
  "\n"
  "iVBORw0K\n"
  "--in2--\n"
  "\n"
  "--outer--\n";

static void t_mixed(void)
{
  load(mixed);
  ok(m.n == 9, "9 parts: root, alternative and its 2, pdf, rfc822, its message and its 2; got %u", m.n);
  is_str(env(0),
    "(\"Sun, 6 Dec 2026 10:00:00 +0000\" \"=?UTF-8?B?w6nDqQ==?= test\""
    " ((\"Kate Q. User\" NIL \"kate\" \"example.org\")(\"Bob B\" NIL \"bob\" \"example.com\"))"
    " ((\"Kate Q. User\" NIL \"kate\" \"example.org\")(\"Bob B\" NIL \"bob\" \"example.com\"))"
    " ((\"Kate Q. User\" NIL \"kate\" \"example.org\")(\"Bob B\" NIL \"bob\" \"example.com\"))"
    " ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL))"
    " ((NIL NIL \"Team\" NIL)(NIL NIL \"a\" \"x.org\")(\"b c\" NIL \"b\" \"y.org\")(NIL NIL NIL NIL)(NIL \"@r1,@r2\" \"c\" \"z.org\"))"
    " NIL \"<0@x>\" \"<1@x>\")",
    "ENVELOPE: raw unfolded subject, sender and empty reply-to from From, groups, a route, NIL bcc");
  is_str(bs(1),
    "(((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7BIT\" 5 1 NIL NIL NIL NIL)"
    "(\"text\" \"html\" NIL NIL NIL \"7BIT\" 12 1 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"inner\") NIL NIL NIL)"
    "(\"application\" \"pdf\" (\"name*\" \"utf-8''%E2%82%AC%201.pdf\") NIL NIL \"base64\" 4 NIL"
    " (\"attachment\" (\"filename\" \"a b.pdf\" \"size\" \"3\")) NIL NIL)"
    "(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 185"
    " (NIL \"inner\" ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) NIL NIL NIL NIL NIL)"
    " ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 12 1 NIL NIL NIL NIL)"
    "(\"image\" \"png\" NIL NIL NIL \"base64\" 8 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"in2\") NIL NIL NIL)"
    " 13 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)",
    "BODYSTRUCTURE: nested multiparts, RFC 2231 name*, disposition, message/rfc822 with its own structure");
  is_str(sect("3.HEADER", 0, 1000), "From: x@y\r\nSubject: inner\r\nContent-Type: multipart/mixed; boundary=in2\r\n\r\n", "3.HEADER: the embedded message's header");
  is_str(sect("3.1", 0, 1000), "default type", "3.1: the embedded message's first part");
  is_str(sect("3.2.MIME", 0, 1000), "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n", "3.2.MIME");
  is_str(sect("3.1.MIME", 0, 1000), "\r\n", "an empty MIME header is its empty line");
  is_str(sect("3.HEADER.FIELDS (subject)", 0, 1000), "Subject: inner\r\n\r\n", "3.HEADER.FIELDS");
  is_str(sect("3.TEXT", 0, 7), "--in2\r\n", "3.TEXT");
  is_str(sect("3.MIME", 0, 1000), "Content-Type: message/rfc822\r\n\r\n", "3.MIME: the part's own header");
  is_str(sect("1.1.HEADER", 0, 10), "NONE", "HEADER of a text part");
  is_str(sect("2", 0, 10), "QUJD", "2: the encoded body as is");
  out.len = 0;
  mime_text(&out, &m, 0, 1000);
  stralloc_0(&out);
  is_str(out.s, "hello\n<p>hello</p>\ndefault type\n", "text extractor: the text parts");
}

static void t_defaults(void)
{
  load("no header at all, just text\n");
  is_str(bs(1), "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)", "no empty line: all header, empty body");
  load("\nbody only\n");
  is_str(bs(1), "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 11 1 NIL NIL NIL NIL)", "default type text/plain us-ascii");
  is_str(env(0), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)", "ENVELOPE of a message without fields: all NIL");
  is_str(sect("1", 0, 100), "body only\r\n", "1 of a non-multipart message: its body");
  is_str(sect("1.MIME", 0, 100), "\r\n", "1.MIME of a non-multipart message: its header");
  is_str(sect("HEADER", 0, 100), "\r\n", "HEADER: the empty line only");
  load("");
  is_str(bs(1), "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)", "empty message");
  is_str(sect("", 0, 100), "", "BODY[] of an empty message");
  load("Content-Type: text\n\nx");
  is_str(bs(0), "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 1 1)", "an invalid Content-Type counts as absent");
  load("Content-Type: multipart/mixed\n\n--x\n\nbody\n");
  is_str(bs(0), "(\"application\" \"octet-stream\" NIL NIL NIL \"7BIT\" 13)", "multipart without boundary: opaque");
  load("Content-Type: multipart/mixed; boundary=x\n\nno delimiter at all\n");
  is_str(bs(0), "(\"application\" \"octet-stream\" NIL NIL NIL \"7BIT\" 21)", "multipart without parts: opaque");
  load("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nRnJvbTogeEB5Cg==\n");
  is_str(bs(0), "(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 18)", "base64 message/rfc822: opaque");
  load("Subject: 8bit caf\xc3\xa9\nFrom: =?iso-8859-1?q?J=F6rg?= <j@x>\n\n");
  is_str(env(0), "(NIL {10}\r\n8bit caf\xc3\xa9 ((\"=?iso-8859-1?q?J=F6rg?=\" NIL \"j\" \"x\")) ((\"=?iso-8859-1?q?J=F6rg?=\" NIL \"j\" \"x\"))"
         " ((\"=?iso-8859-1?q?J=F6rg?=\" NIL \"j\" \"x\")) NIL NIL NIL NIL NIL)", "8-bit subject as a literal, encoded words raw");
  load("To: : a@b, c@d\n\n");
  is_str(env(0), "(NIL NIL NIL NIL NIL ((NIL NIL \"\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")(NIL NIL NIL NIL)) NIL NIL NIL NIL)",
         "a group without a name starts with \"\", and an unclosed group is closed");
  load("From: root\nTo: \"a \\\"q\\\" b\" <\"x y\"@z>\n\n");
  is_str(env(0), "(NIL NIL ((NIL NIL \"root\" \"MISSING_DOMAIN\")) ((NIL NIL \"root\" \"MISSING_DOMAIN\"))"
         " ((NIL NIL \"root\" \"MISSING_DOMAIN\")) ((\"a \\\"q\\\" b\" NIL \"\\\"x y\\\"\" \"z\")) NIL NIL NIL NIL)",
         "a bare local part; quoted name unquoted and re-quoted; quoted local part kept");
}

static char const digest[] =
  "Content-Type: multipart/digest; boundary=d\n\n"
  "--d\n\nFrom: a@b\nSubject: one\n\n1\n"
  "--d\nContent-Type: text/plain\n\n2\n"
  "--d--\n";

static void t_digest_and_missing_close(void)
{
  load(digest);
  is_str(bs(0),
    "((\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 28 (NIL \"one\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)"
    " (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 1 1) 4)"
    "(\"text\" \"plain\" NIL NIL NIL \"7BIT\" 1 1) \"digest\")", "multipart/digest: message/rfc822 by default");
  load("Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=b\n\n"
       "--b\n\ninner one\n--b\n\ninner two\n--a\n\nouter two\n");
  is_str(bs(0), "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 9 1)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 9 1) \"mixed\")"
         "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 11 1) \"mixed\")",
         "no close delimiters: an outer delimiter ends the inner multipart; the end ends the outer");
  is_str(sect("1.2", 0, 100), "inner two", "1.2 ends before the outer delimiter");
  is_str(sect("2", 0, 100), "outer two\r\n", "the last part runs to the end");
  load("Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\none\n--bb\n--b \t\n\ntwo\n--b--junk\n--b--\n");
  is_str(bs(0), "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 9 2)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 14 2) \"mixed\")",
         "a longer boundary and junk after the close are content; padding after a delimiter is not");
}

static void t_header_meets_delimiter(void)
{
  /* found by t/fuzz/mime: a part's header ended by the delimiter, or by
     an empty line that is also the delimiter's line break */
  load("Content-Type: multipart/mixed; boundary=d\n\n--d\nX: y\n\n--d\nX: z\n--d--\n");
  is_str(bs(0), "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0) \"mixed\")",
         "two empty bodies");
  is_str(sect("1.MIME", 0, 100), "X: y\r\n", "the empty line went to the delimiter");
  is_str(sect("2.MIME", 0, 100), "X: z", "a header cut by the delimiter");
  int good = 1;
  for (uint32_t i = 1; i < m.n; i++)
    good &= m.p[i].hdr >= m.p[m.p[i].parent].body && m.p[i].end <= m.p[m.p[i].parent].end && m.p[i].body <= m.p[i].end;
  ok(good, "parts inside their parents");
}

static void t_crlf(void)
{
  stralloc crlf = STRALLOC_ZERO, a = STRALLOC_ZERO;
  for (char const *p = mixed; *p; p++) {
    if (*p == '\n') stralloc_catb(&crlf, "\r", 1);
    stralloc_catb(&crlf, p, 1);
  }
  load(mixed);
  bs(1);
  stralloc_copyb(&a, out.s, out.len);
  mime_free(&m);
  ok(mime_parse(&m, crlf.s, crlf.len), "parse a CRLF file");
  is_str(bs(1), a.s, "CRLF-stored and LF-stored: the same BODYSTRUCTURE");
  is_str(sect("3.HEADER", 0, 1000), "From: x@y\r\nSubject: inner\r\nContent-Type: multipart/mixed; boundary=in2\r\n\r\n", "CRLF: section as is");
  mime_sect r;
  stralloc gen = STRALLOC_ZERO;
  ok(mime_section(&m, "", 0, &r, &gen) == 1 && r.size == crlf.len, "CRLF: size is the file's size");
  /* every partial of a mixed-line-end text equals the slice of its CRLF form */
  static char const mixedends[] = "a\nb\r\nc\r\r\n\n\nd\re\n";
  static char const want[] = "a\r\nb\r\nc\r\r\n\r\n\r\nd\re\r\n";
  mime_free(&m);
  mime_parse(&m, mixedends, strlen(mixedends));
  ok(mime_crlfsize(&m, 0, m.len) == strlen(want), "mime_crlfsize counts bare LFs");
  int good = 1;
  for (size_t from = 0; from <= strlen(want); from++)
    for (size_t n = 0; from + n <= strlen(want) + 2; n++) {
      mime_sect whole = { 0, m.len, 0, strlen(want) };
      out.len = 0;
      mime_section_cat(&out, &m, &whole, &gen, from, n);
      size_t exp = from + n > strlen(want) ? strlen(want) - from : n;
      if (out.len != exp || memcmp(out.s, want + from, exp)) good = 0;
    }
  ok(good, "every <from.n> of the CRLF form");
  stralloc_free(&crlf); stralloc_free(&a); stralloc_free(&gen);
}

static void t_bounds(void)
{
  stralloc s = STRALLOC_ZERO;
  for (int i = 0; i < 80; i++) {
    char b[100];
    sprintf(b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
    stralloc_cats(&s, b);
  }
  stralloc_cats(&s, "\ndeep\n");
  mime_free(&m);
  ok(mime_parse(&m, s.s, s.len), "80 nested multiparts parse");
  unsigned int maxd = 0, opaque = 0;
  for (uint32_t i = 0; i < m.n; i++) { if (m.p[i].depth > maxd) maxd = m.p[i].depth; opaque += !!(m.p[i].flags & MIME_OPAQUE); }
  ok(maxd == MIME_DEPTH_MAX && opaque == 1, "depth stops at MIME_DEPTH_MAX (%u), the rest opaque", maxd);
  bs(1);
  ok(out.len > 0, "its BODYSTRUCTURE is written");
  s.len = 0;
  stralloc_cats(&s, "Content-Type: multipart/mixed; boundary=x\n\n");
  for (int i = 0; i < 12000; i++) stralloc_cats(&s, "--x\n\np\n");
  mime_free(&m);
  ok(mime_parse(&m, s.s, s.len) && m.n == MIME_PARTS_MAX && m.p[0].nchild == MIME_PARTS_MAX - 1, "12000 parts: MIME_PARTS_MAX kept");
  ok(m.p[m.n - 1].end <= s.len && m.p[0].end == s.len, "ranges stay inside the message");
  s.len = 0;
  stralloc_cats(&s, "Content-Type: multipart/mixed; boundary=");
  for (int i = 0; i < 300; i++) stralloc_cats(&s, "a");
  stralloc_cats(&s, "\n\n--aaa\n\n");
  mime_free(&m);
  ok(mime_parse(&m, s.s, s.len) && (m.p[0].flags & MIME_OPAQUE), "a boundary over MIME_BOUNDARY_MAX: opaque");
  stralloc_free(&s);
}

static void t_params(void)
{
  stralloc sa = STRALLOC_ZERO;
  char const *ct = "; title*2=\"c\"; title*0*=us-ascii'en'a%20; Title*1=b;\n\tcharset = \"x\\\"y\" (comment); bad; name=a b.txt";
  int n = mimeparam_list(&sa, ct, strlen(ct), 0);
  ok(n == 3 && sa.len == 51 && !memcmp(sa.s, "title*\0us-ascii'en'a%20bc\0charset\0x\"y\0name\0a b.txt\0", 51),
     "mimeparam_list: RFC 2231 joined in order, quoted-pair, comment, junk skipped, lenient value");
  sa.len = 0;
  ok(mimeparam_get(&sa, ct, strlen(ct), 0, "title") == 1 && sa.len == 4 && !memcmp(sa.s, "a bc", 4), "mimeparam_get decodes %%XX");
  sa.len = 0;
  ok(mimeparam_get(&sa, ct, strlen(ct), 0, "nope") == 0, "absent parameter");
  stralloc_free(&sa);
}

static void t_words(void)
{
  is_str(words("=?UTF-8?B?w6nDqQ==?= test"), "\xc3\xa9\xc3\xa9 test", "B, UTF-8");
  is_str(words("=?iso-8859-1?Q?J=F6rg_M?= =?ISO-8859-1?q?=FCller?=\n x"), "J\xc3\xb6rg M\xc3\xbcller x", "Q, Latin-1, blanks between words dropped, fold removed");
  is_str(words("=?iso-8859-15?q?=A4?= =?windows-1252?q?=80=96?="), "\xe2\x82\xac\xe2\x82\xac\xe2\x80\x93", "Latin-9 and Windows-1252 euro, en dash");
  is_str(words("=?us-ascii*en?q?plain?="), "plain", "RFC 2231 language suffix");
  is_str(words("=?koi8-r?b?8fT3?= x"), "=?koi8-r?b?8fT3?= x", "unknown charset left as is");
  is_str(words("a=?utf-8?q?x?=b =?utf-8?q?bad"), "a=?utf-8?q?x?=b =?utf-8?q?bad", "not a word inside an atom; unterminated");
  is_str(words("=?utf-8?q?a?=  b"), "a  b", "blanks before text kept");
  is_str(words("=?UTF-8?Q?=E2=82=AC?=\t=?UTF-8?B?4oKs?="), "\xe2\x82\xac\xe2\x82\xac", "adjacent B and Q");
}

static void t_text(void)
{
  load("Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain; charset=iso-8859-1\n"
       "Content-Transfer-Encoding: quoted-printable\n\nJ=F6rg =\nsoft=3D\n--z\nContent-Type: text/plain; charset=utf-8\n"
       "Content-Transfer-Encoding: base64\n\nw6lsw6k=\n--z\nContent-Type: image/gif\n\nGIF89a\n--z--\n");
  out.len = 0;
  ok(mime_text(&out, &m, 0, 1000) && out.len == 18 && !memcmp(out.s, "J\xc3\xb6rg soft=\n\xc3\xa9l\xc3\xa9\n", 18), "QP Latin-1 and base64 UTF-8 decoded, image left out");
  out.len = 0;
  ok(mime_text(&out, &m, 0, 5) && out.len == 5, "the text is bounded");
}

/* BINARY: encodings of parts and their decoding from the CRLF form */
static void t_binary(void)
{
  uint32_t one = 1, nums[2] = { 2, 0 };
  long part;
  load("Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Transfer-Encoding: Quoted-Printable (c)\n\n"
       "a=3D=\nb \nc=00\n--z\nContent-Transfer-Encoding: base64\n\nAAEC\n/w==\n--z\nContent-Transfer-Encoding: 8BIT\n\n\xe9\n"
       "--z\nContent-Transfer-Encoding: x-gzip\n\nzz\n--z\nContent-Transfer-Encoding:\n\nempty\n--z--\n");
  ok(mime_binary_part(&m, 0, 0, &part) == MIMEBIN_IDENT && part < 0, "no numbers: the whole message as it is");
  ok(mime_binary_part(&m, &one, 1, &part) == MIMEBIN_QP && part == 1, "quoted-printable, any case, a comment after it");
  out.len = 0;
  ok(mime_binary_decode(&out, &m, part, MIMEBIN_QP) && out.len == 8 && !memcmp(out.s, "a=b \r\nc\0", 8), "QP: soft break gone, hard break CRLF, =00 a NUL");
  ok(mime_binary_part(&m, nums, 1, &part) == MIMEBIN_BASE64 && part == 2, "base64");
  out.len = 0;
  ok(mime_binary_decode(&out, &m, part, MIMEBIN_BASE64) && out.len == 4 && !memcmp(out.s, "\0\1\2\xff", 4), "base64 across lines, padding");
  nums[0] = 3;
  ok(mime_binary_part(&m, nums, 1, &part) == MIMEBIN_IDENT, "8bit: identity");
  nums[0] = 4;
  ok(mime_binary_part(&m, nums, 1, &part) == MIMEBIN_UNKNOWN, "x-gzip: unknown");
  nums[0] = 5;
  ok(mime_binary_part(&m, nums, 1, &part) == MIMEBIN_IDENT, "an empty value: the default");
  nums[0] = 6;
  ok(mime_binary_part(&m, nums, 1, &part) == -1, "no such part");
  nums[0] = 1; nums[1] = 1;
  ok(mime_binary_part(&m, nums, 2, &part) == -1, "no part 1.1 of a leaf");
  load("Content-Transfer-Encoding: base64\n\naGk=\n");
  ok(mime_binary_part(&m, &one, 1, &part) == MIMEBIN_BASE64 && part == 0, "1 of a single-part message: its body");
}

int main(int argc, char **argv)
{
  if (argc > 2) return tool(argc, argv);
  t_alternative();
  t_mixed();
  t_defaults();
  t_digest_and_missing_close();
  t_header_meets_delimiter();
  t_crlf();
  t_bounds();
  t_params();
  t_words();
  t_text();
  t_binary();
  mime_free(&m);
  stralloc_free(&out);
  return done_testing();
}
