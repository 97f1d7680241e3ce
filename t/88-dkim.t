#!/usr/bin/env python3
# DKIM (issue 18): dkim-keygen's key, dkim-sign in front of queue-inject,
# checked by independent verifiers (Debian's python3-dkim, opendkim-testmsg)
# and by dkim-verify against the key published in a test DNS server;
# alterations fail; dkim-verify agrees with python3-dkim on python3-dkim's
# own signatures (relaxed and simple); bad input gets a clear result.
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import pmdns
import pmtest
from pmtest import TAP, Instance
import smtphelp

t = TAP()
PYDKIM = os.path.join(pmtest.HERE, 'dkimpy.py')
DEBPY = '/usr/bin/python3'      # the interpreter of Debian's python3-dkim
if not pmdns.available():
    t.skip_all('dnsmasq is not installed')
if subprocess.run([DEBPY, '-c', 'import dkim'], capture_output=True).returncode:
    t.skip_all('python3-dkim is not installed (tools/deps.sh installs it)')

inst = Instance()
inst.start_queue()
smtphelp.queue_ready(inst)
DEMO = 'demo@example.test'
tmp = tempfile.mkdtemp(prefix='pm-dkim-')


def record_of(text):
    """The TXT value in dkim-keygen's output (its strings joined)."""
    return ''.join(re.findall(r'"([^"]*)"', text))


# --- dkim-keygen ------------------------------------------------------------------
r = inst.run(['dkim-keygen', 'example.test', 'sel1'])
keyfile = os.path.join(inst.root, 'etc/dkim/example.test/sel1.key')
REC = record_of(r.stdout.decode())
t.ok(r.stdout.startswith(b'sel1._domainkey.example.test. IN TXT ('), 'dkim-keygen prints the record to publish', r.stdout)
t.ok(REC.startswith('v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A'), 'an RSA-2048 SubjectPublicKeyInfo', REC)
t.eq(os.stat(keyfile).st_mode & 0o777, 0o600, 'the private key is mode 600')
t.ok(all(len(s) <= 255 for s in re.findall(r'"([^"]*)"', r.stdout.decode())), 'TXT strings of at most 255 bytes')
r2 = inst.run(['dkim-keygen', 'example.test', 'sel1'], check=False)
t.ok(r2.returncode == 100 and b'exists' in r2.stderr, 'an existing key is never overwritten', r2.stderr)
t.eq(inst.run(['dkim-keygen', 'bad/domain', 'x'], check=False).returncode, 100, 'bad domain: exit 100')
with open(os.path.join(inst.root, 'etc/dkim/example.test/selector'), 'w') as f:
    f.write('sel1\n')

# a 512-bit key, for the refusal
k512 = os.path.join(tmp, 'k512.pem')
subprocess.run(['openssl', 'genrsa', '-traditional', '-out', k512, '512'], check=True, capture_output=True)
der = subprocess.run(['openssl', 'rsa', '-in', k512, '-pubout', '-outform', 'DER'], check=True,
                     capture_output=True).stdout
import base64
REC512 = 'v=DKIM1; k=rsa; p=' + base64.b64encode(der).decode()
# a 4096-bit key (BearSSL's largest): its record (~750 bytes) needs EDNS0
k4096 = os.path.join(tmp, 'k4096.pem')
subprocess.run(['openssl', 'genrsa', '-traditional', '-out', k4096, '4096'], check=True, capture_output=True)
der = subprocess.run(['openssl', 'rsa', '-in', k4096, '-pubout', '-outform', 'DER'], check=True,
                     capture_output=True).stdout
REC4096 = 'v=DKIM1; k=rsa; p=' + base64.b64encode(der).decode()

dns = pmdns.DNS(txt={'sel1._domainkey.example.test': REC,
                     'weak._domainkey.example.test': REC512,
                     'big._domainkey.example.test': REC4096,
                     'junk._domainkey.example.test': 'v=DKIM1; k=rsa; p=MIIBIjAN!!BgkqhkiG9w0BAQEFAA'},
               servfail=['broken.test'], timeout=['slow.test'])


