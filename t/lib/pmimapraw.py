"""A raw IMAP client for tests that need the exact untagged responses
(VANISHED, MODSEQ, response codes) that imaplib hides or drops."""
import re
import socket


class Raw:
    def __init__(self, port, host='127.0.0.1', timeout=30):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.f = self.s.makefile('rb')
        self.n = 0
        self.greeting = self.line()

    def line(self):
        """One response line; a literal is read into it."""
        out = b''
        while True:
            ln = self.f.readline()
            if not ln:
                raise EOFError('connection closed')
            out += ln
            m = re.search(rb'\{(\d+)\}\r\n$', ln)
            if not m:
                return out.rstrip(b'\r\n')
            out += self.f.read(int(m.group(1)))

    def cmd(self, text):
        """Send one command: (untagged lines, tagged line)."""
        self.n += 1
        tag = b'r%d' % self.n
        if isinstance(text, str):
            text = text.encode()
        self.s.sendall(tag + b' ' + text + b'\r\n')
        untagged = []
        while True:
            ln = self.line()
            if ln.startswith(tag + b' '):
                return untagged, ln[len(tag) + 1:]
            untagged.append(ln)

    def close(self):
        try:
            self.cmd('LOGOUT')
        except (OSError, EOFError):
            pass
        self.s.close()


def uidset(s):
    """The UIDs of a sequence set text "1:3,7" as a set of ints."""
    out = set()
    for part in s.split(b','):
        if b':' in part:
            a, b = part.split(b':')
            a, b = int(a), int(b)
            out.update(range(min(a, b), max(a, b) + 1))
        elif part:
            out.add(int(part))
    return out


def fetches(lines):
    """{uid: (flags set, modseq)} of the untagged FETCH lines with a UID."""
    out = {}
    for ln in lines:
        m = re.match(rb'\* \d+ FETCH \((.*)\)$', ln)
        if not m:
            continue
        body = m.group(1)
        uid = re.search(rb'UID (\d+)', body)
        if not uid:
            continue
        fl = re.search(rb'FLAGS \(([^)]*)\)', body)
        ms = re.search(rb'MODSEQ \((\d+)\)', body)
        out[int(uid.group(1))] = (set(fl.group(1).split()) if fl else None, int(ms.group(1)) if ms else None)
    return out


def vanished(lines, earlier):
    """The UIDs of the VANISHED (EARLIER) (or plain) lines."""
    out = set()
    pre = b'* VANISHED (EARLIER) ' if earlier else b'* VANISHED '
    for ln in lines:
        if ln.startswith(pre) and (earlier or not ln.startswith(b'* VANISHED (')):
            out |= uidset(ln[len(pre):])
    return out


def code(lines, name):
    """The value of an untagged OK [NAME value] response code, or None."""
    for ln in lines:
        m = re.match(rb'\* OK \[' + name.encode() + rb' (\d+)\]', ln)
        if m:
            return int(m.group(1))
    return None
