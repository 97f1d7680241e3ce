#!/usr/bin/env python3
# mail-inject: messages from scripts reach the Maildirs through queue-run,
# with Bcc: stripped and From:/Date:/Message-ID: added when missing (kept
# when present); -t, argv recipients, -f, -F; CRLF input, a message without
# an empty line; bad input refused with nothing queued; the queue's
# refusals; and, as root, an ordinary user queueing through the setgid
# ROOT/bin/queue-inject that instance-setup installs.
import os
import re
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, ASAN, BIN, TOP, split_message, wait_for  # noqa: E402

t = TAP()
DEMO, BOB, CAROL = 'demo@example.test', 'bob@example.test', 'carol@example.test'
ENV = {'USER': 'tester', 'MAILUSER': '', 'LOGNAME': ''}


def inject(inst, args, msg, env=None):
    e = dict(ENV)
    e.update(env or {})
    return inst.run(['mail-inject'] + args, input=msg, check=False, env=e)


def fields(msg, name):
    """Values of the header fields name (lower case) of a stored message."""
    head, _ = split_message(msg)
    out = []
    for line in re.split(rb'\n(?![ \t])', head):
        k, _, v = line.partition(b':')
        if k.strip().lower() == name.encode():
            out.append(v.strip().decode())
    return out


inst = Instance(users={DEMO: 'pw', BOB: 'pw', CAROL: 'pw'})
q = inst.start_queue()

# --- -t: To, Cc, Bcc; Bcc stripped; the missing fields added -----------------
r = inject(inst, ['-t'], b'To: Demo <demo@example.test>\nCc: bob@example.test, DEMO@Example.Test\n'
           b'Bcc: "Carol C." <carol@example.test>\nSubject: t one\n\nbody one\n')
t.eq(r.returncode, 0, 'mail-inject -t: exit 0')
got = {a: inst.wait_mails(a, 1, timeout=20) for a in (DEMO, BOB, CAROL)}
t.ok(all(len(m) == 1 for m in got.values()), 'To, Cc and Bcc recipients each get it (once)', r.stderr)
m = got[DEMO][0] if got[DEMO] else b''
t.ok(all(b'bcc' not in split_message(x[0])[0].lower() for x in got.values() if x),
     'no Bcc: line in any copy (the Bcc recipient\'s either)')
t.eq(fields(m, 'from'), ['tester@mx.example.test'], 'From: added: $USER@etc/me')
t.eq(fields(m, 'return-path'), ['<tester@mx.example.test>'], 'envelope sender: $USER@etc/me')
t.ok(len(fields(m, 'date')) == 1 and re.match(r'\w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$', fields(m, 'date')[0]),
     'Date: added, RFC 5322 form', fields(m, 'date'))
mid = fields(m, 'message-id')
t.ok(len(mid) == 1 and re.match(r'<[^<>@\s]+@mx\.example\.test>$', mid[0]), 'Message-ID: added, @etc/me', mid)
t.ok(split_message(m)[1] == b'body one\n', 'body intact')

# --- fields present are kept; argv recipients; -f; MAILUSER ------------------
msg = (b'From: Someone <someone@example.org>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n'
       b'Message-ID: <kept.1@example.org>\nTo: nobody@example.org\nSubject: t two\n\nbody two\n')
r = inject(inst, ['-f', 'bounces@example.org', BOB], msg)
t.eq(r.returncode, 0, 'argv recipient, -f: exit 0')
m = inst.wait_mails(BOB, 2, timeout=20)[-1:] or [b'']
m = m[0]
t.eq(fields(m, 'from'), ['Someone <someone@example.org>'], 'From: present: kept')
t.eq(fields(m, 'date'), ['Mon, 1 Jan 2024 10:00:00 +0000'], 'Date: present: kept, not doubled')
t.eq(fields(m, 'message-id'), ['<kept.1@example.org>'], 'Message-ID: present: kept, not doubled')
t.eq(fields(m, 'return-path'), ['<bounces@example.org>'], '-f sets the envelope sender')
t.ok(b'nobody@example.org' in m, 'without -t the To: field is only text')

