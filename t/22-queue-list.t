#!/usr/bin/env python3
# queue-list: pending, remote and deferred recipients, -s summary, -i ID.
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, BIN, wait_for  # noqa: E402

t = TAP()
inst = Instance(users={'demo@example.test': 'pw', 'bob@example.test': 'pw'})


def inject(sender, rcpts, msg):
    return inst.inject(sender, rcpts, msg)


def qlist(*args, check=True):
    return inst.run(['queue-list'] + list(args), check=check)


r = qlist()
t.eq((r.returncode, r.stdout), (0, b''), 'empty queue: no output, exit 0')
t.ok(re.fullmatch(rb'messages=0 recipients=0 pending=0 remote=0 deferred=0 failed=0 bounced=0 delivered=0 oldest=0s\n',
                  qlist('-s').stdout), 'empty queue summary', qlist('-s').stdout)

t.eq(inject('bob@example.test', ['demo@example.test', 'x@remote.test'], b'Subject: one\n\nhello\n'), 0, 'first injected')
time.sleep(1.1)
t.eq(inject('', ['bob@example.test'], b'Subject: two\n\nhi\n'), 0, 'second injected (null sender)')
out = qlist().stdout.decode()
lines = out.splitlines()
t.ok(len(lines) == 5, 'two messages, three recipients', out)
if len(lines) == 5:
    t.ok(re.fullmatch(r'[0-9a-f.]+ age=\ds size=20 from=<bob@example.test> rcpts=2', lines[0]), 'message line', lines[0])
    t.eq(lines[1], '  <demo@example.test> pending attempts=0', 'pending local recipient')
    t.eq(lines[2], '  <x@remote.test> remote attempts=0', 'pending remote recipient')
    t.ok(re.fullmatch(r'[0-9a-f.]+ age=\ds size=17 from=<> rcpts=1', lines[3]), 'oldest first; null sender', lines[3])
first = lines[0].split()[0] if lines else ''
second = lines[3].split()[0] if len(lines) > 3 else ''

# queue-run without remote delivery, demo's Maildir missing: deferred
bindir = tempfile.mkdtemp(prefix='bin-', dir=inst.root)
for n in ('queue-run', 'queue-inject', 'maildir-deliver'):
    os.symlink(os.path.join(BIN, n), os.path.join(bindir, n))
md = inst.maildir('demo@example.test')
os.makedirs(md, exist_ok=True)
os.rename(md, md + '.off')
q = inst.start_queue(env={'PATH': bindir + ':/usr/bin:/bin', 'QUEUE_RETRY_MIN': '300'})
t.ok(wait_for(lambda: 'status=deferred' in inst.log(q) and len(inst.mails('bob@example.test')) == 1, 10),
     'queue-run ran once', inst.log(q))
t.ok('rcpt=<x@remote.test> status=queued' in inst.log(q) and 'remote delivery not available' in inst.log(q),
     'remote recipient stays queued without remote-send', inst.log(q))
inst.kill(q)
out = qlist().stdout.decode()
lines = out.splitlines()
t.ok(len(lines) == 3, 'the delivered message is gone', out)
if len(lines) == 3:
    t.ok(lines[0].startswith(first + ' '), 'the first message remains')
    t.ok(re.fullmatch(r'  <demo@example.test> deferred attempts=1 next=in [45]m\d\ds last=\d+s ago reason="4\.3\.5 mailbox missing: .*"',
                      lines[1]), 'deferred: attempts, next try, reason', lines[1])
    t.eq(lines[2], '  <x@remote.test> remote attempts=0', 'remote recipient untouched')

s = qlist('-s').stdout.decode()
t.ok(re.fullmatch(r'messages=1 recipients=2 pending=0 remote=1 deferred=1 failed=0 bounced=0 delivered=0 oldest=\ds\n', s),
     'summary counts', s)
def norm(text):   # a second may pass between two runs
    return re.sub(r'last=\d+s ago', 'last=', re.sub(r'next=in \S+', 'next=', re.sub(r'age=\S+', 'age=', text)))


one = qlist('-i', first).stdout.decode()
t.eq(norm(one), norm(out), '-i ID shows that message')
r = qlist('-i', second, check=False)
t.ok(r.returncode == 100 and b'no message' in r.stderr, '-i ID of a message no longer queued: exit 100', r.stderr)
r = qlist('-i', '../x', check=False)
t.eq(r.returncode, 100, '-i with an invalid id: exit 100')
r = qlist('-x', check=False)
t.ok(r.returncode == 100 and b'usage' in r.stderr.lower(), 'bad option: usage, exit 100', r.stderr)
