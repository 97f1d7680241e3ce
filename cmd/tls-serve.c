/* tls-serve: TLS for a UCSPI program. The code is in lib/tlsserve.c, so
   that tcp-serve can run it without exec. */
#include "tlsserve.h"

int main(int argc, char const *const *argv)
{
  return tlsserve_main(argc, argv);
}
