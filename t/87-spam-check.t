#!/usr/bin/env python3
"""spam-check with a real rspamd: an instance made by instance-setup -R runs
its own rspamd under s6 (the package's defaults and the instance's private
configuration, on a free loopback port) with spam-check in the smtp
service's chain. GTUBE is refused with 554, rspamd's "add header" files the
message in Junk, a plain one lands in the inbox, and with rspamd stopped mail
still flows (or is deferred with SPAMCHECK_FAILCLOSED). spam-check alone from
a shell. Then a fake rspamd: what spam-check sends, and answers that are
garbage, huge, late or missing: passed on with a warning, no crash."""
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, BIN, TOP, free_port, wait_for, wait_port, split_message  # noqa: E402
from pms6 import Scan  # noqa: E402
import smtphelp  # noqa: E402
import pmrspamd  # noqa: E402
import pmtls  # noqa: E402
import pmauth  # noqa: E402

t = TAP()
if not shutil.which('rspamd'):
    t.skip_all('rspamd not installed (Debian package rspamd)')
for prog in ('s6-svscan', 's6-svwait', 's6-svc'):
    if not shutil.which(prog):
        t.skip_all('%s not installed (Debian package s6)' % prog)

ME = pwd.getpwuid(os.getuid()).pw_name
DEMO = 'demo@example.test'
GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
# rspamd's GTUBE variants (its test patterns): "add header" for this one
GTUBE_ADD = 'Y' + GTUBE[1:]
SPAMCHECK = os.path.join(BIN, 'spam-check')


def message(subject, body, n=[0]):
    n[0] += 1
    return ('From: Alice <alice@example.org>\r\nTo: %s\r\nSubject: %s\r\n'
            'Date: Sun, 06 Dec 2026 19:00:00 +0000\r\nMessage-ID: <t87.%d@example.org>\r\n'
            'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n%s\r\n'
            % (DEMO, subject, n[0], body))


def send(port, msg, rcpts=(DEMO,), tls=False):
    """(code, text) of the reply to the dot."""
    try:
        with smtplib.SMTP('127.0.0.1', port, timeout=60, local_hostname='client.example.net') as s:
            if tls:
                s.starttls(context=pmtls.client_context(verify=False))
            s.sendmail('alice@example.org', list(rcpts), msg)
            return 250, ''
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode(errors='replace')


def header(data, name):
    """The values of the header fields called name, unfolded."""
    h = split_message(data)[0].decode(errors='replace').replace('\n\t', ' ').replace('\n ', ' ')
    return [line.split(':', 1)[1].strip() for line in h.split('\n')
            if line.lower().startswith(name.lower() + ':')]


def count(folder=None):
    return len(inst.mails(DEMO, folder))


KATE = 'kate@example.test'
inst = Instance(users={DEMO: 'demo', KATE: 'kate'})
smtpport, rsport = free_port(), free_port()
r = inst.run(['instance-setup', '-r', inst.root, '-b', BIN, '-t', os.path.join(TOP, 'services'),
              '-s', str(smtpport), '-R', str(rsport), '-i', '127.0.0.1', '-u', ME, '-d', 'example.test'],
             check=False)
t.eq(r.returncode, 0, 'instance-setup -R: exit 0')
envdir = os.path.join(inst.root, 'service/smtp/env')
with open(os.path.join(envdir, 'QUEUE_INJECT')) as f:
    t.eq(f.read().strip(), SPAMCHECK, 'spam-check is in the smtp service\'s chain')
with open(os.path.join(envdir, 'RSPAMD')) as f:
    t.eq(f.read().strip(), '127.0.0.1:%d' % rsport, 'RSPAMD names the private rspamd')
conf = os.path.join(inst.root, 'etc/rspamd/rspamd.conf')
with open(conf) as f:
    t.ok('bind_socket = "127.0.0.1:%d"' % rsport in f.read(), 'rspamd.conf: on loopback, its own port')
pmrspamd.quiet_config(inst.root)

scan = Scan(inst)
t.ok(scan.wait_up('smtp') and scan.wait_up('queue', ready=False), 'smtp and queue services up')


# rspamd compiles its rules when it starts: a minute on a busy machine
if not t.ok(wait_for(lambda: pmrspamd.ready(rsport), 300, 0.5), 'the private rspamd answers on its port'):
    scan.explain('rspamd')

