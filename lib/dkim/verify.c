#include <stdio.h>
#include <string.h>
#include <skalibs/alloc.h>
#include <bearssl.h>
#include "dkim/canon.h"
#include "dkim/key.h"
#include "dkim/verify.h"

static int set(dkim_result *r, int result, char const *why)
{
  r->result = result;
  snprintf(r->why, sizeof r->why, "%s", why);
  return result;
}

/* The key record for sg: exactly one TXT record that parses. */
static int get_key(dkim_result *r, dkim_key *k, dkim_sig const *sg, dkim_txt_fn *txt, void *ctx)
{
  char name[DKIM_MAXSELECTOR + DKIM_MAXDOMAIN + 16];
  char const *why;
  stralloc sa = STRALLOC_ZERO;
  int n, ret;
  snprintf(name, sizeof name, "%s._domainkey.%s", sg->selector, sg->domain);
  n = txt(ctx, name, &sa);
  if (n < 0) ret = set(r, DKIM_TEMPERROR, "key lookup failed temporarily");
  else if (!n || !sa.len) ret = set(r, DKIM_PERMERROR, "no key record");
  else if (strlen(sa.s) + 1 != sa.len) ret = set(r, DKIM_PERMERROR, "several key records");
  else if (!dkim_key_parse(k, sa.s, sa.len - 1, &why)) ret = set(r, DKIM_PERMERROR, why);
  else ret = DKIM_PASS;
  stralloc_free(&sa);
  return ret;
}

static int check(dkim_result *r, dkim_msg const *m, hdr_field const *f, uint64_t now,
                 dkim_txt_fn *txt, void *ctx, dkim_key *k)
{
  dkim_sig sg;
  char const *why;
  unsigned char hh[32], bh[32], got[32];
  uint64_t total;
  br_sha256_context c;
  if (!dkim_sig_parse(&sg, f->value, f->valuelen, &why)) return set(r, DKIM_PERMERROR, why);
  memcpy(r->domain, sg.domain, sizeof r->domain);
  memcpy(r->selector, sg.selector, sizeof r->selector);
  if (sg.x && sg.x < now) return set(r, DKIM_PERMERROR, "signature expired");
  br_sha256_init(&c);
  dkim_canon_body(&c, sg.brelaxed, m->body, m->bodylen, sg.l, &total);
  br_sha256_out(&c, bh);
  if (sg.l != UINT64_MAX && sg.l > total) return set(r, DKIM_PERMERROR, "l= longer than the body");
  if (memcmp(bh, sg.bh, 32)) return set(r, DKIM_FAIL, "body hash mismatch");
  if (get_key(r, k, &sg, txt, ctx) != DKIM_PASS) return r->result;
  if (!dkim_header_hash(hh, m, sg.hrelaxed, sg.h, sg.nh, f, sg.bcut))
    return set(r, DKIM_TEMPERROR, "out of memory");
  if (sg.blen != k->pk.nlen
      || !br_rsa_pkcs1_vrfy_get_default()(sg.b, sg.blen, BR_HASH_OID_SHA256, 32, &k->pk, got)
      || memcmp(got, hh, 32))
    return set(r, DKIM_FAIL, "signature did not verify");
  return set(r, DKIM_PASS, "");
}

unsigned dkim_verify(dkim_result *r, char const *msg, size_t len, uint64_t now,
                     dkim_txt_fn *txt, void *ctx)
{
  dkim_msg *m = alloc(sizeof *m);
  dkim_key *k = alloc(sizeof *k);
  char const *why;
  unsigned n = 0;
  memset(r, 0, sizeof *r);
  if (!m || !k) { set(r, DKIM_TEMPERROR, "out of memory"); n = 1; goto end; }
  if (!dkim_msg_split(m, msg, len, &why)) { set(r, DKIM_PERMERROR, why); n = 1; goto end; }
  for (unsigned i = 0; i < m->n && n < DKIM_MAXSIGS; i++) {
    if (!hdr_is(m->f + i, "DKIM-Signature")) continue;
    memset(r + n, 0, sizeof *r);
    check(r + n, m, m->f + i, now, txt, ctx, k);
    n++;
  }
end:
  alloc_free(m);
  if (k) explicit_bzero(k, sizeof *k);
  alloc_free(k);
  return n;
}

char const *dkim_result_name(int result)
{
  static char const *const name[] = { "none", "pass", "fail", "policy", "neutral", "temperror", "permerror" };
  return result >= 0 && result <= DKIM_PERMERROR ? name[result] : "permerror";
}

int authres_comment_fmt(stralloc *sa, char const *why)
{
  if (!why[0]) return 1;
  if (!stralloc_cats(sa, " (")) return 0;
  for (char const *p = why; *p; p++) {
    char c = *p >= 32 && *p < 127 && *p != '(' && *p != ')' && *p != '\\' ? *p : '?';
    if (!stralloc_catb(sa, &c, 1)) return 0;
  }
  return stralloc_cats(sa, ")");
}

int dkim_result_fmt(stralloc *sa, dkim_result const *r)
{
  if (!stralloc_cats(sa, "dkim=") || !stralloc_cats(sa, dkim_result_name(r->result))) return 0;
  if (!authres_comment_fmt(sa, r->why)) return 0;
  if (r->domain[0] && (!stralloc_cats(sa, " header.d=") || !stralloc_cats(sa, r->domain))) return 0;
  if (r->selector[0] && (!stralloc_cats(sa, " header.s=") || !stralloc_cats(sa, r->selector))) return 0;
  return 1;
}
