#!/usr/bin/env python3
# imap-mailbox (IMAP after login) with Python's imaplib, started directly
# under tcp-serve (it greets PREAUTH) on a Maildir filled by
# maildir-deliver with real-world shapes: multipart/alternative, nested
# multipart/mixed with an attachment and a message/rfc822 inside, 8-bit
# and encoded-word headers, missing headers. Every command: FETCH items
# (BODYSTRUCTURE and ENVELOPE field by field against email's parse and
# RFC 3501, BODY[section]<partial> against the file), STORE forms, SEARCH
# keys, COPY/MOVE with COPYUID, APPEND with APPENDUID, folders, STATUS;
# two sessions see each other's changes and new mail; IDLE is woken by a
# delivery; bad input gets BAD/NO and the session goes on; UIDs survive
# a new session.
import email
import email.policy
import email.utils
import imaplib
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtest  # noqa: E402
from pmtest import TAP, Instance, free_port, wait_port  # noqa: E402

t = TAP()
inst = Instance(users={'demo@example.test': 'demo'})
MD = inst.maildir('demo@example.test')


def deliver(msg, folder=None):
    inst.deliver(MD, msg, folder)


def crlf(b):
    b = b.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    return b


PLAIN = (b'From: "Ann Example" <ann@example.org>\n'
         b'To: demo@example.test, Bob <bob@example.net>\n'
         b'Cc: carol@example.com\n'
         b'Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\n'
         b'Date: Tue, 3 Mar 2026 10:00:00 +0100\n'
         b'Message-ID: <plain-1@example.org>\n'
         b'In-Reply-To: <earlier@example.org>\n'
         b'X-Tag: alpha\n'
         b'X-Tag: beta\n'
         b'Content-Type: text/plain; charset=utf-8\n'
         b'Content-Transfer-Encoding: 8bit\n'
         b'\n'
         b'Hello from K\xc3\xb6ln, this is the plain one.\nSecond line.\n')
ALT = (b'From: bob@example.net\n'
       b'Reply-To: Replies <replies@example.net>\n'
       b'Sender: Robot <robot@example.net>\n'
       b'To: demo@example.test\n'
       b'Subject: alternative\n'
       b'Date: Wed, 15 Apr 2026 08:30:00 -0400\n'
       b'MIME-Version: 1.0\n'
       b'Content-Type: multipart/alternative; boundary="alt-b"\n'
       b'\n'
       b'preamble\n'
       b'--alt-b\n'
       b'Content-Type: text/plain; charset=us-ascii\n'
       b'\n'
       b'plain part with zebra\n'
       b'--alt-b\n'
       b'Content-Type: text/html; charset=us-ascii\n'
       b'Content-Transfer-Encoding: quoted-printable\n'
       b'\n'
       b'<p>html part with giraffe=3D</p>\n'
       b'--alt-b--\n')
INNER = (b'From: inner@example.com\n'
         b'Subject: the inner message\n'
         b'Date: Thu, 1 Jan 2026 00:00:00 +0000\n'
         b'\n'
         b'inner body\n')
MIXED = (b'From: carol@example.com\n'
         b'To: demo@example.test\n'
         b'Subject: nested with attachments\n'
         b'Date: Fri, 1 May 2026 12:00:00 +0000\n'
         b'MIME-Version: 1.0\n'
         b'Content-Type: multipart/mixed; boundary="outer"\n'
         b'\n'
         b'--outer\n'
         b'Content-Type: multipart/alternative; boundary="inner"\n'
         b'\n'
         b'--inner\n'
         b'Content-Type: text/plain\n'
         b'\n'
         b'text of the mixed one\n'
         b'--inner\n'
         b'Content-Type: text/html\n'
         b'\n'
         b'<b>html</b>\n'
         b'--inner--\n'
         b'--outer\n'
         b'Content-Type: application/pdf; name="report.pdf"\n'
         b'Content-Disposition: attachment; filename="report.pdf"\n'
         b'Content-Transfer-Encoding: base64\n'
         b'\n'
         b'JVBERi0xLjQKc2VjcmV0d29yZCBpbiBwZGYK\n'
         b'--outer\n'
         b'Content-Type: message/rfc822\n'
         b'\n' + INNER +
         b'--outer\n'
         b'Content-Type: text/plain; charset=us-ascii\n'
         b'Content-Transfer-Encoding: base64\n'
         b'\n'
         b'b2N0b3B1cyBpbiBiYXNlNjQK\n'
         b'--outer--\n')
BARE = b'X-Nothing: here\n\nno from, no date, no subject\n'
FIXTURES = [PLAIN, ALT, MIXED, BARE]
for m in FIXTURES:
    deliver(m)


def stored(fixture, folder=None):
    """The message file as maildir-deliver stored it (with its trace header)."""
    md = MD if not folder else os.path.join(MD, '.' + folder)
    for n in os.listdir(os.path.join(md, 'cur')) + os.listdir(os.path.join(md, 'new')):
        for sub in ('cur', 'new'):
            p = os.path.join(md, sub, n)
            if os.path.exists(p):
                with open(p, 'rb') as fh:
                    data = fh.read()
                if data.endswith(fixture):
                    return data
    raise RuntimeError('fixture not found')


FILES = [stored(m) for m in FIXTURES]


def bad(fn, *args):
    """The status of a command that imaplib raises on (BAD)."""
    try:
        return fn(*args)[0]
    except imaplib.IMAP4.error:
        return 'BAD'


server, port = inst.start_imap_mailbox(MD, t)


def connect():
    c = imaplib.IMAP4('127.0.0.1', port, timeout=30)
    return c


