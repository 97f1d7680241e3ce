#include <string.h>
#include <strings.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>
#include <bearssl.h>
#include "dkim/b64.h"
#include "dkim/canon.h"
#include "dkim/sig.h"

int dkim_msg_split(dkim_msg *m, char const *msg, size_t len, char const **why)
{
  size_t hlen, pos = 0, cap = len < DKIM_MAXHEADER ? len : DKIM_MAXHEADER;
  int r = hdr_split(msg, cap, 100000, &hlen);
  if (r == HDR_LIMIT || (r == HDR_MORE && cap < len)) { *why = "header too large"; return 0; }
  if (r == HDR_MORE) hlen = len;       /* no empty line: all header */
  m->n = 0;
  for (hdr_field f; hdr_next(msg, hlen, &pos, &f); ) {
    if (!f.namelen) continue;          /* not a field: not signable */
    if (m->n == DKIM_MAXFIELDS) { *why = "too many header fields"; return 0; }
    m->f[m->n++] = f;
  }
  m->body = msg + hlen;
  m->bodylen = len - hlen;
  if (m->bodylen && m->body[0] == '\r') { m->body++; m->bodylen--; }
  if (m->bodylen && m->body[0] == '\n') { m->body++; m->bodylen--; }
  return 1;
}

int dkim_name_ok(char const *s, size_t len, size_t max)
{
  size_t lab = 0;
  if (!len || len > max) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '.') { if (!lab) return 0; lab = 0; continue; }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '_') || ++lab > 63) return 0;
  }
  return lab > 0;
}

static int fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* h=: colon-separated field names, FWS around each. */
static int parse_h(dkim_sig *sg, dkim_tag const *g)
{
  size_t i = 0;
  int from = 0;
  sg->nh = 0;
  while (i <= g->vallen) {
    size_t j = i, a, b;
    while (j < g->vallen && g->val[j] != ':') j++;
    for (a = i; a < j && fws(g->val[a]); a++) ;
    for (b = j; b > a && fws(g->val[b - 1]); b--) ;
    if (a == b || sg->nh == DKIM_MAXH) return 0;
    for (size_t k = a; k < b; k++) if (g->val[k] <= 32 || g->val[k] >= 127) return 0;
    sg->h[sg->nh++] = (dkim_name){ g->val + a, b - a };
    from |= b - a == 4 && !strncasecmp(g->val + a, "from", 4);
    i = j + 1;
  }
  return from;                        /* §5.4: From must be signed */
}

static int parse_c(dkim_sig *sg, dkim_tag const *g)
{
  static char const *const form[] = { "simple", "relaxed" };
  size_t slash = 0;
  sg->hrelaxed = sg->brelaxed = 0;
  if (!g) return 1;
  while (slash < g->vallen && g->val[slash] != '/') slash++;
  for (int k = 0; k < 2; k++) {
    if (slash == strlen(form[k]) && !memcmp(g->val, form[k], slash)) sg->hrelaxed = k + 1;
    if (slash < g->vallen && g->vallen - slash - 1 == strlen(form[k])
        && !memcmp(g->val + slash + 1, form[k], g->vallen - slash - 1)) sg->brelaxed = k + 1;
  }
  if (!sg->hrelaxed || (slash < g->vallen && !sg->brelaxed)) return 0;
  sg->hrelaxed--;
  sg->brelaxed = sg->brelaxed ? sg->brelaxed - 1 : 0;
  return 1;
}

static int parse_num(dkim_tag const *g, uint64_t *v)
{
  if (!g) return 1;
  /* at most 12 digits (§3.5 "l=", "t=": 76 bits allowed, we keep 40) */
  if (!g->vallen || g->vallen > 12) return 0;
  for (size_t i = 0; i < g->vallen; i++) if (g->val[i] < '0' || g->val[i] > '9') return 0;
  return uint64_scan(g->val, v) == g->vallen;
}

static int copy_name(char *to, dkim_tag const *g, size_t max)
{
  if (!g || !dkim_name_ok(g->val, g->vallen, max)) return 0;
  memcpy(to, g->val, g->vallen);
  to[g->vallen] = 0;
  return 1;
}

