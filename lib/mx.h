/* Mail exchangers of a domain, in the order to try them (RFC 5321 §5.1),
   resolved with udns; and the text form ("MX list") that mx-lookup prints
   and passes to remote-send in $MXLIST. Nothing here prints or exits. */
#ifndef PM_MX_H
#define PM_MX_H
#include <stddef.h>
#include <skalibs/functypes.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#define MX_MAXHOSTS 50    /* MX hosts kept (the most preferred ones) */
#define MX_MAXADDRS 10    /* addresses kept per host */
#define MX_MAXNAME 253    /* a domain name in text form, no final dot */
#define MX_MAXSERV 6      /* servers in DNS_SERVER (udns's DNS_MAXSERV) */

typedef struct mx_host_s mx_host;
struct mx_host_s {
  unsigned pref;
  char name[MX_MAXNAME + 1];   /* host name, or the literal "[1.2.3.4]" */
  unsigned naddr;              /* >= 1 in a result */
  ip46full addr[MX_MAXADDRS];  /* IPv4 ones first, then IPv6, DNS order */
};

/* One line of the MX list: "PREF HOST ADDR [ADDR...]\n". */
typedef struct mx_list_s mx_list;
struct mx_list_s {
  unsigned n;
  mx_host host[MX_MAXHOSTS];
  char why[384];               /* after a failure: "X.Y.Z reason" */
};

/* The mail exchangers of domain (or an address literal "[1.2.3.4]",
   "[IPv6:::1]"), hosts without addresses left out, within deadline
   (absolute, compared with STAMP). servers: NULL to read /etc/resolv.conf,
   else "IP[:PORT],..." (see mx_servers_scan). Returns 0 with l->n >= 1;
   100 (permanent) or 111 (temporary) with the reason in l->why. */
int mx_lookup(mx_list *l, char const *domain, char const *servers, tain const *deadline);

/* A syntactically valid host name: 1..253 chars (one final dot allowed),
   labels of 1..63 letters, digits, '-' or '_'. */
int mx_name_ok(char const *s);
/* s is an address literal: 1 and h filled (pref 0, one address), -1 if it
   looks like one but is malformed, 0 if it is not bracketed at all. */
int mx_literal(mx_host *h, char const *s);
/* DNS servers "IP[:PORT]" separated by commas; IPv6 bare or "[IP]:PORT".
   Up to MX_MAXSERV into ip/port; the count, or -1 if malformed. */
int mx_servers_scan(char const *s, ip46full *ip, uint16_t *port);

/* udns glue shared with the other DNS users (lib/spf): open ctx on the
   servers ("IP[:PORT],...", NULL for /etc/resolv.conf): NULL, or the reason
   ("X.Y.Z text", errno set); udns's options (dns_set_opt: timeout, tries)
   may be set after it, before the queries. mx_drive runs ctx until no query is active
   (1), deadline passes (0), or iopause fails (-1). */
struct dns_ctx;
char const *mx_dns_open(struct dns_ctx *ctx, char const *servers);
int mx_drive(struct dns_ctx *ctx, tain const *deadline);

/* Order of trial: ascending preference, equal preferences shuffled with rnd
   (skalibs random_buf in production; a fixed generator in tests). */
typedef struct mx_pref_s mx_pref;
struct mx_pref_s { unsigned pref; unsigned idx; };
void mx_order(mx_pref *a, unsigned n, randomgen_func_ref rnd);

/* Append the list's lines to sa. 1, or 0 on ENOMEM. */
int mx_fmt(stralloc *sa, mx_list const *l);
/* Read an MX list back (lines "\n"-separated, last newline optional).
   1 on success, 0 if malformed or over the bounds (l->why set). */
int mx_parse(mx_list *l, char const *s, size_t len);
#endif
