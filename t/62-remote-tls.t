#!/usr/bin/env python3
# remote-send and STARTTLS: the policies of ROOT/etc/tls-policy (may, none,
# encrypt, verify), certificate checks against TLS_CAFILE (trusted CA,
# untrusted, wrong name), the clear-text retry of "may", reports and log
# lines, cleartext injection after 220. The peer is a small STARTTLS SMTP
# server written here with Python's ssl module; when smtp-recv offers
# STARTTLS under tls-serve -S, a real pipemail peer is used too.
import atexit
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtls  # noqa: E402
from pmtest import TAP, BIN, Instance, free_port, wait_port, wait_for  # noqa: E402

t = TAP()
if not pmtls.have_openssl():
    t.skip_all('no openssl command')

root = tempfile.mkdtemp(prefix='rs62-')
atexit.register(shutil.rmtree, root, True)
os.makedirs(os.path.join(root, 'etc'))
ME = 'mx.example.test'
MX = 'mx.kate.test'
with open(os.path.join(root, 'etc/me'), 'w') as f:
    f.write(ME + '\n')
POLICY = os.path.join(root, 'etc/tls-policy')
D = os.path.join(root, 'pki')
os.makedirs(D)
ca = pmtls.TestCA(D, kind='ec')
GOOD = ca.issue(MX, 'ec')                     # trusted, right name
RSA = ca.issue('rsa.' + MX, 'rsa')            # trusted, RSA (name checked against rsa.mx...)
WRONG = ca.issue('other.test', 'ec')          # trusted, wrong name
WILD = ca.issue('*.kate.test', 'ec')          # trusted, wildcard
os.makedirs(os.path.join(D, 'self'))
SELF = pmtls.self_signed(os.path.join(D, 'self'), MX, 'ec')   # right name, untrusted
env = dict(os.environ, PIPEMAIL_ROOT=root, PATH=BIN + ':' + os.environ['PATH'], TLS_CAFILE=ca.cert)
env.pop('MXLIST', None)
RS = os.path.join(BIN, 'remote-send')
MSG = b'Subject: tls\n\nhello\n'
EHLO = ['250-peer.test hello', '250-PIPELINING', '250-SIZE 10000000', '250-8BITMIME']


class Session:
    def __init__(self):
        self.commands = []
        self.data = None
        self.tls = None        # (version, cipher) once TLS is up
        self.sni = None
        self.closed = threading.Event()


class TlsPeer:
    """SMTP server with STARTTLS. mode: 'ok'; 'refuse' (454 to STARTTLS);
    'badhs' (220, then garbage instead of a handshake); 'hang' (220, then
    silence); 'inject' (220 and a cleartext '250 injected' line in the same
    packet); 'drop' (close the connection at MAIL, inside TLS). offer: list
    STARTTLS. tls_ehlo: the EHLO reply lines after TLS. ciphers: OpenSSL's
    cipher list for TLS 1.2 (and no TLS 1.3)."""

    def __init__(self, cert=GOOD, offer=True, mode='ok', tls_ehlo=None, ciphers=None):
        self.offer, self.mode = offer, mode
        self.tls_ehlo = tls_ehlo or EHLO
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if cert:
            self.ctx.load_cert_chain(*cert)
        if ciphers:
            self.ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            self.ctx.set_ciphers(ciphers)
        self.sessions = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def session(self, i, timeout=10.0):
        if not wait_for(lambda: len(self.sessions) > i, timeout):
            return None
        self.sessions[i].closed.wait(timeout)
        return self.sessions[i]

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            s = Session()
            self.sessions.append(s)
            threading.Thread(target=self._serve, args=(c, s), daemon=True).start()

    def _serve(self, c, s):
        c.settimeout(20)
        try:
            self._talk(c, s)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass
            s.closed.set()

    def _talk(self, c, s):
        def send(lines):
            c.sendall(b''.join(ln.encode() + b'\r\n' for ln in lines))
        buf = b''
        send(['220 peer.test ESMTP'])
        while True:
            while b'\n' not in buf:
                b = c.recv(65536)
                if not b:
                    return
                buf += b
            line, buf = buf.split(b'\n', 1)
            line = line.rstrip(b'\r').decode('latin-1')
            s.commands.append(line)
            verb = line.split(' ', 1)[0].upper()
            if verb == 'EHLO':
                ext = self.tls_ehlo if s.tls else EHLO + (['250-STARTTLS'] if self.offer else [])
                send(ext[:-1] + ['250 ' + ext[-1][4:]])
            elif verb == 'STARTTLS' and not s.tls:
                if self.mode == 'refuse':
                    send(['454 4.7.0 TLS not available'])
                    continue
                if self.mode == 'badhs':
                    send(['220 2.0.0 go ahead', 'this is no handshake'])
                    c.recv(4096)
                    return
                if self.mode == 'hang':
                    send(['220 2.0.0 go ahead'])
                    while c.recv(4096):
                        pass
                    return
                send(['220 2.0.0 go ahead'] + (['250 injected'] if self.mode == 'inject' else []))

                def sni(sock, name, ctx):
                    s.sni = name
                self.ctx.sni_callback = sni
                c = self.ctx.wrap_socket(c, server_side=True)
                s.tls = (c.version(), c.cipher()[0])
                buf = b''
            elif verb == 'MAIL' and self.mode == 'drop':
                return
            elif verb in ('MAIL', 'RCPT', 'RSET'):
                send(['250 2.0.0 ok'])
            elif verb == 'DATA':
                send(['354 go ahead'])
                while b'\r\n.\r\n' not in b'\r\n' + buf:
                    b = c.recv(65536)
                    if not b:
                        return
                    buf += b
                i = (b'\r\n' + buf).find(b'\r\n.\r\n')
                s.data, buf = buf[:i + 3], buf[i + 3:]
                send(['250 2.0.0 queued'])
            elif verb == 'QUIT':
                send(['221 2.0.0 bye'])
                return
            else:
                send(['502 5.5.2 unknown command'])


