/* nofsync.so, preloaded by make bench (t/bench/run) for its
   end-to-end-no-fsync figure only: every fsync and fdatasync returns at
   once. Not a mode of pipemail (nothing would survive a crash): it shows
   what the end-to-end time would be with no durable commit at all, so the
   figure with them can be read against it. */
int fsync(int fd);
int fdatasync(int fd);
int fsync(int fd) { (void)fd; return 0; }
int fdatasync(int fd) { (void)fd; return 0; }
