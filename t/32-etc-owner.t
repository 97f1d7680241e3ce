#!/usr/bin/env python3
"""etc/ edited by root after instance-setup: user-add, alias-add and
config-make keep the group and mode instance-setup gave etc/'s files, so
that smtp-recv, dropped to pmsmtp, can still read users.cdb."""
import grp
import os
import shutil
import smtplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, BIN, TOP, free_port  # noqa: E402
from pms6 import Scan, proc_uid, svpid, uid_of  # noqa: E402

t = TAP()
if os.getuid() != 0:
    t.skip_all('not root: the services run as this user, nothing to lose')
for prog in ('s6-svscan', 's6-svwait', 's6-svstat', 's6-log', 's6-setuidgid'):
    if not shutil.which(prog):
        t.skip_all('%s not installed (Debian package s6)' % prog)
for prog in ('instance-setup', 'tcp-serve', 'smtp-recv', 'user-add', 'alias-add', 'config-make'):
    if not os.access(os.path.join(BIN, prog), os.X_OK):
        t.skip_all('%s not built' % prog)

inst = Instance(aliases={'postmaster@example.test': ['demo']})
port = free_port()
r = inst.run(['instance-setup', '-r', inst.root, '-b', BIN, '-t', os.path.join(TOP, 'services'),
              '-s', str(port), '-i', '127.0.0.1', '-d', 'example.test'], check=False)
t.eq(r.returncode, 0, 'instance-setup as root, dedicated users')
if r.returncode:
    t.diag(r.stderr.decode(errors='replace'))
    sys.exit(1)
gid = grp.getgrnam('pipemail').gr_gid
scan = Scan(inst)
t.ok(scan.wait_up('smtp'), 'smtp service ready')
t.eq(proc_uid(svpid(scan.dir('smtp'))), uid_of('pmsmtp'), 'the smtp service runs as pmsmtp')


def owner(rel):
    st = os.stat(os.path.join(inst.root, rel))
    return (st.st_uid, st.st_gid, st.st_mode & 0o7777)


def rcpt(addr):
    with smtplib.SMTP('127.0.0.1', port, timeout=20) as s:
        s.ehlo('client.example')
        s.mail('a@example.org')
        return s.rcpt(addr)[0]


SOURCES = ('etc/users.cdb', 'etc/users', 'etc/aliases', 'etc/domains')
before = {rel: owner(rel) for rel in SOURCES}
t.ok(all(o[1] == gid and o[2] & 0o040 for o in before.values()),
     'instance-setup: etc/ files in group pipemail, group-readable', before)
t.eq(rcpt('demo@example.test'), 250, 'RCPT to a user made before instance-setup: 250')

steps = (('user-add', ['user-add', 'new@example.test'], 'secret\n', 'new@example.test'),
         ('user-add (new domain)', ['user-add', 'x@other.test'], 'secret\n', 'x@other.test'),
         ('alias-add', ['alias-add', 'team@example.test', 'demo', 'new'], None, 'team@example.test'),
         ('config-make', ['config-make'], None, 'new@example.test'))
for name, args, pw, addr in steps:
    r = inst.run(args, input=pw, check=False)
    t.eq(r.returncode, 0, '%s as root exits 0' % name)
    after = {rel: owner(rel) for rel in SOURCES}
    t.eq(after, before, '%s as root: owner, group and mode of etc/ files kept' % name)
    t.eq(rcpt(addr), 250, '%s as root: RCPT to %s through smtp-recv as pmsmtp: 250' % (name, addr))
# The Maildirs user-add made as root belong to the queue's user, as
# instance-setup would leave them: delivery needs no instance-setup again.
quid = uid_of('pmqueue')
for rel in ('mail/example.test/new', 'mail/example.test/new/new', 'mail/example.test/new/tmp',
            'mail/other.test', 'mail/other.test/x/cur'):
    t.eq(owner(rel)[0], quid, 'user-add as root: %s is pmqueue\'s' % rel)
with smtplib.SMTP('127.0.0.1', port, timeout=20) as s:
    s.sendmail('a@example.org', ['new@example.test', 'x@other.test'],
               'From: a@example.org\r\nSubject: to new\r\n\r\nhi\r\n')
t.ok(scan.wait_up('queue', ready=False) and inst.wait_mails('new@example.test', 1) and
     inst.wait_mails('x@other.test', 1), 'a mail to the users added as root is delivered')
t.ok(not any(n.endswith('.tmp') for n in os.listdir(os.path.join(inst.root, 'etc'))),
     'no temporary file left in etc/')

# A file instance-setup did not make yet: it takes etc/'s group.
os.unlink(os.path.join(inst.root, 'etc/users.cdb'))
r = inst.run(['config-make'], check=False)
t.eq(r.returncode, 0, 'config-make with no users.cdb')
t.eq(owner('etc/users.cdb')[1], os.stat(os.path.join(inst.root, 'etc')).st_gid,
     'a new users.cdb takes the group of etc/')
t.ok(owner('etc/users.cdb')[2] & 0o040, 'a new users.cdb is group-readable', oct(owner('etc/users.cdb')[2]))
t.eq(rcpt('new@example.test'), 250, 'RCPT after users.cdb was made anew: 250')
scan.stop()
