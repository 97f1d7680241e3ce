/* SPF, DKIM and DMARC of a received message (authres.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "dkim/sig.h"
#include "dmarc/authres.h"

char const *authres_dmarc_name(int result)
{
  static char const *const names[] = { "none", "pass", "fail", "temperror", "permerror" };
  return result >= 0 && result <= AUTHRES_DMARC_PERMERROR ? names[result] : "permerror";
}

int authres_dkim_txt(void *ctx, char const *name, stralloc *out)
{
  authres_in const *in = ctx;
  spf_answer a = SPF_ANSWER_ZERO;
  int r = in->dns->query(in->dns->ctx, SPF_T_TXT, name, &a, &in->deadline);
  int ret = r == SPF_DNS_OK ? a.n > 0 : r == SPF_DNS_NONE ? 0 : -1;
  /* a key does not need more: a larger answer counts as none */
  if (ret == 1 && a.text.len > AUTHRES_MAXKEYTXT) ret = 0;
  if (ret == 1 && !stralloc_catb(out, a.text.s, a.text.len)) ret = -1;
  stralloc_free(&a.text);
  return ret;
}

/* SPF of MAIL FROM, or of postmaster@HELO for a null sender (7208 2.4). */
static void spf(authres *r, authres_in const *in)
{
  static spf_check c;
  char sender[600];
  char const *at = strrchr(in->mailfrom, '@');
  char const *helo = in->helo && *in->helo ? in->helo : 0;
  r->spfhelo = !*in->mailfrom;
  char const *domain = r->spfhelo ? helo : at ? at + 1 : in->mailfrom;
  r->spf = SPF_NONE;
  if (!domain || !*domain || strlen(domain) > SPF_MAXDOMAIN || strlen(in->mailfrom) > 512) return;
  snprintf(r->spfdomain, sizeof r->spfdomain, "%s", domain);
  snprintf(r->spfid, sizeof r->spfid, "%s", r->spfhelo ? domain : in->mailfrom);
  if (!in->haveip) return;
  if (r->spfhelo || !at || at == in->mailfrom) snprintf(sender, sizeof sender, "postmaster@%s", domain);
  else snprintf(sender, sizeof sender, "%s", in->mailfrom);
  c = (spf_check){ .dns = in->dns, .ip = in->ip, .sender = sender,
                   .helo = helo ? helo : "unknown", .me = in->me, .deadline = in->deadline };
  r->spf = spf_check_host(&c, domain);
  stralloc_free(&c.exp);
}

/* Identifier alignment (7489 3.1): strict, the same name; relaxed, the
   same organizational domain. */
static int aligned(authres_in const *in, char const *a, char const *b, char mode)
{
  char oa[254], ob[254];
  if (!*a || !*b) return 0;
  if (!strcasecmp(a, b)) return 1;
  if (mode == 's') return 0;
  return dmarc_orgdomain(in->psl, a, oa) && dmarc_orgdomain(in->psl, b, ob) && !strcasecmp(oa, ob);
}

static void verdict(authres *r, dmarc_record const *rec, int subdomain, unsigned roll)
{
  static char const *const pname[] = { "none", "quarantine", "reject" };
  int p = subdomain ? rec->sp : rec->p, asked = p;
  if (r->dmarc == AUTHRES_DMARC_FAIL || r->dmarc == AUTHRES_DMARC_TEMPERROR) {
    /* 6.6.4: outside the pct sample, the next lower policy */
    if (p > DMARC_P_NONE && roll >= rec->pct) { p--; r->sampled = 1; }
    r->action = r->dmarc == AUTHRES_DMARC_TEMPERROR ? (p == DMARC_P_REJECT ? AUTHRES_DEFER : AUTHRES_ACCEPT)
              : p == DMARC_P_REJECT ? AUTHRES_REJECT : p == DMARC_P_QUARANTINE ? AUTHRES_QUARANTINE : AUTHRES_ACCEPT;
  }
  r->policy = p;
  if (r->sampled)
    snprintf(r->why, sizeof r->why, "%s=%s pct=%u applied=%s", subdomain ? "sp" : "p", pname[asked], rec->pct, pname[p]);
  else snprintf(r->why, sizeof r->why, "%s=%s", subdomain ? "sp" : "p", pname[p]);
}

/* The policy first (6.6.3): a DNS timeout in SPF or DKIM must not use
   up the time of the lookup that says whether a temperror matters. */
static int discover(authres *r, authres_in const *in, dkim_msg const *m, dmarc_record *rec, char *pdom)
{
  char const *why;
  if (!dkim_from_domain(r->from, m)) {
    r->from[0] = 0;
    r->dmarc = AUTHRES_DMARC_PERMERROR;
    snprintf(r->why, sizeof r->why, "no single From address with a domain");
    return 0;
  }
  int d = dmarc_discover(rec, pdom, in->dns, in->psl, r->from, &in->deadline, &why);
  if (d == DMARC_FOUND) return 1;
  r->dmarc = d == DMARC_TEMPFAIL ? AUTHRES_DMARC_TEMPERROR : AUTHRES_DMARC_NONE;
  snprintf(r->why, sizeof r->why, "%s", why);
  return 0;
}

