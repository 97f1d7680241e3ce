"""python3-dkim (Debian's dkimpy) as an independent DKIM signer and
verifier for t/88, run with Debian's /usr/bin/python3 (the package's):

    dkimpy.py verify RECORD < message     prints pass or fail
    dkimpy.py sign KEYFILE HCANON/BCANON SELECTOR DOMAIN [l] < message

The key record is handed to dkim.verify through its dnsfunc, so no DNS is
needed. Lines are made CRLF first, as on the wire.
"""
import sys

import dkim


def crlf(b):
    return b.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')


def main():
    msg = crlf(sys.stdin.buffer.read())
    if sys.argv[1] == 'verify':
        rec = sys.argv[2].encode()
        ok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: rec)
        print('pass' if ok else 'fail')
    else:
        key = open(sys.argv[2], 'rb').read()
        h, b = sys.argv[3].encode().split(b'/')
        sig = dkim.sign(msg, sys.argv[4].encode(), sys.argv[5].encode(), key,
                        canonicalize=(h, b), length=len(sys.argv) > 6,
                        include_headers=[b'from', b'to', b'subject', b'date'])
        sys.stdout.buffer.write(sig + msg)


main()