r = inject(inst, ['-F', 'Joe "the" Script', '--', 'Carol <carol@example.test>, demo@example.test'],
           b'Subject: t three\n\nbody three\n', env={'MAILUSER': 'robot@example.test'})
t.eq(r.returncode, 0, 'an address list as argument, -F, $MAILUSER: exit 0')
got = inst.wait_mails(CAROL, 2, timeout=20)
m = got[-1] if len(got) == 2 else b''
t.eq(fields(m, 'from'), ['"Joe \\"the\\" Script" <robot@example.test>'], '-F name, quoted; $MAILUSER before $USER')
t.eq(fields(m, 'return-path'), ['<robot@example.test>'], '$MAILUSER is the envelope sender')
t.ok(len(inst.wait_mails(DEMO, 2, timeout=20)) == 2, 'both addresses of the argument list get it')

# --- CRLF, a lone dot, no empty line, mbox From line, -f "" ------------------
r = inject(inst, [DEMO], b'From nobody Mon Jan  1 00:00:00 2024\r\nSubject: crlf\r\n\r\nline 1\r\n.\r\nline 3\r\n')
t.eq(r.returncode, 0, 'CRLF input: exit 0')
m = (inst.wait_mails(DEMO, 3, timeout=20) or [b''])[-1]
t.ok(b'\r' not in m, 'stored with LF line ends')
t.eq(split_message(m)[1], b'line 1\n.\nline 3\n', 'a lone dot does not end the message')
t.ok(b'From nobody' not in m, 'a leading mbox From line is dropped')
r = inject(inst, ['-f', '', DEMO], b'just a line of text\nand another')
t.eq(r.returncode, 0, 'a message without header and without final LF: exit 0')
m = (inst.wait_mails(DEMO, 4, timeout=20) or [b''])[-1]
t.eq(split_message(m)[1], b'just a line of text\nand another', 'its text becomes the body, after the added header')
t.eq(fields(m, 'return-path'), ['<>'], '-f "": the null sender')
t.eq(fields(m, 'from'), ['tester@mx.example.test'], '-f "": From: from $USER')
r = inject(inst, ['-t'], b'To: carol@example.test\nSubject: header only\n')
t.eq(r.returncode, 0, 'a message that is all header: exit 0')
m = (inst.wait_mails(CAROL, 3, timeout=20) or [b''])[-1]
t.ok(m.endswith(b'\n\n') and fields(m, 'subject') == ['header only'], 'header only: queued with an empty body', m[-200:])

# --- bad input: exit 100, a message, nothing queued -------------------------
inst.kill(q)
before = len(inst.queue_ids())
bad = [
    (['-t'], b'Subject: nobody\n\nx\n', 'no recipients'),
    ([], b'To: demo@example.test\n\nx\n', 'no recipients'),
    ([DEMO], b'Subject: x\n\nNUL \0 here\n', 'NUL byte'),
    ([DEMO], b'Subject: \0\n\nx\n', 'NUL byte'),
    ([DEMO], b'X-Huge: ' + b'x' * 200000 + b'\n\nbody\n', 'longer than 65535'),
    ([DEMO], b''.join(b'X-Many: %d\n' % i for i in range(10001)) + b'\nbody\n', 'larger than 1 MiB or 10000 lines'),
    ([DEMO], (b'X-Big: ' + b'y' * 60000 + b'\n') * 20 + b'\nbody\n', 'larger than 1 MiB'),
    (['-t'], b'To: Joe <joe@example.test\n\nx\n', 'invalid address list'),
    (['not an address'], b'Subject: x\n\nx\n', 'invalid address list'),
    (['x' * 65 + '@example.test'], b'Subject: x\n\nx\n', 'invalid recipient'),
    (['-f', 'bad sender@', DEMO], b'Subject: x\n\nx\n', 'invalid sender'),
    (['-x'], b'', 'mail-inject: usage: mail-inject'),
]
for args, msg, want in bad:
    r = inject(inst, args, msg)
    err = r.stderr.decode(errors='replace')
    t.ok(r.returncode == 100 and ('mail-inject: fatal: ' in err or 'usage' in want) and want in err,
         'refused with 100: %s (%s)' % (want, ' '.join(args) or 'no args'), '%d %s' % (r.returncode, err))