# ---- a tiny parser of IMAP data (lists, strings, literals, atoms) -------
def parse(b):
    pos = [0]

    def skip():
        while pos[0] < len(b) and b[pos[0]:pos[0] + 1] == b' ':
            pos[0] += 1

    def item():
        skip()
        c = b[pos[0]:pos[0] + 1]
        if c == b'(':
            pos[0] += 1
            out = []
            while True:
                skip()
                if b[pos[0]:pos[0] + 1] == b')':
                    pos[0] += 1
                    return out
                out.append(item())
        if c == b'"':
            pos[0] += 1
            s = b''
            while b[pos[0]:pos[0] + 1] != b'"':
                if b[pos[0]:pos[0] + 1] == b'\\':
                    pos[0] += 1
                s += b[pos[0]:pos[0] + 1]
                pos[0] += 1
            pos[0] += 1
            return s
        if c == b'{':
            e = b.index(b'}', pos[0])
            n = int(b[pos[0] + 1:e])
            s = b[e + 3:e + 3 + n]
            pos[0] = e + 3 + n
            return s
        s = pos[0]
        depth = 0
        while pos[0] < len(b):
            ch = b[pos[0]:pos[0] + 1]
            if ch == b'[':
                depth += 1
            elif ch == b']':
                depth -= 1
            elif depth == 0 and ch in (b' ', b'(', b')'):
                break
            pos[0] += 1
        a = b[s:pos[0]]
        return None if a == b'NIL' else a.decode()
    return item, pos


def fetch(c, seq, items, uid=False):
    """{seq: {ITEM: value}} from a FETCH, literals in place."""
    typ, data = c.uid('FETCH', seq, items) if uid else c.fetch(seq, items)
    if typ != 'OK':
        raise RuntimeError('FETCH %s %s: %s %r' % (seq, items, typ, data))
    raw = b''
    for d in data:
        if isinstance(d, tuple):
            raw += d[0] + b'\r\n' + d[1]
        elif d is not None:
            raw += d + b'\r\n'
    out = {}
    item, pos = parse(raw)
    while pos[0] < len(raw):
        while raw[pos[0]:pos[0] + 1] in (b'\r', b'\n', b' '):
            pos[0] += 1
        if pos[0] >= len(raw):
            break
        n = int(item())
        lst = item()
        out[n] = {lst[i].upper() if lst[i].upper().startswith(('BODY[', 'BODY.PEEK')) is False else lst[i]:
                  lst[i + 1] for i in range(0, len(lst), 2)}
    return out


def one(c, seq, items, uid=False):
    r = fetch(c, seq, items, uid)
    return list(r.values())[0] if r else {}


c = connect()
t.eq(c.state, 'AUTH', 'PREAUTH greeting: imaplib is authenticated at once')
typ, caps = c.capability()
capset = set(caps[0].decode().upper().split())
t.ok({'IMAP4REV1', 'IDLE', 'UIDPLUS', 'MOVE', 'NAMESPACE', 'UNSELECT', 'SPECIAL-USE', 'CHILDREN', 'LITERAL+'} <= capset,
     'CAPABILITY lists the extensions', caps)
t.eq(c.noop()[0], 'OK', 'NOOP')

# ---- folders ---------------------------------------------------------
typ, data = c.list()
lst = {}
for line in data:
    m = re.match(rb'\(([^)]*)\) "\." (.*)', line)
    lst[m.group(2).decode().strip('"')] = m.group(1).decode().split()
for name, use in (('Sent', '\\Sent'), ('Drafts', '\\Drafts'), ('Trash', '\\Trash'), ('Junk', '\\Junk'), ('Archive', '\\Archive')):
    t.ok(name in lst and use in lst[name], 'LIST: special folder %s made at first login with %s' % (name, use), lst)
t.ok('INBOX' in lst and '\\HasNoChildren' in lst['INBOX'], 'LIST: INBOX with \\HasNoChildren', lst)
typ, data = c.list('""', '""')
t.ok(typ == 'OK' and data[0].startswith(b'(\\Noselect) "."'), 'LIST "" "" gives the delimiter', data)
t.eq(c.create('Work/Projects'.replace('/', '.'))[0], 'OK', 'CREATE Work.Projects (and its parent)')
typ, data = c.list('""', 'Work*')
names = {re.match(rb'\(([^)]*)\) "\." (.*)', d).group(2).decode(): d for d in data}
t.ok('Work' in names and b'\\HasChildren' in names['Work'] and 'Work.Projects' in names, 'LIST with * shows the hierarchy and \\HasChildren', data)
typ, data = c.list('""', 'Work%')
t.ok(len(data) == 1 and b'Work.Projects' not in data[0], 'LIST with %% does not descend', data)
t.eq(c.create('Work')[0], 'NO', 'CREATE of an existing folder: NO')
t.eq(c.rename('Work.Projects', 'Work.Done')[0], 'OK', 'RENAME')
typ, data = c.list('""', 'Work.*')
t.ok(len(data) == 1 and b'Work.Done' in data[0], 'LIST after RENAME', data)
t.eq(c.subscribe('Work.Done')[0], 'OK', 'SUBSCRIBE')
typ, data = c.lsub('""', 'Work*')
t.ok(any(b'Work.Done' in d for d in data), 'LSUB lists it', data)
t.eq(c.unsubscribe('Work.Done')[0], 'OK', 'UNSUBSCRIBE')
typ, data = c.lsub('""', 'Work.Done')
t.ok(data == [None] or not any(b'Work.Done' in (d or b'') for d in data), 'LSUB no more', data)
t.eq(c.delete('Work.Done')[0], 'OK', 'DELETE')
t.eq(c.delete('INBOX')[0], 'NO', 'DELETE INBOX: NO')
t.eq(c.delete('Nonesuch')[0], 'NO', 'DELETE of a missing folder: NO')
t.eq(c.create('Caf&AOk-')[0], 'OK', 'CREATE a modified UTF-7 name')
typ, data = c.list('""', 'Caf*')
t.ok(data and b'Caf&AOk-' in data[0], 'LIST gives it back in modified UTF-7', data)
typ, data = c.status('INBOX', '(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)')
st = dict(re.findall(rb'([A-Z]+) (\d+)', data[0]))
t.ok(st.get(b'MESSAGES') == b'4' and st.get(b'UNSEEN') == b'4' and b'RECENT' in st and b'UIDVALIDITY' in st,
     'STATUS INBOX before any SELECT', data)
typ, data = c.xatom('NAMESPACE')
t.ok(typ == 'OK' and c.untagged_responses.pop('NAMESPACE', [b''])[0].startswith(b'(("" "."))'), 'NAMESPACE')
typ, data = c.xatom('ID', '("name" "test")')
t.ok(typ == 'OK' and c.untagged_responses.pop('ID', None), 'ID')
typ, data = c.xatom('ENABLE', 'CONDSTORE')
t.ok(typ == 'OK', 'ENABLE')

