#!/usr/bin/env python3
# tls-serve session resumption by session ID across processes, through the
# file cache of TLS_CACHE_DIR: openssl s_client -sess_out then -sess_in.
# Expired, corrupt, foreign-name entries and an unsafe directory: no resumption.
import os
import re
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtls
from pmtest import Instance, wait_for, wait_port, free_port

t = pmtls.tap_needing('tcp-serve')

inst = Instance(users={})
D = tempfile.mkdtemp(prefix='pm-tlsr-', dir=inst.root)
ca = pmtls.TestCA(D)
RSA = ca.issue('default.test', 'rsa')
MAIL = ca.issue('mail.test', 'ec')
BASEENV = {'CERTFILE': RSA[0], 'KEYFILE': RSA[1], 'CERTFILE:mail.test': MAIL[0], 'KEYFILE:mail.test': MAIL[1]}
PROG = ['sh', '-c', 'echo "env=$(env | grep -c TLS_CACHE)"']


def serve(env=None):
    port = free_port()
    e = dict(BASEENV)
    e.update(env or {})
    p = inst.spawn(['tcp-serve', '127.0.0.1', str(port), 'tls-serve'] + PROG, env=e)
    if not wait_port(port):
        raise RuntimeError('tcp-serve did not start: ' + inst.log(p))
    wait_for(lambda: 'error=1025 (eof)' in inst.log(p))
    return port, p


SESS = os.path.join(D, 'sess.pem')


