/* smtp-recv's work: see cmd/smtp-recv.8 for the contract. One session on
   fd 0/1; returns 0 at its end. It may be called again in the same
   process for the next session (tcp-serve's workers, qworker.h): nothing
   of one session survives into the next. A fatal error exits. */
#ifndef PM_SMTPRECV_H
#define PM_SMTPRECV_H
int smtprecv_main(int argc, char const *const *argv) ;
#endif