# ---- SELECT ----------------------------------------------------------
typ, data = c.select('INBOX')
t.eq((typ, data), ('OK', [b'4']), 'SELECT INBOX: 4 EXISTS')
uidvalidity = c.untagged_responses.get('UIDVALIDITY', [b'0'])[0]
t.ok(c.untagged_responses.get('UIDNEXT') == [b'5'], 'UIDNEXT 5', c.untagged_responses)
t.ok('READ-WRITE' in c.untagged_responses, 'SELECT: [READ-WRITE]', c.untagged_responses)

# ---- FETCH -----------------------------------------------------------
r = fetch(c, '1:4', '(UID FLAGS RFC822.SIZE INTERNALDATE)')
t.eq(sorted(r), [1, 2, 3, 4], 'FETCH 1:4 answers each message')
t.eq([r[i]['UID'] for i in (1, 2, 3, 4)], ['1', '2', '3', '4'], 'UIDs in delivery order')
t.eq([int(r[i]['RFC822.SIZE']) for i in (1, 2, 3, 4)], [len(crlf(m)) for m in FILES], 'RFC822.SIZE is the CRLF size')
t.ok(all(re.match(rb'\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}$', r[i]['INTERNALDATE']) for i in r), 'INTERNALDATE form')
t.ok(all('\\Seen' not in r[i]['FLAGS'] for i in r), 'FLAGS: not seen', r)

for i, m in enumerate(FILES, 1):
    x = one(c, str(i), '(BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] RFC822.HEADER)')
    hdr, _, body = crlf(m).partition(b'\r\n\r\n')
    t.ok(x.get('BODY[]') == crlf(m), 'BODY.PEEK[] of message %d is the file with CRLF' % i)
    t.ok(x.get('BODY[HEADER]') == hdr + b'\r\n\r\n' and x.get('RFC822.HEADER') == hdr + b'\r\n\r\n', 'BODY[HEADER], RFC822.HEADER of %d' % i)
    t.ok(x.get('BODY[TEXT]') == body, 'BODY[TEXT] of %d' % i)
r = fetch(c, '1:4', 'FLAGS')
t.ok(all('\\Seen' not in r[i]['FLAGS'] for i in r), 'PEEK leaves \\Seen unset')

x = one(c, '1', '(BODY.PEEK[TEXT]<6.4> BODY.PEEK[]<0.10> BODY.PEEK[TEXT]<100000.5>)')
body1 = crlf(FILES[0]).partition(b'\r\n\r\n')[2]
t.eq(x.get('BODY[TEXT]<6>'), body1[6:10], 'BODY[TEXT]<6.4>: partial, named with its origin')
t.eq(x.get('BODY[]<0>'), crlf(FILES[0])[:10], 'BODY[]<0.10>')
t.eq(x.get('BODY[TEXT]<100000>'), b'', 'a partial past the end is empty')
x = one(c, '1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT X-Tag)] BODY.PEEK[HEADER.FIELDS.NOT (Received Subject X-Tag Return-Path Delivered-To)])')
t.eq(x.get('BODY[HEADER.FIELDS (SUBJECT X-Tag)]'),
     b'Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\nX-Tag: alpha\r\nX-Tag: beta\r\n\r\n', 'HEADER.FIELDS: every occurrence, the empty line')
nots = x.get('BODY[HEADER.FIELDS.NOT (Received Subject X-Tag Return-Path Delivered-To)]', b'')
t.ok(b'Subject' not in nots and b'X-Tag' not in nots and b'From: "Ann Example"' in nots, 'HEADER.FIELDS.NOT', nots)

# MIXED: 1 multipart/alternative (1.1, 1.2), 2 pdf, 3 message/rfc822, 4 text base64
x = one(c, '3', '(BODY.PEEK[1.1] BODY.PEEK[1.2] BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT] BODY.PEEK[3] BODY.PEEK[4] BODY.PEEK[3.1] BODY.PEEK[9])')
t.eq(x.get('BODY[1.1]'), b'text of the mixed one', 'BODY[1.1] nested part (delimiter line break excluded)')
t.eq(x.get('BODY[1.2]'), b'<b>html</b>', 'BODY[1.2]')
t.eq(x.get('BODY[2]'), b'JVBERi0xLjQKc2VjcmV0d29yZCBpbiBwZGYK', 'BODY[2]: the attachment as encoded')
t.ok(x.get('BODY[2.MIME]', b'').startswith(b'Content-Type: application/pdf') and x['BODY[2.MIME]'].endswith(b'\r\n\r\n'), 'BODY[2.MIME]', x.get('BODY[2.MIME]'))
inner_h, _, inner_b = crlf(INNER).partition(b'\r\n\r\n')
t.eq(x.get('BODY[3.HEADER]'), inner_h + b'\r\n\r\n', 'BODY[3.HEADER]: the embedded message header')
t.eq(x.get('BODY[3.TEXT]'), inner_b.rstrip(b'\r\n'), 'BODY[3.TEXT]')
t.eq(x.get('BODY[3]'), crlf(INNER).rstrip(b'\r\n'), 'BODY[3]: the whole embedded message')
t.eq(x.get('BODY[3.1]'), b'inner body', 'BODY[3.1]: its body')
t.eq(x.get('BODY[9]'), b'', 'a part that does not exist: empty')
x = one(c, '1', '(BODY.PEEK[1])')
t.eq(x.get('BODY[1]'), body1, 'BODY[1] of a single-part message is its body')

# BODYSTRUCTURE against email's parse, and sizes against BODY[n]
pol = email.policy.compat32


def leaves(bs, prefix=''):
    """(section, structure) of every leaf of a BODYSTRUCTURE."""
    if isinstance(bs[0], list):
        out = []
        k = 0
        for sub in bs:
            if not isinstance(sub, list):
                break
            k += 1
            out += leaves(sub, prefix + str(k) + '.')
        return out
    return [(prefix.rstrip('.') or '1', bs)]


