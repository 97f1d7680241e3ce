"""s6 helpers shared by the service tests (t/19, t/64): an s6-svscan run on
an instance's service directory, stopped at exit however a test ends, and
process look-ups."""
import atexit
import os
import pwd
import signal
import subprocess
import sys

from pmtest import wait_for


def svstat(svc, field):
    r = subprocess.run(['s6-svstat', '-o', field, svc], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    return r.stdout.decode().strip()


def svpid(svc):
    """PID of a service's process, 0 if down or unknown."""
    try:
        return max(int(svstat(svc, 'pid')), 0)
    except ValueError:
        return 0


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(') ', 1)[1][0] != 'Z'
    except OSError:
        return False


def uid_of(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def proc_uid(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for ln in f:
                if ln.startswith('Uid:'):
                    return int(ln.split()[1])
    except OSError:
        pass
    return None


class Scan:
    """s6-svscan on ROOT/service; stopped with s6-svscanctl -t, then what
    is left killed by PID (each service runs in a session of its own)."""

    def __init__(self, inst):
        self.inst = inst
        self.svc = os.path.join(inst.root, 'service')
        self.proc = inst.spawn(['s6-svscan', self.svc])
        self.pids = set()
        atexit.register(self.stop)

    def dir(self, name):
        return os.path.join(self.svc, name)

    def wait_up(self, name, ready=True, timeout=15):
        """Up and, if the service notifies readiness, ready."""
        d = self.dir(name)
        # s6-svok is true once s6-supervise holds its lock, a moment before
        # it writes supervise/status, which s6-svwait reads at once (and
        # fails, ENOENT, without it): wait for both.
        if not wait_for(lambda: subprocess.run(['s6-svok', d]).returncode == 0 and
                        os.path.exists(os.path.join(d, 'supervise', 'status')), timeout):
            self.explain(name)
            return False
        r = subprocess.run(['s6-svwait', '-U' if ready else '-u', '-t', str(timeout * 1000), d],
                           stderr=subprocess.PIPE)
        self.note(name)
        if r.returncode != 0:
            sys.stderr.write('# s6-svwait %s: exit %d: %s; s6-svscan %s\n' % (
                name, r.returncode, r.stderr.decode(errors='replace'),
                'alive' if self.proc.poll() is None else 'exited %s' % self.proc.returncode))
            self.explain(name)
        return r.returncode == 0

    def explain(self, name):
        """Why a service is not up, on stderr (prove shows it)."""
        for n in sorted(os.listdir(self.svc)):
            if not n.startswith('.'):
                sys.stderr.write('# %s: %s\n' % (n, svstat(self.dir(n), 'up,wantedup,ready,pid,exitcode,signal')))
        for p in (os.path.join(self.inst.root, 'log', name, 'current'), self.proc.logfile):
            try:
                with open(p, errors='replace') as f:
                    sys.stderr.write('# %s:\n%s\n' % (p, f.read()[-3000:]))
            except OSError:
                pass

    def note(self, name):
        pid = svpid(self.dir(name))
        if pid:
            self.pids.add(pid)
        return pid

    def stop(self):
        if self.proc.poll() is None:
            for name in os.listdir(self.svc):
                if not name.startswith('.'):
                    self.note(name)
            subprocess.run(['s6-svscanctl', '-t', self.svc], stderr=subprocess.DEVNULL)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        for pid in self.pids:
            if alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
        # only while s6-svscan is not reaped: once it is, its PID (and
        # process group number) may already be another program's
        if self.proc.poll() is None:
            self.inst.kill(self.proc, signal.SIGKILL)
