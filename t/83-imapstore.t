#!/usr/bin/env python3
# lib/imapstore against a real Dovecot on one Maildir: Dovecot's imap
# (Debian's dovecot-imapd, run pre-authenticated with a private config,
# indexes in memory so that dovecot-uidlist is all it keeps) numbers the
# messages maildir-deliver put there, sets flags and keywords, expunges
# one; our store must see the same UIDs, UIDVALIDITY, flags and keywords,
# number a new delivery after Dovecot's, and Dovecot must read back what
# we wrote (a new UID from our APPEND), so a folder moves either way.
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtest

t = pmtest.TAP()
IMAP = '/usr/lib/dovecot/imap'
HELPER = os.path.join(pmtest.BUILD, 'unit', 'imapstore')
if not os.path.exists(IMAP):
    t.skip_all('dovecot-imapd not installed')
if not os.path.exists(HELPER):
    t.skip_all('build/unit/imapstore not built')

top = tempfile.mkdtemp(prefix='pm-t83-')
os.chmod(top, 0o755)
MD = os.path.join(top, 'Maildir')
for d in ('', 'tmp', 'new', 'cur'):
    os.makedirs(os.path.join(MD, d), exist_ok=True)
# Dovecot refuses to serve root's mail: as root, the mailbox is nobody's
root = os.getuid() == 0
pw = pwd.getpwnam('nobody') if root else pwd.getpwuid(os.getuid())
conf = os.path.join(top, 'dovecot.conf')
with open(conf, 'w') as f:
    f.write('''base_dir = %(t)s/run
state_dir = %(t)s/run
log_path = %(t)s/log
mail_location = maildir:%(m)s:INDEX=MEMORY
ssl = no
mail_uid = %(u)d
mail_gid = %(g)d
first_valid_uid = 0
first_valid_gid = 0
''' % {'t': top, 'm': MD, 'u': pw.pw_uid, 'g': pw.pw_gid})
os.makedirs(os.path.join(top, 'run'), exist_ok=True)


def chown_all():
    if root:
        for d, dirs, files in os.walk(top):
            for n in dirs + files:
                os.chown(os.path.join(d, n), pw.pw_uid, pw.pw_gid)
        os.chown(top, pw.pw_uid, pw.pw_gid)