def eleaves(msg):
    if msg.is_multipart() and msg.get_content_type() != 'message/rfc822':
        out = []
        for p in msg.get_payload():
            out += eleaves(p)
        return out
    return [msg]


for i, m in enumerate(FIXTURES, 1):
    bs = one(c, str(i), 'BODYSTRUCTURE')['BODYSTRUCTURE']
    em = email.message_from_bytes(m, policy=pol)
    if em.is_multipart():
        t.eq(next(x for x in bs if not isinstance(x, list)).lower(),
             em.get_content_subtype().encode(), 'BODYSTRUCTURE %d: multipart subtype' % i)
    ls = leaves(bs)
    el = eleaves(em)
    t.eq([(b[0].lower(), b[1].lower()) for _, b in ls],
         [(e.get_content_maintype().encode(), e.get_content_subtype().encode()) for e in el],
         'BODYSTRUCTURE %d: leaf types as email sees them' % i)
    for sec, b in ls:
        part = one(c, str(i), 'BODY.PEEK[%s]' % sec)['BODY[%s]' % sec]
        ok = int(b[6]) == len(part)
        if b[0].lower() == b'text':
            ok = ok and int(b[7]) == part.count(b'\n') + (0 if part.endswith(b'\n') or not part else 1)
        t.ok(ok, 'BODYSTRUCTURE %d part %s: size (and lines) match BODY[%s]' % (i, sec, sec), (b, len(part)))
bs = one(c, '1', 'BODYSTRUCTURE')['BODYSTRUCTURE']
t.eq(bs[:6], [b'text', b'plain', [b'charset', b'utf-8'], None, None, b'8bit'], 'BODYSTRUCTURE of a plain message: type, params, id, desc, encoding')
bs = one(c, '4', 'BODYSTRUCTURE')['BODYSTRUCTURE']
t.eq(bs[:6], [b'text', b'plain', [b'charset', b'us-ascii'], None, None, b'7BIT'], 'no Content-Type: text/plain us-ascii, 7BIT')
bs = one(c, '3', 'BODYSTRUCTURE')['BODYSTRUCTURE']
pdf = bs[1]
t.ok(pdf[0].lower() == b'application' and pdf[1].lower() == b'pdf' and pdf[2] == [b'name', b'report.pdf']
     and pdf[5].lower() == b'base64', 'attachment: type, name, base64', pdf)
t.ok([b'attachment', [b'filename', b'report.pdf']] in [x for x in pdf[7:] if isinstance(x, list)], 'attachment: disposition (extension data)', pdf)
msgp = bs[2]
t.ok(msgp[0].lower() == b'message' and msgp[1].lower() == b'rfc822' and isinstance(msgp[7], list) and isinstance(msgp[8], list),
     'message/rfc822 part: envelope and body of the embedded message', msgp)
t.ok(msgp[7][1] == b'the inner message', 'embedded envelope subject', msgp[7])
b = one(c, '3', 'BODY')['BODY']
t.ok(isinstance(b[0], list) and b[-1].lower() == b'mixed', 'BODY: no extension data after the subtype', b)

# ENVELOPE against the headers
env = one(c, '1', 'ENVELOPE')['ENVELOPE']
t.eq(env[0], b'Tue, 3 Mar 2026 10:00:00 +0100', 'ENVELOPE date')
t.eq(env[1], b'=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=', 'ENVELOPE subject raw (not decoded)')
t.eq(env[2], [[b'Ann Example', None, b'ann', b'example.org']], 'ENVELOPE from')
t.eq(env[3], env[2], 'ENVELOPE sender defaults to from')
t.eq(env[4], env[2], 'ENVELOPE reply-to defaults to from')
t.eq(env[5], [[None, None, b'demo', b'example.test'], [b'Bob', None, b'bob', b'example.net']], 'ENVELOPE to (two addresses)')
t.eq(env[6], [[None, None, b'carol', b'example.com']], 'ENVELOPE cc')
t.eq(env[7], None, 'ENVELOPE bcc NIL')
t.eq(env[8], b'<earlier@example.org>', 'ENVELOPE in-reply-to')
t.eq(env[9], b'<plain-1@example.org>', 'ENVELOPE message-id')
env = one(c, '2', 'ENVELOPE')['ENVELOPE']
t.eq((env[3], env[4]), ([[b'Robot', None, b'robot', b'example.net']], [[b'Replies', None, b'replies', b'example.net']]),
     'ENVELOPE sender and reply-to when present')
env = one(c, '4', 'ENVELOPE')['ENVELOPE']
t.eq(env, [None] * 10, 'ENVELOPE of a message without those headers: all NIL')

# \Seen by a body fetch
x = one(c, '2', '(BODY[1])')
t.ok('\\Seen' in x.get('FLAGS', []), 'BODY[1] (no PEEK) sets \\Seen and reports FLAGS', x)
x = one(c, '3', 'RFC822.TEXT')
t.ok('\\Seen' in x.get('FLAGS', []) and x.get('RFC822.TEXT') == crlf(FILES[2]).partition(b'\r\n\r\n')[2], 'RFC822.TEXT: the body, sets \\Seen', x.get('FLAGS'))
x = one(c, '4', 'RFC822')
t.ok(x.get('RFC822') == crlf(FILES[3]) and '\\Seen' in x.get('FLAGS', []), 'RFC822: the whole message, sets \\Seen')
x = one(c, '1', 'ALL')
t.ok({'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'} <= set(x), 'FETCH ALL macro', x.keys())
x = one(c, '1', 'FULL')
t.ok({'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'} <= set(x), 'FETCH FULL macro', x.keys())
x = one(c, '4', '(UID FLAGS)', uid=True)
t.eq(x.get('UID'), '4', 'UID FETCH')
t.eq(fetch(c, '3:*', 'FLAGS', uid=True).keys() and sorted(fetch(c, '3:*', 'UID', uid=True)), [3, 4], 'UID FETCH 3:*')