t.eq(len(inst.queue_ids()), before, 'nothing queued by the refused messages')
t.eq(os.listdir(os.path.join(inst.root, 'queue/tmp')), [], 'nothing left in queue/tmp')

# --- the queue's answers: QUEUE_INJECT refusing, failing ---------------------
script = os.path.join(inst.root, 'qq')
for code, want in ((31, 100), (71, 111), (0, 0)):
    with open(script, 'w') as f:
        f.write('#!/bin/sh\ncat >/dev/null\ncat <&1 >/dev/null\nexit %d\n' % code)
    os.chmod(script, 0o755)
    r = inject(inst, [DEMO], b'Subject: q\n\nx\n', env={'QUEUE_INJECT': script})
    t.eq(r.returncode, want, 'QUEUE_INJECT exits %d: mail-inject exits %d' % (code, want))
r = inject(inst, ['-s', DEMO], b'Subject: q\n\nx\n', env={'QUEUE_INJECT': '/nonexistent/qq'})
t.eq(r.returncode, 75, '-s: a temporary failure is EX_TEMPFAIL (75)')
r = inject(inst, ['-s', '-t'], b'Subject: q\n\nx\n')
t.eq(r.returncode, 64, '-s: no recipients is EX_USAGE (64)')
r = inject(inst, ['-s', DEMO], b'Subject: \0\n\nx\n')
t.eq(r.returncode, 65, '-s: a NUL byte is EX_DATAERR (65)')
r = inject(inst, ['-s', 'x' * 65 + '@example.test'], b'Subject: q\n\nx\n')
t.eq(r.returncode, 67, '-s: an invalid recipient is EX_NOUSER (67)')
inst.stop()

# --- as root: an ordinary user queues through ROOT/bin/queue-inject ---------
if os.getuid() != 0 or not shutil.which('s6-setuidgid'):
    t.skip('an ordinary user queues through the setgid queue-inject', 'not root, or no s6-setuidgid')
    sys.exit(0)
if ASAN:
    # LeakSanitizer stops the world with ptrace at exit, which a setgid
    # (non-dumpable) process run by another user cannot allow
    t.skip('an ordinary user queues through the setgid queue-inject', 'sanitizer build: setgid programs cannot run under LeakSanitizer')
    sys.exit(0)
inst = Instance(users={DEMO: 'pw'})
r = inst.run(['instance-setup', '-r', inst.root, '-b', BIN, '-t', os.path.join(TOP, 'services'),
              '-s', '2', '-i', '127.0.0.1', '-d', 'example.test'], check=False)
t.ok(r.returncode == 0, 'instance-setup as root', r.stderr)
helper = os.path.join(inst.root, 'bin/queue-inject')
st = os.stat(helper)
t.ok(st.st_uid == 0 and st.st_mode & 0o7777 == 0o2755 and st.st_gid == os.stat(os.path.join(inst.root, 'queue')).st_gid,
     'ROOT/bin/queue-inject: root, setgid to the queue\'s group, 2755', oct(st.st_mode))
# as services/queue/run runs it: umask 007, the queue user
q = inst.spawn(['sh', '-c', 'umask 007 && exec s6-setuidgid pmqueue queue-run'])
wait_for(lambda: 'started' in inst.log(q), 10)
r = inst.run(['s6-setuidgid', 'nobody', 'mail-inject', '-t'], check=False, env={'USER': 'nobody'},
             input=b'To: demo@example.test\nBcc: demo@example.test\nSubject: from nobody\n\nhi\n')
