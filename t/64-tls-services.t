#!/usr/bin/env python3
"""TLS in the s6 services: instance-setup -c makes a self-signed certificate
(once), the smtp service offers STARTTLS with it (tls-serve -S), the
submissions service (-S PORT) takes mail over implicit TLS (after AUTH),
both log through s6-log; per-SNI certificates; submissions without a
certificate stays down until there is one; as root with the dedicated users present, smtp-recv runs as a user that
can read neither the key file nor the TLS engine's memory."""
import atexit
import os
import pwd
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmauth  # noqa: E402
import pmtls  # noqa: E402
from pmtest import TAP, Instance, BIN, TOP, free_port, wait_for, wait_port  # noqa: E402
from pms6 import Scan, alive, proc_uid, svpid, svstat, uid_of  # noqa: E402,F401

t = TAP()
for prog in ('s6-svscan', 's6-svwait', 's6-svstat', 's6-log', 's6-svc'):
    if not shutil.which(prog):
        t.skip_all('%s not installed (Debian package s6)' % prog)
if not pmtls.have_openssl():
    t.skip_all('no openssl command (Debian package openssl)')
for prog in ('instance-setup', 'tcp-serve', 'tls-serve', 'smtp-recv', 'queue-run', 'config-make'):
    if not os.access(os.path.join(BIN, prog), os.X_OK):
        t.skip_all('%s not built' % prog)

ME = pwd.getpwuid(os.getuid()).pw_name
DEMO = 'demo@example.test'


def setup(inst, port, sport=None, cert=True, user=ME):
    args = ['instance-setup', '-r', inst.root, '-b', BIN, '-t', os.path.join(TOP, 'services'),
            '-s', str(port), '-i', '127.0.0.1', '-d', 'example.test', '-m', 'mx.example.test']
    if sport:
        args += ['-S', str(sport)]
    if cert:
        args += ['-c']
    if user:
        args += ['-u', user]
    return inst.run(args, check=False)


def read(path, mode='r'):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return b'' if 'b' in mode else ''


def tree(root, sub):
    out = {}
    for d, dirs, files in os.walk(os.path.join(root, sub)):
        dirs[:] = [x for x in dirs if x not in ('supervise', 'event', '.s6-svscan')]
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = (read(p, 'rb'), os.stat(p).st_mode)
    return out


def verifying(cafile):
    """The instance's own certificate as the trust anchor: the chain is
    verified, not the name (smtplib asks for 127.0.0.1)."""
    c = pmtls.client_context(cafile)
    c.check_hostname = False
    return c


def message(subject):
    return 'From: a@example.org\r\nTo: %s\r\nSubject: %s\r\n\r\nhello\r\n' % (DEMO, subject)


def send_starttls(port, ctx, subject):
    with smtplib.SMTP('127.0.0.1', port, timeout=20) as s:
        s.ehlo()
        offered = s.has_extn('starttls')
        s.starttls(context=ctx)
        s.ehlo()
        s.sendmail('a@example.org', [DEMO], message(subject))
    return offered


def send_smtps(port, ctx, subject):
    """Over implicit TLS, to the submissions service: AUTH as demo first."""
    with smtplib.SMTP_SSL('127.0.0.1', port, timeout=20, context=ctx) as s:
        s.ehlo()
        offered = s.has_extn('starttls')
        s.login(DEMO, 'demo')
        s.sendmail(DEMO, [DEMO], message(subject).replace('From: a@example.org', 'From: ' + DEMO))
    return offered


def ehlo_features(port):
    with smtplib.SMTP('127.0.0.1', port, timeout=20) as s:
        s.ehlo()
        return s.esmtp_features


def received(mail):
    m = re.search(rb'^Received:.*?(?=^\S)', mail, re.S | re.M)
    return m.group(0).decode(errors='replace') if m else ''


def mail_with(inst, subject):
    for m in inst.mails(DEMO):
        if b'Subject: ' + subject.encode() + b'\n' in m:
            return m
    return None


