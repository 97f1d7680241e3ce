#!/usr/bin/env python3
# SMTP smuggling (CVE-2023-51764/51765/51766 style): end-of-data look-alikes
# must neither end DATA nor start a second message. Each vector is sent in
# its own session; exactly one message per session must arrive, with the
# smuggled "commands" as its text.
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtest
from pmtest import TAP, Instance, strip_added
import smtphelp

t = TAP()
inst = Instance(users={'demo@example.test': 'pw', 'victim@example.test': 'pw'})
port = inst.start_smtp()
inst.start_queue()
smtphelp.queue_ready(inst)

SMUGGLED = (b'MAIL FROM:<admin@example.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n'
            b'From: admin@example.test\r\nSubject: smuggled\r\n\r\nevil\r\n')
SMUGGLED_LF = SMUGGLED.replace(b'\r\n', b'\n')

# vector -> how the line with the fake dot is stored
VECTORS = [
    (b'\n.\n', b'\n.\n'),            # <LF>.<LF>
    (b'\n.\r\n', b'\n.\n'),          # <LF>.<CR><LF>
    (b'\r.\r\n', b'\r.\n'),          # <CR>.<CR><LF>
    (b'\r.\r', b'\r.\r'),            # <CR>.<CR>
    (b'\r\n.\n', b'\n.\n'),          # <CR><LF>.<LF>
    (b'\r\n.\r', b'\n\r'),           # <CR><LF>.<CR>: a line ".\rMAIL..." loses its dot
    (b'\r\n.\r\r\n', b'\n\r\n'),     # <CR><LF>.<CR><CR><LF>
    (b'\n.\r\r\n', b'\n\r\n'),
    (b'\r\n\x00.\r\n', b'\n\x00.\n'),  # NUL before the dot
    (b'\r\n .\r\n', b'\n .\n'),      # space before the dot
]

for i, (vec, stored) in enumerate(VECTORS):
    subj = b'Subject: vector %d\r\n\r\nline' % i
    c = smtphelp.Client(port)
    c.reply()
    c.cmd('EHLO smuggler.test')
    c.cmd('MAIL FROM:<a@remote.test>')
    c.cmd('RCPT TO:<demo@example.test>')
    t.eq(c.cmd('DATA')[0], 354, 'vector %d %r: DATA' % (i, vec))
    # all in one write, as an outbound server that forwards the bytes would
    c.send(subj + vec + SMUGGLED + b'.\r\nQUIT\r\n')
    codes = []
    try:
        while True:
            codes.append(c.reply()[0])
    except (EOFError, OSError):
        pass
    c.close()
    t.eq(codes, [250, 221], 'vector %d %r: one message, then QUIT' % (i, vec))
    want = b'Subject: vector %d\n\nline' % i + stored + SMUGGLED_LF
    got = inst.wait_mails('demo@example.test', i + 1)
    mine = [strip_added(m) for m in got if b'Subject: vector %d\n' % i in m]
    t.eq(mine, [want], 'vector %d %r: stored text' % (i, vec))

time.sleep(1.5)
t.eq(len(inst.mails('demo@example.test')), len(VECTORS), 'exactly one message per vector')
t.eq(inst.mails('victim@example.test'), [], 'no smuggled message for the victim')
logs = inst.log(inst.smtp_proc)
t.eq(logs.count('status=queued'), len(VECTORS), 'one queued message per session in the log')
smtphelp.crash_free(t, logs, 'no sanitizer report or crash')
