#!/usr/bin/env python3
# spf-check end to end against dnsmasq (t/lib/pmdns.py) through udns: the
# results, a TXT record split in strings, include:, redirect=, exp=, IPv6,
# macros, two records, the 10-term limit, SERVFAIL and a DNS timeout
# (temperror, never a pass), the HELO identity, and bad arguments.
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, BIN  # noqa: E402
import pmdns  # noqa: E402

t = TAP()
if not pmdns.available():
    t.skip_all('dnsmasq is not installed')

SPF = os.path.join(BIN, 'spf-check')
many = ' '.join('a:h%d.john.test' % i for i in range(1, 12))
dns = pmdns.DNS(
    txt={
        'john.test': ['v=spf1 ip4:192.0.2.0/24 ', 'ip6:2001:db8:10::/48 ', 'include:relay.test',
                      ' -all exp=why.john.test'],
        'why.john.test': ['%{i} may not send mail for %{d}'],
        'relay.test': ['v=spf1 a:out.relay.test ~all'],
        'soft.test': ['v=spf1 ip4:10.0.0.1 ~all'],
        'open.test': ['v=spf1 ?all'],
        'redir.test': ['v=spf1 redirect=john.test'],
        'macro.test': ['v=spf1 exists:%{ir}.%{l}.allow.test -all'],
        'many.test': ['v=spf1 %s -all' % many],
        'helo.kate.test': ['v=spf1 a -all'],
        'slowinc.test': ['v=spf1 include:spf.slow.test -all'],
        'failinc.test': ['v=spf1 include:spf.broken.test -all'],
        'plain.test': ['some other text, with a comma'],
        'two.test': [['v=spf1 +all'], ['v=spf1 -all']],
    },
    hosts=dict({
        'out.relay.test': ['198.51.100.7'],
        '4.3.2.10.kate.allow.test': ['127.0.0.2'],
        'helo.kate.test': ['203.0.113.9'],
    }, **{'h%d.john.test' % i: ['10.99.0.%d' % i] for i in range(1, 12)}),
    timeout=['slow.test'],
    servfail=['broken.test'],
)
ENV = dict(os.environ, DNS_SERVER=dns.server, SPF_TIMEOUT='10')


def spf(*args, env=None):
    r = subprocess.run([SPF] + list(args), env=dict(ENV, **(env or {})), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def check(ip, sender, want, name, helo=None, env=None, exp=None):
    args = [ip, sender] + ([helo] if helo is not None else [])
    rc, out, err = spf(*args, env=env)
    lines = out.splitlines()
    ident = ('smtp.mailfrom=' + sender) if sender else ('smtp.helo=' + helo)
    good = (rc == 0 and len(lines) >= 2 and lines[0] == want
            and lines[1] == 'spf=%s %s' % (want, ident))
    if exp is not None:
        good = good and lines[2:] == ['explanation: ' + exp]
    t.ok(good, name + ': ' + want, 'rc=%d out=%r err=%r' % (rc, out, err))
    return err


check('192.0.2.25', 'john@john.test', 'pass', 'ip4 in a record split in 4 strings')
check('2001:db8:10:ff::1', 'john@john.test', 'pass', 'IPv6 range')
check('2001:db8:11::1', 'john@john.test', 'fail', 'outside the IPv6 range',
      exp='2.0.0.1.0.d.b.8.0.0.1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1 may not send mail for john.test')
check('198.51.100.7', 'john@john.test', 'pass', 'include: of a relay')
check('203.0.113.1', 'john@john.test', 'fail', '-all, with its exp= explanation',
      exp='203.0.113.1 may not send mail for john.test')
check('10.0.0.2', 'x@soft.test', 'softfail', '~all')
check('10.0.0.2', 'x@open.test', 'neutral', '?all')
check('192.0.2.1', 'x@redir.test', 'pass', 'redirect=')
check('10.2.3.4', 'kate@macro.test', 'pass', 'exists: with %{ir} and %{l}')
check('10.2.3.5', 'kate@macro.test', 'fail', 'exists: with macros, no match')
err = check('10.99.0.11', 'x@many.test', 'permerror', '11 DNS-querying terms')
t.ok('more than 10' in err, 'the limit said why', err)
check('10.0.0.1', 'x@two.test', 'permerror', 'two SPF records')
check('10.0.0.1', 'x@plain.test', 'none', 'TXT but no SPF record')
check('10.0.0.1', 'x@nothing.test', 'none', 'no such domain')
check('10.0.0.1', 'x@spf.broken.test', 'temperror', 'SERVFAIL')
check('10.0.0.1', 'x@failinc.test', 'temperror', 'SERVFAIL in an include:')
err = check('10.0.0.1', 'x@slowinc.test', 'temperror', 'DNS timeout in an include:',
            env={'SPF_TIMEOUT': '2'})
t.ok('timeout' in err, 'the timeout said why', err)
check('203.0.113.9', '', 'pass', 'null sender: the HELO identity', helo='helo.kate.test')
check('203.0.113.8', '', 'fail', 'null sender, other address', helo='helo.kate.test')
check('::ffff:192.0.2.9', 'john@john.test', 'pass', 'an IPv4-mapped client')
check('192.0.2.9', 'john.test', 'pass', 'a sender without local part')
for args, name in ((['1.2.3.4'], 'one argument'), (['1.2.3', 'a@b.test'], 'bad address'),
                   (['256.1.1.1', 'a@b.test'], 'octet over 255'), (['1.2.3.4', ''], 'null sender, no HELO'),
                   (['1.2.3.4', 'a@' + 'x' * 600], 'sender too long')):
    rc, out, err = spf(*args)
    t.ok(rc == 100 and out == '' and 'usage' in err, 'usage: ' + name, 'rc=%d err=%r' % (rc, err))
rc, out, err = spf('10.0.0.1', 'x@john.test', env={'DNS_SERVER': 'junk'})
t.ok(rc == 111 and out == '' and err.startswith('spf-check: fatal: '), 'bad DNS_SERVER: 111', err)
dns.stop()
