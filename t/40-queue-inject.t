#!/usr/bin/env python3
# queue-inject alone: the qmail-queue protocol, exit codes, and that a failure
# at any write/fsync/rename step (strace fault injection) leaves nothing queued.
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, BIN  # noqa: E402

t = TAP()
root = tempfile.mkdtemp(prefix='pm-t-qi-')
env = dict(os.environ, PIPEMAIL_ROOT=root, PATH=BIN + ':' + os.environ['PATH'])
QI = os.path.join(BIN, 'queue-inject')


def inject(msg, envelope, prefix=(), extra_env=None):
    """Run queue-inject with msg on fd 0 and envelope on fd 1."""
    r, w = os.pipe()
    os.write(w, envelope)
    os.close(w)
    e = dict(env, **(extra_env or {}))
    p = subprocess.run(list(prefix) + [QI], input=msg, stdout=r, stderr=subprocess.PIPE, env=e)
    os.close(r)
    return p.returncode, p.stderr.decode(errors='replace')


def queued():
    out = []
    base = os.path.join(root, 'queue', 'msg')
    for h in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        out += [os.path.join(base, h, n) for n in os.listdir(os.path.join(base, h))]
    return out


def tmpfiles():
    d = os.path.join(root, 'queue', 'tmp')
    return os.listdir(d) if os.path.isdir(d) else []


def clear():
    for p in queued():
        os.unlink(p)
    for n in tmpfiles():
        os.unlink(os.path.join(root, 'queue', 'tmp', n))


def message_of(path):
    with open(path, 'rb') as f:
        data = f.read()
    hdrlen = int(data[5:15])
    envlen = int(data[37:47])
    return data[48:48 + envlen], data[hdrlen:]


msg = b'Subject: test\n\nhello \xc3\xa9\0 world\n'
rc, err = inject(msg, b'Fa@example.test\0Tb@example.test\0Tc@other.test\0\0')
t.eq(rc, 0, 'valid injection exits 0')
q = queued()
t.eq(len(q), 1, 'one message in queue/msg')
if q:
    envl, body = message_of(q[0])
    t.eq(body, msg, 'message stored byte for byte (8-bit, NUL)')
    t.eq(envl, b'Fa@example.test\0Tb@example.test\0Tc@other.test\0\0', 'envelope stored')
    t.ok(os.stat(q[0]).st_mode & 0o777 == 0o640, 'queue file mode 0640')
t.eq(tmpfiles(), [], 'no tmp file left')
clear()

# Envelope errors: qmail-queue codes.
for envelope, code, name in [
        (b'Fa@b\0\0', 91, 'no recipient'),
        (b'Ta@b\0\0', 91, 'no sender item'),
        (b'Fa@b\0Tc@d\0', 54, 'envelope cut short (EOF before the end)'),
        (b'Fa@b\0T' + b'x' * 2000 + b'@d\0\0', 11, 'address too long'),
]:
    rc, err = inject(b'x\n', envelope)
    t.eq(rc, code, name + ' -> %d' % code)
    t.eq(queued() + tmpfiles(), [], name + ': nothing left in the queue')
    t.ok('queue-inject: fatal:' in err, name + ': fatal message on stderr', err)
clear()

# Many recipients: the envelope outgrows the first header block.
rcpts = b''.join(b'Tuser%04d@example.test\0' % i for i in range(500))
rc, err = inject(msg, b'F\0' + rcpts + b'\0')
t.eq(rc, 0, '500 recipients accepted')
q = queued()
if t.ok(len(q) == 1, 'one message with a large envelope'):
    envl, body = message_of(q[0])
    t.eq(envl, b'F\0' + rcpts + b'\0', 'large envelope intact')
    t.eq(body, msg, 'message intact after regrow')
t.eq(tmpfiles(), [], 'no tmp file left after regrow')
clear()

# The trigger FIFO receives the id.
fifo = os.path.join(root, 'queue', 'trigger')
fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
rc, err = inject(msg, b'Fa@b\0Tc@d\0\0')
line = os.read(fd, 100)
os.close(fd)
q = queued()
t.ok(rc == 0 and q and line == os.path.basename(q[0]).encode() + b'\n', 'trigger FIFO gets "ID\\n"', line)
clear()

# Killed mid-message: a tmp file may remain, nothing is committed.
p = subprocess.Popen([QI], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
p.stdin.write(b'Subject: half\n\n' + b'y' * 100000)
p.stdin.flush()
time.sleep(0.2)
p.send_signal(signal.SIGKILL)
p.wait()
t.eq(queued(), [], 'killed mid-message: nothing committed')
clear()

# Fault injection at each durable step.
probe = subprocess.run(['strace', '-f', '-o', '/dev/null', '-e', 'inject=getpid:error=EPERM', 'true'],
                       stderr=subprocess.PIPE)
if probe.returncode != 0:
    t.skip('fault injection', 'strace cannot trace here: ' + probe.stderr.decode(errors='replace').strip())
else:
    faults = [
        ('write', 'ENOSPC', 1, 'message write'),
        ('pwrite64', 'ENOSPC', 1, 'header write'),
        ('pwrite64', 'EIO', 2, 'envelope write'),
        ('fsync', 'EIO', 1, 'file fsync'),
        ('rename', 'EXDEV', 1, 'rename into msg/'),
        ('fsync', 'EIO', 2, 'directory fsync'),
    ]
    for sc, errno_name, when, name in faults:
        spec = 'inject=%s:error=%s:when=%d' % (sc, errno_name, when)
        rc, err = inject(msg, b'Fa@b\0Tc@d\0\0', prefix=['strace', '-qq', '-o', '/dev/null', '-e', spec])
        t.ok(41 <= rc <= 99, '%s fails (%s) -> temporary exit %d' % (name, errno_name, rc), err)
        t.eq(queued(), [], '%s fails: nothing in queue/msg' % name)
        t.eq(tmpfiles(), [], '%s fails: no tmp file left' % name)
        clear()
    # after the faults, a normal injection still works
    rc, err = inject(msg, b'Fa@b\0Tc@d\0\0')
    t.ok(rc == 0 and len(queued()) == 1, 'queue works after the faults')

# A file reused from queue/pool is overwritten in place: an older, longer
# message in it must not survive past the new one's end.
clear()
pool = os.path.join(root, 'queue', 'pool')
stale = b'STALE old message line\n' * 40
inodes = set()
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib', 'queue.h')) as f:
    slots = int([ln.split()[2] for ln in f if ln.startswith('#define QUEUE_POOL ')][0])
for k in range(slots):
    with open(os.path.join(pool, str(k)), 'wb') as f:
        f.write(stale)
    inodes.add(os.stat(os.path.join(pool, str(k))).st_ino)
rc, err = inject(msg, b'Fa@b\0Tc@d\0\0')
q = queued()
if t.ok(rc == 0 and len(q) == 1, 'injection with a full pool', err):
    t.ok(os.stat(q[0]).st_ino in inodes, 'the queue file is a reused pool file')
    envl, body = message_of(q[0])
    t.eq(body, msg, 'reused file holds the new message only (old tail cut off)')
    t.eq(envl, b'Fa@b\0Tc@d\0\0', 'reused file: envelope intact')
t.eq(len(os.listdir(pool)), slots - 1, 'one file taken from the pool')
clear()

# Usage.
r = subprocess.run([QI, 'extra'], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, env=env)
t.ok(r.returncode == 100 and b'usage' in r.stderr, 'argument -> usage, exit 100')

shutil.rmtree(root, ignore_errors=True)
