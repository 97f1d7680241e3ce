/* smtp-recv's work: see cmd/smtp-recv.8 for the contract. It never
   returns: it _exit()s at the end of the session, so call it only as a
   process's main (or in a child forked for it, see builtin.h). */
#ifndef PM_SMTPRECV_H
#define PM_SMTPRECV_H
int smtprecv_main(int argc, char const *const *argv) ;
#endif
