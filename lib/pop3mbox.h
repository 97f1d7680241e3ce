/* pop3-mailbox's work (see cmd/pop3-mailbox.8): the POP3 TRANSACTION and
   UPDATE states (RFC 1939 5, 6) on one Maildir, after login. */
#ifndef PM_POP3MBOX_H
#define PM_POP3MBOX_H
int pop3mbox_main (int argc, char const *const *argv) ;
#endif