def ours(msg):
    r = subprocess.run([os.path.join(pmtest.BIN, 'dkim-verify')], input=msg, capture_output=True,
                       env=dict(inst.env, DNS_SERVER=dns.server, DKIM_TIMEOUT='1'))
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def pydkim(*args, msg):
    """verify: 'pass', 'fail' or the error; sign: the signed message (bytes)."""
    r = subprocess.run([DEBPY, PYDKIM] + list(args), input=msg, capture_output=True)
    if args[0] == 'sign':
        return r.stdout if not r.returncode else b'error: ' + r.stderr
    return r.stdout.decode().strip() if not r.returncode else 'error: ' + r.stderr.decode()


def opendkim(msg):
    """opendkim-testmsg's exit code, its DNS being the test's records: it reads
    /etc/resolv.conf, so it runs in private network and mount namespaces with
    a dnsmasq on 127.0.0.1:53 there. None if that cannot be done."""
    if not os.path.exists('/usr/sbin/opendkim-testmsg') or not shutil.which('unshare'):
        return None
    path = os.path.join(tmp, 'm.eml')
    with open(path, 'wb') as f:
        f.write(msg)
    conf = os.path.join(tmp, 'resolv.conf')
    with open(conf, 'w') as f:
        f.write('nameserver 127.0.0.1\n')
    chunks = ','.join(REC[i:i + 255] for i in range(0, len(REC), 255))
    script = '''set -e
ip link set lo up
mount --bind "$1" /etc/resolv.conf
%s --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --bind-interfaces \
  --listen-address=127.0.0.1 --port=53 --user=root --local=/test/ --txt-record="$2" 2>/dev/null &
pid=$!
i=0; until ss -lun | grep -q '127.0.0.1:53 '; do i=$((i+1)); [ $i -lt 100 ] || exit 2; sleep 0.05; done
set +e
/usr/sbin/opendkim-testmsg < "$3"; rc=$?
kill $pid
echo "rc=$rc"
''' % pmdns.DNSMASQ
    r = subprocess.run(['unshare', '-m', '-n', 'sh', '-c', script, 'sh', conf,
                        'sel1._domainkey.example.test,' + chunks, path], capture_output=True, timeout=60)
    m = re.search(rb'rc=(\d+)', r.stdout)
    return int(m.group(1)) if m else None


# --- dkim-sign in front of queue-inject ----------------------------------------------
port = inst.start_smtp(env={'QUEUE_INJECT': os.path.join(pmtest.BIN, 'dkim-sign')})
BODY = (b'From: John <john@example.test>\r\nTo: demo@example.test\r\nSubject: signed  mail\r\n'
        b'Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n'
        b'X-Long: ' + b'x' * 100000 + b'\r\n'
        b'\r\nHello Kate,  \r\n\r\nthis is signed.\r\n\r\n')
with smtplib.SMTP('127.0.0.1', port, timeout=30) as s:
    s.sendmail('john@example.test', [DEMO], BODY)
m = inst.wait_mails(DEMO, 1)
t.eq(len(m), 1, 'signed mail delivered')
signed = m[0] if m else b''
t.ok(b'\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=sel1;' in signed,
     'a DKIM-Signature, d= the From domain', signed[:600])
t.ok(re.search(rb'h=From:From:To:Subject:Date:\s*Message-ID;', signed), 'From oversigned, the usual fields', signed[:600])
t.ok(signed.endswith(b'\nHello Kate,  \n\nthis is signed.\n\n'), 'message intact after the signature')

t.eq(pydkim('verify', REC, msg=signed), 'pass', 'python3-dkim verifies it (a 100 KB header field included)')
code, out, err = ours(signed)
t.eq((code, out), (0, 'dkim=pass header.d=example.test header.s=sel1\n'), 'dkim-verify: pass, through DNS')
rc = opendkim(signed)
if rc is None:
    t.skip('opendkim-testmsg verifies it', 'opendkim-testmsg or namespaces unavailable')
else:
    t.eq(rc, 0, 'opendkim-testmsg verifies it')

