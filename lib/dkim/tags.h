/* DKIM tag-lists (RFC 6376 §3.2): "name=value; name=value", as in a
   DKIM-Signature field and a key record. Nothing is copied: the tags point
   into the caller's bytes. Tag names are case-sensitive; a value keeps its
   inner folding whitespace (callers of base64 values skip it). */
#ifndef PM_DKIM_TAGS_H
#define PM_DKIM_TAGS_H
#include <stddef.h>

#define DKIM_TAGS_MAX 32          /* tags in one list; more: an error */

typedef struct dkim_tag_s dkim_tag;
struct dkim_tag_s {
  char const *name; size_t namelen;
  char const *val; size_t vallen;  /* value, outer whitespace removed */
  size_t vstart, vend;             /* offsets: after '=', at ';' or end */
};

typedef struct dkim_tags_s dkim_tags;
struct dkim_tags_s {
  unsigned n;
  dkim_tag t[DKIM_TAGS_MAX];
};

/* Parse s[0..len). 1 ok; 0 malformed (syntax, a duplicate tag, too many
   tags, a byte outside the grammar), with *why a short reason. */
int dkim_tags_parse(dkim_tags *t, char const *s, size_t len, char const **why);
/* The tag named name, or 0. */
dkim_tag const *dkim_tags_get(dkim_tags const *t, char const *name);
/* 1 if the tag's value is exactly v (ASCII case-insensitive). */
int dkim_tag_is(dkim_tag const *g, char const *v);
#endif
