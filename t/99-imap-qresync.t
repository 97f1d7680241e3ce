#!/usr/bin/env python3
# CONDSTORE and QRESYNC (RFC 7162) in imap-mailbox: a client that saw the
# folder at MODSEQ m and went away gets, at SELECT (QRESYNC ...), with
# FETCH (CHANGEDSINCE m) and UID FETCH (CHANGEDSINCE m VANISHED), exactly
# the flag changes and the VANISHED UIDs after m: those the test made
# through another session (STORE, EXPUNGE, MOVE), by renaming and removing
# files directly (as a shell, POP3 or Dovecot would) and by delivering.
# Two live sessions see each other's changes with one MODSEQ, expunges as
# VANISHED; STORE (UNCHANGEDSINCE m) refuses a conflicting change with
# [MODIFIED]; SEARCH MODSEQ, STATUS HIGHESTMODSEQ; and BADs for QRESYNC
# that was not enabled.
import imaplib
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance  # noqa: E402
from pmimapraw import Raw, fetches, vanished, code, uidset  # noqa: E402

t = TAP()
inst = Instance(users={'demo@example.test': 'demo'})
MD = inst.maildir('demo@example.test')


def deliver(n, folder=None):
    msg = ('From: a@example.org\nTo: demo@example.test\nSubject: message %d\n'
           'Date: Tue, 3 Mar 2026 10:00:00 +0100\n\nbody %d\n' % (n, n))
    inst.deliver(MD, msg, folder)


def uidfiles():
    """{uid: path} of INBOX's messages, by dovecot-uidlist."""
    byname = {}
    with open(os.path.join(MD, 'dovecot-uidlist'), 'rb') as f:
        for ln in f.read().split(b'\n')[1:]:
            if ln:
                uid, rest = ln.split(b' ', 1)
                byname[re.split('[,:]', rest.split(b':', 1)[1].decode())[0]] = int(uid)
    out = {}
    for sub in ('cur', 'new'):
        for n in os.listdir(os.path.join(MD, sub)):
            base = re.split('[,:]', n)[0]
            if base in byname:
                out[byname[base]] = os.path.join(MD, sub, n)
    return out


for i in range(1, 21):
    deliver(i)

server, port = inst.start_imap_mailbox(MD, t)

# ---- the client sees the folder, then goes away ----------------------
a = Raw(port)
u, r = a.cmd('CAPABILITY')
t.ok(b' CONDSTORE' in u[0] and b' QRESYNC' in u[0], 'CONDSTORE and QRESYNC advertised', u)
u, r = a.cmd('SELECT INBOX (QRESYNC (1 1))')
t.ok(r.startswith(b'BAD'), 'SELECT (QRESYNC ...) before ENABLE QRESYNC: BAD', r)
u, r = a.cmd('ENABLE QRESYNC')
t.ok(b'* ENABLED QRESYNC' in u and r.startswith(b'OK'), 'ENABLE QRESYNC', u)
u, r = a.cmd('SELECT INBOX')
m0 = code(u, 'HIGHESTMODSEQ')
uidv = code(u, 'UIDVALIDITY')
t.ok(r.startswith(b'OK') and m0 and m0 > 0, 'SELECT: HIGHESTMODSEQ', u)
u, r = a.cmd('FETCH 1:* (FLAGS MODSEQ)')
seen0 = fetches(u)
t.ok(len(seen0) == 20 and all(ms and ms <= m0 for _, ms in seen0.values()), 'FETCH MODSEQ: every MODSEQ <= HIGHESTMODSEQ', u[:3])
u, r = a.cmd('STATUS INBOX (HIGHESTMODSEQ MESSAGES)')
t.ok(b'HIGHESTMODSEQ %d' % m0 in u[0], 'STATUS HIGHESTMODSEQ = SELECT\'s', u)
a.close()

