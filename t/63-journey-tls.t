#!/usr/bin/env python3
# The journey of issue 3 with TLS on the MTA-to-MTA hop (issue 4, test 3):
# both hosts' smtp-recv run under `tls-serve -S` with certificates for their
# MX host names from a CA made here; each host's etc/tls-policy says `verify`
# for the other's domain and its queue-run has TLS_CAFILE = that CA.
#   - john -> kate: STARTTLS, verified=yes in john's log, kate's Received:
#     says ESMTPS with the cipher; kate's reply the same way back;
#   - kate's MXes with untrusted certificates (another CA, self-signed):
#     deferred, queue-list and the log say why, nothing sent;
#   - the trusted certificate back, SIGALRM: delivered;
#   - policy `may` with only the self-signed MX up: delivered, verified=no.
# Run twice: in network namespaces with dnsmasq's MX records (as t/52; a TAP
# skip with the reason where that is not allowed), and on loopback with
# routes by name (as t/53; mx-lookup gives the MX names that verify checks).
import atexit
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import wait_for  # noqa: E402
import pmdns  # noqa: E402
import pmtls  # noqa: E402
import journey  # noqa: E402
from journey import Host, by_subject, received, rcpt_line  # noqa: E402

t = pmtls.tap_needing('tls-serve')
if not pmdns.available():
    t.skip_all('dnsmasq is not installed (verify needs MX host names)')

# The PKI: one CA trusted by both hosts; kate's MXes with EC keys, john's RSA
PKI = tempfile.mkdtemp(prefix='pm-t63-')
atexit.register(shutil.rmtree, PKI, True)
for d in ('ca', 'rogue', 'self'):
    os.makedirs(os.path.join(PKI, d))
ca = pmtls.TestCA(os.path.join(PKI, 'ca'), kind='ec')
GOOD = {'mx': ca.issue('mx.john.test', 'rsa'),
        'mx1': ca.issue('mx1.kate.test', 'ec'),
        'mx2': ca.issue('mx2.kate.test', 'ec')}
ROGUE = pmtls.TestCA(os.path.join(PKI, 'rogue'), kind='ec', name='not the test CA').issue('mx1.kate.test', 'ec')
SELF = pmtls.self_signed(os.path.join(PKI, 'self'), 'mx2.kate.test', 'ec')

USING = r'\(using TLSv1\.2 with cipher (ECDHE-%s-\S+)\)'
NOT_TRUSTED = 'BR_ERR_X509_NOT_TRUSTED'


def rs_lines(host, domain):
    """remote-send's log lines for domain in host's queue-run log."""
    return [l for l in host.qlog().splitlines() if l.startswith('remote-send: info: domain=%s ' % domain)]


def hop(t, where, got, kind, sender_host, domain, mxhost):
    """The TLS hop of a delivered message: its top Received: says ESMTPS
    with the cipher, and the sender's log the same cipher, verified=yes."""
    rc = received(got)
    m = re.search(USING % kind, rc[0]) if rc else None
    t.ok(m and ' with ESMTPS ' in rc[0] and ' with ESMTP ' in rc[1], '%s: Received: says ESMTPS with the cipher' % where,
         '\n'.join(rc))
    cipher = m.group(1) if m else '?'
    ok = wait_for(lambda: any(' host=%s ' % mxhost in l and ' tls=TLSv1.2 cipher=%s verified=yes ' % cipher in l
                              and 'status=sent' in l for l in rs_lines(sender_host, domain)), 10)
    t.ok(ok, '%s: the sender\'s log: tls=TLSv1.2 cipher=%s verified=yes' % (where, cipher),
         '\n'.join(rs_lines(sender_host, domain)))


def restart(host, label, pair):
    host.stop_mta(label)
    host.certs[label] = pair
    host.start_mta(label)


def story(t, net, name):
    john = Host(net, 'john', 'john.test', {'john@john.test': 'pw'}, 'mx.john.test')
    kate = Host(net, 'kate', 'kate.test', {'kate@kate.test': 'pw'}, 'mail.kate.test')
    net.setup(john, kate)
    john.tls_policy('kate.test verify\n')
    kate.tls_policy('# the way back\njohn.test verify\n')
    for h in (john, kate):
        h.certs = {label: GOOD[label] for label in net.mta_labels(h)}
        h.queue_env = {'TLS_CAFILE': ca.cert}
        for label in net.mta_labels(h):
            h.start_mta(label)
        h.start_submission()
        h.start_queue()
    try:
        _story(t, name, john, kate)
    finally:
        for h in (john, kate):
            h.inst.stop()
        net.dns.stop()


