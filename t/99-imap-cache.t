#!/usr/bin/env python3
# The message cache (lib/imapcache, pipemail.cache in each folder's
# Maildir) never changes an answer. Two imap-mailbox servers: one on the
# Maildir, one on a copy of it whose pipemail.cache files are directories
# (the cache cannot open: a run without a cache). Every scenario runs the
# same commands on both and compares the whole answers byte for byte:
# ENVELOPE, BODYSTRUCTURE, BODY, HEADER.FIELDS (cached and not, partial),
# header SEARCH, SORT, THREAD, on INBOX and a folder; cold, warm, the
# cache deleted, truncated, filled or overwritten with garbage, a
# directory or key section made by compaction corrupted, a foreign one,
# SORT (DATE) and SEARCH SUBJECT from the key section, stale after a
# shell mv between new/, cur/ and another folder and after the uidlist
# gave two UIDs each other's files; and a session whose cache is
# truncated and overwritten while it has it open.
import os
import random
import shutil
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance  # noqa: E402

t = TAP()
inst = Instance(users={'demo@example.test': 'demo'})
MD = inst.maildir('demo@example.test')
REF = os.path.join(inst.root, 'ref')
rnd = random.Random(17)


def deliver(msg, folder=None):
    md = MD if not folder else os.path.join(MD, '.' + folder)
    inst.run(['maildir-deliver', md], input=msg, env={'SENDER': 'a@example.org', 'RECIPIENT': 'demo@example.test'})


def msg(subject, date, msgid, frm='ann@example.org', extra='', body='body\n'):
    h = 'From: %s\nTo: demo@example.test, Bob <bob@example.net>\nCc: carol@example.com\n' % frm
    h += 'Subject: %s\n' % subject if subject is not None else ''
    h += 'Date: %s\n' % date if date else ''
    h += 'Message-ID: %s\n' % msgid if msgid else ''
    return (h + extra + '\n' + body).encode()


PLAIN = (b'From: "Ann Example" <ann@example.org>\nTo: demo@example.test\nCc: carol@example.com\n'
         b'Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\nDate: Tue, 3 Mar 2026 10:00:00 +0100\n'
         b'Message-ID: <plain-1@example.org>\nIn-Reply-To: <earlier@example.org>\n'
         b'X-Tag: alpha\nX-Tag: beta\nContent-Type: text/plain; charset=utf-8\n'
         b'Content-Transfer-Encoding: 8bit\n\nHello from K\xc3\xb6ln, zebra.\n')
MIXED = (b'From: carol@example.com\nTo: demo@example.test\nSubject: nested\n'
         b'Date: Fri, 1 May 2026 12:00:00 +0000\nMIME-Version: 1.0\n'
         b'Content-Type: multipart/mixed; boundary="outer"\n\n--outer\n'
         b'Content-Type: text/plain\n\ntext giraffe\n--outer\nContent-Type: message/rfc822\n\n'
         b'From: inner@example.com\nSubject: inner\n\ninner body\n--outer\n'
         b'Content-Type: application/pdf; name="r.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERi0K\n--outer--\n')
# a BODYSTRUCTURE past the cache's entry bound, a header block past its bound
MANY = (b'From: many@example.org\nSubject: many parts\nDate: Sat, 2 May 2026 12:00:00 +0000\n'
        b'Content-Type: multipart/mixed; boundary=b\n\n'
        + b''.join(b'--b\nContent-Type: text/plain; name="part%d.txt"\n\npart %d\n' % (k, k) for k in range(1500))
        + b'--b--\n')
LONGREFS = msg('Re: long thread', 'Sun, 3 May 2026 12:00:00 +0000', '<long@x>',
               extra='References: ' + '\n '.join('<ref%d.abcdefghijklmnop@example.org>' % k for k in range(1200)) + '\n')
FOLDED = (b'From: dan@example.org\nSubject: folded\n  subject line\nDate: Mon, 4 May 2026\n'
          b' 12:00:00 +0000\nMessage-ID:\n <folded@x>\nreferences: <long@x>\r\n\r\nbody\r\n')
INBOX = [PLAIN, MIXED, MANY, LONGREFS, FOLDED,
         msg('Project plan', 'Thu, 1 Jan 2026 10:00:00 +0000', '<a@x>', 'zed@example.org'),
         msg('Re: Project plan', 'Fri, 2 Jan 2026 10:00:00 +0000', '<b@x>', 'amy@example.org', 'References: <a@x>\n'),
         msg('Fwd: Holiday', 'Thu, 1 Jan 2026 10:00:00 +0100', '<d@x>', '"Carl" <carl@example.org>'),
         msg('Holiday (fwd)', 'Fri, 2 Jan 2026 09:00:00 +0000', '<e@x>', 'carl@example.org', 'References: <missing@x>\n'),
         msg('Loop one', 'Mon, 5 Jan 2026 12:00:00 +0000', '<g@x>', extra='References: <h@x>\n'),
         msg('Re: Loop one', 'Mon, 5 Jan 2026 12:00:00 +0000', '<h@x>', extra='References: <g@x>\n'),
         b'X-Nothing: here\n\nno from, no date, no subject\n',
         b'Subject: no newline at the end\nFrom: x@y']
