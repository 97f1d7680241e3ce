#!/usr/bin/env python3
# IMAP4rev2 (RFC 9051) in imap-mailbox: advertised next to IMAP4rev1; a
# session that sends ENABLE IMAP4rev2 gets no \Recent (no RECENT response
# at SELECT or for new mail, no \Recent in FLAGS), no OK [UNSEEN], a LIST
# of the folder at SELECT, BAD for STATUS RECENT and SEARCH
# RECENT/NEW/OLD, and folder names in UTF-8 both ways (CREATE, RENAME,
# SELECT, STATUS, APPEND, COPY, LIST, LSUB), that a rev1 session sees in
# modified UTF-7 as the same folders, kept so on disk. A rev1 session is
# unchanged. ENABLE IMAP4rev2 while a folder is selected is refused.
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance  # noqa: E402
from pmimapraw import Raw, fetches, code  # noqa: E402

t = TAP()
inst = Instance(users={'demo@example.test': 'demo'})
MD = inst.maildir('demo@example.test')


def deliver(n):
    msg = ('From: a@example.org\nTo: demo@example.test\nSubject: message %d\n'
           'Date: Tue, 3 Mar 2026 10:00:00 +0100\n\nbody %d\n' % (n, n))
    inst.run(['maildir-deliver', MD], input=msg,
             env={'SENDER': 'a@example.org', 'RECIPIENT': 'demo@example.test'})


def has(lines, pat):
    return any(re.search(pat, ln) for ln in lines)


def listed(lines):
    """The names of the untagged LIST (or LSUB) lines, as bytes."""
    out = []
    for ln in lines:
        m = re.match(rb'\* (?:LIST|LSUB) \([^)]*\) "\." (.*)$', ln)
        if m:
            name = m.group(1)
            out.append(name[1:-1] if name.startswith(b'"') else name)
    return out


def rev2session():
    s = Raw(port)
    u, r = s.cmd('ENABLE IMAP4rev2')
    t.ok(u == [b'* ENABLED IMAP4rev2'] and r.startswith(b'OK'), 'ENABLE IMAP4rev2', (u, r))
    return s


deliver(1)
deliver(2)
server, port = inst.start_imap_mailbox(MD, t)

# ---- advertised ------------------------------------------------------------
a = Raw(port)
t.ok(b' IMAP4rev1 IMAP4rev2 ' in a.greeting, 'greeting: IMAP4rev1 and IMAP4rev2', a.greeting)
u, r = a.cmd('CAPABILITY')
t.ok(u and b' IMAP4rev1 IMAP4rev2 ' in u[0], 'CAPABILITY: IMAP4rev1 and IMAP4rev2', u)
a.close()

# ---- a rev2 session: no \Recent, no UNSEEN, a LIST at SELECT -----------------
b = rev2session()
u, r = b.cmd('SELECT INBOX')
t.ok(r.startswith(b'OK [READ-WRITE]') and b'* 2 EXISTS' in u, 'rev2 SELECT', (u, r))
t.ok(not has(u, rb'RECENT'), 'rev2 SELECT: no RECENT response', u)
t.ok(not has(u, rb'\[UNSEEN '), 'rev2 SELECT: no OK [UNSEEN]', u)
t.ok(has(u, rb'^\* LIST \([^)]*\) "\." INBOX$'), 'rev2 SELECT: LIST of the folder (RFC 9051 6.3.2)', u)
t.ok(code(u, 'UIDVALIDITY') and code(u, 'UIDNEXT') and has(u, rb'^\* OK \[PERMANENTFLAGS \(')
     and has(u, rb'^\* FLAGS \('), 'rev2 SELECT: FLAGS, PERMANENTFLAGS, UIDVALIDITY, UIDNEXT', u)
