/* maildir-deliver's work: see cmd/maildir-deliver.8 for the contract.
   It exit()s on a fatal error and returns 0 otherwise; it may be called
   again in the same process (queue-run's delivery workers do), so it
   leaves no descriptor open and no state behind. */
#ifndef PM_MDELIVER_H
#define PM_MDELIVER_H
int mdeliver_main(int argc, char const *const *argv) ;
#endif
