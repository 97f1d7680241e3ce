/* imap-mailbox: IMAP after login, on the Maildir (code in lib/imapd/). */
#include "imapd/imapd.h"

int main (int argc, char const *const *argv)
{
  return imapd_main(argc, argv) ;
}