u, r = b.cmd('UID FETCH 1:* (FLAGS)')
f = fetches(u)
t.ok(len(f) == 2 and all(b'\\Recent' not in fl for fl, _ in f.values()), 'rev2 FETCH FLAGS: no \\Recent', u)
deliver(3)
u, r = b.cmd('NOOP')
t.ok(b'* 3 EXISTS' in u and not has(u, rb'RECENT'), 'rev2: new mail as EXISTS, no RECENT', u)
u, r = b.cmd('FETCH 3 (FLAGS)')
t.ok(len(u) == 1 and b'\\Recent' not in u[0] and r.startswith(b'OK'), 'rev2: new mail\'s FLAGS without \\Recent', u)
# new mail pushed during IDLE: EXISTS alone
b.s.sendall(b'i1 IDLE\r\n')
t.ok(b.line().startswith(b'+ '), 'rev2 IDLE: continuation')
deliver(5)
got = [b.line()]
t.ok(got == [b'* 4 EXISTS'], 'rev2 IDLE: new mail as EXISTS', got)
b.s.sendall(b'DONE\r\n')
while not got[-1].startswith(b'i1 '):
    got.append(b.line())
t.ok(got[-1].startswith(b'i1 OK') and not has(got, rb'RECENT'), 'rev2 IDLE: no RECENT', got)
u, r = b.cmd('STATUS INBOX (RECENT)')
t.ok(r.startswith(b'BAD'), 'rev2 STATUS RECENT: BAD (not in RFC 9051)', r)
u, r = b.cmd('LIST "" INBOX RETURN (STATUS (RECENT))')
t.ok(r.startswith(b'BAD'), 'rev2 LIST RETURN (STATUS (RECENT)): BAD', r)
u, r = b.cmd('STATUS INBOX (MESSAGES UNSEEN)')
t.ok(u == [b'* STATUS INBOX (MESSAGES 4 UNSEEN 4)'] and r.startswith(b'OK'), 'rev2 STATUS MESSAGES UNSEEN', u)
for key in ('RECENT', 'NEW', 'OLD', 'NOT OLD', 'UNSEEN RECENT'):
    u, r = b.cmd('SEARCH ' + key)
    t.ok(r.startswith(b'BAD'), 'rev2 SEARCH %s: BAD (not in RFC 9051)' % key, r)
u, r = b.cmd('UID SORT (ARRIVAL) UTF-8 RECENT')
t.ok(r.startswith(b'BAD'), 'rev2 SORT ... RECENT: BAD', r)
u, r = b.cmd('SEARCH UNSEEN')
t.ok(r.startswith(b'OK'), 'rev2 SEARCH UNSEEN: OK', (u, r))

# ---- a rev1 session as before -----------------------------------------------
deliver(6)
c = Raw(port)
u, r = c.cmd('SELECT INBOX')
t.ok(b'* 1 RECENT' in u, 'rev1 SELECT: RECENT (the new message)', u)
t.ok(code(u, 'UNSEEN') == 1, 'rev1 SELECT: OK [UNSEEN 1]', u)
t.ok(not has(u, rb'^\* LIST '), 'rev1 SELECT: no LIST', u)
u, r = c.cmd('FETCH 5 (FLAGS)')
t.ok(len(u) == 1 and b'\\Recent' in u[0], 'rev1 FETCH FLAGS: \\Recent', u)
u, r = c.cmd('SEARCH RECENT')
t.ok(u == [b'* SEARCH 5'] and r.startswith(b'OK'), 'rev1 SEARCH RECENT', u)
u, r = c.cmd('STATUS INBOX (RECENT)')
t.ok(r.startswith(b'OK') and u and b'RECENT' in u[0], 'rev1 STATUS RECENT', u)
# RFC 9051 6.3.1: ENABLE before SELECT
u, r = c.cmd('ENABLE IMAP4rev2')
t.ok(r.startswith(b'BAD'), 'ENABLE IMAP4rev2 while a folder is selected: BAD', r)
u, r = c.cmd('FETCH 5 (FLAGS)')
t.ok(len(u) == 1 and b'\\Recent' in u[0], '... and the session stays rev1', u)
u, r = c.cmd('UNSELECT')
u, r = c.cmd('ENABLE IMAP4rev2')
t.ok(u == [b'* ENABLED IMAP4rev2'], 'ENABLE IMAP4rev2 after UNSELECT', (u, r))
c.close()

