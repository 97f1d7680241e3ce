#!/usr/bin/env python3
# auth-verify (issue 18): SPF, DKIM and DMARC of received mail, through
# smtp-recv (QUEUE_INJECT=auth-verify, smtplib from chosen loopback
# addresses) and alone: john's signed mail passes; a forged From: of a
# p=reject domain is refused with 550, of a p=quarantine one (or of a
# p=reject one outside pct=) filed in Junk; Authentication-Results that
# claim this host are removed, others kept; a DNS timeout is temperror,
# 451 only where it decides a reject; bad input gets a clear result.
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmdns
import pmtest
from pmtest import TAP, Instance
import smtphelp

t = TAP()
if not pmdns.available():
    t.skip_all('dnsmasq is not installed')

tmp = tempfile.mkdtemp(prefix='pm-authv-')
john = Instance(domains=('john.test',), users={'john@john.test': 'pw'}, me='mx.john.test')
r = john.run(['dkim-keygen', 'john.test', 'sel'])
REC = ''.join(re.findall(r'"([^"]*)"', r.stdout.decode()))
with open(os.path.join(john.root, 'etc/dkim/john.test/selector'), 'w') as f:
    f.write('sel\n')

SPF = 'v=spf1 ip4:127.0.0.1 -all'
dns = pmdns.DNS(txt={'sel._domainkey.john.test': REC, 'john.test': SPF,
                     '_dmarc.john.test': 'v=DMARC1; p=reject',
                     'quar.test': SPF, '_dmarc.quar.test': 'v=DMARC1; p=quarantine',
                     'pct.test': SPF, '_dmarc.pct.test': 'v=DMARC1; p=reject; pct=0',
                     '_dmarc.sub.test': 'v=DMARC1; p=none; sp=reject', 'a.sub.test': SPF},
                timeout=['slow.test'])

kate = Instance()     # example.test, demo@example.test, etc/me mx.example.test
kate.start_queue()
smtphelp.queue_ready(kate)
ENV = {'DNS_SERVER': dns.server, 'AUTHVERIFY_TIMEOUT': '3'}
port = kate.start_smtp(env=dict(ENV, QUEUE_INJECT=os.path.join(pmtest.BIN, 'auth-verify')))
DEMO = 'demo@example.test'


def sign(msg):
    """msg signed by dkim-sign with john's key (the filter alone)."""
    out = os.path.join(tmp, 'signed')
    env_in = os.path.join(tmp, 'env-sign')
    with open(env_in, 'wb') as f:
        f.write(b'Fjohn@john.test\0Tdemo@example.test\0\0')
    with open(env_in, 'rb') as e:
        subprocess.run([os.path.join(pmtest.BIN, 'dkim-sign'), 'sh', '-c', 'cat > "$0"', out],
                       input=msg, stdout=e, env=john.env, check=True)
    return open(out, 'rb').read()


def send(sender, msg, src='127.0.0.1', helo='client.test'):
    """The SMTP reply code of DATA (250 if accepted) and its text."""
    try:
        with smtplib.SMTP('127.0.0.1', port, timeout=30, local_hostname=helo,
                          source_address=(src, 0)) as s:
            s.sendmail(sender, [DEMO], msg)
        return 250, ''
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode(errors='replace')


def authres(m):
    """The Authentication-Results fields of a delivered message, unfolded."""
    head = m.split(b'\n\n', 1)[0].decode(errors='replace')
    return [re.sub(r'\s*\n\s+', ' ', f) for f in re.findall(r'^Authentication-Results:.*(?:\n[ \t].*)*', head, re.M)]


def mail(frm, subj, extra=b''):
    return (extra + b'From: ' + frm + b'\r\nTo: demo@example.test\r\nSubject: ' + subj +
            b'\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\n\r\nHello Kate.\r\n')


n = 0


def delivered(name, folder=None):
    """The new message of the inbox (or folder) after one more delivery."""
    global n
    n += 1
    got = kate.wait_mails(DEMO, n if folder is None else 1, folder=folder)
    if folder is not None:
        n -= 1
    return got[-1] if got else b''


