#!/usr/bin/env python3
"""Concurrent sessions over the imaps and pop3s services (instance-setup
-A -P -c, s6): three IMAP sessions on one INBOX see each other's flag
changes, expunges, appends and new deliveries as untagged FETCH, EXPUNGE
and EXISTS, and number messages alike afterwards; a POP3 DELE is an
EXPUNGE to an IMAP session, and a POP3 session that only reads changes
nothing for it; maildir-deliver, POP3 (reading and deleting) and IMAP
(APPEND, STORE) all at once lose and duplicate nothing."""
import os
import re
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP  # noqa: E402
from pmimapsvc import ImapService  # noqa: E402

t = TAP()
svc = ImapService(t)


def msg(mid):
    return b'Subject: %s\nMessage-ID: <%s@example.test>\n\nbody of %s\n' % ((mid.encode(),) * 3)


for i in range(1, 6):
    svc.deliver(msg('m%d' % i))


def mid_of(text):
    return re.search(rb'(?im)^message-id:\s*<([^@>]*)@', text).group(1).decode()


def untagged(c, what):
    """Send NOOP; the untagged responses of kind what since the last call."""
    c.noop()
    return c.untagged_responses.pop(what, [])


def mids(c, seqs='1:*'):
    """Message-IDs by sequence number, in order."""
    typ, data = c.fetch(seqs, '(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
    out = []
    for d in data:
        if isinstance(d, tuple):
            out.append((int(d[0].split()[0]), mid_of(d[1])))
    return [m for _, m in sorted(out)]


A, B, C = svc.login(), svc.login(), svc.login()
for c in (A, B, C):
    c.untagged_responses.clear()

# flags
A.store('1', '+FLAGS', '(\\Flagged)')
for n, c in (('B', B), ('C', C)):
    f = untagged(c, 'FETCH')
    t.ok(len(f) == 1 and f[0].startswith(b'1 (') and b'\\Flagged' in f[0], n + ': untagged FETCH of A\'s \\Flagged', f)

# expunge by B
B.store('2', '+FLAGS.SILENT', '(\\Deleted)')
B.expunge()
B.untagged_responses.clear()
for n, c in (('A', A), ('C', C)):
    e = untagged(c, 'EXPUNGE')
    t.eq(e, [b'2'], n + ': EXPUNGE 2 after B expunged it')
    t.eq(mids(c), ['m1', 'm3', 'm4', 'm5'], n + ': numbers messages as B does afterwards')

# new mail and an append
svc.deliver(msg('m6'))
C.append('INBOX', '(\\Seen)', None, msg('c1').replace(b'\n', b'\r\n'))
C.untagged_responses.clear()
for n, c in (('A', A), ('B', B)):
    x = untagged(c, 'EXISTS')
    t.ok(x and x[-1] == b'6', n + ': EXISTS 6 after a delivery and C\'s APPEND', x)
    t.eq(sorted(mids(c, '5:6')), ['c1', 'm6'], n + ': ... the new messages at 5 and 6')
t.eq(mids(C), mids(A), 'C numbers them as A does')

# a POP3 session that reads everything and deletes nothing changes nothing for IMAP
p = svc.pop()
n = p.stat()[0]
for i in range(1, n + 1):
    p.retr(i)
p.quit()
for nm, c in (('A', A), ('B', B)):
    c.noop()
    got = {k: c.untagged_responses.pop(k, []) for k in ('EXPUNGE', 'EXISTS')}
    t.ok(n == 6 and not got['EXPUNGE'] and got['EXISTS'] in ([], [b'6']),
         nm + ': a POP3 session that only reads: no EXPUNGE, no new message', (n, got))
typ, data = A.fetch('1', '(FLAGS)')
t.ok(b'\\Flagged' in data[0], 'flags kept through it', data)

# POP3 DELE of m3 (number 2 for all)
before = mids(B)
p = svc.pop()
tops = [mid_of(b'\n'.join(p.top(i, 0)[1])) for i in range(1, p.stat()[0] + 1)]
p.dele(tops.index('m3') + 1)
p.quit()
for nm, c in (('A', A), ('B', B), ('C', C)):
    t.eq(untagged(c, 'EXPUNGE'), [b'2'], nm + ': POP3 DELE of message 2 seen as EXPUNGE 2')
t.eq(mids(B), [x for x in before if x != 'm3'], '... and the numbering follows')
for c in (A, B, C):
    c.logout()

# delivery, POP3 and IMAP at once
N, M = 40, 20
done = threading.Event()
popdel, errors = set(), []


def deliverer():
    try:
        for i in range(N):
            svc.deliver(msg('d%d' % i))
    except Exception as e:   # noqa: BLE001 (reported below)
        errors.append('deliver: %r' % e)
    done.set()


def pop_once():
    p = svc.pop()
    for i in range(1, p.stat()[0] + 1):
        mid = mid_of(b'\n'.join(p.retr(i)[1]))
        if re.fullmatch(r'd\d*[02468]', mid):
            p.dele(i)
            popdel.add(mid)
    p.quit()


def popper():
    try:
        while not done.is_set():
            pop_once()
        pop_once()
    except Exception as e:   # noqa: BLE001
        errors.append('pop3: %r' % e)


def imapper():
    try:
        c = svc.login()
        for j in range(M):
            c.append('INBOX', '(\\Flagged)', None, msg('a%d' % j).replace(b'\n', b'\r\n'))
            c.store('1:*', '+FLAGS.SILENT', '(\\Seen)')
            c.noop()
            mids(c)
        c.logout()
    except Exception as e:   # noqa: BLE001
        errors.append('imap: %r' % e)


th = [threading.Thread(target=f) for f in (deliverer, popper, imapper)]
for x in th:
    x.start()
for x in th:
    x.join(300)
t.ok(not errors and not any(x.is_alive() for x in th), 'delivery, POP3 and IMAP at once: no client error', errors)
c = svc.login()
got = mids(c)
want = {'m1', 'm4', 'm5', 'm6', 'c1'} | {'d%d' % i for i in range(N) if i % 2} | {'a%d' % j for j in range(M)}
t.eq(popdel, {'d%d' % i for i in range(0, N, 2)}, '... POP3 deleted every even delivery')
t.ok(sorted(got) == sorted(want), '... the rest all there once: nothing lost, nothing duplicated',
     (sorted(set(want) - set(got)), sorted(set(got) - set(want)), len(got), len(want)))
typ, data = c.fetch('1:*', '(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
flagged = [mid_of(d[1]) for d in data
           if isinstance(d, tuple) and b'\\Flagged' in d[0]]
t.eq(sorted(x for x in flagged if x.startswith('a')), sorted('a%d' % j for j in range(M)),
     '... every APPENDed message kept its \\Flagged through the POP3 sessions')
files = sum(len(os.listdir(os.path.join(svc.md, s))) for s in ('new', 'cur'))
t.eq(files, len(want), '... and as many files in the Maildir')
c.logout()
t.eq(svc.trouble(), [], 'no crash or fatal error in the services\' logs')
svc.stop()
