#!/usr/bin/env python3
# SEARCHRES (RFC 5182) in imap-mailbox: SEARCH RETURN (SAVE ...) keeps
# its result as "$", which FETCH, STORE, COPY, MOVE, UID EXPUNGE and
# SEARCH (as a key, and as "UID $") then take, UID form or not; expunged
# messages drop out of it; before any SAVE it is empty; a failed SEARCH
# SAVE empties it, so do SELECT and UNSELECT; SAVE with MIN/MAX keeps
# those only. A session that ENABLEd IMAP4rev2 gets ESEARCH for every
# SEARCH (RFC 9051 6.4.4), a rev1 session "* SEARCH". STATUS DELETED
# (RFC 9051 6.3.11), also in LIST-STATUS; UID FETCH $ (CHANGEDSINCE m
# VANISHED) reports the saved UIDs expunged. Raw protocol (t/lib/pmimapraw).
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, Instance  # noqa: E402
from pmimapraw import Raw, uidset  # noqa: E402

t = TAP()
inst = Instance(users={'demo@example.test': 'demo'})
MD = inst.maildir('demo@example.test')

APPLES = (2, 4, 6)
for i in range(1, 9):
    subj = 'apple %d' % i if i in APPLES else 'pear %d' % i
    msg = ('From: a@example.org\nTo: demo@example.test\nSubject: %s\n'
           'Date: Tue, 3 Mar 2026 10:00:00 +0100\n\nbody %d\n' % (subj, i))
    inst.run(['maildir-deliver', MD], input=msg.encode(),
             env={'SENDER': 'a@example.org', 'RECIPIENT': 'demo@example.test'})

server, port = inst.start_imap_mailbox(MD, t)


def fetched(lines):
    """{seq: uid} of the untagged FETCH lines."""
    out = {}
    for ln in lines:
        m = re.match(rb'\* (\d+) FETCH \(.*UID (\d+)', ln)
        if m:
            out[int(m.group(1))] = int(m.group(2))
    return out


def searched(lines):
    """The numbers of the one "* SEARCH" line, or None if none."""
    got = [ln for ln in lines if ln == b'* SEARCH' or ln.startswith(b'* SEARCH ')]
    if len(got) != 1:
        return None
    return [int(x) for x in got[0].split()[2:]]


def status(lines, name):
    for ln in lines:
        m = re.search(rb'\* STATUS "?' + re.escape(name.encode()) + rb'"? \((.*)\)$', ln)
        if m:
            v = m.group(1).split()
            return {v[k].decode(): int(v[k + 1]) for k in range(0, len(v), 2)}
    return None


a = Raw(port)
u, r = a.cmd('CAPABILITY')
t.ok(b' SEARCHRES' in u[0] and b' ESEARCH' in u[0], 'SEARCHRES advertised (with ESEARCH)', u)
u, r = a.cmd('SELECT INBOX')
u, r = a.cmd('FETCH 1:* (UID)')
UID = fetched(u)
t.eq(sorted(UID), list(range(1, 9)), 'eight messages')

# ---- "$" before any SAVE is the empty set, not an error (RFC 5182 2.1)
u, r = a.cmd('FETCH $ (UID)')
t.ok(r.startswith(b'OK') and not fetched(u), 'FETCH $ before any SAVE: OK, nothing', (u, r))
u, r = a.cmd('SEARCH $')
t.ok(r.startswith(b'OK') and searched(u) == [], 'SEARCH $ before any SAVE: empty', (u, r))
u, r = a.cmd('UID SEARCH UID $')
t.ok(r.startswith(b'OK') and searched(u) == [], 'UID SEARCH UID $ before any SAVE: empty', (u, r))

