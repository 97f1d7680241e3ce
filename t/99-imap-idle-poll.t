#!/usr/bin/env python3
"""IDLE where inotify is refused, as past fs.inotify.max_user_instances
(128 per user by default): imap-mailbox, with inotify_init1 failing
(EMFILE, as the kernel says it; an LD_PRELOAD shim compiled here), still
tells an IDLE client of a delivery, found by its check every
IMAP_IDLE_POLL seconds (1 here), and logs the warning that names the
sysctl to raise. With inotify, the same session gets no such warning."""
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtest  # noqa: E402
from pmtest import TAP, Instance, free_port, wait_port  # noqa: E402

t = TAP()
cc = shutil.which('cc') or shutil.which('gcc')
if not cc:
    t.skip_all('no C compiler for the LD_PRELOAD shim')
if pmtest.ASAN:
    t.skip_all('a sanitizer runtime must come first in LD_PRELOAD: not with the shim')
inst = Instance(users={'demo@example.test': 'demo'})
MD = inst.maildir('demo@example.test')
shim = os.path.join(inst.root, 'noinotify.so')
with open(shim + '.c', 'w') as f:
    f.write('#include <errno.h>\nint inotify_init1(int flags) { (void)flags; errno = EMFILE; return -1; }\n')
subprocess.run([cc, '-shared', '-fPIC', '-o', shim, shim + '.c'], check=True)


def deliver(subject):
    inst.run(['maildir-deliver', MD], input=b'From: a@example.org\nSubject: %s\n\nhi\n' % subject,
             env={'SENDER': 'a@example.org', 'RECIPIENT': 'demo@example.test'})


def idle_session(env):
    port = free_port()
    p = inst.spawn(['tcp-serve', '127.0.0.1', str(port), 'imap-mailbox', MD], env=env)
    if not wait_port(port):
        return p, None, 'did not start'
    s = socket.create_connection(('127.0.0.1', port), timeout=15)
    f = s.makefile('rb')
    f.readline()
    s.sendall(b'a SELECT INBOX\r\nb IDLE\r\n')
    n = None
    while True:
        ln = f.readline()
        if ln.startswith(b'* ') and ln.endswith(b' EXISTS\r\n'):
            n = int(ln.split()[1])
        if not ln or ln.startswith(b'+'):
            break
    deliver(b'during IDLE')
    t0 = time.time()
    try:
        ln = f.readline()
    except OSError as e:
        ln = repr(e).encode()
    dt = time.time() - t0
    s.sendall(b'DONE\r\nc LOGOUT\r\n')
    s.close()
    return p, (ln, n, dt), None


deliver(b'first')
p, got, err = idle_session({'LD_PRELOAD': shim, 'IMAP_IDLE_POLL': '1'})
t.ok(not err and got[0] == b'* %d EXISTS\r\n' % (got[1] + 1),
     'inotify refused: IDLE is still told of a delivery (by its check, in %.1f s)' % (got[2] if got else 0), (err, got))
time.sleep(0.5)
log = inst.log(p)
t.ok('unable to start inotify: Too many open files: IDLE checks the folder every 1 seconds '
     '(raise the sysctls fs.inotify.max_user_instances and max_user_watches)' in log,
     'and the log says so, naming the sysctls to raise', log)
inst.kill(p)
p, got, err = idle_session({})
t.ok(not err and got[0] == b'* %d EXISTS\r\n' % (got[1] + 1), 'with inotify: told of a delivery', (err, got))
time.sleep(0.5)
t.ok('IDLE checks' not in inst.log(p), 'and no warning', inst.log(p))
inst.kill(p)
