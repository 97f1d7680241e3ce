#!/usr/bin/env python3
# smtp-recv end to end: swaks and smtplib send, the message lands in the
# mailbox with the trace fields and otherwise byte-identical.
import hashlib
import os
import re
import shutil
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtest
from pmtest import TAP, Instance, split_message, strip_added
import smtphelp

t = TAP()
inst = Instance(users={'demo@example.test': 'pw1', 'other@example.test': 'pw2'})
port = inst.start_smtp()
inst.start_queue()
smtphelp.queue_ready(inst)
DEMO = 'demo@example.test'


def crlf(b):
    # smtplib sends bytes as they are: give it CRLF lines
    return b.replace(b'\n', b'\r\n')


def wait_n(addr, n):
    return inst.wait_mails(addr, n, timeout=60)


def received_ok(msg, helo, proto, rcpt):
    """First line of the stored message is our Received: field."""
    hdr, _ = split_message(msg)
    m = re.match(rb'Received: from (\S+) \(\[127\.0\.0\.1\]\)\n\tby mx\.example\.test \(pipemail\) '
                 rb'with (\S+) id (\S+)(\n\tfor <([^>]*)>)?; '
                 rb'(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) '
                 rb'\d{4} \d\d:\d\d:\d\d [+-]\d{4}\n', strip_added(msg, (b'return-path', b'delivered-to')))
    return (m is not None and m.group(1) == helo.encode() and m.group(2) == proto.encode()
            and (m.group(5) or b'').decode() == (rcpt or '')), hdr