static void evaluate(authres *r, authres_in const *in, dmarc_record const *rec, char const *pdom)
{
  int spfok, dkimok = 0, temp = r->spf == SPF_TEMPERROR;
  spfok = r->spf == SPF_PASS && aligned(in, r->spfdomain, r->from, rec->aspf);
  for (unsigned i = 0; i < r->ndkim; i++) {
    if (r->dkim[i].result == DKIM_PASS && aligned(in, r->dkim[i].domain, r->from, rec->adkim)) dkimok = 1;
    if (r->dkim[i].result == DKIM_TEMPERROR) temp = 1;
  }
  r->dmarc = spfok || dkimok ? AUTHRES_DMARC_PASS : temp ? AUTHRES_DMARC_TEMPERROR : AUTHRES_DMARC_FAIL;
  verdict(r, rec, strcasecmp(pdom, r->from) != 0, in->roll);
}

void authres_check(authres *r, authres_in const *in)
{
  static dkim_msg m;
  static dmarc_record rec;
  char pdom[254];
  char const *why;
  int found = 0;
  memset(r, 0, sizeof *r);
  r->policy = -1;
  if (!dkim_msg_split(&m, in->msg, in->len, &why)) {
    r->dmarc = AUTHRES_DMARC_PERMERROR;
    snprintf(r->why, sizeof r->why, "%s", why);
  } else found = discover(r, in, &m, &rec, pdom);
  spf(r, in);
  r->ndkim = dkim_verify(r->dkim, in->msg, in->len, in->now, &authres_dkim_txt, (void *)in);
  if (found) evaluate(r, in, &rec, pdom);
}

/* An RFC 8601 value: plain when it is a dot-atom or an address, else quoted. */
static int value(stralloc *sa, char const *s)
{
  static char const plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                              ".!#$%&'*+/=?^_`{|}~@-";
  if (*s && strspn(s, plain) == strlen(s)) return stralloc_cats(sa, s);
  if (!stralloc_catb(sa, "\"", 1)) return 0;
  for (; *s; s++) {
    char c = (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? '?' : *s;
    if ((c == '"' || c == '\\') && !stralloc_catb(sa, "\\", 1)) return 0;
    if (!stralloc_catb(sa, &c, 1)) return 0;
  }
  return stralloc_catb(sa, "\"", 1);
}

static int sep(stralloc *sa, char const *eol)
{
  return stralloc_cats(sa, ";") && stralloc_cats(sa, eol) && stralloc_cats(sa, "\t");
}

int authres_fmt(stralloc *sa, authres const *r, char const *id, char const *eol)
{
  if (!stralloc_cats(sa, "Authentication-Results: ") || !stralloc_cats(sa, id) || !sep(sa, eol)
   || !stralloc_cats(sa, "spf=") || !stralloc_cats(sa, spf_result_name(r->spf))
   || (r->spfid[0] && (!stralloc_cats(sa, r->spfhelo ? " smtp.helo=" : " smtp.mailfrom=")
                       || !value(sa, r->spfid))))
    return 0;
  if (!r->ndkim && (!sep(sa, eol) || !stralloc_cats(sa, "dkim=none"))) return 0;
  for (unsigned i = 0; i < r->ndkim; i++)
    if (!sep(sa, eol) || !dkim_result_fmt(sa, r->dkim + i)) return 0;
  if (!sep(sa, eol) || !stralloc_cats(sa, "dmarc=") || !stralloc_cats(sa, authres_dmarc_name(r->dmarc))) return 0;
  if (!authres_comment_fmt(sa, r->why)) return 0;
  if (r->from[0] && (!stralloc_cats(sa, " header.from=") || !value(sa, r->from))) return 0;
  return stralloc_cats(sa, eol);
}

/* Skip blanks, line ends and comments (nested, with quoted-pairs). */
static size_t cfws(char const *s, size_t len, size_t i)
{
  unsigned depth = 0;
  for (; i < len; i++) {
    char c = s[i];
    if (depth && c == '\\') { i++; continue; }
    if (c == '(') depth++;
    else if (c == ')' && depth) depth--;
    else if (!depth && c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
  }
  return i;
}

int authres_claims(hdr_field const *f, char const *id)
{
  size_t idlen = strlen(id), i, j;
  if (!hdr_is(f, "Authentication-Results")) return 0;
  i = cfws(f->value, f->valuelen, 0);
  for (j = i; j < f->valuelen && !strchr(" \t\r\n;(", f->value[j]); j++) ;
  /* an authserv-id may be a quoted-string too */
  if (j - i == idlen + 2 && f->value[i] == '"' && f->value[j - 1] == '"') i++, j--;
  return j - i == idlen && idlen && !strncasecmp(f->value + i, id, idlen);
}
