#!/usr/bin/env python3
"""user-add, alias-add, config-make: the text sources, users.cdb, Maildirs."""
import base64
import hashlib
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance, wait_for  # noqa: E402

t = TAP()


def cdb_dump(path):
    """All records of a cdb file as {key: [data, ...]}."""
    with open(path, 'rb') as f:
        b = f.read()
    end = min(struct.unpack_from('<II', b, 8 * i)[0] for i in range(256))
    pos, out = 2048, {}
    while pos < end:
        klen, dlen = struct.unpack_from('<II', b, pos)
        k = b[pos + 8:pos + 8 + klen]
        out.setdefault(k, []).append(b[pos + 8 + klen:pos + 8 + klen + dlen])
        pos += 8 + klen + dlen
    return out


def ab64(s):
    return base64.b64decode(s.replace('.', '+') + '=' * (-len(s) % 4))


def verify(h, pw):
    _, scheme, it, salt, dk = h.split('$')
    return scheme == 'pbkdf2-sha256' and \
        hashlib.pbkdf2_hmac('sha256', pw.encode(), ab64(salt), int(it)) == ab64(dk)


def read(inst, rel):
    with open(os.path.join(inst.root, rel)) as f:
        return f.read()


def write(inst, rel, s):
    with open(os.path.join(inst.root, rel), 'w') as f:
        f.write(s)


def users_lines(inst):
    return [ln for ln in read(inst, 'etc/users').splitlines() if ln and not ln.startswith('#')]


inst = Instance(users={'demo@example.test': 'demo', 'Big@Other.TEST': 'p w:x'},
                quotas={'Big@Other.TEST': 1000000},
                aliases={'postmaster@example.test': ['demo'],
                         'team@example.test': ['demo', 'big@other.test', 'someone@far.away'],
                         '@other.test': ['demo@example.test']})

# -- the sources ---------------------------------------------------------------
lines = users_lines(inst)
t.eq(len(lines), 2, 'two users')
f = lines[0].split(':')
t.eq((f[0], f[2], f[3]), ('demo@example.test', 'mail/example.test/demo', '0'), 'user line')
t.ok(f[1].startswith('$pbkdf2-sha256$') and verify(f[1], 'demo'), 'passlib pbkdf2-sha256 hash of the password', f[1])
t.ok(not verify(f[1], 'demo2'), 'hash does not verify another password')
f = lines[1].split(':')
t.eq((f[0], f[2], f[3]), ('big@other.test', 'mail/other.test/big', '1000000'), 'address lower-cased, quota')
t.ok(verify(f[1], 'p w:x'), 'password with blank and colon')
t.eq(read(inst, 'etc/domains'), 'example.test\nother.test\n', 'user-add added the domain')
t.eq(read(inst, 'etc/aliases'),
     'postmaster@example.test: demo\n'
     'team@example.test: demo, big@other.test, someone@far.away\n'
     '@other.test: demo@example.test\n', 'aliases file')

# -- Maildirs ------------------------------------------------------------------
for a in ('demo@example.test', 'big@other.test'):
    d = inst.maildir(a)
    t.ok(all(os.path.isdir(os.path.join(d, s)) for s in ('tmp', 'new', 'cur')), 'Maildir of ' + a)
    t.eq(os.stat(d).st_mode & 0o777, 0o700, 'Maildir mode 700: ' + a)
t.ok(not os.path.exists(os.path.join(inst.maildir('demo@example.test'), 'maildirsize')), 'no maildirsize without quota')
t.eq(read(inst, 'mail/other.test/big/maildirsize').splitlines()[0], '1000000S', 'maildirsize quota line')

# -- users.cdb -----------------------------------------------------------------
db = cdb_dump(os.path.join(inst.root, 'etc/users.cdb'))
t.ok(db.get(b'Dexample.test') == [b''] and db.get(b'Dother.test') == [b''], 'domains in the cdb')
u = db.get(b'Udemo@example.test', [b''])[0].split(b'\0')
t.eq((len(u), u[1], u[2]), (3, b'mail/example.test/demo', b'0'), 'user record')
t.ok(verify(u[0].decode(), 'demo'), 'hash in the cdb')
t.eq(db.get(b'Ubig@other.test', [b''])[0].split(b'\0')[1:], [b'mail/other.test/big', b'1000000'], 'quota in the cdb')
t.eq(db.get(b'Ateam@example.test'), [b'demo@example.test\0big@other.test\0someone@far.away\0'], 'alias record')
t.eq(db.get(b'Apostmaster@example.test'), [b'demo@example.test\0'], 'bare target gets the domain')
t.eq(db.get(b'A@other.test'), [b'demo@example.test\0'], 'catch-all alias')
t.ok(not os.path.exists(os.path.join(inst.root, 'etc/users.cdb.tmp')), 'no tmp file left')

