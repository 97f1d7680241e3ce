#!/usr/bin/env python3
"""Message submission (RFC 6409, 8314) in an instance made by
instance-setup -M -S under s6: the submission service (STARTTLS) and the
submissions service (implicit TLS), AUTH PLAIN and LOGIN through the
checkpassword program (auth-check, or a stand-in when it is not built)
with real clients (msmtp with a config file, Python's smtplib login(),
swaks --auth LOGIN); MAIL before AUTH refused, AUTH only over TLS; the
user sends only as an address of theirs (envelope and From:); Date: and
Message-ID: added; Received: says ESMTPSA and names the user, not the
client's address; bad AUTH input; failed AUTHs delayed, counted per
address across connections and locked out; the log line fail2ban's
postfix filter matches; the password in no log file."""
import atexit
import base64
import os
import re
import shutil
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmauth  # noqa: E402
import pmtls  # noqa: E402
import smtphelp  # noqa: E402
from pmtest import TAP, Instance, BIN, TOP, free_port, wait_for, wait_port  # noqa: E402
from pms6 import Scan, svpid  # noqa: E402

t = TAP()
for prog in ('s6-svscan', 's6-svwait', 's6-log', 's6-svc'):
    if not shutil.which(prog):
        t.skip_all('%s not installed (Debian package s6)' % prog)
if not pmtls.have_openssl():
    t.skip_all('no openssl command (Debian package openssl)')
for prog in ('instance-setup', 'tcp-serve', 'tls-serve', 'smtp-recv', 'queue-run'):
    if not os.access(os.path.join(BIN, prog), os.X_OK):
        t.skip_all('%s not built' % prog)

# the services as ourselves, or as nobody when we are root (auth-check run
# as root refuses root's mailboxes): a stand-in if neither can be
ME = pmauth.service_user()
JOHN, PW = 'john@example.test', 'J0hn-s3cret-PW'
DEMO = 'demo@example.test'
WRONG = ['wr0ng-Pass-%d' % i for i in range(12)]
inst = Instance(users={JOHN: PW, DEMO: 'demo'}, aliases={'john.doe@example.test': [JOHN]})
port, sub, subs = free_port(), free_port(), free_port()
while len({port, sub, subs}) < 3:
    sub, subs = free_port(), free_port()
atexit.register(lambda: [shutil.rmtree('/dev/shm/pipemail-tls-%d' % p, ignore_errors=True) for p in (port, sub, subs)])

r = inst.run(['instance-setup', '-r', inst.root, '-b', BIN, '-t', os.path.join(TOP, 'services'), '-s', str(port),
              '-M', str(sub), '-S', str(subs), '-c', '-i', '127.0.0.1', '-d', 'example.test',
              '-m', 'mx.example.test', '-u', ME], check=False)
t.eq(r.returncode, 0, 'instance-setup -M -S -c exits 0')
if r.returncode:
    t.diag(r.stderr.decode(errors='replace'))
for p in ('service/submission/run', 'service/submissions/run', 'log/submission', 'log/submissions'):
    t.ok(os.path.exists(os.path.join(inst.root, p)), 'made %s' % p)
t.ok(not os.path.exists(os.path.join(inst.root, 'service/smtps')), 'no smtps service any more')
for bad_args, name in ((['-s', str(port), '-M', str(port)], '-M equal to -s'),
                       (['-M', str(sub), '-S', str(sub)], '-M equal to -S'), (['-M', '0587'], 'a bad -M port')):
    r = inst.run(['instance-setup', '-r', inst.root, '-t', os.path.join(TOP, 'services')] + bad_args, check=False)
    t.ok(r.returncode == 100 and b'instance-setup: fatal: ' in r.stderr, '%s: exit 100' % name, r.stderr)
old = Instance()
os.makedirs(os.path.join(old.root, 'service/smtps'))
r = old.run(['instance-setup', '-r', old.root, '-b', BIN, '-t', os.path.join(TOP, 'services'), '-s', str(free_port()),
             '-S', str(free_port()), '-u', ME], check=False)
t.ok(r.returncode == 0 and b'service=smtps action=kept (obsolete' in r.stderr and
     os.path.isdir(os.path.join(old.root, 'service/submissions')),
     "an smtps service of an older version: kept, said obsolete; submissions made", r.stderr)
old.stop()
CERT = os.path.join(inst.root, 'etc/tls/cert.pem')

# The checkpassword program: auth-check when built, else a stand-in.
prog = pmauth.configure(inst, {JOHN: PW, DEMO: 'demo'}, as_root=ME == 'root', AUTH_LOCKOUT='3600')
t.diag('services as %s, checkpassword program %s' % (ME, prog))