for what, old, new in (('body', b'this is signed.', b'this is signed!'),
                       ('Subject', b'Subject: signed  mail', b'Subject: signed  mall'),
                       ('added From', b'\nFrom: John', b'\nFrom: x@evil.test\nFrom: John')):
    bad = signed.replace(old, new, 1)
    t.eq(pydkim('verify', REC, msg=bad), 'fail', 'altered %s: python3-dkim says fail' % what)
    code, out, err = ours(bad)
    t.ok(out.startswith('dkim=fail ('), 'altered %s: dkim-verify says fail' % what, out + err)
    if rc is not None:
        t.ok(opendkim(bad) not in (0, None), 'altered %s: opendkim-testmsg says fail' % what)

# --- no key: passed on unsigned; a broken key: 451, nothing queued ----------------------
with smtplib.SMTP('127.0.0.1', port, timeout=30) as s:
    s.sendmail('x@other.test', [DEMO], b'From: x@other.test\r\nSubject: nokey\r\n\r\nplain\r\n')
m = inst.wait_mails(DEMO, 2)
t.ok(len(m) == 2 and b'DKIM-Signature' not in m[1], 'no key for the domain: delivered unsigned')
os.makedirs(os.path.join(inst.root, 'etc/dkim/broken.test'))
with open(os.path.join(inst.root, 'etc/dkim/broken.test/selector'), 'w') as f:
    f.write('s\n')
with open(os.path.join(inst.root, 'etc/dkim/broken.test/s.key'), 'w') as f:
    f.write('-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n')
try:
    with smtplib.SMTP('127.0.0.1', port, timeout=30) as s:
        s.sendmail('x@broken.test', [DEMO], b'From: x@broken.test\r\n\r\nx\r\n')
    code = 250
except smtplib.SMTPDataError as e:
    code = e.smtp_code
t.eq(code, 451, 'a broken key: 451 (retried later, not sent unsigned)')

# --- the filter itself: envelope passed on, next stage from argv ------------------------
env_in = os.path.join(tmp, 'env')
with open(env_in, 'wb') as f:
    f.write(b'Fjohn@example.test\0Tkate@kate.test\0Tb@b.test\0\0')
with open(env_in, 'rb') as e:
    r = subprocess.run([os.path.join(pmtest.BIN, 'dkim-sign'), 'sh', '-c',
                        'cat > "$0.msg"; cat <&1 > "$0.env"; exit 0', os.path.join(tmp, 'out')],
                       input=b'From: a@Example.TEST\nSubject: x\n\nbody\n', stdout=e,
                       stderr=subprocess.PIPE, env=inst.env)
t.ok(r.returncode == 0, 'dkim-sign runs the stage named in argv', r.stderr)
out = open(os.path.join(tmp, 'out.msg'), 'rb').read()
t.ok(out.startswith(b'DKIM-Signature: ') and out.endswith(b'\nFrom: a@Example.TEST\nSubject: x\n\nbody\n'),
     'signed, LF lines kept', out)
t.eq(open(os.path.join(tmp, 'out.env'), 'rb').read(), b'Fjohn@example.test\0Tkate@kate.test\0Tb@b.test\0\0',
     'the envelope passed on as it came')
t.eq(pydkim('verify', REC, msg=out), 'pass', 'python3-dkim verifies a message with LF lines')

many = b'From: a@example.test\n' + b''.join(b'X-%d: y\n' % i for i in range(1200)) + b'\nbody\n'
with open(env_in, 'rb') as e:
    r = subprocess.run([os.path.join(pmtest.BIN, 'dkim-sign'), 'sh', '-c', 'cat > "$0.msg"', os.path.join(tmp, 'many')],
                       input=many, stdout=e, stderr=subprocess.PIPE, env=inst.env)
t.ok(r.returncode == 0 and open(os.path.join(tmp, 'many.msg'), 'rb').read() == many
     and b'unsigned: too many header fields' in r.stderr, 'over 1000 header fields: passed on unsigned, with a warning', r.stderr)

