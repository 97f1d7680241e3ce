#!/usr/bin/env python3
"""The man pages cmd/*.8: one per program, plain text (no control bytes
but newline and tab: a "\\f" written through a shell or a Python string
becomes a form feed), and groff renders each without a warning."""
import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP, TOP  # noqa: E402

t = TAP()
CMD = os.path.join(TOP, 'cmd')
pages = sorted(glob.glob(os.path.join(CMD, '*.8')))
progs = sorted(os.path.splitext(os.path.basename(p))[0]
               for p in glob.glob(os.path.join(CMD, '*.c')) + glob.glob(os.path.join(CMD, '*.sh')))
t.eq(sorted(os.path.basename(p)[:-2] for p in pages), progs, 'a man page for each program in cmd/')

BAD = re.compile(rb'[\x00-\x08\x0b-\x1f\x7f]')
for p in pages:
    name = os.path.basename(p)
    with open(p, 'rb') as f:
        b = f.read()
    bad = [(b.count(b'\n', 0, m.start()) + 1, m.group()) for m in BAD.finditer(b)]
    t.ok(not bad, '%s: no control bytes' % name, 'line, byte: %r' % bad[:5])
    t.ok(b.startswith(b'.TH ' + name[:-2].upper().encode() + b' 8 '), '%s: .TH NAME 8' % name)

groff = shutil.which('groff')
for p in pages:
    name = os.path.basename(p)
    if not groff:
        t.skip('%s renders without warnings' % name, 'groff not installed')
        continue
    r = subprocess.run([groff, '-man', '-Tutf8', '-ww', '-z', p], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=dict(os.environ, LC_ALL='C.UTF-8'))
    err = r.stderr.decode(errors='replace')
    t.ok(r.returncode == 0 and not err, '%s renders without warnings (groff -ww)' % name, err)
