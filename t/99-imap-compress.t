#!/usr/bin/env python3
"""COMPRESS=DEFLATE (RFC 4978) in imap-mailbox, as the imap service runs it
(tcp-serve imap-serve auth-check imap-mailbox), with a client that really
compresses (Python's zlib, raw deflate both ways, a sync flush after each
command): offered after login only; the tagged OK in the clear, then
everything compressed; a big FETCH comes back whole and smaller on the
wire; APPEND of a synchronizing literal; IDLE told of a delivery and
ended by a compressed DONE; a command pipelined compressed right after
COMPRESS; a second COMPRESS gets NO [COMPRESSIONACTIVE]; an unknown
mechanism BAD; a stream that is not deflate ends the session, and the
server goes on serving others."""
import os
import random
import re
import socket
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance  # noqa: E402
from pmimapserve import ImapServe  # noqa: E402

t = TAP()
inst = Instance(users={'demo@example.test': 'demo'})
LIT = re.compile(rb'\{(\d+)\+?\}$')


srv = ImapServe(inst)
deliver, port = srv.deliver, srv.port
if not srv.up:
    t.ok(False, 'the imap service started', srv.log())
    sys.exit(1)


class Client:
    """Raw IMAP over a socket, deflated once compress() was called."""

    def __init__(self):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=20)
        self.buf = b''
        self.z = None
        self.wire = 0          # bytes received from the socket
        self.greeting = self.line()

    def send(self, data):
        if self.z:
            data = self.z[0].compress(data) + self.z[0].flush(zlib.Z_SYNC_FLUSH)
        self.s.sendall(data)

    def fill(self):
        b = self.s.recv(65536)
        if not b:
            raise EOFError
        self.wire += len(b)
        self.buf += self.z[1].decompress(b) if self.z else b

    def line(self):
        while b'\r\n' not in self.buf:
            self.fill()
        ln, self.buf = self.buf.split(b'\r\n', 1)
        return ln

    def response(self):
        """A line with its literals: (text, [literal bytes...])."""
        text, lits = b'', []
        while True:
            ln = self.line()
            text += ln
            m = LIT.search(ln)
            if not m:
                return text, lits
            n = int(m.group(1))
            while len(self.buf) < n:
                self.fill()
            lits.append(self.buf[:n])
            self.buf = self.buf[n:]

    def cmd(self, tag, c):
        """Untagged responses and the tagged line."""
        self.send(tag + b' ' + c + b'\r\n')
        return self.until(tag)

    def until(self, tag):
        out = []
        while True:
            text, lits = self.response()
            if text.startswith(tag + b' '):
                return out, text
            out.append((text, lits))

    def compress(self):
        self.z = (zlib.compressobj(6, zlib.DEFLATED, -15), zlib.decompressobj(-15))
        if self.buf:   # anything after the OK is compressed already
            raw, self.buf = self.buf, b''
            self.buf = self.z[1].decompress(raw)


c = Client()
_, r = c.cmd(b'p', b'COMPRESS DEFLATE')
t.ok(r.startswith(b'p BAD') and b'log in first' in r, 'COMPRESS before login: BAD, log in first', r)
_, r = c.cmd(b'a', b'LOGIN demo@example.test demo')
t.ok(r.startswith(b'a OK') and b'COMPRESS=DEFLATE' in r, 'after login: COMPRESS=DEFLATE among the capabilities', (r, srv.log()))
_, r = c.cmd(b'b', b'COMPRESS LZMA')
t.ok(r.startswith(b'b BAD'), 'COMPRESS LZMA: BAD (unknown mechanism)', r)
_, r = c.cmd(b'c', b'COMPRESS DEFLATE')
t.ok(r.startswith(b'c OK'), 'COMPRESS DEFLATE: OK in the clear', r)
c.compress()
_, r = c.cmd(b'd', b'NOOP')
t.ok(r.startswith(b'd OK'), 'a compressed NOOP gets a compressed OK', r)
_, r = c.cmd(b'e', b'COMPRESS DEFLATE')
t.ok(r.startswith(b'e NO [COMPRESSIONACTIVE]'), 'COMPRESS again: NO [COMPRESSIONACTIVE]', r)

