#!/usr/bin/env python3
"""The README's two commands from a checkout in a 0700 directory, as a new
user has it (root's home is 0700 on Debian): as root, `make check` (two of
its tests) passes and `make run` starts a demo instance that takes a mail
and delivers it; the same as an ordinary user. And a service whose
programs its user cannot reach says why once and stays down, and
instance-setup refuses to make such an instance."""
import os
import pwd
import select
import shutil
import signal
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, BIN, TOP, free_port, wait_for  # noqa: E402
from pms6 import Scan, svstat  # noqa: E402

t = TAP()
if os.getuid() != 0:
    t.skip_all('needs root (a test user, privilege drops)')
for prog in ('git', 'make', 's6-svscan', 'setpriv'):
    if not shutil.which(prog):
        t.skip_all('%s not installed' % prog)
if subprocess.run(['git', '-C', TOP, 'rev-parse', 'HEAD'], stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL).returncode != 0:
    t.skip_all('%s is not a git checkout' % TOP)

TESTUSER = 'pmcheck'
TESTS = 't/19-s6.t t/30-maildir-deliver.t'
MSG = 'From: you@example.org\r\nTo: demo@example.test\r\nSubject: private\r\n\r\nhello\r\n'
tmp = tempfile.mkdtemp(prefix='pm-t70-')   # 0700, as mkdtemp makes it
procs = []
dirs = [tmp]


def cleanup():
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def clone(owner=None):
    """A clone of this checkout in a fresh 0700 directory (OWNER's)."""
    d = tempfile.mkdtemp(dir=None if owner else tmp, prefix='pm-t70-')
    dirs.append(d)
    p = os.path.join(d, 'pipemail')
    subprocess.run(['git', 'clone', '-q', TOP, p], check=True)
    if owner:
        subprocess.run(['chown', '-R', owner, d], check=True)
    return d, p


def as_user(user, home, args, extra=None):
    """ARGS as USER, with the environment a login would give it (not
    root's PATH, which may name directories USER cannot enter)."""
    env = ['%s=%s' % kv for kv in (extra or {}).items()]
    if user is None:
        return ['env'] + env + args
    return ['s6-setuidgid', user, 'env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin',
            'HOME=' + home, 'USER=' + user, 'LOGNAME=' + user, 'LANG=C.UTF-8'] + env + args