def report(out):
    if out and not out.endswith(b'\0'):
        return None
    return [(chr(x[0]), x[1:].decode('utf-8', 'replace')) for x in out.split(b'\0')[:-1]]


def codes(rep):
    return ''.join(c for c, _ in rep or [])


def policy(text):
    if text is None:
        if os.path.exists(POLICY):
            os.unlink(POLICY)
    else:
        with open(POLICY, 'w') as f:
            f.write(text)


def send(port, mx=None, rcpts=('a@kate.test',), extra_env=None, opts=(), domain='kate.test'):
    e = dict(env)
    e['MXLIST'] = mx or '10 %s 127.0.0.1' % MX
    e.update(extra_env or {})
    e = {k: v for k, v in e.items() if v is not None}
    args = [RS, '-p', str(port), '-T', '20'] + list(opts) + [domain, 's@example.test'] + list(rcpts)
    r = subprocess.run(args, env=e, input=MSG, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode, report(r.stdout), r.stderr.decode(errors='replace')


def verbs(s):
    return [c.split(' ')[0].split(':')[0].upper() for c in s.commands] if s else None


def logline(err):
    return [ln for ln in err.splitlines() if 'remote-send: info:' in ln]


WIRE = b'Subject: tls\r\n\r\nhello\r\n.\r\n'

# -- may (the default) ---------------------------------------------------------
policy(None)
p = TlsPeer()
rc, rep, err = send(p.port)
s = p.session(0)
t.eq((rc, codes(rep)), (0, 'rK'), 'may, no policy file: delivered')
t.eq(verbs(s), ['EHLO', 'STARTTLS', 'EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT'], 'STARTTLS, then EHLO again, then the transaction')
t.eq((s.tls and s.tls[0], s.data), ('TLSv1.2', WIRE), 'the message went through TLS 1.2')
t.eq(s.sni, MX, 'SNI is the MX host name')
t.ok(s.tls and s.tls[1].startswith('ECDHE-ECDSA-') and 'GCM' in s.tls[1] or 'CHACHA' in (s.tls or ('', ''))[1],
     'an ECDHE+AEAD suite', s.tls)
log = logline(err)
t.ok(len(log) == 1 and ('domain=kate.test host=%s ip=127.0.0.1 tls=TLSv1.2 cipher=%s verified=yes status=sent'
                        % (MX, s.tls[1])) in log[0], 'log: tls=, cipher=, verified=yes before status=', err)

p = TlsPeer(cert=RSA)
rc, rep, err = send(p.port, mx='10 rsa.%s 127.0.0.1' % MX)
s = p.session(0)
t.ok(codes(rep) == 'rK' and s.tls and s.tls[1].startswith('ECDHE-RSA-') and 'verified=yes' in err,
     'an RSA certificate: ECDHE-RSA, verified', (rep, s.tls, err))

p = TlsPeer(cert=SELF)
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'rK' and p.session(0).tls, 'may: a self-signed certificate is used anyway', rep)
t.ok('verified=no verifyerr=BR_ERR_X509_NOT_TRUSTED status=sent' in err, 'log: verified=no and why', err)
p = TlsPeer(cert=WRONG)
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'rK' and 'verified=no verifyerr=BR_ERR_X509_BAD_SERVER_NAME' in err, 'may: wrong name: used, logged', err)

