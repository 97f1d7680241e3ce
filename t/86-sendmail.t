#!/usr/bin/env python3
# sendmail: the front that Unix programs call. -t -i, the dot without -i,
# the harmless options ignored, unknown ones refused (EX_USAGE), -bs (an
# SMTP dialogue on stdin/stdout), -bp and mailq, -q (queue-run retries the
# deferred now), and real callers: s-nail (mailx) and git send-email
# pointed at it; make install-sendmail never over another MTA's sendmail.
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, BIN, TOP, split_message, wait_for  # noqa: E402

t = TAP()
DEMO, BOB, CAROL = 'demo@example.test', 'bob@example.test', 'carol@example.test'
SENDMAIL = os.path.join(BIN, 'sendmail')


def sendmail(inst, args, msg=b'', env=None):
    return inst.run([SENDMAIL] + args, input=msg, check=False, env=dict({'USER': 'tester'}, **(env or {})))


def header(msg, name):
    head, _ = split_message(msg)
    return [line.split(b':', 1)[1].strip().decode() for line in head.split(b'\n')
            if line.lower().startswith(name.encode() + b':')]


inst = Instance(users={DEMO: 'pw', BOB: 'pw', CAROL: 'pw'})
q = inst.start_queue()

# --- -t -i ---------------------------------------------------------------------
r = sendmail(inst, ['-t', '-i'], b'To: demo@example.test\nBcc: bob@example.test\nSubject: ti\n\n'
             b'one\n.\nthree\n')
t.eq(r.returncode, 0, 'sendmail -t -i: exit 0')
d, b = inst.wait_mails(DEMO, 1, timeout=20), inst.wait_mails(BOB, 1, timeout=20)
t.ok(len(d) == 1 and len(b) == 1, 'To and Bcc recipients get it', r.stderr)
t.ok(d and b'bcc' not in split_message(d[0])[0].lower() and b and b'bcc' not in split_message(b[0])[0].lower(),
     'Bcc: stripped')
t.eq(split_message(d[0])[1] if d else b'', b'one\n.\nthree\n', '-i: the lone dot is text')
t.ok(d and len(header(d[0], 'message-id')) == 1 and len(header(d[0], 'date')) == 1, 'Message-ID:, Date: added')

# --- without -i a lone dot ends the message; options grouped, attached -------
r = sendmail(inst, ['-oem', '-odi', '-oQ/var/spool', '-U', '-v', '-m', '-Ftheir name', '-fme@example.test',
                    '-N', 'never', '-R', 'hdrs', '-V', 'envid', '-B', '8BITMIME', '-h', '5', '--', DEMO],
             b'Subject: dot\r\n\r\nbefore\r\n.\r\nafter the dot\r\n')
t.eq(r.returncode, 0, 'harmless options ignored: exit 0', )
d = inst.wait_mails(DEMO, 2, timeout=20)
m = d[-1] if len(d) == 2 else b''
t.eq(split_message(m)[1], b'before\n', 'without -i a lone dot ends the message')
t.eq(header(m, 'return-path'), ['<me@example.test>'], '-fADDR (attached)')
t.eq(header(m, 'from'), ['their name <me@example.test>'], '-FNAME (attached) as display name')
r = sendmail(inst, ['-ti', '-oi'], b'To: carol@example.test\n\nx\n.\ny\n')
c = inst.wait_mails(CAROL, 1, timeout=20)
t.ok(r.returncode == 0 and c and split_message(c[0])[1] == b'x\n.\ny\n', 'grouped -ti, -oi')

# --- errors: sysexits --------------------------------------------------------
for args, msg, code, what in ((['-Z'], b'', 64, 'unknown option'),
                              (['-bx'], b'', 64, 'unsupported mode'),
                              (['-f'], b'', 64, 'option without its argument'),
                              ([], b'Subject: x\n\nx\n', 64, 'no recipients'),
                              (['-t'], b'To: <broken\n\nx\n', 65, 'malformed To:'),
                              ([DEMO], b'Subject: \0\n\nx\n', 65, 'NUL byte'),
                              (['x' * 70 + '@example.test'], b'Subject: x\n\nx\n', 67, 'invalid recipient')):
    r = sendmail(inst, args, msg)
    t.ok(r.returncode == code and r.stderr, '%s: exit %d' % (what, code), '%d %s' % (r.returncode, r.stderr))
