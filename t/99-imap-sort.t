#!/usr/bin/env python3
# SORT and THREAD (RFC 5256) in imap-mailbox, through Python's imaplib, on
# fixture threads delivered by maildir-deliver: Re:/RE:/Fwd:/(fwd)/[list]/
# [Fwd: ...] subjects, a reply chain, a missing parent shared by two
# messages (a dummy), References that loop, equal sent dates, a message
# without Date: (its INTERNALDATE counts) nor Message-ID. The expected
# answers are worked out by hand from the RFC's rules (comments below);
# SIZE and ARRIVAL are checked against FETCH RFC822.SIZE/INTERNALDATE.
# Each command runs twice: the second answer comes from the cache.
import imaplib
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance  # noqa: E402

t = TAP()
inst = Instance(users={'demo@example.test': 'demo'})
MD = inst.maildir('demo@example.test')


def msg(subject, date, msgid, frm=None, refs=None, irt=None):
    h = []
    if frm:
        h.append('From: ' + frm)
    h.append('To: demo@example.test')
    if subject is not None:
        h.append('Subject: ' + subject)
    if date:
        h.append('Date: ' + date)
    if msgid:
        h.append('Message-ID: ' + msgid)
    if refs:
        h.append('References: ' + refs)
    if irt:
        h.append('In-Reply-To: ' + irt)
    return ('\n'.join(h) + '\n\nbody of ' + (msgid or 'none') + '\n').encode()


# seq: base subject, sent date, thread links
FIX = [
    msg('Project plan', 'Thu, 1 Jan 2026 10:00:00 +0000', '<a@x>', 'zed@example.org'),              # 1
    msg('Re: Project plan', 'Fri, 2 Jan 2026 10:00:00 +0000', '<b@x>', 'amy@example.org',
        refs='<a@x>'),                                                                             # 2
    msg('RE: [list] Re: Project plan', 'Sat, 3 Jan 2026 10:00:00 +0000', '<c@x>',
        'Bob <bob@example.org>', refs='<a@x>\n <b@x>'),                                            # 3
    msg('Fwd: Holiday', 'Thu, 1 Jan 2026 10:00:00 +0100', '<d@x>', '"Carl" <carl@example.org>'),   # 4
    msg('Holiday (fwd)', 'Fri, 2 Jan 2026 09:00:00 +0000', '<e@x>', 'carl@example.org',
        refs='<missing@x>'),                                                                       # 5
    msg('[Fwd: Holiday]', 'Sun, 4 Jan 2026 09:00:00 +0000', '<f@x>', irt='<missing@x>'),          # 6
    msg('Loop one', 'Mon, 5 Jan 2026 12:00:00 +0000', '<g@x>', 'dan@example.org', refs='<h@x>'),  # 7
    msg('Re: Loop one', 'Mon, 5 Jan 2026 12:00:00 +0000', '<h@x>', 'dan@example.org',
        refs='<g@x>'),                                                                             # 8
    msg('Same date', 'Mon, 5 Jan 2026 13:00:00 +0100', '<i@x>', 'eve@example.org'),               # 9
    msg('', None, None),                                                                           # 10
]
for m in FIX:
    inst.run(['maildir-deliver', MD], input=m,
             env={'SENDER': 'a@example.org', 'RECIPIENT': 'demo@example.test'})

server, port = inst.start_imap_mailbox(MD, t)


def nums(data):
    return [int(x) for x in data[0].split()] if data and data[0] else []


def connect():
    c = imaplib.IMAP4('127.0.0.1', port, timeout=30)
    c.select('INBOX')
    return c


c = connect()
caps = c.capabilities
t.ok('SORT' in caps and 'THREAD=REFERENCES' in caps and 'THREAD=ORDEREDSUBJECT' in caps,
     'CAPABILITY has SORT, THREAD=REFERENCES, THREAD=ORDEREDSUBJECT', repr(caps))

