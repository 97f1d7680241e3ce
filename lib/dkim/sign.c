#include <string.h>
#include <strings.h>
#include <skalibs/alloc.h>
#include <skalibs/types.h>
#include "dkim/b64.h"
#include "dkim/canon.h"
#include "dkim/sig.h"
#include "dkim/sign.h"

static char const *const sign_headers[] = { DKIM_SIGN_HEADERS };
#define NSIGN (sizeof sign_headers / sizeof *sign_headers)

/* h=: each listed field as often as the message has it, From once more. */
static unsigned pick(dkim_name *h, dkim_msg const *m)
{
  unsigned nh = 0;
  for (unsigned i = 0; i < NSIGN; i++) {
    size_t len = strlen(sign_headers[i]);
    unsigned count = !i;              /* From, first: oversigned */
    for (unsigned k = 0; k < m->n; k++) count += hdr_is(m->f + k, sign_headers[i]);
    for (; count && nh < DKIM_MAXH; count--) h[nh++] = (dkim_name){ sign_headers[i], len };
  }
  return nh;
}

/* The field up to "b=" (empty), h= folded at about 72 columns. */
static int build(stralloc *sa, dkim_signer const *s, dkim_name const *h, unsigned nh,
                 unsigned char const bh[32], char const *eol)
{
  char num[UINT64_FMT], b64[DKIM_B64_LEN(32)];
  size_t col;
  if (!stralloc_cats(sa, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=")
   || !stralloc_cats(sa, s->domain) || !stralloc_cats(sa, "; s=")
   || !stralloc_cats(sa, s->selector) || !stralloc_cats(sa, ";")) return 0;
  if (s->t && (!stralloc_cats(sa, eol) || !stralloc_cats(sa, "\tt=")
   || !stralloc_catb(sa, num, uint64_fmt(num, s->t)) || !stralloc_cats(sa, ";"))) return 0;
  if (!stralloc_cats(sa, eol) || !stralloc_cats(sa, "\th=")) return 0;
  col = 11;
  for (unsigned i = 0; i < nh; i++) {
    if (col + h[i].len > 72) {
      if (!stralloc_cats(sa, eol) || !stralloc_cats(sa, "\t ")) return 0;
      col = 9;
    }
    if (!stralloc_catb(sa, h[i].s, h[i].len) || !stralloc_cats(sa, i + 1 < nh ? ":" : ";")) return 0;
    col += h[i].len + 1;
  }
  return stralloc_cats(sa, eol) && stralloc_cats(sa, "\tbh=")
      && stralloc_catb(sa, b64, dkim_b64_encode(b64, bh, 32))
      && stralloc_cats(sa, ";") && stralloc_cats(sa, eol) && stralloc_cats(sa, "\tb=");
}

static int append_b(stralloc *sa, unsigned char const *sig, size_t n, char const *eol)
{
  char b64[DKIM_B64_LEN(DKIM_SIGMAX)];
  size_t len = dkim_b64_encode(b64, sig, n);
  for (size_t i = 0; i < len; i += 64) {
    if (i && (!stralloc_cats(sa, eol) || !stralloc_cats(sa, "\t "))) return 0;
    if (!stralloc_catb(sa, b64 + i, len - i < 64 ? len - i : 64)) return 0;
  }
  return stralloc_cats(sa, eol);
}

static int fail(char const **why, char const *s) { *why = s; return 0; }

static int sign_split(stralloc *out, dkim_signer const *s, dkim_msg const *m, char const *eol,
                      char const **why)
{
  dkim_name h[DKIM_MAXH];
  unsigned nh = pick(h, m);
  unsigned char bh[32], hh[32], sig[DKIM_SIGMAX];
  size_t start = out->len, pos, siglen = (s->sk->n_bitlen + 7) / 8, cut[2];
  uint64_t total;
  hdr_field f;
  br_sha256_context c;
  if (siglen > sizeof sig || siglen < 128) return fail(why, "RSA key size not supported");
  br_sha256_init(&c);
  dkim_canon_body(&c, 1, m->body, m->bodylen, UINT64_MAX, &total);
  br_sha256_out(&c, bh);
  if (!build(out, s, h, nh, bh, eol)) return fail(why, "out of memory");
  pos = 0;
  if (!hdr_next(out->s + start, out->len - start, &pos, &f)) return fail(why, "internal error");
  cut[0] = cut[1] = f.valuelen;
  if (!dkim_header_hash(hh, m, 1, h, nh, &f, cut)) return fail(why, "out of memory");
  if (!br_rsa_pkcs1_sign_get_default()(BR_HASH_OID_SHA256, hh, 32, s->sk, sig))
    return fail(why, "RSA signing failed");
  if (!append_b(out, sig, siglen, eol)) return fail(why, "out of memory");
  return 1;
}

int dkim_sign(stralloc *out, dkim_signer const *s, char const *msg, size_t len, char const **why)
{
  dkim_msg *m;
  size_t eol = 0;
  int r;
  if (!dkim_name_ok(s->domain, strlen(s->domain), DKIM_MAXDOMAIN)
   || !dkim_name_ok(s->selector, strlen(s->selector), DKIM_MAXSELECTOR))
    return fail(why, "bad domain or selector");
  while (eol < len && msg[eol] != '\n') eol++;
  m = alloc(sizeof *m);
  if (!m) return fail(why, "out of memory");
  r = dkim_msg_split(m, msg, len, why)
   && sign_split(out, s, m, eol && eol < len && msg[eol - 1] == '\r' ? "\r\n" : "\n", why);
  alloc_free(m);
  return r;
}
