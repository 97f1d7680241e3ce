#!/usr/bin/env python3
"""Real IMAP clients against the imaps service (instance-setup -A -c, s6,
auth-check, imap-serve, imap-mailbox): mbsync syncs the mailbox with its
folders both ways (new mail, flags, deletion, a new folder) and a second
run changes nothing; neomutt in batch mode (under script(1), a pty) reads
a message and moves it to another folder; getmail6's IMAP retriever
fetches into a Maildir, and a second run fetches nothing new."""
import imaplib
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP  # noqa: E402
from pmimapsvc import ImapService, DEMO, PW  # noqa: E402

t = TAP()
svc = ImapService(t)
inst, MD = svc.inst, svc.md
for i in (1, 2, 3, 9):
    svc.deliver(b'Subject: m%d\nMessage-ID: <m%d@example.test>\n\nbody %d\n' % (i, i, i))


def run(args, **kw):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, **kw)
    return r.returncode, r.stdout.decode(errors='replace')


def server(box='INBOX'):
    """{Message-ID: flags} of a folder as a fresh IMAP session sees it."""
    c = svc.login(None)
    typ, _ = c.select(box, readonly=True)
    out = {}
    if typ == 'OK':
        typ, data = c.fetch('1:*', '(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
        for d in data:
            if isinstance(d, tuple):
                mid = re.search(rb'<([^>]*)>', d[1]).group(1).decode()
                out[mid] = sorted(f.decode() for f in re.search(rb'FLAGS \(([^)]*)\)', d[0]).group(1).split()
                                  if f != b'\\Recent')
    c.logout()
    return out


def files(path):
    """{Message-ID: file} of a local Maildir."""
    out = {}
    for sub in ('new', 'cur'):
        for n in os.listdir(os.path.join(path, sub)):
            with open(os.path.join(path, sub, n), 'rb') as f:
                out[re.search(rb'(?im)^message-id:\s*<([^>]*)>', f.read()).group(1).decode()] = os.path.join(path, sub, n)
    return out


def local(path):
    """{Message-ID: maildir flags} of a local Maildir."""
    return {m: n.split(':2,')[1] if ':2,' in n else '' for m, n in files(path).items()}


# -- mbsync (isync) ---------------------------------------------------------
if shutil.which('mbsync'):
    home = os.path.join(inst.root, 'mbsync')
    loc = os.path.join(home, 'mail')
    os.makedirs(loc)
    rc = os.path.join(home, 'mbsyncrc')
    with open(rc, 'w') as f:
        f.write('IMAPAccount pm\nHost localhost\nPort %d\nUser %s\nPass %s\nSSLType IMAPS\nCertificateFile %s\n\n'
                'IMAPStore far\nAccount pm\n\nMaildirStore near\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n'
                'Channel pm\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nRemove None\nExpunge Both\n'
                'SyncState *\nCopyArrivalDate yes\n' % (svc.imaps, DEMO, PW, svc.cafile, loc, loc))

    def mbsync():   # -Dn: with the IMAP dialogue
        return run(['mbsync', '-c', rc, '-a', '-Dn'], env=dict(os.environ, HOME=home))

    def changes(out):
        return re.findall(r'>>> \d+ (?:UID )?(APPEND|STORE|EXPUNGE|CREATE|DELETE|MOVE|COPY)\b', out)

    code, out = mbsync()
    t.ok(code == 0, 'mbsync: first run exit 0', out)
    t.eq(local(os.path.join(loc, 'INBOX')), {'m1@example.test': '', 'm2@example.test': '', 'm3@example.test': '',
                                          'm9@example.test': ''}, '... the four messages in the local INBOX')
    t.ok(all(os.path.isdir(os.path.join(loc, b, 'cur')) for b in ('Sent', 'Drafts', 'Trash', 'Junk', 'Archive')),
         '... and the special-use folders made locally', os.listdir(loc))
    # changes on both sides: near: a new message, a flag, a deletion, a new folder
    inbox = os.path.join(loc, 'INBOX')
    names = files(inbox)
    p = names['m1@example.test']
    base = os.path.basename(p).split(':2,')[0]
    os.rename(p, os.path.join(inbox, 'cur', base + ':2,F'))
    os.unlink(names['m2@example.test'])
    with open(os.path.join(inbox, 'new', 'local1.h18'), 'wb') as f:
        f.write(b'Subject: from the laptop\nMessage-ID: <l1@example.test>\n\nlocal\n')
    os.utime(os.path.join(inbox, 'new', 'local1.h18'), (1577934245, 1577934245))   # CopyArrivalDate: 2020-01-02 03:04:05Z
    proj = os.path.join(loc, 'Projects')
    for s in ('cur', 'new', 'tmp'):
        os.makedirs(os.path.join(proj, s))
    with open(os.path.join(proj, 'cur', 'local2.h18:2,S'), 'wb') as f:
        f.write(b'Subject: plan\nMessage-ID: <l2@example.test>\n\nplan\n')
    sub = os.path.join(proj, '2026')   # a child folder (Verbatim: a directory inside)
    for s in ('cur', 'new', 'tmp'):
        os.makedirs(os.path.join(sub, s))
    with open(os.path.join(sub, 'new', 'local3.h18'), 'wb') as f:
        f.write(b'Subject: sub\nMessage-ID: <l3@example.test>\n\nsub\n')
    # far: new mail, a flag set and a deletion by another client, a new folder
    svc.deliver(b'Subject: m4\nMessage-ID: <m4@example.test>\n\nbody 4\n')
    c = svc.login()
    c.uid('STORE', '3', '+FLAGS', '(\\Seen \\Answered)')
    c.uid('STORE', '4', '+FLAGS', '(\\Deleted)')
    c.expunge()
    c.create('Lists')
    c.append('Lists', '(\\Flagged)', None, b'Subject: list\r\nMessage-ID: <s1@example.test>\r\n\r\nlist\r\n')
    c.logout()
    code, out = mbsync()
    t.ok(code == 0 and {'APPEND', 'STORE', 'CREATE'} <= set(changes(out)),
         'mbsync: second run exit 0 (APPEND, STORE, CREATE sent)', out[-3000:])
    t.eq(server(), {'m1@example.test': ['\\Flagged'], 'm3@example.test': ['\\Answered', '\\Seen'],
                    'm4@example.test': [], 'l1@example.test': []},
         '... server INBOX: local flag, deletion and new message synced')
    t.eq(server('Projects'), {'l2@example.test': ['\\Seen']}, '... server: the new local folder made, with its message')
    c = svc.login()
    dates = {}
    for d in c.fetch('1:*', '(INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')[1]:
        if isinstance(d, tuple):
            dates[re.search(rb'<([^>]*)>', d[1]).group(1).decode()] = time.mktime(imaplib.Internaldate2tuple(d[0]))
    c.logout()
    mtimes = {}
    for s in ('new', 'cur'):
        for n in os.listdir(os.path.join(inbox, s)):
            mtimes[n] = os.stat(os.path.join(inbox, s, n)).st_mtime
    t.ok(dates.get('l1@example.test') == 1577934245, '... APPEND with the arrival date (INTERNALDATE)', dates)
    t.eq(sorted(mtimes.values()), sorted(dates.values()), '... local files dated by INTERNALDATE')
    t.eq(server('Projects.2026'), {'l3@example.test': []}, '... and its child folder Projects.2026')
    t.eq(local(inbox), {'m1@example.test': 'F', 'm3@example.test': 'RS', 'm4@example.test': '', 'l1@example.test': ''},
         '... local INBOX: new mail, flags and the deletion from the server')
    t.eq(local(os.path.join(loc, 'Lists')), {'s1@example.test': 'F'}, '... local: the new server folder, with its message')
    snap = (server(), server('Projects'), local(inbox), sorted(os.listdir(os.path.join(MD, 'cur'))))
    code, out = mbsync()
    t.ok(code == 0 and (server(), server('Projects'), local(inbox), sorted(os.listdir(os.path.join(MD, 'cur')))) == snap,
         'mbsync: a third run changes nothing on either side', out[-3000:])
    cmds = changes(out)
    t.ok(code == 0 and 'AUTHENTICATE' in out and not cmds,
         '... and sends no APPEND, STORE, EXPUNGE, CREATE, MOVE', cmds)
    # another machine, over the imap service (143-style, STARTTLS)
    loc2 = os.path.join(home, 'mail2')
    os.makedirs(loc2)
    with open(rc) as f:
        conf = f.read()
    with open(rc, 'w') as f:
        f.write(conf.replace('Port %d' % svc.imaps, 'Port %d' % svc.imap).replace('SSLType IMAPS', 'SSLType STARTTLS')
                .replace(loc + '/', loc2 + '/'))
    code, out = mbsync()
    t.ok(code == 0 and 'STARTTLS' in out, 'mbsync over STARTTLS (the imap service): exit 0', out[-3000:])
    t.ok(all(local(os.path.join(loc2, b)) == local(os.path.join(loc, b)) for b in ('INBOX', 'Projects', 'Lists')),
         '... the same messages and flags as the first machine')
else:
    t.skip('mbsync', 'mbsync not installed (Debian package isync)')

# -- neomutt ----------------------------------------------------------------
if shutil.which('neomutt') and shutil.which('script'):
    home = os.path.join(inst.root, 'neomutt')
    os.makedirs(home)
    rc = os.path.join(home, 'muttrc')
    with open(rc, 'w') as f:
        f.write('set imap_user="%s"\nset imap_pass="%s"\nset folder="imaps://localhost:%d/"\nset spoolfile="+INBOX"\n'
                'set ssl_force_tls=yes\nset ssl_ca_certificates_file="%s"\nset confirmappend=no\n'
                'set delete=yes\nset quit=yes\nset move=no\nset mark_old=no\nset wait_key=no\n'
                'set sleep_time=0\nset header_cache=""\nset message_cachedir=""\n' % (DEMO, PW, svc.imaps, svc.cafile))

    def neomutt(keys, url):
        cmd = 'neomutt -n -F %s -f %s -e %s' % (shlex.quote(rc), url, shlex.quote('push "%s"' % keys))
        return run(['script', '-qec', cmd, '/dev/null'], stdin=subprocess.DEVNULL,
                   env=dict(os.environ, HOME=home, TERM='xterm', LC_ALL='C.UTF-8'))

    before = server()
    code, out = neomutt('<limit>~s m4<enter><display-message><exit><save-message>=Archive<enter><sync-mailbox><quit>',
                        'imaps://localhost:%d/INBOX' % svc.imaps)
    after = server()
    t.ok(code == 0 and 'm4@example.test' in before and 'm4@example.test' not in after
         and set(after) == set(before) - {'m4@example.test'}, 'neomutt: the message gone from INBOX, the rest kept',
         (code, before, after, out[-2000:]))
    t.eq(server('Archive'), {'m4@example.test': ['\\Seen']}, '... moved to Archive, read (\\Seen)')
    # over the imap service, STARTTLS: unflag one, delete another
    code, out = neomutt('<limit>~s m1<enter><flag-message><limit>~s laptop<enter><delete-message><sync-mailbox><quit>',
                        'imap://localhost:%d/INBOX' % svc.imap)
    after2 = server()
    t.ok(code == 0 and after2.get('m1@example.test') == [] and set(after2) == set(after) - {'l1@example.test'},
         'neomutt over STARTTLS: a flag cleared, a message deleted', (code, after2, out[-2000:]))
else:
    t.skip('neomutt', 'neomutt or script not installed (Debian packages neomutt, util-linux)')

# -- getmail6 ---------------------------------------------------------------
if shutil.which('getmail'):
    gdir = os.path.join(inst.root, 'getmail')
    dest = os.path.join(gdir, 'Maildir')
    for sub in ('cur', 'new', 'tmp'):
        os.makedirs(os.path.join(dest, sub))
    user = ''
    if os.getuid() == 0:   # getmail delivers as no root: as nobody then
        nobody = pwd.getpwnam('nobody')
        for d in (dest, os.path.join(dest, 'cur'), os.path.join(dest, 'new'), os.path.join(dest, 'tmp')):
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
        os.chmod(gdir, 0o777)
        os.chmod(inst.root, 0o755)
        user = 'user = nobody\n'
    with open(os.path.join(gdir, 'getmailrc'), 'w') as f:
        f.write('[retriever]\ntype = SimpleIMAPSSLRetriever\nserver = localhost\nport = %d\nusername = %s\n'
                'password = %s\nca_certs = %s\nssl_cert_hostname = localhost\nmailboxes = ("INBOX", "Projects")\n'
                '[destination]\ntype = Maildir\npath = %s/\n%s[options]\nread_all = false\ndelete = false\n'
                % (svc.imaps, DEMO, PW, svc.cafile, dest, user))

    def getmail():
        return run(['getmail', '--getmaildir', gdir, '--rcfile', 'getmailrc'])

    want = set(server()) | set(server('Projects'))
    code, out = getmail()
    t.ok(code == 0 and '%d messages' % len(want) in out, 'getmail6 IMAP over implicit TLS, certificate checked', out)
    t.eq(set(local(dest)), want, '... every message of INBOX and Projects in the Maildir')
    code, out = getmail()
    t.ok(code == 0 and '0 messages' in out and set(local(dest)) == want, 'a second run: nothing new', out)
    svc.deliver(b'Subject: m5\nMessage-ID: <m5@example.test>\n\nbody 5\n')
    code, out = getmail()
    t.ok(code == 0 and '1 messages' in out and set(local(dest)) == want | {'m5@example.test'},
         'a third run after new mail: just that one', out)
else:
    t.skip('getmail6', 'getmail not installed (Debian package getmail6)')

t.eq(svc.trouble(), [], 'no crash or fatal error in the services\' logs')
svc.stop()