def cert_text(path):
    return subprocess.run(['openssl', 'x509', '-in', path, '-noout', '-subject', '-ext', 'subjectAltName'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()


# ---- instance-setup -c -S ------------------------------------------------------
inst = Instance()
port, sport = free_port(), free_port()
while sport == port:
    sport = free_port()
# the services keep TLS sessions in /dev/shm/pipemail-tls-PORT (tls-serve(8))
_shm = []
atexit.register(lambda: [shutil.rmtree('/dev/shm/pipemail-tls-%d' % p, ignore_errors=True) for p in _shm])
_shm += [port, sport]
r = setup(inst, port, sport)
t.eq(r.returncode, 0, 'instance-setup -c -S exits 0')
if r.returncode:
    t.diag(r.stderr.decode(errors='replace'))
tls = os.path.join(inst.root, 'etc/tls')
CERT, KEY = os.path.join(tls, 'cert.pem'), os.path.join(tls, 'key.pem')
t.ok(os.path.isfile(CERT) and os.path.isfile(KEY), '-c made etc/tls/cert.pem and key.pem')
t.eq(oct(os.stat(KEY).st_mode & 0o777) if os.path.exists(KEY) else None, '0o600', 'key.pem is mode 600')
ct = cert_text(CERT)
t.ok('CN = mx.example.test' in ct and 'DNS:mx.example.test' in ct,
     'the certificate is for etc/me (CN and subjectAltName)', ct)
t.ok(b'cert=' + CERT.encode() in r.stderr and b'action=created' in r.stderr, 'creation logged', r.stderr)
pmauth.configure(inst, {DEMO: 'demo'})
for p in ('service/submissions/run', 'service/submissions/log/run', 'service/submissions/notification-fd',
          'service/submissions/env', 'log/submissions'):
    t.ok(os.path.exists(os.path.join(inst.root, p)), 'made %s' % p)
srun = read(os.path.join(inst.root, 'service/submissions/run'))
t.ok(str(sport) in srun and not re.search(r'@[A-Z]+@', srun), 'submissions/run has the port, no placeholder', srun)
t.ok(not re.search(r'@[A-Z]+@', read(os.path.join(inst.root, 'service/smtp/run'))),
     'no placeholder left in smtp/run')
t.eq(read(os.path.join(inst.root, 'service/submissions/notification-fd')).strip(), '3', 'submissions notification-fd is 3')
t.ok(inst.root + '/service/smtp/log/run' in read(os.path.join(inst.root, 'service/submissions/log/run')),
     'submissions/log runs the smtp log script (log/submissions by its directory, checked below)')

before = (tree(inst.root, 'service'), tree(inst.root, 'etc/tls'))
r = setup(inst, port, sport)
t.ok(r.returncode == 0 and b'action=created' not in r.stderr, 'second run exits 0, makes no certificate',
     r.stderr)
t.eq((tree(inst.root, 'service'), tree(inst.root, 'etc/tls')), before,
     'second run changes nothing (services, certificate)')

r = inst.run(['instance-setup', '-r', inst.root, '-s', '2525', '-S', '2525'], check=False)
t.ok(r.returncode == 100 and b'instance-setup: fatal: ' in r.stderr, '-S equal to -s: exit 100', r.stderr)
r = inst.run(['instance-setup', '-r', inst.root, '-S', '0465'], check=False)
t.ok(r.returncode == 100 and b'instance-setup: fatal: ' in r.stderr, 'bad -S port: exit 100', r.stderr)
half = Instance()
os.makedirs(os.path.join(half.root, 'etc/tls'))
with open(os.path.join(half.root, 'etc/tls/key.pem'), 'w') as f:
    f.write('not a key\n')
r = setup(half, free_port())
t.ok(r.returncode == 111 and b'not the other' in r.stderr and
     read(os.path.join(half.root, 'etc/tls/key.pem')) == 'not a key\n',
     '-c with a key but no certificate: fatal, the key is left alone', r.stderr)
r = setup(half, free_port(), cert=False)
t.ok(r.returncode == 0 and not os.path.exists(os.path.join(half.root, 'service/submissions')),
     'no -S: no submissions service', r.stderr)
half.stop()

# ---- under s6: STARTTLS on smtp, implicit TLS on submissions ----------------------
scan = Scan(inst)
t.ok(scan.wait_up('smtp') and scan.wait_up('submissions'), 'smtp and submissions services ready (s6-svwait -U)')
t.ok(wait_port(port, timeout=1) and wait_port(sport, timeout=1), 'both ports listen')
scan.wait_up('queue', ready=False)
ctx = verifying(CERT)

try:
    offered = send_starttls(port, ctx, 'over starttls')
    err = None
except (OSError, smtplib.SMTPException) as e:
    offered, err = False, e
t.ok(offered and err is None, 'smtp offers STARTTLS; a mail over it, certificate verified', err)
try:
    offered = send_smtps(sport, ctx, 'over smtps')
    err = None
except (OSError, smtplib.SMTPException) as e:
    offered, err = True, e
t.ok(not offered and err is None, 'submissions: a mail over implicit TLS after AUTH (no STARTTLS offered in it)', err)
inst.wait_mails(DEMO, 2)
for subject, proto in (('over starttls', 'ESMTPS'), ('over smtps', 'ESMTPSA')):
    rcv = received(mail_with(inst, subject) or b'')
    t.ok(' with %s ' % proto in rcv and 'using TLSv1.2 with cipher ECDHE-ECDSA-' in rcv,
         '%s: Received: says %s and the cipher' % (subject, proto), rcv)

slog = os.path.join(inst.root, 'log/submissions/current')
plog = os.path.join(inst.root, 'log/smtp/current')
t.ok(wait_for(lambda: re.search(r'^@4000\S+ tls-serve: info: tls=ok .*cert=default', read(slog), re.M), 10),
     'log/submissions: tls-serve logs the handshake (TAI64N stamped)', read(slog))
t.ok(wait_for(lambda: re.search(r'smtp-recv: info: .*status=queued', read(slog)), 10),
     'log/submissions: smtp-recv logs the mail', read(slog))
t.ok(wait_for(lambda: 'tls-serve: info: starttls cmd=' in read(plog) and
              re.search(r'smtp-recv: info: .*tls=ok', read(plog)), 10),
     'log/smtp: the STARTTLS handshake is logged', read(plog))

# A second certificate for a name asked with SNI: NAME.cert.pem, NAME.key.pem.
alt_cert, alt_key = pmtls.self_signed(tls, 'alt.example.test', kind='rsa')
os.rename(alt_cert, os.path.join(tls, 'alt.example.test.cert.pem'))
os.rename(alt_key, os.path.join(tls, 'alt.example.test.key.pem'))
old = svpid(scan.dir('submissions'))
subprocess.run(['s6-svc', '-r', scan.dir('submissions')])
wait_for(lambda: svpid(scan.dir('submissions')) not in (0, old), 10)
t.ok(scan.wait_up('submissions'), 'submissions restarted')


def peer_der(name):
    c = pmtls.client_context(verify=False)
    with socket.create_connection(('127.0.0.1', sport), 10) as raw:
        with c.wrap_socket(raw, server_hostname=name) as s:
            return s.getpeercert(binary_form=True)


def der(path):
    return ssl.PEM_cert_to_DER_cert(read(path))


t.ok(wait_port(sport, timeout=5) and peer_der('alt.example.test') == der(os.path.join(tls, 'alt.example.test.cert.pem')),
     'SNI alt.example.test gets etc/tls/alt.example.test.cert.pem')
t.ok(peer_der('other.example.test') == der(CERT), 'any other name gets etc/tls/cert.pem')

# NOTLS in service/smtp/env: no STARTTLS on the smtp port.
with open(os.path.join(scan.dir('smtp'), 'env/NOTLS'), 'w') as f:
    f.write('1\n')
old = svpid(scan.dir('smtp'))
subprocess.run(['s6-svc', '-r', scan.dir('smtp')])
wait_for(lambda: svpid(scan.dir('smtp')) not in (0, old), 10)
t.ok(scan.wait_up('smtp') and wait_port(port, timeout=5) and 'starttls' not in ehlo_features(port),
     'env/NOTLS: smtp does not offer STARTTLS')
scan.stop()

# ---- submissions without a certificate: down until there is one ------------------------
bare = Instance()
bport, bsport = free_port(), free_port()
_shm += [bport, bsport]
r = setup(bare, bport, bsport, cert=False)
pmauth.configure(bare, {DEMO: 'demo'})
t.ok(r.returncode == 0 and b'warning: no certificate' in r.stderr,
     'instance-setup -S without a certificate: a warning', r.stderr)
bscan = Scan(bare)
t.ok(bscan.wait_up('smtp'), 'smtp service ready')
t.ok('starttls' not in ehlo_features(bport), 'no certificate: smtp is plain, no STARTTLS')
blog = os.path.join(bare.root, 'log/submissions/current')
t.ok(wait_for(lambda: 'fatal: no ' in read(blog), 10), 'submissions says why it does not start', read(blog))
time.sleep(2.5)
t.ok(read(blog).count('fatal: no ') == 1 and not wait_port(bsport, timeout=0.2),
     'submissions is not restarted over and over', read(blog))
r = setup(bare, bport, bsport)
subprocess.run(['s6-svc', '-u', bscan.dir('submissions')])
t.ok(r.returncode == 0 and bscan.wait_up('submissions') and wait_port(bsport, timeout=5),
     'instance-setup -c, then s6-svc -u: submissions comes up')
bscan.wait_up('queue', ready=False)
try:
    send_smtps(bsport, verifying(os.path.join(bare.root, 'etc/tls/cert.pem')), 'late')
    err = None
except (OSError, smtplib.SMTPException) as e:
    err = e
t.ok(err is None and len(bare.wait_mails(DEMO, 1)) == 1, 'and takes mail', err)
bscan.stop()
bare.stop()


# ---- privileges (root only, with the dedicated users present) -----------------
def children(pid):
    return [int(x) for x in read('/proc/%d/task/%d/children' % (pid, pid)).split()]


def opens_as(user, path):
    """Whether user can open path for reading."""
    return subprocess.run(['/bin/sh', '-c', ': < "$0"', path], user=user, group=pwd.getpwnam(user).pw_gid,
                          extra_groups=[], stderr=subprocess.DEVNULL).returncode == 0


NEED = ('pmsmtp', 'pmqueue', 'pmlog', 'pmtls')
if os.getuid() != 0:
    t.skip('privilege separation of the TLS engine', 'not root')
elif any(uid_of(u) is None for u in NEED):
    t.skip('privilege separation of the TLS engine',
           'users %s absent (instance-setup as root makes them)' % ', '.join(NEED))
else:
    priv = Instance()
    pport, psport = free_port(), free_port()
    _shm += [pport, psport]
    r = setup(priv, pport, psport, user=None)
    pmauth.configure(priv, {DEMO: 'demo'}, as_root=False)
    t.eq(r.returncode, 0, 'instance-setup -c -S as root, dedicated users')
    pkey = os.path.join(priv.root, 'etc/tls/key.pem')
    st = os.stat(pkey)
    t.ok(st.st_uid == 0 and st.st_mode & 0o077 == 0, 'key.pem belongs to root, mode 600')
    pscan = Scan(priv)
    t.ok(pscan.wait_up('smtp') and pscan.wait_up('submissions') and pscan.wait_up('queue', ready=False), 'services up')
    pctx = verifying(os.path.join(priv.root, 'etc/tls/cert.pem'))
    # A session held open: tcp-serve > tls-serve > smtp-recv.
    raw = socket.create_connection(('127.0.0.1', psport), 10)
    conn = pctx.wrap_socket(raw)
    banner = conn.recv(512)
    tcp = svpid(pscan.dir('submissions'))
    engine = wait_for(lambda: children(tcp), 5)
    engine = engine[0] if engine else 0
    proto = wait_for(lambda: children(engine) if engine else [], 5)
    proto = proto[0] if proto else 0
    t.ok(banner.startswith(b'220') and engine and proto, 'implicit TLS session open (%d > %d > %d)' % (tcp, engine, proto))
    t.eq((proc_uid(engine), proc_uid(proto)), (uid_of('pmtls'), uid_of('pmsmtp')),
         'tls-serve runs as pmtls, smtp-recv as pmsmtp')
    fds = []
    for fd in os.listdir('/proc/%d/fd' % proto) if proto else []:
        try:
            fds.append(os.readlink('/proc/%d/fd/%s' % (proto, fd)))
        except OSError:
            pass
    t.ok(proto and not any(f.endswith('.pem') for f in fds), 'smtp-recv holds no descriptor on a key', fds)
    t.ok(opens_as('pmsmtp', os.path.join(priv.root, 'etc/tls/cert.pem')),
         'pmsmtp can open cert.pem (the check works)')
    t.ok(not opens_as('pmsmtp', pkey), 'pmsmtp cannot open key.pem')
    t.ok(not opens_as('pmsmtp', '/proc/%d/mem' % engine), "pmsmtp cannot open the TLS engine's memory")
    t.ok(not opens_as('pmsmtp', '/proc/%d/environ' % engine), "pmsmtp cannot open its environment")
    conn.close()
    try:
        send_starttls(pport, pctx, 'privileged starttls')
        send_smtps(psport, pctx, 'privileged smtps')
        err = None
    except (OSError, smtplib.SMTPException) as e:
        err = e
    got = priv.wait_mails(DEMO, 2)
    t.ok(err is None and len(got) == 2 and all(b' with ESMTPS' in m for m in got),
         'mail over STARTTLS and implicit TLS, across the users', err)
    pscan.stop()
