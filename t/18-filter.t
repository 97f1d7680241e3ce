#!/usr/bin/env python3
# Filters in front of queue-inject (qmail-queue protocol, QUEUE_INJECT and
# QMAILQUEUE): one that adds a header and execs queue-inject; ones that
# refuse (31 -> 554), fail (71 -> 451, 53 -> 452), or die.
import os
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtest
from pmtest import TAP, Instance, strip_added
import smtphelp

t = TAP()
inst = Instance()
inst.start_queue()
smtphelp.queue_ready(inst)
DEMO = 'demo@example.test'


def script(name, body):
    p = os.path.join(inst.root, name)
    with open(p, 'w') as f:
        f.write('#!/bin/sh\n' + body)
    os.chmod(p, 0o755)
    return p


addhdr = script('addhdr.sh', '''# add a header, then hand over to queue-inject (envelope still on fd 1)
t=$(mktemp) || exit 71
{ echo 'X-Filtered: yes'; cat; } > "$t" || { rm -f "$t"; exit 53; }
exec < "$t"
rm -f "$t"
exec queue-inject
''')
refuse = script('refuse.sh', 'cat > /dev/null; exit 31\n')
refuse_unread = script('refuse-unread.sh', 'exit 31\n')
tempfail = script('tempfail.sh', 'cat > /dev/null; cat <&1 > /dev/null; exit 71\n')
diskfull = script('diskfull.sh', 'cat > /dev/null; exit 53\n')
crash = script('crash.sh', 'kill -9 $$\n')
perm = script('perm.sh', 'cat > /dev/null; exit 11\n')
# qmail's custom error patch (simscan...): D or Z and a text on fd 4
custom_d = script('custom-d.sh', 'cat > /dev/null; printf "Dno thanks (#5.7.1)" >&4; exit 82\n')
custom_z = script('custom-z.sh', 'cat > /dev/null; printf "Z4.7.1 come back\\r\\n250 later\\n" >&4; exit 82\n')
custom_31 = script('custom-31.sh', 'cat > /dev/null; printf "D5.7.1 refused by policy" >&4; exit 31\n')
custom_mix = script('custom-mix.sh', 'cat > /dev/null; printf "Dnot permanent" >&4; exit 71\n')
BODY = b'Subject: filtered\r\n\r\nthrough a filter\r\n'


def send(port):
    """Send one message with smtplib; (code, text) of the reply to the dot."""
    try:
        with smtplib.SMTP('127.0.0.1', port, timeout=30) as s:
            s.sendmail('a@remote.test', [DEMO], BODY)
            return 250, ''
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode()


# --- a filter that adds a header ------------------------------------------------
port = inst.start_smtp(env={'QUEUE_INJECT': addhdr})
t.eq(send(port)[0], 250, 'filter + queue-inject: 250')
m = inst.wait_mails(DEMO, 1)
t.eq(len(m), 1, 'delivered')
if m:
    body = strip_added(m[0], (b'return-path', b'delivered-to'))
    t.ok(body.startswith(b'X-Filtered: yes\nReceived: from '), 'the filter\'s header is there, before Received:', body)
    t.ok(body.endswith(b'\nSubject: filtered\n\nthrough a filter\n'), 'message intact', body)

# qmail's variable works too
port = inst.start_smtp(env={'QMAILQUEUE': addhdr})
t.eq(send(port)[0], 250, 'QMAILQUEUE honoured: 250')
m = inst.wait_mails(DEMO, 2)
t.ok(len(m) == 2 and b'X-Filtered: yes' in m[1], 'delivered through the QMAILQUEUE filter')

# --- refusals and failures ------------------------------------------------------------
for path, want, what in ((refuse, '554 5.7.1', 'filter exits 31: 554 5.7.1'),
                         (refuse_unread, '554 5.7.1', 'filter exits 31 without reading: 554 5.7.1'),
                         (perm, '554 5.', 'filter exits 11: 554'),
                         (custom_d, '554 5.3.0 no thanks (#5.7.1)', 'exit 82 with a D text: 554 and the text'),
                         (custom_z, '451 4.7.1 come back', 'exit 82 with a Z text: 451, its first line'),
                         (custom_31, '554 5.7.1 refused by policy', 'exit 31 with a D text: 554 and the text'),
                         (custom_mix, '451 4.3.0 message temporarily', 'exit 71 with a D text: the text ignored'),
                         (tempfail, '451 4.', 'filter exits 71: 451'),
                         (diskfull, '45', 'filter exits 53: 451/452'),
                         (crash, '451 4.3.0', 'filter killed: 451 4.3.0'),
                         (os.path.join(inst.root, 'does-not-exist'), '451 4.', 'filter missing: 451')):
    port = inst.start_smtp(env={'QUEUE_INJECT': path})
    code, text = send(port)
    t.ok(('%d %s' % (code, text)).startswith(want), what, (code, text))

# a big message into a filter that refuses without reading: still a clean 554
port = inst.start_smtp(env={'QUEUE_INJECT': refuse_unread})
c = smtphelp.Client(port)
c.reply()
c.cmd('EHLO x')
c.cmd('MAIL FROM:<a@remote.test>')
c.cmd('RCPT TO:<demo@example.test>')
c.cmd('DATA')
c.send(b'Subject: big\r\n\r\n' + (b'y' * 1000 + b'\r\n') * 2000 + b'.\r\n')
t.eq(c.reply()[0], 554, '2 MB into a filter that exited: 554')
t.eq(c.first('NOOP'), '250 2.0.0 ok', 'session goes on')
c.close()

# stuck filters are killed after SMTP_TIMEOUT: one that never reads a big
# message, one that never exits
stuck_read = script('stuck-read.sh', 'exec sleep 1000\n')
stuck_exit = script('stuck-exit.sh', 'cat > /dev/null; cat <&1 > /dev/null; exec sleep 1000\n')
for path, what in ((stuck_read, 'never reads'), (stuck_exit, 'never exits')):
    port = inst.start_smtp(env={'QUEUE_INJECT': path, 'SMTP_TIMEOUT': '2'})
    c = smtphelp.Client(port)
    c.reply()
    c.cmd('EHLO x')
    c.cmd('MAIL FROM:<a@remote.test>')
    c.cmd('RCPT TO:<demo@example.test>')
    c.cmd('DATA')
    t0 = time.time()
    c.send(b'Subject: stuck\r\n\r\n' + (b'z' * 998 + b'\r\n') * 300 + b'.\r\n')
    code, text = c.reply()
    dt = time.time() - t0
    t.ok(code == 451 and dt > 1.0, 'filter that %s: 451 after the timeout' % what, (code, text, dt))
    c.close()

time.sleep(1)
t.eq(len(inst.mails(DEMO)), 2, 'nothing else delivered')
t.eq(inst.queue_ids(), [], 'nothing queued')
logs = ''.join(inst.log(p) for p in inst.procs)
smtphelp.crash_free(t, logs, 'no sanitizer report or crash')
