"""s6 helpers shared by the service tests (t/19, t/64): an s6-svscan run on
an instance's service directory, stopped at exit however a test ends, and
process look-ups."""
import atexit
import os
import pwd
import signal
import subprocess

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
        if not wait_for(lambda: subprocess.run(['s6-svok', d]).returncode == 0, timeout):
            return False
        r = subprocess.run(['s6-svwait', '-U' if ready else '-u', '-t', str(timeout * 1000), d],
                           stderr=subprocess.PIPE)
        self.note(name)
        return r.returncode == 0

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
