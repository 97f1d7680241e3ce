#!/usr/bin/env python3
# imap-serve, the part of the IMAP server before login, with Python's
# imaplib and raw sockets: greeting and CAPABILITY, NOOP, ID, LOGOUT;
# LOGIN and AUTHENTICATE PLAIN (SASL-IR and the continuation, cancel, bad
# base64); LOGINDISABLED before STARTTLS and logins after it, cleartext
# pipelined with STARTTLS dropped; implicit TLS; the handoff to the
# mailbox part (IMAP_LOGIN_TAG, IMAP_INPUT, IMAP_TLS, IMAP_ID) through a
# stand-in of imap-mailbox that prints what it got; failed logins and the
# lock-out; bad input (long lines, huge literals, unbalanced parentheses,
# commands of later states), each a BAD/NO and no crash; where imap-mailbox
# is built, LOGIN, SELECT and FETCH with it (also pipelined); as root the
# privilege split with the real auth-check.
import base64
import imaplib
import os
import pwd
import re
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtest
import pmtls
from pmtest import Instance, free_port, wait_port

t = pmtls.tap_needing('tls-serve')
inst = Instance(users={'demo@example.test': 'demo'})
MD = inst.maildir('demo@example.test')
ca = pmtls.TestCA(inst.root)
CERT, KEY = ca.issue('mx.example.test', 'rsa')
CTX = pmtls.client_context(None, verify=False)
STUB = os.path.join(pmtest.HERE, 'checkpw-stub')
TABLE = os.path.join(inst.root, 'checkpw-table')
with open(TABLE, 'w') as f:
    f.write('demo@example.test demo %s\n' % MD)

# The mailbox part's stand-in: answers the login command (IMAP_LOGIN_TAG),
# then the commands of IMAP_INPUT and of the client; "tag ENV" shows the
# handoff, LOGOUT ends.
MBOX = os.path.join(inst.root, 'mailbox-stand-in')
with open(MBOX, 'w') as f:
    f.write(r'''#!%s
import os, sys
os.set_blocking(0, True)   # imap-serve made the socket non-blocking
tag = os.environ.get('IMAP_LOGIN_TAG')
out = sys.stdout.buffer
out.write(('%%s OK [CAPABILITY IMAP4rev1] Logged in\r\n' %% tag if tag else '* PREAUTH ready\r\n').encode())
out.flush()
def lines():
    for l in os.environ.get('IMAP_INPUT', '').encode().splitlines(True):
        yield l
    for l in sys.stdin.buffer:
        yield l
for l in lines():
    w = l.split()
    if len(w) < 2:
        continue
    tag, cmd = w[0].decode(), w[1].decode().upper()
    if cmd == 'ENV':
        e = ' '.join('%%s=%%s' %% (k, os.environ.get(k, '-')) for k in ('IMAP_TLS', 'IMAP_ID', 'USER', 'SSL_PROTOCOL'))
        out.write(('* ENV %%s cwd=%%s\r\n' %% (e, os.getcwd())).encode())
    if cmd == 'LOGOUT':
        out.write(('* BYE stand-in\r\n%%s OK LOGOUT done\r\n' %% tag).encode())
        out.flush()
        break
    out.write(('%%s OK %%s stand-in\r\n' %% (tag, cmd)).encode())
    out.flush()
''' % ('/usr/bin/python3' if os.access('/usr/bin/python3', os.X_OK) else sys.executable))
os.chmod(MBOX, 0o755)
procs = []
imaplib.Commands['ENV'] = ('AUTH', 'SELECTED')   # the stand-in's


def start(mode='plain', checkpw=(STUB,), more=None, mbox=(MBOX,)):
    port = free_port()
    env = {'CERTFILE': CERT, 'KEYFILE': KEY, 'CHECKPW_TABLE': TABLE, 'AUTH_FAIL_DELAY': '0',
           'AUTHFAIL_FILE': os.path.join(inst.root, 'authfail-%d' % port)}
    if mode == 'plain':
        env['IMAP_PLAINTEXT'] = '1'
    env.update(more or {})
    tls = {'plain': [], 'nologin': [], 'stls': ['tls-serve', '-S'], 'implicit': ['tls-serve']}[mode]
    p = inst.spawn(['tcp-serve', '127.0.0.1', str(port)] + tls + ['imap-serve'] + list(checkpw) + list(mbox), env=env)
    procs.append(p)
    if not wait_port(port):
        raise RuntimeError('imap-serve did not start: ' + inst.log(p))
    return port


