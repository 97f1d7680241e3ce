#!/usr/bin/env python3
# queue-run and etc/routes (smarthosts): a route to an address (IPv4, IPv6,
# for an address literal domain), "*", ".suffix", "-" (the MX as usual), a
# route by name (mx-lookup of the relay), a relay that cannot be found
# (deferred, not bounced), a relay's 550 (bounced), a malformed file (every
# remote delivery deferred until it is fixed, noticed without a restart),
# remote-send's time limits from the environment.
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, wait_for  # noqa: E402
from smtppeer import SmtpPeer  # noqa: E402
import pmdns  # noqa: E402

t = TAP()
BOB = 'bob@example.test'
inst = Instance(users={BOB: 'pw'})


def inject(rcpts, subject, sender=BOB):
    return inst.inject(sender, rcpts, b'Subject: ' + subject.encode() + b'\n\nbody\n')


def routes(text):
    tmp = os.path.join(inst.root, 'etc', 'routes.tmp')
    with open(tmp, 'w') as f:
        f.write(text)
    os.rename(tmp, os.path.join(inst.root, 'etc', 'routes'))


def rcpts_of(peer):
    """RCPT TO addresses of every closed session of peer."""
    out = []
    for i in range(len(peer.sessions)):
        s = peer.session(i, timeout=0.5)
        if s:
            out += [c[c.find('<') + 1:c.rfind('>')] for c in s.commands if c.upper().startswith('RCPT')]
    return out


def qline(addr):
    out = inst.run(['queue-list']).stdout.decode()
    return next((l.strip() for l in out.splitlines() if l.strip().startswith('<%s>' % addr)), '')


def log():
    return inst.log(q)


def status(addr, st):
    return 'rcpt=<%s> status=%s' % (addr, st) in log()


def has_v6():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(('::1', 0))
        return True
    except OSError:
        return False


def rcpt550(addr):
    return '550 5.1.1 no such user here' if addr.startswith('bad') else '250 2.1.5 ok'


pa = SmtpPeer(rcpt=rcpt550)
pstar = SmtpPeer()
psub = SmtpPeer()
plit = SmtpPeer()
pname = SmtpPeer()
phang = SmtpPeer(hang='greeting')
p6 = SmtpPeer(host='::1') if has_v6() else None
dns = None
if pmdns.available():
    dns = pmdns.DNS(hosts={'relay.test': ['127.0.0.1']}, nullmx=['exempt.test'])
ENV = {'DNS_SERVER': dns.server if dns else '127.0.0.1:1', 'MX_TIMEOUT': '2', 'QUEUE_RETRY_MIN': '120',
       'REMOTE_TIMEOUT': '2', 'REMOTE_CONNECT_TIMEOUT': '2'}

routes('# smarthosts for the test\n'
       'far.test 127.0.0.1:%d\n' % pa.port
       + '*\t127.0.0.1:%d   # everyone else\n' % pstar.port
       + '.sub.test [127.0.0.1]:%d\n' % psub.port
       + '[127.0.0.9] 127.0.0.1:%d\n' % plit.port
       + 'named.test relay.test:%d\n' % pname.port
       + 'broken.test nxhost.test:%d\n' % pname.port
       + 'hang.test 127.0.0.1:%d\n' % phang.port
       + 'exempt.test -\n'
       + ('six.test [::1]:%d\n' % p6.port if p6 else ''))

# queue-run refuses malformed time limits
r = inst.run(['queue-run'], env={'REMOTE_TIMEOUT': '2x'}, check=False, timeout=10)
t.eq(r.returncode, 100, 'REMOTE_TIMEOUT malformed: exit 100')
r = inst.run(['queue-run'], env={'REMOTE_CONNECT_TIMEOUT': '86401'}, check=False, timeout=10)
t.ok(r.returncode == 100 and b'86400' in r.stderr, 'REMOTE_CONNECT_TIMEOUT too large: exit 100', r.stderr)

q = inst.start_queue(env=ENV)
wait_for(lambda: 'started' in log(), 10)

# --- routes to addresses ---------------------------------------------------
t.eq(inject(['a@far.test', 'b@far.test'], 'far'), 0, 'injected for far.test')
t.ok(wait_for(lambda: status('a@far.test', 'delivered') and status('b@far.test', 'delivered'), 10),
     'far.test: delivered to its relay', log())
t.eq(rcpts_of(pa), ['a@far.test', 'b@far.test'], 'in one transaction, no DNS (the relay got both)')
t.ok('host=127.0.0.1' in log() or 'ip=127.0.0.1' in log(), 'remote-send logs the relay', log())

