"""Logs: the access log (one logfmt line per finished session, from every
mode, with bytes, generation and how it ended), `[host] log = FILE`, SIGUSR1
reopening both after logrotate moved them, lines that never tear when many
fork children log at once, and a full disk that drops lines (counted) while
serving goes on."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from clients import receive_exactly, receive_until_closed, run_at_once, stream_connect
from wharf_harness import WHARFCTL, Wharfd, WharfTestCase, free_port, test_plugin, wait_until

ACCESS_LINE = re.compile(
    r'^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z listener=(?P<listener>\S+) '
    r'peer=(?P<peer>\S+|"[^"]*") generation=(?P<generation>\d+) duration=(?P<duration>\d+\.\d{6}) '
    r'in=(?P<in>\d+) out=(?P<out>\d+) ended=(?P<ended>client|plugin|idle_timeout|send_timeout|output_budget|cut|error|'
    r'tls_handshake)'
    r'(?: error="(?P<error>(?:[^"\\]|\\.)*)")?$')
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [A-Z][a-z]+ \[\d+\] [\w.-]+: \S")


def read_lines(path):
    try:
        with open(path) as log:
            return log.read().splitlines()
    except FileNotFoundError:
        return []


def access_entries(path):
    """The access log's lines, parsed; fails on a line that does not parse.
    A last line without its newline (cut short by a full disk) is left out:
    the writer counted it as dropped."""
    entries = []
    try:
        with open(path) as log:
            text = log.read()
    except FileNotFoundError:
        return []
    for line in text.split("\n")[:-1]:
        match = ACCESS_LINE.match(line)
        if not match:
            raise AssertionError(f"access log line does not parse: {line!r}")
        entries.append(match.groupdict())
    return entries


def wait_for_entries(path, count, limit=30):
    deadline = time.monotonic() + limit
    while len(entries := access_entries(path)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(entries)} access log lines, expected {count}: {entries}")
        time.sleep(0.02)
    return entries


def exchange(port, payload, transport="tcp"):
    """One session: `payload` sent, its echo read, closed by the client. The
    client's own address, as the access log names the peer."""
    if transport == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(20)
            client.sendto(payload, ("127.0.0.1", port))
            assert client.recv(65536) == payload
            return "127.0.0.1:%d" % client.getsockname()[1]
    with stream_connect("tcp", f"127.0.0.1:{port}") as client:
        client.sendall(payload)
        assert receive_exactly(client, len(payload)) == payload
        return "127.0.0.1:%d" % client.getsockname()[1]