# ---- SAVE alone: no ESEARCH (RFC 5182 2.1); "$" in every set ------------
u, r = a.cmd('UID SEARCH RETURN (SAVE) SUBJECT apple')
t.ok(r.startswith(b'OK') and u == [], 'UID SEARCH RETURN (SAVE): OK and no untagged response', (u, r))
u, r = a.cmd('FETCH $ (UID)')
t.eq(fetched(u), {s: UID[s] for s in APPLES}, 'FETCH $ is the saved messages (saved by UID SEARCH)')
u, r = a.cmd('UID FETCH $ (UID)')
t.eq(fetched(u), {s: UID[s] for s in APPLES}, 'UID FETCH $: the same messages')
u, r = a.cmd('SEARCH $ NOT 2')
t.eq(searched(u), [4, 6], 'SEARCH $ NOT 2: $ as a search key, ANDed')
u, r = a.cmd('SEARCH OR $ 1')
t.eq(searched(u), [1, 2, 4, 6], 'SEARCH OR $ 1')
u, r = a.cmd('SEARCH UID $')
t.eq(searched(u), list(APPLES), 'SEARCH UID $: the same messages')
u, r = a.cmd('UID SEARCH $')
t.eq(searched(u), [UID[s] for s in APPLES], 'UID SEARCH $: their UIDs')

u, r = a.cmd('STORE $ +FLAGS.SILENT (\\Flagged)')
t.ok(r.startswith(b'OK'), 'STORE $', r)
u, r = a.cmd('SEARCH FLAGGED')
t.eq(searched(u), list(APPLES), 'STORE $ flagged the saved messages only')
a.cmd('CREATE Archive')
u, r = a.cmd('COPY $ Archive')
t.ok(r.startswith(b'OK [COPYUID '), 'COPY $ Archive', r)
u, r = a.cmd('STATUS Archive (MESSAGES)')
t.eq(status(u, 'Archive'), {'MESSAGES': 3}, 'COPY $ copied the three')

# pipelined: the FETCH that uses "$" is sent with the SEARCH that saves it
a.s.sendall(b'p1 SEARCH RETURN (SAVE) SUBJECT pear\r\np2 FETCH $ (UID)\r\n')
lines = []
while True:
    ln = a.line()
    if ln.startswith(b'p2 '):
        break
    lines.append(ln)
t.eq(sorted(fetched(lines)), [1, 3, 5, 7, 8], 'pipelined SEARCH SAVE then FETCH $: the new result')

# ---- SAVE with MIN/MAX keeps those only; with ALL or COUNT all --------
u, r = a.cmd('SEARCH RETURN (SAVE MIN) SUBJECT apple')
t.eq(u, [b'* ESEARCH (TAG "r%d") MIN 2' % a.n], 'RETURN (SAVE MIN): the ESEARCH of MIN')
u, r = a.cmd('FETCH $ (UID)')
t.eq(sorted(fetched(u)), [2], 'SAVE MIN saved the lowest only')
u, r = a.cmd('SEARCH RETURN (MAX SAVE MIN) SUBJECT apple')
u, r = a.cmd('FETCH $ (UID)')
t.eq(sorted(fetched(u)), [2, 6], 'SAVE MIN MAX saved the lowest and the highest')
u, r = a.cmd('SEARCH RETURN (SAVE COUNT MIN) SUBJECT apple')
t.eq(u, [b'* ESEARCH (TAG "r%d") MIN 2 COUNT 3' % a.n], 'RETURN (SAVE COUNT MIN): ESEARCH')
u, r = a.cmd('FETCH $ (UID)')
t.eq(sorted(fetched(u)), list(APPLES), 'SAVE with COUNT saved them all')

# ---- STATUS DELETED; expunged messages drop out of "$" -----------------
u, r = a.cmd('STORE 2,4 +FLAGS.SILENT (\\Deleted)')
u, r = a.cmd('STATUS INBOX (MESSAGES DELETED)')
t.eq(status(u, 'INBOX'), {'MESSAGES': 8, 'DELETED': 2}, 'STATUS DELETED counts the \\Deleted')
a.cmd('COPY 4 Archive')
u, r = a.cmd('LIST "" "*" RETURN (STATUS (DELETED MESSAGES))')
t.ok(r.startswith(b'OK') and status(u, 'Archive') == {'DELETED': 1, 'MESSAGES': 4}
     and status(u, 'INBOX') == {'DELETED': 2, 'MESSAGES': 8}, 'LIST-STATUS DELETED', u)
