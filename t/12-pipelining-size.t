#!/usr/bin/env python3
# smtp-recv PIPELINING (RFC 2920) and SIZE (RFC 1870): whole transactions
# in one write, commands after the final dot, size limits at MAIL and DATA.
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtest
from pmtest import TAP, Instance, strip_added, wait_for
import smtphelp

t = TAP()
inst = Instance()
port = inst.start_smtp()
inst.start_queue()
smtphelp.queue_ready(inst)
DEMO = 'demo@example.test'

# --- a whole session in one write: two transactions, commands after the dots
c = smtphelp.Client(port)
c.reply()
c.send(b'EHLO pipe.test\r\n'
       b'MAIL FROM:<a@remote.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n'
       b'Subject: one\r\n\r\nfirst\r\n.\r\n'
       b'MAIL FROM:<b@remote.test> BODY=8BITMIME SIZE=100\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n'
       b'Subject: two\r\n\r\nsecond\r\n.\r\n'
       b'NOOP\r\nQUIT\r\n')
got = []
try:
    for _ in range(12):
        code, text = c.reply()
        got.append((code, text[0][:5]))
except EOFError as e:
    t.diag(str(e))
want = [(250, 'mx.ex'), (250, '2.1.0'), (550, '5.1.1'), (250, '2.1.5'), (354, 'go ah'), (250, '2.0.0'),
        (250, '2.1.0'), (250, '2.1.5'), (354, 'go ah'), (250, '2.0.0'), (250, '2.0.0'), (221, '2.0.0')]
t.eq(got, want, 'pipelined session in one write: every command answered once, in order')
t.ok(c.closed(), 'closed after QUIT')
c.close()
m = inst.wait_mails(DEMO, 2)
t.eq(sorted(strip_added(x) for x in m), [b'Subject: one\n\nfirst\n', b'Subject: two\n\nsecond\n'],
     'both pipelined messages delivered, nothing more')

# --- replies are held until the input is drained (one packet of replies) -----
c = smtphelp.Client(port)
c.reply()
c.cmd('EHLO pipe.test')
c.send('NOOP\r\nNOOP\r\nNOOP\r\n')
time.sleep(0.3)
data = c.s.recv(65536)
t.eq(data, b'250 2.0.0 ok\r\n' * 3, 'three pipelined replies come together')
c.close()

# --- SIZE ---------------------------------------------------------------------
sport = inst.start_smtp(env={'DATABYTES': '10000'})
c = smtphelp.Client(sport)
c.reply()
code, ehlo = c.cmd('EHLO size.test')
t.ok('SIZE 10000' in ehlo, 'EHLO announces SIZE 10000', ehlo)
t.eq(c.first('MAIL FROM:<a@remote.test> SIZE=10001')[:9], '552 5.3.4', 'SIZE over the limit: 552 5.3.4 at MAIL')
t.eq(c.first('MAIL FROM:<a@remote.test> SIZE=99999999999999999999999')[:9], '552 5.3.4', 'SIZE beyond 2^64: 552')
t.eq(c.first('MAIL FROM:<a@remote.test> SIZE=abc')[:3], '501', 'bad SIZE value: 501')
t.eq(c.first('MAIL FROM:<a@remote.test> FOO=bar')[:9], '555 5.5.4', 'unknown MAIL parameter: 555 5.5.4')
t.eq(c.first('MAIL FROM:<a@remote.test> BODY=BINARYMIME')[:9], '555 5.5.4', 'BODY=BINARYMIME: 555 5.5.4')
t.eq(c.first('MAIL FROM:<a@remote.test> SIZE=9000 BODY=7BIT SMTPUTF8'), '250 2.1.0 ok', 'SIZE under the limit, BODY, SMTPUTF8')
t.eq(c.first('RCPT TO:<demo@example.test>'), '250 2.1.5 ok', 'RCPT')
t.eq(c.cmd('DATA')[0], 354, 'DATA')
before = len(inst.mails(DEMO))
c.send(b'Subject: too big\r\n\r\n' + (b'x' * 99 + b'\r\n') * 200 + b'.\r\n')
t.eq(c.first('NOOP')[:9], '552 5.3.4', 'oversize DATA: 552 5.3.4 after the dot')
t.eq(c.reply()[0], 250, 'the session goes on (NOOP answered)')
t.eq(c.first('RCPT TO:<demo@example.test>')[:3], '503', 'the transaction is over')
t.eq(c.first('MAIL FROM:<a@remote.test>'), '250 2.1.0 ok', 'next transaction')
c.cmd('RCPT TO:<demo@example.test>')
c.cmd('DATA')
c.send(b'Subject: small\r\n\r\nsmall\r\n.\r\n')
t.eq(c.reply()[0], 250, 'a small message after the big one is queued')
c.cmd('QUIT')
c.close()
m = inst.wait_mails(DEMO, before + 1)
time.sleep(1)
m = inst.mails(DEMO)
t.eq([strip_added(x) for x in m[before:]], [b'Subject: small\n\nsmall\n'], 'the oversize message was not queued')
t.eq(inst.queue_ids(), [], 'queue empty')

# --- exactly at the limit --------------------------------------------------------
d = smtphelp.Direct(inst, env={'DATABYTES': '100', 'QUEUE_INJECT': smtphelp.capture_injector(inst)[0]})
cap = os.path.join(inst.root, 'capture')
d.c.reply()
d.c.cmd('EHLO x')
d.c.cmd('MAIL FROM:<a@b.test>')
d.c.cmd('RCPT TO:<demo@example.test>')
d.c.cmd('DATA')
d.c.send(b'x' * 98 + b'\r\n.\r\n')   # 99 bytes stored
t.eq(d.c.reply()[0], 250, '99 bytes with DATABYTES=100: accepted')
d.c.cmd('MAIL FROM:<a@b.test>')
d.c.cmd('RCPT TO:<demo@example.test>')
d.c.cmd('DATA')
d.c.send(b'x' * 100 + b'\r\n.\r\n')  # 101 bytes
t.eq(d.c.reply()[0], 552, '101 bytes: 552')
d.c.cmd('QUIT')
d.wait()
t.eq(len(smtphelp.captured(cap)), 1, 'only the first reached the injector')

logs = ''.join(inst.log(p) for p in inst.procs) + d.logtext()
t.ok('status=rejected code=552' in logs, 'oversize message logged as rejected')
smtphelp.crash_free(t, logs, 'no sanitizer report or crash')
