"""Shared helpers for pipemail's TAP tests (Python 3 stdlib only).

A test makes a fresh Instance (its own root directory, its own ports),
starts the programs it needs, and stops them by PID at exit.
"""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get('PM_BUILD') or os.path.join(TOP, 'build')
BIN = os.path.join(BUILD, 'bin')
ASAN = 'build-asan' in BUILD


class TAP:
    """Plan-at-end TAP output; exit status 1 if anything failed."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.last_failed = False
        atexit.register(self._end)

    def _faillog(self, lines):
        """A failure and what was said of it, also to PM_FAILLOG (when
        set): prove shows no test's comments, and CI shows only the end of
        the run, where tools/check.sh prints that file."""
        path = os.environ.get('PM_FAILLOG')
        if path:
            with open(path, 'a') as f:
                f.write(''.join(line + '\n' for line in lines))

    def ok(self, cond, name, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print('%sok %d - %s' % ('' if cond else 'not ', self.n, name), flush=True)
        self.last_failed = not cond
        if cond:
            return cond
        lines = ['#   ' + line for line in str(diag).splitlines() or ['']] if diag is not None else []
        for line in lines:
            print(line, flush=True)
        self._faillog(['%s: not ok %d - %s' % (os.path.basename(sys.argv[0]), self.n, name)] + lines)
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, 'got:  %r\nwant: %r' % (got, want))

    def skip(self, name, reason):
        self.n += 1
        self.last_failed = False
        print('ok %d - %s # SKIP %s' % (self.n, name, reason), flush=True)

    def skip_all(self, reason):
        print('1..0 # SKIP %s' % reason, flush=True)
        self.n = -1
        os._exit(0)

    def diag(self, msg):
        lines = ['# ' + line for line in str(msg).splitlines()]
        for line in lines:
            print(line, flush=True)
        if self.last_failed:
            self._faillog(lines)

    def _end(self):
        if self.n >= 0:
            print('1..%d' % self.n, flush=True)
            if self.failed:
                sys.stdout.flush()
                os._exit(1)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, host='127.0.0.1', timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection((host, port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def wait_for(pred, timeout=20.0, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Instance:
    """One mail host: a root directory with etc/, queue/, mail/ and the
    processes started for it."""

    def __init__(self, domains=('example.test',), users=None, aliases=None,
                 me='mx.example.test', quotas=None):
        self.root = tempfile.mkdtemp(prefix='pm-t-')
        self.procs = []
        self.me = me
        self.env = dict(os.environ)
        self.env['PIPEMAIL_ROOT'] = self.root
        self.env['PATH'] = BIN + ':' + self.env.get('PATH', '/usr/bin:/bin')
        os.makedirs(os.path.join(self.root, 'etc'))
        with open(os.path.join(self.root, 'etc/me'), 'w') as f:
            f.write(me + '\n')
        with open(os.path.join(self.root, 'etc/domains'), 'w') as f:
            f.write(''.join(d + '\n' for d in domains))
        if users is None:
            users = {'demo@example.test': 'demo'}
        quotas = quotas or {}
        for addr, pw in users.items():
            args = ['user-add']
            if addr in quotas:
                args += ['-q', str(quotas[addr])]
            self.run(args + [addr], input=pw + '\n')
        for alias, targets in (aliases or {}).items():
            self.run(['alias-add', alias] + list(targets))
        self.run(['config-make'])
        atexit.register(self.stop)

    # -- running programs -------------------------------------------------
    def run(self, args, input=None, check=True, env=None, **kw):
        e = dict(self.env)
        e.update(env or {})
        if isinstance(input, str):
            input = input.encode()
        r = subprocess.run(args, input=input, env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, **kw)
        if check and r.returncode != 0:
            raise RuntimeError('%s exited %d: %s' % (args, r.returncode,
                                                      r.stderr.decode(errors='replace')))
        return r

    def deliver(self, md, msg, folder=None, rcpt='demo@example.test'):
        """maildir-deliver msg into Maildir md (into its folder .FOLDER
        if given), as the queue does for a mail from a@example.org."""
        args = ['maildir-deliver', md if not folder else os.path.join(md, '.' + folder)]
        return self.run(args, input=msg, env={'SENDER': 'a@example.org', 'RECIPIENT': rcpt})

    def spawn(self, args, env=None, log=None, **kw):
        """Start a long-running program in its own process group."""
        e = dict(self.env)
        e.update(env or {})
        if log is None:
            log = os.path.join(self.root, 'log-%s-%d' % (os.path.basename(args[0]), len(self.procs)))
        out = open(log, 'ab')
        p = subprocess.Popen(args, env=e, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True, **kw)
        p.logfile = log
        self.procs.append(p)
        return p

    def start_smtp(self, port=None, env=None, rules=None, opts=()):
        """tcp-serve 127.0.0.1 PORT smtp-recv; returns the port."""
        port = port or free_port()
        args = ['tcp-serve'] + list(opts)
        if rules:
            args += ['-x', rules]
        args += ['127.0.0.1', str(port), 'smtp-recv']
        self.smtp_proc = self.spawn(args, env=env)
        if not wait_port(port):
            raise RuntimeError('smtp server did not start: ' + self.log(self.smtp_proc))
        self.smtp_port = port
        return port

    def start_imap_mailbox(self, md, t):
        """tcp-serve 127.0.0.1 PORT imap-mailbox MD (PREAUTH): (process,
        port); if it does not start, a failed test t and the end."""
        port = free_port()
        p = self.spawn(['tcp-serve', '127.0.0.1', str(port), 'imap-mailbox', md])
        if not wait_port(port):
            t.ok(False, 'imap-mailbox under tcp-serve started', self.log(p))
            sys.exit(1)
        return p, port

    def start_smtp_tls(self, mode='starttls', cert=None, key=None, port=None, env=None):
        """tcp-serve 127.0.0.1 PORT tls-serve [-S] smtp-recv, with CERTFILE
        and KEYFILE set; mode 'starttls' (-S) or 'implicit'. Returns the port
        (the process is self.smtp_tls_proc)."""
        if mode not in ('starttls', 'implicit'):
            raise ValueError('mode: starttls or implicit')
        port = port or free_port()
        e = {'CERTFILE': cert, 'KEYFILE': key}
        e.update(env or {})
        args = ['tcp-serve', '127.0.0.1', str(port), 'tls-serve']
        args += ['-S'] if mode == 'starttls' else []
        self.smtp_tls_proc = self.spawn(args + ['smtp-recv'], env=e)
        if not wait_port(port):
            raise RuntimeError('smtp server did not start: ' + self.log(self.smtp_tls_proc))
        return port

    def start_queue(self, env=None, opts=()):
        self.queue_proc = self.spawn(['queue-run'] + list(opts), env=env)
        return self.queue_proc

    def log(self, p):
        try:
            with open(p.logfile, 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''

    def kill(self, p, sig=signal.SIGTERM, wait=True):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        if wait:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def stop(self, keep=False):
        for p in self.procs:
            if p.poll() is None:
                self.kill(p)
        self.procs = []
        if not keep and os.environ.get('PM_KEEP') is None and os.path.isdir(self.root):
            shutil.rmtree(self.root, ignore_errors=True)

    # -- looking at results ------------------------------------------------
    def maildir(self, addr, folder=None):
        local, domain = addr.rsplit('@', 1)
        p = os.path.join(self.root, 'mail', domain, local)
        if folder:
            p = os.path.join(p, '.' + folder)
        return p

    def mails(self, addr, folder=None):
        """Contents (bytes) of the messages in addr's new/ and cur/, oldest first."""
        out = []
        d = self.maildir(addr, folder)
        for sub in ('new', 'cur'):
            try:
                names = os.listdir(os.path.join(d, sub))
            except FileNotFoundError:
                continue
            for n in names:
                p = os.path.join(d, sub, n)
                with open(p, 'rb') as f:
                    out.append((os.stat(p).st_mtime, n, f.read()))
        out.sort()
        return [m for _, _, m in out]

    def wait_mails(self, addr, n, timeout=30.0, folder=None):
        return wait_for(lambda: len(self.mails(addr, folder)) >= n and self.mails(addr, folder), timeout) or []

    def inject(self, sender, rcpts, msg, env=None):
        """queue-inject one message (qmail-queue protocol); its exit code."""
        envelope = ('F' + sender + '\0' + ''.join('T' + r + '\0' for r in rcpts) + '\0').encode()
        r, w = os.pipe()
        os.write(w, envelope)
        os.close(w)
        p = subprocess.run(['queue-inject'], input=msg, stdout=r, stderr=subprocess.PIPE,
                           env=dict(self.env, **(env or {})))
        os.close(r)
        return p.returncode

    def queue_ids(self):
        ids = []
        base = os.path.join(self.root, 'queue', 'msg')
        if os.path.isdir(base):
            for h in os.listdir(base):
                ids += os.listdir(os.path.join(base, h))
        return ids


def split_message(data):
    """(headers, body) of a stored message (LF line ends)."""
    i = data.find(b'\n\n')
    if i < 0:
        return data, b''
    return data[:i + 1], data[i + 2:]


def strip_added(data, names=(b'return-path', b'delivered-to', b'received')):
    """The message less the leading trace headers that pipemail adds."""
    lines = data.split(b'\n')
    i = 0
    while i < len(lines):
        ln = lines[i]
        name = ln.split(b':', 1)[0].lower()
        if name in names:
            i += 1
            while i < len(lines) and lines[i][:1] in (b' ', b'\t'):
                i += 1
            continue
        break
    return b'\n'.join(lines[i:])


def smtp_chat(port, data, timeout=10.0, host='127.0.0.1'):
    """Send raw bytes in one write, read until the server closes or is idle."""
    s = socket.create_connection((host, port), timeout)
    s.settimeout(timeout)
    out = b''
    try:
        out += s.recv(4096)
        s.sendall(data)
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            out += b
    finally:
        s.close()
    return out
