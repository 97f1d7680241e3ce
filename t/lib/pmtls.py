"""TLS helpers for pipemail's tests: keys and certificates made with the
openssl command line in a temporary directory, and client contexts.

    ca = TestCA(dir)                      # a test CA (RSA-2048 or P-256)
    cert, key = ca.issue('mail.test', kind='ec')
    cert, key = self_signed(dir, 'x.test', kind='rsa')
"""
import os
import shutil
import ssl
import subprocess

KINDS = {
    'rsa': ['-newkey', 'rsa:2048'],
    'ec': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
}


def have_openssl():
    return shutil.which('openssl') is not None


def tap_needing(prog):
    """The TAP of a TLS test: skipped whole unless PROG is built and the
    openssl command is there."""
    from pmtest import TAP, BIN
    t = TAP()
    if not os.path.exists(os.path.join(BIN, prog)):
        t.skip_all('no ' + prog)
    if not have_openssl():
        t.skip_all('no openssl command')
    return t


def _run(args, **kw):
    r = subprocess.run(['openssl'] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if r.returncode:
        raise RuntimeError('openssl %s: %s' % (' '.join(args), r.stderr.decode(errors='replace')))
    return r.stdout


def _traditional(key, kind):
    """Rewrite a PKCS#8 key as PKCS#1 (RSA) or SEC1 (EC)."""
    _run([kind, '-in', key, '-out', key, '-traditional'] if kind == 'rsa' else
         ['ec', '-in', key, '-out', key])


def _ext(dir, name, ca):
    p = os.path.join(dir, name.replace('*', '_') + '.ext')
    with open(p, 'w') as f:
        if ca:
            f.write('basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n')
        else:
            f.write('basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
                    'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s\n' % name)
    return p


def self_signed(dir, name, kind='rsa', keyformat='pkcs8'):
    """(certfile, keyfile) for a self-signed certificate for DNS name."""
    base = os.path.join(dir, name.replace('*', '_') + '-' + kind)
    cert, key = base + '.crt', base + '.key'
    _run(['req', '-x509', '-nodes', '-days', '30', '-subj', '/CN=' + name,
          '-addext', 'subjectAltName=DNS:' + name, '-keyout', key, '-out', cert] + KINDS[kind])
    if keyformat == 'traditional':
        _traditional(key, kind)
    return cert, key


class TestCA:
    def __init__(self, dir, kind='rsa', name='pipemail test CA'):
        self.dir = dir
        self.cert = os.path.join(dir, 'ca-%s.crt' % kind)
        self.key = os.path.join(dir, 'ca-%s.key' % kind)
        self.serial = 1
        _run(['req', '-x509', '-nodes', '-days', '30', '-subj', '/CN=' + name,
              '-addext', 'basicConstraints=critical,CA:TRUE',
              '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
              '-keyout', self.key, '-out', self.cert] + KINDS[kind])

    def issue(self, name, kind='rsa', keyformat='pkcs8', chain=True):
        """(certfile, keyfile): a server certificate for DNS name signed by
        this CA; certfile holds the chain (leaf then CA) unless chain=False."""
        base = os.path.join(self.dir, name.replace('*', '_') + '-' + kind)
        key, csr, leaf, cert = base + '.key', base + '.csr', base + '.leaf', base + '.crt'
        _run(['req', '-new', '-nodes', '-subj', '/CN=' + name, '-keyout', key, '-out', csr]
             + KINDS[kind])
        self.serial += 1
        _run(['x509', '-req', '-in', csr, '-CA', self.cert, '-CAkey', self.key,
              '-set_serial', str(self.serial), '-days', '30', '-sha256',
              '-extfile', _ext(self.dir, name, False), '-out', leaf])
        with open(cert, 'wb') as out:
            for p in ([leaf, self.cert] if chain else [leaf]):
                with open(p, 'rb') as f:
                    out.write(f.read())
        if keyformat == 'traditional':
            _traditional(key, kind)
        return cert, key


def client_context(cafile=None, verify=True, minimum=None, maximum=None, ciphers=None):
    """An ssl.SSLContext for a test client."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify and cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def peer_cn(sslsock):
    """The subject CN of the server's certificate (works unverified too)."""
    der = sslsock.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(['openssl', 'x509', '-noout', '-subject', '-nameopt', 'multiline'],
                         input=pem.encode(), stdout=subprocess.PIPE).stdout.decode()
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('commonName'):
            return line.split('=', 1)[1].strip()
    return None
