#!/usr/bin/env python3
# pop3-serve and pop3-mailbox with Python's poplib: STAT, LIST, UIDL, TOP,
# RETR, DELE, RSET, QUIT on a Maildir filled by maildir-deliver (dot lines,
# 20 MB, 8-bit, no final newline) and a foreign file (CRLF, no S=/W=);
# sizes are the octets received, bodies the files with CRLF; UIDL stable
# across sessions, new/ -> cur/ and flag changes; a dropped connection
# deletes nothing; [IN-USE]; a message deleted or changed by another
# program gets -ERR; commands pipelined with the login; AUTH PLAIN;
# plaintext login refused unless allowed; failed logins; bad input.
import base64
import os
import poplib
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtest
from pmtest import TAP, Instance, free_port, wait_port, wait_for

t = TAP()
STUB = os.path.join(pmtest.HERE, 'checkpw-stub')
inst = Instance(users={'demo@example.test': 'demo'})
MD = inst.maildir('demo@example.test')
TABLE = os.path.join(inst.root, 'checkpw-table')
FAILTABLE = os.path.join(inst.root, 'authfail')
with open(TABLE, 'w') as f:
    f.write('demo@example.test demo %s\n' % MD)


def deliver(msg):
    inst.run(['maildir-deliver', MD], input=msg,
             env={'SENDER': 'a@example.org', 'RECIPIENT': 'demo@example.test'})


def crlf(data):
    """What RETR sends (before byte-stuffing): CRLF line ends, completed."""
    out = data.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    return out if out.endswith(b'\r\n') or not out else out + b'\r\n'


def start(env=None, prog=('pop3-mailbox',)):
    port = free_port()
    e = {'CHECKPW_TABLE': TABLE, 'AUTH_FAIL_DELAY': '0', 'AUTHFAIL_FILE': FAILTABLE}
    e.update(env or {})
    p = inst.spawn(['tcp-serve', '127.0.0.1', str(port), 'pop3-serve', STUB] + list(prog), env=e)
    if not wait_port(port):
        raise RuntimeError('pop3-serve did not start: ' + inst.log(p))
    return port, p


def login(port, user='demo@example.test', pw='demo'):
    c = poplib.POP3('127.0.0.1', port, timeout=30)
    c.user(user)
    c.pass_(pw)
    return c


def login_when_free(port):
    """Log in once an earlier session (a dropped connection) has ended."""
    def try_():
        try:
            return login(port)
        except poplib.error_proto as e:
            if b'[IN-USE]' in e.args[0]:
                return None
            raise
    return wait_for(try_, 10)


def files():
    """name -> contents of every message file in new/ and cur/"""
    out = {}
    for sub in ('new', 'cur'):
        for n in os.listdir(os.path.join(MD, sub)):
            with open(os.path.join(MD, sub, n), 'rb') as f:
                out[sub + '/' + n] = f.read()
    return out


def base(n):
    n = n.split('/', 1)[1]
    return n.split(':')[0].split(',')[0]


def chat(port, data, timeout=10.0):
    return pmtest.smtp_chat(port, data, timeout)


def chat_in(port, data, timeout=10.0):
    """Log in, wait for the mailbox's +OK, then send data; all replies."""
    s = socket.create_connection(('127.0.0.1', port), timeout)
    s.settimeout(timeout)
    out = s.recv(4096)
    s.sendall(b'USER demo@example.test\r\nPASS demo\r\n')
    while b'octets)' not in out:
        b = s.recv(4096)
        if not b:
            return out
        out += b
    s.sendall(data)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except OSError:
        pass
    s.close()
    return out