u, r = a.cmd('EXPUNGE')
t.ok(u in ([b'* 4 EXPUNGE', b'* 2 EXPUNGE'], [b'* 2 EXPUNGE', b'* 3 EXPUNGE']), 'EXPUNGE of 2 and 4', u)
u, r = a.cmd('FETCH $ (UID)')
t.eq(fetched(u), {4: UID[6]}, 'the expunged dropped out of $ (the third is now message 4)')
u, r = a.cmd('SEARCH $')
t.eq(searched(u), [4], 'SEARCH $ after the expunge')
u, r = a.cmd('STATUS INBOX (DELETED)')
t.eq(status(u, 'INBOX'), {'DELETED': 0}, 'STATUS DELETED 0 after EXPUNGE')

# now: seq 1..6 = old 1, 3, 5, 6, 7, 8
u, r = a.cmd('UID SEARCH RETURN (SAVE) UID %d' % UID[8])
a.cmd('STORE $ +FLAGS.SILENT (\\Deleted)')
u, r = a.cmd('UID EXPUNGE $')
t.ok(r.startswith(b'OK') and u == [b'* 6 EXPUNGE'], 'UID EXPUNGE $', (u, r))
u, r = a.cmd('SEARCH RETURN (SAVE) UID %d' % UID[7])
u, r = a.cmd('MOVE $ Archive')
t.ok(r.startswith(b'OK') and b'* 5 EXPUNGE' in u, 'MOVE $ Archive', (u, r))
u, r = a.cmd('STATUS Archive (MESSAGES)')
t.eq(status(u, 'Archive'), {'MESSAGES': 5}, 'MOVE $ moved it')

# ---- a failed SEARCH SAVE empties "$"; a failed SEARCH without SAVE not
a.cmd('SEARCH RETURN (SAVE) ALL')
u, r = a.cmd('FETCH $ (UID)')
t.eq(sorted(fetched(u)), [1, 2, 3, 4], 'SAVE ALL: four left')
u, r = a.cmd('SEARCH RETURN (SAVE) CHARSET KOI8-R SUBJECT x')
t.ok(r.startswith(b'NO [BADCHARSET'), 'SEARCH SAVE with an unknown charset: NO', r)
u, r = a.cmd('FETCH $ (UID)')
t.ok(r.startswith(b'OK') and not fetched(u), 'a SEARCH SAVE that failed (NO) emptied $', u)
a.cmd('SEARCH RETURN (SAVE) ALL')
u, r = a.cmd('SEARCH RETURN (SAVE) NOSUCHKEY')
t.ok(r.startswith(b'BAD'), 'SEARCH SAVE with a bad key: BAD', r)
u, r = a.cmd('FETCH $ (UID)')
t.ok(r.startswith(b'OK') and not fetched(u), 'a SEARCH SAVE that failed (BAD) emptied $', u)
a.cmd('SEARCH RETURN (SAVE) ALL')
u, r = a.cmd('SEARCH NOSUCHKEY')
u, r = a.cmd('FETCH $ (UID)')
t.eq(sorted(fetched(u)), [1, 2, 3, 4], 'a failed SEARCH without SAVE left $ alone')
for bad in ('FETCH 1,$ (UID)', 'FETCH $:4 (UID)', 'SEARCH UID 1,$', 'SEARCH RETURN (SAVE FOO) ALL'):
    u, r = a.cmd(bad)
    t.ok(r.startswith(b'BAD'), bad + ': BAD', r)

# ---- (UN)SELECT empty "$" ------------------------------------------------
a.cmd('SEARCH RETURN (SAVE) ALL')
a.cmd('UNSELECT')
a.cmd('SELECT INBOX')
u, r = a.cmd('FETCH $ (UID)')
t.ok(r.startswith(b'OK') and not fetched(u), 'UNSELECT emptied $', u)
a.cmd('SEARCH RETURN (SAVE) ALL')
a.cmd('EXAMINE INBOX')
u, r = a.cmd('FETCH $ (UID)')
t.ok(r.startswith(b'OK') and not fetched(u), 'EXAMINE (a new SELECT) emptied $', u)

