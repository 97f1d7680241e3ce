#!/usr/bin/env python3
"""The pop3 and pop3s services: instance-setup -p/-P makes them, s6 runs
them (ready with s6-svwait -U), Python's poplib reads a mailbox over STLS
and over implicit TLS with the real auth-check, DELE at QUIT, the session
logged in ROOT/log/pop3*; no login before STLS; as root, the client-facing
part runs as pmpop, tls-serve as pmtls and pop3-mailbox as the mailbox's
owner."""
import os
import poplib
import pwd
import re
import shutil
import subprocess
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtls  # noqa: E402
from pmtest import TAP, Instance, BIN, TOP, free_port, wait_for  # noqa: E402
from pms6 import Scan, svpid, uid_of  # noqa: E402

t = TAP()
for prog in ('s6-svscan', 's6-svwait', 's6-log', 's6-svc'):
    if not shutil.which(prog):
        t.skip_all('%s not installed (Debian package s6)' % prog)
if not pmtls.have_openssl():
    t.skip_all('no openssl command (Debian package openssl)')
for prog in ('instance-setup', 'pop3-serve', 'pop3-mailbox', 'auth-check', 'tls-serve'):
    if not os.access(os.path.join(BIN, prog), os.X_OK):
        t.skip_all('%s not built' % prog)

ROOT = os.getuid() == 0
DEMO = 'demo@example.test'
inst = Instance(users={DEMO: 'demo'})
port, pport, psport = free_port(), free_port(), free_port()
shm = ['/dev/shm/pipemail-tls-%d' % p for p in (pport, psport)]


def setup():
    args = ['instance-setup', '-r', inst.root, '-b', BIN, '-t', os.path.join(TOP, 'services'),
            '-s', str(port), '-p', str(pport), '-P', str(psport), '-c', '-i', '127.0.0.1',
            '-d', 'example.test', '-m', 'mx.example.test']
    if not ROOT:
        args += ['-u', pwd.getpwuid(os.getuid()).pw_name]
    return inst.run(args, check=False)


MD = inst.maildir(DEMO)
for i in (1, 2):
    inst.run(['maildir-deliver', MD], input=b'Subject: m%d\n\n.body %d\n' % (i, i),
             env={'SENDER': 'a@example.org', 'RECIPIENT': DEMO})
r = setup()   # as root: gives the mailbox to the queue's user
if r.returncode and b'cannot reach' in r.stderr:
    t.skip_all('the service users cannot reach the programs: ' + r.stderr.decode(errors='replace'))
t.ok(r.returncode == 0, 'instance-setup -p -P -c', r.stderr)
t.ok(all(os.path.exists(os.path.join(inst.root, 'service', s, 'run')) for s in ('pop3', 'pop3s', 'pop3/log', 'pop3s/log')),
     'pop3 and pop3s services made')
scan = Scan(inst)
t.ok(scan.wait_up('pop3') and scan.wait_up('pop3s'), 'pop3 and pop3s ready (s6-svwait -U)')
ctx = pmtls.client_context(None, verify=False)


def stop_shm():
    for d in shm:
        shutil.rmtree(d, ignore_errors=True)
    ck = subprocess.run(['cksum'], input=inst.root.encode(), stdout=subprocess.PIPE).stdout.split()[0].decode()
    try:
        os.unlink('/dev/shm/pipemail-authfail-pop-' + ck)   # the failed-login table (services/pop3/run)
    except OSError:
        pass


c = poplib.POP3('127.0.0.1', pport, timeout=20)
try:
    c.user(DEMO)
    t.ok(False, 'pop3: USER before STLS refused')
except poplib.error_proto as e:
    t.ok(b'STLS' in e.args[0], 'pop3: USER before STLS refused', e)
c.stls(ctx)
c.user(DEMO)
c.pass_('demo')
t.eq(c.stat()[0], 2, 'pop3: STLS, login with auth-check, STAT')
resp, lines, _ = c.retr(1)
t.ok(lines[-1] == b'.body 1', 'pop3: RETR', lines)
c.quit()

c = poplib.POP3_SSL('127.0.0.1', psport, timeout=20, context=ctx)
c.user(DEMO)
c.pass_('demo')
procs = {}
if ROOT:
    def tree(pid):
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            for d in os.listdir('/proc'):
                if d.isdigit():
                    try:
                        st = open('/proc/%s/stat' % d).read()
                        if int(st[st.rindex(')') + 2:].split()[1]) == p:
                            name = st[st.index('(') + 1:st.rindex(')')]
                            uid = int([ln for ln in open('/proc/%s/status' % d) if ln.startswith('Uid:')][0].split()[1])
                            out.append((name, uid))
                            todo.append(int(d))
                    except (OSError, ValueError, IndexError):
                        pass
        return sorted(out)
    procs = tree(svpid(scan.dir('pop3s')))
t.eq(c.stat()[0], 2, 'pop3s: implicit TLS, login, STAT')
c.dele(1)
c.quit()
t.eq(len(os.listdir(os.path.join(MD, 'cur'))), 1, 'pop3s: DELE then QUIT removed one')
t.ok(wait_for(lambda: 'pop3-mailbox: info: user=demo@example.test' in open(os.path.join(inst.root, 'log/pop3s/current')).read(), 10),
     'the session is in log/pop3s/current')
t.ok('pop3-mailbox: info: user=demo@example.test' in open(os.path.join(inst.root, 'log/pop3/current')).read(),
     'and the STLS one in log/pop3/current')
if ROOT:
    want = [('pop3-mailbox', uid_of('pmqueue')), ('pop3-serve', 0), ('pop3-serve', uid_of('pmpop')), ('tls-serve', uid_of('pmtls'))]
    t.ok(all(w in procs for w in want) and ('pop3-mailbox', 0) not in procs,
         'as root: tls-serve as pmtls, pop3-serve talks as pmpop, pop3-mailbox as pmqueue', procs)
else:
    t.skip('process owners as root', 'not root')

# failed logins: in the log as smtp-recv's are, which fail2ban's stock filter matches
for pw in ('wrong1', 'wrong2'):
    c = poplib.POP3_SSL('127.0.0.1', psport, timeout=20, context=ctx)
    c.user(DEMO)
    try:
        c.pass_(pw)
    except poplib.error_proto:
        pass
    c.close()
cur = os.path.join(inst.root, 'log/pop3s/current')
fl = wait_for(lambda: [ln for ln in open(cur).read().splitlines() if 'authentication failed' in ln][1:] and
              [ln for ln in open(cur).read().splitlines() if 'authentication failed' in ln], 10) or []
t.ok(len(fl) == 2 and all(re.search(r'pop3-serve: warning: session=\S+ client=\S*\[127\.0\.0\.1\]: SASL LOGIN '
                                    r'authentication failed: user=<demo@example\.test> failures=\d+$', ln) for ln in fl),
     'failed logins logged, one line each', fl)
if shutil.which('fail2ban-regex') and fl:
    only = os.path.join(inst.root, 'f2b.log')
    with open(only, 'w') as f:
        f.write(''.join(ln + '\n' for ln in fl))
    r = subprocess.run(['fail2ban-regex', only, 'postfix[mode=auth]'], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    out = r.stdout.decode(errors='replace')
    t.ok(re.search(r'^Lines: 2 lines, 0 ignored, 2 matched, 0 missed', out, re.M),
         "fail2ban's stock filter postfix[mode=auth] matches them", out[-1500:])
else:
    t.skip('fail2ban-regex', 'fail2ban not installed')
scan.stop()
stop_shm()