# -- a mailbox ----------------------------------------------------------
DOTS = b'Subject: dots\n\n.leading dot\n..two dots\n.\nend\n'
BIG = b'Subject: big\n\n' + (b'x' * 75 + b'\n') * (20 * 1024 * 1024 // 76)
EIGHT = 'Subject: 8bit\n\nCafé, naïve, 日本語\n'.encode() + bytes(range(128, 256)) + b'\n'
NOEOL = b'Subject: no newline\n\nlast line without LF'
for m in (DOTS, BIG, EIGHT, NOEOL):
    deliver(m)
time.sleep(0.01)
# a message another server wrote: CRLF line ends, no S= or W= in its name
FOREIGN = b'Subject: foreign\r\n\r\nwritten with CRLF\r\n.dot\r\n'
with open(os.path.join(MD, 'cur', '%d.M1P1.other:2,S' % (time.time() + 5)), 'wb') as f:
    f.write(FOREIGN)
stored = files()
# delivery order, as the server gives it: the second, the microsecond
# (M123456: a number, not a string: M99999 comes before M100000), the name


def delivery(n):
    sec, rest = base(n).split('.', 1)
    usec = re.match(r'M(\d+)', rest)
    return (int(sec), int(usec.group(1)) if usec else 0, base(n))


names = sorted(stored, key=delivery)
want = [crlf(stored[n]) for n in names]
t.eq(len(names), 5, 'five messages in the Maildir')
t.ok(all(',W=' in n for n in names if 'other' not in n), 'maildir-deliver names carry W=', names)

port, srv = start({'POP3_PLAINTEXT': '1'})
c = login(port)
t.eq(c.stat(), (5, sum(len(w) for w in want)), 'STAT: count and octets with CRLF line ends')
resp, lst, _ = c.list()
t.eq([int(x.split()[1]) for x in lst], [len(w) for w in want], 'LIST: each size is the octets RETR sends')
t.eq(c.list(3), b'+OK 3 %d' % len(want[2]), 'LIST 3')
resp, ul, _ = c.uidl()
uids = [x.split()[1].decode() for x in ul]
t.eq(uids, [base(n) for n in names], 'UIDL: the unique part of the Maildir names')
t.eq(len(set(uids)), 5, 'UIDL: unique')
t.eq(os.listdir(os.path.join(MD, 'new')), [], 'new/ moved to cur/ when the session saw it')
for i, w in enumerate(want, 1):
    resp, lines, octets = c.retr(i)
    got = b''.join(l + b'\r\n' for l in lines)
    t.ok(got == w and octets == len(w) and resp.startswith(b'+OK %d octets' % len(w)),
         'RETR %d: the file with CRLF, %d octets as announced' % (i, len(w)),
         'octets %d, resp %r, equal %s' % (octets, resp, got == w))
resp, lines, _ = c.top(1, 0)
t.eq(lines, [b'Return-Path: <a@example.org>', b'Delivered-To: demo@example.test', b'Subject: dots', b''],
     'TOP 1 0: the header and the blank line')
resp, lines, _ = c.top(1, 2)
t.eq(lines[-2:], [b'.leading dot', b'..two dots'], 'TOP 1 2: two body lines, dots unstuffed by poplib')
raw = chat  # raw sessions below
c.dele(1)
t.eq(c.stat()[0], 4, 'DELE 1: STAT no longer counts it')
try:
    c.retr(1)
    t.ok(False, 'RETR of a deleted message: -ERR')
except poplib.error_proto as e:
    t.ok(b'no such message' in e.args[0], 'RETR of a deleted message: -ERR', e)
c.rset()
t.eq(c.stat()[0], 5, 'RSET undoes DELE')
c.dele(1)
c.dele(3)
# the connection drops: nothing deleted
c.close()   # no QUIT
c = login_when_free(port)   # the dropped session has ended
t.eq(len(files()), 5, 'a dropped connection after DELE deletes nothing')

# UIDL stable across sessions and a flag change (as IMAP makes it)
first = names[0].split('/', 1)[1]
os.rename(os.path.join(MD, 'cur', first + ':2,'), os.path.join(MD, 'cur', first + ':2,S'))
resp, ul, _ = c.uidl()
t.eq([x.split()[1].decode() for x in ul], uids, 'UIDL the same in the next session, after a flag change')
resp, lines, _ = c.retr(1)
t.eq(b''.join(l + b'\r\n' for l in lines), want[0], 'RETR of a message renamed by a flag change: found again')

# [IN-USE]
try:
    c2 = login(port)
    t.ok(False, 'a second session: -ERR [IN-USE]')
    c2.quit()
except poplib.error_proto as e:
    t.ok(b'[IN-USE]' in e.args[0], 'a second session: -ERR [IN-USE]', e)

# another program deletes or changes a message under the session
fn = [n for n in files() if base(n) == uids[3]][0]
os.unlink(os.path.join(MD, fn))
try:
    c.retr(4)
    t.ok(False, 'RETR of a message deleted by another program: -ERR')
except poplib.error_proto as e:
    t.ok(b'vanished' in e.args[0], 'RETR of a message deleted by another program: -ERR', e)
fn = [n for n in files() if base(n) == uids[4]][0]
with open(os.path.join(MD, fn), 'ab') as f:
    f.write(b'more\n')
try:
    c.retr(5)
    t.ok(False, 'RETR of a message changed by another program: -ERR')
except poplib.error_proto as e:
    t.ok(b'changed' in e.args[0], 'RETR of a message changed by another program: -ERR', e)
deliver(b'Subject: later\n\nnew\n')
t.eq(c.stat()[0], 5, 'a delivery during the session is not in it')
c.dele(1)
c.dele(4)
c.quit()
c = login_when_free(port)
left = files()
t.ok(not any(base(n) == uids[0] for n in left) and len(left) == 4,
     'QUIT removes what DELE marked (a vanished one too)', sorted(left))
t.eq(c.stat()[0], 4, 'the next session sees the new delivery')
c.quit()

# -- commands pipelined with the login ------------------------------------
out = chat(port, b'USER demo@example.test\r\nPASS demo\r\nSTAT\r\nNOOP\r\nQUIT\r\n')
t.ok(out.count(b'+OK') == 6 and b'signing off' in out, 'commands pipelined after PASS are answered', out)

s = socket.create_connection(('127.0.0.1', port), 10)
s.recv(4096)
s.sendall(b'USER demo@example.test\r\nPASS demo\r\n' + b'NOOP\r\n' * 1000)
out = b''
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except OSError:
    pass
s.close()
t.ok(b'-ERR too many pipelined commands' in out and b'messages (' not in out,
     'more than 4 KB pipelined after PASS: -ERR, no login', out)

# -- AUTH PLAIN -----------------------------------------------------------
ir = base64.b64encode(b'\0demo@example.test\0demo')
out = chat(port, b'AUTH PLAIN ' + ir + b'\r\nSTAT\r\nQUIT\r\n')
t.ok(out.count(b'+OK') == 4, 'AUTH PLAIN with the initial response', out)
out = chat(port, b'AUTH PLAIN\r\n' + ir + b'\r\nQUIT\r\n')
t.ok(b'\r\n+ \r\n+OK' in out and b'signing off' in out, 'AUTH PLAIN with a continuation', out)
out = chat(port, b'AUTH PLAIN !!!notbase64\r\nAUTH PLAIN ' + base64.b64encode(b'other\0demo@example.test\0demo') + b'\r\nQUIT\r\n')
t.ok(out.count(b'-ERR') == 2 and out.endswith(b'+OK bye\r\n'), 'AUTH PLAIN: bad base64, other authzid: -ERR', out)

# -- failed logins --------------------------------------------------------
out = chat(port, b'USER demo@example.test\r\nPASS wrong\r\nUSER demo@example.test\r\nPASS demo\r\nQUIT\r\n')
t.ok(b'-ERR [AUTH]' in out and b'signing off' in out, 'a bad password: -ERR [AUTH], then a good one works', out)
out = chat(port, b'USER x\r\nPASS a\r\nUSER x\r\nPASS b\r\nUSER x\r\nPASS c\r\nNOOP\r\n')
t.ok(out.count(b'-ERR [AUTH]') == 3 and b'closing' in out and not out.endswith(b'not logged in\r\n'),
     'three bad passwords end the session', out)
t.ok(wait_for(lambda: re.search(r'pop3-serve: warning: session=\S+ client=unknown\[127\.0\.0\.1\]: '
                                r'SASL LOGIN authentication failed: user=<x> failures=\d', inst.log(srv)), 5),
     'failed logins are logged as submission logs them (fail2ban postfix filter)', inst.log(srv))
t.ok('secret' not in inst.log(srv) and 'PASS' not in inst.log(srv), 'no password in the log')

# -- bad input ------------------------------------------------------------
out = chat(port, b'X' * 100000 + b'\r\nFOO\r\nSTAT\r\nPASS demo\r\nRETR 1\r\nCAPA\r\nQUIT\r\n')
t.ok(out.count(b'-ERR') == 5 and b'line too long' in out and b'USER first' in out
     and b'\r\nSASL PLAIN\r\n' in out and out.endswith(b'+OK bye\r\n'),
     'before login: 100 KB line, unknown command, wrong state, PASS before USER: -ERR each', out)
cmds = [b'X' * 100000, b'RETR 0', b'RETR 99', b'RETR', b'RETR -1', b'TOP 1 -1', b'TOP 1', b'DELE 1', b'DELE 1',
        b'RETR 1', b'LIST 0', b'UIDL 4294967297', b'USER demo', b'STAT x']
out = chat_in(port, b''.join(x + b'\r\n' for x in cmds) + b'RSET\r\nQUIT\r\n')
t.ok(out.count(b'-ERR') == len(cmds) - 1 and out.endswith(b'messages left)\r\n'),
     'after login: 100 KB line, RETR 0, out of range, no argument, TOP -1, DELE twice, RETR of a deleted one...: -ERR each', out)
t.eq(len(files()), 4, '... and nothing deleted (RSET)')
out = chat_in(port, b'FOO\r\n' * 20)
t.ok(b'too many errors' in out and out.count(b'-ERR') == 10, 'too many errors end the session', out)
t.ok(srv.poll() is None, 'the server is still up')

# -- plaintext refused unless allowed --------------------------------------
port2, _ = start()
out = chat(port2, b'CAPA\r\nUSER demo@example.test\r\nAUTH PLAIN ' + ir + b'\r\nQUIT\r\n')
t.ok(b'\r\nUSER\r\n' not in out and b'SASL' not in out and out.count(b'STLS first') == 2,
     'without TLS and POP3_PLAINTEXT: no USER/SASL in CAPA, logins refused', out)

# -- lock-out across connections -------------------------------------------
port3, _ = start({'POP3_PLAINTEXT': '1', 'AUTH_MAXFAIL': '2', 'AUTHFAIL_FILE': FAILTABLE + '-3'})
out = chat(port3, b'USER x\r\nPASS a\r\nUSER x\r\nPASS b\r\n')
t.ok(out.count(b'-ERR [AUTH]') == 2 and b'too many failed logins' in out, 'AUTH_MAXFAIL failed logins lock the address out', out)
sk = socket.create_connection(('127.0.0.1', port3), 10)
out = sk.recv(4096)
sk.close()
t.ok(out.startswith(b'-ERR [AUTH] too many failed logins') and b'+OK' not in out,
     '... and its next connection is refused at once', out)
out = chat(port, b'USER demo@example.test\r\nPASS demo\r\nQUIT\r\n')
t.ok(b'signing off' in out, '... not on a server with another table', out)
