#!/usr/bin/env python3
"""The journey with a real submission (issue 14, test 1): john submits
with STARTTLS and AUTH to the submission service of his host
(tcp-serve > tls-serve -S > smtp-recv auth-check true, SUBMISSION set);
the mail goes out through john's queue to kate's host and lands in
kate's Maildir, its Received: fields saying ESMTPSA at john's host and
naming john, without his client's address. In network namespaces (as
t/52) when that is allowed, else on loopback (as t/53)."""
import atexit
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, BIN  # noqa: E402
import pmauth  # noqa: E402
import pmdns  # noqa: E402
import pmtls  # noqa: E402
import smtphelp  # noqa: E402
import journey  # noqa: E402
from journey import Host, by_subject, received  # noqa: E402

t = TAP()
for prog in ('tcp-serve', 'tls-serve', 'smtp-recv', 'queue-run', 'remote-send'):
    if not os.access(os.path.join(BIN, prog), os.X_OK):
        t.skip_all('%s not built' % prog)
if not pmtls.have_openssl():
    t.skip_all('no openssl command (Debian package openssl)')

net, why = None, 'not root, or no dnsmasq or ip'
if os.geteuid() == 0 and pmdns.available() and os.access(journey.IP, os.X_OK):
    net = journey.NetnsNet(journey.make_dns)
    try:
        net.create()
        atexit.register(net.teardown)
    except Exception as e:    # e.g. no CAP_SYS_ADMIN in a container
        net.teardown()
        net, why = None, str(e).replace('\n', ' ')
if net is None:
    t.diag('on loopback (no network namespaces: %s)' % why)
    net = journey.LoopNet()

PW = 'j0hn-Subm1t'
john = Host(net, 'john', 'john.test', {'john@john.test': PW}, 'mx.john.test')
kate = Host(net, 'kate', 'kate.test', {'kate@kate.test': 'pw'}, 'mail.kate.test')
net.setup(john, kate)
for h in (john, kate):
    for label in net.mta_labels(h):
        h.start_mta(label)
    h.start_queue()

# john's submission service, as instance-setup's run script starts it
cert, key = pmtls.self_signed(john.inst.root, 'mx.john.test', 'ec')
table = '/dev/shm/pipemail-authfail-t82-%d' % os.getpid()
atexit.register(lambda: os.path.exists(table) and os.unlink(table))
addr, port = net.sub_addr(john)
env = {'SUBMISSION': '1', 'CERTFILE': cert, 'KEYFILE': key, 'AUTH_FAIL_DELAY': '50', 'AUTHFAIL_FILE': table}
sub = john.inst.spawn(john.cmd(['tcp-serve', addr, str(port), 'tls-serve', '-S', 'smtp-recv',
                                pmauth.checkpassword(john.inst, {'john@john.test': PW}), 'true']),
                      env=env, log=os.path.join(john.inst.root, 'log-submission'))
t.ok(john.wait_listening(addr, port), "john's submission service listens", john.inst.log(sub))

SUBMIT = r'''
import smtplib, ssl, sys
host, port, user, pw, rcpt = sys.argv[1:6]
s = smtplib.SMTP(host, int(port), timeout=20)
s.ehlo('johns-laptop.test')
s.starttls(context=ssl._create_unverified_context())
s.ehlo('johns-laptop.test')
s.login(user, pw)
s.sendmail(user, [rcpt], 'From: John <%s>\r\nTo: <%s>\r\nSubject: submitted\r\n\r\nHello.\r\n' % (user, rcpt))
s.quit()
'''
r = john.run([sys.executable, '-c', SUBMIT, addr, str(port), 'john@john.test', PW, 'kate@kate.test'])
t.eq(r.returncode, 0, 'smtplib: STARTTLS, login(), a mail to kate@kate.test')
if r.returncode:
    t.diag(r.stderr.decode(errors='replace'))
got = kate.inst.wait_mails('kate@kate.test', 1, timeout=30)
t.ok(len(got) == 1 and by_subject(kate, 'kate@kate.test', 'submitted'), "it reaches kate's Maildir",
     john.qlog() + john.inst.log(sub))
rc = received(got[0]) if got else []
t.ok(len(rc) == 2 and 'by mail.kate.test' in rc[0] and 'from mx.john.test' in rc[0],
     "the top Received: is kate's host, from john's", '\n'.join(rc))
low = rc[1] if len(rc) == 2 else ''
t.ok(' by mx.john.test (pipemail) with ESMTPSA ' in low and '(authenticated user john@john.test)' in low,
     "the next says ESMTPSA at john's host and names john", low)
t.ok(low.startswith('Received: from johns-laptop.test (using TLS') and '[' not in low,
     "without the client's address", low)
hdr = got[0].split(b'\n\n', 1)[0].decode(errors='replace') if got else ''
t.ok('\nDate: ' in hdr and '\nMessage-ID: <' in hdr and '@mx.john.test>' in hdr,
     "Date: and Message-ID: added at john's host", hdr)
t.ok(PW not in john.inst.log(sub) and PW not in john.qlog(), 'the password is in no log')
smtphelp.crash_free(t, john.inst.log(sub) + john.qlog(), 'no sanitizer report nor crash in the logs')