ARCHIVE = [msg('Archived one', 'Tue, 6 Jan 2026 10:00:00 +0000', '<ar1@x>', 'old@example.org'),
           msg('Re: Archived one', 'Wed, 7 Jan 2026 10:00:00 +0000', '<ar2@x>', 'old@example.org', 'In-Reply-To: <ar1@x>\n')]
for m in INBOX:
    deliver(m)

COMMANDS = [
    b'FETCH 1:* (ENVELOPE)',
    b'FETCH 1:* (BODYSTRUCTURE)',
    b'FETCH 1:* (BODY)',
    b'UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID References In-Reply-To)])',
    b'UID FETCH 1:* (ENVELOPE BODY.PEEK[HEADER.FIELDS (DATE "subject")]<3.20>)',
    b'FETCH 1:* (ENVELOPE BODY.PEEK[HEADER.FIELDS (X-Tag Subject)])',
    b'FETCH 1:* (BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS.NOT (Received Return-Path Delivered-To)])',
    b'FETCH 1:* (UID RFC822.SIZE ENVELOPE BODY BODY.PEEK[1.MIME])',
    b'SEARCH SUBJECT plan',
    b'SEARCH FROM carl',
    b'SEARCH TO bob CC carol',
    b'SEARCH HEADER Message-ID x>',
    b'SEARCH HEADER References missing',
    b'SEARCH HEADER X-Tag beta',
    b'SEARCH OR SUBJECT holiday BODY zebra',
    b'SEARCH SENTSINCE 2-Jan-2026 NOT SENTON 5-Jan-2026',
    b'SEARCH CHARSET UTF-8 SUBJECT {6+}\r\nGro\xc3\x9fe',
    b'UID SEARCH SUBJECT ""',
    b'SORT (DATE) UTF-8 ALL',
    b'SORT (SUBJECT REVERSE DATE) UTF-8 ALL',
    b'SORT (FROM TO CC SIZE) UTF-8 NOT SUBJECT loop',
    b'UID SORT (REVERSE ARRIVAL) US-ASCII ALL',
    b'THREAD REFERENCES UTF-8 ALL',
    b'THREAD ORDEREDSUBJECT UTF-8 ALL',
    b'UID THREAD REFERENCES UTF-8 SUBJECT thread',
]


class Session:
    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=60)
        self.buf = b''
        self.n = 0
        self.read(b'* PREAUTH')

    def read(self, until):
        while until not in self.buf:
            d = self.s.recv(1 << 20)
            if not d:
                break
            self.buf += d
        k = self.buf.find(until)
        k = self.buf.find(b'\r\n', k) + 2 if k >= 0 else len(self.buf)
        out, self.buf = self.buf[:k], self.buf[k:]
        return out

    def cmd(self, line):
        self.n += 1
        tag = b'c%d' % self.n
        self.s.sendall(tag + b' ' + line + b'\r\n')
        return self.read_tagged(tag)

    def read_tagged(self, tag):
        out = b''
        while True:
            line = self.read(b'\r\n')
            if not line:
                return out + b'<EOF>'
            if line.startswith(tag + b' '):
                return out + b'TAG' + line[len(tag):]   # comparable across sessions
            out += line

    def close(self):
        self.cmd(b'LOGOUT')
        self.s.close()


def answers(port, folder, cmds=COMMANDS, sess=None):
    s = sess or Session(port)
    out = [s.cmd(b'SELECT ' + folder)] if not sess else []
    out += [s.cmd(c) for c in cmds]
    if not sess:
        s.close()
    return out


def start(md):
    return inst.start_imap_mailbox(md, t)[1]


def folders(root):
    return [root, os.path.join(root, '.Archive')]


def cachefile(folder=b'INBOX', root=MD):
    return os.path.join(root if folder == b'INBOX' else os.path.join(root, '.Archive'), 'pipemail.cache')


port = start(MD)
Session(port).close()   # the first session makes the special-use folders
for m in ARCHIVE:
    deliver(m, 'Archive')
# numbered first (files into cur/, UIDs given), then copied: same UIDs
for f in (b'INBOX', b'Archive'):
    Session(port).cmd(b'SELECT ' + f)
