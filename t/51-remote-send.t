#!/usr/bin/env python3
# remote-send alone, against the scripted SMTP peer (t/lib/smtppeer.py):
# the bytes it sends, its report (qmail-remote format) for every kind of
# reply at every stage, MX fallback, timeouts, refusals, loop detection.
import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, BIN, free_port  # noqa: E402
from smtppeer import SmtpPeer  # noqa: E402

t = TAP()
root = tempfile.mkdtemp(prefix='rs51-')
atexit.register(shutil.rmtree, root, True)
os.makedirs(os.path.join(root, 'etc'))
ME = 'mx.example.test'
with open(os.path.join(root, 'etc/me'), 'w') as f:
    f.write(ME + '\n')
env = dict(os.environ, PIPEMAIL_ROOT=root, PATH=BIN + ':' + os.environ['PATH'])
env.pop('MXLIST', None)
RS = os.path.join(BIN, 'remote-send')
MSG = b'Subject: test\n\nhello\n.leading dot\n..two dots\n.\nlast line\n'
SIZE = 64  # RFC 1870: CRLF line ends, no dot-stuffing, no final dot
WIRE = b'Subject: test\r\n\r\nhello\r\n..leading dot\r\n...two dots\r\n..\r\nlast line\r\n.\r\n'
peers = []


def peer(host='127.0.0.1', **script):
    p = SmtpPeer(host=host, **script)
    peers.append(p)
    return p


def report(out):
    """[(code, text)] from the report bytes; None if not \\0-terminated."""
    if out and not out.endswith(b'\0'):
        return None
    return [(chr(x[0]), x[1:].decode('utf-8', 'replace')) for x in out.split(b'\0')[:-1]]


def codes(rep):
    return ''.join(c for c, _ in rep or [])


def send(port, rcpts=('a@kate.test',), msg=MSG, mx='10 kate.test 127.0.0.1', opts=(),
         sender='s@example.test', domain='kate.test', stdin=None, extra_env=None):
    e = dict(env)
    if mx is not None:
        e['MXLIST'] = mx
    e.update(extra_env or {})
    args = [RS] + (['-p', str(port)] if port else []) + list(opts) + [domain, sender] + list(rcpts)
    kw = dict(stdin=stdin) if stdin is not None else dict(input=msg)
    r = subprocess.run(args, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, **kw)
    return r.returncode, report(r.stdout), r.stderr.decode(errors='replace')


def session_cmds(p, i=0):
    s = p.session(i)
    return [c.split(' ')[0].split(':')[0].upper() for c in s.commands] if s else None


# -- a normal delivery ------------------------------------------------------
p = peer()
rc, rep, err = send(p.port, rcpts=('a@kate.test', 'b@kate.test'))
t.eq((rc, codes(rep)), (0, 'rrK'), 'delivery: exit 0, report r r K')
t.ok('kate.test[127.0.0.1] said: 250 2.0.0 queued' in rep[-1][1], 'K text names host[ip] and the reply', rep)
s = p.session(0)
t.eq(s.commands[0], 'EHLO ' + ME, 'EHLO with our name')
mail = [c for c in s.chunks if c.startswith(b'MAIL')]
t.eq(mail[:1], [b'MAIL FROM:<s@example.test> SIZE=%d\r\nRCPT TO:<a@kate.test>\r\nRCPT TO:<b@kate.test>\r\nDATA\r\n'
                % SIZE], 'MAIL, RCPTs and DATA pipelined in one packet; SIZE counts CRLF')
t.eq(s.data, WIRE, 'message: CRLF line ends, dot-stuffed, ends with CRLF.CRLF')
t.eq(s.commands[-1], 'QUIT', 'QUIT at the end')
t.ok(err.startswith('remote-send: info: domain=kate.test host=kate.test ip=127.0.0.1 status=sent sent=2 ')
     and err.count('\n') == 1, 'one log line', err)

rc, rep, err = send(p.port, msg=b'no newline at the end')
t.eq((codes(rep), p.session(1).data), ('rK', b'no newline at the end\r\n.\r\n'), 'a last line without LF is completed')
rc, rep, err = send(p.port, msg=b'')
t.eq((codes(rep), p.session(2).data), ('rK', b'.\r\n'), 'empty message')

# queue-run hands over a file positioned at the message start
with tempfile.TemporaryFile() as f:
    f.write(b'QUEUE HEADER BYTES\n' + MSG)
    f.seek(19)
    rc, rep, err = send(p.port, stdin=f)