scan = Scan(inst)
t.ok(scan.wait_up('smtp') and scan.wait_up('submission') and scan.wait_up('submissions'),
     'smtp, submission and submissions services ready')
t.ok(wait_port(sub, timeout=5) and wait_port(subs, timeout=5), 'both submission ports listen')
scan.wait_up('queue', ready=False)
ctx = pmtls.client_context(CERT)
ctx.check_hostname = False     # smtplib asks for 127.0.0.1; the chain is verified


def logs():
    out = ''
    for d, _, files in os.walk(os.path.join(inst.root, 'log')):
        for n in files:
            with open(os.path.join(d, n), 'rb') as f:
                out += f.read().decode(errors='replace')
    return out


def slog():
    with open(os.path.join(inst.root, 'log/submission/current'), errors='replace') as f:
        return f.read()


def mail_with(subject, timeout=20):
    want = b'\nSubject: ' + subject.encode() + b'\n'
    return wait_for(lambda: next((m for m in inst.mails(DEMO) if want in m), None), timeout)


def header(mail):
    return mail.split(b'\n\n', 1)[0].decode(errors='replace') if mail else ''


def msg(subject, frm=JOHN, extra=''):
    return 'From: %s\r\nTo: %s\r\nSubject: %s\r\n%s\r\nhello\r\n' % (frm, DEMO, subject, extra)


def starttls(source=None):
    s = smtplib.SMTP('127.0.0.1', sub, timeout=20, source_address=(source, 0) if source else None)
    s.ehlo()
    s.starttls(context=ctx)
    s.ehlo()
    return s


def plain(authz, user, pw):
    return base64.b64encode(b'\0'.join([authz, user, pw])).decode()


# ---- before STARTTLS / before AUTH ---------------------------------------------
s = smtplib.SMTP('127.0.0.1', sub, timeout=20)
s.ehlo()
t.ok(s.has_extn('starttls') and not s.has_extn('auth'), 'submission: STARTTLS offered, AUTH not before it',
     s.esmtp_features)
c = s.docmd('AUTH PLAIN', plain(b'', JOHN.encode(), PW.encode()))
t.ok(c[0] == 538 and c[1].startswith(b'5.7.11'), 'AUTH before STARTTLS: 538 5.7.11', c)
c = s.docmd('MAIL FROM:<%s>' % JOHN)
t.ok(c[0] == 530, 'MAIL before STARTTLS and AUTH: 530', c)
s.quit()
s = starttls()
t.ok(s.has_extn('auth') and 'PLAIN' in s.esmtp_features['auth'] and 'LOGIN' in s.esmtp_features['auth'],
     'after STARTTLS: AUTH PLAIN LOGIN offered', s.esmtp_features)
# the open-relay battery: without AUTH, nothing gets through
c = s.docmd('MAIL FROM:<%s>' % JOHN)
t.ok(c[0] == 530 and c[1].startswith(b'5.7.0'), 'MAIL before AUTH: 530 5.7.0', c)
relay = ['someone@example.org', 'someone%example.org@example.test', '"someone@example.org"@example.test',
         '@example.test:someone@example.org', 'someone@example.org@example.test', DEMO]
s.quit()
for frm in ('', JOHN, 'someone@example.org'):
    s = starttls()      # a session each: the errors add up to MAXERRORS
    s.docmd('MAIL FROM:<%s>' % frm)
    codes = [s.docmd('RCPT TO:<%s>' % rc)[0] for rc in relay]
    t.ok(all(500 <= x < 600 for x in codes), 'no AUTH, MAIL FROM:<%s>: every RCPT 5xx' % frm, codes)
    s.close()

# ---- real clients -----------------------------------------------------------------
conf = os.path.join(inst.root, 'msmtprc')
with open(conf, 'w') as f:
    f.write('account default\nhost 127.0.0.1\nport %d\ntls on\ntls_starttls on\ntls_trust_file %s\n'
            'tls_host_override mx.example.test\nauth plain\nuser %s\npassword %s\nfrom %s\n'
            % (sub, CERT, JOHN, PW, JOHN))