# ---- what changes while it is away -------------------------------------
want_flags = {}          # uid -> flags expected now (changed ones)
want_gone = set()
b = imaplib.IMAP4('127.0.0.1', port, timeout=30)
b.select('INBOX')
b.uid('STORE', '2,3', '+FLAGS', '(\\Seen)')
b.uid('STORE', '5', '+FLAGS', '(\\Flagged $Work)')
want_flags.update({2: {b'\\Seen'}, 3: {b'\\Seen'}, 5: {b'\\Flagged', b'$Work'}})
b.uid('STORE', '7', '+FLAGS', '(\\Deleted)')
b.expunge()
want_gone.add(7)
b.uid('MOVE', '8', 'Archive')
want_gone.add(8)
# a flag set and cleared again is a change too (a client may have seen neither)
b.uid('STORE', '4', '+FLAGS', '(\\Answered)')
b.uid('STORE', '4', '-FLAGS', '(\\Answered)')
want_flags[4] = set()
b.logout()
files = uidfiles()
os.rename(files[9], files[9].replace('/new/', '/cur/').split(':')[0] + ':2,FS')   # a shell: \Flagged \Seen
want_flags[9] = {b'\\Flagged', b'\\Seen'}
os.unlink(files[11])                                                          # POP3's DELE
want_gone.add(11)
os.rename(files[12], os.path.join(MD, '.Archive', 'cur', os.path.basename(files[12])))  # mv to another folder
want_gone.add(12)
deliver(21)
deliver(22)
want_flags.update({21: {b'\\Recent'}, 22: {b'\\Recent'}})


def norecent(d):
    return {k: (v - {b'\\Recent'}) for k, v in d.items()}


# ---- the client comes back ------------------------------------------------
c = Raw(port)
c.cmd('ENABLE QRESYNC')
u, r = c.cmd('SELECT INBOX (QRESYNC (%d %d))' % (uidv, m0))
m1 = code(u, 'HIGHESTMODSEQ')
got = fetches(u)
t.ok(r.startswith(b'OK') and m1 > m0, 'SELECT (QRESYNC): HIGHESTMODSEQ grew', u)
t.eq(vanished(u, True), want_gone, 'SELECT (QRESYNC): VANISHED (EARLIER) = the UIDs removed after m')
t.eq(set(got), set(want_flags), 'SELECT (QRESYNC): FETCH of exactly the messages changed after m')
t.eq(norecent({k: v[0] for k, v in got.items()}), norecent(want_flags), 'SELECT (QRESYNC): their flags as they are now')
t.ok(all(m0 < ms <= m1 for _, ms in got.values()), 'SELECT (QRESYNC): their MODSEQs after m', got)
t.ok(vanished(u, False) == set() and not any(b'EXPUNGE' in ln for ln in u), 'no plain VANISHED or EXPUNGE at SELECT', u)

u, r = c.cmd('FETCH 1:* (FLAGS) (CHANGEDSINCE %d)' % m0)
t.eq(set(fetches(u)), set(want_flags), 'FETCH (CHANGEDSINCE m): the same messages')
t.ok(all(b'MODSEQ' in ln and b'UID' in ln for ln in u), 'FETCH (CHANGEDSINCE m): with MODSEQ and UID', u)
u, r = c.cmd('UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)' % m0)
t.eq(vanished(u, True), want_gone, 'UID FETCH (CHANGEDSINCE m VANISHED): VANISHED (EARLIER)')
t.eq(set(fetches(u)), set(want_flags), 'UID FETCH (CHANGEDSINCE m VANISHED): the changed messages')
u, r = c.cmd('UID FETCH 1:10 (FLAGS) (CHANGEDSINCE %d VANISHED)' % m0)
t.eq((vanished(u, True), set(fetches(u))), ({7, 8}, {2, 3, 4, 5, 9}), 'UID FETCH 1:10 ... VANISHED: within the set only')
u, r = c.cmd('FETCH 1:* (FLAGS) (CHANGEDSINCE %d)' % m1)
t.ok(r.startswith(b'OK') and not u, 'FETCH (CHANGEDSINCE HIGHESTMODSEQ): nothing', u)
u, r = c.cmd('SEARCH MODSEQ %d' % (m0 + 1))
hits = u[0].split(b' (MODSEQ ')[0].split()[2:] if u else []
t.ok(len(hits) == len(want_flags) and re.search(rb'\(MODSEQ %d\)$' % max(v[1] for v in got.values()), u[0]),
     'SEARCH MODSEQ: the changed ones and their highest MODSEQ', u)