# --- john's signed mail passes ------------------------------------------------------
signed = sign(mail(b'John <john@john.test>', b'signed'))
t.ok(signed.startswith(b'DKIM-Signature:'), 'dkim-sign signed the test message')
t.eq(send('john@john.test', signed), (250, ''), 'signed mail from an SPF address: accepted')
m = delivered('pass')
ar = authres(m)
t.ok(len(ar) == 1, 'one Authentication-Results field', ar)
ar = ar[0] if ar else ''
t.ok(ar.startswith('Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=john@john.test;'), 'spf=pass', ar)
t.ok('dkim=pass header.d=john.test header.s=sel;' in ar, 'dkim=pass', ar)
t.ok(re.search(r'dmarc=pass \(p=reject\) header.from=john.test$', ar), 'dmarc=pass', ar)
t.ok(b'X-Spam' not in m, 'not marked as spam')
t.ok(m.index(b'Authentication-Results:') < m.index(b'DKIM-Signature:'), 'prepended')

# --- forged From: -----------------------------------------------------------------
code, text = send('john@john.test', mail(b'john@john.test', b'forged'), src='127.0.0.3')
t.eq(code, 550, 'forged From of a p=reject domain from an address not in SPF: 550')
t.ok(text.startswith('5.7.1 ') and 'DMARC' in text, 'with 5.7.1 and the reason', text)
code, text = send('other@elsewhere.test', mail(b'john@john.test', b'forged 2'))
t.eq(code, 550, 'forged From with another envelope domain (SPF not aligned): 550')
t.eq(send('x@quar.test', mail(b'x@quar.test', b'quarantined'), src='127.0.0.3'), (250, ''),
     'forged From of a p=quarantine domain: accepted')
m = delivered('quarantine', folder='Junk')
t.ok(b'\nX-Spam: Yes' in b'\n' + m, 'marked X-Spam: Yes, filed in Junk', m[:400])
t.ok(any('dmarc=fail (p=quarantine) header.from=quar.test' in a for a in authres(m)), 'dmarc=fail', authres(m))
t.eq(send('x@pct.test', mail(b'x@pct.test', b'sampled'), src='127.0.0.3'), (250, ''),
     'p=reject with pct=0: not refused (the next lower policy)')
m = kate.wait_mails(DEMO, 2, folder='Junk')
t.ok(len(m) == 2 and b'dmarc=fail (p=reject pct=0 applied=quarantine)' in m[-1] and b'X-Spam: Yes' in m[-1], 'but quarantined', m[-1][:400] if m else m)
code, text = send('x@a.sub.test', mail(b'x@a.sub.test', b'sub'), src='127.0.0.3')
t.eq(code, 550, 'a subdomain without a record of its own: sp=reject of its organizational domain')

# --- Authentication-Results claiming this host ----------------------------------------
fake = (b'Authentication-Results: mx.example.test; dmarc=pass header.from=john.test\r\n'
        b'Authentication-Results: other.example; spf=pass smtp.mailfrom=x@other.example\r\n'
        b'Authentication-Results: "MX.Example.Test"\r\n (quoted); dkim=pass\r\n')
t.eq(send('john@john.test', fake + signed), (250, ''), 'signed mail with earlier Authentication-Results: accepted')
m = delivered('fake')
ar = authres(m)
t.ok(len(ar) == 2, 'the ones claiming this host removed', ar)
t.ok(len(ar) == 2 and 'dmarc=pass (p=reject)' in ar[0] and ar[1].startswith('Authentication-Results: other.example;'),
     'ours first, the other host\'s kept', ar)

# --- DNS timeout: temperror --------------------------------------------------------
code, text = send('x@slow.test', mail(b'john@john.test', b'slow'))
t.eq(code, 451, 'SPF timeout where the policy is reject: 451')
t.ok(text.startswith('4.7.1 '), 'with 4.7.1', text)
t.eq(send('x@slow.test', mail(b'x@quar.test', b'slow quar')), (250, ''), 'SPF timeout where the policy is quarantine: accepted')
m = delivered('slow')
t.ok(any(a.startswith('Authentication-Results: mx.example.test; spf=temperror smtp.mailfrom=x@slow.test;')
         and 'dmarc=temperror (p=quarantine)' in a for a in authres(m)), 'spf=temperror dmarc=temperror', authres(m))
t.ok(b'X-Spam' not in m, 'not marked: nothing failed for sure')