def _story(t, name, john, kate):
    # john -> kate over STARTTLS, verified
    john.submit('john@john.test', ['kate@kate.test'], 'hello over TLS')
    got = wait_for(lambda: by_subject(kate, 'kate@kate.test', 'hello over TLS'), 20)
    t.ok(got, '%s: john -> kate, policy verify: delivered' % name, john.qlog())
    if got:
        hop(t, name + ': john -> kate', got[0], 'ECDSA', john, 'kate.test', 'mx1.kate.test')
    t.ok(re.search(r'tls-serve: info: tls=ok protocol=TLSv1\.2 cipher=ECDHE-ECDSA-\S+ sni=mx1\.kate\.test ',
                   kate.mta_log('mx1')), '%s: kate\'s tls-serve logs the handshake, SNI mx1.kate.test' % name,
         kate.mta_log('mx1'))

    # kate's reply, over STARTTLS to john's RSA certificate
    kate.submit('kate@kate.test', ['john@john.test'], 'Re: hello over TLS')
    got = wait_for(lambda: by_subject(john, 'john@john.test', 'Re: hello over TLS'), 20)
    t.ok(got, '%s: kate -> john, policy verify: delivered' % name, kate.qlog())
    if got:
        hop(t, name + ': kate -> john', got[0], 'RSA', kate, 'john.test', 'mx.john.test')

    # kate's MXes with untrusted certificates: deferred, nothing sent
    restart(kate, 'mx1', ROGUE)
    restart(kate, 'mx2', SELF)
    mark = {label: len(kate.mta_log(label)) for label in ('mx1', 'mx2')}
    n = len(kate.inst.mails('kate@kate.test'))
    john.submit('john@john.test', ['kate@kate.test'], 'untrusted')
    ok = wait_for(lambda: 'rcpt=<kate@kate.test> status=deferred' in john.qlog(), 20)
    line = rcpt_line(john.qlist(), 'kate@kate.test')
    t.ok(ok and re.search(r'deferred attempts=1 .*reason=".*4\.7\.5 TLS certificate verification failed for '
                          r'mx2\.kate\.test\[[^]]+\]: %s \(' % NOT_TRUSTED, line),
         '%s: untrusted certificates: deferred (queue-list: 4.7.5 ... %s)' % (name, NOT_TRUSTED),
         line + '\n' + john.qlog())
    last = (rs_lines(john, 'kate.test') or [''])[-1]
    t.ok(re.search(r'status=deferred .*reason=4\.7\.5 TLS certificate verification failed .*%s \(not signed by a '
                   r'trusted authority\)' % NOT_TRUSTED, last),
         '%s: john\'s log says why: not trusted' % name, john.qlog())
    new = {label: kate.mta_log(label)[mark[label]:] for label in ('mx1', 'mx2')}
    # each session ends at the failed handshake: no MAIL in clear text after it
    t.ok(all('tls=fail stage=handshake' in v and 'from=<' not in v
             for v in new.values()),
         '%s: both MXes tried, the handshakes failed, nothing sent in clear' % name, new['mx1'] + new['mx2'])
    t.eq(len(kate.inst.mails('kate@kate.test')), n, '%s: nothing delivered meanwhile' % name)

    # the trusted certificate back on mx1, SIGALRM: delivered
    restart(kate, 'mx1', GOOD['mx1'])
    john.alarm()
    got = wait_for(lambda: by_subject(kate, 'kate@kate.test', 'untrusted'), 20)
    t.ok(got and wait_for(lambda: not rcpt_line(john.qlist(), 'kate@kate.test'), 5),
         '%s: the trusted certificate back, SIGALRM: delivered, gone from the queue' % name, john.qlog())
    if got:
        hop(t, name + ': the retry', got[0], 'ECDSA', john, 'kate.test', 'mx1.kate.test')

    # policy may, only the self-signed mx2 up: opportunistic TLS, verified=no
    kate.stop_mta('mx1')
    john.tls_policy('kate.test may\n')
    john.submit('john@john.test', ['kate@kate.test'], 'opportunistic')
    got = wait_for(lambda: by_subject(kate, 'kate@kate.test', 'opportunistic'), 20)
    rc = received(got[0]) if got else []
    t.ok(got and rc and ' with ESMTPS ' in rc[0], '%s: policy may, self-signed mx2: delivered over TLS' % name,
         john.qlog())
    ok = wait_for(lambda: any(' host=mx2.kate.test ' in l and ' verified=no verifyerr=%s ' % NOT_TRUSTED in l
                              and 'status=sent' in l for l in rs_lines(john, 'kate.test')), 10)
    t.ok(ok, '%s: the log says verified=no verifyerr=%s' % (name, NOT_TRUSTED), john.qlog())


T0 = time.time()

# 1: network namespaces, port 25, MX records
why = ''
if os.geteuid() != 0:
    why = 'network namespaces need root'
elif not os.access(journey.IP, os.X_OK):
    why = 'ip (iproute2) is not installed'
if not why:
    net = journey.NetnsNet(journey.make_dns)
    try:
        net.create()
    except Exception as e:    # e.g. no CAP_SYS_ADMIN in a container, no veth
        net.teardown()
        why = 'cannot make network namespaces here: %s' % str(e).replace('\n', ' ')
if why:
    t.skip('the journey with TLS in network namespaces', why)
else:
    atexit.register(net.teardown)
    try:
        story(t, net, 'netns')
    finally:
        net.teardown()

# 2: loopback, routes by name through mx-lookup
story(t, journey.LoopNet(journey.make_dns, byname=True), 'loopback')
t.diag('%.1f s' % (time.time() - T0))
