#!/usr/bin/env python3
"""IDLE past fs.inotify.max_user_instances (128 per user by default):
imap-mailbox, run as a user whose inotify instances are all taken (by a
helper process of that user, as a thousand sessions would take them),
still tells an IDLE client of a delivery, found by its check every
IMAP_IDLE_POLL seconds (1 here), and logs the warning that names the
sysctl to raise. With inotify, the same session gets no such warning.
As root the first session runs as nobody on a Maildir of its own (root's
own instances are not to be taken from the machine); as another user, as
that user."""
import ctypes
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, free_port, wait_port  # noqa: E402

t = TAP()
libc = ctypes.CDLL(None, use_errno=True)
if not hasattr(libc, 'inotify_init1'):
    t.skip_all('no inotify_init1 in libc')
inst = Instance(users={'demo@example.test': 'demo'})
MD = inst.maildir('demo@example.test')
ROOT = os.getuid() == 0
if ROOT and not shutil.which('s6-setuidgid'):
    t.skip_all('s6-setuidgid not installed')
NOBODY = pwd.getpwnam('nobody') if ROOT else None
AS = ['s6-setuidgid', 'nobody'] if ROOT else []
if ROOT:
    # a Maildir nobody owns, in a directory it can reach
    top = tempfile.mkdtemp(prefix='pm-t99-poll-')
    os.chmod(top, 0o755)
    PMD = os.path.join(top, 'Maildir')
    for d in ('', 'cur', 'new', 'tmp'):
        os.mkdir(os.path.join(PMD, d), 0o700)
        os.chown(os.path.join(PMD, d), NOBODY.pw_uid, NOBODY.pw_gid)
else:
    top, PMD = None, MD

HOLD = r"""
import ctypes, os, sys
if len(sys.argv) > 1:
    os.setgroups([]); os.setgid(int(sys.argv[2])); os.setuid(int(sys.argv[1]))
libc = ctypes.CDLL(None, use_errno=True)
fds = []
while len(fds) < 100000:
    fd = libc.inotify_init1(0)
    if fd < 0:
        break
    fds.append(fd)
print(len(fds), ctypes.get_errno(), flush=True)
sys.stdin.read()
"""


def hold():
    """A process of the session's user holding all its inotify instances."""
    args = [sys.executable, '-c', HOLD] + ([str(NOBODY.pw_uid), str(NOBODY.pw_gid)] if ROOT else [])
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    n, err = p.stdout.readline().split()
    return p, int(n), int(err)


def deliver(subject, md=MD, pre=()):
    inst.run(list(pre) + ['maildir-deliver', md], input=b'From: a@example.org\nSubject: %s\n\nhi\n' % subject,
             env={'SENDER': 'a@example.org', 'RECIPIENT': 'demo@example.test'})


def idle_session(env, md=MD, pre=()):
    port = free_port()
    p = inst.spawn(list(pre) + ['tcp-serve', '127.0.0.1', str(port), 'imap-mailbox', md], env=env)
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
    deliver(b'during IDLE', md, pre)
    t0 = time.time()
    try:
        ln = f.readline()
    except OSError as e:
        ln = repr(e).encode()
    dt = time.time() - t0
    s.sendall(b'DONE\r\nc LOGOUT\r\n')
    s.close()
    return p, (ln, n, dt), None


deliver(b'first', PMD, AS)
holder, n, err = hold()
if err != 24:   # EMFILE: the per-user limit, not the machine's (ENFILE)
    holder.kill()
    t.skip_all('inotify instances ended with errno %d after %d, not EMFILE' % (err, n))
try:
    p, got, err = idle_session({'IMAP_IDLE_POLL': '1'}, PMD, AS)
finally:
    holder.kill()
    holder.wait()
t.ok(not err and got[0] == b'* %d EXISTS\r\n' % (got[1] + 1),
     'inotify instances all taken (%d): IDLE is still told of a delivery (by its check, in %.1f s)'
     % (n, got[2] if got else 0), (err, got))
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
if top:
    shutil.rmtree(top, ignore_errors=True)