for f in folders(MD):
    if os.path.exists(os.path.join(f, 'pipemail.cache')):
        os.unlink(os.path.join(f, 'pipemail.cache'))
shutil.copytree(MD, REF, symlinks=True)
for f in folders(REF):
    os.mkdir(os.path.join(f, 'pipemail.cache'))
ref_port = start(REF)


def differ(cmd, got, want):
    k = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
    a = max(0, k - 300)
    return 'after %r, at byte %d:\n got: %r\nwant: %r' % (cmd, k, got[a:k + 300], want[a:k + 300])


def compare(name, cmds=COMMANDS):
    for f in (b'INBOX', b'Archive'):
        got = answers(port, f, cmds)
        want = answers(ref_port, f, cmds)
        bad = [i for i in range(len(want)) if got[i] != want[i]]
        diag = bad and differ(([b'SELECT'] + cmds)[bad[0]], got[bad[0]], want[bad[0]])
        t.ok(not bad and all(b'\r\nTAG OK' in b'\r\n' + a for a in want), '%s: %s answers as without a cache' % (name, f.decode()), diag)


def both(fn):
    """A change made to the Maildir (fn(root)) in both trees."""
    fn(MD)
    fn(REF)


compare('cold')
t.ok(os.path.isfile(cachefile()) and os.path.getsize(cachefile()) > 64, 'the cold sessions wrote the cache')
compare('warm')

# warm answers come from the cache: a message rewritten in place with the
# same size (no Maildir writer does it) keeps its cached ENVELOPE
cur = os.path.join(MD, 'cur')
victim = [n for n in sorted(os.listdir(cur)) if open(os.path.join(cur, n), 'rb').read().endswith(b'<a@x>\n\nbody\n')][0]
path = os.path.join(cur, victim)
orig = open(path, 'rb').read()
st = os.stat(path)
with open(path, 'wb') as fh:
    fh.write(orig.replace(b'Project plan', b'Changed plan'))
os.utime(path, (st.st_atime, st.st_mtime))
a = answers(port, b'INBOX', [b'FETCH 1:* (ENVELOPE)', b'SEARCH SUBJECT changed', b'SORT (SUBJECT) UTF-8 ALL'])
t.ok(b'Project plan' in a[1] and b'Changed plan' not in a[1], 'warm FETCH ENVELOPE opened no message file', a[1][-400:])
t.ok(a[2].startswith(b'* SEARCH\r\n'), 'warm SEARCH SUBJECT opened no message file', a[2])
with open(path, 'wb') as fh:
    fh.write(orig)
os.utime(path, (st.st_atime, st.st_mtime))

os.unlink(cachefile())
os.unlink(cachefile(b'Archive'))
compare('deleted')

# entries made from the header alone: by SEARCH and SORT, by a FETCH of
# header sections without ENVELOPE (whose ENVELOPE then comes from the
# cached header block, kept in the entry from then on), then BODYSTRUCTURE
# added to them
HDRFIRST = [b'UID FETCH 1:* (BODY.PEEK[HEADER])', b'SEARCH SUBJECT plan', b'SORT (DATE) UTF-8 ALL',
            b'FETCH 1:* (ENVELOPE)', b'FETCH 2:* (UID ENVELOPE)', b'FETCH 1:* (ENVELOPE BODYSTRUCTURE)',
            b'FETCH 1:* (BODY)']
for order in (HDRFIRST, HDRFIRST[1:] + HDRFIRST[:1]):
    os.unlink(cachefile())
    os.unlink(cachefile(b'Archive'))
    compare('filled from headers alone', order)
    compare('then warm')
compare('warm from headers alone')


