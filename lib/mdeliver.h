/* maildir-deliver's work: see cmd/maildir-deliver.8 for the contract.
   It may exit() on a fatal error, so call it only as a process's main. */
#ifndef PM_MDELIVER_H
#define PM_MDELIVER_H
int mdeliver_main(int argc, char const *const *argv) ;
#endif