t.eq((codes(rep), p.session(3).data), ('rK', WIRE), 'message read from the file offset on (not from 0)')

big = b''.join(b'line %d ' % i + b'x' * 60 + b'\n' for i in range(40000))
rc, rep, err = send(p.port, msg=big)
t.eq((codes(rep), len(p.session(4).data)), ('rK', len(big) + big.count(b'\n') + 3), 'a 2.7 MB message')

many = ['u%d@kate.test' % i for i in range(1500)]
rc, rep, err = send(p.port, rcpts=many)
t.eq((codes(rep), len(p.session(5).commands)), ('r' * 1500 + 'K', 1504), '1500 recipients in one transaction')

# -- extensions ---------------------------------------------------------------
p = peer(ehlo='250-peer.test\n250 SIZE 1000000')
rc, rep, err = send(p.port, rcpts=('a@kate.test', 'b@kate.test'), msg=b'plain\n')
s = p.session(0)
t.eq(codes(rep), 'rrK', 'no PIPELINING: delivered')
t.ok(all(not (c.startswith(b'MAIL') and b'RCPT' in c) for c in s.chunks), 'no PIPELINING: MAIL and RCPT not sent together')
rc, rep, err = send(p.port, rcpts=('a@kate.test', 'b@kate.test'), msg=b'caf\xc3\xa9\n')
t.ok(codes(rep) == 'hhD' and '5.6.3' in rep[-1][1] and '8BITMIME' in rep[-1][1]
     and not any(c.startswith('MAIL') for c in p.session(1).commands),
     'no 8BITMIME: an 8-bit message is refused, permanently, before MAIL', rep)
p = peer()
send(p.port, msg=b'caf\xc3\xa9\n')
send(p.port, msg=b'plain\n')
t.eq((p.session(0).commands[1], p.session(1).commands[1]),
     ('MAIL FROM:<s@example.test> SIZE=7 BODY=8BITMIME', 'MAIL FROM:<s@example.test> SIZE=7'),
     'BODY=8BITMIME only for an 8-bit message')
rc, rep, err = send(p.port, rcpts=('j\u00f6rg@kate.test',), sender='\u00e9@example.test')
t.eq((codes(rep), p.session(2).commands[1]), ('rK', 'MAIL FROM:<\u00e9@example.test> SIZE=%d SMTPUTF8'.encode().decode('latin-1') % SIZE),
     'SMTPUTF8 parameter for a UTF-8 address')

p = peer(ehlo='250-peer.test\n250-PIPELINING\n250 8BITMIME')
rc, rep, err = send(p.port, rcpts=('j\u00f6rg@kate.test', 'b@kate.test'))
t.eq(codes(rep), 'hhD', 'UTF-8 address, no SMTPUTF8: permanent')
t.ok(rep[0][1].startswith('5.6.7 ') and 'kate.test[127.0.0.1]' in rep[0][1], '5.6.7 text', rep)
t.eq(session_cmds(p), ['EHLO', 'QUIT'], 'nothing sent before refusing')

p = peer(ehlo='250-peer.test\n250-PIPELINING\n250 SIZE 20')
rc, rep, err = send(p.port, rcpts=('a@kate.test', 'b@kate.test'))
t.eq(codes(rep), 'hhD', 'SIZE smaller than the message: permanent')
t.ok(rep[-1][1].startswith('5.3.4 message size %d exceeds size limit 20' % SIZE), '5.3.4 text', rep)
t.eq(session_cmds(p), ['EHLO', 'QUIT'], 'no MAIL sent')

# -- greeting and EHLO ----------------------------------------------------------
p = peer(greeting='421 4.3.2 busy')
rc, rep, err = send(p.port, rcpts=('a@kate.test', 'b@kate.test'))
t.eq((rc, codes(rep)), (0, 'ssZ'), 'greeting 421: temporary for all')
t.ok('refused to talk to me: 421 4.3.2 busy' in rep[-1][1], 'greeting text', rep)
p = peer(greeting='554-kate.test\n554 5.7.1 no thanks')
rc, rep, err = send(p.port, rcpts=('a@kate.test', 'b@kate.test'))
t.eq(codes(rep), 'hhD', 'greeting 554 from the only MX: permanent')
t.ok(rep[0][1] == 'host kate.test[127.0.0.1] refused to talk to me: 554 kate.test 5.7.1 no thanks', 'multiline reply on one line', rep)
p = peer(greeting='220-peer.test\n220-welcome\n220 ESMTP')
t.eq(codes(send(p.port)[1]), 'rK', 'multiline greeting')
p = peer(greeting='\n'.join(['220-x'] * 100 + ['220 x']))
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'sZ' and 'too many reply lines' in rep[0][1], 'a greeting of 101 lines: protocol error, temporary', rep)
p = peer(greeting='220 ' + 'x' * 5000)
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'sZ' and 'reply line too long' in rep[0][1], 'a 5000-byte line: protocol error, temporary', rep)