class Raw:
    """A line-level client: send bytes, read answers up to a tagged one."""

    def __init__(self, port, sock=None):
        self.s = sock or socket.create_connection(('127.0.0.1', port), 20)
        self.s.settimeout(20)
        self.buf = b''
        self.greeting = self.line()

    def line(self):
        while b'\r\n' not in self.buf:
            b = self.s.recv(65536)
            if not b:
                out, self.buf = self.buf, b''
                return out
            self.buf += b
        out, self.buf = self.buf.split(b'\r\n', 1)
        return out

    def upto(self, tag):
        """Lines until the one tagged tag, a continuation request or the
        end of the connection: a list."""
        got = []
        while True:
            l = self.line()
            got.append(l)
            if not l or l.startswith(tag + b' ') or l.startswith(b'+ ') or l == b'+':
                return got

    def cmd(self, data, tag):
        self.s.sendall(data)
        return self.upto(tag)

    def closed(self):
        try:
            return self.s.recv(4096) == b''
        except OSError:
            return True


def plain(user, pw, authz=''):
    return base64.b64encode(('%s\0%s\0%s' % (authz, user, pw)).encode())


port = start('plain')
r = Raw(port)
t.ok(r.greeting.startswith(b'* OK [CAPABILITY IMAP4rev1 ') and b'AUTH=PLAIN' in r.greeting
     and b'LOGINDISABLED' not in r.greeting and b'STARTTLS' not in r.greeting,
     'greeting: OK with the capabilities, AUTH=PLAIN (plaintext allowed), no STARTTLS without UCSPI-TLS', r.greeting)
got = r.cmd(b'a1 CAPABILITY\r\n', b'a1')
t.ok(len(got) == 2 and got[0].startswith(b'* CAPABILITY IMAP4rev1') and
     all(c in got[0].split() for c in (b'SASL-IR', b'LITERAL+', b'ID', b'ENABLE', b'IDLE', b'AUTH=PLAIN'))
     and got[1].startswith(b'a1 OK'), 'CAPABILITY', got)
t.ok(r.cmd(b'a2 NOOP\r\n', b'a2')[-1].startswith(b'a2 OK'), 'NOOP')
got = r.cmd(b'a3 ID ("name" "Thunder bird" "version" {3}\r\n', b'a3')
t.ok(got[0].startswith(b'+ '), 'ID with a literal: continuation', got)
got = r.cmd(b'115)\r\n', b'a3')
t.ok(got == [b'* ID ("name" "pipemail")', b'a3 OK ID completed'], 'ID: our ID, OK', got)
got = r.cmd(b'a4 LOGIN demo@example.test demo\r\na5 ENV\r\n', b'a5')
t.ok(got[0] == b'a4 OK [CAPABILITY IMAP4rev1] Logged in', 'LOGIN: the mailbox part answers it (IMAP_LOGIN_TAG)', got)
t.ok(len(got) == 3 and b'IMAP_TLS=- IMAP_ID=name=Thunder_bird version=115 USER=demo@example.test' in got[1]
     and (b'cwd=' + MD.encode()) in got[1],
     'the mailbox part: in the Maildir, IMAP_ID, no IMAP_TLS; commands pipelined with LOGIN reach it', got)
got = r.cmd(b'a6 LOGOUT\r\n', b'a6')
t.ok(got[-1] == b'a6 OK LOGOUT done' and r.closed(), 'LOGOUT after login is the mailbox part\'s', got)

# imaplib: LOGIN, AUTHENTICATE PLAIN with the continuation, LOGOUT
c = imaplib.IMAP4('127.0.0.1', port, timeout=20)
t.ok('AUTH=PLAIN' in c.capabilities and 'IMAP4REV1' in c.capabilities, 'imaplib: capabilities', c.capabilities)
t.eq(c.login('demo@example.test', 'demo')[0], 'OK', 'imaplib: LOGIN')
t.eq(c.logout()[0], 'BYE', 'imaplib: LOGOUT')
c = imaplib.IMAP4('127.0.0.1', port, timeout=20)
try:
    c.login('demo@example.test', 'wrong')
    t.ok(False, 'imaplib: a wrong password is NO [AUTHENTICATIONFAILED]')
except imaplib.IMAP4.error as e:
    t.ok('AUTHENTICATIONFAILED' in str(e), 'imaplib: a wrong password is NO [AUTHENTICATIONFAILED]', e)
