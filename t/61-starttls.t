#!/usr/bin/env python3
# smtp-recv and TLS: STARTTLS (RFC 3207) under tls-serve -S, implicit TLS
# under tls-serve, with openssl s_client, swaks and Python's smtplib; the
# Received: field (ESMTPS, RFC 3848, protocol and cipher); no cleartext
# command injection after STARTTLS (CVE-2011-0411), with tls-serve and with
# a UCSPI-TLS server that does not protect anything itself; the session
# starts over after TLS; failed handshakes; REQUIRE_TLS; no key in the
# protocol process.
import os
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtest
import pmtls
import smtphelp
from pmtest import Instance, wait_for

t = pmtls.tap_needing('tls-serve')

inst = Instance(users={'demo@example.test': 'pw'})
D = tempfile.mkdtemp(prefix='pm-tls-', dir=inst.root)
ca = pmtls.TestCA(D)
CERT, KEY = ca.issue('mx.example.test', 'rsa')
CIPHER = 'ECDHE-RSA-AES128-GCM-SHA256'   # tls-serve's first choice for an RSA key
USING = '(using TLSv1.2 with cipher %s)' % CIPHER

sport = inst.start_smtp_tls('starttls', CERT, KEY, env={'SMTP_TIMEOUT': '20'})
ssrv = inst.smtp_tls_proc
iport = inst.start_smtp_tls('implicit', CERT, KEY, env={'REQUIRE_TLS': '1'})
isrv = inst.smtp_tls_proc
rport = inst.start_smtp_tls('starttls', CERT, KEY, env={'REQUIRE_TLS': '1'})
rsrv = inst.smtp_tls_proc
pport = inst.start_smtp()
inst.start_queue()
smtphelp.queue_ready(inst)
DEMO = 'demo@example.test'


def ctx():
    return pmtls.client_context(ca.cert)


def ctx_ip():
    """For smtplib, which asks for the name it connected to (127.0.0.1):
    the chain is verified, not the name."""
    c = ctx()
    c.check_hostname = False
    return c


def mail_with(subject, timeout=30):
    """The stored message whose Subject: is subject (waits for it)."""
    want = b'\nSubject: ' + subject.encode() + b'\n'
    found = wait_for(lambda: [m for m in inst.mails(DEMO) if want in m], timeout)
    return found[0] if found else b''


def received(msg):
    """The first Received: field, unfolded to one line."""
    m = re.search(rb'^Received: .*?(?=\n\S)', msg, re.S | re.M)
    return re.sub(r'\s*\n\s+', ' ', m.group(0).decode()) if m else ''


def check_tls_mail(subject, label):
    rcv = received(mail_with(subject))
    t.ok(' with ESMTPS id ' in rcv and USING in rcv,
         '%s: delivered, Received: says ESMTPS and %s' % (label, USING), rcv)


# -- clients that complete a mail --------------------------------------------
dialogue = (b'EHLO client.test\nMAIL FROM:<o@remote.test>\nRCPT TO:<demo@example.test>\nDATA\n'
            b'Subject: s_client starttls\n\nbody\n.\nQUIT\n')