# ---- UTF-8 folder names ------------------------------------------------------
u, r = b.cmd('CREATE "Café"')
t.ok(r.startswith(b'OK'), 'rev2 CREATE "Café"', r)
t.ok(os.path.isdir(os.path.join(MD, '.Caf&AOk-')), 'kept on disk in modified UTF-7 (.Caf&AOk-)', sorted(os.listdir(MD)))
u, r = b.cmd('CREATE "R&D"')
t.ok(r.startswith(b'OK') and os.path.isdir(os.path.join(MD, '.R&-D')), 'rev2 CREATE "R&D": .R&-D on disk', r)
u, r = b.cmd('CREATE {5+}\r\nNoël')
t.ok(r.startswith(b'OK') and os.path.isdir(os.path.join(MD, '.No&AOs-l')), 'rev2 CREATE with a UTF-8 literal', r)
u, r = b.cmd(b'CREATE "Caf\xff"')
t.ok(r.startswith(b'BAD'), 'rev2 CREATE of a name not in UTF-8: BAD', r)
u, r = b.cmd(b'CREATE "Caf\xc3"')
t.ok(r.startswith(b'BAD'), 'rev2 CREATE of a truncated UTF-8 name: BAD', r)
u, r = b.cmd('LIST "" *')
names = listed(u)
t.ok('Café'.encode() in names and b'R&D' in names and 'Noël'.encode() in names, 'rev2 LIST: UTF-8 names', u)
t.ok(not any(b'&AOk-' in n or n == b'R&-D' for n in names), 'rev2 LIST: no modified UTF-7', names)
t.ok(has(u, '^\\* LIST \\([^)]*\\) "\\." "Café"$'.encode()), 'rev2 LIST: an 8-bit name as a quoted string', u)
u, r = b.cmd('LIST "" "Caf%"')
t.ok(listed(u) == ['Café'.encode()], 'rev2 LIST with a UTF-8 pattern', u)
u, r = b.cmd('APPEND "Café" {%d+}\r\nSubject: x\r\n\r\nhello\r\n' % len('Subject: x\r\n\r\nhello\r\n'))
t.ok(r.startswith(b'OK'), 'rev2 APPEND to "Café"', r)
u, r = b.cmd('COPY 1:2 "Café"')
t.ok(r.startswith(b'OK'), 'rev2 COPY to "Café"', r)
u, r = b.cmd('STATUS "Café" (MESSAGES)')
t.ok(u == ['* STATUS "Café" (MESSAGES 3)'.encode()], 'rev2 STATUS "Café": its name in UTF-8', u)
u, r = b.cmd('SELECT "Caf&AOk-"')
t.ok(r.startswith(b'NO'), 'rev2: "Caf&AOk-" is not Café (no modified UTF-7 decoding)', (u, r))
u, r = b.cmd('SELECT "Café"')
t.ok(r.startswith(b'OK') and b'* 3 EXISTS' in u, 'rev2 SELECT "Café"', (u, r))
t.ok(has(u, '^\\* LIST \\([^)]*\\) "\\." "Café"$'.encode()), 'rev2 SELECT "Café": LIST with its UTF-8 name', u)
u, r = b.cmd('SUBSCRIBE "Noël"')
u, r = b.cmd('LSUB "" "No*"')
t.ok(listed(u) == ['Noël'.encode()], 'rev2 LSUB (kept, RFC 9051 6.3.9): UTF-8 names', u)

