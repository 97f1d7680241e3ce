/* Smarthost routes (ROOT/etc/routes): where queue-run sends a domain's
   mail instead of to the domain's MX. Lines "DOMAIN RELAY", blank lines
   and '#' comments (also after the two fields).

   DOMAIN is a domain (case-insensitive; an address literal such as
   [192.0.2.1] too), ".example.org" for every domain below example.org, or
   "*" for every domain. The most specific entry wins: the domain itself,
   then the longest ".suffix", then "*"; of two entries for the same
   DOMAIN, the first wins. The same rules as lib/tlspolicy.

   RELAY is one of
     IP, IP:PORT          an IPv4 address (or a bare IPv6 one, no port);
     [IP], [IP]:PORT      an IPv4 or IPv6 address ("IPv6:" prefix allowed);
     NAME, NAME:PORT      a host name, resolved by mx-lookup (its MX if it
                          has one, else its own A/AAAA records);
     -                    no relay: the domain's MX as usual (to exempt a
                          domain from "*").
   PORT defaults to 25. */
#ifndef PM_ROUTES_H
#define PM_ROUTES_H
#include <stddef.h>
#include <stdint.h>

#define ROUTES_FILEMAX (1024 * 1024)   /* bytes of the file */
#define ROUTES_LINEMAX 1024            /* bytes of a line */
#define ROUTES_HOSTMAX 253             /* bytes of a host name */
/* Room for route_fmt: "[" IPv6 "]:" port, NUL. */
#define ROUTE_FMT 64

enum { ROUTE_MX = 0, ROUTE_IP, ROUTE_NAME } ;

typedef struct route_s route ;
struct route_s {
  int kind ;            /* ROUTE_* */
  char const *host ;    /* ROUTE_IP: the address in text form (IPv6 without
                           brackets); ROUTE_NAME: the name; else "" */
  uint16_t port ;
} ;

typedef struct routes_s routes ;
struct routes_s {
  struct routes_ent_s *v ;
  size_t n ;
  char *buf ;           /* the domains' and hosts' texts */
} ;
#define ROUTES_ZERO { .v = 0, .n = 0, .buf = 0 }

/* Parse s[0..n) into *r (freed first). 1 ok; 0 malformed, with *line (from
   1) and *why, or out of memory (*line 0, *why 0, errno); *r is then empty. */
int routes_parse(routes *r, char const *s, size_t n, unsigned int *line, char const **why) ;
/* The same from a file; no file is no route. 0 as above, or a system error
   (*line 0, *why 0, errno). */
int routes_read(routes *r, char const *file, unsigned int *line, char const **why) ;
void routes_free(routes *r) ;
/* The route for domain: 1 and *rt if a relay applies (ROUTE_IP or
   ROUTE_NAME), else 0 and rt->kind ROUTE_MX. rt points into r. */
int routes_find(routes const *r, char const *domain, route *rt) ;
/* "IP:PORT" or "[IPv6]:PORT" of a ROUTE_IP route (remote-send -r), NUL
   included in s (ROUTE_FMT bytes); returns the length without it. */
size_t route_fmt(char *s, route const *rt) ;
#endif