# dates (UTC): 4 Jan 1 09:00, 1 Jan 1 10:00, 5 Jan 2 09:00, 2 Jan 2 10:00,
# 3 Jan 3, 6 Jan 4, 7 8 9 Jan 5 12:00 (ties: mailbox order), 10 no Date:
# (its internal date, now, comes last)
SORTS = [
    ('(DATE)', 'ALL', [4, 1, 5, 2, 3, 6, 7, 8, 9, 10]),
    ('(REVERSE DATE)', 'ALL', [10, 7, 8, 9, 6, 3, 2, 5, 1, 4]),
    # base subjects: "" 10; holiday 4 5 6; loop one 7 8; project plan 1 2 3; same date 9
    ('(SUBJECT)', 'ALL', [10, 4, 5, 6, 7, 8, 1, 2, 3, 9]),
    ('(SUBJECT DATE)', 'ALL', [10, 4, 5, 6, 7, 8, 1, 2, 3, 9]),
    ('(REVERSE SUBJECT REVERSE DATE)', 'ALL', [9, 3, 2, 1, 7, 8, 6, 5, 4, 10]),
    # first From's mailbox: "" 6 10; amy 2; bob 3; carl 4 5; dan 7 8; eve 9; zed 1
    ('(FROM)', 'ALL', [6, 10, 2, 3, 4, 5, 7, 8, 9, 1]),
    ('(FROM REVERSE DATE)', 'ALL', [10, 6, 2, 3, 5, 4, 7, 8, 9, 1]),
    ('(TO)', 'ALL', list(range(1, 11))),
    ('(CC SUBJECT)', 'ALL', [10, 4, 5, 6, 7, 8, 1, 2, 3, 9]),
    ('(DATE)', 'SUBJECT holiday', [4, 5, 6]),
    ('(DATE)', 'OR FROM carl FROM zed', [4, 1, 5]),
    ('(REVERSE DATE)', 'NOT SUBJECT plan', [10, 7, 8, 9, 6, 5, 4]),
]
for rnd in ('cold', 'warm'):
    for crit, search, want in SORTS:
        typ, data = c.sort(crit, 'UTF-8', search)
        t.eq((typ, nums(data)), ('OK', want), 'SORT %s UTF-8 %s (%s)' % (crit, search, rnd))

# SIZE and ARRIVAL against FETCH
typ, data = c.fetch('1:*', '(RFC822.SIZE INTERNALDATE)')
sizes, dates = {}, {}
for i, line in enumerate(data):
    s = line.decode()
    sizes[i + 1] = int(s.split('RFC822.SIZE ')[1].split()[0].rstrip(')'))
    dates[i + 1] = imaplib.Internaldate2tuple(line)
want = sorted(sizes, key=lambda k: (sizes[k], k))
t.eq(nums(c.sort('(SIZE)', 'UTF-8', 'ALL')[1]), want, 'SORT (SIZE) is by RFC822.SIZE, then sequence')
want = sorted(sizes, key=lambda k: (-sizes[k], k))
t.eq(nums(c.sort('(REVERSE SIZE)', 'UTF-8', 'ALL')[1]), want, 'SORT (REVERSE SIZE)')
want = sorted(dates, key=lambda k: (dates[k], k))
t.eq(nums(c.sort('(ARRIVAL)', 'US-ASCII', 'ALL')[1]), want, 'SORT (ARRIVAL) is by INTERNALDATE, then sequence')

# UID SORT answers UIDs
typ, data = c.fetch('1:*', '(UID)')
uid = {i + 1: int(line.split(b'UID ')[1].rstrip(b')')) for i, line in enumerate(data)}
typ, data = c.uid('SORT', '(SUBJECT)', 'UTF-8', 'ALL')
t.eq(nums(data), [uid[k] for k in [10, 4, 5, 6, 7, 8, 1, 2, 3, 9]], 'UID SORT answers UIDs')
typ, data = c.uid('SORT', '(DATE)', 'UTF-8', 'UID', '%d:%d' % (uid[2], uid[5]))
t.eq(nums(data), [uid[k] for k in [4, 5, 2, 3]], 'UID SORT with a UID set as search key')