# --- alone from a shell -----------------------------------------------------------
def alone(msg, sender=b'john@john.test', env=None, ip='127.0.0.1'):
    """exit code, the message passed on (or None), stderr."""
    out = os.path.join(tmp, 'out')
    if os.path.exists(out):
        os.unlink(out)
    env_in = os.path.join(tmp, 'env-in')
    with open(env_in, 'wb') as f:
        f.write(b'F' + sender + b'\0Tdemo@example.test\0\0')
    e = dict(kate.env, **ENV)
    e.update({'TCPREMOTEIP': ip, 'SMTPHELOHOST': 'client.test'})
    e.update(env or {})
    with open(env_in, 'rb') as fe:
        r = subprocess.run([os.path.join(pmtest.BIN, 'auth-verify'), 'sh', '-c',
                            'cat > "$0"; env | grep ^AUTHRES_ | sort > "$0.env"', out],
                           input=msg, stdout=fe, stderr=subprocess.PIPE, env=e)
    got = open(out, 'rb').read() if os.path.exists(out) else None
    return r.returncode, got, r.stderr.decode(errors='replace')


code, out, err = alone(signed)
t.ok(code == 0 and out and out.startswith(b'Authentication-Results: mx.example.test;\r\n\tspf=pass'), 'alone: passed on, the field first', (code, err))
t.eq(open(os.path.join(tmp, 'out.env')).read(),
     'AUTHRES_ACTION=accept\nAUTHRES_DKIM=pass\nAUTHRES_DMARC=pass\nAUTHRES_SPF=pass\n', 'the results in the next stage\'s environment')
t.ok('spf=pass dkim=pass dmarc=pass from=john.test action=accept' in err, 'a log line', err)
code, out, err = alone(mail(b'john@john.test', b'x'), ip='127.0.0.9')
t.eq((code, out), (31, None), 'alone: a reject is exit 31, nothing passed on')
code, out, err = alone(b'', sender=b'', env={'SMTPHELOHOST': 'john.test'})
t.ok(code == 0 and b'spf=pass smtp.helo=john.test;' in out, 'null sender: SPF of the HELO name', out)

code, out, err = alone(b'To: demo@example.test\nSubject: no from\n\nbody\n')
t.ok(code == 0 and b'dmarc=permerror (no single From address with a domain)' in out, 'no From: permerror, passed', out)
code, out, err = alone(b'From: john@john.test\nFrom: x@quar.test\nSubject: two\n\nbody\n', ip='127.0.0.9')
t.ok(code == 0 and b'dmarc=permerror' in out and b'X-Spam' not in out, 'two From: permerror, passed', out)
code, out, err = alone(b'DKIM-Signature: v=1; a=rsa-sha256; d=john.test; s=sel; b=!!!; bh=??\n' + mail(b'john@john.test', b'g'), ip='127.0.0.9')
t.ok(code == 31, 'garbage DKIM-Signature, forged From: still refused', (code, err))
code, out, err = alone(b'DKIM-Signature: v=1; a=rsa-sha256; d=john.test; s=sel; b=!!!; bh=??\n' + mail(b'x@quar.test', b'g'), ip='127.0.0.9')
t.ok(code == 0 and b'dkim=permerror' in out and b'X-Spam: Yes' in out, 'garbage DKIM-Signature: dkim=permerror', out)
code, out, err = alone(b'From: john@john.test\n' + b'X: ' + b'y' * 200000 + b'\n\nbody\n')
t.ok(code == 0 and out and b'spf=pass' in out, 'a 200 KB header field: a result', (code, err))
code, out, err = alone(b'Authentication-Results: mx.example.test; spf=pass\n' + signed, env={'AUTHVERIFY_MAXSIZE': '100'})
t.ok(code == 0 and out.startswith(b'Authentication-Results: mx.example.test (message too large to check); none\n')
     and out.count(b'Authentication-Results') == 1 and 'reason=too-large' in err,
     'over AUTHVERIFY_MAXSIZE: passed with a note, a forged field still removed', (out[:200], err))
# --- instance-setup -V, with -R; dkim-sign for submission ---------------------------------
import pwd
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ME = pwd.getpwuid(os.getuid()).pw_name
box = Instance()
box.run(['dkim-keygen', 'example.test', 'k1'])


def setup(*extra):
    return box.run(['instance-setup', '-r', box.root, '-b', pmtest.BIN, '-t', os.path.join(TOP, 'services'),
                    '-s', str(pmtest.free_port()), '-i', '127.0.0.1', '-u', ME] + list(extra), check=False)


