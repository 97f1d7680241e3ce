#!/usr/bin/env python3
"""tcp-serve: UCSPI environment, IPv4/IPv6, -c, -C, -d, access rules, signals, usage."""
import atexit
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, BIN, free_port, wait_port, wait_for  # noqa: E402

t = TAP()
TCPSERVE = os.path.join(BIN, 'tcp-serve')
if not os.access(TCPSERVE, os.X_OK):
    t.skip_all('tcp-serve not built')

tmp = tempfile.mkdtemp(prefix='pm20-tcp-')
procs = []
ENV = dict(os.environ, PATH=BIN + ':' + os.environ.get('PATH', '/usr/bin:/bin'))


def cleanup():
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    if os.environ.get('PM_KEEP') is None:
        shutil.rmtree(tmp, ignore_errors=True)


atexit.register(cleanup)


def script(name, body):
    path = os.path.join(tmp, name)
    with open(path, 'w') as f:
        f.write('#!/bin/sh\n' + body)
    os.chmod(path, 0o755)
    return path


# show: print the UCSPI variables and leave a trace that it ran.
SHOW = script('show', 'touch "$0.ran"\n'
              'for v in PROTO TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT RELAYCLIENT; do\n'
              '  eval "x=\\${$v-UNSET}"; echo "$v=$x"\ndone\n')
# hold: greet, then wait for a line (or EOF) from the client.
HOLD = script('hold', 'echo hi; read x; echo bye\n')
logs = {}


def serve(args, name, sh=None, **kw):
    """Start tcp-serve ARGS in its own process group; sh: a shell wrapper that
    ends with exec "$0" "$@"."""
    log = os.path.join(tmp, 'log-' + name)
    cmd = ['sh', '-c', sh, TCPSERVE] if sh else [TCPSERVE]
    p = subprocess.Popen(cmd + args, env=ENV, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=open(log, 'wb'),
                         start_new_session=True, **kw)
    procs.append(p)
    logs[p.pid] = log
    return p


def log_of(p):
    with open(logs[p.pid], 'rb') as f:
        return f.read().decode(errors='replace')


