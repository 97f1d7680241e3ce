/* maildir-deliver: deliver the message on stdin into a Maildir(++).
   The code is in lib/mdeliver.c, so that queue-run can run it without exec. */
#include "mdeliver.h"

int main (int argc, char const *const *argv)
{
  return mdeliver_main(argc, argv) ;
}
