#!/usr/bin/env python3
# smtp-recv under protocol abuse: overlong lines, NUL bytes, floods of bad
# commands, idle clients, too many recipients, loops, disconnects in DATA.
# Each time: a clear reply, no crash, nothing queued that should not be.
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtest
from pmtest import TAP, Instance, wait_for
import smtphelp

t = TAP()
inst = Instance()
port = inst.start_smtp(env={'SMTP_TIMEOUT': '2'})
inst.start_queue()
smtphelp.queue_ready(inst)


def session(p=port):
    c = smtphelp.Client(p)
    c.reply()
    c.cmd('EHLO bad.test')
    return c


# --- overlong command line, NUL bytes ---------------------------------------------
c = session()
c.send(b'NOOP ' + b'x' * 100000 + b'\r\n')
t.eq(c.reply(), (500, ['5.5.2 line too long']), '100 KB command line: 500 5.5.2')
t.eq(c.first('NOOP'), '250 2.0.0 ok', 'the session goes on')
t.eq(c.first('MAIL FROM:<a@remote.test> ' + 'X' * 2100)[:9], '500 5.5.2', '2100-byte MAIL line: 500 5.5.2')
t.eq(c.first('NOOP ' + 'y' * 1500), '250 2.0.0 ok', '1500-byte line is fine')
c.send(b'NO\x00OP\r\n')
t.eq(c.reply()[0], 500, 'NUL byte in a command: 500')
c.send(b'MAIL FROM:<a\x00b@remote.test>\r\n')
t.eq(c.reply()[0], 500, 'NUL byte in an address: 500')
c.send(b'\xff\xfe\x80 binary junk\r\n')
t.eq(c.reply()[0], 500, 'binary junk: 500')
c.send(b'\r\n')
t.eq(c.reply()[0], 500, 'empty line: 500')
t.eq(c.first('RCPT TO:<demo@example.test>')[:3], '503', 'still no transaction')
c.close()

# --- a flood of unknown commands ---------------------------------------------------
c = session()
c.send(b'FOO\r\n' * 30)
codes = []
try:
    while True:
        codes.append(c.reply()[0])
except (EOFError, OSError):
    pass
t.eq(codes, [500] * 20 + [421], '20 errors answered 500, the 21st 421, then nothing')
t.ok(c.closed(2), 'connection closed after 421')
c.close()

# HTTP through a proxy or a browser: hang up at once
c = smtphelp.Client(port)
c.reply()
c.send(b'POST / HTTP/1.1\r\nHost: x\r\n\r\nMAIL FROM:<a@b>\r\n')
t.eq(c.reply()[0], 421, 'HTTP request: 421')
t.ok(c.closed(2), 'and closed')
c.close()

# --- idle client -----------------------------------------------------------------
c = smtphelp.Client(port, timeout=10)
c.reply()
t0 = time.time()
code, text = c.reply()
dt = time.time() - t0
t.ok(code == 421 and text[0].startswith('4.4.2') and 1.0 < dt < 60, 'idle client: 421 4.4.2 after SMTP_TIMEOUT',
     (code, text, dt))
t.ok(c.closed(2), 'closed after the timeout')
c.close()

# --- a client that is never idle for long, but never ends: the session limit --------
port2 = inst.start_smtp(env={'SMTP_TIMEOUT': '2', 'SMTP_SESSION_TIMEOUT': '3'})
c = smtphelp.Client(port2, timeout=10)
c.reply()
t0 = time.time()
replies = []
while time.time() - t0 < 8:
    c.send('NOOP\r\n')
    replies.append(c.reply())
    if replies[-1][0] != 250:
        break
    time.sleep(0.5)
dt = time.time() - t0
t.ok(replies[-1][0] == 421 and replies[-1][1][0].startswith('4.4.2 session time limit') and 2.5 < dt < 7,
     'NOOP every 0.5 s: 421 4.4.2 at SMTP_SESSION_TIMEOUT', (replies[-3:], dt))
