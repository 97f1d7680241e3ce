"""A throwaway DNS server for tests: dnsmasq answering from given records only.

    import pmdns
    if not pmdns.available(): t.skip_all('dnsmasq is not installed')
    dns = pmdns.DNS(
        mx={'kate.test': [(10, 'mx1.kate.test'), (20, 'mx2.kate.test')]},
        hosts={'mx1.kate.test': ['127.0.0.1', '::1']},   # A and AAAA records
        cname={'www.kate.test': 'mx1.kate.test'},        # alias -> target
        txt={'kate.test': ['v=spf1 mx ', '-all'],        # a TXT record, its strings
             'two.test': [['one'], ['two']],             # several TXT records
             's._domainkey.kate.test': 'v=DKIM1; p=...'},  # a str: cut in 255s
        nullmx=['nomail.test'],                          # RFC 7505 "MX 0 ."
        servfail=['broken.test'],                        # SERVFAIL, at once
        timeout=['slow.test'],                           # no answer at all
    )
    env['DNS_SERVER'] = dns.server                       # "127.0.0.1:PORT"
    ...
    dns.stop()                                           # also done at exit

Answers:
- the records given (a host may have several addresses; a CNAME target must
  be one of the names given);
- under the zones in `local` (default ('test',)): NXDOMAIN for a name with no
  record at all, an empty answer (NODATA) for a name with records of other
  types only;
- SERVFAIL for the names under the `servfail` zones, immediately (dnsmasq
  forwards them to a responder thread of this process that says SERVFAIL);
- no answer at all for the names under the `timeout` zones (dnsmasq forwards
  them to a UDP socket of this process that is never read): the client's
  own time limit decides;
- REFUSED for anything else (dnsmasq has no upstream server).

`extra` adds dnsmasq options, e.g. '--edns-packet-max=4096' for large answers
(dnsmasq's default of 1232 bytes truncates them).

dnsmasq listens on addr (default 127.0.0.1; 127.0.0.2 etc. work too) on a
free port, or the port given (53 needs root). It runs in the foreground in its
own session and is stopped by its PID. Its log, queries included, is in
dns.logfile; dns.log() returns it. PM_KEEP=1 keeps its directory.
"""
import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

DNSMASQ = shutil.which('dnsmasq') or '/usr/sbin/dnsmasq'


def available():
    """True if dnsmasq is installed (else the caller should skip)."""
    return os.access(DNSMASQ, os.X_OK)