p = TlsPeer()
rc, rep, err = send(p.port, extra_env={'TLS_CAFILE': os.path.join(D, 'nonexistent')})
t.ok(codes(rep) == 'rK' and 'remote-send: warning: unable to read trust anchors from ' in err
     and 'verified=no verifyerr=BR_ERR_X509_NOT_TRUSTED' in err, 'may, unreadable TLS_CAFILE: warning, TLS all the same', err)

p = TlsPeer(mode='badhs')
rc, rep, err = send(p.port)
s0, s1 = p.session(0), p.session(1)
t.eq(codes(rep), 'rK', 'may, handshake fails: delivered')
t.eq((verbs(s0), verbs(s1)), (['EHLO', 'STARTTLS'], ['EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT']),
     'by a new connection without STARTTLS')
t.ok(s1 and s1.data == WIRE and not s1.tls, 'in clear text')
t.ok('remote-send: warning: TLS handshake failed with %s[127.0.0.1]: ' % MX in err
     and 'trying again without TLS' in err and 'tls=' not in logline(err)[0], 'warning logged; no tls= in the log line', err)

p = TlsPeer(mode='hang')
rc, rep, err = send(p.port, opts=('-T', '2'))
t.ok(codes(rep) == 'rK' and len(p.sessions) == 2 and 'failed with %s[127.0.0.1]: timeout' % MX in err,
     'may, handshake times out: clear-text retry', (rep, err))
p = TlsPeer(cert=RSA, ciphers='AES128-SHA:AES256-GCM-SHA384')
rc, rep, err = send(p.port, mx='10 rsa.%s 127.0.0.1' % MX)
t.ok(codes(rep) == 'rK' and not p.session(1).tls and 'failed with rsa.%s[127.0.0.1]: BR_ERR_' % MX in err,
     'may, a peer without ECDHE+AEAD suites: no common suite, clear-text retry', (rep, err))
p = TlsPeer(mode='drop')
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'sZ' and rep[-1][1] == '4.4.2 lost connection with %s[127.0.0.1] while waiting for the reply to '
     'MAIL FROM' % MX and len(p.sessions) == 1, 'connection lost inside TLS: deferred, no retry', rep)

p = TlsPeer(mode='refuse')
rc, rep, err = send(p.port)
t.eq((codes(rep), verbs(p.session(0))), ('rK', ['EHLO', 'STARTTLS', 'MAIL', 'RCPT', 'DATA', 'QUIT']),
     'may, STARTTLS refused (454): on in clear text, same connection')
p = TlsPeer(offer=False)
rc, rep, err = send(p.port)
t.eq((codes(rep), verbs(p.session(0))), ('rK', ['EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT']), 'may, no STARTTLS offered: clear text')

p = TlsPeer(mode='inject')
rc, rep, err = send(p.port)
t.eq((codes(rep), verbs(p.session(0))), ('rK', ['EHLO', 'STARTTLS', 'EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT']),
     'cleartext after 220 is dropped, not taken as the reply to the new EHLO')
p = TlsPeer(tls_ehlo=['250-peer.test', '250 SIZE 10'])
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'hD' and 'exceeds size limit 10' in rep[-1][1], 'the extensions of the EHLO after TLS are used', rep)

# -- none ------------------------------------------------------------------------
policy('# no TLS for kate\nkate.test none\n* verify\n')
p = TlsPeer()
rc, rep, err = send(p.port)
t.eq((codes(rep), verbs(p.session(0))), ('rK', ['EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT']), 'none: no STARTTLS though offered')

# -- encrypt -----------------------------------------------------------------------
policy('*   may\n.kate.test verify\nkate.test encrypt  # required\n')
p = TlsPeer(offer=False)
rc, rep, err = send(p.port)
t.eq((rc, codes(rep)), (0, 'sZ'), 'encrypt, STARTTLS not offered: deferred')
t.eq(rep[-1][1], '4.7.4 TLS is required, but was not offered by host %s[127.0.0.1]' % MX, 'reason')
t.eq(verbs(p.session(0)), ['EHLO', 'QUIT'], 'nothing sent')
t.ok('status=deferred' in err and 'tls=' not in err, 'logged deferred', err)
p = TlsPeer(mode='refuse')
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'sZ' and rep[-1][1] == '4.7.4 TLS is required, but host %s[127.0.0.1] refused to start TLS: '
     '454 4.7.0 TLS not available' % MX, 'encrypt, STARTTLS refused: deferred', rep)
