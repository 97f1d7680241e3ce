#!/usr/bin/env python3
# mx-lookup alone, against dnsmasq (t/lib/pmdns.py): order of trial, implicit
# MX, null MX, NXDOMAIN, SERVFAIL, REFUSED, timeouts, CNAMEs, AAAA, literals,
# the bounds, and chain mode ($MXLIST, nothing run on failure).
import atexit
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, BIN  # noqa: E402
import pmdns  # noqa: E402

t = TAP()
if not pmdns.available():
    t.skip_all('dnsmasq is not installed')

MX = os.path.join(BIN, 'mx-lookup')
tmp = tempfile.mkdtemp(prefix='pm-mx-')
atexit.register(shutil.rmtree, tmp, True)

many = {'h%02d.many.test' % i: ['10.1.0.%d' % i] for i in range(1, 61)}
dns = pmdns.DNS(
    mx={
        'kate.test': [(10, 'mx1.kate.test'), (20, 'mx2a.kate.test'), (20, 'mx2b.kate.test'),
                      (30, 'mx3.kate.test'), (40, 'gone.kate.test')],
        'cn.test': [(10, 'alias.kate.test')],
        'dead.test': [(10, 'nohost.test'), (20, 'gone.kate.test')],
        'half.test': [(10, 'mx.broken.test'), (20, 'mx1.kate.test')],
        'allbroken.test': [(10, 'a.broken.test'), (20, 'b.broken.test')],
        'dup.test': [(30, 'mx1.kate.test'), (10, 'MX1.kate.test.'), (20, 'mx2a.kate.test')],
        'many.test': [(i, 'h%02d.many.test' % i) for i in range(60, 0, -1)],
        'wide.test': [(10, 'wide.kate.test')],
        'mixed.test': [(10, 'mixed.kate.test')],
    },
    hosts=dict({
        'mx1.kate.test': ['127.0.0.1'],
        'mx2a.kate.test': ['127.0.0.2'],
        'mx2b.kate.test': ['127.0.0.3', '127.0.0.4'],
        'mx3.kate.test': ['2001:db8::25'],
        'plain.test': ['10.0.0.1'],
        'six.test': ['2001:db8::1:0:0:5'],
        'both.test': ['10.0.0.2', '::1'],
        'wide.kate.test': ['10.2.0.%d' % i for i in range(1, 13)],
        'mixed.kate.test': ['10.3.0.%d' % i for i in range(1, 13)]
                           + ['2001:db8::%d' % i for i in range(1, 4)],
    }, **many),
    cname={'alias.kate.test': 'mx1.kate.test', 'alias-dom.test': 'kate.test',
           'www.plain.test': 'plain.test'},
    nullmx=['nomail.test'],
    servfail=['broken.test'],
    extra=['--edns-packet-max=4096'],   # 60 MX records do not fit in 1232 bytes
)
ENV = dict(os.environ, DNS_SERVER=dns.server, MX_TIMEOUT='10')


