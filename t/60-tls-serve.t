#!/usr/bin/env python3
# tls-serve under tcp-serve: implicit TLS with RSA and ECDSA certificates,
# SNI, the protocol profile, bad clients (garbage, stalls, truncation),
# STARTTLS over UCSPI-TLS (no cleartext injection), and the key kept away
# from the protocol program.
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtls
from pmtest import Instance, wait_for, wait_port, free_port

t = pmtls.tap_needing('tcp-serve')

inst = Instance(users={})
D = tempfile.mkdtemp(prefix='pm-tls-', dir=inst.root)
OUT = os.path.join(D, 'out')
os.makedirs(OUT)

ca = pmtls.TestCA(D)
RSA = ca.issue('default.test', 'rsa')
EC = ca.issue('ec.test', 'ec', keyformat='traditional')
WILD = ca.issue('*.wild.test', 'ec')
MAIL = ca.issue('mail.test', 'rsa', keyformat='traditional')

# -- programs run by tls-serve ------------------------------------------------
# prog-env: first line is JSON (env, pid, ppid); then echoes lines; at EOF it
# leaves a file OUT/eof-PID.
ENVPROG = os.path.join(D, 'prog-env')
with open(ENVPROG, 'w') as f:
    f.write(r'''#!/usr/bin/env python3
import json, os, sys
out = os.environ['T_OUT']
keys = ('SSL_PROTOCOL', 'SSL_CIPHER', 'SSL_TLS_SNI_SERVERNAME', 'SSLCTLFD', 'SSLREADFD', 'SSLWRITEFD')
env = {k: os.environ[k] for k in keys if k in os.environ}
env['tls_vars'] = sorted(k for k in os.environ if k.startswith(('KEYFILE', 'CERTFILE', 'TLS_')))
sys.stdout.write(json.dumps({'env': env, 'pid': os.getpid(), 'ppid': os.getppid()}) + '\n')
sys.stdout.flush()
for line in sys.stdin:
    if line.strip() == 'QUIT':
        break
    sys.stdout.write('echo ' + line)
    sys.stdout.flush()
else:
    open(os.path.join(out, 'eof-%d' % os.getpid()), 'w').close()
''')

# prog-starttls: a line protocol with STARTTLS over UCSPI-TLS. It reads its
# cleartext byte by byte (so nothing after the STARTTLS line is consumed),
# and logs every line it sees, with the phase, to OUT/starttls-PID.
STPROG = os.path.join(D, 'prog-starttls')
with open(STPROG, 'w') as f:
    f.write(r'''#!/usr/bin/env python3
import json, os, sys, time
out = os.environ['T_OUT']
mode = os.environ.get('T_MODE', 'Y').encode()
log = open(os.path.join(out, 'starttls-%d' % os.getpid()), 'w')
ctl, rfd, wfd = (int(os.environ[k]) for k in ('SSLCTLFD', 'SSLREADFD', 'SSLWRITEFD'))
def line(fd):
    b = b''
    while not b.endswith(b'\n'):
        c = os.read(fd, 1)
        if not c:
            return None
        b += c
    return b
def put(fd, s):
    os.write(fd, s.encode() if isinstance(s, str) else s)
inp, outp, phase, info = 0, 1, 'clear', {}
put(1, '220 ready pid=%d\r\n' % os.getpid())
while True:
    l = line(inp)
    if l is None:
        log.write('%s EOF\n' % phase); break
    cmd = l.strip().decode(errors='replace')
    log.write('%s %s\n' % (phase, cmd)); log.flush()
    if cmd == 'STARTTLS' and phase == 'clear':
        put(outp, '220 go ahead\r\n')
        time.sleep(float(os.environ.get('T_DELAY', '0')))
        put(ctl, mode)
        if mode == b'Y':
            b = b''
            while not b.endswith(b'\0\0') and b != b'\0':
                c = os.read(ctl, 4096)
                if not c:
                    break
                b += c
            info = dict(v.split('=', 1) for v in b.decode().split('\0') if '=' in v)
            info['raw'] = repr(b)
        inp, outp, phase = rfd, wfd, 'tls'
        continue
    if cmd == 'QUIT':
        put(outp, '221 bye\r\n'); break
    if cmd == 'ENV':
        put(outp, '250 ' + json.dumps(info) + '\r\n'); continue
    put(outp, '250 ' + cmd + '\r\n')
log.close()
''')
for p in (ENVPROG, STPROG):
    os.chmod(p, 0o755)

