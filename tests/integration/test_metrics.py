"""[host] metrics: GET /metrics in the Prometheus text format, checked by
Debian's promtool and scraped by a real Prometheus server; the counts are
the sessions the test made. A scraper that stalls never affects serving."""

import ftplib
import io
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from clients import echo_round_trip
from ftp_fixture import FtpServer
from wharf_harness import Wharfd, WharfTestCase, free_port, test_plugin, wait_until

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")


def fetch(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.headers.get("Content-Type"), response.read().decode()


def samples(text, name):
    """{labels text: value} of one metric in an exposition."""
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            labels, value = line[len(name):].rsplit(" ", 1)
            found[labels] = float(value)
    return found


def cpu_seconds(pid):
    """User and system CPU time of a process, as /proc/PID/stat has it."""
    with open(f"/proc/{pid}/stat") as stat_file:
        fields = stat_file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Metrics(WharfTestCase):
    def setUp(self):
        self.port, self.metrics = free_port(), free_port()
        self.server = self.wharfd(
            {"e": {"transport": "tcp", "listen": f"127.0.0.1:{self.port}", "plugin": "echo",
                   "mode": "reactor", "deny": "127.0.0.9"}},
            host={"metrics": f"127.0.0.1:{self.metrics}", "workers": "2",
                  "admin": "admin.sock"})
        self.addCleanup(self.assertStops, self.server)
        self.url = f"http://127.0.0.1:{self.metrics}/metrics"

    def test_the_exposition_counts_what_happened_and_passes_promtool(self):
        for _ in range(5):
            self.assertEqual(echo_round_trip(self.port, b"ping"), b"ping")
        with socket.socket() as denied:
            denied.bind(("127.0.0.9", 0))
            denied.connect(("127.0.0.1", self.port))
            denied.settimeout(30)
            self.assertEqual(denied.recv(1), b"")
        status, content_type, text = fetch(self.url)
        self.assertEqual(status, 200)
        self.assertEqual(content_type, "text/plain; version=0.0.4; charset=utf-8")
        labels = '{listener="e",transport="tcp",mode="reactor",plugin="echo"'
        self.assertEqual(samples(text, "wharf_listener_sessions_accepted_total"),
                         {labels + "}": 5.0})
        refused = samples(text, "wharf_listener_sessions_refused_total")
        self.assertEqual(refused[labels + ',reason="access"}'], 1.0)
        self.assertEqual(refused[labels + ',reason="max_connections"}'], 0.0)
        self.assertEqual(list(samples(text, "wharf_build_info").values()), [1.0])
        # A process is named by its role and slot, and wharf_process_id says its pid: a
        # replaced worker continues its slot's series.
        pids = {labels: int(pid) for labels, pid in samples(text, "wharf_process_id").items()}
        master = '{role="master",group="",slot=""}'
        self.assertEqual(set(pids), {'{role="worker",group="main",slot="0"}',
                                     '{role="worker",group="main",slot="1"}', master})
        self.assertEqual(pids[master], self.server.process.pid)
        self.assertEqual(sorted(pid for labels, pid in pids.items() if "worker" in labels),
                         sorted(self.server.worker_pids()))
        rss = samples(text, "wharf_process_resident_memory_bytes")
        self.assertEqual(set(rss), set(pids))
        max_fds = samples(text, "wharf_process_max_fds")
        for labels, pid in pids.items():
            with open(f"/proc/{pid}/limits") as limits:
                soft = next(int(line.split()[3]) for line in limits
                            if line.startswith("Max open files"))
            self.assertEqual(max_fds[labels], soft)
        # Each process's CPU time is the kernel's, read between two readings of ours
        # (a quiet, fast machine may show 0: less than a clock tick).
        before = {labels: cpu_seconds(pid) for labels, pid in pids.items()}
        cpu = samples(fetch(self.url)[2], "wharf_process_cpu_seconds_total")
        after = {labels: cpu_seconds(pid) for labels, pid in pids.items()}
        for labels in pids:
            self.assertLessEqual(before[labels], cpu[labels])
            self.assertLessEqual(cpu[labels], after[labels])
        self.assertEqual(sorted(samples(text, "wharf_worker_up").values()), [1.0, 1.0])
        if PROMTOOL:
            check = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        else:
            self.fail("promtool (Debian's prometheus package) is not installed")

    def test_a_long_sessions_bytes_count_while_it_runs(self):
        # They were counted when a session ended: a long transfer was 0 B/s
        # in every scrape, then one spike. A session adds them each second.
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as client:
            sent = 0

            def counted_while_open():
                nonlocal sent
                client.sendall(b"x" * 1000)
                sent += 1000
                received = 0
                while received < 1000:
                    received += len(client.recv(1000 - received))
                values = samples(fetch(self.url)[2], "wharf_listener_received_bytes_total")
                return sum(value for labels, value in values.items()
                           if 'listener="e"' in labels) >= 1000

            wait_until(counted_while_open, "bytes counted while the session is open")
        wait_until(lambda: sum(samples(fetch(self.url)[2], "wharf_listener_received_bytes_total")
                               .values()) == sent, "every byte counted once, at the end")

    def test_other_paths_are_not_found(self):
        for path in ("/nope", "/metrics/extra", "/nope?metrics"):
            with self.assertRaises(urllib.error.HTTPError) as caught:
                fetch(f"http://127.0.0.1:{self.metrics}{path}")
            self.assertEqual(caught.exception.code, 404)

    def test_status_json_is_the_status_with_the_time(self):
        echo_round_trip(self.port, b"abc")
        fetched = {}

        def session_counted():
            """A session's bytes are written down as it ends, which may be
            after the client has its echo."""
            fetched["before"] = time.time() * 1000
            fetched["reply"] = fetch(f"http://127.0.0.1:{self.metrics}/status.json")
            sessions = json.loads(fetched["reply"][2])["listeners"][0]["sessions"]
            return (sessions["bytes_in"], sessions["bytes_out"]) == (3, 3)

        wait_until(session_counted, "the session's 3 bytes each way in /status.json")
        status, content_type, text = fetched["reply"]
        self.assertEqual((status, content_type), (200, "application/json"))
        reply = json.loads(text)
        self.assertLessEqual(abs(reply["time_ms"] - fetched["before"]), 60000)
        listener, = reply["listeners"]
        self.assertEqual((listener["name"], listener["workers"]), ("e", 2))

    def test_a_reload_moves_the_endpoint(self):
        moved = free_port()
        self.server.host["metrics"] = f"127.0.0.1:{moved}"
        self.server.write_config()
        reply = self.server.ctl("reload")
        self.assertEqual(reply.returncode, 0, reply.stderr)
        self.assertIn(f"[host] metrics: now 127.0.0.1:{moved} (was 127.0.0.1:{self.metrics})",
                      reply.stdout)
        self.assertEqual(fetch(f"http://127.0.0.1:{moved}/metrics")[0], 200)
        with self.assertRaises(urllib.error.URLError):
            fetch(self.url)
        # An address that cannot be bound: the endpoint stays where it is.
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            self.server.host["metrics"] = "127.0.0.1:%d" % taken.getsockname()[1]
            self.server.write_config()
            reply = self.server.ctl("reload")
        self.assertEqual(reply.returncode, 0, reply.stderr)
        self.assertIn(f"[host] metrics: kept 127.0.0.1:{moved}: metrics tcp 127.0.0.1:",
                      reply.stdout)
        self.assertEqual(fetch(f"http://127.0.0.1:{moved}/metrics")[0], 200)

    def test_a_query_string_is_ignored(self):
        # Some scrapers add one (?format=..., a cache buster): it used to be 404.
        self.assertEqual(fetch(self.url + "?x=1")[0], 200)
        self.assertEqual(fetch(f"http://127.0.0.1:{self.metrics}/status.json?t=5")[0], 200)

    def test_idle_and_dripping_peers_cannot_starve_a_scrape(self):
        """Poco's HTTPServer gave each connection a thread and a timeout per
        read: 50 idle connections, or peers sending a header byte every 2 s,
        kept every scrape waiting. Each connection now has one deadline for
        its whole request, all are served side by side by one event loop."""
        peers = []
        self.addCleanup(lambda: [peer.close() for peer in peers])
        for _ in range(50):
            peers.append(socket.create_connection(("127.0.0.1", self.metrics), timeout=30))
        drippers = peers[:40]
        for round_number in range(3):
            for peer in drippers:
                peer.sendall(b"GET /metrics HTTP/1.1\r\nX-Drip: "[:round_number + 1])
            status, _, text = fetch(self.url, timeout=20)
            self.assertEqual(status, 200)
            self.assertIn("wharf_worker_up", text)

    def test_stalled_scrapers_never_affect_serving(self):
        stalled = []
        self.addCleanup(lambda: [client.close() for client in stalled])
        for _ in range(50):  # far more than the endpoint's threads and queue
            stalled.append(socket.create_connection(("127.0.0.1", self.metrics), timeout=30))
        for _ in range(20):
            self.assertEqual(echo_round_trip(self.port, b"ping"), b"ping")
        result = self.server.ctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        for client in stalled:
            client.close()
        stalled.clear()
        for _ in range(100):  # the endpoint serves again once they are gone
            try:
                if fetch(self.url, timeout=5)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.fail("the metrics endpoint did not recover")

    def test_a_replacement_worker_inherits_no_scrape_connection(self):
        scrapers = []
        self.addCleanup(lambda: [client.close() for client in scrapers])
        for _ in range(5):  # accepted by the endpoint, held open
            scrapers.append(socket.create_connection(("127.0.0.1", self.metrics), timeout=30))
        time.sleep(0.2)
        victim = self.server.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        self.server.wait_for_log(r"serving in place of the one that died")
        replacement = [pid for pid in self.server.worker_pids() if pid != victim]
        listing = subprocess.run(["ss", "-tnpH", "state", "established", "( sport = :%d )"
                                  % self.metrics], capture_output=True, text=True, timeout=30)
        owners = set(re.findall(r"pid=(\d+)", listing.stdout))
        self.assertTrue(owners, listing.stdout)  # the master holds them
        for pid in replacement:
            self.assertNotIn(str(pid), owners, listing.stdout)
        for client in scrapers:
            client.close()
        scrapers.clear()
        text = fetch(self.url)[2]
        signals = samples(text, "wharf_worker_last_crash_signal")
        restarts = samples(text, "wharf_worker_restarts_total")
        self.assertEqual(sorted(signals.values()), [0.0, float(signal.SIGKILL)])
        self.assertEqual(sorted(restarts.values()), [0.0, 1.0])

    def test_reloads_are_counted_by_outcome(self):
        self.assertEqual(self.server.ctl("reload").returncode, 0)
        with open(self.server.config_path, "a") as config:
            config.write("colour = blue\n")  # an unknown key: refused
        self.assertEqual(self.server.ctl("reload").returncode, 1)
        self.assertEqual(samples(fetch(self.url)[2], "wharf_reloads_total"),
                         {'{outcome="applied"}': 1.0, '{outcome="refused"}': 1.0})

    def test_a_real_prometheus_scrapes_the_session_count(self):
        if not PROMETHEUS:
            self.fail("prometheus (Debian's prometheus package) is not installed")
        for _ in range(7):
            self.assertEqual(echo_round_trip(self.port, b"ping"), b"ping")
        directory = tempfile.mkdtemp(prefix="wharf-prometheus-")
        self.addCleanup(shutil.rmtree, directory)
        config = os.path.join(directory, "prometheus.yml")
        with open(config, "w") as out:
            out.write("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                      "  - job_name: wharf\n    static_configs:\n"
                      f"      - targets: ['127.0.0.1:{self.metrics}']\n")
        web = free_port()
        prometheus = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={directory}/data",
             f"--web.listen-address=127.0.0.1:{web}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(prometheus.wait)
        self.addCleanup(prometheus.terminate)
        query = urllib.parse.urlencode(
            {"query": 'sum(wharf_listener_sessions_accepted_total{listener="e",job="wharf"})'})
        value = None
        for _ in range(300):
            try:
                _, _, body = fetch(f"http://127.0.0.1:{web}/api/v1/query?{query}", timeout=5)
                result = json.loads(body)["data"]["result"]
                if result:
                    value = float(result[0]["value"][1])
                    break
            except OSError:
                pass
            time.sleep(0.1)
        self.assertEqual(value, 7.0)


class FtpDataBytes(WharfTestCase):
    """The FTP plugin moves its files on data connections of its own: a 3,000,000-byte
    RETR added the 365 bytes of its control connection to the listener's counters."""

    def test_data_connections_count_under_the_listener_as_they_flow(self):
        metrics = free_port()
        server = FtpServer(self, daemon={"metrics": f"127.0.0.1:{metrics}"}).start()
        url = f"http://127.0.0.1:{metrics}/metrics"

        def counted(name):
            return sum(samples(fetch(url)[2], name).values())

        server.put("home/alice/big.bin", os.urandom(32 << 20))
        ftp = server.client("alice")
        time.sleep(1.1)  # past the session's first second: from here its bytes count as they go
        connection, _ = ftp.ntransfercmd("RETR big.bin")
        received = 0
        while received < 4 << 20:
            received += len(connection.recv(1 << 20))
        # A session adds its bytes to the listener's at most once a second, as it moves more:
        # read on past the second, so the server sends (and counts) again.
        time.sleep(1.1)
        while received < 8 << 20:
            received += len(connection.recv(1 << 20))
        # The transfer is still going (the client stopped reading), and its bytes are there.
        wait_until(lambda: counted("wharf_listener_sent_bytes_total") >= 1 << 20,
                   "a running RETR's bytes in wharf_listener_sent_bytes_total")
        connection.close()
        try:
            ftp.getresp()
        except ftplib.error_temp:  # 426: the server saw the data connection go
            pass
        ftp.storbinary("STOR up.bin", io.BytesIO(os.urandom(1000000)))
        ftp.retrbinary("RETR up.bin", lambda chunk: None)
        ftp.quit()
        wait_until(lambda: counted("wharf_listener_received_bytes_total") >= 1000000,
                   "the STOR's bytes in wharf_listener_received_bytes_total")
        self.assertGreaterEqual(counted("wharf_listener_sent_bytes_total"), (4 << 20) + 1000000)
        self.assertStops(server.server)


class MetricsRefusals(WharfTestCase):
    def test_a_unix_socket_endpoint(self):
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": "echo"}},
                        {"metrics": "./metrics.sock"}).start()
        path = server.path("metrics.sock")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o660)
        scrape = subprocess.run(["curl", "-sS", "--unix-socket", path, "http://wharf/metrics"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(scrape.returncode, 0, scrape.stderr)
        self.assertEqual(list(samples(scrape.stdout, "wharf_build_info").values()), [1.0])
        self.assertStops(server)
        self.assertFalse(os.path.exists(path))

    def test_a_taken_or_clashing_address_starts_nothing(self):
        port = free_port()
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = taken.getsockname()[1]
            server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                         "plugin": "echo"}},
                            {"metrics": f"127.0.0.1:{busy}"})
            self.assertEqual(server.start(expect_ready=False), 2)
            self.assertIn(f"metrics tcp 127.0.0.1:{busy}: bind: Address already in use",
                          server.log())
        clash = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                    "plugin": "echo"}}, {"metrics": f"*:{port}"})
        self.assertEqual(clash.start(expect_ready=False), 2)
        self.assertIn("[listener.e] listen: address already used by [host] metrics", clash.log())


