"""The two-domain journey of issue 3, shared by t/52-journey.t (each host in
its own network namespace, port 25, MX records from dnsmasq) and
t/53-journey-loopback.t (both hosts on loopback ports, linked by etc/routes).

    net = NetnsNet(...) or LoopNet(...)
    story(t, net)

A net says where each host listens and how to run a program "on" a host;
the story is the same. Hosts:
  john.test  one MTA address (mx.john.test), user john
  kate.test  two MTA addresses (mx1.kate.test, preference 10, and
             mx2.kate.test, 20) of one instance; users kate and kate2
Each host has an MTA listener per address (tcp-serve + smtp-recv, no
relaying), a submission listener on its loopback (RELAYCLIENT set) and a
queue-run. Processes are started by the test and stopped by PID.

For TLS (t/63): a host's `certs` (MTA label -> (certfile, keyfile)) puts
that listener's smtp-recv under `tls-serve -S` (STARTTLS), `queue_env`
adds to queue-run's environment (e.g. TLS_CAFILE), tls_policy() writes
etc/tls-policy, and LoopNet(byname=True) links the hosts by routes by name
(mx-lookup, so remote-send has MX host names to verify).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from pmtest import Instance, wait_for, free_port

IP = shutil.which('ip') or '/usr/sbin/ip'

# An SMTP submission run "on" a host (inside its namespace if it has one).
SUBMIT = r'''
import smtplib, sys
host, port, sender, rcpts = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
s = smtplib.SMTP(host, port, timeout=20)
s.ehlo('client.test')
bad = s.sendmail(sender, rcpts, sys.stdin.buffer.read())
s.quit()
print(repr(bad))
'''

# Wait until host:port accepts connections (run inside the namespace).
PROBE = r'''
import socket, sys, time
end = time.time() + 10
while time.time() < end:
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.02)
sys.exit(1)
'''

QUEUE_ENV = {
    'MX_TIMEOUT': '2',               # the DNS that times out: 2 s
    'QUEUE_RETRY_MIN': '120',        # retries only when the test says (SIGALRM)
    'REMOTE_CONNECT_TIMEOUT': '3',
    'REMOTE_TIMEOUT': '10',
    'REMOTE_DATA_TIMEOUT': '10',
}


class Host:
    def __init__(self, net, name, domain, users, me):
        self.net = net
        self.name = name
        self.domain = domain
        self.inst = Instance(domains=(domain,), users=users, me=me)
        self.mta = {}        # label -> (addr, port, proc)
        self.queue = None
        self.certs = {}      # label -> (certfile, keyfile): STARTTLS on that listener
        self.queue_env = {}  # more environment for queue-run

    def cmd(self, args):
        return self.net.wrap(self, args)

    def run(self, args, **kw):
        return self.inst.run(self.cmd(args), check=False, timeout=60, **kw)

    def wait_listening(self, addr, port):
        return self.run([sys.executable, '-c', PROBE, addr, str(port)]).returncode == 0

    def listen(self, label, addr, port, env=None, tls=None):
        """tcp-serve + smtp-recv; with tls=(certfile, keyfile), smtp-recv
        runs under tls-serve -S and offers STARTTLS."""
        args = ['tcp-serve', addr, str(port)]
        if tls:
            args += ['tls-serve', '-S']
            env = dict(env or {}, CERTFILE=tls[0], KEYFILE=tls[1])
        p = self.inst.spawn(self.cmd(args + ['smtp-recv']), env=env,
                            log=os.path.join(self.inst.root, 'log-' + label))
        if not self.wait_listening(addr, port):
            raise RuntimeError('%s %s:%d did not start: %s' % (self.name, addr, port, self.inst.log(p)))
        return p

    def start_mta(self, label):
        addr, port = self.net.mta_addr(self, label)
        self.mta[label] = (addr, port, self.listen(label, addr, port, tls=self.certs.get(label)))

    def stop_mta(self, label):
        self.inst.kill(self.mta[label][2])

    def mta_log(self, label):
        return self.inst.log(self.mta[label][2])

    def start_submission(self):
        self.sub_addr, self.sub_port = self.net.sub_addr(self)
        self.sub = self.listen('submission', self.sub_addr, self.sub_port, env={'RELAYCLIENT': ''})

    def start_queue(self):
        env = dict(QUEUE_ENV, DNS_SERVER=self.net.dns_server(self))
        env.update(self.queue_env)
        self.queue = self.inst.spawn(self.cmd(['queue-run']), env=env,
                                     log=os.path.join(self.inst.root, 'log-queue-run'))
        return self.queue

    def qlog(self):
        return self.inst.log(self.queue)

    def alarm(self):
        os.kill(self.queue.pid, signal.SIGALRM)

    def submit(self, sender, rcpts, subject, body='Hello.\n', extra=''):
        msg = ('From: <%s>\nTo: %s\nSubject: %s\n%s\n%s' % (
            sender, ', '.join('<%s>' % r for r in rcpts), subject, extra, body)).replace('\n', '\r\n')
        r = self.run([sys.executable, '-c', SUBMIT, self.sub_addr, str(self.sub_port), sender] + list(rcpts),
                     input=msg.encode())
        if r.returncode != 0:
            raise RuntimeError('submission failed: %s' % r.stderr.decode(errors='replace'))

    def qlist(self):
        return self.inst.run(['queue-list'], check=False).stdout.decode(errors='replace')

    def tls_policy(self, text):
        """etc/tls-policy (remote-send reads it at each delivery)."""
        with open(os.path.join(self.inst.root, 'etc', 'tls-policy.tmp'), 'w') as f:
            f.write(text)
        os.rename(os.path.join(self.inst.root, 'etc', 'tls-policy.tmp'),
                  os.path.join(self.inst.root, 'etc', 'tls-policy'))

    def routes(self, text):
        with open(os.path.join(self.inst.root, 'etc', 'routes.tmp'), 'w') as f:
            f.write(text)
        os.rename(os.path.join(self.inst.root, 'etc', 'routes.tmp'), os.path.join(self.inst.root, 'etc', 'routes'))


def make_dns(hosts, **kw):
    """dnsmasq (t/lib/pmdns.py) with the journey's records: the MX of both
    domains, the addresses given, a null MX domain and a silent zone."""
    import pmdns
    return pmdns.DNS(mx={'john.test': [(10, 'mx.john.test')],
                         'kate.test': [(10, 'mx1.kate.test'), (20, 'mx2.kate.test')]},
                     hosts=hosts, nullmx=['nomx.test'], timeout=['slow.test'], **kw)


def headers(msg):
    return msg.split(b'\n\n', 1)[0].decode(errors='replace')


def received(msg):
    """The Received: fields, top first, unfolded."""
    h = re.sub(r'\n[ \t]+', ' ', headers(msg))
    return [l for l in h.split('\n') if l.lower().startswith('received:')]


def subject(msg):
    m = re.search(r'^Subject: (.*)$', headers(msg), re.M)
    return m.group(1) if m else ''


def bounces(host, addr):
    return [m for m in host.inst.mails(addr) if b'MAILER-DAEMON@' in m.split(b'\n\n', 1)[0]]


def by_subject(host, addr, subj):
    return [m for m in host.inst.mails(addr) if subject(m) == subj]


def rcpt_line(qlist, addr):
    for l in qlist.splitlines():
        if l.strip().startswith('<%s>' % addr):
            return l.strip()
    return ''


def story(t, net):
    john = Host(net, 'john', 'john.test', {'john@john.test': 'pw'}, 'mx.john.test')
    kate = Host(net, 'kate', 'kate.test', {'kate@kate.test': 'pw', 'kate2@kate.test': 'pw'}, 'mail.kate.test')
    net.setup(john, kate)
    for h in (john, kate):
        for label in net.mta_labels(h):
            h.start_mta(label)
        h.start_submission()
        h.start_queue()
    jaddr = john.mta['mx'][0]
    kaddrs = (kate.mta['mx1'][0], kate.mta['mx2'][0])

    # 1, 2: john -> kate, two hops
    john.submit('john@john.test', ['kate@kate.test'], 'hello kate')
    got = kate.inst.wait_mails('kate@kate.test', 1, timeout=20)
    t.ok(len(got) == 1 and subject(got[0]) == 'hello kate', 'john -> kate: in kate\'s Maildir',
         john.qlog() + kate.mta_log('mx1'))
    if got:
        rc = received(got[0])
        t.ok(len(rc) == 2, 'two Received: fields', '\n'.join(rc))
        t.ok(len(rc) == 2 and 'by mail.kate.test' in rc[0] and '[%s]' % jaddr in rc[0]
             and 'by mx.john.test' in rc[1], 'the hops: john\'s host to kate\'s, the client to john\'s host',
             '\n'.join(rc))
    # the Maildir may get it before john's queue-run has read the report
    t.ok(wait_for(lambda: 'rcpt=<kate@kate.test> status=delivered' in john.qlog(), 10),
         'john\'s queue-run logs the delivery', john.qlog())

    # 3: kate's reply
    kate.submit('kate@kate.test', ['john@john.test'], 'Re: hello kate', extra='In-Reply-To: <x@john.test>\n')
    got = john.inst.wait_mails('john@john.test', 1, timeout=20)
    t.ok(len(got) == 1 and subject(got[0]) == 'Re: hello kate', 'kate\'s reply reaches john', kate.qlog())
    if got:
        rc = received(got[0])
        t.ok(len(rc) == 2 and 'by mx.john.test' in rc[0] and any('[%s]' % a in rc[0] for a in kaddrs)
             and 'by mail.kate.test' in rc[1], 'its two hops', '\n'.join(rc))

    # 6: two recipients of one domain, one SMTP transaction
    john.submit('john@john.test', ['kate@kate.test', 'kate2@kate.test'], 'to both')
    ok = wait_for(lambda: by_subject(kate, 'kate@kate.test', 'to both') and by_subject(kate, 'kate2@kate.test', 'to both'), 20)
    t.ok(ok, 'two recipients at kate.test: both delivered')
    t.ok(wait_for(lambda: 'rcpts=2 status=queued' in kate.mta_log('mx1'), 10),
         'one session at kate\'s host with rcpts=2', kate.mta_log('mx1'))
    t.ok(wait_for(lambda: re.search(r'remote-send: info: domain=kate.test .*status=sent sent=2 ', john.qlog()), 10),
         'one remote-send for both (john\'s log: sent=2)', john.qlog())

    # 5: refused with 550 -> exactly one bounce naming the recipient and kate's reply
    john.submit('john@john.test', ['nobody@kate.test'], 'to nobody')
    b = wait_for(lambda: bounces(john, 'john@john.test'), 20) or []
    time.sleep(0.5)      # a second bounce would come now
    b = bounces(john, 'john@john.test')
    t.eq(len(b), 1, 'a 550 from kate: one bounce in john\'s mailbox')
    if b:
        text = b[0].decode(errors='replace')
        t.ok('nobody@kate.test' in text and '550' in text and '5.1.1' in text
             and ('mail.kate.test' in text or kaddrs[0] in text), 'it names the recipient and kate\'s reply', text)
    t.ok(wait_for(lambda: not rcpt_line(john.qlist(), 'nobody@kate.test'), 5), 'the refused message left john\'s queue',
         john.qlist())

    if not net.dns:
        for name in ('MX preference', 'both MX down', 'null MX', 'DNS timeout'):
            t.skip(name, net.nodns)
        return john, kate
    net.mx_routes(john, kate)

    # 4: the preferred MX down -> the second one
    kate.stop_mta('mx1')
    n = len(kate.inst.mails('kate@kate.test'))
    john.submit('john@john.test', ['kate@kate.test'], 'via the backup')
    ok = wait_for(lambda: by_subject(kate, 'kate@kate.test', 'via the backup'), 20)
    t.ok(ok, 'mx1 down: delivered through mx2', john.qlog())
    t.ok(wait_for(lambda: 'rcpts=1 status=queued' in kate.mta_log('mx2'), 10), 'mx2 took it', kate.mta_log('mx2'))

    # both down: stays queued; one back + SIGALRM: delivered
    kate.stop_mta('mx2')
    john.submit('john@john.test', ['kate@kate.test'], 'while down')
    ok = wait_for(lambda: 'rcpt=<kate@kate.test> status=deferred' in john.qlog(), 20)
    line = rcpt_line(john.qlist(), 'kate@kate.test')
    t.ok(ok and re.search(r'deferred attempts=1 next=in \S+ last=\S+ ago reason=".*4\.4\.1', line),
         'both MX down: deferred (queue-list: last attempt, next try, reason)', line + '\n' + john.qlog())
    t.eq(len(kate.inst.mails('kate@kate.test')), n + 1, 'nothing delivered meanwhile')
    kate.start_mta('mx1')
    t0 = time.time()
    john.alarm()
    ok = wait_for(lambda: by_subject(kate, 'kate@kate.test', 'while down'), 20)
    t.ok(ok and time.time() - t0 < 60, 'mx1 back, SIGALRM: delivered (%.1f s)' % (time.time() - t0), john.qlog())
    t.ok(wait_for(lambda: not rcpt_line(john.qlist(), 'kate@kate.test'), 5), 'and gone from the queue', john.qlist())

    # null MX: bounces at once
    nb = len(bounces(john, 'john@john.test'))
    john.submit('john@john.test', ['x@nomx.test'], 'to a null MX')
    ok = wait_for(lambda: len(bounces(john, 'john@john.test')) > nb, 15)
    b = bounces(john, 'john@john.test')
    t.ok(ok and 'x@nomx.test' in b[-1].decode(errors='replace') and '5.1.10' in b[-1].decode(errors='replace'),
         'null MX: bounced at once, 5.1.10', b[-1].decode(errors='replace') if b else john.qlog())

    # DNS timeout: stays queued
    john.submit('john@john.test', ['x@slow.test'], 'to a silent DNS zone')
    ok = wait_for(lambda: 'rcpt=<x@slow.test> status=deferred' in john.qlog(), 20)
    line = rcpt_line(john.qlist(), 'x@slow.test')
    t.ok(ok and 'deferred attempts=1' in line and '4.4.3' in line, 'DNS timeout: deferred', line + '\n' + john.qlog())
    t.eq(len(bounces(john, 'john@john.test')), nb + 1, 'no bounce for it')
    return john, kate


class LoopNet:
    """Both hosts on loopback: john's MTA 127.0.0.1:PJ, kate's 127.0.0.1:PK
    (mx1) and 127.0.0.2:PK (mx2), submissions on other ports; etc/routes
    links them (john: kate.test 127.0.0.1:PK; kate: john.test 127.0.0.1:PJ).
    With dnsmasq, the MX part routes kate.test by name (kate.test:PK), so
    mx-lookup gives kate.test's MX list and remote-send uses port PK.
    byname=True (needs dns_factory) routes by name from the start, both ways
    (kate.test:PK, john.test:PJ): every hop has MX host names (for TLS
    verify)."""

    def __init__(self, dns_factory=None, nodns='', byname=False):
        if byname and not dns_factory:
            raise ValueError('byname needs a DNS server')
        self.byname = byname
        self.dns_factory = dns_factory
        self.dns = None
        self.nodns = nodns
        self.pj = free_port()
        self.pk = self._free_both()

    def _free_both(self):
        for _ in range(50):
            p = free_port()
            try:
                with socket.socket() as s:
                    s.bind(('127.0.0.2', p))
                return p
            except OSError:
                continue
        raise RuntimeError('no port free on 127.0.0.1 and 127.0.0.2')

    def wrap(self, host, args):
        return list(args)

    def mta_labels(self, host):
        return ['mx'] if host.name == 'john' else ['mx1', 'mx2']

    def mta_addr(self, host, label):
        return {'mx': ('127.0.0.1', self.pj), 'mx1': ('127.0.0.1', self.pk), 'mx2': ('127.0.0.2', self.pk)}[label]

    def sub_addr(self, host):
        return ('127.0.0.1', free_port())

    def dns_server(self, host):
        return self.dns.server if self.dns else '127.0.0.1:1'

    def setup(self, john, kate):
        if self.byname:
            john.routes('kate.test kate.test:%d\n' % self.pk)
            kate.routes('# the way back\njohn.test john.test:%d\n' % self.pj)
        else:
            john.routes('kate.test 127.0.0.1:%d\n' % self.pk)
            kate.routes('# the way back\njohn.test 127.0.0.1:%d\n' % self.pj)
        if self.dns_factory:
            self.dns = self.dns_factory({'mx.john.test': ['127.0.0.1'], 'mx1.kate.test': ['127.0.0.1'],
                                         'mx2.kate.test': ['127.0.0.2']})

    def mx_routes(self, john, kate):
        # by name: kate.test's own MX records, on port PK (queue-run rereads it)
        john.routes('kate.test kate.test:%d\n' % self.pk)
        time.sleep(1.1)


class NetnsNet:
    """john and kate in their own network namespaces, linked by a veth pair
    (john 198.18.1.2; kate 198.18.1.3 = mx1 and 198.18.1.4 = mx2), port 25.
    Each also has a veth pair to the root namespace, where dnsmasq listens
    on the root ends (PID-dependent /30s in 198.19.0.0/16, RFC 2544
    benchmarking space). Names carry the test's PID; teardown() deletes
    them all (atexit as well)."""

    def __init__(self, dns_factory):
        pid = os.getpid()
        self.dns_factory = dns_factory
        self.dns = None
        self.nodns = ''
        self.ns = {'john': 'pmj%d' % pid, 'kate': 'pmk%d' % pid}
        self.links = []
        base = (pid % 8192) * 8
        a, b = base // 256, base % 256
        self.rootaddr = {'john': '198.19.%d.%d' % (a, b + 1), 'kate': '198.19.%d.%d' % (a, b + 5)}
        self.uplink = {'john': ('198.19.%d.%d' % (a, b + 2), 'prj%d' % pid, 'pjr%d' % pid),
                       'kate': ('198.19.%d.%d' % (a, b + 6), 'prk%d' % pid, 'pkr%d' % pid)}
        self.addrs = {'mx': '198.18.1.2', 'mx1': '198.18.1.3', 'mx2': '198.18.1.4'}
        self.pid = pid

    def ip(self, *args):
        r = subprocess.run([IP] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        if r.returncode != 0:
            raise RuntimeError('ip %s: %s' % (' '.join(args), r.stderr.decode(errors='replace').strip()))

    def create(self):
        """Namespaces, links and addresses; raises RuntimeError (the reason)."""
        for ns in self.ns.values():
            self.ip('netns', 'add', ns)
        jn, kn = self.ns['john'], self.ns['kate']
        # john <-> kate
        self.ip('link', 'add', 'pjk%d' % self.pid, 'type', 'veth', 'peer', 'name', 'pkj%d' % self.pid)
        self.links.append('pjk%d' % self.pid)
        self.ip('link', 'set', 'pjk%d' % self.pid, 'netns', jn)
        self.ip('link', 'set', 'pkj%d' % self.pid, 'netns', kn)
        self.ip('-n', jn, 'addr', 'add', self.addrs['mx'] + '/24', 'dev', 'pjk%d' % self.pid)
        self.ip('-n', kn, 'addr', 'add', self.addrs['mx1'] + '/24', 'dev', 'pkj%d' % self.pid)
        self.ip('-n', kn, 'addr', 'add', self.addrs['mx2'] + '/24', 'dev', 'pkj%d' % self.pid)
        self.ip('-n', jn, 'link', 'set', 'pjk%d' % self.pid, 'up')
        self.ip('-n', kn, 'link', 'set', 'pkj%d' % self.pid, 'up')
        # each <-> the root namespace (DNS)
        for h in ('john', 'kate'):
            addr, rootend, nsend = self.uplink[h]
            self.ip('link', 'add', rootend, 'type', 'veth', 'peer', 'name', nsend)
            self.links.append(rootend)
            self.ip('link', 'set', nsend, 'netns', self.ns[h])
            self.ip('addr', 'add', self.rootaddr[h] + '/30', 'dev', rootend)
            self.ip('link', 'set', rootend, 'up')
            self.ip('-n', self.ns[h], 'addr', 'add', addr + '/30', 'dev', nsend)
            self.ip('-n', self.ns[h], 'link', 'set', nsend, 'up')
            self.ip('-n', self.ns[h], 'link', 'set', 'lo', 'up')

    def teardown(self):
        for l in self.links:
            subprocess.run([IP, 'link', 'del', l], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.links = []
        for ns in self.ns.values():
            subprocess.run([IP, 'netns', 'del', ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wrap(self, host, args):
        return [IP, 'netns', 'exec', self.ns[host.name]] + list(args)

    def mta_labels(self, host):
        return ['mx'] if host.name == 'john' else ['mx1', 'mx2']

    def mta_addr(self, host, label):
        return (self.addrs[label], 25)

    def sub_addr(self, host):
        return ('127.0.0.1', 587)

    def dns_server(self, host):
        return '%s:%d' % (self.rootaddr[host.name], self.dns.port)

    def setup(self, john, kate):
        self.dns = self.dns_factory({'mx.john.test': [self.addrs['mx']], 'mx1.kate.test': [self.addrs['mx1']],
                                     'mx2.kate.test': [self.addrs['mx2']]},
                                    addr=self.rootaddr['john'],
                                    extra=['--listen-address=' + self.rootaddr['kate']])

    def mx_routes(self, john, kate):
        pass
