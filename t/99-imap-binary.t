#!/usr/bin/env python3
# BINARY (RFC 3516, RFC 9051 6.4.5) in imap-mailbox, over a raw session:
# FETCH BINARY.PEEK[part] of quoted-printable, base64 (with and without
# NUL octets) and 7bit parts byte-exact against Python's email package
# decoding the same message, BINARY.SIZE equal to the decoded length,
# literal8 (~{n}) exactly when the content has a NUL, partial fetches,
# BINARY[] as BODY[], NO [UNKNOWN-CTE] for an unknown encoding (no data,
# no \Seen), \Seen set by BINARY and not by BINARY.PEEK, BADs for the
# sections BINARY does not take, and APPEND of a message with NULs as a
# literal8 (~{n} and ~{n+}) read back byte-exact.
import base64
import email
import email.policy
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance  # noqa: E402
from pmimapraw import Raw  # noqa: E402

t = TAP()
inst = Instance(users={'demo@example.test': 'demo'})
MD = inst.maildir('demo@example.test')

BLOB = bytes(range(256)) * 3                      # NULs: literal8
PNG = b'\x89PNG\r\n\x1a\n' + bytes(range(1, 256))  # 8-bit, no NUL: a literal
QP = (b'caf=C3=A9 line one is long and =\r\nstill one\r\n'
      b'line two =3D equals, tab=09end\r\nlast =E2=82=AC')


def b64lines(data):
    s = base64.b64encode(data)
    return b'\r\n'.join(s[i:i + 76] for i in range(0, len(s), 76))


MULTI = (b'From: a@example.org\r\nTo: demo@example.test\r\nSubject: parts\r\n'
         b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\n'
         b'preamble\r\n--zz\r\n'
         b'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
         + QP + b'\r\n--zz\r\n'
         b'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n'
         + b64lines(BLOB) + b'\r\n--zz\r\n'
         b'Content-Type: image/png\r\nContent-Transfer-Encoding: BASE64\r\n\r\n'
         + b64lines(PNG) + b'\r\n--zz\r\n'
         b'Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'
         b'plain text\r\nsecond line\r\n--zz\r\n'
         b'Content-Type: application/x-thing\r\nContent-Transfer-Encoding: x-unknown\r\n\r\n'
         b'whatever\r\n--zz--\r\n')
SINGLE = (b'From: a@example.org\r\nSubject: single\r\nMIME-Version: 1.0\r\n'
          b'Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n'
          + b64lines(b'%PDF-1.4 one part\x00\x01\x02') + b'\r\n')
UNKNOWN = (b'From: a@example.org\r\nSubject: unknown\r\nMIME-Version: 1.0\r\n'
           b'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n'
           b'begin 644 f\r\nend\r\n')
# APPENDed as a literal8: CR LF pairs only (a Maildir keeps LF line ends)
RAW8 = bytes(b for b in range(256) if b not in (10, 13)) + b'\r\n\x00\x00end\r\n'
NULMSG = (b'From: a@example.org\r\nSubject: nul\r\nMIME-Version: 1.0\r\n'
          b'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n' + RAW8)

server, port = inst.start_imap_mailbox(MD, t)
a = Raw(port)


def append(msg, lit='{%d+}'):
    return a.cmd(b'APPEND INBOX ' + (lit % len(msg)).encode() + b'\r\n' + msg)


def item(lines, name):
    """(literal marker "{" or "~{" or None, value bytes) of item name in
    the FETCH responses; (None, None) if absent."""
    for ln in lines:
        k = ln.find(name + b' ')
        if k < 0:
            continue
        rest = ln[k + len(name) + 1:]
        m = re.match(rb'(~?\{)(\d+)\}\r\n', rest)
        if m:
            return m.group(1), rest[m.end():m.end() + int(m.group(2))]
        m = re.match(rb'("[^"]*"|\d+|NIL)', rest)
        return None, m.group(1)
    return None, None


def flags(seq):
    u, r = a.cmd('FETCH %d FLAGS' % seq)
    return u[0] if u else b''


u, r = a.cmd('CAPABILITY')
t.ok(u and b' BINARY ' in u[0] + b' ', 'CAPABILITY has BINARY', u)
for m in (MULTI, SINGLE, UNKNOWN):
    u, r = append(m)
    t.ok(r.startswith(b'OK'), 'APPEND a fixture', r)
u, r = a.cmd('SELECT INBOX')
t.ok(r.startswith(b'OK') and b'* 3 EXISTS' in u, 'SELECT: 3 messages', u)

# ---- each part decoded, against Python's email package --------------------
want = [p.get_payload(decode=True) for p in
        email.message_from_bytes(MULTI, policy=email.policy.compat32).walk()
        if not p.is_multipart()]
t.eq(want[1], BLOB, 'Python decodes the fixture as meant (sanity)')
for k in range(1, 5):
    u, r = a.cmd('FETCH 1 (BINARY.PEEK[%d] BINARY.SIZE[%d])' % (k, k))
    lit, got = item(u, b'BINARY[%d]' % k)
    t.ok(r.startswith(b'OK'), 'FETCH BINARY.PEEK[%d] OK' % k, r)
    t.eq(got, want[k - 1], 'BINARY.PEEK[%d] byte-exact' % k)
    t.eq(item(u, b'BINARY.SIZE[%d]' % k)[1], b'%d' % len(want[k - 1]), 'BINARY.SIZE[%d] = decoded length' % k)
    t.eq(lit, b'~{' if b'\0' in want[k - 1] else b'{', 'BINARY[%d]: literal8 exactly when it has a NUL' % k)