# --- swaks -----------------------------------------------------------------
if shutil.which('swaks'):
    body = ('From: Sender <sender@remote.test>\nTo: demo@example.test\nSubject: swaks test\n'
            'Date: Tue, 5 Mar 2024 12:00:00 +0000\nMessage-ID: <swaks1@remote.test>\n\n'
            'Hello.\n.leading dot\n..two dots\n.\nend\n')
    # swaks sends the data, then CRLF.CRLF: give it without the last LF
    r = subprocess.run(['swaks', '--server', '127.0.0.1', '--port', str(port), '--helo', 'swaks.client.test',
                        '--from', 'sender@remote.test', '--to', DEMO, '--data', '-', '--silent', '2'],
                       input=body.encode()[:-1], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    t.eq(r.returncode, 0, 'swaks sends', )
    got = wait_n(DEMO, 1)
    t.eq(len(got), 1, 'swaks message delivered')
    if got:
        m = got[0]
        t.eq(strip_added(m), body.encode(), 'swaks message byte-identical after the trace fields')
        good, hdr = received_ok(m, 'swaks.client.test', 'ESMTP', DEMO)
        t.ok(good, 'Received: from/by/with/id/for/date', hdr)
        t.ok(m.startswith(b'Return-Path: <sender@remote.test>\n'), 'Return-Path first', hdr)
        t.ok(re.search(rb'^Delivered-To: demo@example\.test$', hdr, re.M | re.I), 'Delivered-To', hdr)
else:
    t.skip('swaks', 'swaks not installed')

# --- smtplib: 8-bit and UTF-8 ------------------------------------------------
n = len(inst.mails(DEMO))
msg8 = ('From: a@remote.test\nTo: demo@example.test\nSubject: =?utf-8?q?caf=C3=A9?=\n'
        'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
        'Grüße, ça va? 日本語 \u2603\n.\n..\n.x\nbare\rCR kept\ntabs\tand trailing space \n'
        ).encode('utf-8') + bytes(range(0x80, 0x100)) + b'\n'
with smtplib.SMTP('127.0.0.1', port, local_hostname='py.client.test', timeout=30) as s:
    code, ehlo = s.ehlo()
    t.eq(code, 250, 'EHLO 250')
    for ext in (b'PIPELINING', b'SIZE 52428800', b'8BITMIME', b'ENHANCEDSTATUSCODES', b'SMTPUTF8'):
        t.ok(ext in ehlo.split(b'\n'), 'EHLO announces ' + ext.decode(), ehlo)
    refused = s.sendmail('a@remote.test', [DEMO], crlf(msg8), mail_options=['BODY=8BITMIME'])
    t.eq(refused, {}, 'smtplib 8-bit message accepted')
    # SMTPUTF8 with a UTF-8 address and subject
    msgu = 'From: josé@remote.test\nTo: demo@example.test\nSubject: héllo ☃\n\nUTF-8 body ☃\n'.encode()
    refused = s.sendmail('josé@remote.test', [DEMO], crlf(msgu), mail_options=['SMTPUTF8', 'BODY=8BITMIME'])
    t.eq(refused, {}, 'SMTPUTF8 message accepted')
got = wait_n(DEMO, n + 2)
t.eq(len(got), n + 2, 'both delivered')
bodies = [strip_added(m) for m in got[n:]]
t.ok(msg8 in bodies, '8-bit message byte-identical', bodies)
t.ok(msgu in bodies, 'UTF-8 message byte-identical', bodies)
utf = [m for m in got[n:] if strip_added(m) == msgu]
t.ok(utf and utf[0].startswith('Return-Path: <josé@remote.test>\n'.encode()), 'UTF-8 envelope sender kept',
     utf and utf[0][:200])

# --- HELO and several recipients -------------------------------------------------
n = len(inst.mails(DEMO))
c = smtphelp.Client(port)
c.reply()
t.eq(c.first('HELO old.client.test'), '250 mx.example.test', 'HELO')
t.eq(c.first('MAIL FROM:<a@remote.test>'), '250 2.1.0 ok', 'MAIL after HELO')
t.eq(c.first('RCPT TO:<demo@example.test>'), '250 2.1.5 ok', 'RCPT 1')
t.eq(c.first('RCPT TO:<other@example.test>'), '250 2.1.5 ok', 'RCPT 2')
t.eq(c.cmd('DATA')[0], 354, 'DATA 354')
c.send('Subject: two\r\n\r\nfor two\r\n.\r\n')
code, text = c.reply()
t.ok(code == 250 and text[0].startswith('2.0.0 ok'), '250 after the dot', text)
t.eq(c.first('QUIT')[:3], '221', 'QUIT')
c.close()
got = wait_n(DEMO, n + 1)
o = inst.wait_mails('other@example.test', 1)
t.ok(len(got) == n + 1 and len(o) == 1, 'delivered to both')
if o:
    good, hdr = received_ok(o[0], 'old.client.test', 'SMTP', None)
    t.ok(good, 'HELO gives "with SMTP" and no "for" with two recipients', hdr)

# --- a 20 MB message -----------------------------------------------------------------
n = len(inst.mails(DEMO))
line = b'0123456789abcdefghijklmnopqrstuvwxyz.ABCDEFGHIJKLMNOPQRSTUVWXYZ\xc3\xa9\n'
big = b'Subject: big\n\n' + line * (20 * 1024 * 1024 // len(line)) + b'.\n..\nend\n'
with smtplib.SMTP('127.0.0.1', port, timeout=120) as s:
    t.eq(s.sendmail('a@remote.test', [DEMO], crlf(big)), {}, '20 MB message accepted')
got = inst.wait_mails(DEMO, n + 1, timeout=120)
if t.eq(len(got), n + 1, '20 MB message delivered'):
    b = strip_added(got[-1])
    t.eq((len(b), hashlib.sha256(b).hexdigest()), (len(big), hashlib.sha256(big).hexdigest()),
         '20 MB message byte-identical')

smtplib.SMTP('127.0.0.1', port, timeout=30).quit()   # no HELO at all
NOHELO_END = r'smtp-recv: info: session=\S+ ip=127\.0\.0\.1 status=end reason=quit\n'
pmtest.wait_for(lambda: re.search(NOHELO_END, inst.log(inst.smtp_proc)))
logs = inst.log(inst.smtp_proc)
t.ok(re.search(r'smtp-recv: info: session=\S+ ip=127\.0\.0\.1 helo=py\.client\.test from=<a@remote\.test> size=\d+ '
               r'rcpts=1 status=queued code=250\n', logs), 'log: message line, with the client', logs[-2000:])
t.ok(re.search(r'smtp-recv: info: session=\S+ ip=127\.0\.0\.1 helo=py\.client\.test status=end reason=quit\n', logs),
     'log: end line, with the client', logs[-2000:])
t.ok(not re.search(r'helo=\S+\n', logs), 'log: no line of its own for HELO', logs[-2000:])
t.ok(re.search(NOHELO_END, logs),
     'log: end line of a session without HELO: no helo=', logs[-2000:])
smtphelp.crash_free(t, logs, 'no sanitizer report or crash in the server log')
