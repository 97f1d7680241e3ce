#!/usr/bin/env python3
# Disk full: the queue (and then a mailbox) on a tiny tmpfs. The client gets a
# 4xx, nothing half-queued is ever delivered, and the host recovers when space
# returns.
import os
import signal
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, wait_for  # noqa: E402

t = TAP()
inst = Instance()
mounts = []


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s,mode=0700' % size, 'tmpfs', path],
                       stderr=subprocess.PIPE)
    if r.returncode == 0:
        mounts.append(path)
    return r.returncode == 0, r.stderr.decode(errors='replace').strip()


def cleanup():
    inst.stop(keep=True)
    for m in reversed(mounts):
        subprocess.run(['umount', '-l', m])
    inst.stop()


def fill(path):
    """Fill the filesystem holding path; returns the filler's name."""
    name = os.path.join(path, 'filler')
    with open(name, 'wb', buffering=0) as f:
        try:
            while True:
                f.write(b'\0' * 65536)
                f.flush()
        except OSError:
            pass
    return name


def send(subject, body=b'x' * 2000):
    msg = b'From: a@example.test\r\nTo: demo@example.test\r\nSubject: ' + subject + b'\r\n\r\n' + body + b'\r\n'
    try:
        with smtplib.SMTP('127.0.0.1', port, timeout=30) as s:
            s.sendmail('a@example.test', ['demo@example.test'], msg)
        return 250, b''
    except smtplib.SMTPResponseException as e:
        return e.smtp_code, e.smtp_error


def queue_files():
    q = os.path.join(inst.root, 'queue')
    out = []
    for sub in ('msg', 'tmp'):
        for dp, dn, fn in os.walk(os.path.join(q, sub)):
            out += fn
    return out


ok, why = mount_tmpfs(os.path.join(inst.root, 'queue'), '1m')
if not ok:
    cleanup()
    t.skip_all('cannot mount a tmpfs here (%s)' % why)

port = inst.start_smtp()
inst.start_queue(env={'QUEUE_RETRY_MIN': '1', 'QUEUE_RETRY_MAX': '2'})

code, _ = send(b'before')
t.eq(code, 250, 'a mail is accepted while there is space')
t.ok(inst.wait_mails('demo@example.test', 1), 'and delivered')

filler = fill(os.path.join(inst.root, 'queue'))
code, text = send(b'while full', b'y' * 300000)
t.ok(code in (451, 452), 'queue full: the client gets 451/452 (%d %s)' % (code, text))
t.eq(queue_files(), [], 'queue full: nothing half-queued is left')
os.unlink(filler)
code, _ = send(b'after')
t.eq(code, 250, 'space is back: the mail is accepted')
mails = inst.wait_mails('demo@example.test', 2)
t.eq(len(mails), 2, 'and delivered')
t.ok(not any(b'while full' in m for m in inst.mails('demo@example.test')),
     'the refused message was never delivered')

# The mailbox's filesystem fills: delivery is deferred, nothing is lost.
md = inst.maildir('demo@example.test')
ok, why = mount_tmpfs(md, '512k')
if not ok:
    t.skip('full mailbox', why)
else:
    for sub in ('tmp', 'new', 'cur'):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    filler = fill(md)
    code, _ = send(b'mailbox full disk')
    t.eq(code, 250, 'mailbox disk full: the message is still accepted (queued)')
    t.ok(wait_for(lambda: b'deferred' in open(inst.queue_proc.logfile, 'rb').read(), 20),
         'delivery deferred, not bounced')
    t.eq(os.listdir(os.path.join(md, 'new')), [], 'nothing half-delivered in new/')
    os.unlink(filler)
    os.killpg(inst.queue_proc.pid, signal.SIGALRM)
    mails = inst.wait_mails('demo@example.test', 1)
    t.ok(any(b'mailbox full disk' in m for m in mails), 'delivered once space returns')
    t.ok(all(len(m) > 100 for m in mails), 'the delivered message is whole')
    t.eq(inst.mails('a@example.test'), [], 'no bounce was sent')

cleanup()
