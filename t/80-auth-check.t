#!/usr/bin/env python3
"""auth-check as a checkpassword program, run the way servers and admins run
it: `printf 'user\\0password\\0\\0' | auth-check PROG 3<&0`. Exact mailbox
users only; the hashes user-add makes and those brought with user-add -H
(yescrypt, SHA-512-crypt and bcrypt from mkpasswd, Dovecot's
{SHA512-CRYPT} from doveadm pw); exit codes 0/1/2/111; no password in any
output."""
import os
import pwd
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance  # noqa: E402

t = TAP()
ROOT = os.geteuid() == 0
PW = 'Demo-Sekr3t'
inst = Instance(users={'demo@example.test': PW, 'nopw@example.test': '',
                       'rootbox@example.test': 'Rootbox-Sekr3t'},
                domains=('example.test', 'other.test'),
                aliases={'postmaster@example.test': ['demo']})
outputs = []     # everything any program printed: no password may be in it
secrets = [PW, 'Rootbox-Sekr3t', 'Wrong-Sekr3t']


def auth(data, prog=('sh', '-c', 'id -u; echo "$USER|$AUTHUSER|$HOME"; pwd'), env=None, user=None):
    """data on fd 3 (and stdin) as the checkpassword interface says."""
    e = dict(inst.env)
    e.update(env or {})
    r = subprocess.run(['sh', '-c', 'exec "$@" 3<&0', 'sh', 'auth-check'] + list(prog),
                       input=data, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, user=user, cwd='/')
    out, err = r.stdout.decode(errors='replace'), r.stderr.decode(errors='replace')
    outputs.extend([out, err])
    return r.returncode, out, err


def cred(user, pw, ts='1700000000'):
    return user.encode() + b'\0' + pw.encode() + b'\0' + ts.encode() + b'\0'


def users_line(addr):
    with open(os.path.join(inst.root, 'etc/users')) as f:
        return next((ln for ln in f if ln.startswith(addr + ':')), '')


# As root, auth-check becomes the owner of the mailbox: give the mailboxes
# to nobody (the queue's user in a real instance) and let nobody in.
nobody = pwd.getpwnam('nobody')
if ROOT:
    os.chmod(inst.root, 0o755)
    for dirpath, dirs, files in os.walk(os.path.join(inst.root, 'mail')):
        for n in [dirpath] + [os.path.join(dirpath, f) for f in files]:
            os.chown(n, nobody.pw_uid, nobody.pw_gid)
    os.chown(inst.maildir('rootbox@example.test'), 0, 0)
uid = nobody.pw_uid if ROOT else os.geteuid()
home = inst.maildir('demo@example.test')

