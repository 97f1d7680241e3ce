#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <skalibs/sha256.h>
#include "pop3.h"

int pop3_cmd (char *line, char verb[5], char **arg)
{
  size_t i = 0 ;
  for (; i < 4 && ((line[i] | 0x20) >= 'a' && (line[i] | 0x20) <= 'z') ; i++)
    verb[i] = line[i] & ~0x20 ;
  verb[i] = 0 ;
  if (!i || (line[i] && line[i] != ' ')) return 0 ;
  *arg = line[i] ? line + i + 1 : line + i ;
  return 1 ;
}

int pop3_num (char const *s, uint32_t *n)
{
  uint32_t v = 0 ;
  size_t i = 0 ;
  for (; i < 9 && s[i] >= '0' && s[i] <= '9' ; i++) v = v * 10 + (s[i] - '0') ;
  if (!i || s[i]) return 0 ;
  *n = v ;
  return 1 ;
}

void pop3_uidl (char const *name, size_t len, char *out)
{
  static char const hex[] = "0123456789abcdef" ;
  SHA256Schedule c = SHA256_INIT() ;
  char h[32] ;
  size_t i = 0 ;
  if (len <= POP3_UIDLMAX)
  {
    while (i < len && name[i] > 0x20 && name[i] < 0x7f) i++ ;
    if (i == len && len)
    {
      memcpy(out, name, len) ;
      out[len] = 0 ;
      return ;
    }
  }
  sha256_update(&c, name, len) ;
  sha256_final(&c, h) ;
  out[0] = '~' ;
  for (i = 0 ; i < 32 ; i++)
  {
    out[1 + 2*i] = hex[(unsigned char)h[i] >> 4] ;
    out[2 + 2*i] = hex[h[i] & 15] ;
  }
  out[65] = 0 ;
}

int pop3_say (lineio *io, char const *s)
{
  return lineio_puts(io, s) && lineio_put(io, "\r\n", 2) ;
}

int pop3_capa (lineio *io, int prelogin, int user, int stls)
{
  return pop3_say(io, "+OK capability list follows")
      && pop3_say(io, "TOP") && pop3_say(io, "UIDL")
      && pop3_say(io, "RESP-CODES") && pop3_say(io, "AUTH-RESP-CODE")
      && pop3_say(io, "PIPELINING")
      && (!prelogin || !user || (pop3_say(io, "USER") && pop3_say(io, "SASL PLAIN")))
      && (!prelogin || !stls || pop3_say(io, "STLS"))
      && pop3_say(io, "IMPLEMENTATION pipemail")
      && pop3_say(io, ".") ;
}

void pop3_nodelay (int fd)
{
  int one = 1 ;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) ;   /* ENOTSOCK: a pipe */
}
