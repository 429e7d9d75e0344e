"""wharfctl against a running wharfd: status as a table and as JSON (with live
session counts), stop, the 0600 control socket, errors for malformed
requests, a reload that changes nothing, and a control socket that idle and
dripping clients cannot hold (with wharfctl's --timeout)."""

import json
import os
import re
import socket
import stat
import subprocess
import threading
import time

from clients import receive_exactly, stream_connect
from wharf_harness import WHARFD, WharfTestCase, free_port, test_plugin, wait_until

WHARFCTL = os.path.join(os.path.dirname(WHARFD), "wharfctl")


class Wharfctl(WharfTestCase):
    def setUp(self):
        self.port = free_port()
        self.server = self.wharfd(
            {"echo-tcp": {"transport": "tcp", "listen": f"127.0.0.1:{self.port}",
                          "mode": "thread", "plugin": "echo"},
             "echo-udp": {"transport": "udp", "listen": f"127.0.0.1:{self.port}",
                          "mode": "sync", "plugin": "echo"}},
            host={"admin": "admin.sock"})
        self.admin = self.server.path("admin.sock")

    def ctl(self, *arguments):
        return subprocess.run([WHARFCTL, "--admin", self.admin, *arguments],
                              capture_output=True, text=True, timeout=60)

    def test_status_json_counts_sessions(self):
        with stream_connect("tcp", f"127.0.0.1:{self.port}") as session:
            session.sendall(b"x")
            receive_exactly(session, 1)
            result = self.ctl("status", "--json")
            self.assertEqual(result.returncode, 0, result.stderr)
            status = json.loads(result.stdout)
            tcp = next(l for l in status["listeners"] if l["name"] == "echo-tcp")
            self.assertEqual(tcp["transport"], "tcp")
            self.assertEqual(tcp["listen"], f"127.0.0.1:{self.port}")
            self.assertEqual(tcp["mode"], "thread")
            self.assertEqual(tcp["plugin"]["name"], "echo")
            self.assertEqual(tcp["plugin"]["version"], "1.0.0")
            self.assertEqual(tcp["plugin"]["generation"], 1)
            self.assertEqual(tcp["sessions"]["active"], 1)
            self.assertEqual(tcp["sessions"]["total"], 1)
            self.assertEqual(tcp["sessions"]["refused"],
                             {"access": 0, "max_connections": 0, "max_per_source": 0,
                              "queue_full": 0, "max_children": 0, "resources": 0,
                              "wait_for_data": 0, "max_datagram": 0, "proxy_from": 0,
                              "proxy_header": 0, "loop": 0, "datagram_rate": 0})
        self.assertStops(self.server)

    def test_status_table(self):
        result = self.ctl("status")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        # The build is the commit it was made from (git describe), so two
        # builds of one version can be told apart.
        commit = subprocess.run(["git", "-C", os.environ["WHARF_SOURCE_DIR"], "describe",
                                 "--always", "--dirty", "--abbrev=12"],
                                capture_output=True, text=True, timeout=60).stdout.strip()
        self.assertRegex(lines[0], rf"^wharfd \S+ \(build {re.escape(commit or 'unknown')}\), "
                                   rf"master pid {self.server.process.pid} \(root\), "
                                   r"up \d+s, upgrades 0$")
        self.assertEqual(lines[2].split(), ["WORKER", "GROUP", "STATE", "USER", "UPTIME",
                                            "RESTARTS", "VERSION"])
        self.assertEqual(lines[3].split()[:4], [str(self.server.worker_pid()), "main", "serving",
                                                "root"])
        self.assertEqual(lines[5].split(), ["LISTENER", "TRANSPORT", "ADDRESS", "MODE", "PLUGIN",
                                            "GEN", "ACTIVE", "TOTAL"])
        self.assertEqual(lines[6].split(), ["echo-tcp", "tcp", f"127.0.0.1:{self.port}",
                                            "thread", "echo", "1.0.0", "1", "0", "0"])
        self.assertStops(self.server)

    def test_the_control_socket_is_private(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.admin).st_mode), 0o600)
        self.assertStops(self.server)

    def test_malformed_requests_get_errors_and_wharfd_goes_on(self):
        for request in [b"not json\n", b"[1, 2]\n", b'{"command": 7}\n', b'{"command": "x"}\n',
                        b"\x00\xff" * 40000 + b"\n", b""]:
            with self.subTest(request=request[:20]):
                with socket.socket(socket.AF_UNIX) as client:
                    client.settimeout(20)
                    client.connect(self.admin)
                    client.sendall(request)
                    client.shutdown(socket.SHUT_WR)
                    reply = json.loads(client.makefile().readline())
                    self.assertFalse(reply["ok"])
                    self.assertTrue(reply["error"])
        self.assertEqual(self.ctl("status").returncode, 0)
        self.assertStops(self.server)

    def test_reload_of_an_unchanged_config_changes_nothing(self):
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "wharfd: no changes\n")
        status = json.loads(self.ctl("status", "--json").stdout)
        self.assertEqual([l["plugin"]["generation"] for l in status["listeners"]], [1, 1])
        self.assertStops(self.server)

    def test_stop_stops_gracefully(self):
        result = self.ctl("stop")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.server.wait(), 0, self.server.log())
        self.assertFalse(os.path.exists(self.admin))

    def test_unreachable_wharfd_and_usage_errors(self):
        self.assertStops(self.server)
        result = self.ctl("status")
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot reach wharfd at", result.stderr)
        self.assertEqual(self.ctl("dance").returncode, 2)

    def test_idle_and_dripping_clients_do_not_hold_the_control_socket(self):
        idle = []
        self.addCleanup(lambda: [client.close() for client in idle])
        for _ in range(300):
            client = socket.socket(socket.AF_UNIX)
            client.connect(self.admin)
            idle.append(client)
        stop = threading.Event()

        def drip():
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(self.admin)
                while not stop.wait(0.5):
                    try:
                        client.sendall(b" ")
                    except OSError:
                        return

        drippers = [threading.Thread(target=drip) for _ in range(20)]
        for dripper in drippers:
            dripper.start()
        try:
            # Each answers within wharfctl's default 10 s timeout (before, each
            # waited its turn behind every idle client's 5 s).
            for command in ("status", "reload", "status"):
                result = self.ctl(command)
                self.assertEqual(result.returncode, 0, result.stderr)
        finally:
            stop.set()
            for dripper in drippers:
                dripper.join()
        # The oldest idle client is closed at its request deadline (10 s).
        idle[0].settimeout(60)
        self.assertEqual(idle[0].recv(1), b"")
        self.assertStops(self.server)

    def test_more_clients_than_the_bound_evict_the_oldest(self):
        idle = []
        self.addCleanup(lambda: [client.close() for client in idle])
        for _ in range(600):  # AdminServer::kMaxConnections is 512
            client = socket.socket(socket.AF_UNIX)
            client.connect(self.admin)
            idle.append(client)
        result = self.ctl("status")
        self.assertEqual(result.returncode, 0, result.stderr)
        idle[0].settimeout(60)
        self.assertEqual(idle[0].recv(1), b"")  # evicted, long before its deadline
        self.assertStops(self.server)

    def test_timeout_when_nothing_answers(self):
        self.assertStops(self.server)
        silent = socket.socket(socket.AF_UNIX)
        self.addCleanup(silent.close)
        path = self.server.path("silent.sock")
        silent.bind(path)
        silent.listen(1)
        started = time.monotonic()
        result = subprocess.run([WHARFCTL, "--admin", path, "--timeout", "1", "status"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 1)
        self.assertIn("no answer from wharfd within 1 s (--timeout)", result.stderr)
        self.assertLess(time.monotonic() - started, 30)  # not the old endless wait
        bad = subprocess.run([WHARFCTL, "--admin", path, "--timeout", "0", "status"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(bad.returncode, 2)


class DrainingGenerations(WharfTestCase):
    """While a reload's old plugin generation drains, status showed one row, the
    new generation's: the old code's version and the sessions it still serves
    were nowhere. Each loaded generation is listed now, in the table too."""

    def test_status_shows_each_generation_while_the_old_one_drains(self):
        port = free_port()
        server = self.wharfd({"g": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                    "mode": "thread", "plugin": test_plugin("greeter")}},
                             host={"admin": "admin.sock"})
        held = stream_connect("tcp", f"127.0.0.1:{port}")
        self.addCleanup(held.close)
        held.recv(100)  # the greeting: the session is on generation 1
        server.listeners["g"]["option.greeting"] = "hi"
        server.write_config()
        self.assertEqual(server.ctl("reload").returncode, 0)

        def generations():
            status = json.loads(server.ctl("status", "--json").stdout)
            return [(g["generation"], g["version"], g["sessions"])
                    for g in status["listeners"][0]["plugin"]["generations"]]

        self.assertEqual(generations(), [(2, "2.0.0", 0), (1, "2.0.0", 1)])
        rows = [line.split() for line in server.ctl("status").stdout.splitlines()]
        self.assertIn(["older", "code", "greeter", "2.0.0", "1", "1", "-"], rows)
        held.close()
        wait_until(lambda: generations() == [(2, "2.0.0", 0)], "the old generation unloaded")
        self.assertStops(server)


class ReplacingWorker(WharfTestCase):
    def test_a_worker_being_replaced_keeps_every_key(self):
        # status --json dropped a worker's pid (and uptime) while it was being
        # replaced: a reader's schema changed under it. They are null and 0 now.
        server = self.wharfd({"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                    "plugin": "echo"}}, host={"admin": "admin.sock"})

        def workers():
            return json.loads(server.ctl("status", "--json").stdout)["workers"]

        seen = []
        for _ in range(8):  # each death in a row backs the next replacement off longer
            pid = server.worker_pid()
            os.kill(pid, 9)
            wait_until(lambda: any(w["state"] == "replacing" and seen.append(w) is None
                                   for w in workers()) or server.worker_pids() not in ([], [pid]),
                       "the slot replacing or replaced")
            if seen:
                break
            wait_until(lambda: server.worker_pids() not in ([], [pid]), "a replacement")
        self.assertTrue(seen, "no status showed the slot while it was being replaced")
        self.assertEqual((seen[0]["pid"], seen[0]["uptime_ms"]), (None, 0))
        self.assertEqual(set(seen[0]) - {"last_signal"},
                         {"group", "restarts", "state", "pid", "uptime_ms"})
        wait_until(lambda: [w["state"] for w in workers()] == ["serving"], "the worker back")
        self.assertTrue(set(workers()[0]) >= {"pid", "uptime_ms", "user", "version"})
        self.assertStops(server)