class PluginMetrics(WharfTestCase):
    """Metrics a plugin declares (SDK 1.2), summed over two workers, kept across
    a reload, in the status JSON and in /metrics."""

    def test_declared_counters_and_gauges_reach_status_and_metrics(self):
        port, metrics = free_port(), free_port()
        server = Wharfd(self, {"m": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                     "mode": "reactor", "plugin": test_plugin("metered")}},
                        host={"metrics": f"127.0.0.1:{metrics}", "workers": "2",
                              "admin": "admin.sock"})
        server.start()
        held = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.addCleanup(held.close)
        for line in (b"apple\n", b"pear\n", b"avocado\n") * 4:  # 12 sessions, 4 of each
            self.assertEqual(echo_round_trip(port, line), line)
        total = (6 + 5 + 8) * 4
        url = f"http://127.0.0.1:{metrics}/metrics"
        labels = '{listener="m"'

        def echoed():
            return samples(fetch(url)[2], "wharf_plugin_echoed_bytes_total").get(labels + "}")

        self.assertEqual(echoed(), total)  # both workers' sessions, summed
        text = fetch(url)[2]
        self.assertEqual(samples(text, "wharf_plugin_lines_total"),
                         {labels + ',kind="a"}': 8.0, labels + ',kind="other"}': 4.0})
        self.assertEqual(samples(text, "wharf_plugin_open_sessions"), {labels + "}": 1.0})
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        status = json.loads(server.ctl("status", "--json").stdout)
        metric = status["listeners"][0]["plugin_metrics"]["echoed_bytes_total"]
        self.assertEqual((metric["kind"], metric["help"], metric["series"]),
                         ("counter", "Bytes echoed.", {"": total}))
        # A reload makes new instances; the counter goes on from where it was.
        server.listeners["m"]["option.generation"] = "2"
        server.write_config()
        self.assertEqual(server.ctl("reload").returncode, 0)
        server.wait_for_log(r"generation 2 \(metered 0\.0\.1\) serving")
        self.assertEqual(echo_round_trip(port, b"again\n"), b"again\n")
        self.assertEqual(echoed(), total + 6)
        # Misuse is refused with a reason, the host untouched.
        self.assertIn("metric misuse: 1 1 1 -4 -4", server.log())
        self.assertIn("metric refused: bad name 'Bad-Name'", server.log())
        self.assertIn("metric refused: counter 'no_suffix' must end in _total", server.log())
        held.close()
        self.assertStops(server)

    def test_fork_mode_session_processes_count_in_the_listeners_series(self):
        port, metrics = free_port(), free_port()
        server = Wharfd(self, {"f": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                     "mode": "fork", "plugin": test_plugin("metered")}},
                        host={"metrics": f"127.0.0.1:{metrics}", "admin": "admin.sock"})
        server.start()
        url = f"http://127.0.0.1:{metrics}/metrics"
        labels = '{listener="f"}'

        def series(name):
            return samples(fetch(url)[2], "wharf_plugin_" + name).get(labels)

        def eventually(name, expected):  # a session process closes after its client has read
            wait_until(lambda: series(name) == expected, f"{name} is {expected}")

        # Each session is a process of its own; it counts before it echoes.
        for line in (b"apple\n", b"pear\n") * 3:
            self.assertEqual(echo_round_trip(port, line), line)
        self.assertEqual(series("echoed_bytes_total"), (6 + 5) * 3)
        eventually("open_sessions", 0)
        # A reload's generation is loaded in the fork helper too; its sessions go on counting.
        server.listeners["f"]["option.generation"] = "2"
        server.write_config()
        self.assertEqual(server.ctl("reload").returncode, 0)
        server.wait_for_log(r"generation 2 \(metered 0\.0\.1\) serving")
        held = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.addCleanup(held.close)
        held.sendall(b"again\n")
        self.assertEqual(held.recv(100), b"again\n")
        self.assertEqual(series("echoed_bytes_total"), (6 + 5) * 3 + 6)
        self.assertEqual(series("open_sessions"), 1)
        status = json.loads(server.ctl("status", "--json").stdout)
        lines = status["listeners"][0]["plugin_metrics"]["lines_total"]["series"]
        self.assertEqual(lines, {"kind=a": 4, "kind=other": 3})
        held.close()
        eventually("open_sessions", 0)
        self.assertStops(server)
