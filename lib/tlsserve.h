/* tls-serve's program (cmd/tls-serve.8) as a function, so that tcp-serve
   can run it in the child it forks for a connection without an exec
   (builtin.h): one connection on fd 0/1, then it returns the exit code or
   exits. Once per process: it keeps the connection's state in statics. */
#ifndef PM_TLSSERVE_H
#define PM_TLSSERVE_H
int tlsserve_main(int argc, char const *const *argv);
#endif