u, r = c.cmd('UID SEARCH RETURN (ALL) MODSEQ %d' % (m0 + 1))
t.ok(u and b' MODSEQ ' in u[0] and uidset(re.search(rb'ALL (\S+)', u[0]).group(1)) == set(want_flags),
     'UID SEARCH RETURN (ALL) MODSEQ: ESEARCH with MODSEQ', u)
c.close()

# known UIDs limit what is reported
c = Raw(port)
c.cmd('ENABLE QRESYNC')
u, r = c.cmd('EXAMINE INBOX (QRESYNC (%d %d 1:10))' % (uidv, m0))
t.eq((vanished(u, True), set(fetches(u))), ({7, 8}, {2, 3, 4, 5, 9}), 'EXAMINE (QRESYNC (v m 1:10)): only those UIDs')
u, r = c.cmd('EXAMINE INBOX (QRESYNC (%d %d))' % (uidv + 1, m0))
t.ok(b'* OK [CLOSED] previous folder closed' in u, '[CLOSED] when another SELECT closes the folder', u)
t.ok(not fetches(u) and not vanished(u, True), 'QRESYNC with another UIDVALIDITY: no changes sent (the client starts over)', u)
c.close()

# ---- two live sessions ------------------------------------------------------
x, y = Raw(port), Raw(port)
for s in (x, y):
    s.cmd('ENABLE QRESYNC')
    s.cmd('SELECT INBOX')
u, r = y.cmd('UID STORE 10 +FLAGS (\\Answered)')
ystore = fetches(u)
u, r = x.cmd('NOOP')
xsaw = fetches(u)
t.ok(10 in xsaw and b'\\Answered' in xsaw[10][0] and xsaw[10][1] == ystore[10][1],
     'the other session sees the change with the same MODSEQ', (u, ystore))
y.cmd('UID STORE 13 +FLAGS (\\Deleted)')
u, r = y.cmd('EXPUNGE')
t.ok(vanished(u, False) == {13} and not any(b'EXPUNGE' in ln for ln in u), 'EXPUNGE with QRESYNC on: VANISHED 13', u)
u, r = x.cmd('NOOP')
t.ok(vanished(u, False) == {13}, 'the other session gets VANISHED 13', u)

# interleaved changes by two sessions: one MODSEQ each, always growing
seen = []
for k, uid in enumerate((15, 16, 17, 18, 19, 20, 21, 22, 15, 16)):
    u, r = (x, y)[k % 2].cmd('UID STORE %d %sFLAGS (\\Answered)' % (uid, '-' if k >= 8 else '+'))
    seen.append(fetches(u).get(uid, (None, None))[1])
t.ok(None not in seen and seen == sorted(seen) and len(set(seen)) == len(seen),
     'two sessions changing in turn: each change a new, greater MODSEQ', seen)
x.cmd('NOOP')
y.cmd('NOOP')

# UNCHANGEDSINCE: the test and the change are one
u, r = x.cmd('UID FETCH 14 (MODSEQ)')
ms14 = fetches(u)[14][1]
y.cmd('UID STORE 14 +FLAGS (\\Flagged)')
u, r = x.cmd('UID STORE 14 (UNCHANGEDSINCE %d) +FLAGS (\\Answered)' % ms14)
t.ok(r.startswith(b'OK [MODIFIED 14]'), 'UID STORE (UNCHANGEDSINCE m) after another change: [MODIFIED 14]', (u, r))
t.ok(':2,F' in uidfiles()[14] and 'R' not in uidfiles()[14].split(':2,')[1], 'the refused change was not made', uidfiles()[14])
u, r = x.cmd('UID FETCH 14 (MODSEQ)')
ms14b = fetches(u)[14][1]
u, r = x.cmd('UID STORE 14 (UNCHANGEDSINCE %d) +FLAGS (\\Answered)' % ms14b)
f = fetches(u)
t.ok(r.startswith(b'OK') and b'MODIFIED' not in r and f[14][1] > ms14b and b'\\Answered' in f[14][0],
     'UNCHANGEDSINCE the current MODSEQ: done, with its new MODSEQ', (u, r))
