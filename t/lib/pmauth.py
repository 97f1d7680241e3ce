"""AUTH in the tests of the submission services: the checkpassword
program (auth-check when it is built, else a stand-in that knows the
given logins) and the service settings that make the tests quick and
keep their failure tables apart."""
import atexit
import os
import shutil
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


def checkpassword(inst, creds):
    """auth-check's path if built, else a stand-in for creds {login: pw}
    written into the instance (readable by the service users)."""
    prog = os.path.join(BIN, 'auth-check')
    if os.access(prog, os.X_OK):
        return prog
    py = '/usr/bin/python3' if os.access('/usr/bin/python3', os.X_OK) else sys.executable
    prog = os.path.join(inst.root, 'checkpw-stand-in')
    with open(prog, 'w') as f:
        f.write(STAND_IN % (py, {(k.encode(), v.encode()) for k, v in creds.items()}))
    os.chmod(prog, 0o755)
    return prog


def configure(inst, creds, services=('submission', 'submissions'), **more):
    """Write the AUTH settings into ROOT/service/NAME/env/ of each service;
    returns the failure table's path (removed at exit)."""
    table = '/dev/shm/pipemail-authfail-t-%d-%s' % (os.getpid(), os.path.basename(inst.root))
    atexit.register(lambda: os.path.exists(table) and os.unlink(table))
    env = {'CHECKPASSWORD': checkpassword(inst, creds), 'AUTH_FAIL_DELAY': '50', 'AUTHFAIL_FILE': table}
    env.update(more)
    for svc in services:
        d = os.path.join(inst.root, 'service', svc, 'env')
        if not os.path.isdir(d):
            continue
        for k, v in env.items():
            with open(os.path.join(d, k), 'w') as f:
                f.write(v + '\n')
    return table


def have_auth_check():
    return os.access(os.path.join(BIN, 'auth-check'), os.X_OK) and shutil.which('true') is not None