t.eq(c.authenticate('PLAIN', lambda ch: b'\0demo@example.test\0demo')[0], 'OK',
     'imaplib: AUTHENTICATE PLAIN with the continuation, after a failure')
c.logout()

# AUTHENTICATE by hand: SASL-IR, cancel, bad base64, authzid
r = Raw(port)
got = r.cmd(b'b1 AUTHENTICATE PLAIN\r\n', b'b1')
t.eq(got, [b'+ '], 'AUTHENTICATE PLAIN: an empty continuation')
t.ok(r.cmd(b'*\r\n', b'b1')[-1].startswith(b'b1 BAD'), '"*" cancels: BAD')
got = r.cmd(b'b2 AUTHENTICATE PLAIN !!notbase64\r\n', b'b2')
t.ok(got[-1].startswith(b'b2 BAD'), 'a bad base64 initial response: BAD', got)
got = r.cmd(b'b3 AUTHENTICATE PLAIN\r\n', b'b3') + r.cmd(b'AAA=x\r\n', b'b3')
t.ok(got[-1].startswith(b'b3 BAD'), 'bad base64 after the continuation: BAD', got)
got = r.cmd(b'b4 AUTHENTICATE PLAIN ' + plain('demo@example.test', 'demo', 'other@example.test') + b'\r\n', b'b4')
t.ok(got[-1].startswith(b'b4 NO'), 'an authorization identity of another user: NO', got)
got = r.cmd(b'b5 AUTHENTICATE CRAM-MD5\r\n', b'b5')
t.ok(got[-1].startswith(b'b5 NO'), 'an unknown mechanism: NO', got)
got = r.cmd(b'b6 AUTHENTICATE PLAIN ' + plain('demo@example.test', 'demo') + b'\r\n', b'b6')
t.eq(got, [b'b6 OK [CAPABILITY IMAP4rev1] Logged in'], 'AUTHENTICATE PLAIN with an initial response (SASL-IR)')
r.cmd(b'b7 LOGOUT\r\n', b'b7')

# bad input: a BAD or NO each, and the session goes on
r = Raw(port)
cases = [
    (b'c1 NOOP ' + b'x' * 100000 + b'\r\n', b'c1 BAD', 'a 100 KB line'),
    (b'c2 LOGIN {99999999}\r\n', b'c2 BAD', 'a huge literal announced: refused before its bytes'),
    (b'c3 ID ("name" "x"\r\n', b'c3 BAD', 'unbalanced parentheses'),
    (b'c4 SELECT INBOX\r\n', b'c4 BAD', 'SELECT before login'),
    (b'c5 UID FETCH 1:* FLAGS\r\n', b'c5 BAD', 'UID FETCH before login'),
    (b'c6 APPEND INBOX {5}\r\n', b'c6 NO', 'APPEND before login: NO, no continuation'),
    (b'c7 FOO\r\n', b'c7 BAD', 'an unknown command'),
    (b'c8 NOOP extra\r\n', b'c8 BAD', 'NOOP with an argument'),
]
for data, want, name in cases:
    got = r.cmd(data, want.split()[0])
    t.ok(got[-1].startswith(want), name + ': ' + want.decode(), got[-3:])
t.ok(r.cmd(b'c9 NOOP\r\n', b'c9')[-1].startswith(b'c9 OK'), 'the session goes on after them')
got = r.cmd(b'd1 X\r\nd2 X\r\n', b'd2') + [r.line()]
t.ok(got[-1].startswith(b'* BYE') and r.closed(), 'ten bad commands end the session', got)
r = Raw(port)
got = r.cmd(b'e1 LOGIN {99999999+}\r\n', b'e1')
t.ok(got[0].startswith(b'* BYE') and r.closed(), 'a huge non-synchronizing literal: BYE, closed', got)
r = Raw(port)
got = r.cmd(b'e2 LOGIN {5+}\r\ndemo@ {4+}\r\ndemo\r\n', b'e2')
t.ok(got[-1].startswith(b'e2 NO [AUTHENTICATIONFAILED]'), 'LOGIN with LITERAL+ literals: read (wrong user)', got)
got = r.cmd(b'e3 LOGIN {17+}\r\ndemo@example.test {4+}\r\ndemo\r\n', b'e3')
t.ok(got[-1].startswith(b'e3 OK'), 'LOGIN with LITERAL+ literals', got)
r.cmd(b'e4 LOGOUT\r\n', b'e4')

# the lock-out: AUTH_MAXFAIL failures from an address refuse it
port = start('plain', more={'AUTH_MAXFAIL': '4'})
r = Raw(port)
for i in range(3):
    got = r.cmd(b'f%d LOGIN demo@example.test bad\r\n' % i, b'f%d' % i)
