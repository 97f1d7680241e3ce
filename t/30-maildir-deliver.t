#!/usr/bin/env python3
"""maildir-deliver alone: Maildir delivery, folders, spam, loops, quota,
idempotent names, failures."""
import atexit
import hashlib
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, BIN, ASAN  # noqa: E402

t = TAP()
PROG = os.path.join(BIN, 'maildir-deliver')
if not os.access(PROG, os.X_OK):
    t.skip_all('maildir-deliver not built')

TOP = tempfile.mkdtemp(prefix='pm-t30-')
os.chmod(TOP, 0o755)  # the unprivileged run below must get through
HOST = socket.gethostname().replace('/', '\\057').replace(':', '\\072').replace(',', '\\054')
ENV = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'SENDER': 'sender@example.org',
       'RECIPIENT': 'user@example.test'}
for k in ('ASAN_OPTIONS', 'UBSAN_OPTIONS'):
    if k in os.environ:
        ENV[k] = os.environ[k]
UNIQ = re.compile(r'^(\d+)\.M(\d+)P(\d+)Q(\d+)\.' + re.escape(HOST) + r',S=(\d+),W=(\d+)$')
N = [0]


def new_maildir():
    N[0] += 1
    d = os.path.join(TOP, 'm%d' % N[0])
    for sub in ('tmp', 'new', 'cur'):
        os.makedirs(os.path.join(d, sub), 0o700)
    return d


def deliver(md, msg, args=(), env=None, unset=(), preexec=None):
    e = dict(ENV)
    e.update(env or {})
    for k in unset:
        e.pop(k, None)
    r = subprocess.run([PROG] + list(args) + [md], input=msg, env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, preexec_fn=preexec, timeout=120)
    return r.returncode, r.stderr.decode(errors='replace')


def files(md, sub='new'):
    try:
        return sorted(os.listdir(os.path.join(md, sub)))
    except FileNotFoundError:
        return []


def read(md, sub, name):
    with open(os.path.join(md, sub, name), 'rb') as f:
        return f.read()


def added(sender='sender@example.org', rcpt='user@example.test'):
    return b'Return-Path: <' + sender.encode() + b'>\nDelivered-To: ' + rcpt.encode() + b'\n'


MSG = b'Received: from x\nSubject: test\nFrom: a@example.org\n\nHello.\n'

# -- plain delivery -------------------------------------------------------
md = new_maildir()
rc, err = deliver(md, MSG)
t.eq((rc, err), (0, ''), 'plain delivery: exit 0, silent')
names = files(md)
t.eq(len(names), 1, 'one file in new/')
m = UNIQ.match(names[0]) if names else None
t.ok(m, 'name is TIME.MusecPpidQn.HOST,S=SIZE,W=VSIZE', names)
body = read(md, 'new', names[0]) if names else b''
t.eq(body, added() + MSG, 'Return-Path and Delivered-To prepended, rest unchanged')
t.ok(m and int(m.group(5)) == len(body), 'S= is the file size')
crlf = body.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
crlf += b'' if crlf.endswith(b'\n') else b'\r\n'
t.ok(m and int(m.group(6)) == len(crlf), 'W= is the size with CRLF line ends (what POP3 sends)')
t.eq(files(md, 'tmp'), [], 'tmp/ is empty afterwards')
st = os.stat(os.path.join(md, 'new', names[0])) if names else None
t.ok(st and (st.st_mode & 0o777) == 0o600, 'message file mode 600')

rc, err = deliver(md, MSG, env={'SENDER': ''})
t.eq(rc, 0, 'null sender')
t.ok(any(read(md, 'new', n).startswith(b'Return-Path: <>\n') for n in files(md)), 'Return-Path: <> for a bounce')

# -- byte-for-byte -------------------------------------------------------
md = new_maildir()
odd = (b'Subject: \xe9t\xe9 8bit\nX-Long: ' + b'h' * 3000 + b'\n\n' + bytes(range(256)) * 64 + b'\n'
       + b'\0\0nul line\0\n' + b'L' * 200000 + b'\n\r\n.\n..\nFrom x\n' + b'no final newline')
rc, err = deliver(md, odd)
names = files(md)
t.ok(rc == 0 and len(names) == 1, '8-bit, NUL, long lines: delivered', err)
t.ok(names and read(md, 'new', names[0]) == added() + odd, '... byte-identical')