p = peer(ehlo='502 5.5.1 EHLO not implemented')
rc, rep, err = send(p.port)
t.eq((codes(rep), session_cmds(p)), ('rK', ['EHLO', 'HELO', 'MAIL', 'RCPT', 'DATA', 'QUIT']), 'EHLO 5xx: HELO, then delivery')
t.eq(p.session(0).commands[2], 'MAIL FROM:<s@example.test>', 'after HELO: no ESMTP parameters')
p = peer(ehlo='550 no', helo='550 5.7.1 go away')
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'hD' and '(in reply to HELO command)' in rep[0][1], 'EHLO and HELO 5xx: permanent', rep)
p = peer(ehlo='421 4.7.0 later')
t.eq(codes(send(p.port)[1]), 'sZ', 'EHLO 4xx: temporary')
p = peer(drop='ehlo')
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'sZ' and 'lost connection with kate.test[127.0.0.1] while waiting for the reply to EHLO' in rep[0][1],
     'connection lost at EHLO: temporary', rep)

# -- MAIL, RCPT, DATA, end of data ----------------------------------------------
p = peer(mail='451 4.3.0 try later')
t.eq(codes(send(p.port, rcpts=('a@x', 'b@x'))[1]), 'ssZ', 'MAIL 4xx: temporary for all')
p = peer(mail='553 5.1.8 bad sender')
rc, rep, err = send(p.port, rcpts=('a@x', 'b@x'))
t.ok(codes(rep) == 'hhD' and rep[0][1].endswith('553 5.1.8 bad sender (in reply to MAIL FROM command)'), 'MAIL 5xx: permanent for all', rep)
t.ok(p.session(0).received.endswith(b'DATA\r\nQUIT\r\n'), 'then QUIT (without waiting for the replies to RCPT and DATA)')

p = peer(rcpt=['250 2.1.5 ok', '450 4.2.1 mailbox busy', '550-5.1.1 no such\n550 5.1.1 user'])
rc, rep, err = send(p.port, rcpts=('a@x', 'b@x', 'c@x'))
t.eq(codes(rep), 'rshK', 'RCPT: mixed results per recipient')
t.eq(rep[2][1], 'kate.test[127.0.0.1] said: 550 5.1.1 no such user (in reply to RCPT TO command)',
     'per-recipient text: a multi-line reply in one-line form (code, enhanced code once, texts)')
t.ok('status=partial sent=1 bounced=1 deferred=1' in err, 'log counts', err)

p = peer(rcpt='550 5.1.1 no', data='554 5.5.1 no valid recipients')
rc, rep, err = send(p.port, rcpts=('a@x', 'b@x'))
t.eq((codes(rep), p.session(0).data), ('hhD', None), 'all RCPT refused: no message sent')
p = peer(rcpt=['550 5.1.1 no', '450 4.2.1 later'], data='354 wrongly')
rc, rep, err = send(p.port, rcpts=('a@x', 'b@x'))
t.eq((codes(rep), p.session(0).data), ('hsZ', b'.\r\n'), 'DATA 354 with no recipient: only an empty message')
p = peer(rcpt='550 5.1.1 no', ehlo='250 peer.test')
rc, rep, err = send(p.port, rcpts=('a@x',))
t.eq((codes(rep), session_cmds(p)), ('hD', ['EHLO', 'MAIL', 'RCPT', 'QUIT']), 'no PIPELINING, no recipient: no DATA')

