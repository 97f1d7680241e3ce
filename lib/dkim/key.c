#include <string.h>
#include <stdio.h>
#include "dkim/b64.h"
#include "dkim/tags.h"
#include "dkim/key.h"

/* One DER TLV at der[*i..end): tag, and the content in [*c, *c + *n). */
static int tlv(unsigned char const *der, size_t end, size_t *i, int tag, size_t *c, size_t *n)
{
  size_t p = *i, len;
  if (p + 2 > end || der[p] != tag) return 0;
  len = der[p + 1];
  p += 2;
  if (len & 0x80) {
    unsigned k = len & 0x7f;
    if (!k || k > 2 || p + k > end) return 0;
    for (len = 0; k; k--) len = len << 8 | der[p++];
  }
  if (len > end - p) return 0;
  *c = p; *n = len; *i = p + len;
  return 1;
}

/* An INTEGER, positive, its leading zero bytes skipped. */
static int der_uint(unsigned char const *der, size_t end, size_t *i,
                unsigned char const **v, size_t *vlen)
{
  size_t c, n;
  if (!tlv(der, end, i, 0x02, &c, &n) || !n || der[c] & 0x80) return 0;
  while (n > 1 && !der[c]) { c++; n--; }
  *v = der + c; *vlen = n;
  return 1;
}

static int rsapub(br_rsa_public_key *pk, unsigned char const *der, size_t end, size_t *i)
{
  size_t c, n, j;
  if (!tlv(der, end, i, 0x30, &c, &n)) return 0;
  j = c;
  if (!der_uint(der, c + n, &j, (unsigned char const **)&pk->n, &pk->nlen)
   || !der_uint(der, c + n, &j, (unsigned char const **)&pk->e, &pk->elen)) return 0;
  return j == c + n;
}

static unsigned char const rsa_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };

static int spki(br_rsa_public_key *pk, unsigned char const *der, size_t len)
{
  size_t i = 0, c, n, a, an, o, on, b, bn;
  if (!tlv(der, len, &i, 0x30, &c, &n) || i != len) return 0;
  i = c;
  if (!tlv(der, len, &i, 0x30, &a, &an)) return 0;
  o = a;
  if (!tlv(der, a + an, &o, 0x06, &on, &b) || b != sizeof rsa_oid
   || memcmp(der + on, rsa_oid, sizeof rsa_oid)) return 0;
  if (o < a + an && (!tlv(der, a + an, &o, 0x05, &on, &b) || b || o != a + an)) return 0;
  if (!tlv(der, len, &i, 0x03, &b, &bn) || i != len || !bn || der[b]) return 0;
  o = b + 1;
  return rsapub(pk, der, b + bn, &o) && o == b + bn;
}

int dkim_key_der(br_rsa_public_key *pk, unsigned *bits, unsigned char const *der, size_t len)
{
  size_t i = 0, c, n;
  /* SPKI starts SEQUENCE { SEQUENCE ...; RSAPublicKey SEQUENCE { INTEGER */
  if (!tlv(der, len, &i, 0x30, &c, &n) || c >= len) return 0;
  if (der[c] == 0x30) { if (!spki(pk, der, len)) return 0; }
  else { i = 0; if (!rsapub(pk, der, len, &i) || i != len) return 0; }
  *bits = pk->nlen * 8;
  for (unsigned char t = pk->n[0]; !(t & 0x80) && *bits; t <<= 1) (*bits)--;
  return *bits > 0;
}

/* The value of tag list entry g contains item (in a colon-separated list). */
static int has_item(dkim_tag const *g, char const *item)
{
  size_t il = strlen(item), i = 0;
  while (i <= g->vallen) {
    size_t j = i, a, b;
    while (j < g->vallen && g->val[j] != ':') j++;
    for (a = i; a < j && strchr(" \t\r\n", g->val[a]); a++) ;
    for (b = j; b > a && strchr(" \t\r\n", g->val[b - 1]); b--) ;
    if (b - a == il && !memcmp(g->val + a, item, il)) return 1;
    i = j + 1;
  }
  return 0;
}

