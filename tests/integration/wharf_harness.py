"""Runs a real wharfd for integration tests: writes its config, picks free
ports, waits until it reports ready, and always stops it (and removes its
files) when the test ends."""

import collections
import glob
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

WHARFD = os.environ["WHARFD"]
WHARFCTL = os.path.join(os.path.dirname(WHARFD), "wharfctl")
PLUGIN_DIR = os.environ["WHARF_PLUGIN_DIR"]
TEST_PLUGIN_DIR = os.environ.get("WHARF_TEST_PLUGIN_DIR", "")

# Under the sanitizers (./setup.sh test-sanitized, test-tsan), what one
# reports in any wharfd process fails the test, even when the clients saw
# nothing wrong and the master replaced the worker: a race, a memory error, a
# leak, undefined behaviour. Not a SEGV: fixtures crash on purpose.
SANITIZER_REPORT = re.compile(r"WARNING: ThreadSanitizer: |ERROR: AddressSanitizer: (?!SEGV)|"
                              r"ERROR: LeakSanitizer: |runtime error: ") \
    if os.environ.get("WHARF_FAIL_ON_SANITIZER_REPORT") else None

START_TIMEOUT = 30  # generous: sanitizer builds start slowly on a loaded machine


def wait_until(condition, what, limit=30):
    """Polls `condition` until it holds; fails naming `what` after `limit` seconds (a bound
    for an event, never a measured time)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.01)


# Ports free_port() gave lately: a port is not given twice while a test may
# not have bound it yet (two listeners of one config once collided).
_GIVEN_PORTS = collections.deque(maxlen=1024)
# Below the kernel's ephemeral range (32768-60999 by default), where no
# client socket takes a port, a slice for each test process (by its pid), so
# that two tests run side by side rarely pick from the same ports: bind(0)
# handed one test the port another had just been given.
_PORT_SLICES = 64
_PORT_SLICE = (32000 - 10000) // _PORT_SLICES


def _port_is_free(family, host, port):
    try:
        with socket.socket(family, socket.SOCK_STREAM) as tcp, \
                socket.socket(family, socket.SOCK_DGRAM) as udp:
            tcp.bind((host, port))
            udp.bind((host, port))
        return True
    except OSError:
        return False


def free_port(family=socket.AF_INET):
    """A port free for both TCP and UDP right now on the loopback address, and
    not one this process was given lately."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    first = 10000 + (os.getpid() % _PORT_SLICES) * _PORT_SLICE
    for _ in range(200):
        port = random.randrange(first, first + _PORT_SLICE)
        if port not in _GIVEN_PORTS and _port_is_free(family, host, port):
            _GIVEN_PORTS.append(port)
            return port
    raise RuntimeError("no free port")


