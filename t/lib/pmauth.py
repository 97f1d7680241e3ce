"""AUTH in the tests of the submission services: the checkpassword
program (auth-check when it is built, else a stand-in that knows the
given logins) and the service settings that make the tests quick and
keep their failure tables apart.

auth-check run as root refuses a mailbox owned by root (it would run its
program as root): services that run as root (a test as root, -u root)
get the stand-in; service_user() names a user other than root for tests
that want the real auth-check in an instance of their own."""
import atexit
import os
import sys

from pmtest import BIN

STAND_IN = r'''#!%s
# checkpassword stand-in (tests): user\0password\0stamp\0 on fd 3
import os, sys
d = b""
while True:
    b = os.read(3, 4096)
    if not b:
        break
    d += b
f = d.split(b"\0")
if len(f) < 3 or not sys.argv[1:]:
    sys.exit(2)
if (f[0], f[1]) not in %r:
    sys.exit(1)
os.execvp(sys.argv[1], sys.argv[1:])
'''


def service_user():
    """A user for instance-setup -u whose services can run auth-check:
    ourselves, or nobody when we are root (if it can run the programs)."""
    import pwd
    import subprocess
    if os.geteuid() != 0:
        return pwd.getpwuid(os.getuid()).pw_name
    try:
        pwd.getpwnam('nobody')
    except KeyError:
        return 'root'
    ok = subprocess.run(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', 'test', '-x',
                         os.path.join(BIN, 'smtp-recv')], stderr=subprocess.DEVNULL).returncode == 0
    return 'nobody' if ok else 'root'


def checkpassword(inst, creds, as_root=None):
    """auth-check's path if built (and the services do not run as root:
    as_root, by default whether we are root), else a stand-in for creds
    {login: pw} written into the instance (readable by the service users)."""
    if as_root is None:
        as_root = os.geteuid() == 0
    prog = os.path.join(BIN, 'auth-check')
    if os.access(prog, os.X_OK) and not as_root:
        return prog
    py = '/usr/bin/python3' if os.access('/usr/bin/python3', os.X_OK) else sys.executable
    prog = os.path.join(inst.root, 'checkpw-stand-in')
    with open(prog, 'w') as f:
        f.write(STAND_IN % (py, {(k.encode(), v.encode()) for k, v in creds.items()}))
    os.chmod(prog, 0o755)
    return prog


def configure(inst, creds, services=('submission', 'submissions'), as_root=None, **more):
    """Write the AUTH settings into ROOT/service/NAME/env/ of each service
    (the failure table removed at exit); returns the program's path."""
    table = '/dev/shm/pipemail-authfail-t-%d-%s' % (os.getpid(), os.path.basename(inst.root))
    atexit.register(lambda: os.path.exists(table) and os.unlink(table))
    env = {'CHECKPASSWORD': checkpassword(inst, creds, as_root), 'AUTH_FAIL_DELAY': '50', 'AUTHFAIL_FILE': table}
    env.update(more)
    for svc in services:
        d = os.path.join(inst.root, 'service', svc, 'env')
        if not os.path.isdir(d):
            continue
        for k, v in env.items():
            with open(os.path.join(d, k), 'w') as f:
                f.write(v + '\n')
    return env['CHECKPASSWORD']


def uses_auth_check(prog):
    return os.path.basename(prog) == 'auth-check'