got.append(r.line())
t.ok(got[-2].startswith(b'f2 NO [AUTHENTICATIONFAILED]') and got[-1].startswith(b'* BYE') and r.closed(),
     'three failed logins end the session', got)
r = Raw(port)
got = r.cmd(b'f3 LOGIN demo@example.test bad\r\n', b'f3') + [r.line()]
t.ok(got[0].startswith(b'f3 NO') and got[-1].startswith(b'* BYE [UNAVAILABLE]'), 'the fourth failure locks the address out', got)
r = Raw(port)
t.ok(r.greeting.startswith(b'* BYE [UNAVAILABLE]') and r.closed(), 'a locked-out address is refused at the greeting', r.greeting)

# plaintext refused: no IMAP_PLAINTEXT, no TLS
port = start('nologin')
c = imaplib.IMAP4('127.0.0.1', port, timeout=20)
t.ok('LOGINDISABLED' in c.capabilities and 'AUTH=PLAIN' not in c.capabilities,
     'no TLS, no IMAP_PLAINTEXT: LOGINDISABLED, no AUTH=PLAIN', c.capabilities)
try:
    c.login('demo@example.test', 'demo')
    t.ok(False, 'LOGIN without TLS: NO [PRIVACYREQUIRED]')
except imaplib.IMAP4.error as e:
    t.ok('PRIVACYREQUIRED' in str(e), 'LOGIN without TLS: NO [PRIVACYREQUIRED]', e)
c.logout()

# STARTTLS (tls-serve -S)
port = start('stls')
c = imaplib.IMAP4('127.0.0.1', port, timeout=20)
t.ok('STARTTLS' in c.capabilities and 'LOGINDISABLED' in c.capabilities, 'before STARTTLS: STARTTLS, LOGINDISABLED',
     c.capabilities)
c.starttls(CTX)
t.ok('STARTTLS' not in c.capabilities and 'LOGINDISABLED' not in c.capabilities and 'AUTH=PLAIN' in c.capabilities,
     'after STARTTLS: AUTH=PLAIN, no STARTTLS or LOGINDISABLED', c.capabilities)
t.eq(c.login('demo@example.test', 'demo')[0], 'OK', 'LOGIN after STARTTLS')
typ, dat = c._simple_command('ENV')
env = c.untagged_responses.get('ENV', [b''])[0]
t.ok(typ == 'OK' and b'IMAP_TLS=1 ' in env and b'SSL_PROTOCOL=TLS' in env,
     'after STARTTLS the mailbox part talks through TLS, IMAP_TLS=1', (typ, env))
c.logout()
s = socket.create_connection(('127.0.0.1', port), 20)
r = Raw(port, s)
got = r.cmd(b'g1 STARTTLS\r\ng2 LOGIN demo@example.test demo\r\n', b'g1')
t.ok(got == [b'g1 OK begin TLS negotiation now'] and r.buf == b'', 'STARTTLS: only its own answer before the handshake', got)
ss = CTX.wrap_socket(s, server_hostname='mx.example.test')
ss.sendall(b'g3 NOOP\r\n')
got = ss.recv(4096)
t.ok(got.startswith(b'g3 OK NOOP'), 'the cleartext LOGIN pipelined with STARTTLS was not executed', got)
ss.close()

# implicit TLS
port = start('implicit')
c = imaplib.IMAP4_SSL('127.0.0.1', port, ssl_context=CTX, timeout=20)
t.ok('AUTH=PLAIN' in c.capabilities and 'STARTTLS' not in c.capabilities, 'implicit TLS: AUTH=PLAIN, no STARTTLS',
     c.capabilities)
t.eq(c.login('demo@example.test', 'demo')[0], 'OK', 'implicit TLS: LOGIN')
c._simple_command('ENV')
t.ok(b'IMAP_TLS=1 ' in c.untagged_responses.get('ENV', [b''])[0], 'implicit TLS: IMAP_TLS=1', c.untagged_responses)
c.logout()