# --- through smtp-recv and the real rspamd --------------------------------------------
code, text = send(smtpport, message('gtube', GTUBE))
t.ok(code == 554 and text.startswith('5.7.1 ') and 'Gtube' in text, 'GTUBE: 554 5.7.1 with rspamd\'s message',
     (code, text))

t.eq(send(smtpport, message('maybe spam', 'Hello,\r\n' + GTUBE_ADD))[0], 250, '"add header": 250')
junk = inst.wait_mails(DEMO, 1, folder='Junk')
t.eq(len(junk), 1, 'it lands in Junk')
if junk:
    t.eq(header(junk[0], 'X-Spam'), ['Yes'], 'X-Spam: Yes')
    sc = header(junk[0], 'X-Spam-Score')
    t.ok(len(sc) == 1 and sc[0].endswith(' / 15.00'), 'X-Spam-Score: S / R', sc)
    t.ok('GTUBE(' in ''.join(header(junk[0], 'X-Spam-Symbols')), 'X-Spam-Symbols names GTUBE', junk[0][:600])

t.eq(send(smtpport, message('lunch', 'Lunch tomorrow at noon?'))[0], 250, 'plain message: 250')
inbox = inst.wait_mails(DEMO, 1)
t.eq(len(inbox), 1, 'it lands in the inbox')
if inbox:
    t.eq(header(inbox[0], 'X-Spam'), [], 'no X-Spam')
    t.eq(len(header(inbox[0], 'X-Spam-Score')), 1, 'X-Spam-Score added')
    t.ok(inbox[0].endswith(b'\nLunch tomorrow at noon?\n'), 'message intact', inbox[0][-200:])
# the sender's own X-Spam fields are not believed (an X-Spam: Yes would
# be: rspamd's SPAM_FLAG scores it)
forged = message('forged', 'My own verdict.').replace('Subject:', 'X-Spam: No\r\nX-Spam-Score: -50.00 /\r\n 15.00\r\nX-Spam-Symbols: NONE\r\nSubject:')
t.eq(send(smtpport, forged)[0], 250, 'a message with forged X-Spam fields: 250')
inbox = inst.wait_mails(DEMO, 2)
t.eq(len(inbox), 2, 'it lands in the inbox')
if len(inbox) == 2:
    t.ok(header(inbox[1], 'X-Spam') == []
         and len(header(inbox[1], 'X-Spam-Score')) == 1 and '-50' not in header(inbox[1], 'X-Spam-Score')[0]
         and header(inbox[1], 'X-Spam-Symbols') == [], 'only spam-check\'s own X-Spam fields are left', inbox[1][:800])
smtplog = os.path.join(inst.root, 'log/smtp/current')
t.ok(wait_for(lambda: 'action=reject' in open(smtplog, errors='replace').read(), 10),
     'the smtp log has spam-check\'s verdicts')

# --- spam-check alone, from a shell --------------------------------------------------
m = os.path.join(inst.root, 'm')


def alone(msg, env=None):
    with open(m, 'wb') as f:
        f.write(msg.encode())
    e = {'RSPAMD': '127.0.0.1:%d' % rsport, 'TCPREMOTEIP': '127.0.0.1'}
    e.update(env or {})
    return inst.run(['sh', '-c', 'printf "Fbob@example.org\\0T%s\\0\\0" > m.env && exec spam-check < m 1< m.env' % DEMO],
                    check=False, env=e, cwd=inst.root)


before = count()
r = alone(message('alone', GTUBE))
t.eq(r.returncode, 31, 'spam-check < GTUBE 1< envelope: exit 31')
r = alone(message('alone', 'Are we still on for Friday?'))
t.eq(r.returncode, 0, 'spam-check < plain 1< envelope: exit 0 (queue-inject ran)')
t.ok(wait_for(lambda: count() == before + 1, 30), 'and it was delivered', count())

# --- rspamd down --------------------------------------------------------------------------
subprocess.run(['s6-svc', '-d', scan.dir('rspamd')])
subprocess.run(['s6-svwait', '-D', '-t', '30000', scan.dir('rspamd')])
t.ok(wait_for(lambda: not pmrspamd.ready(rsport), 30), 'rspamd stopped')
before = count()
t.eq(send(smtpport, message('no rspamd', 'Still there?'))[0], 250, 'rspamd down: 250 all the same')
inbox = inst.wait_mails(DEMO, before + 1)
t.ok(len(inbox) == before + 1 and not header(inbox[-1], 'X-Spam-Score'), 'delivered, unchecked')
t.ok(wait_for(lambda: 'passed unchecked' in open(smtplog, errors='replace').read(), 10),
     'with a warning in the log')