r = subprocess.run(['openssl', 's_client', '-connect', '127.0.0.1:%d' % sport, '-starttls', 'smtp',
                    '-servername', 'mx.example.test', '-CAfile', ca.cert, '-verify_return_error',
                    '-quiet', '-crlf', '-ign_eof'],
                   input=dialogue, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
out = r.stdout.decode(errors='replace')
t.ok(r.returncode == 0 and '250 2.0.0 ok id=' in out and '221 2.0.0' in out,
     'openssl s_client -starttls smtp: certificate verified, mail accepted',
     out + r.stderr.decode(errors='replace'))
check_tls_mail('s_client starttls', 's_client -starttls smtp')


def swaks(port, how, subject):
    r = subprocess.run(['swaks', '-s', '127.0.0.1', '-p', str(port), '-t', DEMO, '-f', 's@remote.test',
                        how, '--header', 'Subject: ' + subject], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    return r.returncode, r.stdout.decode(errors='replace')


if subprocess.run(['sh', '-c', 'command -v swaks'], stdout=subprocess.DEVNULL).returncode == 0:
    rc, out = swaks(sport, '--tls', 'swaks starttls')
    t.ok(rc == 0 and '~> MAIL FROM' in out, 'swaks --tls: mail sent over STARTTLS', out)
    check_tls_mail('swaks starttls', 'swaks --tls')
    rc, out = swaks(iport, '--tlsc', 'swaks implicit')
    t.ok(rc == 0 and '~> MAIL FROM' in out, 'swaks --tlsc: mail sent over implicit TLS (REQUIRE_TLS set)', out)
    check_tls_mail('swaks implicit', 'swaks --tlsc')
else:
    for i in range(4):
        t.skip('swaks', 'no swaks')

s = smtplib.SMTP('127.0.0.1', sport, timeout=20)
code, text = s.ehlo('py.test')
t.ok(code == 250 and b'\nSTARTTLS' in text, 'EHLO in cleartext under tls-serve -S lists STARTTLS')
t.eq(s.starttls(context=ctx_ip())[0], 220, 'smtplib starttls(): 220')
code, text = s.ehlo('py.test')
t.ok(code == 250 and b'STARTTLS' not in text, 'EHLO after TLS does not list STARTTLS again')
t.eq(s.docmd('STARTTLS'), (503, b'5.5.1 already in TLS'), 'a second STARTTLS: 503 5.5.1')
s.sendmail('p@remote.test', [DEMO], 'Subject: smtplib starttls\r\n\r\nhi\r\n')
s.quit()
check_tls_mail('smtplib starttls', 'smtplib starttls()')

s = smtplib.SMTP_SSL('127.0.0.1', iport, timeout=20, context=ctx_ip())
code, text = s.ehlo('py.test')
t.ok(code == 250 and b'STARTTLS' not in text, 'implicit TLS: EHLO does not list STARTTLS')
t.eq(s.docmd('STARTTLS')[0], 503, 'implicit TLS: STARTTLS gets 503')
s.sendmail('p@remote.test', [DEMO], 'Subject: smtplib implicit\r\n\r\nhi\r\n')
s.quit()
check_tls_mail('smtplib implicit', 'SMTP_SSL (implicit TLS, REQUIRE_TLS set)')

# HELO over TLS: no ESMTP, but the TLS comment is there
s = smtplib.SMTP_SSL('127.0.0.1', iport, timeout=20, context=ctx_ip())
s.helo('helo.test')
s.sendmail('p@remote.test', [DEMO], 'Subject: helo implicit\r\n\r\nhi\r\n')
s.quit()
rcv = received(mail_with('helo implicit'))
t.ok(' with SMTP id ' in rcv and USING in rcv, 'HELO over TLS: with SMTP, and the cipher', rcv)

# a cleartext mail on the same server says ESMTP, without a TLS comment
s = smtplib.SMTP('127.0.0.1', sport, timeout=20)
s.sendmail('p@remote.test', [DEMO], 'Subject: cleartext\r\n\r\nhi\r\n')
s.quit()
rcv = received(mail_with('cleartext'))
t.ok(' with ESMTP id ' in rcv and 'using' not in rcv, 'no STARTTLS: with ESMTP, no TLS comment', rcv)

# SMTPUTF8 in MAIL (RFC 6531 3.7.3): with UTF8SMTP, UTF8SMTPS; per transaction
s = smtplib.SMTP('127.0.0.1', sport, timeout=20)
s.sendmail('jos\u00e9@remote.test', [DEMO], 'Subject: utf8 clear\r\n\r\nhi\r\n'.encode(), mail_options=['SMTPUTF8'])
t.eq(s.docmd('MAIL FROM:<p@remote.test> SMTPUTF8 XFOO=1')[0], 555, 'a refused MAIL with SMTPUTF8: 555')
s.sendmail('p@remote.test', [DEMO], 'Subject: after utf8 clear\r\n\r\nhi\r\n')
s.quit()
rcv = received(mail_with('utf8 clear'))
t.ok(' with UTF8SMTP id ' in rcv and 'using' not in rcv, 'SMTPUTF8 in cleartext: with UTF8SMTP', rcv)
rcv = received(mail_with('after utf8 clear'))
t.ok(' with ESMTP id ' in rcv, 'the next mails of the session, without SMTPUTF8 (one refused with it): with ESMTP', rcv)
s = smtplib.SMTP('127.0.0.1', sport, timeout=20)
s.starttls(context=ctx_ip())
s.sendmail('jos\u00e9@remote.test', [DEMO], 'Subject: utf8 starttls\r\n\r\nhi\r\n'.encode(), mail_options=['SMTPUTF8'])
s.sendmail('p@remote.test', [DEMO], 'Subject: after utf8 starttls\r\n\r\nhi\r\n')
s.quit()
rcv = received(mail_with('utf8 starttls'))
t.ok(' with UTF8SMTPS id ' in rcv and USING in rcv, 'SMTPUTF8 after STARTTLS: with UTF8SMTPS', rcv)
check_tls_mail('after utf8 starttls', 'the next mail over TLS, without SMTPUTF8')
s = smtplib.SMTP_SSL('127.0.0.1', iport, timeout=20, context=ctx_ip())
s.sendmail('p@remote.test', [DEMO], 'Subject: utf8 implicit\r\n\r\nhi\r\n', mail_options=['SMTPUTF8'])
s.quit()
rcv = received(mail_with('utf8 implicit'))
t.ok(' with UTF8SMTPS id ' in rcv, 'SMTPUTF8 over implicit TLS (ASCII addresses): with UTF8SMTPS', rcv)


# -- replies -----------------------------------------------------------------
def starttls_raw(port, extra=b'', ehlo=True):
    """Cleartext up to STARTTLS (sent with extra in one packet); returns
    (Client over TLS, the reply to STARTTLS)."""
    c = smtphelp.Client(port)
    c.reply()
    if ehlo:
        c.cmd('EHLO raw.test')
    c.send(b'STARTTLS\r\n' + extra)
    go = c.reply()
    ts = ctx().wrap_socket(c.s, server_hostname='mx.example.test')
    return smtphelp.Client(sock=ts), go


c = smtphelp.Client(sport)
c.reply()
c.cmd('EHLO x.test')
t.eq(c.first('STARTTLS now'), '501 5.5.4 STARTTLS takes no arguments', 'STARTTLS with an argument: 501')
t.eq(c.first('STARTTLS'), '220 2.0.0 ready to start TLS', 'STARTTLS: 220 2.0.0 ready to start TLS')
c.close()

c = smtphelp.Client(pport)
c.reply()
code, lines = c.cmd('EHLO x.test')
t.ok(code == 250 and 'STARTTLS' not in lines, 'without tls-serve: EHLO does not list STARTTLS')
t.eq(c.first('STARTTLS'), '502 5.5.1 STARTTLS not available', 'without tls-serve: STARTTLS gets 502')
c.close()

d = smtphelp.Direct(inst, env={'SSLCTLFD': '57', 'SSLREADFD': '58', 'SSLWRITEFD': '59'})
d.c.reply()
code, lines = d.c.cmd('EHLO x.test')
t.ok(code == 250 and 'STARTTLS' not in lines, 'UCSPI-TLS variables but no descriptors: not offered')
t.eq(d.c.first('STARTTLS'), '454 4.7.0 TLS not available due to temporary reason', '... and STARTTLS gets 454')
d.c.cmd('QUIT')
d.wait()
t.ok('STARTTLS is not offered' in d.logtext(), '... and a warning is logged', d.logtext())

# REQUIRE_TLS
c = smtphelp.Client(rport)
c.reply()
c.cmd('EHLO x.test')
t.eq(c.first('MAIL FROM:<a@remote.test>'), '530 5.7.0 Must issue a STARTTLS command first',
     'REQUIRE_TLS: MAIL before STARTTLS gets 530 5.7.0')
c.close()
tc, go = starttls_raw(rport)
tc.cmd('EHLO x.test')
t.eq(tc.first('MAIL FROM:<a@remote.test>'), '250 2.1.0 ok', 'REQUIRE_TLS: MAIL after STARTTLS: 250')
tc.close()

# -- the session starts over after STARTTLS ----------------------------------
c = smtphelp.Client(sport)
c.reply()
c.cmd('EHLO x.test')
c.cmd('MAIL FROM:<before@remote.test>')
c.send('STARTTLS\r\n')
c.reply()
tc = smtphelp.Client(sock=ctx().wrap_socket(c.s, server_hostname='mx.example.test'))
t.eq(tc.first('MAIL FROM:<a@remote.test>'), '503 5.5.1 send EHLO or HELO first',
     'after STARTTLS the EHLO is forgotten')
tc.cmd('EHLO x.test')
t.eq(tc.first('RCPT TO:<demo@example.test>'), '503 5.5.1 MAIL first', 'after STARTTLS the MAIL is forgotten')
tc.close()

# -- cleartext injection (CVE-2011-0411) --------------------------------------
mark = len(inst.log(ssrv))
tc, go = starttls_raw(sport, b'RSET\r\n')
code, lines = tc.cmd('EHLO after.test')
t.ok(go[0] == 220 and code == 250 and lines[0].startswith('mx.example.test'),
     'STARTTLS\\r\\nRSET\\r\\n in one packet: the next reply through TLS answers EHLO', (go, code, lines))
t.eq(tc.first('QUIT'), '221 2.0.0 mx.example.test closing connection', '... and QUIT, nothing in between')
t.ok(tc.closed(), '... then the connection closes')
tc.close()
logs = wait_for(lambda: 'reason=quit' in inst.log(ssrv)[mark:] and inst.log(ssrv)[mark:])
m1 = re.search(r'smtp-recv: info: session=\S+ tls=ok .* discarded=(\d+)', logs or '')
m2 = re.search(r'tls-serve: info: starttls cmd=Y discarded=(\d+)', logs or '')
t.ok(m1 and m2 and int(m1.group(1)) + int(m2.group(1)) == 6,
     'the 6 bytes of RSET were thrown away (smtp-recv %s, tls-serve %s)'
     % (m1 and m1.group(1), m2 and m2.group(1)), logs)

tc, go = starttls_raw(sport, b'MAIL FROM:<a@b.test>\r\n')
tc.cmd('EHLO after.test')
t.eq(tc.first('RCPT TO:<demo@example.test>'), '503 5.5.1 MAIL first',
     'STARTTLS\\r\\nMAIL FROM in one packet: no MAIL after TLS, RCPT gets 503')
tc.close()


# smtp-recv alone, under a fake UCSPI-TLS server that does no TLS and
# protects nothing: fd 0/1 and SSLREADFD/SSLWRITEFD are the same socket, so
# only smtp-recv's own discarding keeps the pipelined command out.
def fake_ucspitls(answer):
    a, b = socket.socketpair()
    ctl, ctlp = socket.socketpair()
    e = dict(inst.env)
    e.update({'PROTO': 'TCP', 'TCPREMOTEIP': '127.0.0.1', 'SSLCTLFD': str(ctlp.fileno()),
              'SSLREADFD': '0', 'SSLWRITEFD': '1'})
    log = os.path.join(inst.root, 'log-fake-%f' % time.time())
    with open(log, 'wb') as lf:
        p = subprocess.Popen([os.path.join(pmtest.BIN, 'smtp-recv')], stdin=b, stdout=b, stderr=lf,
                             env=e, pass_fds=(ctlp.fileno(),), start_new_session=True)
    b.close()
    ctlp.close()
    c = smtphelp.Client(sock=a)
    c.reply()
    code, lines = c.cmd('EHLO fake.test')
    t.ok('STARTTLS' in lines, 'fake UCSPI-TLS: STARTTLS offered')
    c.send(b'STARTTLS\r\nRSET\r\nMAIL FROM:<a@b.test>\r\n')
    go = c.reply()
    ctl.settimeout(10)
    cmd = ctl.recv(10)
    if answer is None:
        ctl.close()
    else:
        ctl.sendall(answer)
    return p, c, go, cmd, log


p, c, go, cmd, log = fake_ucspitls(b'SSL_PROTOCOL=TLSv1.2\0SSL_CIPHER=FAKE (x)\0\0')
t.eq((go[0], cmd), (220, b'Y'), "fake UCSPI-TLS: 220, then 'Y' on the control socket")
code, lines = c.cmd('EHLO after.test')
t.ok(code == 250 and lines[0].startswith('mx.example.test'), 'fake UCSPI-TLS: RSET and MAIL, buffered in '
     'smtp-recv, are dropped: the next reply answers EHLO', (code, lines))
t.eq(c.first('RCPT TO:<demo@example.test>'), '503 5.5.1 MAIL first', 'fake UCSPI-TLS: no MAIL carried over')
c.cmd('MAIL FROM:<f@remote.test>')
c.cmd('RCPT TO:<demo@example.test>')
c.cmd('DATA')
t.eq(c.cmd('Subject: fake tls\r\n\r\nx\r\n.')[0], 250, 'fake UCSPI-TLS: mail accepted')
c.cmd('QUIT')
p.wait(20)
rcv = received(mail_with('fake tls'))
t.ok(' with ESMTPS id ' in rcv and '(using TLSv1.2 with cipher FAKE??x?)' in rcv,
     "the variables from the 'Y' answer go into Received:, made safe", rcv)
text = open(log).read()
t.ok('tls=ok protocol=TLSv1.2 cipher=FAKE??x? discarded=28' in text,
     'logged, with the 28 bytes of RSET and MAIL dropped', text)

p, c, go, cmd, log = fake_ucspitls(None)
t.ok(c.closed(), 'handshake failure (control socket closed without an answer): connection closed')
t.eq(p.wait(20), 0, '... smtp-recv exits 0')
t.ok('tls=fail' in open(log).read() and 'reason=tls' in open(log).read(), '... and logs it', open(log).read())

# -- bad clients after STARTTLS ------------------------------------------------
# (text that reaches tls-serve before smtp-recv's 'Y' is relayed as
# cleartext, never read; the handshake then times out: -t 3)
bport = pmtest.free_port()
bsrv = inst.spawn(['tcp-serve', '127.0.0.1', str(bport), 'tls-serve', '-S', '-t', '3', 'smtp-recv'],
                  env={'CERTFILE': CERT, 'KEYFILE': KEY})
pmtest.wait_port(bport)
for label, junk in (('text', b'GET / HTTP/1.0\r\n\r\n'), ('a bad record', b'\x16\x03\x01\x00\x05hello')):
    mark = len(inst.log(bsrv))
    c = smtphelp.Client(bport)
    c.reply()
    c.cmd('EHLO x.test')
    c.cmd('STARTTLS')
    start = time.time()
    c.send(junk)
    t.ok(c.closed(15) and time.time() - start < 8, 'garbage (%s) instead of a ClientHello: dropped (%.1fs)'
         % (label, time.time() - start))
    c.close()
    t.ok(wait_for(lambda: 'tls=fail' in inst.log(bsrv)[mark:] and 'reason=tls' in inst.log(bsrv)[mark:]),
         '... smtp-recv logs tls=fail and ends', inst.log(bsrv)[mark:])
s = smtplib.SMTP('127.0.0.1', bport, timeout=20)
s.starttls(context=ctx_ip())
s.sendmail('p@remote.test', [DEMO], 'Subject: after garbage\r\n\r\nhi\r\n')
s.quit()
check_tls_mail('after garbage', 'the server keeps serving others')


# -- no key in smtp-recv -----------------------------------------------------------
def inspect(pid):
    environ = open('/proc/%d/environ' % pid, 'rb').read().split(b'\0')
    links = []
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            links.append(os.readlink('/proc/%d/fd/%s' % (pid, fd)))
        except OSError:
            pass
    ppid = int([l for l in open('/proc/%d/status' % pid) if l.startswith('PPid:')][0].split()[1])
    return environ, links, ppid


def session_pid(srv, tag):
    """The PID in the ID of the open session that was refused RCPT TO:<TAG@...>"""
    m = wait_for(lambda: re.search(r'session=[0-9a-f]+\.[0-9a-f]+\.(\d+) rcpt=<%s@' % re.escape(tag),
                                   inst.log(srv)))
    return int(m.group(1)) if m else 0


keyfiles = {os.path.realpath(p) for p in (KEY, CERT)}
c1, go = starttls_raw(sport)
c2 = smtphelp.Client(sock=ctx().wrap_socket(socket.create_connection(('127.0.0.1', iport), 10),
                                            server_hostname='mx.example.test'))
c2.reply()
# an unknown recipient: a log line that names the session (and its PID)
for c, tag in ((c1, 'isolation-s'), (c2, 'isolation-i')):
    c.cmd('EHLO %s.test' % tag)
    c.cmd('MAIL FROM:<a@remote.test>')
    c.cmd('RCPT TO:<%s@%s>' % (tag, DEMO.split('@')[1]))
for pid, label in ((session_pid(ssrv, 'isolation-s'), 'STARTTLS'),
                   (session_pid(isrv, 'isolation-i'), 'implicit')):
    if not pid:
        t.ok(False, '%s: smtp-recv pid found in the log' % label)
        continue
    environ, links, ppid = inspect(pid)
    t.ok(not [v for v in environ if v.startswith((b'KEYFILE', b'CERTFILE', b'TLS_UID', b'TLS_GID'))],
         '%s: smtp-recv environment has no KEYFILE/CERTFILE/TLS_*' % label)
    t.ok(not [l for l in links if os.path.realpath(l) in keyfiles],
         '%s: no fd of smtp-recv on the key or certificate' % label, links)
    # (tcp-serve runs tls-serve's code without exec: its name, not its exe)
    t.eq(open('/proc/%d/comm' % ppid).read().strip(), 'tls-serve', '%s: smtp-recv is a child of tls-serve' % label)
    net = os.readlink('/proc/%d/fd/0' % ppid)
    t.ok(net.startswith('socket:') and net not in links, '%s: smtp-recv holds no fd on the network socket' % label, links)
c1.close()
c2.close()

smtphelp.crash_free(t, ''.join(inst.log(p) for p in (ssrv, isrv, rsrv, bsrv, inst.smtp_proc)),
                    'no sanitizer report or crash')