def s_client(port, out=True, name='default.test'):
    """'New' or 'Reused' (or the output if neither), and prog's output line."""
    args = ['openssl', 's_client', '-connect', '127.0.0.1:%d' % port, '-servername', name, '-tls1_2',
            '-CAfile', ca.cert, '-verify_return_error', '-ign_eof']
    args += ['-sess_out', SESS] if out else ['-sess_in', SESS]
    r = subprocess.run(args, input=b'', stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    o = r.stdout.decode(errors='replace')
    m = re.search(r'^(New|Reused), TLSv1\.2', o, re.M)
    envline = re.search(r'^env=(\d+)', o, re.M)
    return (m.group(1) if m else o + r.stderr.decode(errors='replace')), (envline.group(1) if envline else None)


def logwait(p, needle):
    return wait_for(lambda: needle in inst.log(p), 5)


def count(p, needle):
    return inst.log(p).count(needle)


def resume(port, p, name='default.test'):
    """Full handshake then an attempt to resume; (first, second) results."""
    n = count(p, 'tls=ok')
    first = s_client(port, True, name)[0]
    second = s_client(port, False, name)[0]
    wait_for(lambda: count(p, 'tls=ok') >= n + 2, 5)
    return first, second


def cachedir(mode=0o700):
    d = tempfile.mkdtemp(prefix='cache-', dir=D)
    os.chmod(d, mode)
    return d


def entries(d):
    return [f for f in os.listdir(d)]


# -- no TLS_CACHE_DIR: as before ------------------------------------------------
port, srv = serve()
t.eq(resume(port, srv), ('New', 'New'), 'no TLS_CACHE_DIR: no resumption')
t.ok('resumed=no' in inst.log(srv) and 'resumed=yes' not in inst.log(srv), 'logged resumed=no', inst.log(srv))

# -- with a cache ----------------------------------------------------------------
C = cachedir()
port, srv = serve({'TLS_CACHE_DIR': C})
first, second = resume(port, srv)
t.eq((first, second), ('New', 'Reused'), 'TLS_CACHE_DIR: the second connection (another process) resumes')
t.ok(wait_for(lambda: count(srv, 'resumed=yes') == 1, 5) and count(srv, 'resumed=no') >= 1,
     'logged resumed=no, then resumed=yes', inst.log(srv))
t.ok(re.search(r'cert=default resumed=yes', inst.log(srv)), 'resumed: cert= is still the SNI choice', inst.log(srv))
files = entries(C)
t.ok(len(files) == 1 and re.fullmatch(r'[0-9a-f]{64}', files[0]), 'one file, named by the hex session ID', files)
st = os.stat(os.path.join(C, files[0]))
t.eq((stat.S_IMODE(st.st_mode), st.st_size), (0o600, 313), 'file mode 0600, fixed size')
t.eq(s_client(port, False)[1], '0', 'TLS_CACHE_DIR is not in prog environment')
t.eq(s_client(port, False)[0], 'Reused', 'resumed again')

# a session resumes only with its own server name (RFC 6066)
r, envl = s_client(port, False, 'mail.test')
t.ok(envl is None and logwait(srv, 'BR_ERR_BAD_SNI'), 'resumption under another SNI name: connection dropped',
     inst.log(srv))

# -- an expired entry ------------------------------------------------------------
before = set(entries(C))
first = s_client(port, True)[0]


def saved():
    """The new entries under their final names: the server writes a
    temporary '.t.' file and renames it, and may do so after the client
    has gone; a date set on the temporary file before its write is lost."""
    return [f for f in entries(C) if f not in before and not f.startswith('.')]


wait_for(saved, 5)
files = saved()
old = time.time() - 301
for f in files:
    os.utime(os.path.join(C, f), (old, old))
t.eq((first, s_client(port, False)[0]), ('New', 'New'), 'entry older than 300 s: not resumed')
t.ok(wait_for(lambda: not set(files) & set(entries(C)), 5), 'expired entry removed', entries(C))

# TLS_CACHE_LIFETIME
lport, lsrv = serve({'TLS_CACHE_DIR': C, 'TLS_CACHE_LIFETIME': '1'})
first = s_client(lport, True)[0]
time.sleep(2.2)
t.eq((first, s_client(lport, False)[0]), ('New', 'New'), 'TLS_CACHE_LIFETIME=1, 2 s later: not resumed')

# -- corrupt entries: ignored, no crash ------------------------------------------
for label, change in (('wrong magic', lambda b: b'XXXX' + b[4:]),
                      ('truncated', lambda b: b[:100]),
                      ('too long', lambda b: b + b'\0'),
                      ('bad version', lambda b: b[:5] + b'\x7f\x7f' + b[7:]),
                      ('random bytes', lambda b: os.urandom(len(b)))):
    before = set(entries(C))
    s_client(port, True)
    new = [f for f in entries(C) if f not in before]
    if len(new) != 1:
        t.ok(False, 'corrupt entry (%s): setup' % label, entries(C))
        continue
    path = os.path.join(C, new[0])
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(change(data))
    r = s_client(port, False)[0]
    t.eq(r, 'New', 'corrupt entry (%s): full handshake' % label)
t.ok('tls=fail' not in inst.log(srv).split('BR_ERR_BAD_SNI', 1)[1], 'no failed handshake with corrupt entries',
     inst.log(srv))
t.ok(s_client(port, True)[0] == 'New' and s_client(port, False)[0] == 'Reused', 'a good entry still resumes')

# a symlink instead of an entry is not followed
s_client(port, True)
f = max(entries(C), key=lambda f: os.stat(os.path.join(C, f)).st_mtime)
os.rename(os.path.join(C, f), os.path.join(D, 'moved'))
os.symlink(os.path.join(D, 'moved'), os.path.join(C, f))
t.eq(s_client(port, False)[0], 'New', 'entry that is a symlink: not followed')

# -- unsafe directories: refused with a warning, the service still runs ----------
G = cachedir(0o770)
gport, gsrv = serve({'TLS_CACHE_DIR': G})
t.eq(resume(gport, gsrv), ('New', 'New'), 'group-accessible cache directory: no resumption')
t.ok('warning: session cache %s refused: group or other accessible' % G in inst.log(gsrv) and not entries(G),
     'refused with a warning, nothing written', inst.log(gsrv))

# absent: created 0700 by tls-serve
N = os.path.join(D, 'newcache')
nport, nsrv = serve({'TLS_CACHE_DIR': N})
t.eq(resume(nport, nsrv), ('New', 'Reused'), 'absent cache directory: created, resumption works')
t.eq(stat.S_IMODE(os.stat(N).st_mode), 0o700, 'created 0700')

# a symlink to a directory is refused
L = os.path.join(D, 'linkcache')
os.symlink(cachedir(), L)
lport, lsrv = serve({'TLS_CACHE_DIR': L})
t.eq(resume(lport, lsrv), ('New', 'New'), 'cache directory that is a symlink: refused')
t.ok('warning: unable to open session cache' in inst.log(lsrv), 'symlink: warning logged', inst.log(lsrv))

# a bad lifetime is a configuration error
r = subprocess.run(['tls-serve', 'true'], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   env=dict(inst.env, TLS_CACHE_LIFETIME='x', **BASEENV))
t.eq(r.returncode, 100, 'TLS_CACHE_LIFETIME not a number: exit 100')
