/* queue-run's results and log lines (lib/qresult.c). */
#ifndef PM_QRESULT_H
#define PM_QRESULT_H
#include <stdint.h>
#include "qsched.h"

/* The retry delays and the queue lifetime, in seconds (qrun_cfg's). */
void qresult_init(uint64_t retrymin, uint64_t retrymax, uint64_t lifetime) ;
/* Record the outcome of an attempt for recipient i (a QJOB_ class): its
   state, the state log (fsynced for a permanent failure), its log line.
   A temporary failure past the lifetime is a permanent one. */
void qrun_result(smsg *m, uint32_t i, int class, char const *reason, uint64_t now) ;
/* The recipients of list (n) that failed are recorded as bounced, the
   last line fsynced, and logged with status. */
void qrun_bounced(smsg *m, uint32_t const *list, uint32_t n, char const *status, uint64_t now) ;
/* The log line of recipient i with status and reason. */
void qrun_logrcpt(smsg *m, uint32_t i, char const *status, char const *reason, uint64_t now) ;
/* A log line "id=ID" then v[0..n): odd items are values, made safe. */
void qrun_log(smsg *m, char const *const *v, unsigned int n) ;
#define LOG(m, ...) qrun_log(m, (char const *const[]){ __VA_ARGS__ }, sizeof((char const *const[]){ __VA_ARGS__ }) / sizeof(char const *))
#endif
