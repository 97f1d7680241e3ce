#!/usr/bin/env python3
# queue-run: retries (SIGALRM and timer), giving up after the lifetime,
# SIGTERM with deliveries in flight, alias expansion, the concurrency limit,
# the trigger FIFO (garbage, overflow rescan), start-up housekeeping.
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, BIN, wait_for  # noqa: E402

t = TAP()
BOB = 'bob@example.test'


def started(inst, q):
    """queue-run is up (its queue directories exist); returns q."""
    wait_for(lambda: 'started' in inst.log(q), 10)
    return q


def inject(inst, sender, rcpts, msg):
    return inst.inject(sender, rcpts, msg)


def stub_deliver(inst, sleep):
    """A maildir-deliver in front of the real one that logs its start and
    end (ns) and sleeps; returns (PATH, log file)."""
    d = tempfile.mkdtemp(prefix='stub-', dir=inst.root)
    log = os.path.join(inst.root, 'deliveries')
    with open(os.path.join(d, 'maildir-deliver'), 'w') as f:
        f.write('#!/bin/sh\necho "start $$ $(date +%%s%%N)" >> %s\nsleep %s\n'
                'echo "end $$ $(date +%%s%%N)" >> %s\nexec %s/maildir-deliver "$@"\n' % (log, sleep, log, BIN))
    os.chmod(os.path.join(d, 'maildir-deliver'), 0o755)
    return d + ':' + inst.env['PATH'], log


def qlist(inst, *args):
    return inst.run(['queue-list'] + list(args)).stdout.decode()


def empty(inst):
    return lambda: not inst.queue_ids()


# --- temporary failure, SIGALRM retry ----------------------------------------
inst = Instance(users={'demo@example.test': 'pw', BOB: 'pw', 'carol@example.test': 'pw'},
                aliases={'team@example.test': ['demo@example.test', BOB],
                         'all@example.test': ['team@example.test', 'carol@example.test'],
                         'loopa@example.test': ['loopb@example.test'],
                         'loopb@example.test': ['loopa@example.test']})
# start-up housekeeping material
os.makedirs(os.path.join(inst.root, 'queue/tmp'), exist_ok=True)
os.makedirs(os.path.join(inst.root, 'queue/state'), exist_ok=True)
for name, age in (('old', 37 * 3600), ('fresh', 60)):
    p = os.path.join(inst.root, 'queue/tmp', name)
    open(p, 'w').close()
    os.utime(p, (time.time() - age, time.time() - age))
open(os.path.join(inst.root, 'queue/state/abc.123'), 'w').write('0 T 1 2 x\n')

demo_md = inst.maildir('demo@example.test')
os.makedirs(demo_md, exist_ok=True)
os.rename(demo_md, demo_md + '.off')
q = started(inst, inst.start_queue(env={'QUEUE_RETRY_MIN': '300'}))
t.ok(wait_for(lambda: 'started' in inst.log(q), 10), 'queue-run starts')
tmp = sorted(os.listdir(os.path.join(inst.root, 'queue/tmp')))
t.eq(tmp, ['fresh'], 'tmp files older than 36 hours removed, fresh ones kept')
t.ok(not os.path.exists(os.path.join(inst.root, 'queue/state/abc.123')), 'orphan state log removed')

t.eq(inject(inst, BOB, ['demo@example.test'], b'Subject: retry me\n\nx\n'), 0, 'injected')
t.ok(wait_for(lambda: 'status=deferred' in inst.log(q), 10), 'missing Maildir: deferred', inst.log(q))
out = qlist(inst)
t.ok('deferred attempts=1 next=in ' in out and '4.3.5' in out, 'queue-list shows it deferred', out)
time.sleep(0.3)
t.eq(inst.mails('demo@example.test'), [], 'not delivered yet')
os.rename(demo_md + '.off', demo_md)
os.kill(q.pid, signal.SIGALRM)
t.eq(len(inst.wait_mails('demo@example.test', 1, timeout=10)), 1, 'delivered after SIGALRM')
t.ok(wait_for(empty(inst), 10), 'queue empty')
t.ok('rcpt=<demo@example.test> status=delivered' in inst.log(q) and 'attempts=2' in inst.log(q),
     'delivered on attempt 2', inst.log(q))

# --- alias expansion -----------------------------------------------------------
t.eq(inject(inst, BOB, ['all@example.test'], b'Subject: to all\n\nhi all\n'), 0, 'injected to a nested alias')
for a, n in (('demo@example.test', 2), (BOB, 1), ('carol@example.test', 1)):
    got = inst.wait_mails(a, n, timeout=10)
    t.ok(len(got) == n and b'Subject: to all' in got[-1], 'alias reaches ' + a)
