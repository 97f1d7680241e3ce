#!/usr/bin/env python3
# lib/mime against Python's email package: fixtures of real-world shapes
# made here with email (multipart/alternative, nested multipart/mixed with
# attachments and an RFC 2231 file name, message/rfc822 inside, 8-bit and
# encoded-word headers, missing headers, a 20 MB attachment; LF-stored as
# in a Maildir, and one CRLF-stored), parsed by build/unit/mime (the
# unit test's tool mode) into BODYSTRUCTURE, BODY and ENVELOPE, and
# compared part by part with email's parse of the same file: types,
# parameters, part counts, sizes in CRLF octets, line counts, the
# BODY[section] bytes and their decoded content, the envelope's fields.
import atexit
import email
import email.policy
import email.utils
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from email.message import EmailMessage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, BUILD  # noqa: E402

t = TAP()
TOOL = os.path.join(BUILD, 'unit', 'mime')
if not os.path.exists(TOOL):
    t.skip_all('no %s (make first)' % TOOL)
tmp = tempfile.mkdtemp(prefix='pm-mime.')
atexit.register(shutil.rmtree, tmp, True)
LF = email.policy.default.clone(linesep='\n')


EOFPARTS = []


def tool(*args):
    r = subprocess.run([TOOL] + list(args), stdout=subprocess.PIPE, check=False)
    if r.returncode:
        raise RuntimeError('%s: exit %d' % (args, r.returncode))
    return r.stdout


def sexp(b):
    """An IMAP FETCH value: lists, NIL (None), numbers, strings (bytes)."""
    pos = 0

    def item():
        nonlocal pos
        c = b[pos:pos + 1]
        if c == b'(':
            pos += 1
            out = []
            while b[pos:pos + 1] != b')':
                if b[pos:pos + 1] == b' ':
                    pos += 1
                    continue
                out.append(item())
            pos += 1
            return out
        if c == b'"':
            pos += 1
            s = bytearray()
            while b[pos:pos + 1] != b'"':
                if b[pos:pos + 1] == b'\\':
                    pos += 1
                s += b[pos:pos + 1]
                pos += 1
            pos += 1
            return bytes(s)
        if c == b'{':
            end = b.index(b'}', pos)
            n = int(b[pos + 1:end])
            pos = end + 3
            s = b[pos:pos + n]
            pos += n
            return s
        end = pos
        while end < len(b) and b[end:end + 1] not in b' ()':
            end += 1
        tok, pos = b[pos:end], end
        return None if tok == b'NIL' else int(tok)
    v = item()
    assert pos == len(b), 'trailing bytes at %d' % pos
    return v


def crlf(raw):
    return raw.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')


def s(x):
    return None if x is None else x.decode('utf-8', 'surrogateescape')


def u(x):
    """email's str of 8-bit header bytes (surrogate escapes) as UTF-8 text"""
    return None if x is None else str(x).encode('utf-8', 'surrogateescape').decode('utf-8', 'surrogateescape')


def our_params(lst):
    """name -> value, RFC 2231 "name*" values decoded as email does."""
    d = {}
    for k, v in zip((lst or [])[::2], (lst or [])[1::2]):
        k, v = s(k), s(v)
        if k.endswith('*'):
            cs, _, rest = v.split("'", 2)
            k, v = k[:-1], urllib.parse.unquote(rest, encoding=cs or 'us-ascii')
        d[k] = v
    return d


def py_params(part, header):
    d = {}
    for k, v in (part.get_params(header=header) or [])[1:]:
        d[k.lower()] = email.utils.collapse_rfc2231_value(v)
    return d


def payload_bytes(part):
    p = part._payload       # raw: get_payload() decodes 8-bit text
    return p.encode('ascii', 'surrogateescape') if isinstance(p, str) else None


def addrs(field):
    """An ENVELOPE address list as [(name, mailbox@host)] without groups."""
    return [(s(a[0]) or '', '%s@%s' % (s(a[2]), s(a[3]))) for a in field or [] if a[3] is not None]


def rawget(msg, name, every=False):
    """raw header values (email's get() makes a Header of 8-bit ones)"""
    v = [u(v) for k, v in msg._headers if k.lower() == name]
    return v if every else (v[0] if v else None)


def check_env(env, msg, where):
    def raw(name):
        v = rawget(msg, name)
        return None if v is None else ' '.join(u(v).replace('\r', '').split('\n')).strip()
    # unfolding keeps the blank that starts a continuation line
    t.eq(s(env[1]), None if msg.get('subject') is None else
         rawget(msg, 'subject').replace('\r', '').replace('\n', '').strip(), where + ' ENVELOPE subject, raw')
    t.eq(s(env[0]), raw('date'), where + ' ENVELOPE date')
    t.eq(s(env[9]), raw('message-id'), where + ' ENVELOPE message-id')
    for i, name in ((2, 'from'), (5, 'to'), (6, 'cc')):
        want = [(u(n), a) for n, a in email.utils.getaddresses(rawget(msg, name, True)) if a]
        t.eq(addrs(env[i]), want, '%s ENVELOPE %s' % (where, name))
    if msg.get('sender') is None:
        t.eq(env[3], env[2], where + ' ENVELOPE sender defaults to from')
    if msg.get('reply-to') is None:
        t.eq(env[4], env[2], where + ' ENVELOPE reply-to defaults to from')