# -- refusals ------------------------------------------------------------------
before = read(inst, 'etc/users')
r = inst.run(['user-add', 'demo@example.test'], input='x\n', check=False)
t.eq(r.returncode, 100, 'duplicate user: exit 100')
t.ok(b'already exists' in r.stderr and b'etc/users:1' in r.stderr, 'duplicate user: message', r.stderr)
r = inst.run(['user-add', 'DEMO@Example.Test'], input='x\n', check=False)
t.eq(r.returncode, 100, 'duplicate user in another case: exit 100')
r = inst.run(['user-add', 'team@example.test'], input='x\n', check=False)
t.ok(r.returncode == 100 and b'etc/aliases:2' in r.stderr, 'user named like an alias refused', r.stderr)
t.eq(read(inst, 'etc/users'), before, 'etc/users unchanged by refusals')
for args, what in ((['user-add'], 'no address'), (['user-add', 'a@b', 'c@d'], 'two addresses'),
                   (['user-add', 'nodomain'], 'no domain'), (['user-add', 'a b@x.test'], 'space'),
                   (['user-add', 'x@[192.0.2.1]'], 'address literal'),
                   (['user-add', '-q', '12k', 'x@example.test'], 'bad quota'),
                   (['user-add', '-z', 'x@example.test'], 'bad option'),
                   (['user-add', 'a/b@example.test'], 'local part unfit for a path'),
                   (['user-add', '-m', '../x', 'x@example.test'], 'mailbox with ..'),
                   (['alias-add', 'a@example.test'], 'alias without target'),
                   (['alias-add', 'bad alias@example.test', 'demo'], 'bad alias'),
                   (['alias-add', 'a@example.test', 'x y'], 'bad target'),
                   (['alias-add', 'team@example.test', 'demo'], 'duplicate alias'),
                   (['alias-add', 'demo@example.test', 'x@y.test'], 'alias named like a user'),
                   (['config-make', 'x'], 'config-make with an argument')):
    r = inst.run(args, input='pw\n', check=False)
    t.ok(r.returncode == 100 and r.stderr, '%s: exit 100 with a message' % what, r)
t.eq(read(inst, 'etc/users'), before, 'etc/users still unchanged')

# -- more users ----------------------------------------------------------------
r = inst.run(['user-add', '-m', 'mail/example.test/slashed', 'a/b@example.test'], input='pw\r\n')
t.ok(users_lines(inst)[-1].startswith('a/b@example.test:'), '-m for a local part unfit for a path')
t.ok(verify(users_lines(inst)[-1].split(':')[1], 'pw'), 'CRLF stripped from the password')
t.ok(os.path.isdir(os.path.join(inst.root, 'mail/example.test/slashed/new')), '-m Maildir made')
absdir = os.path.join(inst.root, 'elsewhere', 'deep', 'box')
r = inst.run(['user-add', '-m', absdir, 'abs@example.test'], input='pw\n')
t.ok(os.path.isdir(os.path.join(absdir, 'cur')), 'absolute -m Maildir made, parents too')
r = inst.run(['user-add', 'nopw@example.test'], input='')
t.ok(b'logins disabled' in r.stderr, 'empty password: warning', r.stderr)
t.eq(users_lines(inst)[-1], 'nopw@example.test::mail/example.test/nopw:0', 'empty password: empty hash')
r = inst.run(['user-add', 'x@new.test'], input='pw\n')
t.eq(read(inst, 'etc/domains').splitlines()[-1], 'new.test', 'new domain added')
r = inst.run(['alias-add', 'list@third.test', 'x@new.test', 'b@far.away'])
t.eq(read(inst, 'etc/domains').splitlines()[-1], 'third.test', 'alias-add adds its domain')
db = cdb_dump(os.path.join(inst.root, 'etc/users.cdb'))
t.ok(b'Ux@new.test' in db and b'Alist@third.test' in db and b'Dthird.test' in db, 'cdb recompiled by each command')
t.ok(b'info: ' in r.stderr, 'info line', r.stderr)