r = sendmail(inst, [DEMO], b'Subject: x\n\nx\n', env={'QUEUE_INJECT': '/nonexistent/qq'})
t.eq(r.returncode, 75, 'the queue unreachable: EX_TEMPFAIL (75)')

# --- -bs ---------------------------------------------------------------------------
dialogue = (b'EHLO client\r\nMAIL FROM:<script@example.test>\r\nRCPT TO:<carol@example.test>\r\n'
            b'RCPT TO:<someone@far.example>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\n'
            b'Subject: over bs\r\n\r\nhello\r\n..dot\r\n.\r\nQUIT\r\n')
r = sendmail(inst, ['-bs'], dialogue, env={'TCPREMOTEIP': '192.0.2.9', 'PROTO': 'TCP'})
codes = [line[:3] for line in r.stdout.decode().split('\r\n') if line[:3].isdigit() and line[3:4] == ' ']
t.eq(codes, ['220', '250', '250', '250', '250', '550', '354', '250', '221'],
     '-bs: greeting, EHLO, MAIL, a local and a remote RCPT (relaying allowed), an unknown user, DATA, QUIT')
c = inst.wait_mails(CAROL, 2, timeout=20)
t.ok(len(c) == 2 and split_message(c[-1])[1] == b'hello\n.dot\n', '-bs: delivered, dot-unstuffed')
t.ok(b'192.0.2.9' not in r.stderr and b'ip=unknown' in r.stderr, '-bs: no peer address (TCPREMOTEIP removed)', r.stderr)

# --- -q: queue-run retries the deferred now --------------------------------------
md = inst.maildir(BOB)
os.rename(md, md + '.off')
r = sendmail(inst, ['-i', BOB], b'Subject: deferred\n\nx\n')
t.eq(r.returncode, 0, 'a message for a missing Maildir: queued')
t.ok(wait_for(lambda: 'status=deferred' in inst.log(q), 20), 'deferred', inst.log(q))
os.rename(md + '.off', md)
r = sendmail(inst, ['-q'])
t.eq(r.returncode, 0, 'sendmail -q: exit 0')
b = inst.wait_mails(BOB, 2, timeout=20)
t.ok(len(b) == 2 and b'deferred' in b[-1], 'sendmail -q: the deferred message delivered at once', inst.log(q))

# --- -bp, mailq ---------------------------------------------------------------
inst.kill(q)
r = sendmail(inst, ['-q'])
t.eq(r.returncode, 75, 'sendmail -q without queue-run: EX_TEMPFAIL (75)')
r = sendmail(inst, ['-i', DEMO], b'Subject: waits\n\nx\n')
r = sendmail(inst, ['-bp'])
out = r.stdout.decode()
t.ok(r.returncode == 0 and 'from=<tester@mx.example.test>' in out and '<demo@example.test> pending' in out,
     'sendmail -bp lists the queue (queue-list)', out + r.stderr.decode())
mailq = os.path.join(inst.root, 'mailq')
os.symlink(SENDMAIL, mailq)
r = inst.run([mailq], check=False)
t.eq(r.stdout.decode(), out, 'run as mailq: the same list')

# --- s-nail (mailx) with its mta pointed at ours -----------------------------
q = inst.start_queue()
home = tempfile.mkdtemp(prefix='home-', dir=inst.root)
snail = shutil.which('s-nail')
if not snail:
    t.skip('s-nail -Smta=sendmail delivers', 's-nail not installed (Debian package s-nail)')