# ---- rev1 answers "* SEARCH", never ESEARCH without RETURN ---------------
u, r = a.cmd('SEARCH ALL')
t.ok(searched(u) == [1, 2, 3, 4] and not any(ln.startswith(b'* ESEARCH') for ln in u), 'rev1: SEARCH answers * SEARCH', u)
u, r = a.cmd('UID SEARCH SUBJECT nothing-like-this')
t.eq(u, [b'* SEARCH'], 'rev1: an empty * SEARCH')
a.close()

# ---- IMAP4rev2: ESEARCH only (RFC 9051 6.4.4, 7.3.4) ---------------------
b = Raw(port)
u, r = b.cmd('ENABLE IMAP4rev2')
t.ok(r.startswith(b'OK') and any(ln.startswith(b'* ENABLED') and b'IMAP4rev2' in ln for ln in u), 'ENABLE IMAP4rev2', u)
b.cmd('SELECT INBOX')
u, r = b.cmd('SEARCH SUBJECT apple')
t.eq(u, [b'* ESEARCH (TAG "r%d") ALL 4' % b.n], 'rev2: SEARCH answers ESEARCH ALL')
u, r = b.cmd('UID SEARCH ALL')
got = [ln for ln in u if ln.startswith(b'* ESEARCH (TAG "r%d") UID ALL ' % b.n)]
t.ok(len(u) == 1 and len(got) == 1 and uidset(got[0].split()[-1]) == {UID[1], UID[3], UID[5], UID[6]},
     'rev2: UID SEARCH answers ESEARCH UID ALL', u)
u, r = b.cmd('SEARCH SUBJECT nothing-like-this')
t.eq(u, [b'* ESEARCH (TAG "r%d")' % b.n], 'rev2: no match, an ESEARCH without ALL')
u, r = b.cmd('SEARCH RETURN (COUNT) ALL')
t.eq(u, [b'* ESEARCH (TAG "r%d") COUNT 4' % b.n], 'rev2: RETURN (COUNT) as asked')
u, r = b.cmd('SEARCH RETURN (SAVE) SUBJECT apple')
t.ok(r.startswith(b'OK') and u == [], 'rev2: RETURN (SAVE) alone answers nothing', u)
u, r = b.cmd('FETCH $ (UID)')
t.eq(fetched(u), {4: UID[6]}, 'rev2: FETCH $')
u, r = b.cmd('SORT (SUBJECT) UTF-8 OR $ 1')
t.eq(u, [b'* SORT 4 1'], 'SORT takes $ as a search key')
u, r = b.cmd('SORT (SUBJECT) UTF-8 ALL')
t.ok(any(ln.startswith(b'* SORT ') for ln in u) and not any(ln.startswith(b'* ESEARCH') for ln in u),
     'rev2: SORT keeps its * SORT', u)
b.close()

# ---- UID FETCH $ (CHANGEDSINCE m VANISHED): "$" as the known UIDs -------
c = Raw(port)
c.cmd('ENABLE QRESYNC')
c.cmd('SELECT INBOX')
c.cmd('UID SEARCH RETURN (SAVE) ALL')
c.cmd('UID STORE %d +FLAGS.SILENT (\\Deleted)' % UID[1])
u, r = c.cmd('UID EXPUNGE %d' % UID[1])
t.eq(u, [b'* VANISHED %d' % UID[1]], 'QRESYNC: UID EXPUNGE answers VANISHED')
u, r = c.cmd('UID FETCH $ (FLAGS) (CHANGEDSINCE 1 VANISHED)')
t.ok(r.startswith(b'OK') and b'* VANISHED (EARLIER) %d' % UID[1] in u
     and sorted(fetched(u).values()) == [UID[3], UID[5], UID[6]], 'UID FETCH $ (CHANGEDSINCE 1 VANISHED)', u)
c.close()

inst.kill(server)
