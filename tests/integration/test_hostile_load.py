"""Hostile peers against real listeners: clients that send and never read,
silent connections by the thousand, datagram floods and a worker out of
descriptors. wharfd's memory, threads and descriptors stay bounded, refusals
are counted, and a well-behaved client of a neighbouring listener is served
meanwhile."""

import json
import os
import select
import socket
import subprocess
import threading
import time

from clients import receive_exactly
from wharf_harness import WHARFD, Wharfd, WharfTestCase, free_port

MB = 1 << 20


def process_status(pid, field):
    """A number from /proc/PID/status (VmRSS in kB, Threads)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def send_without_reading(port, limit):
    """Sends to 127.0.0.1:port and never reads, until the server stops
    taking bytes (nothing more fits for 2 s) or `limit` bytes went out.
    Returns the connection (still open) and how many bytes it sent."""
    client = socket.create_connection(("127.0.0.1", port))
    client.setblocking(False)
    chunk = b"x" * (256 * 1024)
    sent = 0
    while sent < limit:
        try:
            sent += client.send(chunk)
        except BlockingIOError:
            if not select.select([], [client], [], 2)[1]:
                break
    return client, sent


def round_trip(port, payload=b"neighbour"):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(payload)
        return receive_exactly(client, len(payload))


class NonReadingClients(WharfTestCase):
    """Output back-pressure: a reactor session whose peer does not read stops
    being read once output_high_water bytes wait for that peer."""

    def test_reactor_stops_reading_a_peer_that_never_reads(self):
        port = free_port()
        server = self.wharfd({"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                    "plugin": "echo", "mode": "reactor"}})
        self.addCleanup(self.assertStops, server)
        worker = server.worker_pid()
        rss_before = process_status(worker, "VmRSS")
        hogs = []
        results = []
        lock = threading.Lock()

        def hog():
            client, sent = send_without_reading(port, 256 * MB)
            with lock:
                hogs.append(client)
                results.append(sent)

        threads = [threading.Thread(target=hog) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.addCleanup(lambda: [client.close() for client in hogs])
        # Each hog is stopped by full buffers (the kernel's and at most the
        # default 1 MiB high-water mark), long before its 256 MB.
        for sent in results:
            self.assertLess(sent, 64 * MB)
        grown_kb = process_status(worker, "VmRSS") - rss_before
        self.assertLess(grown_kb, 4 * 4 * 1024 + 16 * 1024, "RSS grew by %d kB" % grown_kb)
        # The loop still serves a neighbour on the same listener.
        self.assertEqual(round_trip(port), b"neighbour")

    def test_high_water_mark_is_configurable(self):
        port = free_port()
        server = self.wharfd({"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                    "plugin": "echo", "mode": "reactor",
                                    "output_high_water": "8192"}})
        self.addCleanup(self.assertStops, server)
        client, sent = send_without_reading(port, 256 * MB)
        with client:
            self.assertLess(sent, 64 * MB)
            # What was held back is still echoed, in order, once the peer reads.
            client.setblocking(True)
            client.settimeout(30)
            self.assertEqual(len(receive_exactly(client, sent)), sent)


def under_address_space_limit(kilobytes):
    """A launcher prefix that runs wharfd under `ulimit -v kilobytes`."""
    return ["sh", "-c", f'ulimit -v {kilobytes} && exec "$@"', "sh"]


class OutOfThreads(WharfTestCase):
    """No thread to be had (ulimit -v: each thread's stack is address space)
    is an error of that listener or session: a reload that cannot start its
    threads is refused and rolled back, and a session without a thread is a
    counted refusal. Before, both aborted or hung wharfd."""

    def setUp(self):
        probe = subprocess.run(under_address_space_limit(2000000) + [WHARFD, "--version"],
                               capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            self.skipTest("wharfd does not run under ulimit -v here (a sanitizer build reserves "
                          "terabytes of shadow memory)")

    def start(self, listeners, kilobytes):
        server = Wharfd(self, listeners, {"admin": "admin.sock"})
        server.launcher = under_address_space_limit(kilobytes)
        return server.start()

    def test_a_reload_that_cannot_start_its_threads_is_refused_and_rolled_back(self):
        port, first, second = free_port(), free_port(), free_port()
        echo = {"transport": "tcp", "listen": f"127.0.0.1:{port}", "plugin": "echo"}
        server = self.start({"e": echo}, 2000000)
        self.addCleanup(self.assertStops, server)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as held:
            held.sendall(b"before")
            self.assertEqual(receive_exactly(held, 6), b"before")
            # Each pool passes the config check (under half the address space),
            # but both together cannot have their threads.
            pool = {"transport": "tcp", "plugin": "echo", "mode": "pool", "workers": "110"}
            server.listeners.update({"p1": dict(pool, listen=f"127.0.0.1:{first}"),
                                     "p2": dict(pool, listen=f"127.0.0.1:{second}")})
            server.write_config()
            for attempt in range(2):
                result = server.ctl("reload")
                self.assertEqual(result.returncode, 1, result.stdout)
                self.assertRegex(result.stderr, r"listener \[listener\.p[12]\]: ")
            server.wait_for_log(r"reload refused, nothing changed: listener \[listener\.p[12]\]")
            self.assertNotIn("partly applied", server.log())
            # Nothing changed: the old listener serves, old session included.
            held.sendall(b"after")
            self.assertEqual(receive_exactly(held, 5), b"after")
            self.assertEqual(round_trip(port), b"neighbour")
            status = json.loads(server.ctl("status", "--json").stdout)
            self.assertEqual([listener["name"] for listener in status["listeners"]], ["e"])
            for refused_port in (first, second):
                with socket.socket() as probe:
                    self.assertNotEqual(probe.connect_ex(("127.0.0.1", refused_port)), 0)

    def test_a_session_without_a_thread_is_a_counted_refusal(self):
        port = free_port()
        server = self.start({"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                   "plugin": "echo", "mode": "thread"}}, 1000000)
        self.addCleanup(self.assertStops, server)
        held = []
        self.addCleanup(lambda: [client.close() for client in held])
        for _ in range(400):  # more 8 MiB stacks than 1 GB of address space holds
            try:
                held.append(socket.create_connection(("127.0.0.1", port), timeout=30))
            except OSError:
                break
        refused = 0
        for _ in range(100):
            status = json.loads(server.ctl("status", "--json").stdout)
            refused = status["listeners"][0]["sessions"]["refused"]["resources"]
            if refused:
                break
            time.sleep(0.1)
        self.assertGreater(refused, 0, server.log())
        server.wait_for_log(r"refused 127\.0\.0\.1:\d+ \(resources\)")
        for client in held:
            client.close()
        held.clear()
        # Threads are back once those sessions end: a new session is served.
        for _ in range(200):
            try:
                if round_trip(port) == b"neighbour":
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.fail("not served again:\n" + server.log())
