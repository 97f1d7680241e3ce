#!/usr/bin/env python3
# smtp-recv recipients: local users and aliases accepted, unknown users
# 550 5.1.1, foreign domains 554 5.7.1 unless the client may relay
# (RELAYCLIENT from tcp-serve's access rules); command order.
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtest
from pmtest import TAP, Instance, wait_for
import smtphelp

t = TAP()
inst = Instance(domains=('example.test', 'other.test'),
                users={'demo@example.test': 'pw', 'bob@other.test': 'pw', 'postmaster@example.test': 'pw'},
                aliases={'sales@example.test': ['demo@example.test']})
port = inst.start_smtp()
# remote delivery must fail temporarily, so that a relayed message stays
# queued: a DNS server that never answers
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind(('127.0.0.1', 0))
inst.start_queue(env={'DNS_SERVER': '127.0.0.1:%d' % dns.getsockname()[1], 'MX_TIMEOUT': '1'})
smtphelp.queue_ready(inst)


def session(p=port):
    c = smtphelp.Client(p)
    c.reply()
    c.cmd('EHLO client.test')
    return c


# --- order of commands ------------------------------------------------------------
c = smtphelp.Client(port)
c.reply()
t.eq(c.first('MAIL FROM:<a@remote.test>')[:9], '503 5.5.1', 'MAIL before EHLO: 503 5.5.1')
t.eq(c.first('RCPT TO:<demo@example.test>')[:3], '503', 'RCPT before MAIL: 503')
c.cmd('EHLO client.test')
t.eq(c.first('RCPT TO:<demo@example.test>')[:9], '503 5.5.1', 'RCPT before MAIL after EHLO: 503')
t.eq(c.first('DATA')[:3], '503', 'DATA before MAIL: 503')
t.eq(c.first('MAIL FROM:<a@remote.test>'), '250 2.1.0 ok', 'MAIL')
t.eq(c.first('DATA')[:9], '503 5.5.1', 'DATA before RCPT: 503')
t.eq(c.first('MAIL FROM:<b@remote.test>')[:3], '503', 'nested MAIL: 503')
t.eq(c.first('RSET'), '250 2.0.0 ok', 'RSET')
t.eq(c.first('RCPT TO:<demo@example.test>')[:3], '503', 'RSET ends the transaction')
t.eq(c.first('VRFY demo')[:3], '252', 'VRFY 252')
t.eq(c.first('NOOP'), '250 2.0.0 ok', 'NOOP')
t.eq(c.first('HELP')[:3], '214', 'HELP 214')
t.eq(c.first('EXPN staff')[:3], '502', 'EXPN 502')
c.close()

# --- recipients ------------------------------------------------------------------------
c = session()
t.eq(c.first('MAIL FROM:<>'), '250 2.1.0 ok', 'null sender accepted')
t.eq(c.first('RCPT TO:<nobody@example.test>')[:9], '550 5.1.1', 'unknown user: 550 5.1.1')
t.eq(c.first('RCPT TO:<nobody@other.test>')[:9], '550 5.1.1', 'unknown user, second domain: 550 5.1.1')
t.eq(c.first('RCPT TO:<someone@foreign.test>')[:9], '554 5.7.1', 'foreign domain: 554 5.7.1')
t.eq(c.first('RCPT TO:<someone@[192.0.2.1]>')[:9], '554 5.7.1', 'address literal: 554 5.7.1')
t.eq(c.first('RCPT TO:<demo@example.test.foreign.test>')[:9], '554 5.7.1', 'look-alike domain: 554 5.7.1')
t.eq(c.first('RCPT TO:<DEMO@Example.TEST>'), '250 2.1.5 ok', 'user, any case')
t.eq(c.first('RCPT TO:<demo+tag@example.test>'), '250 2.1.5 ok', 'user with +tag')
t.eq(c.first('RCPT TO:<sales@example.test>'), '250 2.1.5 ok', 'alias')
t.eq(c.first('RCPT TO:<bob@other.test>'), '250 2.1.5 ok', 'user in the second domain')
t.eq(c.first('RCPT TO:<postmaster>'), '250 2.1.5 ok', '<postmaster> without domain')
t.eq(c.first('RCPT TO:<@relay.test:demo@example.test>'), '250 2.1.5 ok', 'source route ignored')
t.eq(c.first('RCPT TO:<not an address>')[:5], '501 5', 'bad address syntax: 501')
t.eq(c.first('RCPT TO:<>')[:5], '501 5', 'null recipient: 501')
t.eq(c.first('RCPT TO:<demo@example.test> NOTIFY=NEVER')[:9], '555 5.5.4', 'RCPT parameter: 555 5.5.4')
t.eq(c.first('MAIL FROM:<x@y>')[:3], '503', 'still in the transaction')
t.eq(c.cmd('DATA')[0], 354, 'DATA')
c.send('Subject: rcpt test\r\n\r\nhello\r\n.\r\n')
t.eq(c.reply()[0], 250, 'queued')
c.cmd('QUIT')
c.close()
t.ok(len(inst.wait_mails('bob@other.test', 1)) == 1, 'bob got it')
t.ok(wait_for(lambda: len(inst.mails('demo@example.test')) >= 4), 'demo got it (user, +tag, alias, routed)')
t.ok(len(inst.wait_mails('postmaster@example.test', 1)) == 1, 'postmaster got it')