def truncate(n):
    for f in (b'INBOX', b'Archive'):
        size = os.path.getsize(cachefile(f))
        with open(cachefile(f), 'r+b') as fh:
            fh.truncate(n if n >= 0 else size // 2)


for n in (0, 10, 96, 96 + 30, -1):
    truncate(n)
    compare('truncated to %s' % (n if n >= 0 else 'half'))


def garbage(where):
    for f in (b'INBOX', b'Archive'):
        p = cachefile(f)
        data = bytearray(open(p, 'rb').read())
        if where == 'all':
            data = bytearray(rnd.randbytes(len(data)))
        elif where == 'append':
            data += rnd.randbytes(200000)
        elif where == 'directory':   # the header says where it is
            data[int.from_bytes(data[16:24], 'little') + 5] ^= 0xff
        elif where == 'keys':        # the key section ends the compacted file
            data[-5] ^= 0xff
        else:
            for k in range(20):
                i = rnd.randrange(64, len(data))
                data[i] ^= 1 << rnd.randrange(8)
        with open(p, 'wb') as fh:
            fh.write(data)


compare('refilled')
garbage('all')
compare('garbage')
compare('rebuilt after garbage')
garbage('flips')
compare('bits flipped')
garbage('append')
before = os.path.getsize(cachefile())
compare('garbage appended')
t.ok(os.path.getsize(cachefile()) < before - 100000, 'the mostly dead file was compacted',
     '%d -> %d' % (before, os.path.getsize(cachefile())))
compare('compacted')


def keylen(f=b'INBOX'):
    with open(cachefile(f), 'rb') as fh:
        return int.from_bytes(fh.read(64)[48:56], 'little')


t.ok(keylen() > 0, 'compaction wrote a key section', keylen())
# SORT (DATE) and SEARCH SUBJECT read the key section: a message rewritten
# in place with the same size keeps its cached date and subject
with open(path, 'wb') as fh:
    fh.write(orig.replace(b'Project plan', b'Changed plan').replace(b'Thu, 1 Jan 2026', b'Sat, 9 Jan 2027'))
os.utime(path, (st.st_atime, st.st_mtime))
a = answers(port, b'INBOX', [b'SEARCH SUBJECT changed', b'SORT (DATE) UTF-8 ALL', b'SEARCH SENTSINCE 8-Jan-2027'])
r = answers(ref_port, b'INBOX', [b'SEARCH SUBJECT changed', b'SORT (DATE) UTF-8 ALL', b'SEARCH SENTSINCE 8-Jan-2027'])
t.ok(a[1].startswith(b'* SEARCH\r\n') and a[2] == r[2] and a[3].startswith(b'* SEARCH\r\n'),
     'warm SEARCH SUBJECT, SORT (DATE) and SENTSINCE after compaction opened no message file', a)
with open(path, 'wb') as fh:
    fh.write(orig)
os.utime(path, (st.st_atime, st.st_mtime))
garbage('keys')
compare('key section corrupted')
garbage('append')
compare('compacted again')
garbage('directory')
compare('directory corrupted')
shutil.copy(cachefile(b'Archive'), cachefile())
compare('foreign (another folder\'s)')
compare('remade')


# stale after shell mv: cur/ -> new/ (the flags part goes), INBOX -> Archive,
# Archive -> INBOX's new/
def mv(root):
    cur = os.path.join(root, 'cur')
    names = sorted(os.listdir(cur))
    os.rename(os.path.join(cur, names[1]), os.path.join(root, 'new', names[1].split(':')[0]))
    os.rename(os.path.join(cur, names[2]), os.path.join(root, '.Archive', 'cur', names[2]))
    acur = os.path.join(root, '.Archive', 'cur')
    an = sorted(n for n in os.listdir(acur) if n != names[2])[0]
    os.rename(os.path.join(acur, an), os.path.join(root, 'new', an.split(':')[0]))


both(mv)
compare('stale after mv between new/, cur/ and another folder')
compare('warm after mv')


# the uidlist gives two UIDs each other's files (same UIDVALIDITY)
def swap(root):
    p = os.path.join(root, 'dovecot-uidlist')
    lines = open(p).read().split('\n')
    a, b = 1, 4
    ua, na = lines[a].split(' ', 1)
    ub, nb = lines[b].split(' ', 1)
    lines[a], lines[b] = ua + ' ' + nb, ub + ' ' + na
    with open(p, 'w') as fh:
        fh.write('\n'.join(lines))


garbage('append')
compare('before the swap, compacted')
t.ok(keylen() > 0, 'a key section before the swap', keylen())
both(swap)
compare('stale: UIDs swapped in the uidlist')

# a session with the cache open while it is truncated, then overwritten
s, r = Session(port), Session(ref_port)
for x in (s, r):
    x.cmd(b'SELECT INBOX')
first = answers(port, None, COMMANDS, s)
want = answers(ref_port, None, COMMANDS, r)
t.ok(first == want, 'one session, warm')
for what in ('truncate', 'overwrite'):
    if what == 'truncate':
        with open(cachefile(), 'r+b') as fh:
            fh.truncate(100)
    else:
        with open(cachefile(), 'r+b') as fh:
            fh.write(rnd.randbytes(os.path.getsize(cachefile())))
    got = answers(port, None, COMMANDS, s)
    bad = [i for i in range(len(want)) if got[i] != want[i]]
    t.ok(not bad, 'the cache %s while the session has it open: same answers' % ('truncated' if what == 'truncate' else 'overwritten'),
         bad and differ(COMMANDS[bad[0]], got[bad[0]], want[bad[0]]))
s.close()
r.close()
compare('after all that')
inst.stop()
