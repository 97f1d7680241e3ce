#!/usr/bin/env python3
"""Open-relay battery: smtp-recv as on port 25 (no RELAYCLIENT, no auth)
meets the classic tricks for getting mail relayed to a foreign domain
(percent hack, bang paths, source routes, quoted local parts holding an @,
address literals, trailing dots, case, long addresses, escapes, a local
sender or HELO name...). Each recipient must get a clear 5xx reply; a
local recipient in the same transaction is then delivered, and nothing
stays queued (remote delivery can never succeed here: a DNS server that
never answers), so no trick got a foreign recipient into the queue."""
import os
import re
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, wait_for  # noqa: E402
import smtphelp  # noqa: E402

t = TAP()
inst = Instance(domains=('example.test',), users={'demo@example.test': 'pw', 'postmaster@example.test': 'pw'})
port = inst.start_smtp()
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind(('127.0.0.1', 0))
inst.start_queue(env={'DNS_SERVER': '127.0.0.1:%d' % dns.getsockname()[1], 'MX_TIMEOUT': '1'})
smtphelp.queue_ready(inst)

FOREIGN = 'other.test'
# (what, RCPT argument); the reply must be 5xx with an enhanced code.
TRICKS = [
    ('plain foreign recipient', '<user@other.test>'),
    ('percent hack', '<user%other.test@example.test>'),
    ('double percent hack', '<user%other.test%example.test@example.test>'),
    ('bang path', '<other.test!user@example.test>'),
    ('bang path without a domain', '<other.test!user>'),
    ('source route through us', '<@example.test:user@other.test>'),
    ('source route, two hops', '<@example.test,@mx.example.test:user@other.test>'),
    ('quoted local part with an @', '<"user@other.test"@example.test>'),
    ('quoted local part, percent', '<"user%other.test"@example.test>'),
    ('two @, local domain last', '<user@other.test@example.test>'),
    ('two @, local domain first', '<user@example.test@other.test>'),
    ('backslash-escaped @', '<user\\@other.test@example.test>'),
    ('quoted backslash-escaped @', '<"user\\@other.test"@example.test>'),
    ('encoded percent', '<user%25other.test@example.test>'),
    ('IPv4 address literal', '<user@[127.0.0.1]>'),
    ('IPv6 address literal', '<user@[IPv6:::1]>'),
    ('bare IP address', '<user@127.0.0.1>'),
    ('percent hack to an address literal', '<user%other.test@[127.0.0.1]>'),
    ('foreign domain with a trailing dot', '<user@other.test.>'),
    ('local domain with a trailing dot', '<demo@example.test.>'),
    ('upper-case foreign domain', '<USER@OTHER.TEST>'),
    ('foreign domain ending in the local one', '<user@notexample.test>'),
    ('local domain as a subdomain of a foreign one', '<user@example.test.other.test>'),
    ('null recipient', '<>'),
    ('very long local part', '<%s@example.test>' % ('a' * 300)),
    ('very long foreign address', '<user@%s.other.test>' % '.'.join(['a' * 60] * 5)),
    ('without brackets', 'user@other.test'),
    ('space before the path', ' <user@other.test>'),
    ('a comment for a domain', '<user@other.test(example.test)>'),
    ('two paths', '<user@other.test>,<demo@example.test>'),
    ('port in the domain', '<user@other.test:25>'),
    ('postmaster of a foreign domain', '<postmaster@other.test>'),
    ('quoted foreign address', '<"user"@other.test>'),
    ('ideographic full stop', '<user@example\u3002test>'),
    ('fullwidth at sign', '<user\uff20other.test@example.test>'),
    ('domain literal of a name', '<user@[other.test]>'),
    ('NUL before a local domain', b'<user@other.test\0@example.test>'),
    ('NUL after the path', b'<user@other.test>\0<demo@example.test>'),
    ('bare CR before a local domain', b'<user@other.test\r@example.test>'),
    ('tab in the path', b'<user@other.test\t@example.test>'),
    ('a byte that is not UTF-8', b'<user@other.test\xff@example.test>'),
]
REPLY = re.compile(r'^5\d\d 5\.\d{1,3}\.\d{1,3} ')


def attempt(what, arg, sender='a@remote.test', helo='client.test'):
    """One session: the trick, then a local recipient and a message. The
    trick's reply line."""
    c = smtphelp.Client(port)
    try:
        c.reply()
        c.cmd('EHLO ' + helo)
        c.cmd('MAIL FROM:<%s>' % sender)
        if isinstance(arg, bytes):
            c.send(b'RCPT TO:' + arg + b'\r\n')
            code, text = c.reply()
            got = '%d %s' % (code, text[0])
        else:
            got = c.first('RCPT TO:' + arg)
        if c.first('RCPT TO:<demo@example.test>').startswith('250') and c.cmd('DATA')[0] == 354:
            c.send('Subject: %s\r\n\r\nrelay test\r\n.\r\n' % what)
            c.reply()
        c.cmd('QUIT')
    except (OSError, EOFError) as e:
        got = 'session: %r' % e
    c.close()
    return got


sent = 0
for what, arg in TRICKS:
    got = attempt(what, arg)
    sent += 1
    t.ok(REPLY.match(got), '%s (RCPT TO:%r): %s' % (what, arg[:60], got[:60]), got)
# the sender or the HELO name is local: still no relaying
for what, kw in (('local sender', {'sender': 'demo@example.test'}),
                 ('null sender', {'sender': ''}),
                 ('HELO as the local domain', {'helo': 'example.test'}),
                 ('HELO as localhost', {'helo': 'localhost'}),
                 ('HELO as our address literal', {'helo': '[127.0.0.1]'})):
    got = attempt(what, '<user@other.test>', **kw)
    sent += 1
    t.ok(REPLY.match(got), '%s, foreign recipient: %s' % (what, got[:60]), got)

# Every transaction had one good local recipient: all delivered, nothing
# left in the queue (a foreign recipient would stay there).
got = inst.wait_mails('demo@example.test', sent, timeout=30)
t.eq(len(inst.mails('demo@example.test')), sent, 'demo got one message per session')
t.ok(wait_for(lambda: not inst.queue_ids(), 15), 'the queue is empty: nothing for a foreign domain', inst.queue_ids())
logs = ''.join(inst.log(p) for p in inst.procs)
new = re.findall(r'queue-run: info: id=\S+ new .*', logs)
t.ok(len(new) == sent and all(' rcpts=1' in ln for ln in new),
     'queue-run took %d messages, each with one recipient' % sent, '\n'.join(new))
t.eq(sorted(set(re.findall(r'rcpt=<([^>]*)> status=delivered', logs))), ['demo@example.test'],
     'the only recipient delivered to is the local one')
t.ok(not re.search(r'remote-send|mx-lookup', logs), 'no remote delivery attempted', logs[-2000:])
t.eq(len(inst.mails('postmaster@example.test')), 0, 'no bounce to the postmaster')
smtphelp.crash_free(t, logs, 'no sanitizer report or crash')