class AccessLog(WharfTestCase):
    def start(self, listeners, **host):
        # Under ASan, let a crash be a crash (ASan would catch SIGSEGV and abort).
        sanitizer = {"ASAN_OPTIONS": "handle_segv=0:" + os.environ.get("ASAN_OPTIONS", "")}
        self.server = Wharfd(self, listeners, host=dict({"admin": "admin.sock"}, **host),
                             env=sanitizer)
        self.access = self.server.path("access.log")
        self.server.host.setdefault("access_log", self.access)
        self.server.host.setdefault("log", self.server.path("wharfd.log"))
        self.server.write_config()
        return self.server.start()

    def status(self):
        reply = self.server.ctl("status", "--json")
        self.assertEqual(reply.returncode, 0, reply.stderr)
        return {entry["name"]: entry["sessions"] for entry in json.loads(reply.stdout)["listeners"]}

    def test_every_mode_writes_one_line_per_session(self):
        ports = {}
        listeners = {}
        for mode in ("sync", "thread", "pool", "fork", "reactor"):
            ports[mode] = free_port()
            listeners[mode] = {"transport": "tcp", "listen": f"127.0.0.1:{ports[mode]}",
                               "mode": mode, "plugin": "echo"}
        ports["udp"] = free_port(socket.AF_INET)
        listeners["udp"] = {"transport": "udp", "listen": f"127.0.0.1:{ports['udp']}",
                            "mode": "pool", "plugin": "echo"}
        self.start(listeners)
        peers = {}
        for name, port in ports.items():
            peers[name] = exchange(port, b"hello wharf", "udp" if name == "udp" else "tcp")
        entries = {entry["listener"]: entry for entry in wait_for_entries(self.access, len(ports))}
        self.assertEqual(sorted(entries), sorted(ports))
        for name, entry in entries.items():
            self.assertEqual(entry["peer"], peers[name])
            self.assertEqual((entry["in"], entry["out"], entry["generation"]), ("11", "11", "1"))
            self.assertEqual(entry["ended"], "plugin" if name == "udp" else "client", entry)
        status = self.status()
        for name in ports:
            self.assertEqual((status[name]["bytes_in"], status[name]["bytes_out"]), (11, 11))
            self.assertEqual(sum(status[name]["duration_buckets"]), 1)
        self.assertStops(self.server)

    def test_idle_timeouts_failing_hooks_and_crashes_are_the_endings(self):
        thread, fork = free_port(), free_port()
        self.start({
            "idle": {"transport": "tcp", "listen": f"127.0.0.1:{thread}", "mode": "thread",
                     "plugin": test_plugin("faulty"), "idle_timeout": "300ms"},
            "forked": {"transport": "tcp", "listen": f"127.0.0.1:{fork}", "mode": "fork",
                       "plugin": test_plugin("faulty")}},
            log_level="notice")
        with stream_connect("tcp", f"127.0.0.1:{thread}") as silent:
            self.assertEqual(receive_until_closed(silent), b"")
        with stream_connect("tcp", f"127.0.0.1:{thread}") as failing:
            failing.sendall(b"fail now")
            self.assertEqual(receive_until_closed(failing), b"")
        with stream_connect("tcp", f"127.0.0.1:{fork}") as crashing:
            crashing.sendall(b"crash now")
            self.assertEqual(receive_until_closed(crashing), b"")
        endings = sorted((entry["listener"], entry["ended"], entry["error"] or "")
                         for entry in wait_for_entries(self.access, 3))
        self.assertEqual(endings, [
            ("forked", "error", "session process killed by signal 11"),
            ("idle", "error", "on_session_data failed (status -1)"),
            ("idle", "idle_timeout", "")])
        status = self.status()
        self.assertEqual(status["idle"]["hook_errors"], 1)
        self.assertEqual(status["idle"]["ended"], {"client": 0, "plugin": 0, "idle_timeout": 1,
                                                   "send_timeout": 0, "output_budget": 0,
                                                   "cut": 0, "error": 1, "tls_handshake": 0})
        self.assertEqual(status["forked"]["ended"]["error"], 1)

    def test_a_listener_may_keep_its_own_or_none(self):
        own, none = free_port(), free_port()
        self.start({
            "own": {"transport": "tcp", "listen": f"127.0.0.1:{own}", "plugin": "echo",
                    "access_log": "./own.log"},
            "none": {"transport": "tcp", "listen": f"127.0.0.1:{none}", "plugin": "echo",
                     "access_log": "off"}})
        exchange(none, b"unlogged")
        exchange(own, b"logged")
        self.assertEqual([entry["in"] for entry in wait_for_entries(self.server.path("own.log"), 1)],
                         ["6"])
        self.assertEqual(access_entries(self.access), [])

    def test_json_lines_and_empty_sessions_left_out(self):
        quiet, echo = free_port(), free_port()
        self.start({
            "quiet": {"transport": "tcp", "listen": f"127.0.0.1:{quiet}", "mode": "thread",
                      "plugin": "echo",
                      "wait_for_data": "0"},
            "echo": {"transport": "tcp", "listen": f"127.0.0.1:{echo}", "mode": "reactor",
                     "plugin": "echo", "log_empty_sessions": "on"}},
            access_log_format="json", log_empty_sessions="off")
        with stream_connect("tcp", f"127.0.0.1:{quiet}"):
            pass  # a port scan: no byte either way
        with stream_connect("tcp", f"127.0.0.1:{echo}"):
            pass  # the same, where the listener logs empty sessions
        peer = exchange(echo, "héllo".encode())
        wait_until(lambda: self.status()["quiet"]["total"] == 1, "the scan counted")
        wait_until(lambda: len(self.json_lines()) == 2, "two lines")
        empty, full = sorted(self.json_lines(), key=lambda line: line["in"])
        self.assertEqual((empty["listener"], empty["in"], empty["out"]), ("echo", 0, 0))
        self.assertEqual(full["peer"], peer)
        self.assertEqual((full["listener"], full["in"], full["out"], full["generation"],
                          full["ended"]), ("echo", 6, 6, 1, "client"))
        self.assertIsInstance(full["duration"], float)
        self.assertEqual(self.status()["quiet"]["total"], 1)  # counted, not logged

    def json_lines(self):
        with open(self.access) as log:
            return [json.loads(line) for line in log]

    def test_sigusr1_reopens_the_logs_logrotate_moved(self):
        thread, fork = free_port(), free_port()
        self.start({
            "t": {"transport": "tcp", "listen": f"127.0.0.1:{thread}", "plugin": "echo"},
            "f": {"transport": "tcp", "listen": f"127.0.0.1:{fork}", "mode": "fork",
                  "plugin": "echo"}},
            workers="2")
        exchange(thread, b"before")
        exchange(fork, b"before")
        wait_for_entries(self.access, 2)
        own_log = self.server.path("wharfd.log")
        self.assertTrue(any(" ready, " in line for line in read_lines(own_log)))
        os.rename(self.access, self.access + ".1")
        os.rename(own_log, own_log + ".1")
        self.server.signal(signal.SIGUSR1)
        deadline = time.monotonic() + 30
        # The master reopens, and both workers take the new files from it.
        while sum("log files reopened" in line for line in read_lines(own_log)) < 3:
            self.assertLess(time.monotonic(), deadline, read_lines(own_log + ".1"))
            time.sleep(0.02)
        exchange(thread, b"after!")
        exchange(fork, b"after!")
        self.assertEqual(sorted(entry["listener"] + entry["in"]
                                for entry in wait_for_entries(self.access, 2)), ["f6", "t6"])
        self.assertEqual(len(access_entries(self.access + ".1")), 2)
        self.assertStops(self.server)
        self.assertTrue(any("stopped" in line or "signal" in line for line in read_lines(own_log)))

    def test_logrotate_with_the_shipped_snippet(self):
        if shutil.which("logrotate") is None:
            self.skipTest("needs Debian's logrotate")
        port = free_port()
        self.start({"t": {"transport": "tcp", "listen": f"127.0.0.1:{port}", "plugin": "echo"}},
                   pid_file="run/wharfd.pid")
        with open(self.server.path("run/wharfd.pid")) as pid_file:
            self.assertEqual(int(pid_file.read()), self.server.process.pid)
        exchange(port, b"before")
        wait_for_entries(self.access, 1)
        # etc/logrotate.d/wharf, pointed at this test's folder, control
        # socket, pid file and wharfctl instead of the service's. No systemd
        # is involved: the snippet works without it.
        with open(os.path.join(os.environ["WHARF_SOURCE_DIR"], "etc/logrotate.d/wharf")) as shipped:
            snippet = shipped.read()
        snippet = snippet.replace("/var/log/wharf/", self.server.dir + "/")
        snippet = snippet.replace("/usr/local/bin/wharfctl", WHARFCTL)
        snippet = snippet.replace("/run/wharf/wharfd.pid", self.server.path("run/wharfd.pid"))

        def rotate(admin, reopened_by):
            config = self.server.path("logrotate.conf")
            with open(config, "w") as out:
                out.write(snippet.replace("/run/wharf/admin.sock", admin))
            rotated = subprocess.run(["logrotate", "--force", "--state", self.server.path("state"),
                                      config], capture_output=True, text=True, timeout=60)
            self.assertEqual(rotated.returncode, 0, rotated.stderr)
            self.server.wait_for_log(reopened_by + ": log files reopened")

        rotate(self.server.path("admin.sock"), "wharfctl reopen")
        self.assertEqual(len(access_entries(self.access + ".1")), 1)
        exchange(port, b"after")
        self.assertEqual([entry["in"] for entry in wait_for_entries(self.access, 1)], ["5"])
        # No control socket (none configured, or a wharfd without one): the pid file.
        rotate(self.server.path("no-admin.sock"), "SIGUSR1")
        self.assertEqual([entry["in"] for entry in access_entries(self.access + ".1")], ["5"])
        exchange(port, b"again!")
        self.assertEqual([entry["in"] for entry in wait_for_entries(self.access, 1)], ["6"])
        self.assertStops(self.server)
        self.assertFalse(os.path.exists(self.server.path("run/wharfd.pid")))

    def test_a_missing_folder_is_a_config_error(self):
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": "echo", "access_log": "/nonexistent/a.log"}})
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertRegex(server.log(), re.escape(server.config_path) +
                         r":\d+: \[listener\.e\] access_log: folder /nonexistent does not exist")


