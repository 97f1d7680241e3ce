/* FETCH arguments: see imapfetch.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "imapfetch.h"

static struct { char const *name ; unsigned bits ; } const atts[] = {
  { "ALL", IMAPF_FLAGS | IMAPF_INTERNALDATE | IMAPF_RFC822_SIZE | IMAPF_ENVELOPE },
  { "FAST", IMAPF_FLAGS | IMAPF_INTERNALDATE | IMAPF_RFC822_SIZE },
  { "FULL", IMAPF_FLAGS | IMAPF_INTERNALDATE | IMAPF_RFC822_SIZE | IMAPF_ENVELOPE | IMAPF_BODY },
  { "ENVELOPE", IMAPF_ENVELOPE }, { "BODYSTRUCTURE", IMAPF_BODYSTRUCTURE }, { "BODY", IMAPF_BODY },
  { "FLAGS", IMAPF_FLAGS }, { "INTERNALDATE", IMAPF_INTERNALDATE }, { "RFC822.SIZE", IMAPF_RFC822_SIZE },
  { "UID", IMAPF_UID }, { "MODSEQ", IMAPF_MODSEQ }, { "RFC822", IMAPF_RFC822 },
  { "RFC822.HEADER", IMAPF_RFC822_HEADER }, { "RFC822.TEXT", IMAPF_RFC822_TEXT },
} ;

static int num(char const **s, uint32_t *v, int nz)
{
  uint64_t x = 0 ;
  char const *b = *s ;
  while (**s >= '0' && **s <= '9' && *s - b < 10) x = x * 10 + (*(*s)++ - '0') ;
  if (*s == b || x > 0xffffffffu || (nz && !x)) return 0 ;
  *v = x ;
  return 1 ;
}

static int fieldchar(unsigned char ch)
{
  return ch > 0x20 && ch < 0x7f && ch != ':' ;
}

/* " (name name ...)" in place: the names, NUL-terminated, from s on. */
static int fields(char *s, imapfetch_sec *sec, char **end)
{
  char *r = s, *w = s ;
  if (*r++ != ' ' || *r++ != '(') return 0 ;
  sec->fields = w ;
  for (;;) {
    int q = *r == '"' ;
    char *b = w ;
    if (q) r++ ;
    while (*r && (q ? *r != '"' : *r != ' ' && *r != ')')) {
      if (q && *r == '\\') r++ ;
      if (!fieldchar(*r) || strchr("\"\\", *r) || (!q && strchr("()%*{", *r))) return 0 ;
      *w++ = *r++ ;
    }
    if (q && *r++ != '"') return 0 ;
    if (w == b || ++sec->nfields > IMAPFETCH_MAXFIELDS) return 0 ;
    if (*r == ')') { *w = 0 ; *end = r + 1 ; return 1 ; }
    if (*r++ != ' ') return 0 ;
    *w++ = 0 ;
  }
}

/* the section text after the parts: HEADER, HEADER.FIELDS[.NOT] (...), TEXT, MIME */
static int text(char *s, imapfetch_sec *sec, char **end)
{
  if (!strncasecmp(s, "HEADER.FIELDS.NOT", 17)) { sec->spec = IMAPSEC_FIELDS_NOT ; return fields(s + 17, sec, end) ; }
  if (!strncasecmp(s, "HEADER.FIELDS", 13)) { sec->spec = IMAPSEC_FIELDS ; return fields(s + 13, sec, end) ; }
  if (!strncasecmp(s, "HEADER", 6)) { sec->spec = IMAPSEC_HEADER ; *end = s + 6 ; return 1 ; }
  if (!strncasecmp(s, "TEXT", 4)) { sec->spec = IMAPSEC_TEXT ; *end = s + 4 ; return 1 ; }
  if (!strncasecmp(s, "MIME", 4) && sec->nparts) { sec->spec = IMAPSEC_MIME ; *end = s + 4 ; return 1 ; }
  return 0 ;
}

int imapfetch_section(char *s, imapfetch_sec *sec)
{
  char const *p ;
  char *e ;
  int dot = 0 ;
  memset(sec, 0, sizeof *sec) ;
  if (!strncasecmp(s, "BODY.PEEK[", 10)) { sec->peek = 1 ; s += 10 ; }
  else if (!strncasecmp(s, "BODY[", 5)) s += 5 ;
  else if (!strncasecmp(s, "BINARY.PEEK[", 12)) { sec->kind = IMAPSEC_BINARY ; sec->peek = 1 ; s += 12 ; }
  else if (!strncasecmp(s, "BINARY.SIZE[", 12)) { sec->kind = IMAPSEC_BINSIZE ; sec->peek = 1 ; s += 12 ; }
  else if (!strncasecmp(s, "BINARY[", 7)) { sec->kind = IMAPSEC_BINARY ; s += 7 ; }
  else return 0 ;
  while (*s >= '1' && *s <= '9') {
    p = s ;
    if (sec->nparts == IMAPFETCH_MAXDEPTH || !num(&p, &sec->part[sec->nparts++], 1)) return 0 ;
    s = (char *)p ;
    if (!(dot = *s == '.')) break ;
    s++ ;
  }
  if (*s == ']' && !dot) e = s ;
  else if (sec->kind != IMAPSEC_BODY || !text(s, sec, &e)) return 0 ;   /* RFC 3516: section-binary */
  if (*e++ != ']') return 0 ;
  if (!*e) return 1 ;
  if (sec->kind == IMAPSEC_BINSIZE) return 0 ;
  p = e ;
  if (*p++ != '<' || !num(&p, &sec->off, 0) || *p++ != '.' || !num(&p, &sec->len, 1) || *p++ != '>' || *p) return 0 ;
  sec->partial = 1 ;
  return 1 ;
}