# --- relaying: a client allowed by tcp-serve's rules ----------------------------------
rules = os.path.join(inst.root, 'rules')
allow = os.path.join(rules, 'ip4', '127.0.0.1_32')
os.makedirs(os.path.join(allow, 'env'))
open(os.path.join(allow, 'allow'), 'w').close()
with open(os.path.join(allow, 'env', 'RELAYCLIENT'), 'w') as f:
    f.write('\n')      # set, empty (qmail style)
cdb = os.path.join(inst.root, 'rules.cdb')
subprocess.run(['s6-accessrules-cdb-from-fs', cdb, rules], check=True)
rport = inst.start_smtp(rules=cdb)
wait_for(lambda: not inst.queue_ids())     # earlier mail all delivered
ndemo = len(inst.mails('demo@example.test'))
c = session(rport)
t.eq(c.first('MAIL FROM:<demo@example.test>'), '250 2.1.0 ok', 'relay client: MAIL')
t.eq(c.first('RCPT TO:<friend@foreign.test>'), '250 2.1.5 ok', 'relay client: foreign recipient accepted')
t.eq(c.first('RCPT TO:<nobody@example.test>')[:9], '550 5.1.1', 'relay client: unknown local user still 550')
t.eq(c.cmd('DATA')[0], 354, 'relay client: DATA')
c.send('Subject: outbound\r\n\r\nto the world\r\n.\r\n')
t.eq(c.reply()[0], 250, 'relay client: queued')
c.cmd('QUIT')
c.close()


def queued_for(addr):
    for qid in inst.queue_ids():
        for h in os.listdir(os.path.join(inst.root, 'queue', 'msg')):
            p = os.path.join(inst.root, 'queue', 'msg', h, qid)
            if os.path.exists(p):
                with open(p, 'rb') as f:
                    if b'T' + addr.encode() + b'\0' in f.read(4096):
                        return qid
    return None


qid = wait_for(lambda: queued_for('friend@foreign.test'), timeout=5)
t.ok(qid, 'the remote message is in the queue', inst.queue_ids())
time.sleep(3)
t.ok(queued_for('friend@foreign.test'), 'and stays queued (remote delivery)', inst.queue_ids())
t.eq(len(inst.mails('demo@example.test')), ndemo, 'no bounce for it')

# without the rules, the same client may not relay
c = session()
c.cmd('MAIL FROM:<demo@example.test>')
t.eq(c.first('RCPT TO:<friend@foreign.test>')[:9], '554 5.7.1', 'no rules: relaying denied')
c.close()

logs = inst.log(inst.smtp_proc) + ''.join(inst.log(p) for p in inst.procs)
t.ok('rcpt=<nobody@example.test> status=rejected code=550' in logs, 'rejected recipient logged')
smtphelp.crash_free(t, logs, 'no sanitizer report or crash')
