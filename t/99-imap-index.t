#!/usr/bin/env python3
# The folder index (pipemail.index) of imap-mailbox is a cache: deleted,
# truncated, filled with garbage, taken from another folder, or stale
# after a shell mv of files between new/, cur/ and another folder, every
# answer (UIDs, flags, keywords, sizes, internal dates, envelopes, SEARCH,
# STATUS) equals a run on a copy of the folder without an index, and
# HIGHESTMODSEQ never goes backwards (a rebuilt index starts above every
# MODSEQ handed out, so a QRESYNC client misses nothing). A SELECT and a
# FETCH of flags, dates and sizes of an unchanged folder read no directory
# and no message file (checked with strace where it is installed).
import imaplib
import os
import random
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance  # noqa: E402

t = TAP()
inst = Instance(users={'demo@example.test': 'demo'})
MD = inst.maildir('demo@example.test')
INDEX = os.path.join(MD, 'pipemail.index')


def deliver(n, folder=None):
    body = ''.join('line %d of message %d\n' % (k, n) for k in range(n * 7 % 40))
    msg = ('From: "Sender %d" <s%d@example.org>\nTo: demo@example.test\nSubject: message %d\n'
           'Date: Tue, %d Mar 2026 10:00:00 +0100\nMessage-ID: <m%d@example.org>\n\n%s' % (n, n, n, n % 28 + 1, n, body))
    inst.deliver(MD, msg, folder)


CMDS = (b'ENABLE CONDSTORE\r\nSELECT INBOX\r\n'
        b'UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE MODSEQ)\r\n'
        b'UID SEARCH SEEN\r\nUID SEARCH LARGER 300\r\nUID SEARCH KEYWORD $Work\r\nSEARCH SUBJECT "message 1"\r\n'
        b'UID SEARCH SINCE 1-Jan-2020 UNSEEN\r\nSTATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)\r\nLOGOUT\r\n')


def run(md=MD, cmds=CMDS):
    cmds = b''.join(b'x%d %s\r\n' % (k, ln) for k, ln in enumerate(cmds.split(b'\r\n')) if ln)
    r = inst.run(['imap-mailbox', md], input=cmds)
    return r.stdout.decode(errors='replace').split('\r\n')


def snapshot(md=MD):
    """(the answers without MODSEQs and \\Recent, HIGHESTMODSEQ, {uid: modseq})"""
    out, hms, ms = [], None, {}
    for ln in run(md):
        m = re.match(r'\* OK \[HIGHESTMODSEQ (\d+)\]', ln)
        if m:
            hms = int(m.group(1))
            continue
        m = re.match(r'\* \d+ FETCH \(UID (\d+) .*MODSEQ \((\d+)\)', ln)
        if m:
            ms[int(m.group(1))] = int(m.group(2))
        if re.match(r'\* \d+ RECENT', ln):
            continue
        out.append(re.sub(r' ?\\Recent', '', re.sub(r' MODSEQ \(\d+\)', '', ln)))
    return out, hms, ms


def without_index():
    """The answers of a copy of the Maildir without its index."""
    cp = os.path.join(inst.root, 'copy')
    shutil.rmtree(cp, ignore_errors=True)
    shutil.copytree(MD, cp, symlinks=True)
    for d, _, fs in os.walk(cp):
        for f in fs:
            if f.startswith('pipemail.index'):
                os.unlink(os.path.join(d, f))
    return snapshot(cp)[0]


hist = []


def check(name, rebuilt=False):
    """The answers now equal those without an index; MODSEQ monotonic."""
    got, hms, ms = snapshot()
    want = without_index()
    t.ok(got == want and len(got) > 40, name + ': every answer as without an index',
         [(a, b) for a, b in zip(got, want) if a != b][:4] or (len(got), len(want)))
    prev = hist[-1] if hist else 0
    t.ok(hms and (hms > prev if rebuilt else hms >= prev) and all(v <= hms for v in ms.values()),
         name + ': HIGHESTMODSEQ %s' % ('above every earlier one' if rebuilt else 'never goes back'), (prev, hms))
    if rebuilt and prev:
        t.ok(all(v > prev for v in ms.values()), name + ': every MODSEQ above the lost index\'s', prev)
    hist.append(hms)


# ---- a folder with flags, keywords, an expunged message --------------------
for i in range(1, 41):
    deliver(i)
server, port = inst.start_imap_mailbox(MD, t)
c = imaplib.IMAP4('127.0.0.1', port, timeout=30)
for i in range(41, 46):
    deliver(i, 'Archive')   # the special folders are made at the first login