else:
    r = inst.run([snail, '-n', '-Smta=' + SENDMAIL, '-Sfrom=tester@example.test', '-s', 'mailx subject',
                  '-b', CAROL, DEMO], input=b'from mailx\n', check=False,
                 env={'HOME': home, 'MAILRC': '/dev/null', 'USER': 'tester'})
    t.ok(r.returncode == 0, 's-nail -Smta=.../sendmail: exit 0', r.stderr)
    d, c = inst.wait_mails(DEMO, 4, timeout=20), inst.wait_mails(CAROL, 3, timeout=20)
    m = d[-1] if len(d) == 4 else b''
    t.ok(header(m, 'subject') == ['mailx subject'] and b'from mailx' in split_message(m)[1], 's-nail: delivered', d[-1:])
    t.ok(len(c) == 3 and b'mailx subject' in c[-1] and b'bcc' not in split_message(c[-1])[0].lower(),
         's-nail: the Bcc recipient gets it, no Bcc: line')

# --- git send-email --smtp-server=PATH/sendmail --------------------------------
repo = tempfile.mkdtemp(prefix='repo-', dir=inst.root)
genv = {'HOME': home, 'GIT_CONFIG_NOSYSTEM': '1', 'GIT_AUTHOR_NAME': 'Dev', 'GIT_AUTHOR_EMAIL': 'dev@example.test',
        'GIT_COMMITTER_NAME': 'Dev', 'GIT_COMMITTER_EMAIL': 'dev@example.test'}
gitexec = shutil.which('git') and inst.run(['git', '--exec-path'], env=genv).stdout.decode().strip()
if not gitexec or not os.access(os.path.join(gitexec, 'git-send-email'), os.X_OK):
    t.skip('git send-email delivers', 'git send-email not installed (Debian package git-email)')
else:
    def git(*args):
        return inst.run(['git', '-C', repo] + list(args), check=False, env=genv)
    git('init', '-q')
    with open(os.path.join(repo, 'file'), 'w') as f:
        f.write('hello\n')
    git('add', 'file')
    git('commit', '-q', '-m', 'add a file\n\nThe body of the commit.')
    git('format-patch', '-q', '-1', '-o', 'out')
    patches = [os.path.join(repo, 'out', p) for p in os.listdir(os.path.join(repo, 'out'))]
    r = git('send-email', '--smtp-server=' + SENDMAIL, '--to=' + DEMO, '--bcc=' + BOB, '--confirm=never',
            '--no-chain-reply-to', '--suppress-cc=all', '--from=Dev <dev@example.test>',
            '--envelope-sender=dev@example.test', *patches)
    t.ok(r.returncode == 0, 'git send-email --smtp-server=.../sendmail: exit 0', r.stdout + r.stderr)
    d = inst.wait_mails(DEMO, 5, timeout=20)
    m = d[-1] if len(d) == 5 else b''
    t.ok(header(m, 'subject') == ['[PATCH] add a file'] and b'+hello' in m, 'the patch delivered', m[:600])
    t.eq(header(m, 'return-path'), ['<dev@example.test>'], '--envelope-sender: git gives it with -f')
    b = inst.wait_mails(BOB, 3, timeout=20)
    t.ok(len(b) == 3 and b'[PATCH] add a file' in b[-1] and b'bcc' not in split_message(b[-1])[0].lower(),
         'the Bcc recipient gets it, no Bcc: line')

# --- make install-sendmail -------------------------------------------------------
dest = tempfile.mkdtemp(prefix='dest-', dir=inst.root)
target = os.path.join(dest, 'usr/sbin/sendmail')


def install(*extra):
    return subprocess.run(['make', '-s', '-C', TOP, 'install-sendmail', 'DESTDIR=' + dest, 'PREFIX=/opt/pm'] + list(extra),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


r = install()
t.ok(r.returncode == 0 and os.readlink(target) == '/opt/pm/bin/sendmail', 'install-sendmail: the link made', r.stderr)
t.eq(install().returncode, 0, 'install-sendmail again: ours already, fine')
os.unlink(target)
with open(target, 'w') as f:
    f.write('another MTA\n')
r = install()
t.ok(r.returncode != 0 and b'not pipemail' in r.stderr and open(target).read() == 'another MTA\n',
     'another MTA\'s sendmail: refused, left alone', r.stderr)
r = install('FORCE=1')
t.ok(r.returncode == 0 and os.readlink(target) == '/opt/pm/bin/sendmail'
     and open(target + '.pre-pipemail').read() == 'another MTA\n', 'FORCE=1: replaced, the old one kept', r.stderr)