BASEENV = {'T_OUT': OUT, 'CERTFILE': RSA[0], 'KEYFILE': RSA[1],
           'CERTFILE:ec.test': EC[0], 'KEYFILE:ec.test': EC[1],
           'CERTFILE:*.wild.test': WILD[0], 'KEYFILE:*.wild.test': WILD[1],
           'CERTFILE:mail.test': MAIL[0], 'KEYFILE:mail.test': MAIL[1]}


def serve(prog, opts=(), env=None):
    """tcp-serve 127.0.0.1 PORT tls-serve OPTS PROG; returns (port, proc)."""
    port = free_port()
    e = dict(BASEENV)
    e.update(env or {})
    p = inst.spawn(['tcp-serve', '127.0.0.1', str(port), 'tls-serve'] + list(opts) + list(prog), env=e)
    if not wait_port(port):
        raise RuntimeError('tcp-serve did not start: ' + inst.log(p))
    if '-S' not in opts:   # wait_port's connection, so that it does not mix with the tests'
        wait_for(lambda: 'error=1025 (eof)' in inst.log(p))
    return port, p


def ctx(**kw):
    kw.setdefault('cafile', ca.cert)
    return pmtls.client_context(**kw)


def tls_connect(port, name=None, **kw):
    s = socket.create_connection(('127.0.0.1', port), 10)
    return ctx(**kw).wrap_socket(s, server_hostname=name)


def readline(s):
    b = b''
    while not b.endswith(b'\n'):
        c = s.recv(1)
        if not c:
            break
        b += c
    return b


def hello(s):
    return json.loads(readline(s).decode())


def logwait(p, needle, timeout=10, mark=0):
    """Wait for needle in p's log after offset mark."""
    return wait_for(lambda: needle in inst.log(p)[mark:], timeout)


# -- implicit TLS: openssl s_client, RSA and ECDSA ---------------------------
port, srv = serve([ENVPROG])
ecport, ecsrv = serve([ENVPROG], env={'CERTFILE': EC[0], 'KEYFILE': EC[1]})


def s_client(port, name, extra=()):
    r = subprocess.run(['openssl', 's_client', '-connect', '127.0.0.1:%d' % port, '-servername', name,
                        '-CAfile', ca.cert, '-verify_return_error', '-quiet'] + list(extra),
                       input=b'hello there\nQUIT\n', stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=20)
    out = r.stdout.decode(errors='replace')
    first = out.split('\n', 1)[0]
    try:
        return r.returncode, json.loads(first), out
    except ValueError:
        return r.returncode, None, out + r.stderr.decode(errors='replace')


rc, j, out = s_client(port, 'default.test')
t.ok(j is not None and 'echo hello there' in out, 's_client, RSA certificate: verified, data echoed', out)
env = (j or {}).get('env', {})
t.eq((env.get('SSL_PROTOCOL'), env.get('SSL_CIPHER'), env.get('SSL_TLS_SNI_SERVERNAME')),
     ('TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256', 'default.test'), 'RSA: SSL_* variables seen by prog')
t.eq(env.get('tls_vars'), [], 'no KEYFILE*, CERTFILE*, TLS_* in prog environment')
t.ok(logwait(srv, 'tls=ok protocol=TLSv1.2 cipher=ECDHE-RSA-AES128-GCM-SHA256 sni=default.test cert=default'),
     'handshake logged with protocol, cipher, SNI', inst.log(srv))

