"""An instance with the imap, imaps and pop3s services under s6, as
t/93 and t/77 make them (instance-setup -a -A -P -c), for the tests of
real IMAP clients and concurrent sessions (t/94, t/95)."""
import imaplib
import os
import poplib
import pwd
import re
import shutil
import subprocess

import pmtls
from pmtest import Instance, BIN, TOP, free_port
from pms6 import Scan

DEMO = 'demo@example.test'
PW = 'demo'


class ImapService:
    """Call need(t) first: it skips the whole test when a piece is missing."""

    def __init__(self, t):
        for prog in ('s6-svscan', 's6-svwait', 's6-log', 's6-svc'):
            if not shutil.which(prog):
                t.skip_all('%s not installed (Debian package s6)' % prog)
        if not pmtls.have_openssl():
            t.skip_all('no openssl command (Debian package openssl)')
        for prog in ('instance-setup', 'imap-serve', 'imap-mailbox', 'pop3-serve', 'pop3-mailbox',
                     'auth-check', 'tls-serve'):
            if not os.access(os.path.join(BIN, prog), os.X_OK):
                t.skip_all('%s not built' % prog)
        self.inst = Instance(users={DEMO: PW})
        self.md = self.inst.maildir(DEMO)
        port = free_port()
        self.imap, self.imaps, self.pop3s = free_port(), free_port(), free_port()
        args = ['instance-setup', '-r', self.inst.root, '-b', BIN, '-t', os.path.join(TOP, 'services'),
                '-s', str(port), '-a', str(self.imap), '-A', str(self.imaps), '-P', str(self.pop3s),
                '-c', '-i', '127.0.0.1', '-d', 'example.test', '-m', 'mx.example.test']
        if os.getuid() != 0:
            args += ['-u', pwd.getpwuid(os.getuid()).pw_name]
        r = self.inst.run(args, check=False)
        if r.returncode and b'cannot reach' in r.stderr:
            t.skip_all('the service users cannot reach the programs: ' + r.stderr.decode(errors='replace'))
        if r.returncode:
            t.skip_all('instance-setup failed: ' + r.stderr.decode(errors='replace'))
        # a certificate for localhost from a test CA in place of -c's
        # self-signed one, so that clients check it as they do by default
        os.makedirs(os.path.join(self.inst.root, 'ca'))
        ca = pmtls.TestCA(os.path.join(self.inst.root, 'ca'))
        self.cafile = ca.cert
        for src, name in zip(ca.issue('localhost'), ('cert.pem', 'key.pem')):
            dst = os.path.join(self.inst.root, 'etc/tls', name)
            st = os.stat(dst)
            shutil.copyfile(src, dst)
            os.chown(dst, st.st_uid, st.st_gid)
        self.scan = Scan(self.inst)
        if not all(self.scan.wait_up(s) for s in ('imap', 'imaps', 'pop3s')):
            t.skip_all('services not up')
        self.ctx = pmtls.client_context(None, verify=False)
        self.n = 0

    def deliver(self, msg, folder=None):
        """maildir-deliver one message as the mailbox's owner (as delivery runs)."""
        st = os.stat(self.md)
        ids = dict(user=st.st_uid, group=st.st_gid, extra_groups=[]) if os.getuid() == 0 else {}
        self.inst.run(['maildir-deliver', self.inst.maildir(DEMO, folder)], input=msg,
                      env={'SENDER': 'a@example.org', 'RECIPIENT': DEMO}, **ids)

    def login(self, box='INBOX'):
        c = imaplib.IMAP4_SSL('127.0.0.1', self.imaps, ssl_context=self.ctx, timeout=30)
        c.login(DEMO, PW)
        if box:
            c.select(box)
        return c

    def pop(self):
        c = poplib.POP3_SSL('127.0.0.1', self.pop3s, context=self.ctx, timeout=30)
        c.user(DEMO)
        c.pass_(PW)
        return c

    def trouble(self):
        """Lines of the services' logs that tell of a crash or a fatal error."""
        out = []
        for svc in ('imap', 'imaps', 'pop3', 'pop3s'):
            try:
                with open(os.path.join(self.inst.root, 'log', svc, 'current'), errors='replace') as f:
                    out += [ln for ln in f if re.search(r'Sanitizer|runtime error|: fatal:|core dumped', ln)]
            except OSError:
                pass
        return out

    def stop(self):
        self.scan.stop()
        for p in (self.imap, self.imaps, self.pop3s):
            shutil.rmtree('/dev/shm/pipemail-tls-%d' % p, ignore_errors=True)
        ck = subprocess.run(['cksum'], input=self.inst.root.encode(),
                            stdout=subprocess.PIPE).stdout.split()[0].decode()
        for k in ('imap', 'pop'):
            try:
                os.unlink('/dev/shm/pipemail-authfail-%s-%s' % (k, ck))
            except OSError:
                pass