p = peer(data='451 4.3.0 later')
t.eq(codes(send(p.port, rcpts=('a@x', 'b@x'))[1]), 'rrZ', 'DATA 4xx: Z')
p = peer(data='554 5.3.0 no')
t.eq(codes(send(p.port, rcpts=('a@x', 'b@x'))[1]), 'rrD', 'DATA 5xx: D')
p = peer(eod='452 4.3.1 full')
t.eq(codes(send(p.port, rcpts=('a@x', 'b@x'))[1]), 'rrZ', 'end of data 4xx: Z')
p = peer(eod='552 5.3.4 too big')
rc, rep, err = send(p.port, rcpts=('a@x', 'b@x'))
t.ok(codes(rep) == 'rrD' and rep[-1][1].endswith('552 5.3.4 too big (in reply to end of DATA command)'), 'end of data 5xx: D', rep)
p = peer(rcpt=['250 ok', '550 no'], eod='452 4.3.1 full')
t.eq(codes(send(p.port, rcpts=('a@x', 'b@x'))[1]), 'rhZ', 'a refused recipient keeps its own result')

p = peer(drop='body')
rc, rep, err = send(p.port, msg=big)
t.eq((rc, codes(rep)), (0, 'rZ'), 'connection dropped in the middle of DATA: Z')
p = peer(drop='eod')
rc, rep, err = send(p.port)
t.ok(codes(rep) == 'rZ' and 'delivered twice' in rep[-1][1], 'dropped after the final dot: Z, may be a duplicate', rep)

# -- time limits ------------------------------------------------------------------
p = peer(hang='greeting')
t0 = time.time()
rc, rep, err = send(p.port, opts=('-T', '1'))
t.ok(codes(rep) == 'sZ' and 'timed out' in rep[0][1] and time.time() - t0 < 30, 'a peer that never answers: Z after -T', rep)
p = peer(hang='rcpt')
t0 = time.time()
rc, rep, err = send(p.port, opts=('-T', '1'))
t.ok(codes(rep) == 'sZ' and time.time() - t0 < 30, 'no reply to RCPT: Z', rep)
p = peer(hang='eod')
t0 = time.time()
rc, rep, err = send(p.port, opts=('-T', '30', '-D', '1'))
t.ok(codes(rep) == 'rZ' and time.time() - t0 < 30, 'no reply after the final dot: Z after -D', rep)

# -- several exchangers -----------------------------------------------------------
port = free_port()
p1 = peer(host='127.0.0.1', port=port, greeting='554 5.7.1 not here')
p2 = peer(host='127.0.0.2', port=port)
rc, rep, err = send(port, mx='10 one.test 127.0.0.1\n20 two.test 127.0.0.2\n')
t.eq(codes(rep), 'rK', '554 greeting: next MX')
t.ok('two.test[127.0.0.2]' in rep[-1][1] and p2.session(0).data == WIRE, 'delivered by the second MX', rep)
rc, rep, err = send(port, mx='10 one.test 127.0.0.1\n20 two.test 127.0.0.5 127.0.0.2\n')
t.eq(codes(rep), 'rK', 'a host with several addresses: the next address')
p3 = peer(host='127.0.0.3', port=port, greeting='554 5.7.1 neither')
rc, rep, err = send(port, mx='10 one.test 127.0.0.1\n20 three.test 127.0.0.3\n')
t.ok(codes(rep) == 'hD' and 'three.test[127.0.0.3]' in rep[0][1], '554 from all: permanent', rep)
rc, rep, err = send(port, mx='10 one.test 127.0.0.1\n20 four.test 127.0.0.4\n')
t.ok(codes(rep) == 'sZ' and rep[0][1].startswith('4.4.1 connect to four.test[127.0.0.4]:%d: ' % port),
     '554 from one, connection refused by the other: temporary', rep)
rc, rep, err = send(port, mx='10 four.test 127.0.0.4\n10 two.test 127.0.0.2\n')
t.ok(codes(rep) == 'rK' and 'two.test' in rep[-1][1], 'first MX refuses the connection: the second one', rep)
rc, rep, err = send(port, mx='10 four.test 127.0.0.4\n20 six.test 127.0.0.6\n')
t.ok(codes(rep) == 'sZ' and 'six.test[127.0.0.6]' in rep[0][1] and 'Connection refused' in rep[0][1], 'all refuse: Z', rep)

# a listener whose accept queue is full drops SYNs: the connection times out
full = socket.socket()
full.bind(('127.0.0.7', port))
full.listen(0)
fillers = []
for i in range(3):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(('127.0.0.7', port))
    fillers.append(c)
