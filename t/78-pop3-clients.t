#!/usr/bin/env python3
# Real POP3 clients against pop3-serve/pop3-mailbox: fetchmail retrieves
# all mail over STLS and over implicit TLS into a local mbox, with keep
# (a second run fetches nothing new: UIDL) and without (the mail is gone
# from the server); getmail6 over implicit TLS, checking the certificate,
# and again (nothing new).
import mailbox
import os
import pwd
import re
import shutil
import subprocess
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
STUB = os.path.join(pmtest.HERE, 'checkpw-stub')
TABLE = os.path.join(inst.root, 'checkpw-table')
with open(TABLE, 'w') as f:
    f.write('demo@example.test demo %s\n' % MD)
BODIES = [b'first message\n.with a dot line\n', b'second\n\xe9t\xe9 8-bit\n', b'third\nFrom the start\n']


def fill():
    for i, b in enumerate(BODIES):
        inst.run(['maildir-deliver', MD], input=b'Subject: m%d\nMessage-ID: <m%d@example.test>\n\n' % (i, i) + b,
                 env={'SENDER': 'a@example.org', 'RECIPIENT': 'demo@example.test'})


def nmsgs():
    return sum(len(os.listdir(os.path.join(MD, d))) for d in ('new', 'cur'))


def start(mode):
    port = free_port()
    env = {'CERTFILE': CERT, 'KEYFILE': KEY, 'CHECKPW_TABLE': TABLE, 'AUTH_FAIL_DELAY': '0',
           'AUTHFAIL_FILE': os.path.join(inst.root, 'authfail')}
    args = ['tcp-serve', '127.0.0.1', str(port), 'tls-serve'] + (['-S'] if mode == 'stls' else [])
    p = inst.spawn(args + ['pop3-serve', STUB, 'pop3-mailbox'], env=env)
    if not wait_port(port):
        raise RuntimeError('server did not start: ' + inst.log(p))
    return port


def bodies(path):
    """The bodies in an mboxrd file, unquoted."""
    return sorted(re.sub(rb'(?m)^>(>*From )', rb'\1', m.get_payload(decode=True).replace(b'\r\n', b'\n'))
                  for m in mailbox.mbox(path))


stls, implicit = start('stls'), start('implicit')
fill()

# -- fetchmail ------------------------------------------------------------
if shutil.which('fetchmail'):
    home = os.path.join(inst.root, 'fetchmail')
    os.makedirs(home)
    mda = os.path.join(home, 'mda')
    with open(mda, 'w') as f:   # append to an mbox, mboxrd-quoted
        f.write('#!/bin/sh\n{ echo "From fetchmail Thu Jan  1 00:00:00 1970"; sed "s/^\\(>*From \\)/>\\1/"; echo; } >> "$0.mbox"\n')
    os.chmod(mda, 0o755)

    def fetchmail(port, ssl, keep):
        rc = os.path.join(home, 'rc')
        with open(rc, 'w') as f:
            f.write('set no syslog\npoll 127.0.0.1 service %d protocol pop3 uidl auth password\n'
                    '  user "demo@example.test" there with password "demo"\n'
                    '  %s sslcertck sslcertfile "%s" sslcommonname mx.example.test %s mda "%s"\n'
                    % (port, 'ssl' if ssl else 'sslproto tls1.2+', ca.cert, 'keep' if keep else 'nokeep', mda))
        os.chmod(rc, 0o600)
        r = subprocess.run(['fetchmail', '-f', rc, '-v', '--nosyslog'], env=dict(inst.env, FETCHMAILHOME=home),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return r.returncode, r.stdout.decode(errors='replace')

    rc, out = fetchmail(stls, False, True)
    t.ok(rc == 0 and 'STLS' in out, 'fetchmail over STLS, keep: exit 0', out)
    t.eq(bodies(mda + '.mbox'), sorted(BODIES), '... all mail in the mbox, bodies intact')
    t.eq(nmsgs(), 3, '... and kept on the server')
    rc, out = fetchmail(stls, False, True)
    t.ok(rc == 1 and len(mailbox.mbox(mda + '.mbox')) == 3, 'a second run with keep fetches nothing new (UIDL): exit 1', out)
    os.unlink(mda + '.mbox')
    os.unlink(os.path.join(home, '.fetchids'))   # another run, as on another machine
    rc, out = fetchmail(implicit, True, False)
    t.ok(rc == 0, 'fetchmail over implicit TLS, without keep: exit 0', out)
    t.eq(bodies(mda + '.mbox'), sorted(BODIES), '... all mail in the mbox')
    t.eq(nmsgs(), 0, '... and deleted on the server')
else:
    t.skip('fetchmail', 'fetchmail not installed (Debian package fetchmail)')

# -- getmail6 -------------------------------------------------------------
if shutil.which('getmail'):
    fill()
    gdir = os.path.join(inst.root, 'getmail')
    os.makedirs(gdir)
    mbox = os.path.join(gdir, 'mbox')
    open(mbox, 'w').close()
    user = ''
    if os.getuid() == 0:   # getmail delivers as no root: as nobody then
        nobody = pwd.getpwnam('nobody')
        os.chown(mbox, nobody.pw_uid, nobody.pw_gid)
        os.chmod(gdir, 0o777)
        os.chmod(inst.root, 0o755)
        user = 'user = nobody\n'

    with open(os.path.join(gdir, 'getmailrc'), 'w') as f:
        f.write('[retriever]\ntype = SimplePOP3SSLRetriever\nserver = 127.0.0.1\nport = %d\n'
                'username = demo@example.test\npassword = demo\nca_certs = %s\nssl_cert_hostname = mx.example.test\n'
                '[destination]\ntype = Mboxrd\npath = %s\n%s[options]\nread_all = false\ndelete = false\n'
                % (implicit, ca.cert, mbox, user))

    def getmail():
        r = subprocess.run(['getmail', '--getmaildir', gdir, '--rcfile', 'getmailrc'], env=inst.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return r.returncode, r.stdout.decode(errors='replace')

    rc, out = getmail()
    t.ok(rc == 0 and '3 messages' in out, 'getmail6 over implicit TLS, certificate checked: 3 messages', out)
    t.eq(bodies(mbox), sorted(BODIES), '... bodies intact')
    rc, out = getmail()
    t.ok(rc == 0 and '0 messages' in out and len(mailbox.mbox(mbox)) == 3, 'a second run: nothing new (UIDL)', out)
else:
    t.skip('getmail6', 'getmail not installed (Debian package getmail6)')