c.select('INBOX')
c.uid('STORE', '1:10', '+FLAGS', '(\\Seen)')
c.uid('STORE', '5,15,25', '+FLAGS', '(\\Flagged $Work)')
c.uid('STORE', '3,33', '+FLAGS', '(\\Deleted)')
c.expunge()
c.uid('FETCH', '1:*', '(INTERNALDATE)')
c.logout()
c = imaplib.IMAP4('127.0.0.1', port, timeout=30)
c.select('Archive')
c.logout()
inst.kill(server)

check('first run')
t.ok(os.path.exists(INDEX), 'the index is written')
check('warm index')

# ---- a SELECT of an unchanged folder reads no directory, no message ---------
strace = shutil.which('strace')
if strace:
    time.sleep(0.1)
    snapshot()      # after the coarse clock's tick: the index's stamps are trusted
    e = dict(inst.env)
    # LeakSanitizer cannot work under ptrace (make check-asan)
    e['ASAN_OPTIONS'] = (e.get('ASAN_OPTIONS', '') + ':detect_leaks=0').lstrip(':')
    p = subprocess.run([strace, '-f', '-e', 'trace=getdents64,openat,stat,newfstatat,statx,lstat', 'imap-mailbox', MD],
                       input=b'a SELECT INBOX\r\nb FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE)\r\nc LOGOUT\r\n',
                       env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tr = p.stderr.decode(errors='replace')
    t.ok(b'* 38 EXISTS' in p.stdout and 'getdents64' not in tr, 'SELECT of an unchanged folder: no readdir', tr[-2000:])
    t.ok(not re.search(r'/(cur|new)/[^"]', tr), 'FETCH FLAGS INTERNALDATE RFC822.SIZE: no message file stat\'ed or opened',
         re.findall(r'.*/(?:cur|new)/[^"].*', tr)[:3])
else:
    t.skip('SELECT of an unchanged folder: no readdir', 'strace is not installed')
    t.skip('FETCH FLAGS INTERNALDATE RFC822.SIZE: no message file read', 'strace is not installed')

# ---- a session loaded from the index opens, renames and removes files ------
time.sleep(0.1)
run(cmds=b'SELECT INBOX\r\n')    # the index's stamps trusted: the next SELECT loads it
out = '\n'.join(run(cmds=b'SELECT INBOX\r\nUID FETCH 1:* (BODY.PEEK[])\r\nUID STORE 1:* +FLAGS (\\Answered)\r\n'
                      b'UID STORE 20 +FLAGS (\\Deleted)\r\nEXPUNGE\r\n'))
n = int(re.search(r'\* (\d+) EXISTS', out).group(1))
t.ok(out.count('BODY[] {') == n and out.count('\\Answered') >= n and re.search(r'\* \d+ EXPUNGE', out),
     'a session loaded from the index reads, changes and expunges its messages', out[-500:])
check('after changes by a session loaded from the index')

# ---- lost, torn, garbage, foreign -------------------------------------------
os.unlink(INDEX)
check('deleted', rebuilt=True)
for frac in (0.5, 0.0, 0.01):
    size = os.path.getsize(INDEX)
    with open(INDEX, 'r+b') as f:
        f.truncate(int(size * frac))
    check('truncated to %d%%' % (frac * 100), rebuilt=True)
size = os.path.getsize(INDEX)
with open(INDEX, 'wb') as f:
    f.write(random.Random(7).randbytes(size))
check('garbage', rebuilt=True)
with open(INDEX, 'r+b') as f:
    f.seek(os.path.getsize(INDEX) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x10]))
check('one bit flipped', rebuilt=True)
with open(INDEX, 'r+b') as f:
    f.seek(200)
    f.write(b'\0' * 64)
check('a hole of zeros', rebuilt=True)
shutil.copy(os.path.join(MD, '.Archive', 'pipemail.index'), INDEX)
check('another folder\'s index', rebuilt=True)

# ---- stale: a shell mv between new/, cur/ and another folder ----------------
check('before the mv')
time.sleep(0.05)


def cur(md=MD):
    return sorted(os.listdir(os.path.join(md, 'cur')))


names = cur()
os.rename(os.path.join(MD, 'cur', names[0]), os.path.join(MD, '.Archive', 'cur', names[0]))   # away
arch = cur(os.path.join(MD, '.Archive'))
os.rename(os.path.join(MD, '.Archive', 'cur', arch[0]), os.path.join(MD, 'cur', arch[0]))     # in
os.rename(os.path.join(MD, 'cur', names[5]), os.path.join(MD, 'new', names[5].split(':')[0]))  # back to new/
base = names[7].split(':')[0]
os.rename(os.path.join(MD, 'cur', names[7]), os.path.join(MD, 'cur', base + ':2,RS'))          # flags
check('stale after mv')
os.rename(os.path.join(MD, 'cur', cur()[3]), os.path.join(MD, 'new', cur()[3].split(':')[0]))
os.unlink(os.path.join(MD, 'cur', cur()[9]))
check('stale after mv to new/ and rm')