u, r = x.cmd('STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Answered)')
t.ok(r.startswith(b'OK [MODIFIED 1]'), 'STORE (UNCHANGEDSINCE 0): [MODIFIED] with the sequence number', r)
u, r = x.cmd('STORE 1:2 +FLAGS.SILENT (\\Draft)')
t.ok(all(b'FLAGS' not in ln and b'MODSEQ' in ln for ln in u) and len(u) == 2, '.SILENT: MODSEQ only', u)
u, r = x.cmd('STATUS Archive (HIGHESTMODSEQ)')
t.ok(r.startswith(b'OK') and re.search(rb'HIGHESTMODSEQ \d+', u[0]), 'STATUS of another folder: HIGHESTMODSEQ', u)
x.close()
y.close()

# an expunge not yet reported (FETCH may not report it) is above the
# HIGHESTMODSEQ told to a client that enables CONDSTORE then
p1, q1 = Raw(port), Raw(port)
p1.cmd('SELECT INBOX')
q1.cmd('SELECT INBOX')
q1.cmd('UID STORE 16 +FLAGS (\\Deleted)')
q1.cmd('EXPUNGE')
u0, r = p1.cmd('FETCH 1 (FLAGS)')    # sees it gone, may not say so yet
u, r = p1.cmd('FETCH 1 (MODSEQ)')
told = code(u, 'HIGHESTMODSEQ')
u2, r = q1.cmd('STATUS INBOX (HIGHESTMODSEQ)')
now = int(re.search(rb'HIGHESTMODSEQ (\d+)', u2[0]).group(1))
t.ok(told and told < now and not any(b'EXPUNGE' in ln for ln in u0 + u), 'CONDSTORE enabled with an expunge pending: HIGHESTMODSEQ below it', (u, now))
u, r = p1.cmd('NOOP')
t.ok(any(ln.endswith(b' EXPUNGE') for ln in u), 'the expunge follows at NOOP', u)
p1.close()
q1.close()

# ---- CONDSTORE only -------------------------------------------------------------
z = Raw(port)
u, r = z.cmd('SELECT INBOX (CONDSTORE)')
t.ok(r.startswith(b'OK') and code(u, 'HIGHESTMODSEQ'), 'SELECT (CONDSTORE)', u)
u, r = z.cmd('UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)')
t.ok(r.startswith(b'BAD'), 'VANISHED without QRESYNC enabled: BAD', r)
u, r = z.cmd('STORE 1 +FLAGS (\\Seen)')
t.ok(len(u) == 1 and b'MODSEQ' in u[0] and b'UID' in u[0], 'CONDSTORE on: STORE answers with UID and MODSEQ', u)
z.cmd('STORE 2 +FLAGS (\\Deleted)')
u, r = z.cmd('EXPUNGE')
t.ok(u == [b'* 2 EXPUNGE'], 'CONDSTORE without QRESYNC: EXPUNGE, not VANISHED', u)
z.close()

# ---- a FETCH that sets \Seen tells its new MODSEQ (RFC 7162 3.1) ------------
z = Raw(port)
u, r = z.cmd('SELECT INBOX (CONDSTORE)')
hms = code(u, 'HIGHESTMODSEQ')
z.cmd('UID STORE 1:* -FLAGS (\\Seen)')
u, r = z.cmd('FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])')
ms = [int(m.group(1)) for ln in u for m in [re.search(rb'\\Seen.*MODSEQ \((\d+)\)', ln)] if m]
u2, r2 = z.cmd('FETCH 1 (MODSEQ FLAGS)')
now = [int(m.group(1)) for ln in u2 for m in [re.search(rb'MODSEQ \((\d+)\)', ln)] if m]
t.ok(r.startswith(b'OK') and ms and ms[-1] > hms and now == [ms[-1]] and b'\\Seen' in b''.join(u2),
     'a FETCH that sets \\Seen under CONDSTORE: a FETCH of its FLAGS with the new MODSEQ', (u, u2))
u, r = z.cmd('FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])')
t.ok(not any(b'MODSEQ' in ln for ln in u), 'seen already: no second report', u)
z.close()

inst.kill(server)
