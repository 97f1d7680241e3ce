#!/usr/bin/env python3
"""The journey with SPF, DKIM and DMARC (issue 18, test 3): john's and
kate's hosts in network namespaces (as t/52), the DNS server holding
john.test's SPF record (its MTA's address), DKIM key (dkim-keygen) and
DMARC policy (p=reject; q.john.test: p=quarantine). john's submission
signs (dkim-sign), kate's port 25 verifies (auth-verify): john's mail
arrives with spf=pass dkim=pass dmarc=pass; a forged From: of john's
domain from a third address is refused under p=reject and filed in Junk
under p=quarantine. Skipped without network namespaces."""
import atexit
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, BIN  # noqa: E402
import pmdns  # noqa: E402
import smtphelp  # noqa: E402
import journey  # noqa: E402
from journey import Host, by_subject  # noqa: E402

t = TAP()
if os.geteuid() != 0 or not pmdns.available() or not os.access(journey.IP, os.X_OK):
    t.skip_all('not root, or no dnsmasq or ip')

john_key = {}


def dns(hosts, **kw):
    return journey.make_dns(hosts, txt={
        'john.test': 'v=spf1 ip4:198.18.1.2 -all', 'q.john.test': 'v=spf1 ip4:198.18.1.2 -all',
        'sel._domainkey.john.test': john_key['rec'],
        '_dmarc.john.test': 'v=DMARC1; p=reject', '_dmarc.q.john.test': 'v=DMARC1; p=quarantine'}, **kw)


net = journey.NetnsNet(dns)
try:
    net.create()
    atexit.register(net.teardown)
except Exception as e:    # e.g. no CAP_SYS_ADMIN in a container
    net.teardown()
    t.skip_all('no network namespaces: %s' % str(e).replace('\n', ' '))

john = Host(net, 'john', 'john.test', {'john@john.test': 'pw'}, 'mx.john.test')
kate = Host(net, 'kate', 'kate.test', {'kate@kate.test': 'pw'}, 'mail.kate.test')
r = john.inst.run(['dkim-keygen', 'john.test', 'sel'])
john_key['rec'] = ''.join(re.findall(r'"([^"]*)"', r.stdout.decode()))
with open(os.path.join(john.inst.root, 'etc/dkim/john.test/selector'), 'w') as f:
    f.write('sel\n')
net.setup(john, kate)
john.start_mta('mx')
verify = {'QUEUE_INJECT': os.path.join(BIN, 'auth-verify'), 'DNS_SERVER': net.dns_server(kate),
          'AUTHVERIFY_TIMEOUT': '5'}
for label in net.mta_labels(kate):
    addr, port = net.mta_addr(kate, label)
    kate.mta[label] = (addr, port, kate.listen(label, addr, port, env=verify))
john.sub_addr, john.sub_port = net.sub_addr(john)
john.sub = john.listen('submission', john.sub_addr, john.sub_port,
                       env={'RELAYCLIENT': '', 'QUEUE_INJECT': os.path.join(BIN, 'dkim-sign')})
for h in (john, kate):
    h.start_queue()

# john's signed mail passes at kate's host
john.submit('john@john.test', ['kate@kate.test'], 'signed')
got = kate.inst.wait_mails('kate@kate.test', 1, timeout=30)
t.ok(len(got) == 1 and by_subject(kate, 'kate@kate.test', 'signed'), "john's mail reaches kate's inbox",
     john.qlog() + kate.mta_log('mx1'))
head = re.sub(r'\n[ \t]+', ' ', got[0].split(b'\n\n', 1)[0].decode(errors='replace')) if got else ''
ar = [l for l in head.split('\n') if l.startswith('Authentication-Results:')]
t.ok(len(ar) == 1 and ar[0].startswith('Authentication-Results: mail.kate.test; spf=pass smtp.mailfrom=john@john.test;')
     and 'dkim=pass header.d=john.test header.s=sel;' in ar[0] and 'dmarc=pass (p=reject) header.from=john.test' in ar[0],
     'Authentication-Results: spf=pass dkim=pass dmarc=pass', head)

# a third host (an address of john's namespace outside SPF) forges john's From:
net.ip('-n', net.ns['john'], 'addr', 'add', '198.18.1.9/24', 'dev', 'pjk%d' % net.pid)
FORGE = r'''
import smtplib, sys
frm, subj = sys.argv[1:3]
try:
    with smtplib.SMTP('198.18.1.3', 25, timeout=30, local_hostname='evil.test', source_address=('198.18.1.9', 0)) as s:
        s.sendmail('x@evil.test', ['kate@kate.test'],
                   'From: %s\r\nTo: kate@kate.test\r\nSubject: %s\r\n\r\nPay now.\r\n' % (frm, subj))
    print(250)
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
'''
r = john.run([sys.executable, '-c', FORGE, 'John <john@john.test>', 'forged'])
out = r.stdout.decode().strip()
t.ok(out.startswith('550 5.7.1 '), 'a forged From: of john.test from a third host: 550 (p=reject)', out + r.stderr.decode())
r = john.run([sys.executable, '-c', FORGE, 'billing@q.john.test', 'forged q'])
t.eq(r.stdout.decode().strip(), '250', 'under p=quarantine: accepted')
junk = kate.inst.wait_mails('kate@kate.test', 1, timeout=20, folder='Junk')
t.ok(len(junk) == 1 and b'\nX-Spam: Yes\n' in junk[0] and b'dmarc=fail (p=quarantine)' in junk[0],
     'and filed in Junk with X-Spam: Yes', junk[0][:500] if junk else kate.mta_log('mx1'))
t.eq(len(kate.inst.mails('kate@kate.test')), 1, 'nothing forged in the inbox')
smtphelp.crash_free(t, kate.mta_log('mx1') + john.qlog(), 'no sanitizer report nor crash in the logs')