t.ok(c.closed(2), 'closed at the session limit')
c.close()
# ... and one that drips its message a line at a time: nothing is queued
before_drip = len(inst.mails('demo@example.test'))
c = smtphelp.Client(port2, timeout=10)
c.reply()
c.cmd('EHLO drip.test')
c.cmd('MAIL FROM:<a@remote.test>')
c.cmd('RCPT TO:<demo@example.test>')
c.cmd('DATA')
t0 = time.time()
try:
    while time.time() - t0 < 8:
        c.send(b'Subject: drip\r\n')
        time.sleep(0.5)
except OSError:
    pass
code = c.reply()[0]
t.ok(code == 421 and time.time() - t0 < 8, 'dripping DATA: 421 at the session limit', code)
c.close()
time.sleep(1)
t.eq(len(inst.mails('demo@example.test')), before_drip, 'the dripped message is not delivered')

# --- too many recipients --------------------------------------------------------------
c = session()
c.cmd('MAIL FROM:<a@remote.test>')
c.send(''.join('RCPT TO:<demo+%d@example.test>\r\n' % i for i in range(500)))
codes = [c.reply() for _ in range(500)]
t.eq([x[0] for x in codes], [250] * 100 + [452] * 400, '500 recipients: 100 accepted, then 452')
t.eq(codes[100][1][0], '4.5.3 too many recipients', '452 4.5.3 too many recipients')
t.eq(c.first('RSET'), '250 2.0.0 ok', 'RSET')
c.close()

# --- too many Received: fields (a loop) --------------------------------------------------
before = len(inst.mails('demo@example.test'))
c = session()
c.cmd('MAIL FROM:<a@remote.test>')
c.cmd('RCPT TO:<demo@example.test>')
c.cmd('DATA')
c.send(b''.join(b'Received: from hop%d.test by hop%d.test; Tue, 5 Mar 2024 12:00:00 +0000\r\n' % (i, i + 1)
                for i in range(101)) + b'Subject: loop\r\n\r\nround and round\r\n.\r\n')
t.eq(c.reply()[:1], (554,), 'too many Received: fields: 554')
c.send('NOOP\r\n')
t.eq(c.reply()[0], 250, 'the session goes on')
c.close()

# --- disconnect in the middle of DATA: nothing queued ------------------------------------
c = session()
c.cmd('MAIL FROM:<a@remote.test>')
c.cmd('RCPT TO:<demo@example.test>')
c.cmd('DATA')
c.send(b'Subject: cut\r\n\r\n' + b'half a message\r\n' * 1000)
time.sleep(0.3)
c.s.shutdown(socket.SHUT_RDWR)
c.close()
# ... and a client that stops talking in DATA (timeout)
c = session()
c.cmd('MAIL FROM:<a@remote.test>')
c.cmd('RCPT TO:<demo@example.test>')
c.cmd('DATA')
c.send(b'Subject: stalled\r\n\r\nand then nothing')
t.eq(c.reply()[0], 421, 'stalled DATA: 421 after the timeout')
c.close()
time.sleep(1.5)
t.eq(len(inst.mails('demo@example.test')), before, 'no loop, cut, dripped or stalled message delivered')
t.eq(inst.queue_ids(), [], 'and none queued')

# the same with smtp-recv alone: its injector must be killed, never get an envelope
inj, cap = smtphelp.capture_injector(inst)
d = smtphelp.Direct(inst, env={'QUEUE_INJECT': inj})
d.c.reply()
d.c.cmd('EHLO x')
d.c.cmd('MAIL FROM:<a@remote.test>')
d.c.cmd('RCPT TO:<demo@example.test>')
d.c.cmd('DATA')
d.c.send(b'Subject: cut\r\n\r\n' + b'x' * 200000)
time.sleep(0.5)
d.c.close()
t.eq(d.wait(), 0, 'smtp-recv exits 0 after a disconnect in DATA')
time.sleep(0.5)
t.eq(smtphelp.captured(cap), [], 'injector got no envelope (killed)')
t.ok('disconnect in DATA' in d.logtext(), 'logged', d.logtext())

logs = ''.join(inst.log(p) for p in inst.procs) + d.logtext()
smtphelp.crash_free(t, logs, 'no sanitizer report or crash')