p = TlsPeer(mode='badhs')
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'sZ' and rep[-1][1].startswith('4.7.5 TLS handshake failed with %s[127.0.0.1]: ' % MX)
     and len(p.sessions) == 1, 'encrypt, handshake fails: deferred, no clear-text retry', rep)
p = TlsPeer(cert=SELF)
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'rK' and p.session(0).data == WIRE and 'verified=no verifyerr=BR_ERR_X509_NOT_TRUSTED' in err,
     'encrypt, self-signed certificate: delivered, not verified', (rep, err))
q = TlsPeer(offer=False)
rc, rep, err = send(q.port, mx='10 %s 127.0.0.1\n10 %s 127.0.0.1' % (MX, MX))
t.ok(codes(rep) == 'sZ' and len(q.sessions) == 2, 'encrypt: every exchanger is tried', rep)

# -- verify ------------------------------------------------------------------------
policy('kate.test verify\n')
p = TlsPeer(cert=GOOD)
rc, rep, err = send(p.port)
s = p.session(0)
t.ok(codes(rep) == 'rK' and s.tls and s.data == WIRE, 'verify, certificate from the trusted CA, right name: delivered', rep)
t.ok('tls=TLSv1.2 cipher=' in err and 'verified=yes status=sent' in err, 'log: verified=yes', err)
p = TlsPeer(cert=SELF)
rc, rep, err = send(p.port)
t.eq((codes(rep), verbs(p.session(0))), ('sZ', ['EHLO', 'STARTTLS']), 'verify, untrusted certificate: deferred, nothing sent')
t.eq(rep[-1][1], '4.7.5 TLS certificate verification failed for %s[127.0.0.1]: BR_ERR_X509_NOT_TRUSTED '
     '(not signed by a trusted authority)' % MX, 'the reason says why')
p = TlsPeer(cert=WRONG)
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'sZ' and 'verification failed' in rep[-1][1] and 'BR_ERR_X509_BAD_SERVER_NAME' in rep[-1][1]
     and p.session(0).data is None, 'verify, wrong name: deferred, the reason says why', rep)
p = TlsPeer(cert=WILD)
rc, rep, err = send(p.port, mx='10 mx7.kate.test 127.0.0.1\n20 a.b.kate.test 127.0.0.1')
t.ok(codes(rep) == 'rK' and len(p.sessions) == 1, 'verify: *.kate.test matches mx7.kate.test', rep)
rc, rep, err = send(p.port, mx='10 a.b.kate.test 127.0.0.1')
t.ok(codes(rep) == 'sZ' and 'BR_ERR_X509_BAD_SERVER_NAME' in rep[-1][1], '... but not a.b.kate.test', rep)
p = TlsPeer(cert=GOOD)
rc, rep, err = send(p.port, mx='10 mx9.kate.test 127.0.0.1')
t.ok(codes(rep) == 'sZ' and 'BR_ERR_X509_BAD_SERVER_NAME' in rep[-1][1], 'the name checked is that of the MX host', rep)
rc, rep, err = send(p.port, extra_env={'TLS_CAFILE': None})
t.ok(codes(rep) == 'sZ' and 'BR_ERR_X509_NOT_TRUSTED' in rep[-1][1],
     'without TLS_CAFILE, the system bundle: the test CA is not in it', rep)
rc, rep, err = send(p.port, extra_env={'TLS_CAFILE': os.path.join(D, 'nonexistent')})
t.ok(codes(rep) == 'sZ' and rep[-1][1].startswith('4.7.5 unable to read trust anchors from ') and len(p.sessions) == 2,
     'verify, unreadable TLS_CAFILE: deferred without connecting', rep)
p = TlsPeer(offer=False)
rc, rep, err = send(p.port, mx='10 a.kate.test 127.0.0.1\n20 b.kate.test 127.0.0.1')
t.ok(codes(rep) == 'sZ' and 'not offered by host b.kate.test' in rep[-1][1] and len(p.sessions) == 2,
     'verify, no STARTTLS at any MX: deferred with the last reason', rep)
pg = TlsPeer(cert=GOOD)
rc, rep, err = send(pg.port, opts=('-r', '127.0.0.1:%d' % pg.port))
t.ok(codes(rep) == 'sZ' and 'needs a host name' in rep[-1][1] and not pg.sessions,
     'verify with a route by address: deferred (no name to check)', rep)

