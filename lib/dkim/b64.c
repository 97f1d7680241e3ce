#include <string.h>
#include "dkim/b64.h"

static char const alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int val(char c)
{
  char const *p = c ? strchr(alphabet, c) : 0;
  return p ? (int)(p - alphabet) : -1;
}

ssize_t dkim_b64_decode(unsigned char *out, size_t max, char const *s, size_t len)
{
  size_t o = 0;
  unsigned acc = 0, k = 0, pad = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    int v;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') { if (++pad > 2 || k < 2) return -1; k++; continue; }
    if (pad || (v = val(c)) < 0) return -1;   /* data after padding, junk */
    acc = acc << 6 | (unsigned)v;
    if (++k < 4) continue;
    if (o + 3 > max) return -1;
    out[o++] = acc >> 16; out[o++] = acc >> 8; out[o++] = acc;
    acc = 0; k = 0;
  }
  if (pad) {                         /* k is 4 here: 2 or 3 data chars + pad */
    if (k != 4) return -1;
    acc <<= 6 * pad;
    if (o + 3 - pad > max) return -1;
    out[o++] = acc >> 16;
    if (pad == 1) out[o++] = acc >> 8;
    return o;
  }
  return k ? -1 : (ssize_t)o;
}

size_t dkim_b64_encode(char *out, unsigned char const *in, size_t n)
{
  size_t o = 0, i = 0;
  for (; i + 2 < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    out[o++] = alphabet[v >> 18]; out[o++] = alphabet[v >> 12 & 63];
    out[o++] = alphabet[v >> 6 & 63]; out[o++] = alphabet[v & 63];
  }
  if (i < n) {
    unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
    out[o++] = alphabet[v >> 18]; out[o++] = alphabet[v >> 12 & 63];
    out[o++] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
    out[o++] = '=';
  }
  return o;
}
