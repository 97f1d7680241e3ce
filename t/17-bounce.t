#!/usr/bin/env python3
# Bounces (DSN, RFC 3464) made by queue-run: one multipart/report per batch
# of failed recipients, double bounces to the postmaster, "#@[]" dropped,
# a failed bounce injection retried without losing anything, and a remote
# MTA's multi-line refusal reported as RFC 3464 has it.
import email
import email.policy
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, BIN, wait_for  # noqa: E402
from smtppeer import SmtpPeer  # noqa: E402

t = TAP()
inst = Instance(users={'demo@example.test': 'pw', 'small@example.test': 'pw', 'bob@example.test': 'pw',
                       'carol@example.test': 'pw', 'postmaster@example.test': 'pw'},
                quotas={'small@example.test': 200})
BOB, PM = 'bob@example.test', 'postmaster@example.test'


def started(inst, q):
    """queue-run is up (its queue directories exist); returns q."""
    wait_for(lambda: 'started' in inst.log(q), 10)
    return q


def inject(sender, rcpts, msg, env=None):
    return inst.inject(sender, rcpts, msg, env)


def queue_empty():
    return not inst.queue_ids()


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


# A stub queue-inject in front of the real one: fails while the flag exists.
stubdir = tempfile.mkdtemp(prefix='pm-t-stub-', dir=inst.root)
flag = os.path.join(inst.root, 'inject-fails')
with open(os.path.join(stubdir, 'queue-inject'), 'w') as f:
    f.write('#!/bin/sh\nif [ -e %s ]; then echo "queue-inject: fatal: stub refuses" >&2; exit 71; fi\n'
            'exec %s/queue-inject "$@"\n' % (flag, BIN))
os.chmod(os.path.join(stubdir, 'queue-inject'), 0o755)

# A remote peer (far.test, by etc/routes) that refuses gone@ as Gmail does.
GMAIL = ('550-5.1.1 The email account that you tried to reach does not exist. Please try\n'
         "550-5.1.1 double-checking the recipient's email address for typos or\n"
         '550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser x-gsmtp')
peer = SmtpPeer(rcpt=lambda a: GMAIL if a.startswith('gone') else '250 2.1.5 ok')
with open(os.path.join(inst.root, 'etc/routes'), 'w') as f:
    f.write('far.test 127.0.0.1:%d\n' % peer.port)

q = started(inst, inst.start_queue(env={'PATH': stubdir + ':' + inst.env['PATH'], 'QUEUE_RETRY_MIN': '300'}))

# --- over quota + loop + one good recipient: one DSN -------------------------
body = (b'Delivered-To: demo@example.test\nFrom: bob@example.test\nTo: list\n'
        b'Subject: bounce me\nMessage-ID: <b1@example.test>\n\n' + b'x' * 400 + b'\n')
t.eq(inject(BOB, ['small@example.test', 'demo@example.test', 'carol@example.test'], body), 0, 'injected')
got = inst.wait_mails(BOB, 1, timeout=20)
t.eq(len(got), 1, 'the sender gets a bounce')
t.eq(len(inst.wait_mails('carol@example.test', 1, timeout=10)), 1, 'the good recipient got the message')
t.ok(wait_for(queue_empty, 10), 'message removed once bounced')
time.sleep(0.5)
t.eq(len(inst.mails(BOB)), 1, 'exactly one DSN for two failed recipients')
if got:
    raw = got[0]
    m = parse(raw)
    t.ok(raw.startswith(b'Return-Path: <>\n'), 'bounce has the null envelope sender')
    t.eq(m.get_content_type(), 'multipart/report', 'multipart/report')
    t.eq(m.get_param('report-type'), 'delivery-status', 'report-type=delivery-status')
    t.eq(m['Subject'], 'Undelivered Mail Returned to Sender', 'Subject')
    t.eq(m['Auto-Submitted'], 'auto-replied', 'Auto-Submitted')
    t.ok(m['From'] and 'MAILER-DAEMON@mx.example.test' in m['From'], 'From MAILER-DAEMON@me', m['From'])
    t.ok(m['To'] and BOB in m['To'], 'To: the original sender')
    t.ok(m['Date'] and m['Message-ID'] and m['MIME-Version'] == '1.0', 'Date, Message-ID, MIME-Version')
    parts = m.get_payload()
    t.eq([p.get_content_type() for p in parts],
         ['text/plain', 'message/delivery-status', 'text/rfc822-headers'], 'three parts')
    if len(parts) == 3:
        text = parts[0].get_payload()
        t.ok('small@example.test' in text and 'demo@example.test' in text and 'carol' not in text,
             'human part names the failed recipients only', text)
        t.ok('5.2.2' in text and '5.4.6' in text, 'human part gives the reasons', text)
        blocks = parts[1].get_payload()
        t.eq(blocks[0]['Reporting-MTA'], 'dns; mx.example.test', 'Reporting-MTA')
        t.ok(blocks[0]['Arrival-Date'], 'Arrival-Date')
        per = {b['Final-Recipient']: b for b in blocks[1:]}
        t.eq(sorted(per), ['rfc822; demo@example.test', 'rfc822; small@example.test'], 'Final-Recipient per failed rcpt')
        s = per.get('rfc822; small@example.test')
        d = per.get('rfc822; demo@example.test')
        t.ok(s is not None and s['Status'] == '5.2.2' and s['Action'] == 'failed'
             and s['Diagnostic-Code'].startswith('x-pipemail; 5.2.2'), 'over quota: 5.2.2', s)
        t.ok(d is not None and d['Status'] == '5.4.6' and d['Action'] == 'failed'
             and 'loop' in d['Diagnostic-Code'], 'loop: 5.4.6', d)
        hdrs = parts[2].get_payload()
        t.ok('Message-ID: <b1@example.test>' in hdrs and 'x' * 100 not in hdrs,
             'original header included, body not', hdrs)