static int att(imapcmd *c, uint32_t i, imapfetch *f, int top, char const **err)
{
  imapnode *x = &c->node[i] ;
  if (x->type != IMAPN_ATOM) { *err = "bad FETCH item" ; return 0 ; }
  if (strchr(x->s, '[')) {
    if (f->nsec == IMAPFETCH_MAXSECT) { *err = "too many FETCH items" ; return 0 ; }
    if (!imapfetch_section(x->s, &f->sec[f->nsec])) { *err = "bad FETCH section" ; return 0 ; }
    f->nsec++ ;
    return 1 ;
  }
  for (size_t k = 0 ; k < sizeof atts / sizeof *atts ; k++)
    if (!strcasecmp(x->s, atts[k].name) && (top || k > 2)) { f->items |= atts[k].bits ; return 1 ; }
  *err = "bad FETCH item" ;
  return 0 ;
}

/* "(CHANGEDSINCE n VANISHED)" */
static int modifiers(imapcmd const *c, uint32_t i, int uid, imapfetch *f, char const **err)
{
  *err = "bad FETCH modifier" ;
  for (uint32_t k = c->node[i].child ; k ; k = c->node[k].next) {
    if (imapcmd_isatom(c, k, "VANISHED") && !f->vanished) f->vanished = 1 ;
    else if (imapcmd_isatom(c, k, "CHANGEDSINCE") && !f->changedsince && c->node[k].next) {
      k = c->node[k].next ;
      if (!imapcmd_number64(c, k, &f->modseq, 0)) return 0 ;
      f->changedsince = 1 ;
    } else return 0 ;
  }
  if (f->vanished && !(uid && f->changedsince)) { *err = "VANISHED needs UID FETCH and CHANGEDSINCE" ; return 0 ; }
  return 1 ;
}

int imapfetch_parse(imapcmd *c, uint32_t i, int uid, imapfetch *f, char const **err)
{
  uint32_t m ;
  f->items = 0 ; f->nsec = 0 ; f->changedsince = f->vanished = 0 ; f->modseq = 0 ;
  if (!i) { *err = "missing FETCH items" ; return 0 ; }
  if (c->node[i].type == IMAPN_LIST) {
    if (!c->node[i].child) { *err = "empty FETCH list" ; return 0 ; }
    for (uint32_t k = c->node[i].child ; k ; k = c->node[k].next) if (!att(c, k, f, 0, err)) return 0 ;
  } else if (!att(c, i, f, 1, err)) return 0 ;
  m = c->node[i].next ;
  if (!m) return 1 ;
  if (c->node[m].type != IMAPN_LIST || c->node[m].next) { *err = "junk after FETCH items" ; return 0 ; }
  if (!modifiers(c, m, uid, f, err)) return 0 ;
  if (f->changedsince) f->items |= IMAPF_MODSEQ ;   /* RFC 7162 3.2.4 */
  return 1 ;
}

int imapfetch_sets_seen(imapfetch const *f)
{
  if (f->items & (IMAPF_RFC822 | IMAPF_RFC822_TEXT)) return 1 ;
  for (unsigned k = 0 ; k < f->nsec ; k++) if (!f->sec[k].peek) return 1 ;
  return 0 ;
}

static char const *const specs[] = { "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "MIME", "TEXT" } ;

int imapfetch_secname(stralloc *sa, imapfetch_sec const *sec)
{
  char buf[24] ;
  static char const *const kinds[] = { "BODY[", "BINARY[", "BINARY.SIZE[" } ;
  char const *p = sec->fields ;
  if (!stralloc_cats(sa, kinds[sec->kind])) return 0 ;
  for (unsigned k = 0 ; k < sec->nparts ; k++) {
    int n = snprintf(buf, sizeof buf, "%s%u", k ? "." : "", sec->part[k]) ;
    if (!stralloc_catb(sa, buf, n)) return 0 ;
  }
  if (sec->spec && sec->nparts && !stralloc_cats(sa, ".")) return 0 ;
  if (!stralloc_cats(sa, specs[sec->spec])) return 0 ;
  for (unsigned k = 0 ; sec->spec == IMAPSEC_FIELDS || sec->spec == IMAPSEC_FIELDS_NOT ? k < sec->nfields : 0 ; k++) {
    size_t n = strlen(p) ;
    int atom = !p[strcspn(p, "()%*{]")] ;   /* no quote nor backslash in names */
    if (!stralloc_cats(sa, k ? " " : " (") || (!atom && !stralloc_cats(sa, "\"")) || !stralloc_catb(sa, p, n)
        || (!atom && !stralloc_cats(sa, "\"")) || (k + 1 == sec->nfields && !stralloc_cats(sa, ")"))) return 0 ;
    p += n + 1 ;
  }
  if (!stralloc_cats(sa, "]")) return 0 ;
  if (sec->partial) {
    int n = snprintf(buf, sizeof buf, "<%u>", sec->off) ;
    if (!stralloc_catb(sa, buf, n)) return 0 ;
  }
  return 1 ;
}