# -- concurrent user-add: the lock serialises them -------------------------------
procs = [subprocess.Popen(['user-add', 'c%d@example.test' % i], env=inst.env, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(8)]
for p in procs:
    p.communicate(b'pw\n')
t.ok(all(p.returncode == 0 for p in procs), 'eight user-add at once succeed')
got = sorted(ln.split(':')[0] for ln in users_lines(inst) if ln.startswith('c'))
t.eq(got, sorted('c%d@example.test' % i for i in range(8)), 'all eight lines present')
db = cdb_dump(os.path.join(inst.root, 'etc/users.cdb'))
t.eq(sorted(k for k in db if k.startswith(b'Uc')), sorted(b'Uc%d@example.test' % i for i in range(8)), 'all eight in the cdb')

# -- config-make ---------------------------------------------------------------
good = read(inst, 'etc/users')
cdb_before = open(os.path.join(inst.root, 'etc/users.cdb'), 'rb').read()
write(inst, 'etc/users', good + 'broken line\n')
r = inst.run(['config-make'], check=False)
n = len(good.splitlines()) + 1
t.eq(r.returncode, 100, 'syntax error: exit 100')
t.ok(('etc/users:%d:' % n).encode() in r.stderr, 'syntax error names FILE:LINE', r.stderr)
t.eq(open(os.path.join(inst.root, 'etc/users.cdb'), 'rb').read(), cdb_before, 'cdb kept')
r = inst.run(['user-add', 'after@example.test'], input='pw\n', check=False)
t.ok(r.returncode == 100 and b'left unchanged' in r.stderr, 'user-add over a broken file: exit 100', r.stderr)
t.eq(read(inst, 'etc/users'), good + 'broken line\n', 'user-add put the file back')
write(inst, 'etc/users', good + 'hand@example.test::mail/example.test/hand\n')
write(inst, 'etc/aliases', read(inst, 'etc/aliases') + '# comment\n\nhand2@example.test: hand\n')
r = inst.run(['config-make'], check=False)
t.ok(r.returncode == 0, 'config-make after hand edits', r.stderr)
db = cdb_dump(os.path.join(inst.root, 'etc/users.cdb'))
t.eq(db.get(b'Uhand@example.test'), [b'\0mail/example.test/hand\x000'], 'hand-written user, no quota field')
t.eq(db.get(b'Ahand2@example.test'), [b'hand@example.test\0'], 'hand-written alias')
write(inst, 'etc/aliases', 'x@example.test: a\nx@example.test: b\n')
r = inst.run(['config-make'], check=False)
t.ok(r.returncode == 100 and b'etc/aliases:2: already defined at' in r.stderr, 'duplicate alias', r.stderr)
write(inst, 'etc/domains', 'example.test\n')
write(inst, 'etc/aliases', '')
r = inst.run(['config-make'], check=False)
t.ok(r.returncode == 100 and b'domain not in etc/domains: other.test' in r.stderr, 'user of a non-local domain', r.stderr)

# -- an instance from nothing --------------------------------------------------
inst2 = Instance(domains=(), users={})
os.remove(os.path.join(inst2.root, 'etc/domains'))
r = inst2.run(['config-make'])
t.eq(cdb_dump(os.path.join(inst2.root, 'etc/users.cdb')), {}, 'no sources: empty cdb')
r = inst2.run(['user-add', 'first@fresh.test'], input='pw\n')
t.eq(read(inst2, 'etc/domains'), 'fresh.test\n', 'etc/domains created')

# -- quota 0 lifts a limit an earlier maildirsize holds ------------------------
# (Dovecot, with a limit of 0 from its userdb, does the same: the limits
# line becomes 0S and the usage is kept.)
inst3 = Instance(users={'full@example.test': 'pw', 'kept@example.test': 'pw'},
                 quotas={'full@example.test': 1000, 'kept@example.test': 1000})
ms3 = os.path.join(inst3.maildir('full@example.test'), 'maildirsize')
t.eq(read(inst3, 'mail/example.test/full/maildirsize').splitlines()[0], '1000S', 'quota 1000: maildirsize says so')
write(inst3, 'etc/users', '\n'.join(
    ':'.join(f[:3] + ['0' if f[0] == 'full@example.test' else f[3]])
    for f in (ln.split(':') for ln in users_lines(inst3))) + '\n')
inst3.run(['config-make'])
# a Maildir kept from an earlier user, its maildirsize with it
os.makedirs(os.path.join(inst3.maildir('again@example.test'), 'new'))
write(inst3, 'mail/example.test/again/maildirsize', '1000S\n0 0\n')
inst3.run(['user-add', '-q', '0', 'again@example.test'], input='pw\n')
t.eq(read(inst3, 'mail/example.test/again/maildirsize').splitlines()[0], '0S',
     'user-add -q 0 over an old maildirsize: 0S')
inst3.start_queue()
big = b'From: a@example.org\nSubject: big\n\n' + b'x' * 4000 + b'\n'
for rcpt in ('full@example.test', 'kept@example.test'):
    t.eq(inst3.inject('a@example.org', [rcpt], big), 0, 'queued a 4000-byte message for ' + rcpt)
t.ok(wait_for(lambda: inst3.queue_ids() == [], 60), 'queue empty: both delivered or bounced')
t.eq(len(inst3.mails('full@example.test')), 1, 'quota 0 in etc/users: delivered despite the 1000S maildirsize')
with open(ms3) as f:
    lines = f.read().splitlines()
t.ok(lines[0] == '0S' and len(lines) == 3 and lines[2].endswith(' 1'),
     'maildirsize rewritten as 0S (no limit), usage still counted', lines)
t.eq(inst3.mails('kept@example.test'), [], 'quota 1000 still enforced for another user')
inst3.stop()
