#!/usr/bin/env python3
"""Connection limits of the smtp service as make run starts it (instance-setup
-c: STARTTLS-capable, tcp-serve > tls-serve -S > smtp-recv, under s6; then
with NOTLS, smtp-recv in tcp-serve's workers): 15
clients on one address, each reconnecting at once for the next message (a
whole transaction, some over STARTTLS), stay under the default MAXPERIP of
20 and are never refused, though each session's processes are still exiting
when its client reconnects; over MAXPERIP or MAXCONN, every refused client
reads a 421 4.7.0 reply (tcp-serve -R), none a closed socket."""
import atexit
import os
import pwd
import shutil
import smtplib
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmtls  # noqa: E402
from pmtest import TAP, Instance, BIN, TOP, free_port, wait_for, wait_port  # noqa: E402
from pms6 import Scan, svpid  # noqa: E402

t = TAP()
for prog in ('s6-svscan', 's6-svwait', 's6-svstat', 's6-log', 's6-svc', 's6-envdir'):
    if not shutil.which(prog):
        t.skip_all('%s not installed (Debian package s6)' % prog)
if not pmtls.have_openssl():
    t.skip_all('no openssl command (Debian package openssl)')
for prog in ('instance-setup', 'tcp-serve', 'tls-serve', 'smtp-recv', 'queue-run', 'config-make'):
    if not os.access(os.path.join(BIN, prog), os.X_OK):
        t.skip_all('%s not built' % prog)

ME = pwd.getpwuid(os.getuid()).pw_name
DEMO = 'demo@example.test'
REPLY = '421 4.7.0 '

inst = Instance()
port = free_port()
atexit.register(lambda: shutil.rmtree('/dev/shm/pipemail-tls-%d' % port, ignore_errors=True))
r = inst.run(['instance-setup', '-r', inst.root, '-b', BIN, '-t', os.path.join(TOP, 'services'),
              '-s', str(port), '-i', '127.0.0.1', '-d', 'example.test', '-m', 'mx.example.test',
              '-c', '-u', ME], check=False)
if not t.ok(r.returncode == 0, 'instance-setup -c', r.stderr.decode(errors='replace')):
    sys.exit(1)
ctx = pmtls.client_context(os.path.join(inst.root, 'etc/tls/cert.pem'))
ctx.check_hostname = False
scan = Scan(inst)
t.ok(scan.wait_up('smtp') and scan.wait_up('queue', ready=False) and wait_port(port, timeout=5),
     'smtp (STARTTLS) and queue services up')
LOGDIR = os.path.join(inst.root, 'log/smtp')


def log():
    """The smtp service's log, rotated files (@....s) first."""
    out = []
    for name in sorted(n for n in os.listdir(LOGDIR) if n.startswith('@')) + ['current']:
        try:
            with open(os.path.join(LOGDIR, name), errors='replace') as f:
                out.append(f.read())
        except OSError:
            pass
    return ''.join(out)


def transaction(n, tls=False, pause=0.0):
    """One connection, one message: 'ok', 'refused' (a 421 4.7.0 greeting),
    or what else happened."""
    try:
        s = smtplib.SMTP('127.0.0.1', port, timeout=30)
    except smtplib.SMTPConnectError as e:
        text = '%d %s' % (e.smtp_code, e.smtp_error.decode(errors='replace'))
        return 'refused' if text.startswith(REPLY) else 'greeting: ' + text
    except smtplib.SMTPServerDisconnected as e:
        return 'closed without a word (%s)' % e
    except OSError as e:
        return 'connect: %s' % e
    try:
        time.sleep(pause)
        s.ehlo()
        if tls:
            s.starttls(context=ctx)
            s.ehlo()
        s.sendmail('a@example.org', [DEMO], 'Subject: m%d\r\n\r\nhello\r\n' % n)
        s.quit()
        return 'ok'
    except (OSError, smtplib.SMTPException) as e:
        s.close()
        return 'session: %r' % e


def burst(threads, per, pause=0.0, tls=True):
    """threads clients, each sending per messages one connection after the
    other (one in 4 over STARTTLS if tls); the outcomes, counted."""
    out = {}
    lock = threading.Lock()

    def client(k):
        for i in range(per):
            n = k * per + i
            res = transaction(n, tls=tls and n % 4 == 0, pause=pause)
            with lock:
                out[res] = out.get(res, 0) + 1

    ts = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    return out


def restart(settings):
    """New values in service/smtp/env, and the service restarted."""
    d = scan.dir('smtp')
    for name, value in settings.items():
        with open(os.path.join(d, 'env', name), 'w') as f:
            f.write(value + '\n')
    old = svpid(d)
    subprocess.run(['s6-svc', '-r', d])
    wait_for(lambda: svpid(d) not in (0, old), 10)
    return scan.wait_up('smtp') and wait_port(port, timeout=5)


def under_limit(what, tls):
    """15 clients reconnecting at once: none refused, all delivered."""
    threads, per = 15, 60
    before = len(inst.mails(DEMO))
    tooms = log().count('action=toomany') + log().count('action=full')
    out = burst(threads, per, tls=tls)
    t.eq(out, {'ok': threads * per}, '%s: %d clients x %d messages from one address, default MAXPERIP 20: '
         'none refused' % (what, threads, per))
    inst.wait_mails(DEMO, before + threads * per, timeout=120)
    t.eq(len(inst.mails(DEMO)) - before, threads * per, '%s: every message delivered' % what)
    t.eq(log().count('action=toomany') + log().count('action=full'), tooms, '%s: no refusal logged' % what)


def over_limit(what, action, tls):
    """Sessions that last (a pause before EHLO) beyond tcp-serve's wait
    (-W, 2 s), for 30 clients and room for 4: some must be refused."""
    before = log().count('action=' + action)
    out = burst(30, 2, pause=1.0, tls=tls)
    refused = out.pop('refused', 0)
    t.ok(refused > 0, '%s, 30 clients: some refused with a 421 4.7.0 (%d)' % (what, refused))
    t.eq(list(out), ['ok'], '%s: every other connection served; none closed without a word' % what)
    t.ok(wait_for(lambda: log().count('action=' + action) - before == refused, 10),
         '%s: each refusal logged once, action=%s' % (what, action), log()[-3000:])


# ---- STARTTLS (tcp-serve > tls-serve -S > smtp-recv) ---------------------------
under_limit('STARTTLS', True)
t.ok(restart({'MAXPERIP': '4'}), 'smtp restarted with MAXPERIP 4')
over_limit('STARTTLS, MAXPERIP 4', 'toomany', True)

# ---- plain (tcp-serve > smtp-recv in workers) ------------------------------------
t.ok(restart({'MAXPERIP': '20', 'NOTLS': '1'}), 'smtp restarted with NOTLS (plain)')
under_limit('plain', False)
t.ok(restart({'MAXCONN': '4'}), 'smtp restarted with MAXCONN 4')
over_limit('plain, MAXCONN 4', 'full', False)
scan.stop()
