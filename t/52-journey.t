#!/usr/bin/env python3
# The journey of issue 3 between two mail hosts, each in its own network
# namespace (john.test and kate.test, port 25, kate.test with two MX
# addresses), with dnsmasq serving MX and A records from the root namespace
# on veth addresses: delivery with both Received hops, the reply, the MX
# preference, both MX down then back, a 550 bounce, a null MX, a DNS
# timeout, two recipients in one SMTP transaction (t/lib/journey.py).
# Needs root and `ip netns`; else a TAP skip (t/53 runs the same story on
# loopback).
import atexit
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP  # noqa: E402
import pmdns  # noqa: E402
import journey  # noqa: E402

t = TAP()
if not pmdns.available():
    t.skip_all('dnsmasq is not installed')
if os.geteuid() != 0:
    t.skip_all('network namespaces need root')
if not os.access(journey.IP, os.X_OK):
    t.skip_all('ip (iproute2) is not installed')

net = journey.NetnsNet(journey.make_dns)
try:
    net.create()
except Exception as e:    # e.g. no CAP_SYS_ADMIN in a container, no veth
    net.teardown()
    t.skip_all('cannot make network namespaces here: %s' % str(e).replace('\n', ' '))

# registered before the hosts: runs after their processes are stopped
atexit.register(net.teardown)
journey.story(t, net)