# ---- STORE -----------------------------------------------------------
typ, data = c.store('1', '+FLAGS', '(\\Flagged $Important)')
t.ok(typ == 'OK' and b'\\Flagged' in data[0] and b'$Important' in data[0], '+FLAGS with a keyword, FETCH FLAGS back', data)
t.ok(any(b'$Important' in x for x in c.untagged_responses.get('FLAGS', [])), 'a new keyword: untagged FLAGS lists it', c.untagged_responses.get('FLAGS'))
typ, data = c.store('1', '-FLAGS', '(\\Flagged)')
t.ok(typ == 'OK' and b'\\Flagged' not in data[0] and b'$Important' in data[0], '-FLAGS', data)
typ, data = c.store('1', 'FLAGS', '(\\Answered \\Draft)')
t.ok(typ == 'OK' and b'\\Answered' in data[0] and b'\\Draft' in data[0] and b'$Important' not in data[0], 'FLAGS replaces', data)
typ, data = c.store('1:2', '+FLAGS.SILENT', '(\\Flagged)')
# CONDSTORE is enabled above: RFC 7162 3.1.3 still sends the new MODSEQ
t.ok(typ == 'OK' and all(d is None or (b'FLAGS' not in d and b'MODSEQ' in d) for d in data), '.SILENT: no FLAGS', data)
r = fetch(c, '1:2', 'FLAGS')
t.ok('\\Flagged' in r[1]['FLAGS'] and '\\Flagged' in r[2]['FLAGS'], '.SILENT changed them')
names = os.listdir(os.path.join(MD, 'cur'))
t.ok(any(n.endswith(':2,DFR') for n in names), 'flags in the file name (Maildir letters)', names)
typ, data = c.uid('STORE', '2', '-FLAGS', '(\\Flagged)')
t.ok(typ == 'OK' and b'UID 2' in data[0], 'UID STORE answers with the UID', data)
t.eq(bad(c.store, '1', '+FLAGS', '(\\Recent)'), 'BAD', 'STORE \\Recent: BAD')

# ---- SEARCH ----------------------------------------------------------


def search(*keys, uid=False, charset=None):
    typ, data = c.uid('SEARCH', *keys) if uid else c.search(charset, *keys)
    return typ, (data[0].split() if typ == 'OK' and data[0] else [])


t.eq(search('ALL'), ('OK', [b'1', b'2', b'3', b'4']), 'SEARCH ALL')
t.eq(search('FLAGGED'), ('OK', [b'1']), 'SEARCH FLAGGED')
t.eq(search('UNSEEN'), ('OK', [b'1']), 'SEARCH UNSEEN')
t.eq(search('SUBJECT', 'alternative'), ('OK', [b'2']), 'SEARCH SUBJECT')
t.eq(search('SUBJECT', b'"K\xc3\xb6ln"', charset='UTF-8'), ('OK', [b'1']), 'SEARCH CHARSET UTF-8 SUBJECT: encoded word decoded')
t.eq(search('FROM', 'carol'), ('OK', [b'3']), 'SEARCH FROM')
t.eq(search('CC', 'carol'), ('OK', [b'1']), 'SEARCH CC')
t.eq(search('TO', 'bob'), ('OK', [b'1']), 'SEARCH TO')
t.eq(search('HEADER', 'X-Tag', 'beta'), ('OK', [b'1']), 'SEARCH HEADER (second occurrence)')
t.eq(search('HEADER', 'Message-ID', '""'), ('OK', [b'1']), 'SEARCH HEADER with an empty string: the field is there')
t.eq(search('BODY', 'giraffe='), ('OK', [b'2']), 'SEARCH BODY: quoted-printable decoded')
t.eq(search('BODY', 'octopus'), ('OK', [b'3']), 'SEARCH BODY: base64 text decoded')
t.eq(search('BODY', 'secretword'), ('OK', []), 'SEARCH BODY: an attachment is not text')
t.eq(search('TEXT', 'zebra'), ('OK', [b'2']), 'SEARCH TEXT (body)')
t.eq(search('TEXT', 'Replies'), ('OK', [b'2']), 'SEARCH TEXT (header)')
t.eq(search('OR', 'FROM', 'carol', 'SUBJECT', 'alternative'), ('OK', [b'2', b'3']), 'SEARCH OR')
t.eq(search('NOT', 'OR', 'FROM', 'carol', 'SUBJECT', 'alternative'), ('OK', [b'1', b'4']), 'SEARCH NOT OR')
t.eq(search('(OR SEEN FLAGGED)', 'NOT', '(SUBJECT nested)'), ('OK', [b'1', b'2', b'4']), 'SEARCH nested parentheses')
t.eq(search('SENTBEFORE', '1-Apr-2026'), ('OK', [b'1']), 'SEARCH SENTBEFORE')
t.eq(search('SENTSINCE', '1-Apr-2026'), ('OK', [b'2', b'3']), 'SEARCH SENTSINCE')
t.eq(search('SENTON', '15-Apr-2026'), ('OK', [b'2']), 'SEARCH SENTON')
t.eq(search('SINCE', '1-Jan-2000'), ('OK', [b'1', b'2', b'3', b'4']), 'SEARCH SINCE (internal date)')
t.eq(search('BEFORE', '1-Jan-2000'), ('OK', []), 'SEARCH BEFORE')
t.eq(search('LARGER', str(len(crlf(FILES[1])) - 1)), ('OK', [b'2', b'3']), 'SEARCH LARGER')
t.eq(search('SMALLER', str(len(crlf(FILES[3])) + 1)), ('OK', [b'4']), 'SEARCH SMALLER')
t.eq(search('2:3', 'NOT', 'DELETED'), ('OK', [b'2', b'3']), 'SEARCH by sequence set')
t.eq(search('UID', '3:*'), ('OK', [b'3', b'4']), 'SEARCH UID set')
t.eq(search('KEYWORD', '$Important'), ('OK', []), 'SEARCH KEYWORD (removed by FLAGS)')
t.eq(search('SUBJECT', 'alternative', uid=True), ('OK', [b'2']), 'UID SEARCH')
typ, data = c.search(None, 'RETURN', '(MIN MAX COUNT)', 'ALL')
t.ok(typ == 'OK' and c.untagged_responses.pop('ESEARCH', [b''])[0].endswith(b'MIN 1 MAX 4 COUNT 4'), 'SEARCH RETURN: ESEARCH')
t.eq(c.search('KOI8-R', 'ALL')[0], 'NO', 'SEARCH CHARSET unknown: NO')
t.eq(bad(c.search, None, 'FROBNICATE'), 'BAD', 'SEARCH unknown key: BAD')

