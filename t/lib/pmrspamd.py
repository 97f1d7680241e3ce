"""A private rspamd for tests and benchmarks (t/87, t/bench/spam-check):
the instance's rspamd configuration (instance-setup -R) made quiet."""
import os
import socket

from pmtest import free_port


def quiet_config(root, test_patterns=True):
    """Settings for ROOT/etc/rspamd/local.d, never for production: rspamd's
    GTUBE variants for each action (they let anyone choose the verdict),
    its DNS (RBLs, maps, SPF...) sent to a dead loopback port and no fuzzy
    hash servers, so that it talks to no one and answers alike everywhere."""
    d = os.path.join(root, 'etc/rspamd/local.d')
    with open(os.path.join(d, 'options.inc'), 'w') as f:
        if test_patterns:
            f.write('enable_test_patterns = true;\n')
        f.write('dns { nameserver = ["127.0.0.1:%d"]; timeout = 0.2s; retransmits = 1; }\n' % free_port())
    with open(os.path.join(d, 'fuzzy_check.conf'), 'w') as f:
        f.write('enabled = false;\n')


def ready(port):
    """rspamd answers /ping on port."""
    try:
        with socket.create_connection(('127.0.0.1', port), 2) as s:
            s.sendall(b'GET /ping HTTP/1.0\r\n\r\n')
            return b'pong' in s.recv(1000)
    except OSError:
        return False