def walk(path, bs, part, prefix, counts):
    """Compare the BODYSTRUCTURE node bs with email's part; prefix: the
    section numbers of this part."""
    where = '%s [%s]' % (os.path.basename(path), '.'.join(map(str, prefix)) or 'root')
    if isinstance(bs[0], list):                        # multipart
        subs = part.get_payload() if part.is_multipart() else []
        t.ok(part.is_multipart(), where + ' is multipart')
        nk = 0
        while isinstance(bs[nk], list):
            nk += 1
        t.eq(nk, len(subs), where + ' part count')
        children = bs[:nk]
        t.eq(s(bs[nk]), part.get_content_subtype(), where + ' multipart subtype')
        t.eq(our_params(bs[nk + 1]), py_params(part, 'content-type'), where + ' multipart parameters')
        for i, (b, p) in enumerate(zip(children, subs)):
            walk(path, b, p, prefix + [i + 1], counts)
        return
    counts[0] += 1
    ctype = '%s/%s' % (s(bs[0]), s(bs[1]))
    t.eq(ctype, part.get_content_type(), where + ' type')
    t.eq(our_params(bs[2]), py_params(part, 'content-type') or ({'charset': 'us-ascii'} if part.get('content-type') is None else {}),
         where + ' parameters')
    t.eq(s(bs[5]).lower(), (part.get('content-transfer-encoding') or '7bit').strip().lower(), where + ' encoding')
    sec = '.'.join(map(str, prefix or [1]))
    body = tool('-s', sec, path)
    t.eq(bs[6], len(body), where + ' size = BODY[%s] octets' % sec)
    if ctype == 'message/rfc822':
        inner = part.get_payload()[0]
        t.eq(body, crlf(inner.as_bytes(policy=LF)), where + ' BODY[%s] is the embedded message' % sec)
        check_env(bs[7], inner, where)
        t.eq(bs[9], body.count(b'\r\n') + (0 if body.endswith(b'\n') else 1), where + ' lines')
        walk(path, bs[8], inner, prefix + ([] if isinstance(bs[8][0], list) else [1]), counts)
        return
    raw = payload_bytes(part)
    if path.endswith('noclose.eml') and prefix[-1] == len(EOFPARTS):
        # email drops the last line break before a missing close
        # delimiter; RFC 2046 gives it to the delimiter, and there is none
        raw += b'\n'
    t.ok(body == crlf(raw), where + ' BODY[%s] is the part body in CRLF form' % sec,
         'got %d bytes %r, want %d' % (len(body), body[:60], len(crlf(raw))))
    if part.get_content_maintype() == 'text':
        t.eq(bs[7], raw.count(b'\n') + (0 if raw.endswith(b'\n') or not raw else 1), where + ' lines')
        ext = bs[8:]
    else:
        ext = bs[7:]
    dec = part.get_payload(decode=True)
    if (part.get('content-transfer-encoding') or '').lower() == 'base64':
        import base64
        t.ok(base64.b64decode(body) == dec, where + ' BODY[%s] decodes to what email decodes (%d octets)' % (sec, len(dec)))
    disp = ext[1] if len(ext) > 1 else None
    t.eq(s(disp[0]) if disp else None, part.get_content_disposition(), where + ' disposition')
    if disp:
        t.eq(our_params(disp[1]), py_params(part, 'content-disposition'), where + ' disposition parameters')


def basic(bs):
    """BODYSTRUCTURE without its extension data (RFC 3501 7.4.2 BODY)"""
    if isinstance(bs[0], list):
        nk = [isinstance(x, list) for x in bs].index(False)
        return [basic(x) for x in bs[:nk]] + [bs[nk]]
    if bs[:2] == [b'message', b'rfc822']:
        return bs[:8] + [basic(bs[8]), bs[9]]
    return bs[:8] if bs[0] == b'text' else bs[:7]


def check(path, want_parts):
    data = open(path, 'rb').read()
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    bs = sexp(tool('-x', 'bodystructure', path))
    body = sexp(tool('-x', 'body', path))
    env = sexp(tool('-x', 'envelope', path))
    name = os.path.basename(path)
    counts = [0]
    walk(path, bs, msg, [], counts)
    t.eq(counts[0], want_parts, name + ': %d leaf parts' % want_parts)
    check_env(env, msg, name)
    t.eq(tool('-s', '', path), crlf(data), name + ': BODY[] is the file in CRLF form')
    hdr, _, text = (b'', b'', crlf(data)[2:]) if data.startswith(b'\n') else crlf(data).partition(b'\r\n\r\n')
    t.eq(tool('-s', 'HEADER', path), hdr + b'\r\n\r\n' if hdr else b'\r\n', name + ': BODY[HEADER]')
    t.eq(tool('-s', 'TEXT', path), text, name + ': BODY[TEXT]')
    t.eq(body, basic(bs), name + ': BODY is BODYSTRUCTURE without extension data')
    return bs