for label, msg in (('empty message', b''), ('header only, no newline', b'Subject: x'),
                   ('starts with an empty line', b'\nbody only\n'),
                   ('CRLF message', b'Subject: x\r\n\r\nbody\r\n')):
    md = new_maildir()
    rc, err = deliver(md, msg)
    names = files(md)
    t.ok(rc == 0 and len(names) == 1 and read(md, 'new', names[0]) == added() + msg, label, err)

# a header bigger than the scan limit is still copied whole
md = new_maildir()
big_head = b''.join(b'X-Filler-%d: %s\n' % (i, b'y' * 100) for i in range(12000))
msg = big_head + b'Delivered-To: user@example.test\n\nbody\n'
rc, err = deliver(md, msg)
names = files(md)
t.ok(rc == 0 and len(names) == 1 and read(md, 'new', names[0]) == added() + msg,
     'header beyond the scan limit (1 MB / 10000 lines): copied, not scanned', err)

# -- a large message is streamed ----------------------------------------
md = new_maildir()
chunk = hashlib.sha256(b'seed').digest() * 2048  # 64 KB
large = b'Subject: big\n\n' + b''.join(chunk + b'\n' for _ in range(320))  # ~20 MB
p = subprocess.Popen([PROG, md], stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
p.stdin.write(large)
p.stdin.flush()
# all but a pipe's worth has been read: its peak memory so far is the peak
with open('/proc/%d/status' % p.pid) as f:
    hwm = [int(ln.split()[1]) for ln in f if ln.startswith('VmHWM:')]
p.stdin.close()
err = p.stderr.read().decode(errors='replace')
rc = p.wait()
names = files(md)
t.ok(rc == 0 and len(names) == 1, '20 MB message delivered', err)
if names:
    got = read(md, 'new', names[0])
    t.ok(got == added() + large, '... byte-identical (%d bytes)' % len(got))
    t.ok(UNIQ.match(names[0]) and int(UNIQ.match(names[0]).group(5)) == len(got), '... S= right')
if not ASAN:
    t.ok(hwm and hwm[0] < 8 * 1024, 'memory stays small (peak RSS %s KB): the body is streamed' % hwm)

# -- folders ------------------------------------------------------------
md = new_maildir()
rc, err = deliver(md, MSG, ['-f', 'Work'])
wd = os.path.join(md, '.Work')
t.ok(rc == 0 and len(files(wd)) == 1 and not files(md), '-f Work: delivered into .Work/new', err)
t.ok(os.path.isfile(os.path.join(wd, 'maildirfolder')), '.Work/maildirfolder created')
t.ok(all((os.stat(os.path.join(wd, s)).st_mode & 0o777) == 0o700 for s in ('', 'tmp', 'new', 'cur')),
     '.Work and its tmp/new/cur are mode 700')
rc, err = deliver(md, MSG, ['-f', 'Work'])
t.ok(rc == 0 and len(files(wd)) == 2, 'second delivery into the existing folder')
rc, err = deliver(md, MSG, ['-f', 'Work.Projects'])
t.ok(rc == 0 and len(files(os.path.join(md, '.Work.Projects'))) == 1, 'nested folder .Work.Projects')
rc, err = deliver(md, MSG, ['-f', 'INBOX'])
t.ok(rc == 0 and len(files(md)) == 1, '-f INBOX is the Maildir itself')
for bad in ('../x', '.x', 'a..b', 'a/b', ''):
    rc, err = deliver(md, MSG, ['-f', bad])
    t.ok(rc == 100 and 'fatal' in err, 'bad folder %r: exit 100' % bad, err)

# -- spam -----------------------------------------------------------------
md = new_maildir()
jd = os.path.join(md, '.Junk')
rc, err = deliver(md, b'Subject: s\nX-Spam-Flag: YES\n\nbuy\n')
t.ok(rc == 0 and len(files(jd)) == 1 and not files(md), 'X-Spam-Flag: YES -> .Junk', err)
t.ok(os.path.isfile(os.path.join(jd, 'maildirfolder')), '.Junk made a folder')
subs = os.path.join(md, 'subscriptions')


def subscribed():
    try:
        with open(subs) as f:
            return f.read()
    except FileNotFoundError:
        return None


t.eq(subscribed(), 'Junk\n', 'the new Junk folder is subscribed (Dovecot\'s subscriptions file)')
rc, err = deliver(md, b'Subject: s\nx-spam:   yes \n\nbuy\n')
t.ok(rc == 0 and len(files(jd)) == 2, 'x-spam: yes (any case, blanks) -> .Junk')
rc, err = deliver(md, b'Subject: s\nX-Spam: No\nX-Spam-Flag: NO\n\nX-Spam: Yes\n')
t.ok(rc == 0 and len(files(md)) == 1 and len(files(jd)) == 2, 'X-Spam: No, and Yes in the body only -> inbox')
rc, err = deliver(md, b'Subject: s\nX-Spam-Flag: YES\n\nbuy\n', ['-f', 'Work'])
t.ok(rc == 0 and len(files(os.path.join(md, '.Work'))) == 1 and len(files(jd)) == 2, 'spam with -f: -f wins')
t.eq(subscribed(), 'Junk\nWork\n', 'a folder -f makes is subscribed too, once, the others kept')
with open(subs, 'w') as f:
    f.write('V\t2\n\nSent\n')
rc, err = deliver(md, b'Subject: s\nX-Spam-Flag: YES\n\nbuy\n')
t.ok(rc == 0 and len(files(jd)) == 3 and subscribed() == 'V\t2\n\nSent\n',
     'into an existing folder: an unsubscribed Junk stays unsubscribed', subscribed())
rc, err = deliver(md, MSG, ['-f', 'Lists.pipemail'])
t.eq(subscribed(), 'V\t2\n\nSent\nLists\tpipemail\n', 'version 2 file: levels separated by a tab')
with open(subs + '.lock', 'w') as f:
    pass
rc, err = deliver(md, MSG, ['-f', 'Busy'])
t.ok(rc == 0 and len(files(os.path.join(md, '.Busy'))) == 1 and 'warning: unable to subscribe' in err,
     'subscriptions locked by someone else: delivered all the same, with a warning', err)
t.ok(os.path.exists(subs + '.lock') and 'Busy' not in subscribed(), "... the other's lock and file untouched")

# -- loops ----------------------------------------------------------------
md = new_maildir()
rc, err = deliver(md, b'Delivered-To: other@example.test\nDelivered-To:\n  USER@Example.Test\nSubject: l\n\nx\n')
t.eq((rc, err), (100, 'maildir-deliver: fatal: 5.4.6 mail loop: already delivered to user@example.test\n'),
     'loop: Delivered-To (folded, any case) -> 100, one line')
t.eq(files(md) + files(md, 'tmp'), [], 'loop: nothing delivered')
rc, err = deliver(md, b'Delivered-To: other@example.test\nSubject: l\n\nDelivered-To: user@example.test\n')
t.ok(rc == 0, 'Delivered-To for someone else, or in the body: no loop', err)

# -- quota ----------------------------------------------------------------
md = new_maildir()
size = len(added() + MSG)
wsize = size + (added() + MSG).count(b"\n")
rc, err = deliver(md, MSG, ['-q', '1000'])
t.ok(rc == 0, 'quota: under -> delivered', err)
ms = os.path.join(md, 'maildirsize')
t.eq(open(ms).read() if os.path.exists(ms) else None, '1000S\n0 0\n%d 1\n' % size,
     'maildirsize created (recalculated) and the delivery appended')
rc, err = deliver(md, MSG)
t.ok(rc == 0 and open(ms).read().endswith('%d 1\n%d 1\n' % (size, size)), 'without -q the quota comes from maildirsize')
before = open(ms).read()
bigmsg = b'Subject: big\n\n' + b'x' * 900 + b'\n'
rc, err = deliver(md, bigmsg, ['-q', '1000'])
t.eq((rc, err), (100, 'maildir-deliver: fatal: 5.2.2 mailbox full (quota 1000 bytes)\n'), 'over quota -> 100, 5.2.2')
t.ok(len(files(md)) == 2 and files(md, 'tmp') == [], 'over quota: nothing in new/ or tmp/')
t.eq(open(ms).read(), before, 'over quota: maildirsize unchanged')
rc, err = deliver(md, bigmsg)
t.ok(rc == 100 and '5.2.2' in err, 'over quota with the limit from maildirsize', err)
rc, err = deliver(md, bigmsg, ['-q', '5000'])
t.ok(rc == 0 and open(ms).read().startswith('5000S\n'), '-q 5000: the first line updated, delivered', err)
rc, err = deliver(md, bigmsg, ['-f', 'Work', '-q', '2000'])
t.ok(rc == 100 and '5.2.2' in err, 'folders count: usage of all folders against the quota', err)
rc, err = deliver(md, MSG, ['-q', '0'])
t.ok(rc == 0 and open(ms).read().startswith('0S\n'), '-q 0: no limit')

# recalculation
md = new_maildir()
ms = os.path.join(md, 'maildirsize')
for sub, name, data in (('cur', '1.a.h,S=300:2,S', b'short'), ('new', '2.b.h', b'z' * 40),
                        ('cur', '.hidden', b'q' * 1000)):
    with open(os.path.join(md, sub, name), 'wb') as f:
        f.write(data)
os.makedirs(os.path.join(md, '.Old', 'cur'))
with open(os.path.join(md, '.Old', 'cur', '3.c.h,S=60'), 'wb') as f:
    f.write(b'')
rc, err = deliver(md, MSG, ['-q', '100000'])
t.eq(open(ms).read(), '100000S\n400 3\n%d 1\n' % size, 'recalculation: S= from names, stat otherwise, folders too')
with open(ms, 'w') as f:
    f.write('100000S\n9999 9\nbroken\n')
rc, err = deliver(md, MSG)
t.eq(open(ms).read(), '100000S\n%d 4\n%d 1\n' % (400 + size, size), 'malformed maildirsize recalculated')
with open(ms, 'w') as f:
    f.write('100000S\n' + '1 1\n' * 1300)
rc, err = deliver(md, MSG)
t.eq(open(ms).read(), '100000S\n%d 5\n%d 1\n' % (400 + 2 * size, size), 'maildirsize over 5120 bytes recalculated')
with open(ms, 'w') as f:
    f.write('500S\n%d 5\n' % 100000)
rc, err = deliver(md, MSG)
t.ok(rc == 100, 'fresh maildirsize saying full is believed')
old = time.time() - 3600
os.utime(ms, (old, old))
rc, err = deliver(md, MSG, ['-q', '100000'])
t.ok(rc == 0 and open(ms).read().startswith('100000S\n%d 6\n' % (400 + 3 * size)),
     'stale maildirsize saying full is recounted', open(ms).read())

# -- idempotent delivery ------------------------------------------------
md = new_maildir()
idenv = {'DELIVERY_ID': 'q1a2B3.7_x-y', 'QUEUE_ARRIVAL': '1700000000'}
rc1, err1 = deliver(md, MSG, env=idenv)
rc2, err2 = deliver(md, MSG, env=idenv)
names = files(md)
t.ok(rc1 == 0 and rc2 == 0, 'DELIVERY_ID twice: both exit 0', err1 + err2)
t.eq(names, ['1700000000.Qq1a2B3.7_x-y.%s,S=%d,W=%d' % (HOST, size, wsize)], '... one file, ARRIVAL.QID.HOST,S=SIZE,W=VSIZE')
if names:
    os.rename(os.path.join(md, 'new', names[0]), os.path.join(md, 'cur', names[0] + ':2,S'))
rc, err = deliver(md, MSG, env=idenv)
t.ok(rc == 0 and files(md) == [] and len(files(md, 'cur')) == 1, '... moved to cur/ by a reader: still not again')
rc, err = deliver(md, MSG, env={'DELIVERY_ID': 'other.1', 'QUEUE_ARRIVAL': '1700000000'})
t.ok(rc == 0 and len(files(md)) == 1, 'another DELIVERY_ID is another message')
md = new_maildir()
rc1, _ = deliver(md, MSG, env={'DELIVERY_ID': 'noarrival.1'})
time.sleep(1.1)
rc2, _ = deliver(md, MSG, env={'DELIVERY_ID': 'noarrival.1'})
t.ok(rc1 == 0 and rc2 == 0 and len(files(md)) == 1, 'without QUEUE_ARRIVAL, a later run still finds it')
md = new_maildir()
rc1, _ = deliver(md, MSG, env={'DELIVERY_ID': 'bad/id', 'QUEUE_ARRIVAL': '1700000000'})
rc2, _ = deliver(md, MSG, env={'DELIVERY_ID': 'bad/id', 'QUEUE_ARRIVAL': '1700000000'})
t.ok(rc1 == 0 and rc2 == 0 and len(files(md)) == 2 and all(UNIQ.match(n) for n in files(md)),
     'a DELIVERY_ID with other characters is ignored')
md = new_maildir()
rc, err = deliver(md, b'X-Spam-Flag: YES\n\nx\n', env=idenv)
rc2, err2 = deliver(md, b'X-Spam-Flag: YES\n\nx\n', env=idenv)
t.ok(rc == 0 and rc2 == 0 and len(files(os.path.join(md, '.Junk'))) == 1, 'DELIVERY_ID into a folder: once')
md = new_maildir()
ms = os.path.join(md, 'maildirsize')
deliver(md, MSG, ['-q', str(size + 10)], env=idenv)
rc, err = deliver(md, MSG, ['-q', str(size + 10)], env=idenv)
t.ok(rc == 0 and len(files(md)) == 1, 'an already delivered message is not refused by the quota it used', err)

# -- concurrent deliveries ---------------------------------------------
md = new_maildir()
e = dict(ENV)
procs = [subprocess.Popen([PROG, md], stdin=subprocess.PIPE, env=e, stderr=subprocess.PIPE) for _ in range(20)]
for i, p in enumerate(procs):
    p.communicate(MSG + b'%d\n' % i)
t.ok(all(p.returncode == 0 for p in procs) and len(files(md)) == 20, '20 concurrent deliveries: 20 files')

# -- setup errors -------------------------------------------------------
rc, err = deliver(os.path.join(TOP, 'nonexistent'), MSG)
t.ok(rc == 111 and err.startswith('maildir-deliver: fatal: 4.3.5 ') and err.count('\n') == 1,
     'missing Maildir -> 111, 4.3.5', err)
md = new_maildir()
shutil.rmtree(os.path.join(md, 'cur'))
rc, err = deliver(md, MSG)
t.ok(rc == 111 and '4.3.5' in err and files(md) == [], 'Maildir without cur/ -> 111', err)
md = new_maildir()
rc, err = deliver(md, MSG, unset=('RECIPIENT',))
t.ok(rc == 111 and '4.3.5' in err and 'RECIPIENT' in err, 'RECIPIENT unset -> 111', err)
rc, err = deliver(md, MSG, unset=('SENDER',))
t.ok(rc == 111 and '4.3.5' in err and 'SENDER' in err, 'SENDER unset -> 111', err)
rc, err = deliver(md, MSG, env={'RECIPIENT': 'a@b\nX-Evil: 1'})
t.ok(rc == 100 and files(md) == [], 'newline in RECIPIENT -> 100', err)
for args in ([], ['-q', 'x'], ['-z'], ['a', 'b']):
    r = subprocess.run([PROG] + args, input=b'', env=ENV, stderr=subprocess.PIPE)
    t.ok(r.returncode == 100 and b'usage' in r.stderr, 'usage error %r -> 100' % (args,))

# -- write failures leave nothing in new/ -------------------------------
md = new_maildir()


def small_fsize():
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


rc, err = deliver(md, large[:200000], preexec=small_fsize)
t.ok(rc == 111 and err.startswith('maildir-deliver: fatal: 4.3.0 ') and err.count('\n') == 1,
     'write fails (file size limit) -> 111, 4.3.0', err)
t.eq(files(md) + files(md, 'tmp'), [], '... nothing left in new/ or tmp/')

full = os.path.join(TOP, 'fullfs')
os.makedirs(full)
mounted = os.geteuid() == 0 and subprocess.run(
    ['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
if mounted:
    atexit.register(lambda: subprocess.run(['umount', full], stderr=subprocess.DEVNULL))
    md = os.path.join(full, 'm')
    for sub in ('tmp', 'new', 'cur'):
        os.makedirs(os.path.join(md, sub), 0o700)
    rc, err = deliver(md, large[:300000])
    t.ok(rc == 111 and err.startswith('maildir-deliver: fatal: 4.3.0 ') and 'space' in err,
         'full file system -> 111, 4.3.0', err)
    t.eq(files(md) + files(md, 'tmp'), [], '... nothing left in new/ or tmp/')
    rc, err = deliver(md, MSG)
    t.ok(rc == 0 and len(files(md)) == 1, '... a small message still fits')
    subprocess.run(['umount', full])
else:
    t.skip('full file system -> 111', 'cannot mount a small tmpfs here')

md = new_maildir()
nobody = 65534
if os.geteuid() == 0:
    for root, dirs, fs in os.walk(md):
        os.chown(root, nobody, nobody)

    def drop():
        os.setgid(nobody)
        os.setuid(nobody)
    pre = drop
else:
    pre = None
os.chmod(os.path.join(md, 'new'), 0o500)
rc, err = deliver(md, MSG, preexec=pre)
t.ok(rc == 111 and '4.3.0' in err, 'read-only new/ -> 111, 4.3.0', err)
t.eq(files(md) + files(md, 'tmp'), [], '... nothing left in new/ or tmp/')
os.chmod(os.path.join(md, 'new'), 0o700)

shutil.rmtree(TOP, ignore_errors=True)
