/* tls-serve's program (cmd/tls-serve.8) as a function, so that tcp-serve
   can run it in the child it forks for a connection without an exec
   (builtin.h): one connection on fd 0/1, then it returns the exit code or
   exits. Once per process: it keeps the connection's state in statics. */
#ifndef PM_TLSSERVE_H
#define PM_TLSSERVE_H
int tlsserve_main(int argc, char const *const *argv);

/* In tcp-serve, at start and before each fork for a connection: load the
   keypairs the environment names (KEYFILE, CERTFILE, KEYFILE:name...) and
   set up an engine for them, once, and again only when one of the files
   changed (its dev, inode, size, mtime or ctime), so that each child
   inherits them decoded. A failure is silent: the child then loads them
   itself, as tls-serve does alone, and says why. The child re-seeds the
   engine's random generator; PROG's process wipes the keys. */
void tlsserve_preload(void);
#endif