# THREAD ORDEREDSUBJECT: groups by base subject, each sorted by date, the
# first message the parent of the others; threads by their first date
ORDERED = b'(4 (5)(6))(1 (2)(3))(7 8)(9)(10)'
# THREAD REFERENCES: 1 <- 2 <- 3; 5 and 6 under the dummy <missing@x>,
# which takes 4 in by subject (5 and 6's base subject "holiday", step
# 5C: a message joins a dummy); 7 and 8 refer to each other: 7 is linked
# under <h@x> first, the link 8 -> 7 would loop and is refused; 9 and
# 10 alone. Roots by date (a dummy's is its first child's): the dummy
# (4, Jan 1 09:00), 1, 8, 9, 10
REFS = b'((4)(5)(6))(1 2 3)(8 7)(9)(10)'
for rnd in ('cold', 'warm'):
    typ, data = c.thread('ORDEREDSUBJECT', 'UTF-8', 'ALL')
    t.eq((typ, data[0]), ('OK', ORDERED), 'THREAD ORDEREDSUBJECT (%s)' % rnd)
    typ, data = c.thread('REFERENCES', 'UTF-8', 'ALL')
    t.eq((typ, data[0]), ('OK', REFS), 'THREAD REFERENCES (%s)' % rnd)
typ, data = c.thread('REFERENCES', 'UTF-8', 'SUBJECT', 'loop')
t.eq(data[0], b'(8 7)', 'THREAD REFERENCES of the messages that match')
typ, data = c.thread('REFERENCES', 'UTF-8', 'NOT', 'FROM', 'bob')
t.eq(data[0], b'((4)(5)(6))(1 2)(8 7)(9)(10)', 'THREAD REFERENCES without 3: the chain is shorter')
typ, data = c.uid('THREAD', 'REFERENCES', 'UTF-8', 'ALL')
want = REFS
for k in range(10, 0, -1):
    want = want.replace(b'%d' % k, b'<%d>' % uid[k])
t.eq(data[0], want.replace(b'<', b'').replace(b'>', b''), 'UID THREAD answers UIDs')
typ, data = c.thread('ORDEREDSUBJECT', 'UTF-8', 'SUBJECT', 'nothing-like-this')
t.eq((typ, data), ('OK', [b'']), 'THREAD with no match: an empty THREAD response')


def raw(line):
    s = socket.create_connection(('127.0.0.1', port), timeout=30)
    s.sendall(b'a SELECT INBOX\r\nb ' + line + b'\r\nc LOGOUT\r\n')
    out = b''
    while b'\r\nc OK' not in out:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out


out = raw(b'THREAD REFERENCES UTF-8 SUBJECT nothing-like-this')
t.ok(b'\r\n* THREAD\r\nb OK' in out, 'no thread: "* THREAD" alone (RFC 5256 thread-data)', out)
out = raw(b'SORT (DATE) UTF-8 SUBJECT nothing-like-this')
t.ok(b'\r\n* SORT\r\nb OK' in out, 'no match: "* SORT" alone', out)

# errors: BAD and NO, and the session goes on
def status(*args):
    try:
        return c._simple_command(*args)[0]
    except imaplib.IMAP4.error as e:
        return 'BAD' if 'BAD' in str(e) or 'error' in str(e) else str(e)


t.eq(status('SORT', '(DATE)', 'KOI8-R', 'ALL'), 'NO', 'SORT with an unknown charset: NO [BADCHARSET]')
t.ok('BADCHARSET' in str(c.response('BADCHARSET')), 'the NO has the BADCHARSET code')
t.eq(status('SORT', '(FOO)', 'UTF-8', 'ALL'), 'BAD', 'SORT with an unknown key: BAD')
t.eq(status('SORT', '(REVERSE)', 'UTF-8', 'ALL'), 'BAD', 'SORT (REVERSE) alone: BAD')
t.eq(status('SORT', '()', 'UTF-8', 'ALL'), 'BAD', 'SORT with no key: BAD')
t.eq(status('SORT', '(DATE)', 'UTF-8'), 'BAD', 'SORT without search keys: BAD')
t.eq(status('THREAD', 'XYZ', 'UTF-8', 'ALL'), 'BAD', 'THREAD with an unknown algorithm: BAD')
t.eq(status('THREAD', 'REFERENCES', 'UTF-8', 'FOO'), 'BAD', 'THREAD with a bad search key: BAD')
t.eq(c.noop()[0], 'OK', 'the session goes on')
c.logout()

# not selected: BAD
c = imaplib.IMAP4('127.0.0.1', port, timeout=30)
try:
    r = c._simple_command('SORT', '(DATE)', 'UTF-8', 'ALL')[0]
except imaplib.IMAP4.error:
    r = 'BAD'
t.eq(r, 'BAD', 'SORT without a selected folder: BAD')
c.logout()
inst.stop()