# a big message, compressible text: FETCH BODY[] whole, fewer bytes on the wire
rnd = random.Random(17)
words = 'lorem ipsum dolor sit amet meeting invoice report tomorrow attached'.split()
body = b''.join(b' '.join(rnd.choice(words).encode() for _ in range(12)) + b'\n' for _ in range(40000))
big = b'From: a@example.org\nSubject: big\n\n' + body
deliver(big)
untagged, r = c.cmd(b'f', b'SELECT INBOX')
t.ok(r.startswith(b'f OK') and any(x[0] == b'* 1 EXISTS' for x in untagged), 'SELECT INBOX: 1 message', untagged)
before = c.wire
untagged, r = c.cmd(b'g', b'FETCH 1 BODY[]')
got = [lits[0] for text, lits in untagged if lits]
want = big.replace(b'\n', b'\r\n')
t.ok(r.startswith(b'g OK') and len(got) == 1 and got[0].endswith(want),
     'a big FETCH BODY[] (%d bytes) comes back whole' % len(want),
     (r, [len(x) for x in got], len(want)))
t.ok(c.wire - before < len(want) // 3, 'and compressed on the wire (%d bytes for %d)' % (c.wire - before, len(want)))

# APPEND of a synchronizing literal
msg = b'From: b@example.org\r\nSubject: appended\r\n\r\n' + body[:200000].replace(b'\n', b'\r\n')
c.send(b'h APPEND INBOX (\\Seen) {%d}\r\n' % len(msg))
text, _ = c.response()
t.ok(text.startswith(b'+'), 'APPEND: the continuation, compressed', text)
c.send(msg + b'\r\n')
untagged, r = c.until(b'h')
t.ok(r.startswith(b'h OK') and b'APPENDUID' in r, 'APPEND of a %d-byte literal: OK' % len(msg), r)
untagged, r = c.cmd(b'i', b'FETCH 2 BODY.PEEK[]')
got = [lits[0] for text, lits in untagged if lits]
t.ok(got == [msg], 'the appended message reads back the same', [len(x) for x in got])

# IDLE inside compression
c.send(b'j IDLE\r\n')
text, _ = c.response()
t.ok(text.startswith(b'+'), 'IDLE: the continuation', text)
deliver(b'From: c@example.org\nSubject: wake\n\nwake up\n')
text, _ = c.response()
t.ok(text == b'* 3 EXISTS', 'IDLE told of a delivery: * 3 EXISTS', text)
c.send(b'DONE\r\nk NOOP\r\n')   # DONE and the next command in one flush
untagged, r = c.until(b'k')
t.ok(any(x[0].startswith(b'j OK') for x in untagged) and r.startswith(b'k OK'),
     'a compressed DONE ends IDLE, and the command after it runs', (untagged, r))
_, r = c.cmd(b'l', b'LOGOUT')
t.ok(r.startswith(b'l OK'), 'LOGOUT, compressed', r)

# COMPRESS with a compressed command in the same packet, before the OK
c = Client()
c.cmd(b'a', b'LOGIN demo@example.test demo')
z = zlib.compressobj(6, zlib.DEFLATED, -15)
c.s.sendall(b'b COMPRESS DEFLATE\r\n' + z.compress(b'c NOOP\r\n') + z.flush(zlib.Z_SYNC_FLUSH))
_, r = c.until(b'b')
t.ok(r.startswith(b'b OK'), 'COMPRESS pipelined with a compressed NOOP: OK in the clear', r)
c.compress()
c.z = (z, c.z[1])
_, r = c.until(b'c')
t.ok(r.startswith(b'c OK'), '... and the NOOP sent before the OK is answered compressed', r)
c.s.close()

# not deflate after COMPRESS: the session ends, the server does not crash
c = Client()
c.cmd(b'a', b'LOGIN demo@example.test demo')
c.cmd(b'b', b'COMPRESS DEFLATE')
c.s.sendall(b'\xff' * 64 + b'c NOOP\r\n')
data, closed = b'', False
try:
    while True:
        b = c.s.recv(4096)
        if not b:
            closed = True
            break
        data += b
except ConnectionResetError:
    closed = True
except OSError:   # a timeout: the session hangs on
    pass
t.ok(closed, 'garbage instead of deflate: the server ends the session', data)
c = Client()
_, r = c.cmd(b'a', b'LOGIN demo@example.test demo')
t.ok(r.startswith(b'a OK'), 'the next session is served', r)
c.s.close()
log = srv.log()
t.ok(re.search(r'imap-mailbox: info: .*reason=read error', log) and not re.search(r'fatal|Sanitizer|runtime error', log),
     'the log tells of the read error, and nothing crashed', log[-2000:])
srv.stop()