rc, j, out = s_client(ecport, 'ec.test')
env = (j or {}).get('env', {})
t.eq((env.get('SSL_PROTOCOL'), env.get('SSL_CIPHER')), ('TLSv1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256'),
     's_client, ECDSA P-256 default certificate (SEC1 key file)')

# -- SNI ------------------------------------------------------------------------
for name, cn, label in ((None, 'default.test', 'no SNI: default certificate'),
                        ('mail.test', 'mail.test', 'SNI mail.test: its RSA certificate'),
                        ('ec.test', 'ec.test', 'SNI ec.test: its ECDSA certificate'),
                        ('x.wild.test', '*.wild.test', 'SNI x.wild.test: the *.wild.test certificate'),
                        ('other.test', 'default.test', 'unknown SNI name: default certificate')):
    s = tls_connect(port, name, verify=False)
    j = hello(s)
    got = pmtls.peer_cn(s)
    t.eq(got, cn, label)
    s.sendall(b'QUIT\n')
    s.close()
    if name is None:
        t.ok('SSL_TLS_SNI_SERVERNAME' not in j['env'], 'no SNI: SSL_TLS_SNI_SERVERNAME unset')
s = tls_connect(port, 'Mail.Test', verify=False)
t.eq((pmtls.peer_cn(s), hello(s)['env'].get('SSL_TLS_SNI_SERVERNAME', '').lower()), ('mail.test', 'mail.test'),
     'SNI matched case-insensitively')
s.close()
s = tls_connect(port, 'x.wild.test')
t.ok(s.version() == 'TLSv1.2', 'wildcard certificate verifies for x.wild.test')
s.close()

# -- profile: TLS 1.2, ECDHE + AEAD only ---------------------------------------
for cipher in ('ECDHE-RSA-CHACHA20-POLY1305', 'ECDHE-RSA-AES256-GCM-SHA384'):
    s = tls_connect(port, 'default.test', ciphers=cipher)
    t.eq(hello(s)['env'].get('SSL_CIPHER'), cipher, 'suite %s accepted' % cipher)
    s.close()