t.ok(b'\r\nstill one' not in want[0] and 'café'.encode() in want[0], 'QP soft break and =XX undone (sanity)', want[0])

# ---- partial -------------------------------------------------------------
u, r = a.cmd('FETCH 1 BINARY.PEEK[2]<10.20>')
t.eq(item(u, b'BINARY[2]<10>')[1], BLOB[10:30], 'BINARY.PEEK[2]<10.20>: decoded octets 10..29')
u, r = a.cmd('FETCH 1 BINARY.PEEK[2]<1.5>')
t.eq(item(u, b'BINARY[2]<1>'), (b'{', BLOB[1:6]), 'a partial without NUL is a plain literal')
u, r = a.cmd('FETCH 1 BINARY.PEEK[1]<100000.10>')
t.eq(item(u, b'BINARY[1]<100000>')[1], b'', 'a partial past the end is empty')

# ---- a single-part message, BINARY[] -------------------------------------
u, r = a.cmd('FETCH 2 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[] BODY.PEEK[])')
t.eq(item(u, b'BINARY[1]'), (b'~{', b'%PDF-1.4 one part\x00\x01\x02'), 'BINARY[1] of a single-part message: its body decoded')
t.eq(item(u, b'BINARY[]')[1], item(u, b'BODY[]')[1], 'BINARY[] is the whole message as BODY[]')
t.eq(item(u, b'BINARY[]')[1], SINGLE, 'BINARY[] byte-exact')

# ---- unknown encodings ---------------------------------------------------
u, r = a.cmd('FETCH 3 BINARY[1]')
t.ok(r.startswith(b'NO [UNKNOWN-CTE]'), 'x-uuencode: NO [UNKNOWN-CTE]', r)
t.ok(not any(b'FETCH' in ln for ln in u), 'no FETCH data for it', u)
t.ok(b'\\Seen' not in flags(3), 'a failed BINARY does not set \\Seen', flags(3))
u, r = a.cmd('FETCH 1 BINARY.PEEK[5]')
t.ok(r.startswith(b'NO [UNKNOWN-CTE]'), 'x-unknown part: NO [UNKNOWN-CTE]', r)
u, r = a.cmd('FETCH 1:3 BINARY.SIZE[1]')
t.ok(r.startswith(b'NO [UNKNOWN-CTE]') and len([ln for ln in u if b'FETCH' in ln]) == 2,
     'FETCH 1:3: the two others answered, then NO [UNKNOWN-CTE]', (u, r))
u, r = a.cmd('FETCH 1 BINARY.PEEK[9]')
t.ok(r.startswith(b'OK'), 'a part that does not exist is no error (as BODY[9])', r)

# ---- \Seen ----------------------------------------------------------------
t.ok(b'\\Seen' not in flags(1), 'BINARY.PEEK and BINARY.SIZE leave \\Seen unset', flags(1))
u, r = a.cmd('FETCH 1 BINARY[4]')
t.ok(r.startswith(b'OK') and b'\\Seen' in u[0], 'BINARY[4] sets \\Seen, reported in the response', u)

# ---- what BINARY does not take -------------------------------------------
for bad in ('BINARY[1.MIME]', 'BINARY[HEADER]', 'BINARY.PEEK[1.TEXT]', 'BINARY.SIZE[1]<0.5>',
            'BINARY[1.]', 'BINARY[0]', 'BINARY.SIZE'):
    u, r = a.cmd('FETCH 1 %s' % bad)
    t.ok(r.startswith(b'BAD'), 'FETCH %s: BAD' % bad, r)

# ---- APPEND with a literal8 ----------------------------------------------
u, r = append(NULMSG, '~{%d+}')
t.ok(r.startswith(b'OK [APPENDUID'), 'APPEND ~{n+} of a message with NULs', r)
a.s.sendall(b'x1 APPEND INBOX ~{%d}\r\n' % len(NULMSG))
cont = a.line()
t.ok(cont.startswith(b'+'), 'APPEND ~{n}: continuation', cont)
a.s.sendall(NULMSG + b'\r\n')
ln = a.line()
while ln.startswith(b'*'):
    ln = a.line()
t.ok(ln.startswith(b'x1 OK'), 'APPEND ~{n} (synchronizing) stored', ln)
u, r = a.cmd('NOOP')
u, r = a.cmd('FETCH 4:5 (BINARY.PEEK[] BINARY.PEEK[1] BINARY.SIZE[1])')
got = [item([ln], b'BINARY[]')[1] for ln in u if b'FETCH' in ln]
t.eq(got, [NULMSG, NULMSG], 'both read back byte-exact with BINARY[]')
t.eq(item(u, b'BINARY[1]'), (b'~{', RAW8), 'BINARY[1] of it: the binary body, a literal8')
t.eq(item(u, b'BINARY.SIZE[1]')[1], b'%d' % len(RAW8), 'its BINARY.SIZE')
u, r = a.cmd('FETCH 4 (BODY.PEEK[] BODY.PEEK[1])')
t.eq((item(u, b'BODY[]'), item(u, b'BODY[1]')), ((b'{', NULMSG.replace(b'\0', b'\x80')), (b'{', RAW8.replace(b'\0', b'\x80'))),
     'BODY[] of it: a plain literal holds no NUL (0x80 in its place, as Dovecot sends)')
u, r = a.cmd(b'CREATE ~{3+}\r\nabc')
t.ok(r.startswith(b'BAD'), 'a literal8 elsewhere than APPEND\'s message: BAD', r)
u, r = a.cmd('NOOP')
t.ok(r.startswith(b'OK'), 'the session goes on', r)
a.close()
