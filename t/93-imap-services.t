#!/usr/bin/env python3
"""The imap and imaps services: instance-setup -a/-A makes them, s6 runs
them (ready with s6-svwait -U); Python's imaplib sees LOGINDISABLED before
STARTTLS, logs in after it and over implicit TLS with the real auth-check
(a session when imap-mailbox is built, else the temporary failure of a
missing mailbox program); failed logins logged in ROOT/log/imap* in the
form fail2ban matches; as root, the client-facing part runs as pmpop and
tls-serve as pmtls."""
import imaplib
import os
import pwd
import re
import shutil
import subprocess
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
for prog in ('instance-setup', 'imap-serve', 'auth-check', 'tls-serve'):
    if not os.access(os.path.join(BIN, prog), os.X_OK):
        t.skip_all('%s not built' % prog)

ROOT = os.getuid() == 0
DEMO = 'demo@example.test'
MAILBOX = os.access(os.path.join(BIN, 'imap-mailbox'), os.X_OK)
inst = Instance(users={DEMO: 'demo'})
port, iport, isport = free_port(), free_port(), free_port()
shm = ['/dev/shm/pipemail-tls-%d' % p for p in (iport, isport)]


def stop_shm():
    for d in shm:
        shutil.rmtree(d, ignore_errors=True)
    ck = subprocess.run(['cksum'], input=inst.root.encode(), stdout=subprocess.PIPE).stdout.split()[0].decode()
    try:
        os.unlink('/dev/shm/pipemail-authfail-imap-' + ck)   # the failed-login table (services/imap/run)
    except OSError:
        pass


args = ['instance-setup', '-r', inst.root, '-b', BIN, '-t', os.path.join(TOP, 'services'),
        '-s', str(port), '-a', str(iport), '-A', str(isport), '-c', '-i', '127.0.0.1',
        '-d', 'example.test', '-m', 'mx.example.test']
if not ROOT:
    args += ['-u', pwd.getpwuid(os.getuid()).pw_name]
MD = inst.maildir(DEMO)
inst.run(['maildir-deliver', MD], input=b'Subject: m1\n\nbody\n', env={'SENDER': 'a@example.org', 'RECIPIENT': DEMO})
r = inst.run(args, check=False)
if r.returncode and b'cannot reach' in r.stderr:
    t.skip_all('the service users cannot reach the programs: ' + r.stderr.decode(errors='replace'))
t.ok(r.returncode == 0 and b' imap=127.0.0.1:%d imaps=127.0.0.1:%d ' % (iport, isport) in r.stderr,
     'instance-setup -a -A -c', r.stderr)
t.ok(all(os.path.exists(os.path.join(inst.root, 'service', s, 'run')) for s in ('imap', 'imaps', 'imap/log', 'imaps/log'))
     and not os.path.exists(os.path.join(inst.root, 'service', 'pop3')), 'imap and imaps services made (and no pop3)')
scan = Scan(inst)
t.ok(scan.wait_up('imap') and scan.wait_up('imaps'), 'imap and imaps ready (s6-svwait -U)')
ctx = pmtls.client_context(None, verify=False)


def session(c, where):
    """Log in: a session with imap-mailbox, else its temporary failure."""
    try:
        typ = c.login(DEMO, 'demo')[0]
    except imaplib.IMAP4.error as e:
        t.ok(not MAILBOX and 'UNAVAILABLE' in str(e), where + ': no imap-mailbox: NO [UNAVAILABLE]', e)
        return
    if MAILBOX:
        t.eq((typ, c.select('INBOX')[1]), ('OK', [b'1']), where + ': LOGIN with auth-check, SELECT INBOX (imap-mailbox)')
        c.logout()
    else:
        t.ok(False, where + ': no imap-mailbox: NO [UNAVAILABLE]', typ)


c = imaplib.IMAP4('127.0.0.1', iport, timeout=20)
t.ok('LOGINDISABLED' in c.capabilities and 'STARTTLS' in c.capabilities, 'imap: LOGINDISABLED, STARTTLS', c.capabilities)
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
    procs = tree(svpid(scan.dir('imap')))
c.starttls(ctx)
session(c, 'imap, STARTTLS')
if ROOT:
    want = [('imap-serve', 0), ('imap-serve', uid_of('pmpop')), ('tls-serve', uid_of('pmtls'))]
    t.ok(all(w in procs for w in want), 'as root: tls-serve as pmtls, imap-serve talks as pmpop', procs)
else:
    t.skip('process owners as root', 'not root')
session(imaplib.IMAP4_SSL('127.0.0.1', isport, ssl_context=ctx, timeout=20), 'imaps')

# failed logins: in the log as smtp-recv's are, which fail2ban's stock filter matches
for pw in ('wrong1', 'wrong2'):
    c = imaplib.IMAP4_SSL('127.0.0.1', isport, ssl_context=ctx, timeout=20)
    try:
        c.login(DEMO, pw)
    except imaplib.IMAP4.error:
        pass
    c.shutdown()
cur = os.path.join(inst.root, 'log/imaps/current')
fl = wait_for(lambda: [ln for ln in open(cur).read().splitlines() if 'authentication failed' in ln][1:] and
              [ln for ln in open(cur).read().splitlines() if 'authentication failed' in ln], 10) or []
t.ok(len(fl) == 2 and all(re.search(r'imap-serve: warning: session=\S+ client=\S*\[127\.0\.0\.1\]: SASL LOGIN '
                                    r'authentication failed: user=<demo@example\.test> failures=\d+$', ln) for ln in fl),
     'failed logins logged in log/imaps, one line each', fl)
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
