#!/usr/bin/env python3
# queue-run's delivery workers: local deliveries run job after job in
# persistent processes. Each job gets its own environment and descriptors,
# a job that dies takes only its worker, a worker retires after -j jobs (100 here),
# a killed worker is replaced, and QUEUE_EXEC_AGENTS turns them off.
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, wait_for  # noqa: E402

t = TAP()
USERS = ['u%d@example.test' % i for i in range(3)]


def inject(inst, sender, rcpts, msg):
    return inst.inject(sender, rcpts, msg)


def children(p):
    out = subprocess.run(['ps', '-o', 'pid=', '--ppid', str(p.pid)], capture_output=True, text=True).stdout
    return sorted(int(x) for x in out.split())


def exe(pid):
    try:
        return os.path.basename(os.readlink('/proc/%d/exe' % pid))
    except OSError:
        return None


inst = Instance(users={**{u: 'pw' for u in USERS}, 'small@example.test': 'pw', 'slow@example.test': 'pw'},
                quotas={'small@example.test': 200})
for bad in ('0', 'x', ''):
    r = subprocess.run(['queue-run', '-j', bad], env=inst.env, capture_output=True)
    t.ok(r.returncode == 100 and b'queue-run: usage: ' in r.stderr, '-j %r: usage, exit 100' % bad, r.stderr)
q = inst.start_queue(opts=['-l', '1', '-j', '100'])
wait_for(lambda: 'started' in inst.log(q), 10)

# --- one worker, three jobs: each its own recipient and envelope -------------------
for i, u in enumerate(USERS):
    t.eq(inject(inst, 's%d@remote.test' % i, [u], b'Subject: job %d\n\nbody %d\n' % (i, i)), 0, 'injected for ' + u)
ok = all(inst.wait_mails(u, 1, 20) for u in USERS)
t.ok(ok, 'all three delivered', inst.log(q))
for i, u in enumerate(USERS):
    m = inst.mails(u)[0]
    t.ok(m.startswith(b'Return-Path: <s%d@remote.test>\nDelivered-To: %s\n' % (i, u.encode()))
         and b'body %d\n' % i in m, u + ': its own sender, recipient and message', m[:200])
kids = children(q)
t.ok(len(kids) == 1, 'one worker (-l 1) stays after the deliveries', kids)
t.eq(exe(kids[0]) if kids else None, 'queue-run', 'the worker is a copy of queue-run, not an exec')
first = kids[0] if kids else 0

# --- a job that fails fatally ends its worker only ------------------------------------
t.eq(inject(inst, 'big@remote.test', ['small@example.test'], b'Subject: big\n\n' + b'x' * 1000 + b'\n'), 0,
     'injected an over-quota message')
t.ok(wait_for(lambda: 'rcpt=<small@example.test> status=failed' in inst.log(q), 20),
     'over quota: failed permanently', inst.log(q))
t.ok('5.2.2' in inst.log(q), 'with the 5.2.2 reason from the worker')
t.ok(wait_for(lambda: first not in children(q), 5), 'the worker that exited is gone')
t.eq(inject(inst, 'after@remote.test', [USERS[0]], b'Subject: after\n\nafter\n'), 0, 'injected another')
t.ok(inst.wait_mails(USERS[0], 2, 20), 'the next delivery works (a new worker)', inst.log(q))

# --- a killed idle worker is replaced ----------------------------------------------
kids = children(q)
t.ok(len(kids) == 1, 'one worker again', kids)
if kids:
    os.kill(kids[0], signal.SIGKILL)
    wait_for(lambda: kids[0] not in children(q), 5)
t.eq(inject(inst, 'k@remote.test', [USERS[1]], b'Subject: k\n\nk\n'), 0, 'injected after the kill')
t.ok(inst.wait_mails(USERS[1], 2, 20), 'delivered by a new worker', inst.log(q))
t.ok(q.poll() is None, 'queue-run still running')

# --- a worker killed in the middle of a job: deferred, then delivered once ------------
# its maildirsize is a FIFO: the job blocks opening it until we write
fifo = os.path.join(inst.maildir('slow@example.test'), 'maildirsize')
os.mkfifo(fifo)
t.eq(inject(inst, 'm@remote.test', ['slow@example.test'], b'Subject: mid\n\nmid\n'), 0, 'injected for a blocking mailbox')
time.sleep(1)
kids = children(q)
t.ok(len(kids) == 1 and 'slow@example.test' not in inst.log(q), 'the job is running in the worker', (kids, inst.log(q)))
if kids:
    os.kill(kids[0], signal.SIGKILL)
t.ok(wait_for(lambda: 'rcpt=<slow@example.test> status=deferred' in inst.log(q), 10),
     'worker killed mid-job: the recipient is deferred', inst.log(q))
os.unlink(fifo)
os.kill(q.pid, signal.SIGALRM)
t.ok(inst.wait_mails('slow@example.test', 1, 20), 'after SIGALRM: delivered', inst.log(q))
time.sleep(0.5)
t.eq(len(inst.mails('slow@example.test')), 1, 'once')

# --- a worker retires after 100 jobs (-j): nothing lost, nothing twice ---------------
before = children(q)
logpos = len(inst.log(q))
N = 130
for i in range(N):
    inject(inst, 'r@remote.test', [USERS[2]], b'Subject: r%d\n\nr%d\n' % (i, i))
t.ok(inst.wait_mails(USERS[2], N + 1, 60) and wait_for(lambda: not inst.queue_ids(), 20),
     '%d more delivered' % N, inst.log(q))
time.sleep(0.5)
got = sorted(int(m.split(b'Subject: r')[1].split(b'\n')[0]) for m in inst.mails(USERS[2]) if b'Subject: r' in m)
t.eq(got, list(range(N)), 'each exactly once')
after = children(q)
t.ok(len(after) == 1 and after != before, 'a fresh worker after the first retired', (before, after))
t.ok(inst.log(q)[logpos:].count('status=deferred') == 0, 'no job was deferred on the way', inst.log(q)[logpos:])
inst.kill(q)
t.eq(q.returncode, 0, 'SIGTERM: queue-run exits 0')
t.ok(wait_for(lambda: not any(exe(p) == 'queue-run' for p in after), 5), 'and its idle worker is gone')

# --- QUEUE_EXEC_AGENTS: no workers ----------------------------------------------------
q = inst.start_queue(env={'QUEUE_EXEC_AGENTS': '1'}, opts=['-l', '1'])
wait_for(lambda: 'started' in inst.log(q), 10)
inject(inst, 'x@remote.test', [USERS[0]], b'Subject: exec\n\nexec\n')
t.ok(inst.wait_mails(USERS[0], 3, 20), 'QUEUE_EXEC_AGENTS: delivered', inst.log(q))
time.sleep(0.3)
t.eq(children(q), [], 'and no worker stays')
inst.kill(q)
