#!/usr/bin/env python3
# The journey of issue 3 on loopback (runs everywhere): john.test and
# kate.test are two instances on 127.0.0.1 (kate's second MX on
# 127.0.0.2), on their own ports, linked by etc/routes. With dnsmasq, the MX
# part routes kate.test by name so that its MX records decide; without it,
# that part is skipped (t/lib/journey.py).
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
from pmtest import TAP  # noqa: E402
import pmdns  # noqa: E402
import journey  # noqa: E402

t = TAP()
if pmdns.available():
    net = journey.LoopNet(journey.make_dns)
else:
    net = journey.LoopNet(None, nodns='dnsmasq is not installed')
journey.story(t, net)