# ---- COPY, MOVE, APPEND, EXPUNGE --------------------------------------
typ, data = c.copy('1:2', 'Archive')
m = re.search(rb'COPYUID (\d+) (\S+) (\S+)\]', data[0])
t.ok(typ == 'OK' and m and m.group(2) == b'1:2' and m.group(3) == b'1:2', 'COPY answers COPYUID', data)
typ, data = c.status('Archive', '(MESSAGES)')
t.ok(b'MESSAGES 2' in data[0], 'STATUS of the target after COPY', data)
typ, data = c.copy('1', 'Nowhere')
t.ok(typ == 'NO' and data[0].startswith(b'[TRYCREATE]'), 'COPY to a missing folder: NO [TRYCREATE]', data)
c.untagged_responses.clear()
typ, data = c._simple_command('MOVE', '4', 'Trash')
untag = dict(c.untagged_responses)
t.ok(typ == 'OK' and untag.get('EXPUNGE') == [b'4'] and any(re.match(rb'\[COPYUID \d+ 4 1\]', x) for x in untag.get('OK', [])),
     'MOVE: untagged COPYUID, then EXPUNGE', untag)
c.untagged_responses.clear()
typ, data = c.status('Trash', '(MESSAGES)')
t.ok(b'MESSAGES 1' in data[0], 'MOVE put it in Trash', data)
typ, data = c.noop()
t.eq(c.select('INBOX', readonly=True)[1], [b'3'], 'MOVE took it out of INBOX (EXAMINE: 3)')
t.eq(c.store('1', '+FLAGS', '(\\Seen)')[0], 'NO', 'STORE in an EXAMINEd folder: NO')
t.eq(c.select('INBOX')[1], [b'3'], 'SELECT again')
date = imaplib.Time2Internaldate(time.mktime((2025, 6, 7, 8, 9, 10, 0, 0, -1)))
typ, data = c.append('INBOX', '(\\Seen $Label1)', date, crlf(b'From: me@example.test\nSubject: appended\n\nappended body\n'))
m = re.search(rb'APPENDUID (\d+) (\d+)\]', data[0])
t.ok(typ == 'OK' and m and m.group(1) == uidvalidity and m.group(2) == b'5', 'APPEND answers APPENDUID with the next UID', data)
typ, data = c.noop()
t.eq(c.untagged_responses.get('EXISTS', [None])[-1], b'4', 'APPEND to the selected folder: EXISTS')
x = one(c, '5', '(FLAGS INTERNALDATE BODY.PEEK[TEXT])', uid=True)
t.ok('\\Seen' in x.get('FLAGS', []) and '$Label1' in x.get('FLAGS', []), 'APPEND flags kept', x)
t.eq(imaplib.Internaldate2tuple(b'INTERNALDATE "' + x.get('INTERNALDATE', b'') + b'"')[:6] if x.get('INTERNALDATE') else None,
     time.localtime(time.mktime((2025, 6, 7, 8, 9, 10, 0, 0, -1)))[:6], 'APPEND date is the INTERNALDATE')
t.eq(x.get('BODY[TEXT]'), b'appended body\r\n', 'APPEND body')
t.eq(c.append('Nowhere', None, None, b'x\r\n')[0], 'NO', 'APPEND to a missing folder: NO [TRYCREATE]')
typ, data = c.xatom('APPEND', 'Drafts {5+}\r\nhello')
t.ok(typ == 'OK' and b'APPENDUID' in data[0], 'APPEND with a LITERAL+ literal', data)
c.store('2:3', '+FLAGS', '(\\Deleted)')
c.untagged_responses.pop('EXPUNGE', None)
typ, data = c.uid('EXPUNGE', '2')
data = c.untagged_responses.pop('EXPUNGE', None)
t.ok(typ == 'OK' and data == [b'2'], 'UID EXPUNGE removes only UID 2', data)
typ, data = c.expunge()
t.ok(typ == 'OK' and data == [b'2'], 'EXPUNGE removes the other \\Deleted one (now number 2)', data)
t.eq(search('ALL', uid=True), ('OK', [b'1', b'5']), 'what is left')
t.eq(c.check()[0], 'OK', 'CHECK')
c.store('1', '+FLAGS', '(\\Deleted)')
t.eq(c.xatom('UNSELECT')[0], 'OK', 'UNSELECT does not expunge')
t.eq(c.select('INBOX')[1], [b'2'], 'still 2 messages')
t.eq(c.close()[0], 'OK', 'CLOSE expunges silently')
t.eq(c.select('INBOX')[1], [b'1'], 'CLOSE removed the \\Deleted one')
t.eq(c.untagged_responses.get('UIDVALIDITY', [b''])[0], uidvalidity, 'UIDVALIDITY stays across sessions and SELECTs')
c.logout()

# ---- two sessions ----------------------------------------------------
a, b = connect(), connect()
a.select('INBOX')
b.select('INBOX')
a.untagged_responses.clear()
b.untagged_responses.clear()
deliver(b'From: x@example.org\nSubject: for both\n\nnew mail\n')
a.noop()
t.eq(a.untagged_responses.get('EXISTS'), [b'2'], 'session A sees a delivery as EXISTS')
t.eq(a.untagged_responses.get('RECENT'), [b'1'], 'and as RECENT: A numbered it')
b.noop()
t.eq((b.untagged_responses.get('EXISTS'), b.untagged_responses.get('RECENT')), ([b'2'], [b'0']), 'B sees EXISTS, not RECENT')
b.untagged_responses.clear()
a.store('1', '+FLAGS', '(\\Flagged)')
typ, data = b.noop()
t.ok(any(b'(FLAGS (' in d and b'\\Flagged' in d for d in b.untagged_responses.get('FETCH', [])), 'session B sees A\'s flag change as FETCH', b.untagged_responses)
b.untagged_responses.clear()
a.store('1', '+FLAGS', '(\\Deleted)')
a.expunge()
typ, data = b.fetch('1:*', 'UID')
t.ok(not b.untagged_responses.get('EXPUNGE'), 'no EXPUNGE during FETCH (RFC 3501 7.4.1)', b.untagged_responses)
b.untagged_responses.clear()
b.noop()
t.eq(b.untagged_responses.get('EXPUNGE'), [b'1'], 'session B sees A\'s expunge at NOOP')
typ, data = b.fetch('1', 'UID')
t.ok(typ == 'OK' and b'UID 6' in data[0], 'and the sequence numbers are renumbered', data)

