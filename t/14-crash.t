#!/usr/bin/env python3
# Crash safety of queue-run: 50 parallel SMTP senders push 1000 messages
# while queue-run is killed with SIGKILL again and again (and restarted).
# Every message that got 250 must end up in the Maildir; a kill may cause
# at most one duplicate (maildir-deliver's DELIVERY_ID makes a redelivery
# after a crash find the earlier copy, so there should be almost none).
import os
import random
import re
import signal
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, ASAN, wait_for  # noqa: E402

t = TAP()
SENDERS, PER = 50, 20
if ASAN:
    SENDERS, PER = 25, 20   # the sanitizer build is several times slower
DEMO = 'demo@example.test'
inst = Instance(users={DEMO: 'pw'})
port = inst.start_smtp(opts=['-c', '100', '-C', '100'])

accepted = set()
sent = set()
errors = []
lock = threading.Lock()


def sender(k):
    try:
        s = smtplib.SMTP('127.0.0.1', port, timeout=60)
        s.ehlo('crash.test')
    except Exception as e:   # noqa: BLE001
        with lock:
            errors.append('connect: %r' % e)
        return
    for i in range(PER):
        tag = 'crash-%d-%d' % (k, i)
        with lock:
            sent.add(tag)
        msg = ('From: s%d@remote.test\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@crash.test>\r\n\r\nbody %s\r\n'
               % (k, DEMO, tag, tag, tag))
        try:
            s.sendmail('s%d@remote.test' % k, [DEMO], msg)
            with lock:
                accepted.add(tag)
        except smtplib.SMTPException as e:
            with lock:
                errors.append('%s: %r' % (tag, e))
            try:
                s.rset()
            except Exception:   # noqa: BLE001
                break
        except OSError as e:
            with lock:
                errors.append('%s: %r' % (tag, e))
            break
    try:
        s.quit()
    except Exception:   # noqa: BLE001
        pass


q = inst.start_queue()
wait_for(lambda: 'started' in inst.log(q), 10)   # the queue directories exist
threads = [threading.Thread(target=sender, args=(k,)) for k in range(SENDERS)]
t0 = time.time()
for th in threads:
    th.start()
kills = 0
rnd = random.Random(14)
# kill while the senders run, and on while the queue drains (at least 20)
while (any(th.is_alive() for th in threads) or kills < 20) and time.time() - t0 < 40:
    time.sleep(rnd.uniform(0.02, 0.2))
    # alternately kill queue-run alone (its children finish as orphans) and
    # its whole process group (deliveries die half-way)
    if kills % 2:
        os.killpg(q.pid, signal.SIGKILL)
    else:
        os.kill(q.pid, signal.SIGKILL)
    q.wait()
    kills += 1
    q = inst.start_queue()
for th in threads:
    th.join(30)
t.diag('%d accepted, %d errors, %d kills in %.1f s' % (len(accepted), len(errors), kills, time.time() - t0))
for e in errors[:5]:
    t.diag(e)
t.ok(kills >= 5, 'queue-run was killed repeatedly (%d times)' % kills)
t.ok(len(accepted) >= SENDERS * PER * 0.95, 'nearly all messages accepted (%d)' % len(accepted), '\n'.join(errors[:10]))


def delivered():
    tags = []
    for m in inst.mails(DEMO):
        g = re.search(rb'\nSubject: (crash-\d+-\d+)\n', m)
        if g:
            tags.append(g.group(1).decode())
    return tags


wait_for(lambda: accepted <= set(delivered()) and not inst.queue_ids(), 60, 0.2)
got = delivered()
missing = accepted - set(got)
t.ok(not missing, 'every accepted message is in the Maildir', 'missing %d: %s' % (len(missing), sorted(missing)[:10]))
dups = len(got) - len(set(got))
t.ok(dups <= kills, 'duplicates (%d) <= kills (%d)' % (dups, kills))
t.ok(set(got) <= sent, 'nothing delivered that was not sent')
t.ok(not inst.queue_ids(), 'queue empty at the end', inst.queue_ids())
inst.kill(q)
t.eq(q.returncode, 0, 'the last queue-run exits 0 on SIGTERM')