os.chmod(conf, 0o600)
if shutil.which('msmtp'):
    r = subprocess.run(['msmtp', '-C', conf, DEMO], input=msg('via msmtp').encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    t.eq(r.returncode, 0, 'msmtp (config file, STARTTLS, AUTH PLAIN, certificate verified) submits')
    if r.returncode:
        t.diag(r.stdout.decode(errors='replace'))
    m = header(mail_with('via msmtp'))
    t.ok(re.search(r'^Received: from \S+\n\t\(using TLS[^)]+\)\n\t\(authenticated user john@example\.test\)\n'
                   r'\tby mx\.example\.test '
                   r'\(pipemail\) with ESMTPSA id ', m, re.M), 'Received: says ESMTPSA and names the user', m)
    rcv = re.search(r'^Received:.*?(?=^\S)', m + '\nX', re.S | re.M)
    t.ok(rcv and '127.0.0.1' not in rcv.group(0), "Received: does not carry the client's address", m)
else:
    t.skip('msmtp', 'msmtp not installed (Debian package msmtp)')
    for _ in range(2):
        t.skip('msmtp mail', 'no msmtp')

try:
    s = starttls()
    s.login(JOHN, PW)
    s.sendmail(JOHN, [DEMO], msg('via smtplib starttls', extra='Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n'
                                 'Message-ID: <mine@example.test>\r\n'))
    s.quit()
    err = None
except (OSError, smtplib.SMTPException) as e:
    err = e
t.ok(err is None, 'smtplib login() over STARTTLS, then a mail', err)
m = header(mail_with('via smtplib starttls'))
t.ok(m.count('Message-ID:') == 1 and '<mine@example.test>' in m and m.count('\nDate:') == 1,
     "the message's own Date: and Message-ID: kept, none added", m)
try:
    with smtplib.SMTP_SSL('127.0.0.1', subs, timeout=20, context=ctx) as s:
        s.ehlo()
        offered = s.has_extn('auth') and not s.has_extn('starttls')
        s.login(JOHN, PW)
        s.sendmail('john.doe@example.test', [DEMO], msg('via smtplib implicit', frm='John <john.doe@example.test>'))
    err = None
except (OSError, smtplib.SMTPException) as e:
    offered, err = False, e
t.ok(offered and err is None, 'smtplib login() over implicit TLS (submissions), as an alias of john', err)
m = header(mail_with('via smtplib implicit'))
t.ok(' with ESMTPSA ' in m, 'delivered, ESMTPSA', m)
t.ok(re.search(r'^Date: \w{3}, \d+ \w{3} \d{4} ', m, re.M) and
     re.search(r'^Message-ID: <[^@>]+@mx\.example\.test>$', m, re.M),
     'the message had no Date: nor Message-ID: they were added', m)
if shutil.which('swaks'):
    r = subprocess.run(['swaks', '--server', '127.0.0.1:%d' % sub, '--tls', '--auth', 'LOGIN',
                        '--auth-user', JOHN, '--auth-password', PW, '--from', JOHN, '--to', DEMO,
                        '--header', 'Subject: via swaks'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = r.stdout.decode(errors='replace')
    t.ok(r.returncode == 0 and '235 2.7.0' in out, 'swaks --tls --auth LOGIN submits', out[-2000:])
    t.ok(' with ESMTPSA ' in header(mail_with('via swaks')), 'delivered, ESMTPSA')
else:
    t.skip('swaks', 'swaks not installed')
    t.skip('swaks mail', 'swaks not installed')
t.ok(re.search(r'smtp-recv: info: session=\S+ ip=127\.0\.0\.1 auth=ok mech=LOGIN user=<john@example\.test>', slog()),
     'log: auth=ok with mechanism and user', slog()[-2000:])

# ---- sending as someone else ------------------------------------------------------------
s = starttls()
s.login(JOHN, PW)
c = s.docmd('MAIL FROM:<%s>' % DEMO)
t.ok(c[0] == 553 and c[1].startswith(b'5.7.1'), "MAIL FROM someone else's address after AUTH: 553 5.7.1", c)
c = s.docmd('MAIL FROM:<john+tag@example.test> AUTH=<john@example.test>')
t.eq(c[0], 250, 'MAIL FROM a +tag of his own, with AUTH=: 250')
t.eq(s.docmd('RCPT TO:<someone@example.org>')[0], 250, 'an authenticated user may relay')
s.rset()
try:
    s.sendmail(JOHN, [DEMO], msg('from demo', frm='Demo <%s>' % DEMO))
    err = None
except smtplib.SMTPDataError as e:
    err = e
t.ok(err is not None and err.smtp_code == 553, "From: someone else's address: 553 at the end of DATA", err)
try:
    s.sendmail(JOHN, [DEMO], 'From: %s\r\nSender: %s\r\nSubject: sender\r\n\r\nx\r\n' % (JOHN, DEMO))
    err = None
except smtplib.SMTPDataError as e:
    err = e
t.ok(err is not None and err.smtp_code == 553, "Sender: someone else's address: 553", err)
s.quit()
time.sleep(0.5)
t.ok(not mail_with('from demo', timeout=0.5) and not mail_with('sender', timeout=0.1),
     'neither message was queued')

# ---- bad AUTH input: a clear reply each, the session goes on ------------------------------
s = starttls()
big = base64.b64encode(os.urandom(75000)).decode()
bad = [
    (('AUTH PLAIN ' + big,), 500, 'a 100 KB initial response'),
    (('AUTH PLAIN', big), 500, 'a 100 KB response line'),
    (('AUTH PLAIN', '!!!!'), 501, 'invalid base64'),
    (('AUTH PLAIN', 'am9obg='), 501, 'base64 of bad length'),
    (('AUTH PLAIN', '*'), 501, '* cancels'),
    (('AUTH LOGIN', '*'), 501, '* cancels LOGIN'),
    (('AUTH PLAIN', plain(b'demo@example.test', JOHN.encode(), PW.encode())), 535, 'an authzid not the user'),
    (('AUTH PLAIN', base64.b64encode(b'\0' + JOHN.encode() + b'\0J0hn\0s3cret').decode()), 501, 'NUL in the password (PLAIN)'),
    (('AUTH LOGIN', base64.b64encode(JOHN.encode()).decode(), base64.b64encode(b'J0hn\0x').decode()), 501,
     'NUL in the password (LOGIN)'),
    (('AUTH PLAIN', base64.b64encode(b'\0\0' + PW.encode()).decode()), 501, 'an empty user'),
    (('AUTH CRAM-MD5',), 504, 'an unknown mechanism'),
    (('AUTH',), 501, 'no mechanism'),
]
for lines, want, name in bad:
    c = s.docmd(lines[0])
    for ln in lines[1:]:
        if c[0] != 334:
            break
        c = s.docmd(ln)
    t.ok(c[0] == want, '%s: %d' % (name, want), c)
t.eq(s.noop()[0], 250, 'the session goes on after all that')
c = s.docmd('AUTH PLAIN', plain(JOHN.encode(), JOHN.encode(), PW.encode()))
t.ok(c[0] == 235, 'authzid equal to the user: 235', c)
c = s.docmd('AUTH PLAIN', plain(b'', JOHN.encode(), PW.encode()))
t.ok(c[0] == 503, 'AUTH again: 503', c)
s.quit()

# ---- failures: delayed, counted per address across connections, locked out -----------------------------
s = starttls('127.0.0.3')
t0 = time.monotonic()
try:
    s.login(JOHN, WRONG[0])
    err = None
except smtplib.SMTPAuthenticationError as e:
    err = e
t.ok(err is not None and err.smtp_code == 535 and err.smtp_error.startswith(b'5.7.8'),
     'wrong password: 535 5.7.8', err)
t.ok(time.monotonic() - t0 >= 0.05, 'after a delay (AUTH_FAIL_DELAY)')
s.quit()
fails, conns = 2, 1     # smtplib tried PLAIN, then LOGIN
i = 1
while fails < 10:
    s = starttls('127.0.0.3')
    conns += 1
    for _ in range(3):
        if fails >= 10:
            break
        c = s.docmd('AUTH PLAIN', plain(b'', JOHN.encode(), WRONG[i].encode()))
        i += 1
        fails += 1
        if c[0] != 535:
            break
    s.quit()
t.ok(c[0] == 535, '%d failures over %d connections, each a 535' % (fails, conns), c)
try:
    s = smtplib.SMTP('127.0.0.1', sub, timeout=20, source_address=('127.0.0.3', 0))
    s.quit()
    err = None
except smtplib.SMTPConnectError as e:
    err = e
t.ok(err is not None and err.smtp_code == 421 and err.smtp_error.startswith(b'4.7.0'),
     'then the address is locked out: 421 4.7.0 at the next connection', err)
try:
    with smtplib.SMTP_SSL('127.0.0.1', subs, timeout=20, context=ctx, source_address=('127.0.0.3', 0)) as s:
        pass
    err = None
except smtplib.SMTPConnectError as e:
    err = e
t.ok(err is not None and err.smtp_code == 421, 'and on the submissions port too (one table)', err)
s = starttls('127.0.0.4')
s.login(JOHN, PW)
s.quit()
t.ok(True, 'another address still logs in')
fl = [ln for ln in slog().splitlines() if 'authentication failed' in ln and '[127.0.0.3]' in ln]
t.ok(len(fl) == 10 and all(re.search(r'smtp-recv: warning: session=\S+ client=\S*\[127\.0\.0\.3\]: SASL (PLAIN|LOGIN) '
                                     r'authentication failed: user=<john@example\.test> failures=\d+$', ln) for ln in fl),
     'each failure logged in one line with address and user', fl)
t.ok(re.search(r'failures=10$', fl[-1] if fl else '') is not None, 'counted across connections', fl[-1:])
if shutil.which('fail2ban-regex'):
    only = os.path.join(inst.root, 'f2b.log')
    with open(only, 'w') as f:
        f.write(''.join(ln + '\n' for ln in fl))
    r = subprocess.run(['fail2ban-regex', only, 'postfix[mode=auth]'], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    out = r.stdout.decode(errors='replace')
    t.ok(re.search(r'^Lines: %d lines, 0 ignored, %d matched, 0 missed' % (len(fl), len(fl)), out, re.M)
         and '127.0.0.3' in subprocess.run(['fail2ban-regex', '--print-all-matched', only, 'postfix[mode=auth]'],
                                           stdout=subprocess.PIPE, timeout=120).stdout.decode(),
         "fail2ban's stock filter postfix[mode=auth] matches every line (TAI64N dates)", out[-1500:])
else:
    t.skip('fail2ban-regex', 'fail2ban not installed')

# ---- the password in no log ---------------------------------------------------------------------
text = logs()
secrets = [PW] + WRONG + [base64.b64encode(x.encode()).decode() for x in [PW] + WRONG]
secrets += [plain(b'', JOHN.encode(), x.encode()) for x in [PW] + WRONG]
t.ok(text and not [x for x in secrets if x in text], 'no password, plain or base64, in any log file',
     [x for x in secrets if x in text])
smtphelp.crash_free(t, text, 'no sanitizer report nor crash in the logs')

# in clear from loopback (AUTH_LOOPBACK_CLEARTEXT), under tcp-serve alone:
# smtp-recv's code in reused workers, its arguments passed through; the
# next session in a worker is not authenticated
lport = free_port()
lenv = {'SUBMISSION': '1', 'AUTH_LOOPBACK_CLEARTEXT': '1', 'AUTH_FAIL_DELAY': '0',
        'AUTHFAIL_FILE': os.path.join(inst.root, 'authfail-loop')}
lp = inst.spawn(['tcp-serve', '-S', '100', '127.0.0.1', str(lport), 'smtp-recv',
                 pmauth.checkpassword(inst, {JOHN: PW}), 'true'], env=lenv)
t.ok(wait_port(lport), 'tcp-serve smtp-recv PROGRAM true listens')
seen = []
for i in range(3):
    with smtplib.SMTP('127.0.0.1', lport, timeout=20) as s:
        s.ehlo()
        seen.append(s.has_extn('auth'))
        c = s.docmd('MAIL FROM:<%s>' % JOHN)
        if i == 0:
            s.login(JOHN, PW)
            c2 = s.docmd('MAIL FROM:<%s>' % JOHN)
t.ok(all(seen) and c[0] == 530 and c2[0] == 250,
     'AUTH offered in clear to loopback with AUTH_LOOPBACK_CLEARTEXT; a later session starts unauthenticated',
     (seen, c, c2, inst.log(lp)))
inst.kill(lp)

# no checkpassword program: the service says so, and offers no AUTH
with open(os.path.join(scan.dir('submissions'), 'env/CHECKPASSWORD'), 'w') as f:
    f.write('/nonexistent/checkpw\n')
old = svpid(scan.dir('submissions'))
subprocess.run(['s6-svc', '-r', scan.dir('submissions')])
wait_for(lambda: svpid(scan.dir('submissions')) not in (0, old), 10)
t.ok(scan.wait_up('submissions') and wait_port(subs, timeout=5), 'submissions restarted')
with smtplib.SMTP_SSL('127.0.0.1', subs, timeout=20, context=ctx) as s:
    s.ehlo()
    feats = s.esmtp_features
    c = s.docmd('MAIL FROM:<%s>' % JOHN)
t.ok('auth' not in feats and c[0] == 530, 'no program: no AUTH offered, MAIL refused (530)', (feats, c))
with open(os.path.join(inst.root, 'log/submissions/current'), errors='replace') as f:
    t.ok('submissions: warning: no program /nonexistent/checkpw: AUTH is not offered' in f.read(),
         'and the log says why')
scan.stop()