int dkim_key_parse(dkim_key *k, char const *s, size_t len, char const **why)
{
  dkim_tags t;
  dkim_tag const *g;
  ssize_t n;
  if (!dkim_tags_parse(&t, s, len, why)) return 0;
  g = dkim_tags_get(&t, "v");
  if (g && (g != t.t || !dkim_tag_is(g, "DKIM1"))) { *why = "v= not DKIM1 or not first"; return 0; }
  g = dkim_tags_get(&t, "k");
  if (g && dkim_tag_is(g, "ed25519")) { *why = "ed25519 key: not supported (BearSSL has no Ed25519)"; return 0; }
  if (g && !dkim_tag_is(g, "rsa")) { *why = "unknown key type"; return 0; }
  if ((g = dkim_tags_get(&t, "h")) && !has_item(g, "sha256")) { *why = "key not for sha256"; return 0; }
  if ((g = dkim_tags_get(&t, "s")) && !has_item(g, "email") && !has_item(g, "*")) {
    *why = "key not for email"; return 0;
  }
  if (!(g = dkim_tags_get(&t, "p"))) { *why = "no p= in the key record"; return 0; }
  if (!g->vallen) { *why = "key revoked (empty p=)"; return 0; }
  n = dkim_b64_decode(k->der, sizeof k->der, g->val, g->vallen);
  if (n < 0) { *why = "bad base64 in p="; return 0; }
  if (!dkim_key_der(&k->pk, &k->bits, k->der, n)) { *why = "p= is not an RSA public key"; return 0; }
  if (k->bits < DKIM_KEY_MINBITS || k->bits > DKIM_KEY_MAXBITS) {
    snprintf(k->whybuf, sizeof k->whybuf, "RSA key of %u bits refused: %u to %u allowed",
             k->bits, DKIM_KEY_MINBITS, DKIM_KEY_MAXBITS);
    *why = k->whybuf;
    return 0;
  }
  return 1;
}

/* -- writing: the p= of a key record ------------------------------------ */

/* A DER header (tag, length) for len content bytes into out; its size. */
static size_t der_head(unsigned char *out, int tag, size_t len)
{
  size_t k = 0;
  out[k++] = tag;
  if (len < 128) out[k++] = len;
  else if (len < 256) { out[k++] = 0x81; out[k++] = len; }
  else { out[k++] = 0x82; out[k++] = len >> 8; out[k++] = len; }
  return k;
}

/* A positive INTEGER from big-endian v[0..n): leading zeros dropped, one
   added if the top bit is set. */
static size_t der_int(unsigned char *out, unsigned char const *v, size_t n)
{
  while (n > 1 && !*v) { v++; n--; }
  int pad = *v >> 7;
  size_t k = der_head(out, 0x02, n + pad);
  if (pad) out[k++] = 0;
  memcpy(out + k, v, n);
  return k + n;
}

size_t dkim_key_spki(unsigned char *out, size_t max, br_rsa_public_key const *pk)
{
  static unsigned char const alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                       0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };
  unsigned char ints[DKIM_KEY_DERMAX], head[16];
  size_t ni, nh, bits, seq;
  if (pk->nlen + pk->elen + 16 > sizeof ints) return 0;
  ni = der_int(ints, pk->n, pk->nlen);
  ni += der_int(ints + ni, pk->e, pk->elen);
  seq = der_head(head, 0x30, ni) + ni;            /* RSAPublicKey */
  bits = der_head(head, 0x03, seq + 1) + seq + 1; /* BIT STRING */
  nh = der_head(head, 0x30, sizeof alg + bits);
  if (nh + sizeof alg + bits > max) return 0;
  memcpy(out, head, nh);
  memcpy(out + nh, alg, sizeof alg);
  size_t k = nh + sizeof alg;
  k += der_head(out + k, 0x03, seq + 1);
  out[k++] = 0;
  k += der_head(out + k, 0x30, ni);
  memcpy(out + k, ints, ni);
  return k + ni;
}
