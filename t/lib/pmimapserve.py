"""The imap service's chain without s6, for tests that need many sessions
or a raw client: tcp-serve imap-serve auth-check imap-mailbox on a free
loopback port, plaintext logins allowed (tls: behind tls-serve -S). As root the Maildir is given to
nobody (auth-check runs no mailbox as root) and the instance opened up
to it, and imap-serve splits as the service's does (IMAP_UID, IMAP_GID:
nobody); deliver() runs maildir-deliver as the owner, as delivery
does."""
import os
import pwd
import subprocess

from pmtest import free_port, wait_port

DEMO, PW = 'demo@example.test', 'demo'


class ImapServe:
    def __init__(self, inst, opts=(), env=None, tls=False):
        self.inst = inst
        self.md = inst.maildir(DEMO)
        self.ids = {}
        if os.getuid() == 0:
            os.chmod(inst.root, 0o755)
            for d in ('mail', 'mail/example.test'):
                os.chmod(os.path.join(inst.root, d), 0o755)
            subprocess.run(['chown', '-R', 'nobody:nogroup', self.md], check=True)
            self.ids = dict(user='nobody', group='nogroup', extra_groups=[])
        self.port = free_port()
        af = os.path.join(inst.root, 'authfail-%d' % self.port)   # the network side's
        os.mkdir(af)
        e = {'IMAP_PLAINTEXT': '1', 'AUTH_FAIL_DELAY': '0', 'AUTHFAIL_FILE': os.path.join(af, 'table')}
        if self.ids:
            nobody = pwd.getpwnam('nobody')
            os.chown(af, nobody.pw_uid, nobody.pw_gid)
            e.update(IMAP_UID=str(nobody.pw_uid), IMAP_GID=str(nobody.pw_gid))
        e.update(env or {})
        tls = ['tls-serve', '-S'] if tls else []   # STARTTLS (CERTFILE, KEYFILE in env)
        self.proc = inst.spawn(['tcp-serve'] + list(opts) + ['127.0.0.1', str(self.port)] + tls
                               + ['imap-serve', 'auth-check', 'imap-mailbox'], env=e)
        self.up = wait_port(self.port)

    def deliver(self, msg):
        self.inst.run(['maildir-deliver', self.md], input=msg,
                      env={'SENDER': 'a@example.org', 'RECIPIENT': DEMO}, **self.ids)

    def log(self):
        return self.inst.log(self.proc)

    def stop(self):
        self.inst.kill(self.proc)