log = inst.log(q)
t.ok('rcpt=<small@example.test> status=bounced' in log and 'rcpt=<demo@example.test> status=bounced' in log,
     'bounced logged', log)

# --- a bounce that fails: double bounce to the postmaster, once --------------
t.eq(inject('', ['nobody@example.test'], b'Subject: a bounce\n\nundeliverable bounce\n'), 0, 'null sender injected')
got = inst.wait_mails(PM, 1, timeout=20)
t.eq(len(got), 1, 'double bounce goes to the postmaster')
t.ok(wait_for(queue_empty, 10), 'queue empty after the double bounce')
time.sleep(0.5)
t.eq(len(inst.mails(PM)), 1, 'exactly one double bounce')
t.eq(len(inst.mails(BOB)), 1, 'nothing more for the first sender')
if got:
    t.ok(got[0].startswith(b'Return-Path: <#@[]>\n'), 'double bounce has envelope sender #@[]', got[0][:80])
    t.ok(b'nobody@example.test' in got[0] and b'5.1.1' in got[0], 'double bounce names the recipient')

# --- a failed double bounce: dropped, logged ---------------------------------
t.eq(inject('#@[]', ['nobody@example.test'], b'Subject: a double bounce\n\nx\n'), 0, '#@[] sender injected')
t.ok(wait_for(lambda: 'status=dropped' in inst.log(q), 10), 'drop logged', inst.log(q))
t.ok(wait_for(queue_empty, 10), 'queue empty after the drop')
time.sleep(0.5)
t.eq((len(inst.mails(PM)), len(inst.mails(BOB))), (1, 1), 'no mail anywhere for a failed double bounce')

# --- etc/doublebounceto ------------------------------------------------------
with open(os.path.join(inst.root, 'etc/doublebounceto'), 'w') as f:
    f.write('# who gets double bounces\ncarol@example.test\n')
t.eq(inject('', ['nobody@example.test'], b'Subject: another bounce\n\nx\n'), 0, 'null sender injected again')
got = inst.wait_mails('carol@example.test', 2, timeout=20)
t.eq(len(got), 2, 'double bounce goes to etc/doublebounceto')
t.eq(len(inst.mails(PM)), 1, 'not to the postmaster then')
os.unlink(os.path.join(inst.root, 'etc/doublebounceto'))

# --- bounce injection fails: F kept, retried, nothing lost -------------------
open(flag, 'w').close()
t.eq(inject(BOB, ['nobody@example.test'], b'Subject: retry the bounce\n\nx\n'), 0, 'injected with a failing injector')
t.ok(wait_for(lambda: 'bounce=failed' in inst.log(q), 10), 'bounce failure logged', inst.log(q))
ids = inst.queue_ids()
t.eq(len(ids), 1, 'message kept while its bounce cannot be sent')
if ids:
    with open(os.path.join(inst.root, 'queue/state', ids[0]), 'rb') as f:
        st = f.read()
    t.ok(b' F ' in st and b' B ' not in st, 'state log has F, no B', st)
os.unlink(flag)
os.kill(q.pid, signal.SIGALRM)
got = inst.wait_mails(BOB, 2, timeout=20)
t.eq(len(got), 2, 'bounce sent after the retry (SIGALRM)')
if len(got) == 2:
    t.ok(b'Subject: retry the bounce' in got[1], 'it is the right bounce')
t.ok(wait_for(queue_empty, 10), 'queue empty at the end')

# --- a remote MTA answers RCPT with a multi-line 550-5.1.1, as Gmail does ---
t.eq(inject(BOB, ['gone@far.test', 'here@far.test'], b'Subject: to far\n\nx\n'), 0, 'injected for a remote peer')
got = inst.wait_mails(BOB, 3, timeout=20)
t.eq(len(got), 3, 'the sender gets a bounce for the refused remote recipient')
t.ok(wait_for(queue_empty, 10), 'queue empty after the remote bounce')
if len(got) == 3:
    m = parse(got[2])
    parts = m.get_payload()
    blocks = parts[1].get_payload() if len(parts) == 3 else []
    per = {b['Final-Recipient']: b for b in blocks[1:]}
    t.eq(sorted(per), ['rfc822; gone@far.test'], 'only the refused recipient is reported')
    g = per.get('rfc822; gone@far.test') or {}
    t.eq(g.get('Status'), '5.1.1', 'Status: the enhanced code of the multi-line reply')
    t.eq(g.get('Remote-MTA'), 'dns; 127.0.0.1', 'Remote-MTA: the host that said it')
    t.eq(g.get('Diagnostic-Code'), 'smtp; 550 5.1.1 The email account that you tried to reach does not exist. Please'
         " try double-checking the recipient's email address for typos or unnecessary spaces."
         ' https://support.google.com/mail/?p=NoSuchUser x-gsmtp', 'Diagnostic-Code: the reply on one line')
    text = parts[0].get_payload() if parts else ''
    t.ok('127.0.0.1[127.0.0.1] said: 550 5.1.1 The email account' in text and 'in reply to RCPT TO' in text,
         'the human part says who said what, in reply to what', text)
peer.close()

inst.kill(q)
t.eq(q.returncode, 0, 'queue-run exits 0 on SIGTERM')