time.sleep(0.2)
t0 = time.time()
rc, rep, err = send(port, mx='10 seven.test 127.0.0.7\n20 two.test 127.0.0.2\n', opts=('-t', '1', '-T', '2'))
t.ok(codes(rep) == 'rK' and 'two.test' in rep[-1][1] and 1 <= time.time() - t0 < 30,
     'connection timeout (-t): the next MX', (rep, time.time() - t0))
rc, rep, err = send(port, mx='10 seven.test 127.0.0.7', opts=('-t', '1', '-T', '2'))
t.ok(codes(rep) == 'sZ' and 'seven.test[127.0.0.7]' in rep[0][1] and 'timed out' in rep[0][1],
     'connection timeout of the only MX: Z', rep)
for c in fillers + [full]:
    c.close()

s6 = None
try:
    s6 = peer(host='::1')
except OSError:
    pass
if s6:
    rc, rep, err = send(s6.port, mx='10 six.test ::1')
    t.ok(codes(rep) == 'rK' and 'six.test[::1]' in rep[-1][1], 'IPv6', rep)
else:
    t.skip('IPv6', 'no ::1')

# -- routes and literals ----------------------------------------------------------------
p = peer()
rc, rep, err = send(None, mx=None, opts=('-r', '127.0.0.1:%d' % p.port))
t.ok(codes(rep) == 'rK' and '127.0.0.1[127.0.0.1]' in rep[-1][1], '-r IP:PORT without MXLIST', rep)
rc, rep, err = send(p.port, mx='10 nowhere.test 127.0.0.9', opts=('-r', '[127.0.0.1]:%d' % p.port))
t.eq(codes(rep), 'rK', '-r [IP]:PORT wins over MXLIST')
rc, rep, err = send(p.port, mx=None, domain='[127.0.0.1]')
t.eq(codes(rep), 'rK', 'address literal domain without MXLIST')
if s6:
    rc, rep, err = send(s6.port, mx=None, domain='[IPv6:::1]')
    t.eq(codes(rep), 'rK', 'IPv6 address literal')
rc, rep, err = send(p.port, mx=None)
t.ok(rc == 111 and rep == [] and 'no exchangers' in err, 'no MXLIST, no route, no literal: 111', err)
rc, rep, err = send(p.port, mx='10 kate.test not-an-ip')
t.ok(rc == 111 and 'MXLIST' in err, 'malformed MXLIST: 111', err)
rc, rep, err = send(p.port, mx='')
t.eq(rc, 111, 'empty MXLIST: 111')
rc, rep, err = send(p.port, rcpts=())
t.ok(rc == 100 and 'usage' in err, 'no recipient: usage, 100', err)
rc, rep, err = send(p.port, opts=('-T', 'x'))
t.eq(rc, 100, 'bad option value: 100')
rc, rep, err = send(p.port, rcpts=('a@x>\r\nRSET',))
t.ok(rc == 100 and 'invalid recipient' in err, 'CR/LF or > in an address: refused, 100', err)

# -- never to ourselves ----------------------------------------------------------------
p = peer(greeting='220 %s ESMTP' % ME.upper())
rc, rep, err = send(p.port, rcpts=('a@x', 'b@x'))
t.ok(codes(rep) == 'hhD' and rep[0][1] == '5.4.6 mail for kate.test loops back to myself', 'greeting with our name: loop', rep)
t.eq(session_cmds(p), ['QUIT'], 'nothing sent to ourselves')
p = peer(ehlo='250-%s\n250 PIPELINING' % ME)
rc, rep, err = send(p.port)
t.eq((codes(rep), session_cmds(p)), ('hD', ['EHLO', 'QUIT']), 'EHLO reply with our name: loop')
rc, rep, err = send(25, mx='10 me.test 127.0.0.1')
t.ok(codes(rep) == 'hD' and 'loops back to myself' in rep[0][1], 'MX is one of our addresses on port 25: loop', rep)


def port25_open(host):
    try:
        socket.create_connection((host, 25), 1).close()
        return True
    except OSError:
        return False


if port25_open('127.0.0.2'):
    t.skip('backup MX', 'something listens on 127.0.0.2:25')
else:
    rc, rep, err = send(25, mx='10 best.test 127.0.0.2\n20 me.test 127.0.0.1')
    t.ok(codes(rep) == 'sZ' and 'best.test' in rep[0][1], 'we are a backup MX: the best MX failure stands (temporary)', rep)

for x in peers:
    x.close()