# with the real mailbox part, where it is built: LOGIN, SELECT, FETCH
if os.access(os.path.join(pmtest.BIN, 'imap-mailbox'), os.X_OK):
    MSG = b'From: a@example.org\nSubject: e2e\n\nhello over IMAP\n'
    inst.run(['maildir-deliver', MD], input=MSG, env={'SENDER': 'a@example.org', 'RECIPIENT': 'demo@example.test'})
    port = start('stls', mbox=('imap-mailbox',))
    c = imaplib.IMAP4('127.0.0.1', port, timeout=20)
    c.starttls(CTX)
    c.login('demo@example.test', 'demo')
    typ, n = c.select('INBOX')
    typ, d = c.fetch(n[0], '(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY[TEXT])')
    t.ok(typ == 'OK' and b'Subject: e2e' in d[0][1] and any(b'hello over IMAP' in x[1] for x in d if isinstance(x, tuple)),
         'imap-mailbox: STARTTLS, LOGIN, SELECT INBOX, FETCH through TLS', d)
    c.logout()
    r = Raw(port)
    r.cmd(b'h0 STARTTLS\r\n', b'h0')
    ss = CTX.wrap_socket(r.s, server_hostname='mx.example.test')
    ss.sendall(b'h1 LOGIN demo@example.test demo\r\nh2 SELECT INBOX\r\nh3 FETCH 1 (FLAGS)\r\nh4 LOGOUT\r\n')
    out = b''
    while b'h4 OK' not in out:
        b = ss.recv(65536)
        if not b:
            break
        out += b
    t.ok(re.search(rb'h1 OK .*h2 OK .*\* 1 FETCH .*h3 OK .*\* BYE.*h4 OK', out, re.S),
         'imap-mailbox: SELECT, FETCH and LOGOUT pipelined with LOGIN (IMAP_INPUT)', out)
else:
    t.skip('LOGIN, SELECT, FETCH with imap-mailbox', 'imap-mailbox not built')
    t.skip('commands pipelined with LOGIN reach imap-mailbox', 'imap-mailbox not built')


def tree(pid):
    """{pid: (name, uid)} of pid's descendants"""
    kids = {}
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                st = open('/proc/%s/stat' % d).read()
                name = st[st.index('(') + 1:st.rindex(')')]
                ppid = int(st[st.rindex(')') + 2:].split()[1])
                uid = int([l for l in open('/proc/%s/status' % d) if l.startswith('Uid:')][0].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append((int(d), name, uid))
    out, todo = {}, [pid]
    while todo:
        for k, name, uid in kids.get(todo.pop(), []):
            out[k] = (name, uid)
            todo.append(k)
    return out


if os.getuid() == 0 and os.path.exists(os.path.join(pmtest.BIN, 'auth-check')):
    # as root: imap-serve's network side drops to IMAP_UID/IMAP_GID, its
    # privileged half runs auth-check, which runs the mailbox part as the
    # mailbox's owner
    pw = pwd.getpwnam('nobody')
    for d, subs, fs in os.walk(MD):
        for x in [d] + [os.path.join(d, f) for f in fs]:
            os.chown(x, pw.pw_uid, pw.pw_gid)
    os.chmod(inst.root, 0o755)
    os.chmod(MBOX, 0o755)
    port = start('stls', checkpw=('auth-check',), more={'IMAP_UID': str(pw.pw_uid), 'IMAP_GID': str(pw.pw_gid)})
    c = imaplib.IMAP4('127.0.0.1', port, timeout=20)
    c.starttls(CTX)
    t.eq(c.login('demo@example.test', 'demo')[0], 'OK', 'as root, split: STARTTLS, LOGIN through auth-check')
    ps = sorted(tree(procs[-1].pid).values())
    c._simple_command('ENV')
    env = c.untagged_responses.get('ENV', [b''])[0]
    c.logout()
    t.ok(('imap-serve', 0) in ps and ('imap-serve', pw.pw_uid) in ps
         and any(n.startswith('python') or n.startswith('mailbox') for n, u in ps if u == pw.pw_uid)
         and all(u == pw.pw_uid for n, u in ps if n != 'imap-serve' and n != 'tls-serve'),
         'as root: imap-serve talks as IMAP_UID, its root half only logs in, the mailbox part as the owner', ps)
    t.ok(b'IMAP_TLS=1 ' in env and b'USER=demo@example.test' in env, 'as root: the handoff through the split', env)
    c = imaplib.IMAP4('127.0.0.1', port, timeout=20)
    c.starttls(CTX)
    try:
        c.login('demo@example.test', 'wrong')
        t.ok(False, 'auth-check: a wrong password is NO')
    except imaplib.IMAP4.error as e:
        t.ok('AUTHENTICATIONFAILED' in str(e), 'auth-check: a wrong password is NO', e)
    c.logout()
else:
    t.skip('privilege split and auth-check', 'not root or no auth-check')
