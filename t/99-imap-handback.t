#!/usr/bin/env python3
"""The handback (lib/pop3handback), as the imap service runs it (tcp-serve
imap-serve auth-check imap-mailbox; as root split, IMAP_UID nobody): once
logged in, a session is one process, tcp-serve's child, now imap-mailbox,
running as the mailbox's owner with its supplementary groups as
auth-check set them, in the Maildir; it answers the login and the
commands pipelined with it, after a failed login too; under STARTTLS
(tls-serve -S) as well, below the TLS process. With AUTH_NOHANDBACK the mailbox part serves
from its own process, and imap-serve's waits: two processes, the same
answers."""
import os
import re
import socket
import ssl
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtls  # noqa: E402
from pmtest import TAP, Instance, wait_for  # noqa: E402
from pmimapserve import ImapServe, DEMO, PW  # noqa: E402

t = TAP()
inst = Instance(users={DEMO: PW})


def status(pid):
    """(uids, gids, groups, cwd) of a process."""
    st = open('/proc/%d/status' % pid).read()
    field = {k: v.split() for k, v in re.findall(r'(?m)^(Uid|Gid|Groups):\s*(.*)$', st)}
    return field['Uid'][0], field['Gid'][0], field.get('Groups', []), os.readlink('/proc/%d/cwd' % pid)


def children(pid):
    out = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                st = open('/proc/%s/stat' % d).read()
                if int(st[st.rindex(')') + 2:].split()[1]) == pid:
                    out.append((int(d), st[st.index('(') + 1:st.rindex(')')]))
            except (OSError, ValueError):
                pass
    return sorted(out)


def below(pid):
    todo, found = [pid], []
    while todo:
        for q, comm in children(todo.pop()):
            found.append((q, comm))
            todo.append(q)
    return found


class Client:
    def __init__(self, port, tls=None):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=20)
        self.f = self.s.makefile('rb')
        self.greeting = self.f.readline()
        if tls:
            self.send(b's STARTTLS\r\n')
            self.until(b's')
            self.s = tls.wrap_socket(self.s, server_hostname='localhost')
            self.f = self.s.makefile('rb')

    def send(self, b):
        self.s.sendall(b)

    def until(self, tag):
        out = []
        while True:
            ln = self.f.readline()
            if not ln:
                raise EOFError(out)
            out.append(ln)
            if ln.startswith(tag + b' '):
                return out


def session(srv, tls=None, fail_first=False):
    """Log in (with a SELECT pipelined); the session's processes below
    tcp-serve and what it answered."""
    c = Client(srv.port, tls)
    if fail_first:
        c.send(b'f LOGIN %s wrong\r\n' % DEMO.encode())
        c.until(b'f')
    c.send(b'a LOGIN %s %s\r\nb SELECT INBOX\r\n' % (DEMO.encode(), PW.encode()))
    out = c.until(b'a') + c.until(b'b')
    c.send(b'c NOOP\r\n')
    out += c.until(b'c')
    return c, below(srv.proc.pid), out


srv = ImapServe(inst, env={'AUTH_FAIL_DELAY': '0'})
srv.deliver(b'From: a@example.org\nSubject: one\n\nhello\n')
md = os.path.realpath(srv.md)
owner = os.stat(srv.md)
c, procs, out = session(srv)
t.ok(any(ln.startswith(b'a OK') for ln in out) and any(ln.startswith(b'b OK [READ-WRITE]') for ln in out)
     and out[-1].startswith(b'c OK'), 'logged in: the login and the SELECT pipelined with it answered', out)
t.eq([comm for _, comm in procs], ['imap-mailbox'], 'one process for the session, tcp-serve\'s child, now imap-mailbox')
if procs:
    uid, gid, groups, cwd = status(procs[0][0])
    t.eq((uid, gid, cwd), (str(owner.st_uid), str(owner.st_gid), md), 'as the mailbox\'s owner, in the Maildir')
    t.eq(groups, [str(owner.st_gid)], 'with the supplementary groups auth-check gave it (its group only)')
c.send(b'd LOGOUT\r\n')
t.ok(c.until(b'd')[-1].startswith(b'd OK'), 'LOGOUT')

c, procs, out = session(srv, fail_first=True)
t.ok(out[-1].startswith(b'c OK') and [comm for _, comm in procs] == ['imap-mailbox'],
     'after a failed login too: one process, the session served', (procs, out))
c.s.close()

# the address's failures are forgotten at the login, though imap-serve's
# process never gets back from it: with AUTH_MAXFAIL 2, fail, log in,
# fail again, log in: not locked out
lsrv = ImapServe(inst, env={'AUTH_MAXFAIL': '2', 'AUTH_FAIL_DELAY': '0'})
c, procs, out = session(lsrv, fail_first=True)
c.s.close()
c, procs, out = session(lsrv, fail_first=True)
t.ok(out[-1].startswith(b'c OK'), 'a login forgets the failures before it (AUTH_MAXFAIL 2: fail, log in, fail, log in)', out)
c.s.close()
lsrv.stop()

# STARTTLS
cadir = os.path.join(inst.root, 'ca')
os.makedirs(cadir)
ca = pmtls.TestCA(cadir)
cert, key = ca.issue('localhost')
for f in (cert, key):
    os.chmod(f, 0o644)
tsrv = ImapServe(inst, tls=True, env={'CERTFILE': cert, 'KEYFILE': key, 'AUTH_FAIL_DELAY': '0'})
ctx = ssl.create_default_context(cafile=ca.cert)
c, procs, out = session(tsrv, tls=ctx)
t.ok(out[-1].startswith(b'c OK') and [comm for _, comm in procs] == ['tls-serve', 'imap-mailbox'],
     'under STARTTLS (tls-serve -S): the TLS process and one below it, the session served', (procs, out))
c.s.close()
tsrv.stop()

# declined
nsrv = ImapServe(inst, env={'AUTH_NOHANDBACK': '1', 'AUTH_FAIL_DELAY': '0'})
c, procs, out = session(nsrv)
# the split's client side exits as the mailbox part goes on: a moment
procs = wait_for(lambda: len(below(nsrv.proc.pid)) == 2, 10) and below(nsrv.proc.pid)
t.ok(out[-1].startswith(b'c OK') and sorted(comm for _, comm in procs or []) == ['imap-mailbox', 'imap-serve'],
     'AUTH_NOHANDBACK: the mailbox part serves from its own process, imap-serve\'s waits', (procs, out))
c.send(b'd LOGOUT\r\n')
t.ok(c.until(b'd')[-1].startswith(b'd OK'), '... and LOGOUT')
nsrv.stop()
srv.stop()
log = srv.log() + nsrv.log() + tsrv.log() + lsrv.log()
t.ok(not re.search(r'fatal|Sanitizer|runtime error', log), 'no fatal error in the logs', log[-2000:])