def _family(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def _free_port(addr):
    """A port free for both TCP and UDP on addr (dnsmasq binds both)."""
    for _ in range(50):
        with socket.socket(_family(addr), socket.SOCK_STREAM) as t:
            t.bind((addr, 0))
            port = t.getsockname()[1]
            with socket.socket(_family(addr), socket.SOCK_DGRAM) as u:
                try:
                    u.bind((addr, port))
                except OSError:
                    continue
                return port
    raise RuntimeError('no free port on ' + addr)


class _ServfailResponder:
    """A UDP server in a daemon thread answering SERVFAIL to every query."""

    def __init__(self, addr):
        self.sock = socket.socket(_family(addr), socket.SOCK_DGRAM)
        self.sock.bind((addr, 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            if len(q) >= 12 and not q[2] & 0x80:
                # same id and question; QR, opcode and RD kept; RA, RCODE 2
                r = q[:2] + bytes([0x80 | (q[2] & 0x79), 0x82]) + q[4:6] + bytes(6) + q[12:]
                try:
                    self.sock.sendto(r, peer)
                except OSError:
                    pass

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class DNS:
    def __init__(self, mx=None, hosts=None, cname=None, nullmx=(), servfail=(),
                 local=('test',), addr='127.0.0.1', port=None, extra=(), timeout=(), txt=None):
        self.addr = addr
        self.dir = tempfile.mkdtemp(prefix='pm-dns-')
        self.logfile = os.path.join(self.dir, 'dnsmasq.log')
        self.proc = None
        self._servfail = None
        self._blackhole = None
        args = ['--keep-in-foreground', '--no-resolv', '--no-hosts', '--no-poll',
                '--conf-file=/dev/null', '--bind-interfaces', '--listen-address=' + addr,
                '--log-facility=-', '--log-queries', '--cache-size=0',
                '--pid-file=' + os.path.join(self.dir, 'pid'),
                '--user=' + pwd.getpwuid(os.getuid()).pw_name]
        args += ['--local=/%s/' % z for z in local]
        for dom, targets in (mx or {}).items():
            args += ['--mx-host=%s,%s,%d' % (dom, host, pref) for pref, host in targets]
        # --mx-host cannot name the root: raw RDATA, preference 0, name "."
        args += ['--dns-rr=%s,15,000000' % dom for dom in nullmx]
        for name, addrs in (hosts or {}).items():
            args += ['--host-record=%s,%s' % (name, a) for a in addrs]
        args += ['--cname=%s,%s' % (alias, target) for alias, target in (cname or {}).items()]
        # TXT records as raw RDATA (each string: its length, its bytes), so
        # that commas, quotes and empty strings pass as they are: a str is
        # one record cut into strings of 255 bytes, a list of str one
        # record of those strings, a list of lists several records
        for name, strings in (txt or {}).items():
            if isinstance(strings, str):
                strings = [strings[i:i + 255] for i in range(0, len(strings), 255)] or ['']
            for rec in (strings if strings and isinstance(strings[0], list) else [strings]):
                data = b''.join(bytes([len(x.encode())]) + x.encode() for x in rec)
                args += ['--dns-rr=%s,16,%s' % (name, data.hex())]
        if servfail:
            self._servfail = _ServfailResponder(addr)
            hostpart = '%s#%d' % (addr, self._servfail.port)
            args += ['--server=/%s/%s' % (dom, hostpart) for dom in servfail]
        if timeout:
            self._blackhole = socket.socket(_family(addr), socket.SOCK_DGRAM)
            self._blackhole.bind((addr, 0))
            hostpart = '%s#%d' % (addr, self._blackhole.getsockname()[1])
            args += ['--server=/%s/%s' % (dom, hostpart) for dom in timeout]
        args += list(extra)
        atexit.register(self.stop)
        for _ in range(1 if port else 5):     # a free port may be taken meanwhile
            self.port = port or _free_port(addr)
            self._start(args + ['--port=%d' % self.port])
            if self._wait_ready():
                break
            self._kill()
        if self.proc is None:
            raise RuntimeError('dnsmasq did not start:\n' + self.log())
        self.server = '%s:%d' % ('[%s]' % addr if ':' in addr else addr, self.port)

    def _start(self, args):
        with open(self.logfile, 'ab') as out:
            self.proc = subprocess.Popen([DNSMASQ] + args, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def _wait_ready(self, timeout=10.0):
        """Ready when dnsmasq answers a query (any answer) on UDP."""
        query = b'\x12\x34\x01\x00\x00\x01' + bytes(6) + b'\x05ready\x07invalid\x00\x00\x01\x00\x01'
        deadline = time.time() + timeout
        with socket.socket(_family(self.addr), socket.SOCK_DGRAM) as s:
            s.settimeout(0.05)
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    return False
                try:
                    s.sendto(query, (self.addr, self.port))
                    if s.recv(512)[:2] == query[:2]:
                        return True
                except OSError:
                    time.sleep(0.05)
        return False

    def _kill(self):
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()

    def log(self):
        try:
            with open(self.logfile, 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''

    def stop(self):
        """Stop dnsmasq by its PID and clean up (safe to call twice)."""
        self._kill()
        if self._servfail is not None:
            self._servfail.close()
            self._servfail = None
        if self._blackhole is not None:
            self._blackhole.close()
            self._blackhole = None
        if os.environ.get('PM_KEEP') is None:
            shutil.rmtree(self.dir, ignore_errors=True)