t.ok(r.returncode == 0, 'mail-inject as nobody: exit 0', r.stderr)
got = inst.wait_mails(DEMO, 1, timeout=20)
t.ok(len(got) == 1 and b'from nobody' in got[0], 'delivered by queue-run as pmqueue', inst.log(q))
t.ok(got and re.search(rb'^Received: \(from uid 65534\)\n\tby mx\.example\.test \(pipemail queue-inject\); ', got[0], re.M),
     'the setgid copy adds a trace field with the caller\'s uid', got[0][:400] if got else '')
r = inst.run(['s6-setuidgid', 'nobody', 'mail-inject', DEMO], check=False,
             env={'USER': 'nobody', 'QUEUE_INJECT': '', 'QMAILQUEUE': ''}, input=b'Subject: x\n\nx\n')
t.ok(r.returncode == 0, 'empty QUEUE_INJECT: the setgid copy still', r.stderr)
# the copy takes ROOT from where it is, whatever PIPEMAIL_ROOT says
other = Instance(users={})
env_r, env_w = os.pipe()
os.write(env_w, b'Fnobody@example.test\0Tdemo@example.test\0\0')
os.close(env_w)
p = subprocess.run(['s6-setuidgid', 'nobody', helper], input=b'Subject: elsewhere\n\nx\n', stdout=env_r,
                   stderr=subprocess.PIPE, env=dict(inst.env, PIPEMAIL_ROOT=other.root, PATH=inst.env['PATH']))
os.close(env_r)
t.ok(p.returncode == 0, 'the setgid queue-inject with PIPEMAIL_ROOT elsewhere: exit 0', p.stderr)
got = inst.wait_mails(DEMO, 3, timeout=20)
t.ok(len(got) == 3 and b'elsewhere' in got[-1], 'the message went to its own instance, not PIPEMAIL_ROOT\'s')
t.ok(not os.path.isdir(os.path.join(other.root, 'queue')), 'nothing written under PIPEMAIL_ROOT')
# without the helper, nobody cannot write the queue: a clean temporary failure
os.rename(helper, helper + '.off')
r = inst.run(['s6-setuidgid', 'nobody', 'mail-inject', DEMO], check=False, env={'USER': 'nobody'},
             input=b'Subject: x\n\nx\n')
t.ok(r.returncode == 111 and b'mail-inject: fatal:' in r.stderr, 'no setgid copy: nobody gets 111', r.stderr)
os.rename(helper + '.off', helper)
# sendmail -bs as root goes through the setgid copy too (a file written
# in-process would be root's, unreadable by queue-run); -q as nobody
r = inst.run(['sendmail', '-bs'], check=False,
             input=b'HELO me\r\nMAIL FROM:<nobody@example.test>\r\nRCPT TO:<demo@example.test>\r\n'
                   b'DATA\r\nSubject: bs as root\r\n\r\nhi\r\n.\r\nQUIT\r\n')
t.ok(r.returncode == 0 and b'\n250 2.0.0 ok' in r.stdout, 'sendmail -bs as root: queued', r.stdout + r.stderr)
got = inst.wait_mails(DEMO, 4, timeout=20)
t.ok(len(got) == 4 and b'bs as root' in got[-1], 'sendmail -bs as root: delivered by queue-run as pmqueue')
r = inst.run(['s6-setuidgid', 'nobody', 'sendmail', '-q'], check=False)
t.ok(r.returncode == 0, 'sendmail -q as nobody: 0', r.stderr)
t.ok(q.poll() is None, 'queue-run still up')
mode = stat.S_IMODE(os.stat(os.path.join(inst.root, 'queue')).st_mode)
t.eq(mode, 0o770, 'the queue stays closed to other users (770)')
