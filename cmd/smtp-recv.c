/* smtp-recv: the SMTP server (RFC 5321), a UCSPI program. The code is in
   lib/smtprecv.c, so that tcp-serve can run it without exec. */
#include "smtprecv.h"

int main (int argc, char const *const *argv)
{
  return smtprecv_main(argc, argv) ;
}