# ---- IDLE --------------------------------------------------------------
sock = socket.create_connection(('127.0.0.1', port), timeout=20)
f = sock.makefile('rb')
f.readline()
sock.sendall(b'a SELECT INBOX\r\n')
while not f.readline().startswith(b'a '):
    pass
sock.sendall(b'i IDLE\r\n')
t.ok(f.readline().startswith(b'+'), 'IDLE: continuation')
deliver(b'From: x@example.org\nSubject: idle wake\n\nwake up\n')
line = f.readline()
t.ok(re.match(rb'\* \d+ EXISTS', line), 'IDLE woken by a delivery: EXISTS', line)
f.readline()   # RECENT
a.store('1', '+FLAGS', '(\\Answered)')
a.noop()
line = f.readline()
t.ok(b'FETCH' in line and b'\\Answered' in line, 'IDLE pushes another session\'s flag change', line)
sock.sendall(b'DONE\r\n')
t.ok(f.readline().startswith(b'i OK'), 'DONE ends IDLE')

# ---- bad input ---------------------------------------------------------


def raw(cmd):
    sock.sendall(cmd + b'\r\n')
    out = []
    while True:
        line = f.readline()
        out.append(line)
        if not line or not line.startswith((b'*', b'+')):
            return b''.join(out)


t.ok(raw(b'b1 FETCH 1 (FLAGS').startswith(b'b1 BAD'), 'unbalanced parenthesis: BAD')
t.ok(raw(b'b2 FETCH 1:4294967295 FLAGS').startswith(b'b2 BAD'), 'FETCH 1:4294967295 (no such messages): BAD')
t.ok(raw(b'b3 UID FETCH 1:4294967295 UID').endswith(b'b3 OK FETCH completed\r\n'), 'UID FETCH 1:4294967295: OK')
t.ok(raw(b'b4 FETCH *:* UID').endswith(b'b4 OK FETCH completed\r\n'), 'FETCH *:*: OK')
t.ok(raw(b'b5 FETCH 1 BODY[' + b'.'.join([b'1'] * 40) + b']').startswith(b'b5 BAD'), 'deep BODY[1.1.1...]: BAD')
t.ok(raw(b'b6 LOGIN a b').startswith(b'b6 BAD'), 'LOGIN after login: BAD')
t.ok(raw(b'b7 FROBNICATE').startswith(b'b7 BAD'), 'unknown command: BAD')
t.ok(raw(b'b8 UID NOOP').startswith(b'b8 BAD'), 'UID NOOP: BAD')
t.ok(raw(b'b9 SEARCH ' + b'NOT ' * 200 + b'ALL').startswith(b'b9 BAD'), 'too deep a SEARCH: BAD')
t.ok(raw(b'b10 UNSELECT').startswith(b'b10 OK'), 'UNSELECT')
t.ok(raw(b'b11 FETCH 1 FLAGS').startswith(b'b11 BAD'), 'FETCH with no folder selected: BAD')
t.ok(raw(b'b12 SELECT Nonesuch').startswith(b'b12 NO'), 'SELECT of a missing folder: NO')
t.ok(raw(b'b13 APPEND INBOX {70000000}').startswith(b'b13 '), 'APPEND over APPENDLIMIT refused before the literal')
t.ok(raw(b'b14 NOOP').startswith(b'b14 OK'), 'the session goes on after all that')
for k in range(25):
    out = raw(b'x%d FROBNICATE' % k)
    if not out or out.startswith(b'* BYE'):
        break
t.ok(out.startswith(b'* BYE') or out == b'', 'too many BADs end the session', out)
sock.close()

# ---- LIST-EXTENDED, LIST-STATUS, QUOTA -----------------------------------
c = connect()
typ, data = c._simple_command('LIST', '""', '"*"', 'RETURN', '(STATUS (MESSAGES UNSEEN) SUBSCRIBED)')
lists = c.untagged_responses.pop('LIST', [])
stats = c.untagged_responses.pop('STATUS', [])
t.ok(typ == 'OK' and any(x.startswith(b'INBOX (MESSAGES 2 UNSEEN ') for x in stats) and any(x.startswith(b'Trash (MESSAGES 1 ') for x in stats),
     'LIST RETURN (STATUS ...): a STATUS for each folder', stats)
t.ok(any(b'\\Subscribed' in x and x.endswith(b' Sent') for x in lists) and not any(b'\\Subscribed' in x and x.endswith(b' INBOX') for x in lists),
     'LIST RETURN (SUBSCRIBED): \\Subscribed where subscribed', lists)
typ, data = c._simple_command('LIST', '(SPECIAL-USE)', '""', '"*"')
lists = c.untagged_responses.pop('LIST', [])
t.eq(sorted(x.rsplit(b' ', 1)[1] for x in lists), [b'Archive', b'Drafts', b'Junk', b'Sent', b'Trash'], 'LIST (SPECIAL-USE): the special folders only')
c.create('Tree.Leaf')
c.unsubscribe('Tree')
typ, data = c._simple_command('LIST', '(SUBSCRIBED RECURSIVEMATCH)', '""', '"%"')
lists = c.untagged_responses.pop('LIST', [])
t.ok(typ == 'OK' and b'(\\HasChildren) "." Tree ("CHILDINFO" ("SUBSCRIBED"))' in lists and not any(b'Leaf' in x for x in lists)
     and any(x.endswith(b'"." Sent') and b'\\Subscribed' in x for x in lists),
     'LIST (SUBSCRIBED RECURSIVEMATCH): CHILDINFO for an unsubscribed parent of a subscribed folder', lists)