def write(name, data):
    path = os.path.join(tmp, name)
    with open(path, 'wb') as f:
        f.write(data)
    return path


# multipart/alternative, encoded-word subject
m = EmailMessage()
m['From'] = 'Kate Q. User <kate@example.org>'
m['To'] = 'bob@example.com, "Carol C" <carol@example.net>'
m['Cc'] = 'Dave <dave@example.com>'
m['Subject'] = 'Caf\u00e9 menu for the w\u00f6rld \u2014 and a long subject that folds over the line'
m['Date'] = email.utils.format_datetime(email.utils.localtime())
m['Message-ID'] = email.utils.make_msgid(domain='example.org')
m.set_content('Hello,\n\ncaf\u00e9 au lait.\n')
m.add_alternative('<p>Hello, <b>caf\u00e9</b></p>\n', subtype='html')
alt = m
check(write('alternative.eml', m.as_bytes(policy=LF)), 2)

# nested multipart/mixed with attachments and a non-ASCII file name
m = EmailMessage()
m['From'] = '=?utf-8?q?J=C3=B6rg?= <joerg@example.de>'
m['To'] = 'team: a@example.com, b@example.com;'
m['Subject'] = 'report'
m.set_content('see attached\n')
m.add_alternative('<p>see attached</p>\n', subtype='html')
m.add_attachment(b'%PDF-1.4\n' + os.urandom(3000), maintype='application', subtype='pdf',
                 filename='r\u00e9sum\u00e9 with a rather long name to make it continue over lines.pdf')
m.add_attachment('a,b\n1,2\n', subtype='csv', filename='data.csv')
m.add_attachment(os.urandom(500), maintype='image', subtype='png', filename='x.png', disposition='inline', cid='<img1@x>')
check(write('mixed.eml', m.as_bytes(policy=LF)), 5)

# message/rfc822 inside, with its own structure
outer = EmailMessage()
outer['From'] = 'fwd@example.com'
outer['To'] = 'kate@example.org'
outer['Subject'] = 'Fwd: report'
outer.set_content('forwarded below\n')
outer.add_attachment(alt)
check(write('rfc822.eml', outer.as_bytes(policy=LF)), 4)

# 8-bit headers and body, encoded words, folded fields
eightbit = (b'From: J\xc3\xb6rg <joerg@example.de>\n'
            b'To: =?iso-8859-1?q?Andr=E9?= <andre@example.fr>\n'
            b'Subject: caf\xc3\xa9 =?UTF-8?B?w6nDqQ==?=\n  folded\n'
            b'MIME-Version: 1.0\n'
            b'Content-Type: text/plain; charset=utf-8\n'
            b'Content-Transfer-Encoding: 8bit\n'
            b'\n'
            b'caf\xc3\xa9\nno final line end')
check(write('eightbit.eml', eightbit), 1)

# missing headers: no From, no Content-Type, no empty line at the end
check(write('missing.eml', b'Subject: bare\n\njust text\n'), 1)
check(write('noheader.eml', b'\nonly a body\n'), 1)

# CRLF-stored: the same structure as LF-stored
p_lf = write('mixed-lf.eml', m.as_bytes(policy=LF))
p_crlf = write('mixed-crlf.eml', crlf(m.as_bytes(policy=LF)))
t.eq(tool('-x', 'bodystructure', p_crlf), tool('-x', 'bodystructure', p_lf), 'CRLF-stored and LF-stored: one BODYSTRUCTURE')
check(p_crlf, 5)

# no close delimiter
nc = alt.as_bytes(policy=LF)
bnd = alt.get_boundary().encode()
nc = nc[:nc.rindex(b'--' + bnd + b'--')]
EOFPARTS = alt.get_payload()
check(write('noclose.eml', nc), 2)

# a 20 MB attachment
big = EmailMessage()
big['From'] = 'kate@example.org'
big['Subject'] = 'big'
big.set_content('a big one\n')
big.add_attachment(os.urandom(15 * 1024 * 1024), maintype='application', subtype='octet-stream', filename='big.bin')
path = write('big.eml', big.as_bytes(policy=LF))
t.ok(os.path.getsize(path) > 20 * 1000 * 1000, '20 MB fixture')
check(path, 2)
# a partial in the middle of it counts CRLF octets
whole = tool('-s', '2', path)
t.eq(tool('-s', '2', '1000000', '100', path), whole[1000000:1000100], 'BODY[2]<1000000.100> of the big attachment')
