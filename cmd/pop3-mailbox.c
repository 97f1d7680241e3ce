/* pop3-mailbox: POP3 after login, on the Maildir (code in lib/pop3mbox.c). */
#include "pop3mbox.h"

int main (int argc, char const *const *argv)
{
  return pop3mbox_main(argc, argv) ;
}