def dovecot(cmds):
    chown_all()
    pre = ['setpriv', '--reuid=%d' % pw.pw_uid, '--regid=%d' % pw.pw_gid, '--clear-groups'] if root else []
    p = subprocess.Popen(pre + ['env', '-i', 'HOME=' + top, 'USER=' + pw.pw_name, IMAP, '-c', conf],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = [p.stdout.readline().decode('utf-8', 'replace')]
    # one command at a time: Dovecot runs pipelined ones concurrently
    for i, c in enumerate(cmds + ['LOGOUT']):
        p.stdin.write(('x%d %s\r\n' % (i, c)).encode())
        p.stdin.flush()
        while True:
            line = p.stdout.readline().decode('utf-8', 'replace')
            out.append(line)
            if not line or line.startswith('x%d ' % i):
                break
    p.stdin.close()
    p.wait(timeout=60)
    return ''.join(out)


def status(out):
    v = re.search(r'STATUS INBOX \(.*UIDVALIDITY (\d+)', out)
    n = re.search(r'STATUS INBOX \(.*UIDNEXT (\d+)', out)
    return (int(v.group(1)), int(n.group(1))) if v and n else (None, None)


def deliver(subject):
    subprocess.run([os.path.join(pmtest.BIN, 'maildir-deliver'), MD], check=True,
                   input=b'Subject: ' + subject.encode() + b'\n\nbody\n',
                   env={'SENDER': 'a@example.org', 'RECIPIENT': 'kate@example.org', 'PATH': os.environ['PATH']})


def fetched(out):
    """{uid: sorted flags} from FETCH (UID n FLAGS (...)) lines, \\Recent left out"""
    got = {}
    for m in re.finditer(r'\* \d+ FETCH \((?:UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+))\)', out):
        uid = int(m.group(1) or m.group(4))
        flags = (m.group(2) if m.group(1) else m.group(3)).split()
        got[uid] = sorted(f for f in flags if f != '\\Recent')
    return got


def ours(folder='INBOX'):
    r = subprocess.run([HELPER, "dump", MD, folder], capture_output=True)
    if r.returncode:
        t.diag(r.stderr.decode())
        r.check_returncode()
    lines = r.stdout.decode().splitlines()
    v, n = re.match(r'V (\d+) N (\d+)', lines[0]).groups()
    msgs = {}
    for l in lines[1:]:
        f = l.split()
        msgs[int(f[0])] = sorted(f[1:])
    return int(v), int(n), msgs


try:
    for i in range(4):
        deliver('m%d' % i)
    out = dovecot(['SELECT INBOX', 'STORE 1 +FLAGS (\\Seen $Label1)', 'STORE 3 +FLAGS (\\Flagged Work)',
                   'STORE 2 +FLAGS (\\Deleted)', 'EXPUNGE', 'UID FETCH 1:* (FLAGS)',
                   'STATUS INBOX (UIDVALIDITY UIDNEXT)'])
    dv, dn = status(out)
    t.ok(dv and os.path.exists(os.path.join(MD, 'dovecot-uidlist')), 'Dovecot numbered the folder', out)
    dflags = fetched(out)
    t.eq(sorted(dflags), [1, 3, 4], "Dovecot's UIDs after its expunge")

    deliver('m4')
    v, n, msgs = ours()
    t.eq(v, dv, "our UIDVALIDITY is Dovecot's")
    t.eq({u: msgs[u] for u in (1, 3, 4)}, dflags, "our UIDs, flags and keywords are Dovecot's")
    t.eq(sorted(msgs), [1, 3, 4, dn], 'a new delivery gets the UID Dovecot would give (its UIDNEXT %d)' % dn)
    t.eq(ours()[2], msgs, 'stable across reloads')

    r = subprocess.run([HELPER, 'append', MD, 'INBOX', 'F'], input=b'Subject: appended\n\nhi\n',
                       capture_output=True, check=True)
    av, auid = map(int, r.stdout.split())
    t.ok(av == dv and auid == dn + 1, 'our APPEND: APPENDUID %d %d' % (av, auid))

    out = dovecot(['SELECT INBOX', 'UID FETCH 1:* (FLAGS)', 'STATUS INBOX (UIDVALIDITY UIDNEXT)'])
    got = fetched(out)
    want = dict(dflags)
    want[dn] = []
    want[auid] = ['\\Flagged']
    t.eq(got, want, "Dovecot reads our dovecot-uidlist: same UIDs, our new ones, flags")
    t.eq(status(out), (dv, auid + 1), "Dovecot's UIDVALIDITY kept, UIDNEXT after ours")

    # folders both ways: Dovecot's modified UTF-7 folder with a message,
    # ours with a parent; subscriptions in the one file both use
    out = dovecot(['CREATE "Caf&AOk-"', 'SUBSCRIBE "Caf&AOk-"',
                   'APPEND "Caf&AOk-" (\\Seen Work) {6+}\r\nhello\r\n'])
    t.ok(re.search(r'x2 OK \[APPENDUID \d+ 1\]', out), 'Dovecot made a folder and appended to it', out)
    r = subprocess.run([HELPER, 'list', MD, '*'], capture_output=True, check=True)
    t.ok('Caf&AOk-(cS)' in r.stdout.decode(), "we list Dovecot's folder, subscribed", r.stdout.decode())
    t.eq(ours('Caf&AOk-')[2], {1: ['Work', '\\Seen']}, "its message: Dovecot's UID, flag and keyword")
    subprocess.run([HELPER, 'create', MD, 'Projects.2026'], check=True)
    out = dovecot(['LIST "" "*"', 'LSUB "" "*"'])
    t.ok(re.search(r'\* LIST \([^)]*\) "\." Projects\.2026', out) and re.search(r'\* LIST \([^)]*HasChildren[^)]*\) "\." Projects\r', out),
         'Dovecot lists the folder we made and its parent', out)
    t.ok(re.search(r'\* LSUB \([^)]*\) "\." Projects\.2026', out), 'and sees it subscribed', out)

    # a torn list (a crash of a writer that did not write it atomically):
    # new UIDVALIDITY, greater, never an old UID for another message
    p = os.path.join(MD, 'dovecot-uidlist')
    with open(p, 'rb') as f:
        data = f.read()
    with open(p, 'wb') as f:
        f.write(data[:-7])
    v2, n2, msgs2 = ours()
    t.ok(v2 > dv and sorted(msgs2) == list(range(1, len(msgs) + 2)), 'torn uidlist: UIDVALIDITY %d > %d, renumbered' % (v2, dv))
    out = dovecot(['STATUS INBOX (UIDVALIDITY UIDNEXT MESSAGES)'])
    t.eq(status(out)[0], v2, 'and Dovecot takes the new list')
finally:
    shutil.rmtree(top, ignore_errors=True)