/* i=, when present: a local part and "@", then d= or a subdomain of it. */
static int identity_ok(dkim_sig const *sg, dkim_tag const *g)
{
  size_t at, dl = strlen(sg->domain);
  if (!g) return 1;
  for (at = g->vallen; at && g->val[at - 1] != '@'; at--) ;
  if (!at) return 0;
  size_t n = g->vallen - at;
  if (n < dl || strncasecmp(g->val + g->vallen - dl, sg->domain, dl)) return 0;
  return n == dl || g->val[g->vallen - dl - 1] == '.';
}

static int fail(char const **why, char const *s) { *why = s; return 0; }

int dkim_sig_parse(dkim_sig *sg, char const *v, size_t len, char const **why)
{
  dkim_tags *t = &sg->tags;
  dkim_tag const *g;
  ssize_t n;
  if (!dkim_tags_parse(t, v, len, why)) return 0;
  if (!dkim_tag_is(dkim_tags_get(t, "v"), "1")) return fail(why, "v= missing or not 1");
  g = dkim_tags_get(t, "a");
  if (!g) return fail(why, "a= missing");
  if (dkim_tag_is(g, "ed25519-sha256")) return fail(why, "ed25519-sha256: not supported (BearSSL has no Ed25519)");
  if (dkim_tag_is(g, "rsa-sha1")) return fail(why, "rsa-sha1 is not accepted (RFC 8301)");
  if (!dkim_tag_is(g, "rsa-sha256")) return fail(why, "unknown algorithm");
  if (!parse_c(sg, dkim_tags_get(t, "c"))) return fail(why, "bad c=");
  if (!copy_name(sg->domain, dkim_tags_get(t, "d"), DKIM_MAXDOMAIN)) return fail(why, "bad or missing d=");
  if (!copy_name(sg->selector, dkim_tags_get(t, "s"), DKIM_MAXSELECTOR)) return fail(why, "bad or missing s=");
  if (!(g = dkim_tags_get(t, "h")) || !parse_h(sg, g)) return fail(why, "bad or missing h= (From must be signed)");
  if (!(g = dkim_tags_get(t, "bh")) || dkim_b64_decode(sg->bh, 32, g->val, g->vallen) != 32)
    return fail(why, "bad or missing bh=");
  if (!(g = dkim_tags_get(t, "b")) || (n = dkim_b64_decode(sg->b, sizeof sg->b, g->val, g->vallen)) <= 0)
    return fail(why, "bad or missing b=");
  sg->blen = n;
  sg->bcut[0] = g->vstart;
  sg->bcut[1] = g->vend;
  sg->l = UINT64_MAX; sg->t = sg->x = 0;
  if (!parse_num(dkim_tags_get(t, "l"), &sg->l)) return fail(why, "bad l=");
  if (!parse_num(dkim_tags_get(t, "t"), &sg->t) || !parse_num(dkim_tags_get(t, "x"), &sg->x))
    return fail(why, "bad t= or x=");
  if (sg->x && sg->t && sg->x < sg->t) return fail(why, "x= before t=");
  if ((g = dkim_tags_get(t, "q")) && !dkim_tag_is(g, "dns/txt")) return fail(why, "q= is not dns/txt");
  if (!identity_ok(sg, dkim_tags_get(t, "i"))) return fail(why, "i= not in d=");
  return 1;
}

int dkim_header_hash(unsigned char out[32], dkim_msg const *m, int relaxed,
                     dkim_name const *h, unsigned nh, hdr_field const *sf, size_t const cut[2])
{
  unsigned char used[DKIM_MAXFIELDS] = { 0 };
  stralloc sa = STRALLOC_ZERO;
  br_sha256_context c;
  br_sha256_init(&c);
  for (unsigned i = 0; i < nh; i++) {
    unsigned k = m->n;
    while (k-- > 0)
      if (!used[k] && m->f[k].namelen == h[i].len && !strncasecmp(m->f[k].name, h[i].s, h[i].len)) break;
    if (k == (unsigned)-1) continue;  /* a name with no (more) field: nothing */
    used[k] = 1;
    sa.len = 0;
    if (!dkim_canon_header(&sa, relaxed, m->f + k, 0, 0)) goto nomem;
    br_sha256_update(&c, sa.s, sa.len);
  }
  sa.len = 0;
  if (!dkim_canon_header(&sa, relaxed, sf, cut[0], cut[1])) goto nomem;
  br_sha256_update(&c, sa.s, sa.len - 2);   /* §3.7: without its CRLF */
  br_sha256_out(&c, out);
  stralloc_free(&sa);
  return 1;
nomem:
  stralloc_free(&sa);
  return 0;
}