# --- python3-dkim's signatures, checked by dkim-verify ----------------------------------
MSG = (b'From: John <john@example.test>\nTo:   kate@kate.test \nSubject: hello \t there\n\t folded\n'
       b'Date: Sun, 6 Dec 2026 10:00:00 +0000\n\nHello  \n\n world\t \n\n\n')
for canon in ('relaxed/relaxed', 'simple/simple', 'relaxed/simple', 'simple/relaxed'):
    sm = pydkim('sign', keyfile, canon, 'sel1', 'example.test', msg=MSG)
    t.ok(sm.startswith(b'DKIM-Signature') and ('c=' + canon).encode() in sm.replace(b'\r\n', b''),
         'python3-dkim signs %s' % canon, sm[:300])
    t.eq(ours(sm)[1], 'dkim=pass header.d=example.test header.s=sel1\n', 'dkim-verify agrees: pass (%s)' % canon)
    t.ok(ours(sm.replace(b'world', b'World'))[1].startswith('dkim=fail'), 'dkim-verify agrees: body altered fails (%s)' % canon)
    t.ok(ours(sm.replace(b'hello', b'Hello'))[1].startswith('dkim=fail'), 'dkim-verify agrees: header altered fails (%s)' % canon)
s = pydkim('sign', k4096, 'relaxed/relaxed', 'big', 'example.test', msg=MSG)
t.eq(ours(s)[1], 'dkim=pass header.d=example.test header.s=big\n', 'a 4096-bit key, its record over 512 bytes: pass')
s = pydkim('sign', keyfile, 'relaxed/relaxed', 'sel1', 'example.test', 'l', msg=MSG)
t.ok(b' l=' in s or b';l=' in s or b'\tl=' in s, 'python3-dkim signs with l=')
t.eq(ours(s + b'appended\r\n')[1], 'dkim=pass header.d=example.test header.s=sel1\n', 'l=: text appended after the signed length still passes')

# --- bad input: a clear result each, exit 0 ---------------------------------------------
def sig_msg(tags):
    return b'DKIM-Signature: ' + tags + b'\nFrom: a@example.test\n\nbody\n'


s512 = pydkim('sign', k512, 'relaxed/relaxed', 'weak', 'example.test', msg=MSG)
for what, msg, want in (
        ('malformed tags', sig_msg(b'v=1; a=rsa-sha256; d=example.test; s; h=from'), 'dkim=permerror ('),
        ('duplicate tags', sig_msg(b'v=1; v=1; a=rsa-sha256'), 'dkim=permerror (duplicate tag)'),
        ('binary junk', sig_msg(b'v=1\x00\xff\x01;;=='), 'dkim=permerror ('),
        ('base64 with junk in b=', re.sub(rb'b=[A-Za-z0-9+/]{8}', b'b=**junk**', signed, count=1), 'dkim=permerror (bad or missing b=)'),
        ('a 100 KB DKIM-Signature', sig_msg(b'v=1; a=rsa-sha256; d=example.test; s=sel1; h=from; b=' + b'A' * 100000 + b'; bh=AAAA'), 'dkim=permerror ('),
        ('a 512-bit RSA key', s512, 'dkim=permerror (RSA key of 512 bits refused'),
        ('key record with junk base64', re.sub(rb's=sel1', b's=junk', signed, count=1), 'dkim=permerror (bad base64 in p=)'),
        ('no key record', re.sub(rb's=sel1', b's=nokey', signed, count=1), 'dkim=permerror (no key record)'),
        ('SERVFAIL', signed.replace(b'd=example.test', b'd=broken.test', 1), 'dkim=temperror (key lookup failed temporarily) header.d=broken.test'),
        ('no DNS answer', signed.replace(b'd=example.test', b'd=slow.test', 1), 'dkim=temperror (key lookup failed temporarily) header.d=slow.test'),
        ('no signature', b'From: a@example.test\n\nbody\n', 'dkim=none'),
        ('no header at all', b'', 'dkim=none')):
    code, out, err = ours(msg)
    t.ok(code == 0 and out.startswith(want) and not err, 'bad input, %s: %s' % (what, out.strip()), out + err)

dns.stop()
inst.stop()
shutil.rmtree(tmp, ignore_errors=True)