t.ok(wait_for(empty(inst), 10), 'queue empty after alias delivery')
t.ok('rcpt=<all@example.test> status=delivered' in inst.log(q), 'alias recipient done', inst.log(q))
t.eq(inject(inst, BOB, ['loopa@example.test'], b'Subject: loop\n\nx\n'), 0, 'injected to an alias loop')
got = inst.wait_mails(BOB, 2, timeout=10)
t.ok(len(got) == 2 and b'5.4.6' in got[1] and b'loopa@example.test' in got[1], 'alias loop bounces with 5.4.6')
time.sleep(0.3)
t.eq((len(inst.mails('demo@example.test')), len(inst.mails(BOB)), len(inst.mails('carol@example.test'))),
     (2, 2, 1), 'each address got each message once')
got = inst.mails('carol@example.test')[0]
t.ok(got.startswith(b'Return-Path: <' + BOB.encode() + b'>\nDelivered-To: carol@example.test\n'
                    b'Delivered-To: all@example.test\n'), 'forwarded by an alias: Delivered-To: the alias, under the mailbox\'s', got[:200])
# The message comes back to the alias (as through another host): a loop.
t.eq(inject(inst, BOB, ['team@example.test'], b'Delivered-To: team@example.test\nSubject: round\n\nx\n'), 0,
     'injected to an alias it was already forwarded by')
got = inst.wait_mails(BOB, 3, timeout=10)
t.ok(len(got) == 3 and b'5.4.6 mail forwarding loop: already delivered to team@example.test' in got[2],
     'forwarding loop bounces with 5.4.6', got[-1][:2000] if got else '')
time.sleep(0.3)
t.eq((len(inst.mails('demo@example.test')), len(inst.mails(BOB))), (2, 3), 'the looping message reached nobody')

# --- the trigger FIFO: garbage, then an overflow that forces a rescan --------
fifo = os.path.join(inst.root, 'queue/trigger')
fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
os.write(fd, b'not-an-id\n' + b'f' * 5000 + b'\n../../etc\n\n')
# a message that arrives without a trigger: injected elsewhere, moved in
other = Instance(users={})
t.eq(inject(other, BOB, ['carol@example.test'], b'Subject: no trigger\n\nx\n'), 0, 'injected in another root')
for dirpath, _, files in os.walk(os.path.join(other.root, 'queue/msg')):
    for n in files:
        dest = os.path.join(inst.root, 'queue/msg', os.path.basename(dirpath), n)
        os.rename(os.path.join(dirpath, n), dest)
time.sleep(0.5)
t.eq(len(inst.mails('carol@example.test')), 1, 'no trigger: not seen yet')
os.write(fd, b'\n' * 65536)
os.close(fd)
got = inst.wait_mails('carol@example.test', 2, timeout=10)
t.ok(len(got) == 2 and b'no trigger' in got[-1], 'a full FIFO read makes queue-run rescan')
t.ok(q.poll() is None, 'garbage in the FIFO does no harm')
inst.kill(q)
t.eq(q.returncode, 0, 'exit 0 on SIGTERM')

# --- lifetime: retries on the timer, then give up and bounce -----------------
inst2 = Instance(users={'gone@example.test': 'pw', 'late@example.test': 'pw', BOB: 'pw'})
for a in ('gone@example.test', 'late@example.test'):
    md = inst2.maildir(a)
    os.makedirs(md, exist_ok=True)
    os.rename(md, md + '.off')
q2 = started(inst2, inst2.start_queue(env={'QUEUE_RETRY_MIN': '1', 'QUEUE_RETRY_MAX': '1', 'QUEUE_LIFETIME': '4'}))
t.eq(inject(inst2, BOB, ['gone@example.test'], b'Subject: never\n\nx\n'), 0, 'injected for a missing mailbox')
t.eq(inject(inst2, BOB, ['late@example.test'], b'Subject: later\n\nx\n'), 0, 'injected for a mailbox that comes back')
time.sleep(1.5)
os.rename(inst2.maildir('late@example.test') + '.off', inst2.maildir('late@example.test'))
got = inst2.wait_mails('late@example.test', 1, timeout=10)
t.eq(len(got), 1, 'retried on the timer and delivered')
got = inst2.wait_mails(BOB, 1, timeout=15)
t.eq(len(got), 1, 'bounce after the lifetime')
if got:
    t.ok(b'gone@example.test' in got[0] and b'gave up after' in got[0] and b'4.3.5' in got[0],
         'bounce says it gave up, with the last reason', got[0])