def qi(svc):
    try:
        return open(os.path.join(box.root, 'service', svc, 'env/QUEUE_INJECT')).read()
    except OSError:
        return None


r = setup('-V', '-M', str(pmtest.free_port()))
t.ok(r.returncode == 0 and qi('smtp') == os.path.join(pmtest.BIN, 'auth-verify') + '\n',
     'instance-setup -V: auth-verify in the port 25 chain', (r.stderr, qi('smtp')))
t.eq(qi('submission'), os.path.join(pmtest.BIN, 'dkim-sign') + '\n', 'a DKIM key: dkim-sign in the submission chain')
key = os.path.join(box.root, 'etc/dkim/example.test/k1.key')
t.ok(os.getuid() != 0 or os.stat(key).st_mode & 0o777 == 0o640, 'the key readable by the group', oct(os.stat(key).st_mode))
r = setup('-V', '-R', str(pmtest.free_port()))
chain = os.path.join(box.root, 'service/smtp/chain')
t.ok(r.returncode == 0 and qi('smtp') == chain + '\n' and
     open(chain).read().endswith('exec %s/auth-verify %s/spam-check\n' % (pmtest.BIN, pmtest.BIN)),
     'with -R: auth-verify, then spam-check', (r.stderr, qi('smtp')))

# rspamd's own SPF, DKIM and DMARC checks off with -V, still a valid configuration
rsconf = os.path.join(box.root, 'etc/rspamd/rspamd.conf')
inc = os.path.join(box.root, 'etc/rspamd/auth-verify.inc')
t.ok('"$LOCAL_CONFDIR/auth-verify.inc"' in open(rsconf).read() and
     all('%s { enabled = false; }' % m in open(inc).read() for m in ('spf', 'dkim', 'dmarc')),
     "-V -R: rspamd's spf, dkim and dmarc disabled", open(rsconf).read()[-300:])
if shutil.which('rspamadm'):
    v = ['--var=%s=%s' % kv for kv in (('LOCAL_CONFDIR', os.path.dirname(rsconf)),
                                       ('DBDIR', os.path.join(box.root, 'rspamd')), ('RUNDIR', os.path.join(box.root, 'rspamd')))]
    r = subprocess.run(['rspamadm'] + v + ['configdump', '-c', rsconf, 'spf', 'dkim', 'dmarc'], capture_output=True)
    t.ok(r.returncode == 0 and r.stdout.count(b'enabled = false;') == 3, 'rspamadm reads it: the three disabled',
         (r.stdout[-400:], r.stderr[-400:]))
else:
    t.skip('rspamadm reads it', 'no rspamadm (Debian package rspamd)')
r = setup('-R', str(pmtest.free_port()))
t.ok(r.returncode == 0 and 'auth-verify.inc' not in open(rsconf).read(), 'without -V: rspamd checks them itself', r.stderr)
r = setup('-V', '-R', str(pmtest.free_port()))

# the chain, rspamd down: auth-verify's quarantine survives spam-check's drop of X-Spam
port = kate.start_smtp(env=dict(ENV, QUEUE_INJECT=chain, RSPAMD='127.0.0.1:%d' % pmtest.free_port()))
t.eq(send('x@quar.test', mail(b'x@quar.test', b'chain', extra=b'X-Spam: No\r\n'), src='127.0.0.3'), (250, ''),
     'through auth-verify and spam-check: accepted')
m = kate.wait_mails(DEMO, 3, folder='Junk')
t.ok(len(m) == 3 and m[-1].count(b'X-Spam:') == 1 and b'\nX-Spam: Yes\n' in m[-1], 'one X-Spam: Yes, in Junk', m[-1][:500] if m else m)

code, out, err = alone(b'From: john@john.test\n' + b''.join(b'X-%d: y\n' % i for i in range(1001)) + b'\nbody\n')
t.ok(code == 31 and out is None and 'header-too-large' in err, 'over 1000 header fields: refused', (code, err))
code, out, err = alone(b'From: john@john.test\n' + b'X: ' + b'y' * 300000 + b'\n\nbody\n')
t.ok(code == 31 and out is None, 'a header over 256 KB: refused', (code, err))
r = subprocess.run([os.path.join(pmtest.BIN, 'auth-verify'), '-x'], capture_output=True)
t.eq(r.returncode, 100, 'an option: usage, exit 100')
smtphelp.crash_free(t, kate.log(kate.smtp_proc), 'no crash in the smtp log')