class PluginText(WharfTestCase):
    def test_a_plugin_cannot_forge_a_line_of_the_daemons_log(self):
        """A plugin's log text, and the peer's text it logs, had its newlines
        written raw: "x", a newline, "* * * * * root ..." landed as a line of
        its own (a cron line, if the log were pointed at /etc/cron.d). Control
        characters are escaped now."""
        port = free_port()
        server = Wharfd(self, {"scribe": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                          "mode": "reactor", "plugin": test_plugin("scribe")}})
        log = server.path("wharfd.log")
        server.host["log"] = log
        server.write_config()
        server.start()
        forged = b"x\n* * * * * root touch /tmp/owned\r\n\x1b[31mred\\n"
        with stream_connect("tcp", f"127.0.0.1:{port}") as session:
            session.sendall(forged)
            self.assertEqual(receive_exactly(session, 7), b"logged\n")
        server.wait_for_log(r"x\\n\* \* \* \* \* root")
        escaped = r"x\n* * * * * root touch /tmp/owned\r\n\x1b[31mred\n"
        lines = read_lines(log)
        self.assertEqual(sum(escaped in line for line in lines), 2, lines)  # log and session_log
        for line in lines:
            self.assertRegex(line, LOG_LINE)
            self.assertNotIn("\x1b", line)
        self.assertStops(server)