t.ok(wait_for(empty(inst2), 10), 'queue empty')
log = inst2.log(q2)
t.ok(log.count('rcpt=<gone@example.test> status=deferred') >= 2, 'several attempts before giving up', log)
inst2.kill(q2)

# --- SIGTERM waits for running deliveries; the concurrency limit ----------------
inst3 = Instance(users={'demo@example.test': 'pw', BOB: 'pw'})
path, dlog = stub_deliver(inst3, '1')
q3 = started(inst3, inst3.start_queue(env={'PATH': path, 'QUEUE_EXEC_AGENTS': '1'}))
t.eq(inject(inst3, BOB, ['demo@example.test'], b'Subject: slow\n\nx\n'), 0, 'injected (slow delivery)')
t.ok(wait_for(lambda: os.path.exists(dlog), 10), 'delivery started')
t0 = time.time()
os.kill(q3.pid, signal.SIGTERM)   # as s6-svc -d: the process, not its group
q3.wait(10)
t.eq(q3.returncode, 0, 'SIGTERM during a delivery: exit 0')
t.ok(time.time() - t0 > 0.5, 'it waited for the delivery')
t.eq(len(inst3.mails('demo@example.test')), 1, 'the delivery in flight completed')
t.ok(wait_for(empty(inst3), 2), 'and was recorded')
t.ok('stopped' in inst3.log(q3), 'stop logged')

os.unlink(dlog)
path, dlog = stub_deliver(inst3, '0.5')
for i in range(12):
    inject(inst3, BOB, ['demo@example.test'], ('Subject: par %d\n\nx\n' % i).encode())
t0 = time.time()
q3 = started(inst3, inst3.start_queue(env={'PATH': path, 'QUEUE_EXEC_AGENTS': '1'}, opts=['-l', '4']))
got = inst3.wait_mails('demo@example.test', 13, timeout=30)
elapsed = time.time() - t0
t.eq(len(got), 13, 'twelve more delivered')
events = []
with open(dlog) as f:
    for line in f:
        kind, pid, ns = line.split()
        events.append((int(ns), 1 if kind == 'start' else -1))
cur = peak = 0
for _, d in sorted(events):
    cur += d
    peak = max(peak, cur)
t.ok(2 <= peak <= 4, 'parallel deliveries, at most -l 4 at once (peak %d)' % peak)
t.ok(elapsed < 6, 'in parallel: 12 x 0.5 s took %.1f s' % elapsed)
inst3.kill(q3)
t.eq(q3.returncode, 0, 'exit 0')

# --- remote recipients: one job per message and domain, limits, reports -------
inst4 = Instance(users={'demo@example.test': 'pw', BOB: 'pw'})
stub = tempfile.mkdtemp(prefix='stub-', dir=inst4.root)
rlog = os.path.join(inst4.root, 'remote-jobs')
with open(os.path.join(stub, 'mx-lookup'), 'w') as f:
    f.write('#!/bin/sh\ncase "$1" in *.invalid) echo "mx-lookup: fatal: 5.1.2 no such domain: $1" >&2; exit 100;; esac\n'
            'shift\nexec "$@"\n')
with open(os.path.join(stub, 'remote-send'), 'w') as f:
    # logs "start DOMAIN NS RCPT...", answers per recipient by its local part
    f.write('#!/bin/sh\nd=$1; shift; s=$1; shift\n'
            'echo "start $d $(date +%%s%%N) $*" >> %s\ncat > /dev/null\nsleep ${REMOTE_SLEEP:-0}\n'
            'for r in "$@"; do case "$r" in perm*) printf "h5.1.1 <%%s> unknown\\0" "$r";; '
            'temp*) printf "s4.2.1 try later\\0";; *) printf "r\\0";; esac; done\n'
            'echo "end $d $(date +%%s%%N)" >> %s\nprintf "K%%s accepted\\0" "$d"\n' % (rlog, rlog))
for n in ('mx-lookup', 'remote-send'):
    os.chmod(os.path.join(stub, n), 0o755)
