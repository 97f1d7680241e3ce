/* imap-serve: IMAP up to the login (code in lib/imaplogin.c). */
#include "imaplogin.h"

int main (int argc, char const *const *argv)
{
  return imaplogin_main(argc, argv) ;
}