def mx(*args, env=None, input=None):
    e = dict(ENV, **(env or {}))
    r = subprocess.run([MX] + list(args), env=e, input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def lines(out):
    return out.splitlines()


def check_fail(args, code, prefix, name, env=None):
    rc, out, err = mx(*args, env=env)
    t.ok(rc == code and out == '' and err.startswith('mx-lookup: fatal: ' + prefix)
         and err.count('\n') == 1, name, 'rc=%d out=%r err=%r' % (rc, out, err))
    return err


# --- order of trial ----------------------------------------------------------
rc, out, err = mx('kate.test')
ls = lines(out)
t.ok(rc == 0 and err == '', 'kate.test: exit 0, nothing on stderr', err)
t.eq(ls[0], '10 mx1.kate.test 127.0.0.1', 'lowest preference first')
t.eq(sorted(' '.join(l.split()[:2] + sorted(l.split()[2:])) for l in ls[1:3]),
     ['20 mx2a.kate.test 127.0.0.2', '20 mx2b.kate.test 127.0.0.3 127.0.0.4'],
     'the two preference-20 hosts next, all their addresses')
t.eq(ls[3:], ['30 mx3.kate.test 2001:db8::25'], 'AAAA-only host last; the host without address skipped')

orders = set()
for i in range(40):
    rc, out, err = mx('kate.test')
    orders.add(tuple(l.split()[1] for l in lines(out)[1:3]))
    if len(orders) == 2:
        break
t.eq(orders, {('mx2a.kate.test', 'mx2b.kate.test'), ('mx2b.kate.test', 'mx2a.kate.test')},
     'equal preferences: both orders seen (%d runs)' % (i + 1))

rc, out, err = mx('dup.test')
t.eq(lines(out.lower()), ['10 mx1.kate.test 127.0.0.1', '20 mx2a.kate.test 127.0.0.2'],
     'a host listed twice is kept once, at its best preference')

# --- implicit MX (RFC 5321 5.1) -----------------------------------------------
t.eq(mx('plain.test'), (0, '0 plain.test 10.0.0.1\n', ''), 'no MX: the A record as an implicit MX')
t.eq(mx('six.test'), (0, '0 six.test 2001:db8::1:0:0:5\n', ''), 'no MX: AAAA only, IPv6 in text form')
t.eq(mx('both.test'), (0, '0 both.test 10.0.0.2 ::1\n', ''), 'A and AAAA: IPv4 first')
t.eq(mx('plain.test.'), (0, '0 plain.test 10.0.0.1\n', ''), 'a final dot is accepted')

# --- CNAMEs -------------------------------------------------------------------
t.eq(mx('cn.test'), (0, '10 alias.kate.test 127.0.0.1\n', ''), 'an MX target that is a CNAME resolves')
rc, out, err = mx('alias-dom.test')
t.ok(rc == 0 and lines(out)[0] == '10 mx1.kate.test 127.0.0.1' and len(lines(out)) == 4,
     'the domain itself is a CNAME: the MX of its target', out + err)
t.eq(mx('www.plain.test'), (0, '0 www.plain.test 10.0.0.1\n', ''), 'implicit MX through a CNAME')

# --- permanent failures -------------------------------------------------------
err = check_fail(['nomail.test'], 100, '5.1.10 ', 'null MX -> 100')
t.eq(err, 'mx-lookup: fatal: 5.1.10 nomail.test does not accept mail (null MX)\n', 'null MX message')
check_fail(['nosuch.test'], 100, '5.1.2 ', 'NXDOMAIN -> 100 5.1.2')
check_fail(['dead.test'], 100, '5.4.4 ', 'no exchanger has an address -> 100 5.4.4')
check_fail(['mx1.kate.test.nosuch.test'], 100, '5.1.2 ', 'NXDOMAIN below a name')
check_fail(['a..b'], 100, '5.1.2 invalid domain name', 'empty label -> 100')
check_fail(['x' * 64 + '.test'], 100, '5.1.2 invalid domain name', '64-byte label -> 100')
check_fail([('a' * 62 + '.') * 4 + 'bc'], 100, '5.1.2 invalid domain name', '254-byte name -> 100')
check_fail(['k\u00e4te.test'], 100, '5.1.2 invalid domain name', '8-bit name -> 100')
check_fail(['[1.2.3.256]'], 100, '5.1.3 ', 'bad IPv4 literal -> 100')
check_fail(['[IPv6:xyz]'], 100, '5.1.3 ', 'bad IPv6 literal -> 100')

# --- temporary failures -------------------------------------------------------
t0 = time.time()
check_fail(['broken.test'], 111, '4.4.3 ', 'SERVFAIL -> 111 4.4.3')
t.ok(time.time() - t0 < 20, 'SERVFAIL answered at once (%.1fs)' % (time.time() - t0))
check_fail(['elsewhere.example'], 111, '4.4.3 ', 'REFUSED -> 111 4.4.3')
rc, out, err = mx('half.test')
t.eq((rc, out), (0, '20 mx1.kate.test 127.0.0.1\n'), 'an exchanger whose address lookup fails is skipped')
check_fail(['allbroken.test'], 111, '4.4.3 ', 'every exchanger fails temporarily -> 111')

silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # receives, never answers
silent.bind(('127.0.0.1', 0))
SILENT = '127.0.0.1:%d' % silent.getsockname()[1]
t0 = time.time()
err = check_fail(['kate.test'], 111, '4.4.3 ', 'no answer -> 111 4.4.3',
                 env={'DNS_SERVER': SILENT, 'MX_TIMEOUT': '2'})
dt = time.time() - t0
t.ok('timed out' in err and 1.5 < dt < 20, 'MX_TIMEOUT=2 bounds the lookup (%.1fs)' % dt, err)
t0 = time.time()
rc, out, err = mx('kate.test', env={'DNS_SERVER': SILENT + ',' + dns.server, 'MX_TIMEOUT': '10'})
t.ok(rc == 0 and lines(out)[0] == '10 mx1.kate.test 127.0.0.1',
     'DNS_SERVER list: the second server answers when the first does not (%.1fs)'
     % (time.time() - t0), err)
check_fail(['kate.test'], 111, '4.3.5 ', 'malformed DNS_SERVER -> 111', env={'DNS_SERVER': 'dns.example'})
check_fail(['kate.test'], 111, '4.3.5 ', 'malformed MX_TIMEOUT -> 111', env={'MX_TIMEOUT': 'soon'})

# --- literals -----------------------------------------------------------------
t.eq(mx('[127.0.0.1]', env={'DNS_SERVER': SILENT}), (0, '0 [127.0.0.1] 127.0.0.1\n', ''),
     'address literal: no DNS query')
t.eq(mx('[IPv6:2001:db8::1]', env={'DNS_SERVER': SILENT}), (0, '0 [IPv6:2001:db8::1] 2001:db8::1\n', ''),
     'IPv6 address literal')

# --- bounds -------------------------------------------------------------------
rc, out, err = mx('many.test')
ls = lines(out)
t.ok(rc == 0 and len(ls) == 50, 'at most 50 exchangers (%d)' % len(ls), err)
t.eq(ls[:2] + ls[-1:], ['1 h01.many.test 10.1.0.1', '2 h02.many.test 10.1.0.2',
                        '50 h50.many.test 10.1.0.50'], 'the 50 most preferred ones')
rc, out, err = mx('wide.test')
ad = out.split()[2:]
t.ok(len(ad) == 10 and len(set(ad)) == 10 and set(ad) <= {'10.2.0.%d' % i for i in range(1, 13)},
     'at most 10 addresses per host', out + err)
rc, out, err = mx('mixed.test')
ad = out.split()[2:]
t.ok(len(ad) == 10 and sorted(ad[-3:]) == ['2001:db8::1', '2001:db8::2', '2001:db8::3'],
     '12 A + 3 AAAA: 7 + 3 kept, IPv6 not crowded out', out)

# --- usage --------------------------------------------------------------------
rc, out, err = mx()
t.ok(rc == 100 and 'usage: mx-lookup' in err, 'no argument: usage, 100', err)
rc, out, err = mx('-x', 'kate.test')
t.ok(rc == 100 and 'usage: mx-lookup' in err, 'an option: usage, 100', err)

# --- chain mode ---------------------------------------------------------------
prog = os.path.join(tmp, 'show')
with open(prog, 'w') as f:
    f.write('#!/bin/sh\n'
            'printf "%s\\n" "$@" > "$0.args"\n'
            'printf "%s" "$MXLIST" > "$0.mxlist"\n'
            'cat > "$0.stdin"\n'
            'exit 42\n')
os.chmod(prog, stat.S_IRWXU)


def chain(domain, env=None):
    for ext in ('.args', '.mxlist', '.stdin'):
        if os.path.exists(prog + ext):
            os.unlink(prog + ext)
    rc, out, err = mx(domain, prog, domain, 'a@b.test', 'c@' + domain, env=env, input=b'the message\n')
    got = {}
    for ext in ('.args', '.mxlist', '.stdin'):
        if os.path.exists(prog + ext):
            with open(prog + ext) as f:
                got[ext] = f.read()
    return rc, out, err, got


rc, out, err, got = chain('plain.test')
t.eq(rc, 42, 'chain: PROG is exec\'d (its exit status is returned)')
t.eq(got.get('.mxlist'), mx('plain.test')[1], 'chain: $MXLIST holds the lines mx-lookup prints')
t.eq(got.get('.args'), 'plain.test\na@b.test\nc@plain.test\n', 'chain: PROG gets its arguments')
t.eq(got.get('.stdin'), 'the message\n', 'chain: stdin is left to PROG')
t.eq(out, '', 'chain: nothing printed')
rc, out, err, got = chain('kate.test')
t.eq(len(lines(got.get('.mxlist', ''))), 4, 'chain: several exchangers, one per line')
for dom, code, what in (('nomail.test', 100, 'null MX'), ('nosuch.test', 100, 'NXDOMAIN'),
                        ('broken.test', 111, 'SERVFAIL')):
    rc, out, err, got = chain(dom)
    t.ok(rc == code and not got and err.startswith('mx-lookup: fatal: '),
         'chain, %s: PROG not run, exit %d, reason on stderr' % (what, code), '%d %r %r' % (rc, got, err))
rc, out, err, got = chain('kate.test', env={'DNS_SERVER': SILENT, 'MX_TIMEOUT': '1'})
t.ok(rc == 111 and not got, 'chain, timeout: PROG not run, 111', err)
rc, out, err = mx('plain.test', os.path.join(tmp, 'nonexistent'))
t.ok(rc == 111 and 'unable to exec' in err, 'chain: PROG missing -> 111', err)

dns.stop()
silent.close()