t.eq(send(smtpport, message('no rspamd', GTUBE))[0], 250, 'rspamd down: even GTUBE passes (fail open)')
with open(os.path.join(envdir, 'SPAMCHECK_FAILCLOSED'), 'w') as f:
    f.write('1\n')
subprocess.run(['s6-svc', '-r', scan.dir('smtp')])
time.sleep(0.5)
scan.wait_up('smtp')
code, text = send(smtpport, message('fail closed', 'hello'))
t.ok(code == 451 and text.startswith('4.3.0 '), 'SPAMCHECK_FAILCLOSED: 451', (code, text))

# --- a fake rspamd -----------------------------------------------------------------------
class Fake:
    """Answers each connection as self.mode says; keeps the last request."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.mode = 'ok'
        self.requests = []
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            c, _ = self.sock.accept()
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def read_request(self, c):
        data = b''
        while b'\r\n\r\n' not in data:
            d = c.recv(65536)
            if not d:
                return None
            data += d
        head, body = data.split(b'\r\n\r\n', 1)
        lines = head.decode(errors='replace').split('\r\n')
        hdrs = [tuple(x.split(': ', 1)) for x in lines[1:]]
        n = int(dict(hdrs).get('Content-Length', '0'))
        while len(body) < n:
            d = c.recv(65536)
            if not d:
                break
            body += d
        self.requests.append((lines[0], hdrs, body))
        return hdrs

    def serve(self, c):
        try:
            mode = self.mode
            if mode == 'close':
                return
            self.read_request(c)
            if mode == 'silent':
                time.sleep(8)
                return
            if mode == 'drip':
                for ch in b'HTTP/1.0 200 OK\r\n\r\n{"action":"reject"}':
                    c.sendall(bytes([ch]))
                    time.sleep(0.5)
                return
            if mode == 'huge':
                c.sendall(b'HTTP/1.0 200 OK\r\n\r\n{"action":"reject","x":"')
                for _ in range(300):
                    c.sendall(b'a' * 10000)
                return
            body = {
                'ok': b'{"action":"no action","score":0.5,"required_score":15}',
                'garbage': b'{"action": reject, garbage',
                'noaction': b'{"score": 100}',
                'soft': b'{"action":"soft reject","score":3,"required_score":15,'
                        b'"messages":{"smtp_message":"Try again later"}}',
                'hostile': b'{"action":"reject","score":1e999,"messages":{"smtp_message":"bad\\r\\n250 ok '
                           + b'x' * 1000 + b'"}}',
                'weird': b'{"action":"discard","score":1}',
            }.get(mode)
            if mode == 'http500':
                c.sendall(b'HTTP/1.0 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}')
            else:
                c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n'
                          % len(body) + body)
        except OSError:
            pass
        finally:
            c.close()


fake = Fake()
fport = inst.start_smtp(env={'QUEUE_INJECT': SPAMCHECK, 'RSPAMD': '127.0.0.1:%d' % fake.port,
                             'SPAMCHECK_TIMEOUT': '2'})

# what spam-check tells rspamd
before = count()
t.eq(send(fport, message('two', 'to two'), rcpts=(DEMO, KATE))[0], 250,
     'fake rspamd, "no action": 250')
if t.ok(fake.requests, 'the fake rspamd was asked'):
    line, hdrs, body = fake.requests[-1]
    h = {}
    for k, v in hdrs:
        h.setdefault(k, []).append(v)
    t.eq(line, 'POST /checkv2 HTTP/1.0', 'POST /checkv2')
    t.eq(h.get('IP'), ['127.0.0.1'], 'IP: the client\'s')
    t.eq(h.get('From'), ['alice@example.org'], 'From: the envelope sender')
    t.eq(sorted(h.get('Rcpt', [])), sorted([DEMO, KATE]), 'one Rcpt per recipient')
    t.eq(h.get('Helo'), ['client.example.net'], 'Helo: the client\'s')
    t.eq(h.get('TLS-Version'), None, 'no TLS-Version in clear')
    t.ok(h.get('Queue-Id') and h['Queue-Id'][0], 'Queue-Id: the session', h.get('Queue-Id'))
    t.ok(body.startswith(b'Received: from ') and body.endswith(b'\nto two\n'), 'the message, as queued', body[:300])
    t.eq(h.get('Content-Length'), [str(len(body))], 'Content-Length')

# over STARTTLS: rspamd hears of it
tls_sent = 0
if pmtls.have_openssl():
    tls_sent = 1
    cert, key = pmtls.TestCA(inst.root, kind='ec').issue('mx.example.test', 'ec')
    tport = inst.start_smtp_tls(cert=cert, key=key, env={'QUEUE_INJECT': SPAMCHECK,
                                                         'RSPAMD': '127.0.0.1:%d' % fake.port})
    t.eq(send(tport, message('tls', 'over TLS'), tls=True)[0], 250, 'over STARTTLS: 250')
    h = dict(fake.requests[-1][1])
    t.ok(h.get('TLS-Version', '').startswith('TLSv1.') and h.get('TLS-Cipher'),
         'TLS-Version and TLS-Cipher sent', h)
else:
    t.skip('over STARTTLS', 'no openssl command')
    t.skip('TLS-Version and TLS-Cipher sent', 'no openssl command')

# after AUTH (submission in clear from loopback): User is the login
lport = free_port()
inst.spawn(['tcp-serve', '127.0.0.1', str(lport), 'smtp-recv', pmauth.checkpassword(inst, {DEMO: 'demo'}), 'true'],
           env={'SUBMISSION': '1', 'AUTH_LOOPBACK_CLEARTEXT': '1', 'AUTH_FAIL_DELAY': '0',
                'AUTHFAIL_FILE': os.path.join(inst.root, 'authfail'), 'QUEUE_INJECT': SPAMCHECK,
                'RSPAMD': '127.0.0.1:%d' % fake.port})
wait_port(lport)
try:
    with smtplib.SMTP('127.0.0.1', lport, timeout=60) as s:
        s.login(DEMO, 'demo')
        s.sendmail(DEMO, [KATE], message('auth', 'authenticated').replace('Alice <alice@example.org>', DEMO))
except (OSError, smtplib.SMTPException) as e:
    t.diag('AUTH session: %r' % (e,))
t.eq(dict(fake.requests[-1][1]).get('User'), DEMO, 'after AUTH: User is the login')

fake.mode = 'soft'
code, text = send(fport, message('soft', 'soft'))
t.ok(code == 451 and text == '4.7.1 Try again later', 'soft reject: 451 4.7.1 with rspamd\'s message', (code, text))
fake.mode = 'hostile'
code, text = send(fport, message('hostile', 'hostile'))
t.ok(code == 554 and text.startswith('5.7.1 bad??250 ok xxx') and '\n' not in text and len(text) < 300,
     'reject with a hostile message: 554, one clean bounded line', (code, text))

n_pass = 0
for mode, what in (('garbage', 'garbage JSON'), ('noaction', 'an answer without an action'),
                   ('huge', 'a 3 MB answer'), ('silent', 'no answer (timeout)'),
                   ('drip', 'an answer a byte at a time (timeout)'), ('http500', 'HTTP 500'),
                   ('close', 'a closed connection'), ('weird', 'an unknown action')):
    fake.mode = mode
    code, text = send(fport, message(mode, 'mode ' + mode))
    t.eq(code, 250, '%s: passed on' % what)
    n_pass += 1
t.ok(wait_for(lambda: count() == before + 1 + tls_sent + n_pass, 30), 'all delivered', (count(), before, n_pass))
log = inst.log(inst.smtp_proc)
t.ok(log.count('spam-check: warning:') >= n_pass, 'a warning for each', log[-3000:])

# over SPAMCHECK_MAXSIZE: not sent to rspamd at all
asked = len(fake.requests)
fake.mode = 'soft'
port2 = inst.start_smtp(env={'QUEUE_INJECT': SPAMCHECK, 'RSPAMD': '127.0.0.1:%d' % fake.port,
                             'SPAMCHECK_MAXSIZE': '1000'})
t.eq(send(port2, message('big', 'y' * 5000))[0], 250, 'over SPAMCHECK_MAXSIZE: passed on unchecked')
t.eq(len(fake.requests), asked, 'rspamd not asked')

logs = ''.join(inst.log(p) for p in inst.procs) + open(smtplog, errors='replace').read()
smtphelp.crash_free(t, logs, 'no sanitizer report or crash')