class ManyWriters(WharfTestCase):
    def test_lines_of_many_fork_children_never_tear(self):
        # Every child logs a warning (its hook fails) and writes its access
        # line, all at once, to a pipe (standard error) and to two files.
        port = free_port()
        server = Wharfd(self, {"f": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                     "mode": "fork", "plugin": test_plugin("faulty"),
                                     "max_children": "400"}})
        server.host.update({"access_log": server.path("access.log"), "log_level": "debug"})
        server.write_config()
        server.start()
        sessions = 300
        barrier = threading.Barrier(30)
        failures = []

        def client(_):
            try:
                barrier.wait()
                for _ in range(sessions // 30):
                    with stream_connect("tcp", f"127.0.0.1:{port}") as connection:
                        connection.sendall(b"fail " + b"x" * 200)
                        receive_until_closed(connection)
            except (OSError, threading.BrokenBarrierError) as error:
                failures.append(error)

        run_at_once(client, 30)
        self.assertEqual(failures, [])
        entries = wait_for_entries(server.path("access.log"), sessions)
        self.assertEqual(len(entries), sessions)
        self.assertTrue(all(entry["ended"] == "error" for entry in entries))
        deadline = time.monotonic() + 30
        while server.log().count("on_session_data failed") < sessions:
            self.assertLess(time.monotonic(), deadline, server.log())
            time.sleep(0.05)
        self.assertStops(server)
        torn = [line for line in server.log().splitlines() if not LOG_LINE.match(line)]
        self.assertEqual(torn, [])


class FullDisk(WharfTestCase):
    def test_a_full_disk_drops_access_lines_and_counts_them(self):
        disk = tempfile.mkdtemp(prefix="wharf-full-")
        self.addCleanup(shutil.rmtree, disk)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", disk],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            self.skipTest("needs permission to mount a small tmpfs: " + mounted.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", disk])
        port = free_port()
        access = os.path.join(disk, "access.log")
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                     "mode": "reactor", "plugin": "echo"}},
                        host={"admin": "admin.sock", "access_log": access}).start()
        sessions = 400  # about 150 bytes a line: the disk fills after some 100
        for number in range(sessions):
            exchange(port, b"still served %d" % number)
        deadline = time.monotonic() + 30
        while True:
            reply = json.loads(server.ctl("status", "--json").stdout)
            counts = reply["listeners"][0]["sessions"]
            if counts["total"] - counts["active"] == sessions and \
                    sum(counts["ended"].values()) == sessions:
                break
            self.assertLess(time.monotonic(), deadline, counts)
            time.sleep(0.05)
        written = len(access_entries(access))
        self.assertGreater(written, 0)
        self.assertGreater(counts["access_log_dropped"], 0)
        self.assertEqual(written + counts["access_log_dropped"], sessions)
        self.assertStops(server)


# Run as `sh -c SCRIPT sh WHARFD ARGS...` under `unshare --mount`: /dev is a
# fresh tmpfs holding the usual device nodes and, as /dev/log, the test's own
# syslog socket ($1 is its folder), if it made one. Nothing outside the
# namespace changes.
PRIVATE_DEV_LOG = """set -e
folder=$1; shift
mkdir -p "$folder/realdev"
mount --rbind /dev "$folder/realdev"
mount -t tmpfs -o mode=755 none /dev
for node in null zero full random urandom tty; do
  if [ -e "$folder/realdev/$node" ]; then touch "/dev/$node"; mount --bind "$folder/realdev/$node" "/dev/$node"; fi
done
if [ -e "$folder/log.sock" ]; then touch /dev/log; mount --bind "$folder/log.sock" /dev/log; fi
exec "$@"
"""