# the same folders seen by a rev1 session, in modified UTF-7
d = Raw(port)
u, r = d.cmd('LIST "" *')
names = listed(u)
t.ok(b'Caf&AOk-' in names and b'R&-D' in names and b'No&AOs-l' in names, 'rev1 LIST: the same folders in modified UTF-7', u)
u, r = d.cmd('STATUS Caf&AOk- (MESSAGES)')
t.ok(u == [b'* STATUS Caf&AOk- (MESSAGES 3)'], 'rev1 STATUS of the rev2 folder', u)
u, r = d.cmd('CREATE &ZeVnLIqe-')
u, r = d.cmd('RENAME Caf&AOk- Th&AOk-')
t.ok(r.startswith(b'OK'), 'rev1 RENAME Caf&AOk- Th&AOk-', r)
u, r = d.cmd('CREATE "Café"')
t.ok(r.startswith(b'BAD'), 'rev1 CREATE of a raw UTF-8 name: BAD (modified UTF-7 expected)', r)
d.close()

u, r = b.cmd('LIST "" *')
names = listed(u)
t.ok('日本語'.encode() in names and 'Thé'.encode() in names and 'Café'.encode() not in names,
     'rev2 LIST: the folders rev1 made and renamed, in UTF-8', u)
u, r = b.cmd('RENAME "Thé" "Thé.Noël"')
t.ok(r.startswith(b'OK') and os.path.isdir(os.path.join(MD, '.Th&AOk-.No&AOs-l')), 'rev2 RENAME "Thé" "Thé.Noël"', r)
u, r = b.cmd('STATUS "Thé.Noël" (MESSAGES)')
t.ok(u == ['* STATUS "Thé.Noël" (MESSAGES 3)'.encode()], 'rev2 STATUS of the renamed folder', u)
u, r = b.cmd('GETQUOTAROOT "Thé.Noël"')
t.ok(u and u[0] == '* QUOTAROOT "Thé.Noël"'.encode() and r.startswith(b'OK'), 'rev2 GETQUOTAROOT: the name in UTF-8', u)
u, r = b.cmd('SELECT INBOX')
t.ok(b'* OK [CLOSED] previous folder closed' in u and not has(u, rb'RECENT'), 'rev2 SELECT while selected: [CLOSED]', u)

# ---- response codes (RFC 9051 7.1) -------------------------------------------
u, r = b.cmd('CREATE "Über.Kind"')
u, r = b.cmd('DELETE "Über"')
t.ok(r.startswith(b'OK'), 'DELETE of a folder with children (it stays, \\Noselect)', r)
u, r = b.cmd('DELETE "Über"')
t.ok(r.startswith(b'NO [HASCHILDREN]'), 'DELETE of a \\Noselect name with children: NO [HASCHILDREN]', r)
u, r = b.cmd('CREATE "Über.Kind"')
t.ok(r.startswith(b'NO [ALREADYEXISTS]'), 'CREATE of a folder there: NO [ALREADYEXISTS]', r)
u, r = b.cmd('SELECT "Nirgendwö"')
t.ok(r.startswith(b'NO [NONEXISTENT]'), 'SELECT of no folder: NO [NONEXISTENT]', r)
u, r = b.cmd('STATUS "Nirgendwö" (MESSAGES)')
t.ok(r.startswith(b'NO [NONEXISTENT]'), 'STATUS of no folder: NO [NONEXISTENT]', r)
u, r = b.cmd('SELECT INBOX')
u, r = b.cmd('COPY 1 "Nirgendwö"')
t.ok(r.startswith(b'NO [TRYCREATE]'), 'COPY to no folder: NO [TRYCREATE]', r)
u, r = b.cmd('APPEND "Nirgendwö" {3+}\r\nx\r\n')
t.ok(r.startswith(b'NO [TRYCREATE]'), 'APPEND to no folder: NO [TRYCREATE]', r)
b.close()

inst.kill(server)