q4 = started(inst4, inst4.start_queue(env={'PATH': stub + ':' + inst4.env['PATH'], 'QUEUE_RETRY_MIN': '300'}))
t.eq(inject(inst4, BOB, ['ok1@a.test', 'perm@a.test', 'temp@b.test', 'ok2@b.test', 'ok@c.test',
                         'x@nowhere.invalid', 'demo@example.test'], b'Subject: mixed\n\nx\n'), 0, 'mixed injected')
got = inst4.wait_mails(BOB, 1, timeout=10)
t.eq(len(got), 1, 'one bounce for the permanent remote failures')
if got:
    t.ok(b'perm@a.test' in got[0] and b'5.1.1' in got[0] and b'x@nowhere.invalid' in got[0]
         and b'5.1.2' in got[0] and b'temp@b.test' not in got[0], 'it names them with their reasons', got[0])
t.eq(len(inst4.mails('demo@example.test')), 1, 'the local recipient got it')
with open(rlog) as f:
    starts = sorted(l.split(' ', 3)[1] + ' ' + l.split(' ', 3)[3].strip() for l in f if l.startswith('start'))
t.eq(starts, ['a.test ok1@a.test perm@a.test', 'b.test temp@b.test ok2@b.test', 'c.test ok@c.test'],
     'one remote-send per domain with its recipients')
out = qlist(inst4)
t.ok('<temp@b.test> deferred attempts=1' in out and '4.2.1' in out, 'temporary remote failure deferred', out)
t.ok('<ok1@a.test> delivered' in out and '<perm@a.test> bounced' in out, 'others recorded', out)
log = inst4.log(q4)
t.ok('rcpt=<ok1@a.test> status=delivered' in log and 'reason="a.test accepted"' in log, 'remote delivery logged', log)
inst4.kill(q4)

os.unlink(rlog)
for i in range(8):
    inject(inst4, BOB, ['u%d@d1.test' % i], b'Subject: d1\n\nx\n')
    inject(inst4, BOB, ['u%d@d2.test' % i], b'Subject: d2\n\nx\n')
q4 = inst4.start_queue(env={'PATH': stub + ':' + inst4.env['PATH'], 'QUEUE_RETRY_MIN': '300', 'REMOTE_SLEEP': '0.3'},
                       opts=['-r', '3', '-R', '2'])
t.ok(wait_for(lambda: inst4.log(q4).count('.test> status=delivered') >= 16, 20), 'all 16 remote deliveries done',
     inst4.log(q4))
ev = []
with open(rlog) as f:
    for l in f:
        p = l.split()
        ev.append((int(p[2]), 1 if p[0] == 'start' else -1, p[1]))
cur, peak, dom, dpeak = 0, 0, {}, 0
for _, d, name in sorted(ev):
    cur += d
    dom[name] = dom.get(name, 0) + d
    peak, dpeak = max(peak, cur), max(dpeak, dom[name])
t.ok(peak <= 3 and dpeak <= 2, 'limits: total %d <= -r 3, per domain %d <= -R 2' % (peak, dpeak))
t.ok(peak >= 2, 'remote deliveries ran in parallel')
t.ok(wait_for(lambda: len(inst4.queue_ids()) == 1, 5), 'only the deferred message left')
inst4.kill(q4)

# --- one queue-run per queue ---------------------------------------------------
q5 = started(inst4, inst4.start_queue())
r = inst4.run(['queue-run'], check=False, timeout=10)
t.ok(r.returncode == 111 and b'another queue-run' in r.stderr, 'a second queue-run refuses to run', r.stderr)
inst4.kill(q5)
t.eq(q5.returncode, 0, 'the first one was unaffected')

# --- queue/pool: finished files are kept for reuse, large ones are not ----------
inst6 = Instance(users={BOB: 'pw'})
q6 = started(inst6, inst6.start_queue())
pool = os.path.join(inst6.root, 'queue', 'pool')
t.eq(inject(inst6, BOB, [BOB], b'Subject: small\n\nx\n'), 0, 'small message injected')
inst6.wait_mails(BOB, 1, timeout=10)
t.ok(wait_for(lambda: len(os.listdir(pool)) == 1, 5), 'its finished file is kept in queue/pool')
t.eq(inject(inst6, BOB, [BOB], b'Subject: large\n\n' + (b'y' * 99 + b'\n') * 1000), 0, 'large message injected')
t.eq(os.listdir(pool), [], 'the pooled file was taken (found by listing the pool)')
inst6.wait_mails(BOB, 2, timeout=10)
wait_for(lambda: not inst6.queue_ids(), 5)
t.eq(os.listdir(pool), [], 'the 100 KB file was removed, not pooled')
inst6.kill(q6)
