#!/usr/bin/env python3
# POP3 and TLS: STLS (RFC 2595) under tls-serve -S and implicit TLS (port
# 995's way) under tls-serve, with Python's poplib; logins refused before
# STLS, allowed after; cleartext pipelined after STLS is not executed; the
# mailbox part talks through TLS; and the real checkpassword program,
# auth-check, in front of pop3-mailbox.
import os
import poplib
import pwd
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
CTX = pmtls.client_context(ca.cert if hasattr(ca, 'cert') else None, verify=False)
STUB = os.path.join(pmtest.HERE, 'checkpw-stub')
TABLE = os.path.join(inst.root, 'checkpw-table')
with open(TABLE, 'w') as f:
    f.write('demo@example.test demo %s\n' % MD)
MSG = b'Subject: tls\n\n.hello over TLS\n'
inst.run(['maildir-deliver', MD], input=MSG, env={'SENDER': 'a@example.org', 'RECIPIENT': 'demo@example.test'})
WANT = (b'Return-Path: <a@example.org>\nDelivered-To: demo@example.test\n' + MSG).replace(b'\n', b'\r\n')


def start(mode, checkpw=(STUB,), more=None):
    global last
    port = free_port()
    env = dict(more or {})
    env.update({'CERTFILE': CERT, 'KEYFILE': KEY, 'CHECKPW_TABLE': TABLE, 'AUTH_FAIL_DELAY': '0',
           'AUTHFAIL_FILE': os.path.join(inst.root, 'authfail')})
    args = ['tcp-serve', '127.0.0.1', str(port), 'tls-serve'] + (['-S'] if mode == 'stls' else [])
    p = last = inst.spawn(args + ['pop3-serve'] + list(checkpw) + ['pop3-mailbox'], env=env)
    if not wait_port(port):
        raise RuntimeError('server did not start: ' + inst.log(p))
    return port


def fetch(c):
    c.user('demo@example.test')
    c.pass_('demo')
    n = c.stat()[0]
    resp, lines, octets = c.retr(1)
    c.quit()
    return n, b''.join(l + b'\r\n' for l in lines)


port = start('stls')
c = poplib.POP3('127.0.0.1', port, timeout=20)
caps = c.capa()
t.ok('STLS' in caps and 'USER' not in caps and 'SASL' not in caps, 'before STLS: CAPA has STLS, not USER or SASL', caps)
try:
    c.user('demo@example.test')
    t.ok(False, 'USER before STLS: -ERR')
except poplib.error_proto as e:
    t.ok(b'STLS first' in e.args[0], 'USER before STLS: -ERR', e)
c.stls(CTX)
caps = c.capa()
t.ok('STLS' not in caps and 'USER' in caps and 'SASL' in caps, 'after STLS: USER and SASL PLAIN, no STLS', caps)
t.eq(fetch(c), (1, WANT), 'after STLS: login, STAT, RETR through TLS')

# cleartext commands pipelined after STLS are thrown away
s = socket.create_connection(('127.0.0.1', port), 10)
s.recv(4096)
s.sendall(b'STLS\r\nUSER demo@example.test\r\nPASS demo\r\nQUIT\r\n')
first = s.recv(4096)
t.ok(first.startswith(b'+OK begin TLS') and b'\r\n' == first[-2:] and first.count(b'\r\n') == 1,
     'STLS: only its own reply before the handshake', first)
ss = CTX.wrap_socket(s, server_hostname='mx.example.test')
ss.sendall(b'STAT\r\n')
got = ss.recv(4096)
t.ok(got.startswith(b'-ERR not logged in'), 'the cleartext USER/PASS sent with STLS were not executed', got)
ss.close()

port = start('implicit')
c = poplib.POP3_SSL('127.0.0.1', port, timeout=20, context=CTX)
caps = c.capa()
t.ok('USER' in caps and 'STLS' not in caps, 'implicit TLS: USER offered, no STLS', caps)
t.eq(fetch(c), (1, WANT), 'implicit TLS: login, STAT, RETR')

# the real checkpassword program
if os.path.exists(os.path.join(pmtest.BIN, 'auth-check')):
    if os.getuid() == 0:
        # auth-check runs pop3-mailbox as the mailbox's owner, never root
        nobody = pwd.getpwnam('nobody')
        for d, subs, fs in os.walk(MD):
            for x in [d] + [os.path.join(d, f) for f in fs]:
                os.chown(x, nobody.pw_uid, nobody.pw_gid)
        os.chmod(inst.root, 0o755)
    port = start('implicit', checkpw=('auth-check',))
    c = poplib.POP3_SSL('127.0.0.1', port, timeout=20, context=CTX)
    t.eq(fetch(c), (1, WANT), 'auth-check in front of pop3-mailbox: login, STAT, RETR')
    c = poplib.POP3_SSL('127.0.0.1', port, timeout=20, context=CTX)
    c.user('demo@example.test')
    try:
        c.pass_('wrong')
        t.ok(False, 'auth-check: a wrong password is -ERR [AUTH]')
    except poplib.error_proto as e:
        t.ok(b'[AUTH]' in e.args[0], 'auth-check: a wrong password is -ERR [AUTH]', e)
    c.quit()
else:
    t.skip('auth-check in front of pop3-mailbox', 'auth-check not built')


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
    # as root: the network side of pop3-serve drops to POP3_UID/POP3_GID,
    # its privileged half runs auth-check, which runs pop3-mailbox as the
    # mailbox's owner
    pw = pwd.getpwnam('nobody')
    port = start('stls', checkpw=('auth-check',), more={'POP3_UID': str(pw.pw_uid), 'POP3_GID': str(pw.pw_gid)})
    c = poplib.POP3('127.0.0.1', port, timeout=20)
    c.stls(CTX)
    c.user('demo@example.test')
    c.pass_('demo')
    procs = sorted(tree(last.pid).values())
    c.quit()
    t.ok(('pop3-serve', 0) in procs and ('pop3-serve', pw.pw_uid) in procs and ('pop3-mailbox', pw.pw_uid) in procs
         and ('pop3-mailbox', 0) not in procs,
         'as root: pop3-serve talks as POP3_UID, its root half only logs in, pop3-mailbox as the owner', procs)
    c = poplib.POP3('127.0.0.1', port, timeout=20)
    c.stls(CTX)
    t.eq(fetch(c), (1, WANT), 'as root, split: STLS, login, STAT, RETR')
else:
    t.skip('privilege split', 'not root or no auth-check')
