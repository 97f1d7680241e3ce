"""A scripted SMTP server for tests of SMTP clients (Python 3 stdlib only).

    peer = SmtpPeer(rcpt=['250 ok', '550 5.1.1 no such user'], eod='451 try later')
    ... run the client against ('127.0.0.1', peer.port) ...
    s = peer.session(0)           # what the first connection sent
    s.data, s.commands, s.chunks

The script is keyword arguments. A reply is a string; several lines are
separated by '\\n' (sent with CRLF). Stages: greeting, ehlo, helo, mail,
rcpt, data, body, eod, rset, quit.
    greeting='220 peer.test ESMTP'   ehlo=...   helo='250 peer.test'
    mail='250 2.1.0 ok'   rcpt='250 2.1.5 ok' (or a list, one per RCPT in
    order, or a function of the address)   data='354 go ahead'
    eod='250 2.0.0 queued'   rset='250 ok'   quit='221 bye'
    As a real server does, RCPT after a refused MAIL gets 503, and DATA
    with no accepted RCPT gets 554, unless data= is given.
    drop='STAGE'   close the connection instead of answering that stage
                   ('body': after the first bytes of the message arrive)
    hang='STAGE'   never answer that stage (read and record until the
                   client closes)
The peer answers each command as soon as its line is complete, so
pipelined commands get their replies in order. One thread per connection;
every connection gets the same script.
"""
import socket
import threading

DEFAULT_EHLO = '250-peer.test hello\n250-PIPELINING\n250-SIZE 10000000\n250-8BITMIME\n250 SMTPUTF8'


class Session:
    def __init__(self):
        self.chunks = []       # bytes as received by each recv()
        self.commands = []     # command lines, without CRLF, decoded as latin-1
        self.data = None       # DATA bytes as sent, through the final CRLF.CRLF
        self.closed = threading.Event()

    @property
    def received(self):
        return b''.join(self.chunks)


class SmtpPeer:
    def __init__(self, host='127.0.0.1', port=0, **script):
        self.script = dict(greeting='220 peer.test ESMTP', ehlo=DEFAULT_EHLO, helo='250 peer.test',
                           mail='250 2.1.0 ok', rcpt='250 2.1.5 ok', data='354 go ahead',
                           eod='250 2.0.0 queued', rset='250 2.0.0 ok', quit='221 2.0.0 bye',
                           drop=None, hang=None)
        for k in script:
            if k not in self.script:
                raise TypeError('unknown script key ' + k)
        self.script.update(script)
        self.explicit = set(script)
        fam = socket.AF_INET6 if ':' in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.sessions = []
        self.lock = threading.Lock()
        self.stopping = False
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def session(self, i, timeout=10.0):
        """The i-th connection's record, once it is closed."""
        for _ in range(int(timeout * 50)):
            with self.lock:
                if len(self.sessions) > i:
                    break
            threading.Event().wait(0.02)
        else:
            return None
        s = self.sessions[i]
        s.closed.wait(timeout)
        return s

    def close(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass
        for c in list(self.conns):
            try:
                c.close()
            except OSError:
                pass

    # -- internals ---------------------------------------------------------
    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            s = Session()
            with self.lock:
                self.sessions.append(s)
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c, s), daemon=True).start()

    def _serve(self, c, s):
        try:
            self._talk(c, s)
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass
            s.closed.set()

    def _recv(self, c, s):
        b = c.recv(65536)
        if b:
            s.chunks.append(b)
        return b

    def _hang(self, c, s):
        while self._recv(c, s):
            pass

    def _answer(self, c, s, stage, reply):
        """Send reply for stage, or drop/hang; False when the session ends."""
        if self.script['drop'] == stage:
            c.close()
            return False
        if self.script['hang'] == stage:
            self._hang(c, s)
            return False
        if callable(reply):
            reply = reply()
        c.sendall(reply.replace('\r\n', '\n').replace('\n', '\r\n').encode() + b'\r\n')
        return True

    def _rcpt_reply(self, nrcpt, addr):
        r = self.script['rcpt']
        if isinstance(r, (list, tuple)):
            return r[nrcpt] if nrcpt < len(r) else r[-1]
        if callable(r):
            return r(addr)
        return r

    def _talk(self, c, s):
        sc = self.script
        if not self._answer(c, s, 'greeting', sc['greeting']):
            return
        buf = b''
        nrcpt = 0
        mail_ok = False
        accepted = 0
        while True:
            while b'\n' not in buf:
                b = self._recv(c, s)
                if not b:
                    return
                buf += b
            line, buf = buf.split(b'\n', 1)
            line = line.rstrip(b'\r').decode('latin-1')
            s.commands.append(line)
            verb = line.split(' ', 1)[0].upper()
            if verb == 'EHLO':
                ok = self._answer(c, s, 'ehlo', sc['ehlo'])
            elif verb == 'HELO':
                ok = self._answer(c, s, 'helo', sc['helo'])
            elif verb == 'MAIL':
                ok = self._answer(c, s, 'mail', sc['mail'])
                mail_ok = sc['mail'].startswith('2')
            elif verb == 'RCPT' and not mail_ok:
                ok = self._answer(c, s, 'other', '503 5.5.1 MAIL first')
            elif verb == 'RCPT':
                addr = line[line.find('<') + 1:line.rfind('>')]
                r = self._rcpt_reply(nrcpt, addr)
                ok = self._answer(c, s, 'rcpt', r)
                nrcpt += 1
                accepted += r.startswith('2')
            elif verb == 'DATA':
                r = sc['data']
                if not accepted and 'data' not in self.explicit:
                    r = '554 5.5.1 no valid recipients'
                if not self._answer(c, s, 'data', r):
                    return
                if not r.startswith('354'):
                    continue
                buf = self._body(c, s, buf)
                if buf is None:
                    return
                ok = self._answer(c, s, 'eod', sc['eod'])
            elif verb == 'RSET':
                ok = self._answer(c, s, 'rset', sc['rset'])
            elif verb == 'QUIT':
                self._answer(c, s, 'quit', sc['quit'])
                return
            else:
                ok = self._answer(c, s, 'other', '502 5.5.2 unknown command')
            if not ok:
                return

    def _body(self, c, s, buf):
        """Read DATA through CRLF.CRLF; returns what follows it, None if the session ended."""
        if self.script['drop'] == 'body' or self.script['hang'] == 'body':
            if not buf and not self._recv(c, s):
                return None
            if self.script['drop'] == 'body':
                c.close()
            else:
                self._hang(c, s)
            return None
        while True:
            i = (b'\r\n' + buf).find(b'\r\n.\r\n')
            if i >= 0:
                s.data = buf[:i + 3]
                return buf[i + 3:]
            b = self._recv(c, s)
            if not b:
                s.data = buf
                return None
            buf += b