def descriptors(pid):
    """{fd: what it is} of process `pid` now; one closed while listing is left out."""
    listing = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            listing[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return dict(sorted(listing.items()))


def children_of(pid):
    """The process ids of `pid`'s children now."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            return [int(child) for child in listing.read().split()]
    except (FileNotFoundError, ProcessLookupError):  # it has gone (before or while reading)
        return []


def cpu_seconds(pid):
    """User plus system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_status(pid, field):
    """A number from /proc/PID/status (VmRSS in kB, Threads)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def under_address_space_limit(kilobytes):
    """A launcher prefix that runs a command under `ulimit -v kilobytes`."""
    return ["sh", "-c", f'ulimit -v {kilobytes} && exec "$@"', "sh"]


def sanitized_build():
    """Whether wharfd is built with ASan+UBSan. It then reserves terabytes of
    shadow memory at start, so ulimit -v stops it before main (the probe)."""
    probe = subprocess.run(under_address_space_limit(2000000) + [WHARFD, "--version"],
                           capture_output=True, text=True, timeout=60)
    return probe.returncode != 0


def test_plugin(name):
    return os.path.join(TEST_PLUGIN_DIR, name + ".so")


class Wharfd:
    """One wharfd process. `listeners` maps a listener name to its keys."""

    def __init__(self, testcase, listeners, host=None, env=None):
        self.testcase = testcase
        self.env = env  # added to wharfd's environment
        self.dir = tempfile.mkdtemp(prefix="wharf-test-")
        testcase.addCleanup(self._remove_dir)
        self.config_path = os.path.join(self.dir, "wharf.ini")
        self.listeners = listeners
        self.host = {"plugin_dir": PLUGIN_DIR, "log_level": "information"}
        self.host.update(host or {})
        self.binary = WHARFD
        self.launcher = []  # a command wharfd runs under (systemd-socket-activate)
        self.process = None
        self.lines = []
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self.write_config()

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_config(self):
        with open(self.config_path, "w") as config:
            config.write("[host]\n")
            for key, value in self.host.items():
                config.write(f"{key} = {value}\n")
            for name, keys in self.listeners.items():
                config.write(f"\n[listener.{name}]\n")
                for key, value in keys.items():
                    config.write(f"{key} = {value}\n")

    def start(self, expect_ready=True):
        self.process = subprocess.Popen(
            self.launcher + [self.binary, "--config", self.config_path],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, **(self.env or {})))
        self.testcase.addCleanup(self._check_sanitizer_reports)  # runs after _kill
        self.testcase.addCleanup(self._kill)
        threading.Thread(target=self._read_output, args=(self.process.stdout,),
                         daemon=True).start()
        if self.host.get("log", "stderr") not in ("stderr", "syslog"):
            threading.Thread(target=self._follow_log_file, args=(self.host["log"],),
                             daemon=True).start()
        if not expect_ready:
            return self.wait()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._kill()  # a wharfd that never says it is ready must not hang the test
                time.sleep(0.1)
                raise AssertionError("wharfd did not start:\n" + self.log())
        return self

    def add_output(self, lines):
        """Lines wharfd wrote elsewhere (a fake syslog), taken as its output."""
        self._read_output(lines)

    def _read_output(self, stream):
        for line in stream:
            with self._lock:
                self.lines.append(line)
            if " ready, " in line:
                self._ready.set()

    def _follow_log_file(self, path):
        """[host] log = FILE: its lines count as output too (until wharfd
        exits; a file moved away is followed to the new one at that path)."""
        position, inode = 0, None
        while self.process.poll() is None:
            try:
                with open(path) as log:
                    if os.fstat(log.fileno()).st_ino != inode:
                        position, inode = 0, os.fstat(log.fileno()).st_ino
                    log.seek(position)
                    lines = log.readlines()
                    if lines and not lines[-1].endswith("\n"):
                        lines.pop()
                    position += sum(len(line.encode()) for line in lines)
                    self._read_output(lines)
            except FileNotFoundError:
                pass
            time.sleep(0.02)

    def log(self):
        with self._lock:
            return "".join(self.lines)

    def wait_for_log(self, pattern, limit=30):
        """Waits until a log line matches `pattern` (a regex); fails after
        `limit` seconds. For events logged by another thread than the one
        that answered the client."""
        deadline = time.monotonic() + limit
        while not re.search(pattern, self.log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line matches {pattern!r}:\n{self.log()}")
            time.sleep(0.01)

    def ctl(self, *arguments, timeout=60):
        """wharfctl on this wharfd's control socket ([host] admin = admin.sock)."""
        return subprocess.run([WHARFCTL, "--admin", self.path("admin.sock"),
                               "--timeout", str(timeout), *arguments],
                              capture_output=True, text=True, timeout=timeout)

    def signal(self, signum):
        self.process.send_signal(signum)

    def worker_pids(self):
        """The worker processes the master has now (the master's children)."""
        return children_of(self.process.pid)

    def worker_pid(self):
        """The one worker of a single-worker wharfd."""
        pids = self.worker_pids()
        if len(pids) != 1:
            raise AssertionError(f"expected one worker, found {pids}")
        return pids[0]

    def wait(self, timeout=60):
        code = self.process.wait(timeout)
        time.sleep(0.05)  # let the reader thread take the last lines
        return code

    def stop(self):
        """SIGTERM, then the exit status."""
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait()

    def _kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process:
            self.process.stdout.close()
            # A master killed outright leaves its shared zones behind (wharf_PID_RANDOM.*).
            for zone in glob.glob(f"/dev/shm/wharf_{self.process.pid}_*"):
                os.unlink(zone)

    def _check_sanitizer_reports(self):
        report = SANITIZER_REPORT.search(self.log()) if SANITIZER_REPORT else None
        if report:
            raise AssertionError("a sanitizer reported in wharfd:\n" +
                                 self.log()[report.start():report.start() + 20000])

    def _remove_dir(self):
        shutil.rmtree(self.dir)  # never follows symlinks out of the folder


class WharfTestCase(unittest.TestCase):
    def wharfd(self, listeners, host=None):
        return Wharfd(self, listeners, host).start()

    def assertStops(self, server):
        code = server.stop()
        self.assertEqual(code, 0, server.log())
