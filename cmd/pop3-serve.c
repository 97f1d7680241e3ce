/* pop3-serve: POP3 up to the login (code in lib/pop3login.c). */
#include "pop3login.h"

int main (int argc, char const *const *argv)
{
  return pop3login_main(argc, argv) ;
}