inject(['x@other.test'], 'star')
inject(['y@a.sub.test'], 'sub')
inject(['z@[127.0.0.9]'], 'literal')
t.ok(wait_for(lambda: rcpts_of(pstar) == ['x@other.test'], 10), '* takes any other domain', log())
t.ok(wait_for(lambda: rcpts_of(psub) == ['y@a.sub.test'], 10), '.sub.test takes a domain below it ([IP]:PORT form)',
     log())
t.ok(wait_for(lambda: rcpts_of(plit) == ['z@[127.0.0.9]'], 10), 'an address literal domain can be routed', log())
if p6:
    inject(['v@six.test'], 'six')
    t.ok(wait_for(lambda: rcpts_of(p6) == ['v@six.test'], 10), 'a route to [::1]:PORT', log())
else:
    t.skip('a route to [::1]:PORT', 'no IPv6 loopback')

# --- the relay's replies are the recipients' outcomes ------------------------
n = len(pa.sessions)
inject(['bad@far.test', 'good@far.test'], 'half')
t.ok(wait_for(lambda: status('bad@far.test', 'bounced'), 10) and status('good@far.test', 'delivered'),
     'a relay\'s 550 bounces that recipient only', log())
got = inst.wait_mails(BOB, 1, timeout=10)
t.ok(len(got) == 1 and b'bad@far.test' in got[0] and b'550 5.1.1' in got[0], 'the bounce has the relay\'s reply',
     got[0] if got else log())

# --- remote-send's time limits come from queue-run's environment -------------
t0 = time.time()
inject(['h@hang.test'], 'hang')
t.ok(wait_for(lambda: status('h@hang.test', 'deferred'), 15), 'a relay that never answers: deferred', log())
t.ok(time.time() - t0 < 60 and 'timed out' in qline('h@hang.test'),
     'after REMOTE_TIMEOUT=2, not remote-send\'s default (%.1f s)' % (time.time() - t0), qline('h@hang.test'))

# --- "-": the MX as usual; a route by name ------------------------------------
inject(['e@exempt.test'], 'exempt')
if dns:
    t.ok(wait_for(lambda: status('e@exempt.test', 'bounced'), 10) and '5.1.10' in log(),
         '"-": mx-lookup of the domain itself (its null MX bounces)', log())
    inject(['d@named.test'], 'named')
    t.ok(wait_for(lambda: rcpts_of(pname) == ['d@named.test'], 10),
         'a route by name: mx-lookup of the relay (its implicit MX), its port', log())
    inject(['u@broken.test'], 'broken')
    t.ok(wait_for(lambda: status('u@broken.test', 'deferred'), 10), 'a relay name that does not exist: deferred',
         log())
    t.ok('4.4.3 relay of etc/routes: 5.1.2' in qline('u@broken.test'), 'with the reason', qline('u@broken.test'))
else:
    t.ok(wait_for(lambda: status('e@exempt.test', 'deferred'), 10) and 'mx-lookup' in log(),
         '"-": mx-lookup of the domain itself', log())
    for name in ('a route by name', 'a relay name that does not exist', 'with the reason'):
        t.skip(name, 'dnsmasq is not installed')
t.eq(len(pstar.sessions), 1, 'none of these went to the * relay')

# --- a malformed file: remote deliveries wait until it is fixed -------------
good = open(os.path.join(inst.root, 'etc', 'routes')).read()
routes('far.test 127.0.0.1:%d\nfar2.test 10.0.0.1:99999\n' % pa.port)
time.sleep(1.1)           # the file is checked at most once a second, when there is work
n = len(rcpts_of(pa))
inject(['late@far.test'], 'late')
t.ok(wait_for(lambda: status('late@far.test', 'deferred'), 10), 'remote recipients deferred', log())
t.ok('warning: unusable etc/routes: line 2: invalid port' in log(), 'a warning with the line', log())
t.ok('4.3.5 unusable etc/routes: line 2: invalid port' in qline('late@far.test'), 'queue-list says why',
     qline('late@far.test'))
t.eq(len(rcpts_of(pa)), n, 'nothing sent around the relay')
routes(good)
time.sleep(1.1)           # the file is checked at most once a second
os.kill(q.pid, signal.SIGALRM)
t.ok(wait_for(lambda: status('late@far.test', 'delivered'), 10), 'fixed, then SIGALRM: delivered', log())
t.ok(rcpts_of(pa)[-1:] == ['late@far.test'], 'through the relay')

# --- no file: the MX ----------------------------------------------------------
os.unlink(os.path.join(inst.root, 'etc', 'routes'))
time.sleep(1.1)
inject(['w@far.test'], 'nofile')
t.ok(wait_for(lambda: 'rcpt=<w@far.test> status=' in log(), 10) and 'w@far.test' not in rcpts_of(pa),
     'routes removed: back to mx-lookup', log())
inst.kill(q)
t.eq(q.returncode, 0, 'queue-run exits 0')