# ---- damaged behind a valid header: found before the first command after SELECT
run(cmds=b'SELECT INBOX\r\n')
time.sleep(0.1)
run(cmds=b'SELECT INBOX\r\n')    # the stamps trusted: the next SELECT reads the header only
want = without_index()
with open(INDEX, 'r+b') as f:
    f.seek(192 + 46)       # the first record's flags (header: 192 bytes)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x04]))
r = inst.run(['imap-mailbox', MD], input=b'a SELECT INBOX\r\nb UID FETCH 1:* (FLAGS)\r\nc LOGOUT\r\n')
out, err = r.stdout.decode(errors='replace'), r.stderr.decode(errors='replace')
sel = re.search(r'\* OK \[HIGHESTMODSEQ (\d+)\].*\r\n(?:.*\r\n)*?a OK', out)
re_hms = re.search(r'\* OK \[HIGHESTMODSEQ (\d+)\] the folder\'s index was damaged', out)
t.ok(sel and re_hms and int(re_hms.group(1)) > int(sel.group(1)) and 'is damaged: rebuilt' in err,
     'a record damaged behind a valid header: found at the next command, logged, the new HIGHESTMODSEQ told',
     (out[-800:], err[-300:]))
flags = sorted(re.findall(r'UID (\d+) FLAGS \(([^)]*)\)', out))
wflags = sorted(re.findall(r'UID (\d+) FLAGS \(([^)]*)\)', '\r\n'.join(want)))
t.ok(flags and [(u, f.replace('\\Recent', '').strip()) for u, f in flags] == wflags and 'BYE' not in out.split('b OK')[0],
     'and every flag as without an index, the session going on',
     [(a, b) for a, b in zip(flags, wflags) if a != b][:3] or (len(flags), len(wflags), out[-300:]))
check('damaged behind a valid header', rebuilt=True)

# ---- cut short under a session that maps it --------------------------------
run(cmds=b'SELECT INBOX\r\n')    # the stamps trusted: the next session maps the index
p = subprocess.Popen(['imap-mailbox', MD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, env=inst.env)
p.stdin.write(b'a SELECT INBOX\r\n')
p.stdin.flush()
while not p.stdout.readline().startswith(b'a '):
    pass
with open(INDEX, 'r+b') as f:
    f.truncate(100)
out, err = p.communicate(b'b FETCH 1:* (BODY.PEEK[])\r\nc LOGOUT\r\n', timeout=60)
t.ok(p.returncode in (0, 111) and (p.returncode == 0 or b'fatal: a file mapped by the session' in err),
     'an index cut short under a session: the session ends with a log line or goes on, no crash',
     (p.returncode, err[-300:]))
check('cut short under a session', rebuilt=True)

# ---- a QRESYNC client of before the loss misses nothing ---------------------
out = run(cmds=b'SELECT INBOX\r\nLOGOUT\r\n')
uidv = int(re.search(r'UIDVALIDITY (\d+)', '\n'.join(out)).group(1))
m = int(re.search(r'HIGHESTMODSEQ (\d+)', '\n'.join(out)).group(1))
uids = {int(x) for x in re.findall(r'UID (\d+)', '\n'.join(run(cmds=b'SELECT INBOX\r\nUID FETCH 1:* (UID)\r\nLOGOUT\r\n')))}
victim = max(uids)
run(cmds=b'SELECT INBOX\r\nUID STORE %d +FLAGS (\\Deleted)\r\nEXPUNGE\r\nLOGOUT\r\n' % victim)
os.unlink(INDEX)
out = '\n'.join(run(cmds=b'ENABLE QRESYNC\r\nSELECT INBOX (QRESYNC (%d %d))\r\nLOGOUT\r\n' % (uidv, m)))
van = re.search(r'\* VANISHED \(EARLIER\) (\S+)', out)
got = set()
for part in (van.group(1).split(',') if van else []):
    a, _, b = part.partition(':')
    got.update(range(int(a), int(b or a) + 1))
fetched = {int(x) for x in re.findall(r'FETCH \(UID (\d+)', out)}
t.ok(victim in got and not (got & (uids - {victim})), 'after a lost index: VANISHED (EARLIER) has the expunged UID, none that exists', out[-600:])
t.eq(fetched, uids - {victim}, 'after a lost index: every message is reported changed')
inst.stop()