SYSLOG_LINE = re.compile(r"^<(?P<priority>\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d "
                         r"(?P<tag>wharfd(-access)?)\[(?P<pid>\d+)\]: "
                         r"(?P<text>.*)$")


class Syslog(WharfTestCase):
    def start(self, host, daemon=True):
        """wharfd with /dev/log a datagram socket of this test's (none
        without a `daemon`)."""
        if shutil.which("unshare") is None:
            self.skipTest("needs unshare (util-linux)")
        self.port = free_port()
        self.server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{self.port}",
                                          "mode": "thread", "plugin": "echo"}},
                             host=dict({"admin": "admin.sock"}, **host))
        self.syslog = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.syslog.close)
        if daemon:
            self.syslog.bind(self.server.path("log.sock"))
        probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                PRIVATE_DEV_LOG, "sh", self.server.dir, "true"],
                               capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            self.skipTest("needs permission for a mount namespace: " + probe.stderr.strip())
        self.server.launcher = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                PRIVATE_DEV_LOG, "sh", self.server.dir]

    def received(self, timeout):
        """The next datagram's text, parsed; None if none comes within
        `timeout` seconds (0: none is queued)."""
        self.syslog.settimeout(timeout)
        try:
            datagram = self.syslog.recv(65536).decode()
        except (socket.timeout, BlockingIOError):
            return None
        match = SYSLOG_LINE.match(datagram)
        self.assertIsNotNone(match, datagram)
        return match.groupdict()

    def test_log_and_access_log_to_syslog(self):
        self.start({"log": "syslog", "access_log": "syslog"})
        received = []
        done = threading.Event()

        def collect():  # the syslog daemon: its lines are wharfd's output
            while not done.is_set():
                entry = self.received(0.1)
                if entry:
                    received.append(entry)
                    self.server.add_output([entry["text"] + "\n"])

        collector = threading.Thread(target=collect)
        collector.start()
        self.addCleanup(collector.join)
        self.addCleanup(done.set)
        self.server.start()  # its " ready, " line came through syslog
        peer = exchange(self.port, b"to syslog")
        self.server.wait_for_log(r"listener=e peer=")
        access, = [entry for entry in received if entry["text"].startswith("time=")]
        fields = ACCESS_LINE.match(access["text"]).groupdict()
        self.assertEqual((fields["peer"], fields["in"], fields["ended"]), (peer, "9", "client"))
        self.assertEqual(int(access["priority"]), 3 * 8 + 6)  # daemon.info
        self.assertEqual(access["tag"], "wharfd-access")  # routed apart by rsyslog's programname
        self.assertIn(int(access["pid"]), self.server.worker_pids())
        ready, = [entry for entry in received if " ready, " in entry["text"]]
        self.assertEqual(int(ready["priority"]), 3 * 8 + 5)  # daemon.notice
        self.assertEqual(int(ready["pid"]), self.server.process.pid)
        self.assertEqual(ready["tag"], "wharfd")
        self.assertRegex(ready["text"], r"^Notice master: wharfd \S+ ready, ")
        self.assertStops(self.server)

    def test_without_a_syslog_daemon_lines_go_to_standard_error(self):
        self.start({"log": "syslog", "access_log": "syslog"}, daemon=False)
        self.server.start()  # its " ready, " line came on standard error
        exchange(self.port, b"no daemon")
        self.server.wait_for_log(r"listener=e peer=\S+ generation=1 .* in=9 ")
        self.assertIn("log = syslog: /dev/log cannot be reached; logging to standard error",
                      self.server.log())
        self.assertRegex(self.server.log(), r"wharfd\[\d+\]: Notice master: wharfd \S+ ready, ")
        self.assertStops(self.server)

    def test_a_syslog_that_never_reads_costs_lines_not_service(self):
        self.start({"access_log": "syslog"})
        self.server.start()
        sessions = 1500  # far more than the socket's queue holds
        for number in range(sessions):
            exchange(self.port, b"%d" % number)
        deadline = time.monotonic() + 30
        while True:
            counts = json.loads(self.server.ctl("status", "--json").stdout)["listeners"][0]["sessions"]
            if sum(counts["ended"].values()) == sessions:
                break
            self.assertLess(time.monotonic(), deadline, counts)
            time.sleep(0.05)
        queued = 0
        while self.received(0.0) is not None:  # what the queue holds, without waiting
            queued += 1
        self.assertGreater(counts["access_log_dropped"], 0)
        self.assertEqual(queued + counts["access_log_dropped"], sessions)
        self.assertStops(self.server)