# -- the policy file ---------------------------------------------------------------
policy('kate.test sometimes\n')
p = TlsPeer()
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'sZ' and rep[-1][1].startswith('4.3.5 unable to use ') and 'tls-policy line 1: unknown policy' in rep[-1][1]
     and not p.sessions, 'a malformed policy file defers, with the line', rep)
policy('x.test may\n.kate.test encrypt\n')
p = TlsPeer(offer=False)
rc, rep, err = send(p.port, domain='sub.kate.test')
t.ok(codes(rep) == 'sZ' and '4.7.4' in rep[-1][1], '".kate.test" covers sub.kate.test', rep)
rc, rep, err = send(p.port, domain='kate.test')
t.eq(codes(rep), 'rK', '".kate.test" does not cover kate.test itself (default may)')

# -- a real peer: tcp-serve + tls-serve -S + smtp-recv -------------------------------
inst = Instance(domains=('kate.test',), users={'a@kate.test': 'pw'}, me=MX)
inst.start_queue()


def real_peer(cert, tls=True):
    port = free_port()
    args = ['tcp-serve', '127.0.0.1', str(port)] + (['tls-serve', '-S'] if tls else []) + ['smtp-recv']
    inst.spawn(args, env={'CERTFILE': cert[0], 'KEYFILE': cert[1]} if tls else {})
    return port if wait_port(port) else None


def offers_starttls(port):
    s = socket.create_connection(('127.0.0.1', port), 10)
    s.settimeout(10)
    f = s.makefile('rb')
    f.readline()
    s.sendall(b'EHLO probe.test\r\n')
    lines = []
    while True:
        ln = f.readline()
        lines.append(ln)
        if not ln or ln[3:4] != b'-':
            break
    s.sendall(b'QUIT\r\n')
    s.close()
    return any(b'STARTTLS' in ln for ln in lines)


def esmtps(n):
    """How many of the first n mails of a@kate.test came in by ESMTPS (None: fewer mails)."""
    m = inst.wait_mails('a@kate.test', n, timeout=20)
    if len(m) < n:
        return None
    return sum(b'ESMTPS' in x.split(b'\n\n', 1)[0] for x in m)


good, selfp, wrong, plain = real_peer(GOOD), real_peer(SELF), real_peer(WRONG), real_peer(GOOD, tls=False)
if not all((good, selfp, wrong, plain)):
    t.ok(False, 'real peers started')
elif not offers_starttls(good):
    t.skip('real peer: smtp-recv under tls-serve -S', 'smtp-recv does not offer STARTTLS yet')
else:
    policy(None)
    rc, rep, err = send(good)
    t.ok(codes(rep) == 'rK' and 'tls=TLSv1.2 cipher=ECDHE-ECDSA-' in err and 'verified=yes status=sent' in err,
         'real peer, may: delivered through TLS, verified', (rep, err))
    t.eq(esmtps(1), 1, 'smtp-recv saw TLS (ESMTPS)')
    policy('kate.test none\n')
    rc, rep, err = send(good)
    t.ok(codes(rep) == 'rK' and 'tls=' not in err and esmtps(2) == 1, 'real peer, none: clear text', (rep, err))
    policy('kate.test encrypt\n')
    rc, rep, err = send(plain)
    t.ok(codes(rep) == 'sZ' and rep[-1][1].startswith('4.7.4 TLS is required, but was not offered'),
         'real peer without tls-serve, encrypt: deferred', rep)
    rc, rep, err = send(selfp)
    t.ok(codes(rep) == 'rK' and 'verified=no verifyerr=BR_ERR_X509_NOT_TRUSTED' in err, 'real peer, encrypt, self-signed: delivered', err)
    policy('kate.test verify\n')
    rc, rep, err = send(good)
    t.ok(codes(rep) == 'rK' and 'verified=yes status=sent' in err, 'real peer, verify: delivered', (rep, err))
    rc, rep, err = send(selfp)
    t.ok(codes(rep) == 'sZ' and 'verification failed' in rep[-1][1] and 'BR_ERR_X509_NOT_TRUSTED' in rep[-1][1],
         'real peer, verify, self-signed: deferred, says why', rep)
    rc, rep, err = send(wrong)
    t.ok(codes(rep) == 'sZ' and 'BR_ERR_X509_BAD_SERVER_NAME' in rep[-1][1], 'real peer, verify, wrong name: deferred, says why', rep)
    t.ok(wait_for(lambda: len(inst.mails('a@kate.test')) == 4, 20) and len(inst.mails('a@kate.test')) == 4,
         'four messages delivered in all, none from the deferred sessions')