# -- the issue's form, literally ------------------------------------------------
r = subprocess.run("printf 'demo@example.test\\0%s\\0\\0' | auth-check id 3<&0" % PW, shell=True,
                   env=inst.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
outputs.extend([r.stdout.decode(), r.stderr.decode()])
t.ok(r.returncode == 0 and r.stdout.startswith(b'uid=%d(' % uid), "printf ... | auth-check id 3<&0 runs id",
     r.stdout + r.stderr)

# -- success: the environment, the ids, the directory ---------------------------
rc, out, err = auth(cred('Demo@Example.TEST', PW))
t.eq((rc, out), (0, '%d\ndemo@example.test|demo@example.test|%s\n%s\n' % (uid, home, home)),
     'success: uid, USER, AUTHUSER (canonical), HOME (the mailbox), in HOME')
t.eq(err, '', 'nothing logged on success')
rc, out, err = auth(b'demo@example.test\0' + PW.encode() + b'\0')
t.eq(rc, 0, 'no timestamp (djb checkpassword takes that too)')
rc, out, err = auth(cred('demo@example.test', PW), env={'PIPEMAIL_ROOT': os.path.relpath(inst.root, '/')})
t.ok(rc == 0 and out.split('\n')[1].endswith('|' + home), 'relative PIPEMAIL_ROOT: HOME absolute', out + err)
if ROOT:
    rc, out, err = auth(cred('rootbox@example.test', 'Rootbox-Sekr3t'))
    t.ok(rc == 111 and 'owned by root' in err and out == '', 'as root: a mailbox of root\'s is refused (111)', err)
    os.chmod(os.path.join(inst.root, 'etc/users.cdb'), 0o644)
    rc, out, err = auth(cred('demo@example.test', PW), user=nobody.pw_uid)
    t.ok(rc == 0 and out.startswith('%d\n' % nobody.pw_uid) and out.endswith(home + '\n'),
         'not root: ids kept, still in HOME', out + err)
else:
    t.skip('as root: a mailbox of root\'s is refused', 'not root')
    t.skip('not root: ids kept', 'not root')

# -- failures: exit 1, the program not run, one line in the log -----------------
mark = os.path.join(inst.root, 'ran')
touch = ('sh', '-c', 'touch ' + mark)
for name, data, reason in [
        ('wrong password', cred('demo@example.test', 'Wrong-Sekr3t'), 'password'),
        ('unknown user', cred('nobody@example.test', PW), 'unknown-user'),
        ('unknown domain', cred('demo@far.away', PW), 'unknown-user'),
        ('+tag login', cred('demo+x@example.test', PW), 'unknown-user'),
        ('alias login', cred('postmaster@example.test', PW), 'unknown-user'),
        ('catch-all login', cred('anyone@other.test', PW), 'unknown-user'),
        ('catch-all key as login', cred('@other.test', PW), 'unknown-user'),
        ('login without domain', cred('demo', PW), 'unknown-user'),
        ('empty password', cred('demo@example.test', ''), 'password'),
        ('login disabled (empty hash)', cred('nopw@example.test', ''), 'login-disabled'),
        ('input over 512 bytes', cred('demo@example.test', PW, 'x' * 600), 'input-too-long')]:
    if name == 'catch-all login':
        # a catch-all user with demo's hash: its password must not log anyone in
        with open(os.path.join(inst.root, 'etc/users'), 'a') as f:
            f.write('@other.test:%s:mail/other.test/all:0\n' % users_line('demo@example.test').split(':')[1])
        inst.run(['config-make'])
    rc, out, err = auth(data, touch, env={'TCPREMOTEIP': '192.0.2.7'})
    t.ok(rc == 1 and not os.path.exists(mark), name + ': exit 1, the program not run', (rc, err))
    t.ok(err.startswith('auth-check: info: status=fail user=') and 'reason=%s ip=192.0.2.7\n' % reason in err,
         name + ': logged, reason=' + reason, err)

# -- misuse: exit 2 ----------------------------------------------------------------
r = subprocess.run(['auth-check', 'true'], env=inst.env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
t.ok(r.returncode == 2 and b'fd 3' in r.stderr, 'no fd 3: exit 2', r.stderr)
r = subprocess.run(['auth-check'], env=inst.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
t.ok(r.returncode == 2 and b'usage' in r.stderr, 'no program: usage, exit 2', r.stderr)
rc, out, err = auth(b'demo@example.test', touch)
t.ok(rc == 2 and not os.path.exists(mark), 'no NUL after the user: exit 2', err)
rc, out, err = auth(b'demo@example.test\0' + PW.encode(), touch)
t.ok(rc == 2 and not os.path.exists(mark), 'no NUL after the password: exit 2', err)
errlog = os.path.join(inst.root, 'timeout.err')
with open(errlog, 'wb') as ef:
    p = subprocess.Popen(['sh', '-c', 'exec "$@" 3<&0', 'sh', 'auth-check', 'true'], env=inst.env,
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=ef)
    p.stdin.write(cred('demo@example.test', PW))
    p.stdin.flush()    # and kept open: no end of file
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    p.stdin.close()
with open(errlog, 'rb') as f:
    err = f.read()
outputs.append(err.decode())
t.ok(p.returncode == 2 and b'timed out' in err, 'no end of file on fd 3: exit 2 after the time bound', err)

# -- hashes brought from elsewhere: user-add -H ---------------------------------------
def brought(name, cmd, pw, addr):
    """Hash pw with cmd (None: the tool is missing), store it with user-add -H,
    log in with it."""
    if not shutil.which(cmd[0]):
        for what in ('stored', 'verifies', 'wrong password fails'):
            t.skip('%s: %s' % (name, what), cmd[0] + ' missing (tools/deps.sh installs it)')
        return
    secrets.append(pw)
    r = subprocess.run(cmd, input=pw.encode() + b'\n', stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    h = r.stdout.decode().strip()
    r = inst.run(['user-add', '-H', h, addr], check=False)
    outputs.extend([r.stdout.decode(), r.stderr.decode()])
    t.ok(r.returncode == 0 and users_line(addr).split(':')[1] == h, name + ': stored by user-add -H', h + r.stderr.decode())
    if ROOT:
        os.chown(inst.maildir(addr), nobody.pw_uid, nobody.pw_gid)
    rc, out, err = auth(cred(addr, pw), ('sh', '-c', 'echo "$USER"'))
    t.ok(rc == 0 and out == addr + '\n', name + ': verifies', err)
    rc, out, err = auth(cred(addr, pw + 'x'), ('true',))
    t.ok(rc == 1 and 'reason=password' in err, name + ': wrong password fails', err)


brought('yescrypt (mkpasswd)', ['mkpasswd', '-m', 'yescrypt', '-s'], 'Yes-Sekr3t', 'yes@example.test')
brought('SHA-512-crypt (mkpasswd)', ['mkpasswd', '-m', 'sha512crypt', '-s'], 'Sha-Sekr3t', 'sha@example.test')
brought('bcrypt (mkpasswd)', ['mkpasswd', '-m', 'bcrypt', '-s'], 'Blf-Sekr3t', 'blf@example.test')
# doveadm pw asks twice on a terminal; with -p it takes the password from argv
if shutil.which('doveadm'):
    r = subprocess.run(['doveadm', 'pw', '-s', 'SHA512-CRYPT', '-p', 'Dove-Sekr3t'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ok = r.returncode == 0 and r.stdout.startswith(b'{SHA512-CRYPT}$6$')
    t.ok(ok, 'doveadm pw -s SHA512-CRYPT made a hash', r.stdout + r.stderr)
    if ok:
        brought('{SHA512-CRYPT} (doveadm pw)', ['sh', '-c', 'echo "$0"', r.stdout.decode().strip()],
                'Dove-Sekr3t', 'dove@example.test')
else:
    t.skip('doveadm pw: {SHA512-CRYPT}', 'doveadm missing (dovecot-core; tools/deps.sh installs it)')

for bad in ('{PLAIN}Plain-Sekr3t', '$1$rJoe7Lb8$1IYvfsCie4nVTi2NujmXh1', 'x:y', ''):
    before = users_line('bad@example.test')
    r = inst.run(['user-add', '-H', bad, 'bad@example.test'], check=False)
    t.ok(r.returncode == 100 and users_line('bad@example.test') == before == '',
         'user-add -H %r refused, etc/users unchanged' % bad, r.stderr)
# a {PLAIN} hash put in by hand never matches, and says why
with open(os.path.join(inst.root, 'etc/users'), 'a') as f:
    f.write('plain@example.test:{PLAIN}Plain-Sekr3t:mail/example.test/plain:0\n')
inst.run(['config-make'])
rc, out, err = auth(cred('plain@example.test', 'Plain-Sekr3t'), touch)
t.ok(rc == 1 and not os.path.exists(mark) and 'unusable password hash' in err and 'reason=bad-hash' in err,
     '{PLAIN} in etc/users: never a match, a warning', err)

leaks = [s for s in secrets if any(s in o for o in outputs)]
t.eq(leaks, [], 'no password in any output (%d outputs)' % len(outputs))