typ, data = c._simple_command('GETQUOTAROOT', 'INBOX')
t.ok(typ == 'OK' and c.untagged_responses.pop('QUOTAROOT', None) == [b'INBOX'] and 'QUOTA' not in c.untagged_responses,
     'GETQUOTAROOT without a quota: no root', c.untagged_responses)
with open(os.path.join(MD, 'maildirsize'), 'w') as fh:
    fh.write('1048576S,100C\n4096 3\n')
typ, data = c._simple_command('GETQUOTAROOT', 'INBOX')
t.ok(typ == 'OK' and c.untagged_responses.pop('QUOTAROOT', None) == [b'INBOX ""']
     and c.untagged_responses.pop('QUOTA', None) == [b'"" (STORAGE 4 1024 MESSAGE 3 100)'], 'GETQUOTAROOT: the maildirsize quota', c.untagged_responses)
typ, data = c._simple_command('GETQUOTA', '""')
t.ok(typ == 'OK' and c.untagged_responses.pop('QUOTA', None) == [b'"" (STORAGE 4 1024 MESSAGE 3 100)'], 'GETQUOTA ""')
t.eq(c._simple_command('SETQUOTA', '""', '(STORAGE 1)')[0], 'NO', 'SETQUOTA: NO')
os.unlink(os.path.join(MD, 'maildirsize'))
typ, data = c.status('INBOX', '(SIZE APPENDLIMIT)')
t.ok(typ == 'OK' and re.search(rb'SIZE \d+ APPENDLIMIT 67108864', data[0]), 'STATUS SIZE and APPENDLIMIT', data)
c.logout()

# ---- big messages: a 20 MB attachment, a LITERAL+ APPEND ------------------
c = connect()
c.create('Big')
att = (b'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MjQyNDI0MjQyNDI0MjQyNDI0MjQyNDI0MjQy\n' * 280000)
BIG = (b'From: big@example.org\nSubject: big\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n'
       b'--B\nContent-Type: text/plain\n\nsee attached\n--B\nContent-Type: application/octet-stream\n'
       b'Content-Transfer-Encoding: base64\n\n' + att + b'--B--\n')
deliver(BIG, folder='Big')
c.select('Big')
x = one(c, '1', '(RFC822.SIZE BODYSTRUCTURE BODY.PEEK[2]<0.72> BODY.PEEK[2]<20160000.100>)')
t.ok(int(x.get('RFC822.SIZE', 0)) > 20000000 and x['BODYSTRUCTURE'][1][6] == str(len(crlf(att)) - 2),
     '20 MB attachment: RFC822.SIZE and the part size', (x.get('RFC822.SIZE'), x['BODYSTRUCTURE'][1][:7]))
t.eq(x.get('BODY[2]<0>'), att[:72], 'a partial at its start')
t.eq(x.get('BODY[2]<20160000>'), crlf(att)[20160000:20160000 + 100], 'a partial deep inside it (CRLF offsets)')
x = one(c, '1', 'BODY.PEEK[]')
t.ok(x.get('BODY[]') == crlf(stored(BIG, 'Big')), 'BODY[] of 20 MB, streamed')
big = crlf(b'Subject: literal plus\n\n' + b'0123456789abcdef\n' * 20000)
typ, data = c.xatom('APPEND', b'Big {%d+}\r\n' % len(big) + big)
t.ok(typ == 'OK' and b'APPENDUID' in data[0], 'APPEND of 340 KB as a LITERAL+ literal', data)
c.logout()
port3 = free_port()
server3 = inst.spawn(['tcp-serve', '127.0.0.1', str(port3), 'imap-mailbox', MD], env={'IMAP_TIMEOUT': '1'})
wait_port(port3)
s3 = socket.create_connection(('127.0.0.1', port3), timeout=20)
out = s3.makefile('rb').read()
t.ok(out.startswith(b'* PREAUTH') and b'* BYE' in out, 'a session without commands is logged out (BYE)', out)
s3.close()
inst.kill(server3)

# ---- the handoff from imap-serve: IMAP_LOGIN_TAG, IMAP_INPUT ------------
port2 = free_port()
server2 = inst.spawn(['tcp-serve', '127.0.0.1', str(port2), 'imap-mailbox', MD],
                     env={'IMAP_LOGIN_TAG': 'L1', 'IMAP_INPUT': 'L2 SELECT INBOX\r\nL3 NOOP\r\n'})
wait_port(port2)
s2 = socket.create_connection(('127.0.0.1', port2), timeout=20)
f2 = s2.makefile('rb')
line = f2.readline()
t.ok(line.startswith(b'L1 OK [CAPABILITY IMAP4rev1 ') and line.endswith(b'Logged in\r\n'), 'IMAP_LOGIN_TAG: the login is answered', line)
got = []
while True:
    line = f2.readline()
    got.append(line)
    if not line or line.startswith(b'L3 '):
        break
t.ok(any(x.startswith(b'L2 OK [READ-WRITE]') for x in got) and got[-1].startswith(b'L3 OK'), 'IMAP_INPUT: pipelined commands run first', got)
s2.sendall(b'L4 LOGOUT\r\n')
t.ok(b'L4 OK' in f2.read(), 'then the client\'s')
s2.close()
inst.kill(server2)
r = inst.run(['imap-mailbox', os.path.join(inst.root, 'nonesuch')], input=b'', check=False, env={'IMAP_LOGIN_TAG': 'L1'})
t.ok(r.stdout.startswith(b'L1 NO [UNAVAILABLE]'), 'a mailbox that cannot be opened: NO [UNAVAILABLE], not logged in', r.stdout)

# ---- UIDs survive a new session ---------------------------------------
c = connect()
c.select('INBOX')
t.eq(c.untagged_responses.get('UIDVALIDITY', [b''])[0], uidvalidity, 'UIDVALIDITY in a new session')
typ, data = c.uid('SEARCH', 'ALL')
t.eq(data[0].split(), [b'6', b'7'], 'UIDs in a new session are the same ones')
c.logout()
a.logout()
b.logout()

inst.kill(server)
log = inst.log(server)
t.ok('status=end reason=logout' in log and 'fatal' not in log, 'log: sessions ended cleanly', log[-2000:])
