"""wharfd under systemd: the master notifies READY=1, RELOADING=1 and READY=1
around a reload, and STOPPING=1, and pings the watchdog, on the socket
NOTIFY_SOCKET names (libsystemd's sd_notify); workers never see that socket. Sockets passed by socket activation
(systemd-socket-activate, as systemd passes them) are matched to listeners by
name and served, a connection made before wharfd runs included; a passed
socket of the wrong kind is refused by name. The shipped unit files pass
systemd-analyze verify."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from clients import receive_exactly, stream_connect
from wharf_harness import WHARFD, WharfTestCase, Wharfd, free_port

WAIT = 30  # seconds: a bound for events, never a measured time
SOCKET_ACTIVATE = shutil.which("systemd-socket-activate")


class NotifySocket:
    """A datagram socket standing in for systemd's notify socket; collects
    what is sent to it."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []
        self.senders = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.read)
        self.thread.start()

    def read(self):
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        while not self.stop.is_set():
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            pid = None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = int.from_bytes(payload[:4], "little")
            with self.lock:
                self.messages.append(dict(line.split("=", 1) for line in
                                          data.decode().splitlines() if "=" in line))
                self.senders.append(pid)

    def count(self, key):
        with self.lock:
            return sum(1 for message in self.messages if key in message)

    def events(self):
        """The READY/RELOADING/STOPPING events, in order."""
        with self.lock:
            return [key for message in self.messages for key in message
                    if key in ("READY", "RELOADING", "STOPPING")]

    def wait_for(self, events):
        deadline = time.monotonic() + WAIT
        while self.events() != events:
            if time.monotonic() > deadline:
                raise AssertionError(f"notified {self.events()}, expected {events}")
            time.sleep(0.01)

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


class Notify(WharfTestCase):
    def test_ready_reloading_ready_stopping_in_order_from_the_master(self):
        address = f"127.0.0.1:{free_port()}"
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": address, "plugin": "echo"}},
                        host={"workers": "2"})
        notify = NotifySocket(server.dir)
        self.addCleanup(notify.close)
        # WatchdogSec=0.4s: the master pings every 0.2 s.
        server.env = {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"}
        server.start()
        notify.wait_for(["READY"])
        ready = notify.messages[0]
        self.assertEqual(ready["MAINPID"], str(server.process.pid))
        self.assertIn("1 listeners, 2 workers", ready["STATUS"])
        for worker in server.worker_pids():  # the variables are the master's alone
            with open(f"/proc/{worker}/environ", "rb") as environment:
                variables = environment.read()
                self.assertNotIn(b"NOTIFY_SOCKET=", variables)
                self.assertNotIn(b"WATCHDOG_USEC=", variables)
        deadline = time.monotonic() + WAIT
        while notify.count("WATCHDOG") < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(notify.count("WATCHDOG"), 3)
        server.signal(signal.SIGHUP)
        notify.wait_for(["READY", "RELOADING", "READY"])
        self.assertEqual(server.stop(), 0)
        notify.wait_for(["READY", "RELOADING", "READY", "STOPPING"])
        self.assertEqual(set(notify.senders), {server.process.pid})


class SocketActivation(WharfTestCase):
    def setUp(self):
        if SOCKET_ACTIVATE is None:
            self.fail("systemd-socket-activate is missing (Debian's systemd package)")

    def activated(self, listeners, passed, datagram=False):
        """wharfd started by systemd-socket-activate on the first connection
        to `passed` (an address), passed as the socket named after the first
        listener."""
        server = Wharfd(self, listeners)
        name = next(iter(listeners))
        server.launcher = [SOCKET_ACTIVATE, "-l", passed, f"--fdname={name}"] + \
            (["--datagram"] if datagram else [])
        return server

    def test_a_passed_socket_is_served_and_the_first_connection_waits_for_wharfd(self):
        self.check_passed_socket_served("thread")

    def test_a_passed_socket_is_served_by_a_reactor_listener(self):
        """The socket systemd passes is blocking: a reactor whose loop accepted
        on it blocked in accept() and never answered (the shipped wharfd.socket
        targets the packaged reactor echo-tcp). wharfd makes it non-blocking."""
        self.check_passed_socket_served("reactor")

    def check_passed_socket_served(self, mode):
        passed = f"127.0.0.1:{free_port()}"
        bound = f"127.0.0.1:{free_port()}"
        server = self.activated({"echo": {"transport": "tcp", "listen": passed, "plugin": "echo",
                                          "mode": mode},
                                 "other": {"transport": "tcp", "listen": bound,
                                           "plugin": "echo", "mode": mode}}, passed)
        answers = []

        def first_client():  # connects before wharfd exists: its connection starts wharfd
            deadline = time.monotonic() + WAIT
            while True:
                try:
                    session = stream_connect("tcp", passed)
                    break
                except ConnectionRefusedError:  # systemd-socket-activate not listening yet
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
            with session:
                session.sendall(b"early")
                answers.append(receive_exactly(session, 5))

        client = threading.Thread(target=first_client)
        client.start()
        server.start()
        client.join()
        self.assertEqual(answers, [b"early"])
        for address in (passed, bound):  # the passed socket, and one wharfd bound itself
            with stream_connect("tcp", address) as session:
                session.sendall(b"later")
                self.assertEqual(receive_exactly(session, 5), b"later")
        self.assertStops(server)

    def test_a_passed_socket_of_the_wrong_kind_is_refused_by_name(self):
        passed = f"127.0.0.1:{free_port()}"
        server = self.activated({"echo": {"transport": "tcp", "listen": passed,
                                          "plugin": "echo"}}, passed, datagram=True)
        server.process = subprocess.Popen(
            server.launcher + [WHARFD, "--config", server.config_path],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(server._kill)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as trigger:
            host, port = passed.rsplit(":", 1)
            deadline = time.monotonic() + WAIT
            while server.process.poll() is None and time.monotonic() < deadline:
                trigger.sendto(b"wake", (host, int(port)))  # a datagram starts wharfd
                time.sleep(0.05)
        output = server.process.communicate(timeout=WAIT)[0]
        self.assertEqual(server.process.returncode, 2, output)
        self.assertIn("listener [listener.echo]: the socket systemd passed as 'echo' is not a "
                      f"listening tcp socket on {passed}", output)
        self.assertIn("nothing started", output)


class UnitFiles(WharfTestCase):
    def test_the_shipped_units_pass_systemd_analyze_verify(self):
        """etc/wharfd.service and etc/wharfd.socket, with the binaries' paths
        pointed at this build. systemd-analyze exits 0 even for keys it
        ignores, so anything it says is a failure."""
        source = os.path.join(os.environ["WHARF_SOURCE_DIR"], "etc")
        bin_dir = os.path.dirname(WHARFD)
        directory = self.scratch()
        for unit in ("wharfd.service", "wharfd.socket"):
            with open(os.path.join(source, unit)) as original:
                text = original.read().replace("/usr/local/bin/", bin_dir + "/")
            with open(os.path.join(directory, unit), "w") as copy:
                copy.write(text)
        result = subprocess.run(["systemd-analyze", "verify", "--man=no", "wharfd.service",
                                 "wharfd.socket"], cwd=directory, capture_output=True, text=True,
                                timeout=WAIT)
        self.assertEqual((result.returncode, result.stdout + result.stderr), (0, ""))

    def scratch(self):
        directory = tempfile.mkdtemp(prefix="wharf-units-")
        self.addCleanup(shutil.rmtree, directory)
        return directory
