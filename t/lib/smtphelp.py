"""Helpers for the smtp-recv tests: a raw SMTP client that reads whole
replies, and smtp-recv run alone on a socketpair with a capturing fake
injector (to see the exact bytes handed to the queue, or that nothing was).
"""
import os
import socket
import subprocess
import time

import pmtest


class Client:
    """Raw SMTP over a socket: send bytes, read complete replies."""

    def __init__(self, port=None, sock=None, timeout=10.0):
        self.s = sock or socket.create_connection(('127.0.0.1', port), timeout)
        self.s.settimeout(timeout)
        self.buf = b''

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def _line(self):
        while b'\n' not in self.buf:
            b = self.s.recv(65536)
            if not b:
                raise EOFError('server closed the connection; partial: %r' % self.buf)
            self.buf += b
        line, self.buf = self.buf.split(b'\n', 1)
        return line.rstrip(b'\r').decode('utf-8', 'replace')

    def reply(self):
        """(code, [text lines]) of one (possibly multi-line) reply."""
        lines = []
        while True:
            ln = self._line()
            lines.append(ln[4:])
            if len(ln) < 4 or ln[3] != '-':
                return int(ln[:3]) if ln[:3].isdigit() else -1, lines

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, line):
        self.send(line + '\r\n')
        return self.reply()

    def first(self, line):
        """Send a command, return its reply's first line 'CODE text'."""
        c, t = self.cmd(line)
        return '%d %s' % (c, t[0])

    def closed(self, timeout=10.0):
        """True if the server closes the connection (after any pending
        bytes) within timeout."""
        self.s.settimeout(timeout)
        try:
            while True:
                b = self.s.recv(65536)
                if not b:
                    return True
                self.buf += b
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def capture_injector(inst, name='capture', code=0, read=True):
    """A fake queue-inject: saves the message and envelope as cap/N.msg and
    cap/N.env, but only once it has read both (a killed one leaves only
    .part files); exits code. Returns (script path, capture dir)."""
    d = os.path.join(inst.root, name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(inst.root, name + '.sh')
    body = ('cat > "$d/$$.msg.part" || exit 54\n'
            'cat <&1 > "$d/$$.env.part" || exit 54\n'
            'mv "$d/$$.msg.part" "$d/$$.msg"; mv "$d/$$.env.part" "$d/$$.env"\n') if read else ''
    with open(path, 'w') as f:
        f.write('#!/bin/sh\nd=%s\n%sexit %d\n' % (d, body, code))
    os.chmod(path, 0o755)
    return path, d


def captured(d):
    """[(message bytes, [envelope fields])] of the complete captures."""
    out = []
    for n in sorted(os.listdir(d)):
        if n.endswith('.msg'):
            with open(os.path.join(d, n), 'rb') as f:
                msg = f.read()
            with open(os.path.join(d, n[:-4] + '.env'), 'rb') as f:
                env = f.read()
            out.append((msg, env.split(b'\0')))
    return out


class Direct:
    """smtp-recv alone on a socketpair (no tcp-serve, no queue)."""

    def __init__(self, inst, env=None, timeout=10.0):
        a, b = socket.socketpair()
        e = dict(inst.env)
        e.update({'PROTO': 'TCP', 'TCPREMOTEIP': '127.0.0.1', 'TCPREMOTEPORT': '40000'})
        e.update(env or {})
        self.log = os.path.join(inst.root, 'log-direct-%f' % time.time())
        with open(self.log, 'wb') as lf:
            self.p = subprocess.Popen([os.path.join(pmtest.BIN, 'smtp-recv')], stdin=b, stdout=b,
                                      stderr=lf, env=e, start_new_session=True)
        b.close()
        self.c = Client(sock=a, timeout=timeout)

    def wait(self, timeout=20):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()

    def logtext(self):
        with open(self.log, 'rb') as f:
            return f.read().decode(errors='replace')


def crash_free(tap, text, name):
    """Check a program log for sanitizer reports and crashes."""
    bad = [w for w in ('AddressSanitizer', 'runtime error:', 'LeakSanitizer', 'Segmentation')
           if w in text]
    tap.ok(not bad, name, text[-3000:] if bad else None)


def queue_ready(inst, timeout=10.0):
    """Wait until queue-run has made the queue directories (it logs
    "started" then), so that the first message does not race with it."""
    return pmtest.wait_for(lambda: 'started' in inst.log(inst.queue_proc), timeout)