for cipher in ('AES128-GCM-SHA256', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA256'):
    try:
        s = tls_connect(port, 'default.test', ciphers=cipher, maximum=ssl.TLSVersion.TLSv1_2)
        t.ok(False, 'suite %s refused' % cipher)
        s.close()
    except (ssl.SSLError, OSError):
        t.ok(True, 'suite %s refused' % cipher)

n0 = inst.log(srv).count('tls=fail')
try:
    s = tls_connect(port, 'default.test', verify=False, minimum=ssl.TLSVersion.TLSv1_1,
                    maximum=ssl.TLSVersion.TLSv1_1, ciphers='DEFAULT:@SECLEVEL=0')
    t.ok(False, 'TLS 1.1 refused', s.version())
    s.close()
except (ssl.SSLError, OSError) as e:
    t.ok(True, 'TLS 1.1 refused (%s)' % e.__class__.__name__)
t.ok(wait_for(lambda: 'stage=handshake error=3 (BR_ERR_UNSUPPORTED_VERSION)' in inst.log(srv)
              or inst.log(srv).count('tls=fail') > n0),
     'TLS 1.1 attempt logged', inst.log(srv)[-800:])


# -- bad clients ----------------------------------------------------------------
def progs_started():
    return len([n for n in os.listdir(OUT) if n.startswith('eof-')])


def raw(port, data=b'', close_after=None, wait=10.0):
    """Send data on a plain socket; (bytes received, seconds until the server closed)."""
    s = socket.create_connection(('127.0.0.1', port), 10)
    start = time.time()
    if data:
        s.sendall(data)
    if close_after is not None:
        time.sleep(close_after)
        s.close()
        return b'', 0
    s.settimeout(wait)
    got = b''
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return got, time.time() - start


bport, bsrv = serve([ENVPROG], opts=['-t', '2', '-T', '2'])
progs0 = progs_started()
mark = len(inst.log(bsrv))
got, dt = raw(bport, b'GET / HTTP/1.0\r\n\r\n')
t.ok(logwait(bsrv, 'tls=fail stage=handshake error=', mark=mark), 'garbage instead of ClientHello: logged',
     inst.log(bsrv))
line = [l for l in inst.log(bsrv)[mark:].splitlines() if 'tls=fail' in l][-1:]
t.ok(line and '(BR_ERR_' in line[0] and line[0].startswith('tls-serve: info: '),
     'the log line names the BearSSL error: %s' % (line[0] if line else ''))
t.ok(dt < 2, 'connection dropped at once')

got, dt = raw(bport)
t.ok(1.5 < dt < 6, 'silent client dropped after the handshake timeout (%.1fs)' % dt)
t.ok(logwait(bsrv, 'error=1024 (timeout)'), 'stall logged as error=1024 (timeout)')

# a real ClientHello, cut short
hello_bytes = []


def capture_hello():
    """The first bytes a Python client sends: a ClientHello."""
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(1)
    p = ls.getsockname()[1]

    def client():
        try:
            tls_connect(p, 'default.test', verify=False).close()
        except (OSError, ssl.SSLError):
            pass
    th = threading.Thread(target=client)
    th.start()
    c, _ = ls.accept()
    c.settimeout(5)
    data = c.recv(65536)
    c.close()
    ls.close()
    th.join()
    return data


ch = capture_hello()
t.ok(ch[:1] == b'\x16' and len(ch) > 60, 'captured a ClientHello (%d bytes)' % len(ch))
got, dt = raw(bport, ch[:40])
t.ok(1.5 < dt < 6, 'stall in the middle of the ClientHello: dropped after the timeout (%.1fs)' % dt)
n0 = inst.log(bsrv).count('error=1026 (truncated)')
raw(bport, ch[:40], close_after=0.2)
t.ok(wait_for(lambda: inst.log(bsrv).count('error=1026 (truncated)') > n0),
     'close in the middle of the ClientHello: error=1026 (truncated)')
mark = len(inst.log(bsrv))
raw(bport, b'', close_after=0.1)
t.ok(logwait(bsrv, 'error=1025 (eof)', mark=mark), 'connect and close: error=1025 (eof)')
t.eq(inst.log(bsrv).count('tls=ok'), 0, 'no handshake, so prog never ran for any of them')
t.eq(progs_started(), progs0, 'no prog ran')

# close in the middle of a record, after the handshake: prog gets EOF
s = tls_connect(bport, 'default.test')
pid = hello(s)['pid']
rawfd = socket.socket(fileno=os.dup(s.fileno()))
rawfd.sendall(b'\x17\x03\x03\x00\x40' + b'x' * 10)
rawfd.close()
s.close()
t.ok(wait_for(lambda: os.path.exists(os.path.join(OUT, 'eof-%d' % pid))), 'close mid-record: prog got EOF')
t.ok(logwait(bsrv, 'tls=fail stage=session error=1026 (truncated)'), 'close mid-record logged', inst.log(bsrv))

# a forged record (bad MAC) after the handshake
s = tls_connect(bport, 'default.test')
pid = hello(s)['pid']
rawfd = socket.socket(fileno=os.dup(s.fileno()))
rawfd.sendall(b'\x17\x03\x03\x00\x30' + b'\x01' * 0x30)
rawfd.close()
t.ok(wait_for(lambda: os.path.exists(os.path.join(OUT, 'eof-%d' % pid))), 'forged record: prog got EOF')
t.ok(logwait(bsrv, 'stage=session error=7 (BR_ERR_BAD_MAC)'), 'forged record logged as BR_ERR_BAD_MAC')
s.close()

# idle timeout after the handshake
s = tls_connect(bport, 'default.test')
pid = hello(s)['pid']
start = time.time()
s.settimeout(10)
try:
    r = s.recv(100)
except (ssl.SSLError, OSError):
    r = b''
dt = time.time() - start
t.ok(r == b'' and 1.5 < dt < 6, 'idle session closed after -T 2 (%.1fs)' % dt)
t.ok(wait_for(lambda: os.path.exists(os.path.join(OUT, 'eof-%d' % pid))), 'idle: prog got EOF')
s.close()

# -- bulk data both ways through the pump --------------------------------------
# (openssl s_client, full duplex in one thread; prog echoes, then exits)
SIZE = 3 * 1024 * 1024 + 17
cport, csrv = serve(['head', '-c', str(SIZE)])
blobfile = os.path.join(D, 'blob')
with open(blobfile, 'wb') as f:
    f.write(os.urandom(SIZE))
with open(blobfile, 'rb') as f:
    r = subprocess.run(['openssl', 's_client', '-connect', '127.0.0.1:%d' % cport, '-servername', 'default.test',
                        '-CAfile', ca.cert, '-quiet'], stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
t.ok(r.stdout == open(blobfile, 'rb').read(), '3 MB echoed intact (%d bytes back), then the session ends'
     % len(r.stdout))

# prog ends first: close_notify, then the connection closes
qport, qsrv = serve(['sh', '-c', 'echo bye; exit 0'])
s = tls_connect(qport, 'default.test')
s.settimeout(10)
data = b''
try:
    while True:
        b = s.recv(100)
        if not b:
            break
        data += b
    clean = True
except ssl.SSLEOFError:
    clean = False
t.ok(data == b'bye\n' and clean, 'prog exits: its output, then close_notify (clean TLS EOF)')
s.close()

# -- STARTTLS (-S) --------------------------------------------------------------
def starttls_session(port, extra=b'INJECTED\r\n', name='mail.test', after=b'ENV\r\n'):
    s = socket.create_connection(('127.0.0.1', port), 10)
    greet = readline(s)
    s.sendall(b'STARTTLS\r\n' + extra)
    go = readline(s)
    ts = ctx().wrap_socket(s, server_hostname=name)
    ts.sendall(after)
    reply = readline(ts)
    ts.sendall(b'QUIT\r\n')
    bye = readline(ts)
    ts.close()
    return greet, go, reply, bye, ts


def prog_log(greet):
    pid = int(greet.split(b'pid=')[1])
    path = os.path.join(OUT, 'starttls-%d' % pid)
    wait_for(lambda: os.path.exists(path) and open(path).read().rstrip().endswith(('QUIT', 'EOF')))
    with open(path) as f:
        return [l.split(' ', 1) for l in f.read().splitlines()]


sport, ssrv = serve([STPROG], opts=['-S', '-t', '5'])
greet, go, reply, bye, ts = starttls_session(sport)
t.ok(greet.startswith(b'220 ready') and go == b'220 go ahead\r\n', 'STARTTLS: cleartext relayed both ways')
info = json.loads(reply[4:]) if reply.startswith(b'250 {') else {}
t.eq((info.get('SSL_PROTOCOL'), info.get('SSL_CIPHER'), info.get('SSL_TLS_SNI_SERVERNAME')),
     ('TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256', 'mail.test'), "'Y' answered with the SSL_* variables")
t.ok(info.get('raw', '').endswith("\\x00\\x00'"), "'Y' answer ends with \\0\\0", info.get('raw'))
t.eq(bye, b'221 bye\r\n', 'QUIT through TLS')
lines = prog_log(greet)
t.eq([l for l in lines if l[0] == 'tls'], [['tls', 'ENV'], ['tls', 'QUIT']],
     'INJECTED (sent with STARTTLS in one packet) never reaches prog through TLS')
t.ok(logwait(ssrv, 'starttls cmd=Y discarded='), 'STARTTLS logged', inst.log(ssrv))
t.ok(logwait(ssrv, 'cert=mail.test'), 'SNI chose the mail.test certificate after STARTTLS')

# 'y', and prog slow to send it: the ClientHello arrives first and must wait
dport, dsrv = serve([STPROG], opts=['-S', '-t', '5'], env={'T_MODE': 'y', 'T_DELAY': '0.5'})
greet, go, reply, bye, ts = starttls_session(dport, extra=b'')
t.eq((reply, bye), (b'250 {}\r\n', b'221 bye\r\n'), "'y' with the ClientHello before prog's 'y': handshake ok")
t.eq([l for l in prog_log(greet) if l[0] == 'tls'], [['tls', 'ENV'], ['tls', 'QUIT']], "'y': prog talks through the fds")
t.ok(logwait(dsrv, 'starttls cmd=y discarded=0 early=') and 'early=0 ' not in inst.log(dsrv),
     'the early ClientHello was held for the engine, not relayed as cleartext', inst.log(dsrv))

# no STARTTLS at all: a plain relayed session
s = socket.create_connection(('127.0.0.1', sport), 10)
greet = readline(s)
s.sendall(b'NOOP\r\nQUIT\r\n')
t.eq((readline(s), readline(s)), (b'250 NOOP\r\n', b'221 bye\r\n'), 'no STARTTLS: plain relay, pipelined lines')
s.settimeout(5)
t.eq(s.recv(10), b'', 'prog exits: connection closed')
s.close()

# idle in cleartext
tport, tsrv = serve([STPROG], opts=['-S', '-T', '2'])
s = socket.create_connection(('127.0.0.1', tport), 10)
readline(s)
start = time.time()
s.settimeout(10)
t.eq(s.recv(10), b'', 'STARTTLS mode: idle cleartext session closed (-T 2)')
t.ok(1.5 < time.time() - start < 6 and logwait(tsrv, 'tls=fail stage=cleartext error=1024 (timeout)'),
     'cleartext idle timeout logged')
s.close()

# a failed handshake after STARTTLS: prog gets EOF on SSLREADFD
s = socket.create_connection(('127.0.0.1', sport), 10)
greet = readline(s)
s.sendall(b'STARTTLS\r\n')
readline(s)
s.sendall(b'\x16\x03\x01\x00\x05hello')
s.settimeout(5)
try:
    while s.recv(100):
        pass
except OSError:
    pass
s.close()
t.eq(prog_log(greet)[-1], ['tls', 'EOF'], 'STARTTLS handshake failure: prog reads EOF after y')
t.ok(logwait(ssrv, 'tls=fail stage=handshake'), 'STARTTLS handshake failure logged')

# -- the key stays with tls-serve -----------------------------------------------
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


keyfiles = {os.path.realpath(p) for p in (RSA[1], EC[1], WILD[1], MAIL[1], RSA[0])}
uid_env = {'TLS_UID': '65534', 'TLS_GID': '65534'} if os.geteuid() == 0 else {}
iport, isrv = serve([ENVPROG], env=uid_env)
iport2, isrv2 = serve([STPROG], opts=['-S'], env=uid_env)
s = tls_connect(iport, 'default.test')
pid = hello(s)['pid']
s2 = socket.create_connection(('127.0.0.1', iport2), 10)
pid2 = int(readline(s2).split(b'pid=')[1])
for p, label in ((pid, 'implicit'), (pid2, 'STARTTLS')):
    environ, links, ppid = inspect(p)
    t.ok(not [v for v in environ if v.startswith((b'KEYFILE', b'CERTFILE', b'TLS_UID', b'TLS_GID'))],
         '%s: /proc/PID/environ of prog has no KEYFILE*/CERTFILE*/TLS_*' % label)
    t.ok(not [l for l in links if l in keyfiles], '%s: no fd of prog on a key or certificate file' % label, links)
    # (tcp-serve runs tls-serve's code without exec: its name, not its exe)
    comm = open('/proc/%d/comm' % ppid).read().strip()
    t.eq(comm, 'tls-serve', '%s: prog is a child of tls-serve' % label)
    netsock = os.readlink('/proc/%d/fd/0' % ppid)
    t.ok(netsock.startswith('socket:') and netsock not in links,
         '%s: prog holds no fd on the network socket' % label, links)
    if label == 'STARTTLS':
        fd01 = [os.readlink('/proc/%d/fd/%d' % (p, i)) for i in (0, 1)]
        t.ok(all(l.startswith('pipe:') for l in fd01), 'STARTTLS: prog fd 0 and 1 are pipes, not the socket', fd01)
    if uid_env:
        uid = lambda q: int([l for l in open('/proc/%d/status' % q) if l.startswith('Uid:')][0].split()[1])
        t.eq((uid(ppid), uid(p)), (65534, os.geteuid()), '%s: TLS_UID drops the engine, not prog' % label)
# tcp-serve runs tls-serve's code without exec, but never in a worker: a
# process of its own per connection, whose parent is tcp-serve
s3 = tls_connect(iport, 'default.test')
engines = [inspect(q)[2] for q in (pid, hello(s3)['pid'])]
parents = [int([l for l in open('/proc/%d/status' % e) if l.startswith('PPid:')][0].split()[1]) for e in engines]
t.ok(engines[0] != engines[1] and parents == [isrv.pid, isrv.pid],
     'a tls-serve process per connection, each a child of tcp-serve', (engines, parents, isrv.pid))
s3.close()
s.close()
s2.close()

# -- keys loaded once by tcp-serve: renewed on disk, used at once ---------------
# tcp-serve decodes the keys at start and again when a file changes (its
# stat), and its children inherit them: a certificate replaced on disk is
# served by the next connection, without a restart.
def leaf_der(pair):
    with open(pair[0][:-4] + '.leaf') as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def served_der(port):
    try:
        s = tls_connect(port, None, verify=False)
    except (OSError, ssl.SSLError):
        return None
    der = s.getpeercert(binary_form=True)
    s.close()
    return der


def install(pair, dest, inplace):
    for src, dst in zip(pair, dest):
        with open(src, 'rb') as f:
            data = f.read()
        tmp = dst if inplace else dst + '.new'
        with open(tmp, 'wb') as f:
            f.write(data)
        if not inplace:
            os.replace(tmp, dst)


RD = os.path.join(D, 'renew')
os.makedirs(RD)
RPAIR = (os.path.join(RD, 'cert.pem'), os.path.join(RD, 'key.pem'))
install(EC, RPAIR, False)
rport, rsrv = serve(['true'], env={'CERTFILE': RPAIR[0], 'KEYFILE': RPAIR[1]})
t.ok(served_der(rport) == leaf_der(EC), 'keys loaded by tcp-serve: its certificate served')
install(WILD, RPAIR, False)
t.ok(served_der(rport) == leaf_der(WILD), 'certificate and key renamed into place: the next connection has the new one')
install(MAIL, RPAIR, True)
t.ok(served_der(rport) == leaf_der(MAIL), 'certificate and key rewritten in place (RSA now): the next connection has it')
mark = len(inst.log(rsrv))
install((EC[0], MAIL[1]), RPAIR, False)
t.ok(served_der(rport) is None and logwait(rsrv, 'does not match', mark=mark),
     'a key of another certificate put in place: refused, says why')
install(EC, RPAIR, False)
t.ok(served_der(rport) == leaf_der(EC) and rsrv.poll() is None, 'the matching key back: served again, same tcp-serve')


# Each connection's engine is re-seeded: the ServerHello randoms of two
# connections (children of one tcp-serve, which seeded the generator) differ.
def server_random(port):
    r = subprocess.run(['openssl', 's_client', '-connect', '127.0.0.1:%d' % port, '-msg'],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20)
    out = r.stdout.decode(errors='replace').split('ServerHello\n', 1)
    return ''.join(out[1].split('\n')[:3]).split()[6:38] if len(out) == 2 else None


randoms = [server_random(rport) for _ in range(2)]
t.ok(randoms[0] and len(randoms[0]) == 32 and randoms[0] != randoms[1], 'two connections, two server randoms', randoms)

# -- tls-serve alone on a socketpair: exit codes and configuration errors -------
def direct(prog, env, client=True, name='default.test'):
    a, b = socket.socketpair()
    e = dict(inst.env)
    e.update(env)
    p = subprocess.Popen(['tls-serve'] + prog, stdin=b, stdout=b, stderr=subprocess.PIPE, env=e)
    b.close()
    out = b''
    if client:
        try:
            ts = ctx().wrap_socket(a, server_hostname=name)
            ts.settimeout(10)
            while True:
                c = ts.recv(100)
                if not c:
                    break
                out += c
        except (ssl.SSLError, OSError):
            pass
    a.close()
    err = p.stderr.read().decode(errors='replace')
    return p.wait(20), out, err


rc, out, err = direct(['sh', '-c', 'echo x; exit 7'], {'CERTFILE': RSA[0], 'KEYFILE': RSA[1]})
t.eq((rc, out), (7, b'x\n'), "exit code is prog's (7)")
rc, out, err = direct(['true'], {}, client=False)
t.ok(rc == 100 and 'KEYFILE and CERTFILE must be set' in err, 'no KEYFILE: exit 100', err)
rc, out, err = direct(['true'], {'CERTFILE': RSA[0], 'KEYFILE': os.path.join(D, 'nope')}, client=False)
t.ok(rc == 111 and 'unable to load' in err, 'unreadable key: exit 111', err)
rc, out, err = direct(['true'], {'CERTFILE': RSA[0], 'KEYFILE': EC[1]}, client=False)
t.ok(rc == 111 and 'does not match' in err, 'key of another certificate: exit 111, says so', err)
# An EC key of the right curve but another certificate is found out by the
# handshake (its point is not computed at each load): the client refuses the
# signature, tls-serve says why, prog does not run.
rc, out, err = direct(['sh', '-c', 'echo ran'], {'CERTFILE': EC[0], 'KEYFILE': WILD[1]}, name='ec.test')
t.ok(rc == 100 and out == b'' and 'does not match' in err and 'tls=fail stage=handshake' in err,
     'EC key of another certificate, same curve: handshake refused, says so, prog not run', (rc, out, err))
rc, out, err = direct(['sh', '-c', 'echo ran'], {'CERTFILE': EC[0], 'KEYFILE': EC[1]}, name='ec.test')
t.ok(rc == 0 and out == b'ran\n' and 'does not match' not in err, 'its own key: served, no such line', (rc, out, err))
enc = os.path.join(D, 'enc.key')
subprocess.run(['openssl', 'pkey', '-in', RSA[1], '-aes128', '-passout', 'pass:x', '-out', enc], check=True)
rc, out, err = direct(['true'], {'CERTFILE': RSA[0], 'KEYFILE': enc}, client=False)
t.ok(rc == 111 and 'encrypted' in err, 'encrypted key: refused with a reason', err)
rc, out, err = direct(['true'], {'CERTFILE': RSA[1], 'KEYFILE': RSA[1]}, client=False)
t.ok(rc == 111 and 'no certificate' in err, 'no certificate in CERTFILE: says so', err)
rc, out, err = direct(['true'], {'CERTFILE': RSA[0], 'KEYFILE': RSA[1], 'KEYFILE:a.test': RSA[1]}, client=False)
t.ok(rc == 111 and 'CERTFILE:a.test' in err, 'KEYFILE:name without CERTFILE:name: exit 111', err)
rc, out, err = direct(['true'], {'CERTFILE': RSA[0], 'KEYFILE': RSA[1]}, client=False)
t.eq(rc, 100, 'client leaves before the handshake: exit 100, prog not run')
r = subprocess.run(['tls-serve'], stderr=subprocess.PIPE, env=inst.env)
t.ok(r.returncode == 100 and b'usage' in r.stderr.lower(), 'no prog: usage, exit 100')