def make_check(user, home, p):
    r = subprocess.run(as_user(user, home, ['make', '-j2', '-C', p, 'check', 'TESTS=' + TESTS]),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(errors='replace')


def make_run(user, home, p, env):
    """make run in the background until it says it is running; returns
    (process, what it printed, where the mail lands)."""
    pr = subprocess.Popen(as_user(user, home, ['make', '-C', p, 'run'], env),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, start_new_session=True)
    procs.append(pr)
    out, deadline = b'', time.time() + 180
    while b'Ctrl-C stops' not in out and time.time() < deadline and pr.poll() is None:
        r, _, _ = select.select([pr.stdout], [], [], 1)
        if r:
            out += os.read(pr.stdout.fileno(), 65536)
    return pr, out.decode(errors='replace')


def send_starttls(port):
    ctx = ssl._create_unverified_context()
    with smtplib.SMTP('127.0.0.1', port, timeout=20) as s:
        s.starttls(context=ctx)
        s.sendmail('you@example.org', ['demo@example.test'], MSG)


def stop_run(pr):
    """Ctrl-C as a terminal sends it: to the whole foreground group."""
    try:
        os.killpg(pr.pid, signal.SIGINT)
    except ProcessLookupError:
        pass
    try:
        rest = pr.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        rest = b''
    return pr.poll() is not None, rest.decode(errors='replace')


def delivered(maildir):
    new = os.path.join(maildir, 'new')
    return wait_for(lambda: os.path.isdir(new) and any(
        'Subject: private' in open(os.path.join(new, f), errors='replace').read()
        for f in os.listdir(new)), 30)


def run_path(label, user, home, p, demo_dir):
    sp, ssp, msp = free_port(), free_port(), free_port()
    env = dict(PM_RUN_SMTP_PORT=str(sp), PM_RUN_SUBMISSIONS_PORT=str(ssp), PM_RUN_SUBMISSION_PORT=str(msp))
    # every port of the demo picked free, none of make run's fixed ones
    for name in ('POP3', 'POP3S', 'IMAP', 'IMAPS', 'RSPAMD'):
        env['PM_RUN_%s_PORT' % name] = str(free_port())
    if demo_dir:
        env['PM_DEMO_DIR'] = demo_dir
    pr, out = make_run(user, home, p, env)
    if not t.ok('pipemail is running' in out, '%s: make run says it is running' % label, out[-3000:]):
        # where it stands: make run's processes (its session) and the logs
        rundir = os.path.join(demo_dir, 'run') if demo_dir else os.path.join(p, 'run')
        ps = subprocess.run(['ps', '-eo', 'pid,ppid,sid,stat,etime,wchan:20,args'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines = ps.stdout.decode(errors='replace').splitlines()
        t.diag('\n'.join(lines[:1] + [ln for ln in lines[1:] if rundir in ln or ln.split()[2] == str(pr.pid)]))
        logs = os.path.join(rundir, 'log')
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            cur = os.path.join(logs, name, 'current')
            if os.path.exists(cur):
                t.diag('%s:\n%s' % (cur, open(cur, errors='replace').read()[-1500:]))
    run = os.path.join(demo_dir, 'run') if demo_dir else os.path.join(p, 'run')
    if demo_dir:
        t.ok('demo instance in %s' % run in out, '%s: make run says where the instance is' % label,
             out[-3000:])
    try:
        send_starttls(sp)
        sent = True
    except (OSError, smtplib.SMTPException) as e:
        sent = str(e)
    t.eq(sent, True, '%s: a mail over STARTTLS is accepted' % label)
    t.ok(delivered(os.path.join(run, 'mail', 'example.test', 'demo')),
         '%s: and delivered to the demo mailbox' % label)
    for name in ('smtp', 'submission', 'submissions', 'queue'):
        log = os.path.join(run, 'log', name, 'current')
        t.ok(os.path.exists(log), '%s: the %s log is written' % (label, name))
    stopped, rest = stop_run(pr)
    t.ok(stopped, '%s: Ctrl-C stops make run' % label, rest[-2000:])
    svc = os.path.join(run, 'service')
    t.ok(wait_for(lambda: subprocess.run(['s6-svscanctl', '-a', svc], stderr=subprocess.DEVNULL)
                  .returncode != 0, 30), '%s: and its s6-svscan' % label)
    subprocess.run(['s6-svscanctl', '-t', svc], stderr=subprocess.DEVNULL)


try:
    # 1. As root, a clone under a 0700 directory.
    d, p = clone()
    rc, out = make_check(None, '/root', p)
    t.eq(rc, 0, 'root, 0700 checkout: make check passes (%s)' % TESTS)
    if rc:
        t.diag(out[-4000:])
    t.ok('programs copied to' in out, 'root: make check says it copied the programs')
    demo = tempfile.mkdtemp(prefix='pm-t70-demo-')
    os.chmod(demo, 0o755)
    try:
        run_path('root', None, '/root', p, demo)
    finally:
        shutil.rmtree(demo, ignore_errors=True)

    # 2. As an ordinary user, a clone in its own 0700 directory.
    try:
        pwd.getpwnam(TESTUSER)
    except KeyError:
        subprocess.run(['useradd', '--system', '--no-create-home', '--home-dir', '/nonexistent',
                        '--shell', '/usr/sbin/nologin', TESTUSER], check=True)
    d, p = clone(TESTUSER)
    rc, out = make_check(TESTUSER, d, p)
    t.eq(rc, 0, 'ordinary user, 0700 checkout: make check passes (%s)' % TESTS)
    if rc:
        t.diag(out[-4000:])
    run_path('user', TESTUSER, d, p, None)

    # 3. Programs the service users cannot reach: instance-setup refuses,
    # and a service that finds it so at start says why once, stays down.
    priv = tempfile.mkdtemp(dir=tmp)
    os.chmod(tmp, 0o755)
    bindir = os.path.join(priv, 'bin')
    shutil.copytree(BIN, bindir)
    inst = Instance()
    os.chmod(inst.root, 0o755)
    setup = ['instance-setup', '-r', inst.root, '-t', os.path.join(TOP, 'services'),
             '-s', str(free_port()), '-i', '127.0.0.1', '-d', 'example.test']
    r = inst.run(setup + ['-b', bindir], check=False)
    t.eq(r.returncode, 111, 'instance-setup: programs under a 0700 directory: exit 111')
    t.ok('cannot reach %s' % bindir in r.stderr.decode(errors='replace'),
         'instance-setup says which user cannot reach what', r.stderr)
    os.chmod(priv, 0o755)
    r = inst.run(setup + ['-b', bindir], check=False)
    t.eq(r.returncode, 0, 'instance-setup: the same, reachable: exit 0')
    os.chmod(priv, 0o700)   # closed after the set-up
    scan = Scan(inst)
    smtp = scan.dir('smtp')
    t.ok(wait_for(lambda: svstat(smtp, 'up,wantedup') == 'false false', 20),
         'smtp: programs out of reach: down, and wanted down (not restarted)',
         svstat(smtp, 'up,wantedup,normallyup'))
    q = scan.dir('queue')
    t.ok(wait_for(lambda: svstat(q, 'up,wantedup') == 'false false', 20),
         'queue: the same')
    log = os.path.join(inst.root, 'log', 'smtp', 'current')
    t.ok(wait_for(lambda: os.path.exists(log) and 'cannot run' in open(log).read()),
         'smtp: its log says why')
    text = open(log).read() if os.path.exists(log) else ''
    t.eq(text.count('fatal'), 1, 'smtp: once')
    os.chmod(os.path.join(inst.root, 'log', 'smtp'), 0o700)
    os.chown(os.path.join(inst.root, 'log', 'smtp'), 0, 0)
    subprocess.run(['s6-svc', '-r', os.path.join(smtp, 'log')])
    t.ok(wait_for(lambda: svstat(os.path.join(smtp, 'log'), 'up,wantedup') == 'false false', 20),
         'smtp/log: log directory not writable: down, and wanted down')
    scan.stop()
finally:
    cleanup()