def stop(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def slurp(s, timeout=10.0):
    """Everything the server sends until it closes."""
    s.settimeout(timeout)
    out = b''
    while True:
        try:
            b = s.recv(4096)
        except socket.timeout:
            break
        if not b:
            break
        out += b
    s.close()
    return out


def env_of(data):
    return dict(ln.split('=', 1) for ln in data.decode().splitlines() if '=' in ln)


def connect(port, host='127.0.0.1'):
    return socket.create_connection((host, port), 5)


def line(s, timeout):
    """One line from s, or None if nothing came within timeout."""
    s.settimeout(timeout)
    buf = b''
    try:
        while not buf.endswith(b'\n'):
            b = s.recv(1)
            if not b:
                return buf or None
            buf += b
    except socket.timeout:
        return buf or None
    return buf


# --- IPv4: the UCSPI environment over a real connection ---------------------
port = free_port()
p = serve(['-v', '127.0.0.1', str(port), SHOW], 'v4')
t.ok(wait_port(port), 'listens on 127.0.0.1', log_of(p))
c = connect(port)
cport = c.getsockname()[1]
e = env_of(slurp(c))
t.eq(e.get('PROTO'), 'TCP', 'PROTO=TCP')
t.eq(e.get('TCPREMOTEIP'), '127.0.0.1', 'TCPREMOTEIP')
t.eq(e.get('TCPREMOTEPORT'), str(cport), 'TCPREMOTEPORT is the client port')
t.eq(e.get('TCPLOCALIP'), '127.0.0.1', 'TCPLOCALIP')
t.eq(e.get('TCPLOCALPORT'), str(port), 'TCPLOCALPORT')
t.eq(e.get('RELAYCLIENT'), 'UNSET', 'no RELAYCLIENT without rules')
ok = wait_for(lambda: 'end status=0' in log_of(p), 10)
lg = log_of(p)
t.ok(ok and ('ip=127.0.0.1 port=%d action=start' % cport) in lg, '-v: start and end logged', lg)

# SIGTERM: stop listening, exit 0, the running session goes on.
stop(p)
p = serve(['127.0.0.1', str(port), HOLD], 'term')
wait_port(port)
c = connect(port)
t.eq(line(c, 10), b'hi\n', 'session started')
os.kill(p.pid, signal.SIGTERM)
try:
    rc = p.wait(10)
except subprocess.TimeoutExpired:
    rc = None
t.eq(rc, 0, 'SIGTERM: exit 0')
try:
    late = line(connect(port), 1)  # refused, normally
except OSError:
    late = None
t.eq(late, None, 'SIGTERM: no longer serving')
c.sendall(b'x\n')
t.eq(line(c, 10), b'bye\n', 'SIGTERM: running session goes on')
c.close()

# --- IPv6 -------------------------------------------------------------------
has6 = socket.has_ipv6
if has6:
    try:
        s6 = socket.socket(socket.AF_INET6)
        s6.bind(('::1', 0))
        s6.close()
    except OSError:
        has6 = False
if has6:
    port = free_port()
    p = serve(['::1', str(port), SHOW], 'v6')
    t.ok(wait_port(port, '::1'), 'listens on ::1', log_of(p))
    c = connect(port, '::1')
    cport = c.getsockname()[1]
    e = env_of(slurp(c))
    t.eq((e.get('TCPREMOTEIP'), e.get('TCPREMOTEPORT'), e.get('TCPLOCALIP'), e.get('TCPLOCALPORT')),
         ('::1', str(cport), '::1', str(port)), 'IPv6 ::1 environment')
    stop(p)
    port = free_port()
    p = serve(['::', str(port), SHOW], 'any6')
    t.ok(wait_port(port), ':: takes IPv4 clients too', log_of(p))
    e = env_of(slurp(connect(port)))
    t.eq((e.get('TCPREMOTEIP'), e.get('TCPLOCALIP')), ('127.0.0.1', '127.0.0.1'),
         'IPv4-mapped peer shown as IPv4')
    e = env_of(slurp(connect(port, '::1')))
    t.eq(e.get('TCPREMOTEIP'), '::1', ':: takes IPv6 clients')
    stop(p)
else:
    for name in ('listens on ::1', 'IPv6 ::1 environment', ':: takes IPv4 clients too',
                 'IPv4-mapped peer shown as IPv4', ':: takes IPv6 clients'):
        t.skip(name, 'no IPv6 loopback')

# --- 0.0.0.0 ------------------------------------------------------------------
port = free_port()
p = serve(['0.0.0.0', str(port), SHOW], 'any4')
t.ok(wait_port(port), 'listens on 0.0.0.0', log_of(p))
t.eq(env_of(slurp(connect(port))).get('TCPLOCALIP'), '127.0.0.1', '0.0.0.0: TCPLOCALIP is the real address')
stop(p)

# --- -c 2: the third connection waits for a free slot ------------------------
port = free_port()
p = serve(['-c', '2', '127.0.0.1', str(port), HOLD], 'c2')
wait_port(port)
time.sleep(0.3)  # let the probe connections of wait_port finish
c1, c2 = connect(port), connect(port)
t.eq((line(c1, 10), line(c2, 10)), (b'hi\n', b'hi\n'), '-c 2: two sessions served')
c3 = connect(port)
t.eq(line(c3, 1.0), None, '-c 2: third connection not served yet')
c1.sendall(b'x\n')
t.eq(line(c1, 10), b'bye\n', '-c 2: first session ends')
c1.close()
t.eq(line(c3, 10), b'hi\n', '-c 2: third connection served after one ended')
for c in (c2, c3):
    c.close()
stop(p)

# --- -C 1: a second connection from the same IP is closed at once -------------
port = free_port()
p = serve(['-C', '1', '127.0.0.1', str(port), HOLD], 'C1')
wait_port(port)
time.sleep(0.3)
c1 = connect(port)
t.eq(line(c1, 10), b'hi\n', '-C 1: first session served')
c2 = connect(port)
t.eq(slurp(c2, 5), b'', '-C 1: second connection closed without data')
t.ok(wait_for(lambda: 'action=toomany' in log_of(p), 5), '-C 1: toomany logged', log_of(p))
c1.close()
stop(p)

# --- -C 1 -R: held while the session lives, served when it ends, else a reply ---
port = free_port()
p = serve(['-C', '1', '-W', '1500', '-R', '421 4.7.0 busy', '127.0.0.1', str(port), HOLD], 'C1R')
wait_port(port)
time.sleep(0.3)
c1 = connect(port)
t.eq(line(c1, 10), b'hi\n', '-C 1 -R: first session served')
c2 = connect(port)
t.eq(line(c2, 0.3), None, '-C 1 -R: second connection held, not served yet')
c1.sendall(b'x\n')
t.eq(line(c1, 10), b'bye\n', '-C 1 -R: first session ends')
c1.close()
t.eq(line(c2, 10), b'hi\n', '-C 1 -R: the held connection is served once it has ended')
c3 = connect(port)
t.eq(slurp(c3, 10), b'421 4.7.0 busy\r\n', '-C 1 -R: past the wait (-W), the reply, then the close')
t.ok(log_of(p).count('action=toomany') == 1, '-C 1 -R: the refusal logged once', log_of(p))
c2.close()
stop(p)

# --- -c 1 -R: all slots busy, the reply (action=full); without -R, the queue ---
port = free_port()
p = serve(['-c', '1', '-W', '200', '-R', 'full up', '127.0.0.1', str(port), HOLD], 'c1R')
wait_port(port)
time.sleep(0.3)
c1 = connect(port)
t.eq(line(c1, 10), b'hi\n', '-c 1 -R: first session served')
t.eq(slurp(connect(port), 10), b'full up\r\n', '-c 1 -R: a second connection reads the reply')
t.ok(wait_for(lambda: 'action=full' in log_of(p), 5), '-c 1 -R: logged action=full', log_of(p))
c1.close()
stop(p)
for bad in ('', 'two\r\nlines', 'x' * 513):
    r = subprocess.run([TCPSERVE, '-R', bad, '127.0.0.1', '1', HOLD], env=ENV, stderr=subprocess.PIPE)
    t.ok(r.returncode == 100 and b'tcp-serve: fatal: ' in r.stderr, '-R %r: exit 100' % bad[:20], r.stderr)

# --- -d: readiness notification --------------------------------------------------
port = free_port()
r, w = os.pipe()
p = serve(['-d', str(w), '127.0.0.1', str(port), SHOW], 'notif', pass_fds=(w,))
os.close(w)
got = b''
deadline = time.time() + 10
while time.time() < deadline:
    if not select.select([r], [], [], max(0, deadline - time.time()))[0]:
        break
    b = os.read(r, 16)
    if not b:
        break
    got += b
os.close(r)
t.eq(got, b'\n', '-d: one newline, then the fd is closed')
try:
    e = env_of(slurp(connect(port)))
except OSError as ex:
    e = {'error': str(ex)}
t.eq(e.get('PROTO'), 'TCP', '-d: listening when notified')
stop(p)

# --- access rules ---------------------------------------------------------------------


def rules(name, tree):
    """tree: {'ip4/127.0.0.1_32/allow': '', ...}; returns the compiled cdb."""
    d = os.path.join(tmp, name)
    for rel, content in tree.items():
        path = os.path.join(d, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(content)
    cdb = os.path.join(tmp, name + '.cdb')
    subprocess.run(['s6-accessrules-cdb-from-fs', cdb, d], check=True)
    return cdb


if shutil.which('s6-accessrules-cdb-from-fs') is None:
    t.skip('access rules', 's6-accessrules-cdb-from-fs not installed')
else:
    # RELAYCLIENT holds one newline: set to "" (an empty file would unset it).
    allow = rules('allow', {'ip4/127.0.0.1_32/allow': '', 'ip4/127.0.0.1_32/env/RELAYCLIENT': '\n',
                            'ip4/127.0.0.1_32/env/TCPLOCALPORT': 'overridden\n'})
    port = free_port()
    p = serve(['-x', allow, '127.0.0.1', str(port), SHOW], 'allow')
    wait_port(port)
    e = env_of(slurp(connect(port)))
    t.eq(e.get('RELAYCLIENT'), '', 'allow rule: RELAYCLIENT set (empty)')
    t.eq(e.get('TCPLOCALPORT'), 'overridden', 'allow rule: rule env applied after the UCSPI variables')
    stop(p)

    deny = rules('deny', {'ip4/127.0.0.1_32/deny': ''})
    port = free_port()
    p = serve(['-x', deny, '127.0.0.1', str(port), SHOW], 'deny')
    t.ok(wait_port(port), 'deny rule: still listening')
    if os.path.exists(SHOW + '.ran'):
        os.unlink(SHOW + '.ran')
    t.eq(slurp(connect(port)), b'', 'deny rule: connection closed without data')
    t.ok(wait_for(lambda: 'action=deny' in log_of(p), 5), 'deny rule: logged', log_of(p))
    t.ok(not os.path.exists(SHOW + '.ran'), 'deny rule: PROG not run')

    # SIGHUP reopens the cdb: recompile the same file to allow, then signal.
    d = os.path.join(tmp, 'deny')
    os.unlink(os.path.join(d, 'ip4/127.0.0.1_32/deny'))
    open(os.path.join(d, 'ip4/127.0.0.1_32/allow'), 'w').close()
    subprocess.run(['s6-accessrules-cdb-from-fs', deny, d], check=True)
    t.eq(slurp(connect(port)), b'', 'new rules unused before SIGHUP')
    os.kill(p.pid, signal.SIGHUP)
    e = wait_for(lambda: env_of(slurp(connect(port), 2)), 10)
    t.eq((e or {}).get('PROTO'), 'TCP', 'SIGHUP: new rules apply without restart')
    stop(p)

    other = rules('notfound', {'ip4/10.0.0.0_8/allow': ''})
    port = free_port()
    p = serve(['-x', other, '127.0.0.1', str(port), SHOW], 'notfound')
    wait_port(port)
    t.eq(slurp(connect(port)), b'', 'no matching rule: denied')
    stop(p)

    withexec = rules('withexec', {'ip4/127.0.0.1_32/allow': '', 'ip4/127.0.0.1_32/exec': 'echo hijacked\n'})
    port = free_port()
    p = serve(['-x', withexec, '127.0.0.1', str(port), SHOW], 'withexec')
    wait_port(port)
    t.eq(slurp(connect(port)), b'', 'allow rule with an exec file: denied (unsupported)')
    stop(p)

    r = subprocess.run([TCPSERVE, '-x', os.path.join(tmp, 'nonexistent.cdb'), '127.0.0.1',
                        str(free_port()), SHOW], env=ENV, stderr=subprocess.PIPE, timeout=10)
    t.eq(r.returncode, 111, 'missing rules file: exit 111')

# --- PROG that cannot be run: the server lives on ---------------------------------------
port = free_port()
p = serve(['127.0.0.1', str(port), os.path.join(tmp, 'no-such-prog')], 'noexec')
wait_port(port)
t.eq(slurp(connect(port)), b'', 'missing PROG: connection closed')
t.ok(wait_for(lambda: 'end status=' in log_of(p) and 'end status=0' not in log_of(p), 5),
     'missing PROG: failure status logged', log_of(p))
t.ok(p.poll() is None, 'missing PROG: server still running')
stop(p)

# --- without -v: a session that ends well leaves no line -------------------------------
port = free_port()
QUIET = script('quiet', 'touch "$0.ran"\n')
p = serve(['127.0.0.1', str(port), QUIET], 'quiet')
wait_port(port)
slurp(connect(port))
t.ok(wait_for(lambda: os.path.exists(QUIET + '.ran'), 5), 'quiet: serves')
time.sleep(0.3)
t.eq(log_of(p), '', 'quiet: no line for a session that exits 0')
stop(p)

# --- smtp-recv runs without an exec when it is our own -----------------------------------
def session_exe(port):
    """Connect, read the greeting, and name the file the session process runs."""
    c = connect(port)
    greeting = line(c, 10)
    exe = None
    for _ in range(50):
        # (the probe's session process may be exiting: skip one that is gone)
        for k in subprocess.run(['ps', '-o', 'pid=', '--ppid', str(p.pid)],
                                capture_output=True, text=True).stdout.split():
            try:
                exe = os.path.basename(os.readlink('/proc/%s/exe' % k))
                break
            except OSError:
                pass
        if exe:
            break
        time.sleep(0.1)
    try:
        c.sendall(b'QUIT\r\n')
        slurp(c)
    except OSError:
        pass
    return greeting, exe


smtproot = os.path.join(tmp, 'smtproot')
os.makedirs(os.path.join(smtproot, 'etc'))
with open(os.path.join(smtproot, 'etc', 'me'), 'w') as f:
    f.write('builtin.test\n')
ENV['PIPEMAIL_ROOT'] = smtproot
for args, want, name in (([], 'tcp-serve', 'smtp-recv is run as built-in code'),
                         (['-E'], 'smtp-recv', '-E: smtp-recv is exec\'d')):
    port = free_port()
    p = serve(args + ['127.0.0.1', str(port), 'smtp-recv'], 'builtin' + ''.join(args))
    wait_port(port)
    g, exe = session_exe(port)
    t.ok(g and g.startswith(b'220 builtin.test '), name + ': greeting', g)
    t.eq(exe, want, name + ': session process runs ' + want)
    stop(p)
# A program called smtp-recv earlier in PATH is not ours: it is exec'd.
wrapdir = os.path.join(tmp, 'wrap')
os.makedirs(wrapdir)
with open(os.path.join(wrapdir, 'smtp-recv'), 'w') as f:
    f.write('#!/bin/sh\necho "220 wrapper"\nread x\n')
os.chmod(os.path.join(wrapdir, 'smtp-recv'), 0o755)
saved = ENV['PATH']
ENV['PATH'] = wrapdir + ':' + saved
port = free_port()
p = serve(['127.0.0.1', str(port), 'smtp-recv'], 'wrapper')
wait_port(port)
g, exe = session_exe(port)
t.eq(g, b'220 wrapper\n', 'another smtp-recv first in PATH: that one runs')
stop(p)
ENV['PATH'] = saved
del ENV['PIPEMAIL_ROOT']

# --- smtp-recv sessions in reused workers (-S, -I) ----------------------------------------
# A worker serves sessions one after another: nothing of one (HELO, a
# transaction cut off, the rules' RELAYCLIENT) may show in the next.
def chat(port, lines, src='127.0.0.1', quit=True):
    """Send each line, collect each reply's last line; the greeting first."""
    c = socket.create_connection(('127.0.0.1', port), 5, source_address=(src, 0))
    f = c.makefile('rb')
    out = []

    def reply():
        r = b''
        while True:
            ln = f.readline()
            if not ln:
                return r or None
            r = ln
            if ln[3:4] != b'-':
                return ln.rstrip()
    try:
        out.append(reply())
        for ln in lines:
            c.sendall(ln + b'\r\n')
            out.append(reply())
        if quit:
            c.sendall(b'QUIT\r\n')
            reply()
    except OSError:
        out.append(None)
    c.close()
    return out


def ends(p):
    return log_of(p).count(' end status=')


def session_pids(p):
    return [int(ln.split('pid=')[1].split()[0]) for ln in log_of(p).splitlines() if 'action=start' in ln]


def serve_builtin(opts, name):
    """tcp-serve -v OPTS ... smtp-recv on a free port, once the probe of its
    port (a session too: the first of its worker) has ended. (p, port)"""
    port = free_port()
    p = serve(['-v'] + opts + ['127.0.0.1', str(port), 'smtp-recv'], name)
    wait_port(port)
    wait_for(lambda: ends(p) >= 1, 5)
    return p, port


with open(os.path.join(smtproot, 'etc', 'domains'), 'w') as f:
    f.write('builtin.test\n')
ENV['PIPEMAIL_ROOT'] = smtproot
subprocess.run(['user-add', 'u@builtin.test'], input=b'pw\n', env=ENV, check=True, capture_output=True)
src2 = '127.0.0.2'
try:
    socket.create_connection(('127.0.0.1', free_port()), 1, source_address=(src2, 0)).close()
except ConnectionRefusedError:
    pass
except OSError:
    src2 = None
if shutil.which('s6-accessrules-cdb-from-fs') is None or src2 is None:
    t.skip('worker sessions', 'needs s6-accessrules-cdb-from-fs and 127.0.0.2')
else:
    wrules = rules('workers', {'ip4/127.0.0.1_32/allow': '', 'ip4/127.0.0.1_32/env/RELAYCLIENT': '\n',
                               'ip4/127.0.0.2_32/allow': '',
                               'ip4/127.0.0.3_32/allow': '', 'ip4/127.0.0.3_32/env/DATABYTES': 'bad\n'})
    p, port = serve_builtin(['-S', '3', '-x', wrules], 'workers')
    r = chat(port, [b'EHLO a', b'MAIL FROM:<x@y.test>', b'RCPT TO:<z@foreign.test>'], quit=False)
    t.ok(r[3] and r[3].startswith(b'250'), 'worker, session 1: relaying allowed by the rules', r)
    # (each next session once the last has ended, so that its worker is idle)
    wait_for(lambda: ends(p) >= 2, 5)
    r = chat(port, [b'MAIL FROM:<x@y.test>', b'EHLO b', b'MAIL FROM:<x@y.test>',
                    b'RCPT TO:<z@foreign.test>', b'RCPT TO:<u@builtin.test>'], src=src2)
    t.ok(r[1] and r[1].startswith(b'503'), 'session 2: no HELO left from session 1', r)
    t.ok(r[3] and r[3].startswith(b'250'), 'session 2: MAIL accepted (no transaction left over)', r)
    t.ok(r[4] and r[4].startswith(b'554'), 'session 2: no RELAYCLIENT left from session 1', r)
    t.ok(r[5] and r[5].startswith(b'250'), 'session 2: local recipient', r)
    wait_for(lambda: ends(p) >= 3, 5)
    chat(port, [b'NOOP'])
    pids = wait_for(lambda: len(session_pids(p)) >= 4 and session_pids(p), 5) or session_pids(p)
    t.ok(len(pids) == 4 and pids[0] == pids[1] == pids[2], 'sessions 1-3 in one worker', pids)
    t.ok(len(pids) == 4 and pids[3] != pids[0], '-S 3: the 4th session in a new worker', pids)
    wait_for(lambda: ends(p) >= 4, 5)
    t.ok(not os.path.exists('/proc/%d' % pids[0]) or wait_for(lambda: not os.path.exists('/proc/%d' % pids[0]), 5),
         'the worker retired after 3 sessions')
    # a fatal error (a malformed $DATABYTES from the rules) ends the worker only
    r = chat(port, [b'NOOP'], src='127.0.0.3')
    t.ok(r[0] is None or r[-1] is None, 'fatal error in a session: connection closed', r)
    t.ok(wait_for(lambda: 'status=100' in log_of(p), 5), 'fatal error: exit status 100 logged', log_of(p))
    r = chat(port, [b'NOOP'])
    t.ok(r[0] and r[0].startswith(b'220') and r[1].startswith(b'250'), 'served after the fatal error', r)
    stop(p)

    # What a worker keeps between sessions (users.cdb, etc/me) is checked
    # per session: a change is seen by the very next session in that worker.
    other = os.path.join(tmp, 'otherroot')
    os.makedirs(os.path.join(other, 'etc'))
    with open(os.path.join(other, 'etc', 'domains'), 'w') as f:
        f.write('other.test\n')
    with open(os.path.join(other, 'etc', 'me'), 'w') as f:
        f.write('mx.other.test\n')
    oenv = dict(ENV, PIPEMAIL_ROOT=other)
    subprocess.run(['user-add', 'o@other.test'], input=b'pw\n', env=oenv, check=True, capture_output=True)
    crules = rules('config', {'ip4/127.0.0.1_32/allow': '', 'ip4/127.0.0.2_32/allow': '',
                              'ip4/127.0.0.2_32/env/PIPEMAIL_ROOT': other + '\n'})
    p, port = serve_builtin(['-S', '10', '-x', crules], 'config')
    r = chat(port, [b'HELO a', b'MAIL FROM:<x@y.test>', b'RCPT TO:<new@builtin.test>', b'RCPT TO:<u@builtin.test>'])
    t.ok(r[3] and r[3].startswith(b'550') and r[4].startswith(b'250'), 'config: new@ unknown, u@ known', r)
    wait_for(lambda: ends(p) >= 2, 5)
    subprocess.run(['user-add', 'new@builtin.test'], input=b'pw\n', env=ENV, check=True, capture_output=True)
    with open(os.path.join(smtproot, 'etc', 'me'), 'w') as f:
        f.write('renamed.test\n')
    r = chat(port, [b'HELO a', b'MAIL FROM:<x@y.test>', b'RCPT TO:<new@builtin.test>'])
    t.ok(r[0] and r[0].startswith(b'220 renamed.test '), 'config: etc/me changed, the next session says so', r)
    t.ok(r[3] and r[3].startswith(b'250'), 'config: a user added, the next session takes it', r)
    wait_for(lambda: ends(p) >= 3, 5)
    r = chat(port, [b'HELO a', b'MAIL FROM:<x@y.test>', b'RCPT TO:<o@other.test>', b'RCPT TO:<u@builtin.test>'], src=src2)
    t.ok(r[0] and r[0].startswith(b'220 mx.other.test '), 'config: another root from the rules: its etc/me', r)
    t.ok(r[3] and r[3].startswith(b'250') and r[4].startswith(b'554'), 'config: ... and its users.cdb', r)
    wait_for(lambda: ends(p) >= 4, 5)
    os.remove(os.path.join(smtproot, 'etc', 'me'))
    r = chat(port, [b'HELO a', b'MAIL FROM:<x@y.test>', b'RCPT TO:<u@builtin.test>', b'RCPT TO:<o@other.test>'])
    t.ok(r[0] and r[0].startswith(b'220 %s ' % socket.gethostname().encode()), 'config: no etc/me: the host name', r)
    t.ok(r[3] and r[3].startswith(b'250') and r[4].startswith(b'554'), 'config: back to the first root', r)
    wait_for(lambda: ends(p) >= 5, 5)
    pids = session_pids(p)
    t.ok(len(pids) == 5 and len(set(pids)) == 1, 'config: all in one worker', pids)
    stop(p)

    # -S 1: a process per session
    p, port = serve_builtin(['-S', '1'], 'onesession')
    chat(port, [b'NOOP'])
    wait_for(lambda: ends(p) >= 2, 5)
    chat(port, [b'NOOP'])
    pids = wait_for(lambda: len(session_pids(p)) >= 3 and session_pids(p), 5) or session_pids(p)
    t.ok(len(set(pids)) == 3, '-S 1: a new process per session', pids)
    stop(p)

    # -I 1: an idle worker is let go
    p, port = serve_builtin(['-I', '1'], 'idle')
    chat(port, [b'NOOP'])
    pids = wait_for(lambda: len(session_pids(p)) >= 2 and session_pids(p)[1:], 5) or [0]
    t.ok(wait_for(lambda: not os.path.exists('/proc/%d' % pids[0]), 10), '-I 1: the idle worker exits', pids)
    r = chat(port, [b'NOOP'])
    t.ok(r[0] and r[0].startswith(b'220'), '-I 1: the next session gets a new worker', r)
    stop(p)
del ENV['PIPEMAIL_ROOT']

# --- accept errors (EMFILE): warn, pause, go on ----------------------------------------
port = free_port()
p = serve(['127.0.0.1', str(port), SHOW], 'emfile', sh='ulimit -n 5 && exec "$0" "$@"')
wait_port(port)
t.ok(wait_for(lambda: 'warning: unable to accept' in log_of(p), 10), 'EMFILE: warning logged', log_of(p))
time.sleep(0.5)
t.ok(p.poll() is None, 'EMFILE: server still running', log_of(p))
stop(p)

# --- started with fds 0 and 1 closed: sockets still go to PROG's fd 0/1 only ------------
port = free_port()
p = serve(['127.0.0.1', str(port), SHOW], 'closedfds', sh='exec "$0" "$@" <&- >&-')
wait_port(port)
t.eq(env_of(slurp(connect(port))).get('PROTO'), 'TCP', 'started with stdin/stdout closed: serves')
stop(p)

# --- usage -----------------------------------------------------------------------------------
for args, name in (([], 'no arguments'), (['127.0.0.1', '25'], 'no PROG'),
                   (['-c', 'x', '127.0.0.1', '25', 'true'], 'bad -c'),
                   (['-c', '0', '127.0.0.1', '25', 'true'], '-c 0'),
                   (['-q', '127.0.0.1', '25', 'true'], 'unknown option')):
    r = subprocess.run([TCPSERVE] + args, env=ENV, stderr=subprocess.PIPE, timeout=10)
    t.ok(r.returncode == 100 and b'tcp-serve: usage: tcp-serve' in r.stderr,
         'usage error (%s): exit 100 with usage line' % name, r)
for args, name in ((['1.2.3', '25', 'true'], 'bad IP'), (['127.0.0.1', '99999', 'true'], 'bad port')):
    r = subprocess.run([TCPSERVE] + args, env=ENV, stderr=subprocess.PIPE, timeout=10)
    t.ok(r.returncode == 100 and b'tcp-serve: fatal:' in r.stderr, '%s: exit 100' % name, r)
