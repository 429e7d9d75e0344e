"""Hostile peers against real listeners: clients that send and never read,
silent connections by the thousand, datagram floods and a worker out of
descriptors. wharfd's memory, threads and descriptors stay bounded, refusals
are counted, and a well-behaved client of a neighbouring listener is served
meanwhile."""

import json
import os
import pwd
import resource
import select
import socket
import threading
import time

from clients import echo_round_trip, receive_exactly, run_at_once
from wharf_harness import (Wharfd, WharfTestCase, children_of, cpu_seconds, free_port,
                           process_status, sanitized_build, under_address_space_limit)

MB = 1 << 20


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


def round_trip(port):
    return echo_round_trip(port, b"neighbour")


def hold_connections(testcase, port, count, until_refused=False, first=b""):
    """`count` connections to 127.0.0.1:port that send `first` and then
    nothing, closed when the test ends; with `until_refused`, fewer if a
    connect fails."""
    held = []
    testcase.addCleanup(lambda: [client.close() for client in held])
    for _ in range(count):
        try:
            client = socket.create_connection(("127.0.0.1", port), timeout=30)
            held.append(client)
            client.sendall(first)
        except OSError:
            if not until_refused:
                raise
            break
    return held


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

        def hog(_):
            client, sent = send_without_reading(port, 256 * MB)
            with lock:
                hogs.append(client)
                results.append(sent)

        run_at_once(hog, 4)
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


class OutOfThreadsAndProcesses(WharfTestCase):
    """No thread or process to be had (ulimit -v: each thread's stack is
    address space; ulimit -u for workers that run as nobody) is an error of
    that listener or session: a reload that cannot start its threads is
    refused and rolled back, and a session without a thread or process is a
    counted refusal. Before, both aborted or hung wharfd."""

    def setUp(self):
        if sanitized_build():
            self.skipTest("a sanitizer build does not run under ulimit -v")

    def start(self, listeners, launcher, host=None):
        server = Wharfd(self, listeners, dict({"admin": "admin.sock"}, **(host or {})))
        server.launcher = launcher
        return server.start()

    def assertRefusedForResources(self, server, held):
        """Refusals for want of resources are logged, then (once the held
        sessions end and the worker has memory to answer status) counted."""
        server.wait_for_log(r"refused 127\.0\.0\.1:\d+ \(resources\)")
        for client in held:
            client.close()
        for _ in range(100):
            status = json.loads(server.ctl("status", "--json").stdout)
            if any(listener["sessions"]["refused"]["resources"]
                   for listener in status["listeners"]):
                return
            time.sleep(0.1)
        self.fail("refusals for want of resources not counted:\n" + server.log())

    def assertServedAgain(self, server, port):
        for _ in range(200):  # threads and processes are back once sessions end
            try:
                if round_trip(port) == b"neighbour":
                    return
            except OSError:
                time.sleep(0.1)
        self.fail("not served again:\n" + server.log())

    def test_a_reload_that_cannot_start_its_threads_is_refused_and_rolled_back(self):
        port, first, second = free_port(), free_port(), free_port()
        echo = {"transport": "tcp", "listen": f"127.0.0.1:{port}", "plugin": "echo"}
        server = self.start({"e": echo}, under_address_space_limit(2000000))
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
                                   "plugin": "echo", "mode": "thread", "wait_for_data": "0"}},
                            under_address_space_limit(1000000))
        self.addCleanup(self.assertStops, server)
        held = hold_connections(self, port, 400, until_refused=True)  # more 8 MiB stacks than 1 GB of address space holds
        self.assertRefusedForResources(server, held)
        self.assertServedAgain(server, port)

    def test_a_session_without_a_process_is_a_counted_refusal(self):
        try:
            pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user nobody")
        port = free_port()
        # As nobody, the worker's threads, its fork helper and the session
        # processes all count against ulimit -u 12 (root's would not).
        server = self.start({"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                   "plugin": "echo", "mode": "fork", "max_children": "11",
                                   "wait_for_data": "0"}},
                            ["bash", "-c", 'ulimit -u 12 && exec "$@"', "bash"],
                            host={"user": "nobody"})
        self.addCleanup(self.assertStops, server)
        held = hold_connections(self, port, 11, until_refused=True)
        self.assertRefusedForResources(server, held)
        self.assertServedAgain(server, port)


def raise_own_descriptor_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def status_of(server):
    result = server.ctl("status", "--json")
    if result.returncode != 0:
        raise AssertionError(result.stderr)
    return {listener["name"]: listener for listener in json.loads(result.stdout)["listeners"]}


class SilentPeers(WharfTestCase):
    """Connections that never send, by the thousand, against a listener with
    no limits configured: the default max_connections holds."""

    def setUp(self):
        raise_own_descriptor_limit()
        self.port, self.other = free_port(), free_port()

    def start(self, **keys):
        listener = {"transport": "tcp", "listen": f"127.0.0.1:{self.port}", "plugin": "echo",
                    "mode": "thread"}
        listener.update(keys)
        server = self.wharfd({"silent": listener,
                              "other": {"transport": "tcp", "listen": f"127.0.0.1:{self.other}",
                                        "plugin": "echo", "mode": "reactor"}},
                             host={"admin": "admin.sock"})
        self.addCleanup(self.assertStops, server)
        return server

    def wait_for(self, server, predicate):
        for _ in range(600):
            listener = status_of(server)["silent"]
            if predicate(listener["sessions"]):
                return listener["sessions"]
            time.sleep(0.05)
        raise AssertionError("status never matched: %s\n%s" % (listener, server.log()))

    def test_a_thread_listener_without_limits_is_bounded_by_default(self):
        server = self.start()
        worker = server.worker_pid()
        hold_connections(self, self.port, 1500, first=b"x")  # one byte: handed over, then silent
        sessions = self.wait_for(server, lambda s: s["active"] + s["refused"]["max_connections"]
                                 == 1500)
        self.assertEqual(sessions["active"], 1024)  # the thread mode's default max_connections
        self.assertEqual(sessions["refused"]["max_connections"], 476)
        self.assertLess(process_status(worker, "Threads"), 1024 + 64)
        self.assertLess(process_status(worker, "VmRSS"), 512 * 1024)
        self.assertEqual(round_trip(self.other), b"neighbour")
        server.wait_for_log(r"refused 127\.0\.0\.1:\d+ \(max_connections\)")

    def test_a_pool_without_limits_is_bounded_by_its_workers_and_queue(self):
        server = self.start(mode="pool", wait_for_data="0")  # silent peers take workers
        worker = server.worker_pid()
        hold_connections(self, self.port, 500)
        sessions = self.wait_for(server, lambda s: s["active"] + s["refused"]["queue_full"]
                                 == 500)
        self.assertEqual(sessions["active"], 8 + 64)  # the default workers and queue
        self.assertLess(process_status(worker, "Threads"), 8 + 64)
        self.assertEqual(round_trip(self.other), b"neighbour")

    def test_silent_peers_are_not_even_accepted_by_a_default_pool_whose_client_speaks_first(self):
        server = self.start(mode="pool")  # echo: WHARF_CAP_CLIENT_FIRST, so wait_for_data 60s
        hold_connections(self, self.port, 500)
        worker = server.worker_pid()
        self.assertEqual(round_trip(self.port), b"neighbour")  # a worker at once
        # The kernel hands over a connection once data came (TCP_DEFER_ACCEPT):
        # had the 500 been accepted, they would have been before the neighbour.
        sessions = status_of(server)["silent"]["sessions"]
        self.assertEqual((sessions["total"], sessions["active"]), (1, 0))
        self.assertLess(process_status(worker, "Threads"), 8 + 64)

    def test_idle_closes_are_logged_throttled(self):
        server = self.start(idle_timeout="1s", wait_for_data="0")
        held = hold_connections(self, self.port, 300)
        for client in held:
            self.assertEqual(client.recv(1), b"")  # closed by idle_timeout
        self.wait_for(server, lambda s: s["active"] == 0 and s["total"] == 300)
        time.sleep(0.2)  # the reader thread may lag behind the last line
        lines = server.log().count("idle_timeout: no traffic; closing")
        self.assertGreater(lines, 0)
        self.assertLess(lines, 100, "300 idle closes, one line each")

    def test_a_pool_with_wait_for_data_is_not_held_by_silent_peers(self):
        server = self.start(mode="pool", pool_threads="2", queue="2", wait_for_data="2s")
        held = hold_connections(self, self.port, 50)  # far more than workers + queue
        self.assertEqual(round_trip(self.port), b"neighbour")  # served at once, not queued
        for client in held:
            self.assertEqual(client.recv(1), b"")  # closed once 2 s passed in silence
        sessions = self.wait_for(server, lambda s: s["refused"]["wait_for_data"] == 50)
        self.assertEqual(sessions["refused"]["queue_full"], 0)
        server.wait_for_log(r"wait_for_data: closed \d+ connections that sent nothing")

    def test_wait_for_data_hands_over_what_the_peer_sent_and_its_close(self):
        server = self.start(mode="thread", wait_for_data="30s")
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as client:
            time.sleep(0.3)  # waiting in the room, no thread yet
            client.sendall(b"first words")
            self.assertEqual(receive_exactly(client, 11), b"first words")
        closer = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        closer.close()  # a close is news too: the session ends, nothing waits 30 s
        self.wait_for(server, lambda s: s["active"] == 0 and s["total"] == 2)


def descendants_of(pid):
    """Every process below `pid` (a fork listener's helper and its sessions)."""
    found = []
    for child in children_of(pid):
        found += [child] + descendants_of(child)
    return found


class DatagramFlood(WharfTestCase):
    """Hundreds of thousands of datagrams against every mode: threads and
    processes stay bounded (a thread listener runs at most max_connections,
    default 1024, datagram threads at once; a fork listener max_children
    processes), memory stays bounded, and a neighbouring listener keeps
    serving during the flood."""

    def test_every_mode_stays_bounded(self):
        for mode, datagrams in [("thread", 300000), ("pool", 100000), ("fork", 20000),
                                ("sync", 100000), ("reactor", 100000)]:
            with self.subTest(mode=mode):
                self.check_flood(mode, datagrams)

    def check_flood(self, mode, datagrams):
        port, other = free_port(), free_port()
        server = self.wharfd({"flooded": {"transport": "udp", "listen": f"127.0.0.1:{port}",
                                          "plugin": "echo", "mode": mode},
                              "other": {"transport": "tcp", "listen": f"127.0.0.1:{other}",
                                        "plugin": "echo", "mode": "thread", "isolate": "true"}},
                             host={"admin": "admin.sock"})
        workers = server.worker_pids()
        stop = threading.Event()
        sent = [0]

        def flood():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                sender.setblocking(False)
                payload = b"f" * 512
                while not stop.is_set() and sent[0] < datagrams:
                    try:
                        sender.sendto(payload, ("127.0.0.1", port))
                        sent[0] += 1
                    except (BlockingIOError, ConnectionRefusedError):
                        pass

        flooders = [threading.Thread(target=flood) for _ in range(2)]
        for flooder in flooders:
            flooder.start()
        most_threads = most_processes = 0
        try:
            served = round_trip(other)
            while any(flooder.is_alive() for flooder in flooders):
                most_threads = max(most_threads,
                                   max(process_status(pid, "Threads") for pid in workers))
                most_processes = max(most_processes,
                                     sum(len(descendants_of(pid)) for pid in workers))
                time.sleep(0.01)
        finally:
            stop.set()
            for flooder in flooders:
                flooder.join()
        self.assertEqual(served, b"neighbour")
        # Sessions are bounded at 1024; a thread that has ended its session
        # may take a moment longer to exit (more so in a sanitizer build).
        self.assertLess(most_threads, 2 * 1024)
        self.assertLessEqual(most_processes, 64 + 1)  # max_children and the helper
        for pid in workers:
            self.assertLess(process_status(pid, "VmRSS"), 512 * 1024)
        self.assertGreater(status_of(server)["flooded"]["sessions"]["total"], 0)
        self.assertStops(server)


class OutOfDescriptors(WharfTestCase):
    """A worker at its open-files limit pauses accepting (no spinning), logs
    the shortage at most once a second, and the control socket answers."""

    def test_accept_pauses_and_the_log_stays_quiet(self):
        if sanitized_build():
            self.skipTest("UBSan's vptr check probes memory through a pipe: with no descriptor "
                          "left it reports objects as invalid (checked clean under valgrind)")
        raise_own_descriptor_limit()
        port = free_port()
        # Without it, the default max_connections (half the open-files limit)
        # refuses sessions before the descriptors run out.
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                     "plugin": "echo", "mode": "reactor",
                                     "max_connections": "1000"}},
                        {"admin": "admin.sock"})
        server.launcher = ["sh", "-c", 'ulimit -n 64 && exec "$@"', "sh"]
        server.start()
        self.addCleanup(self.assertStops, server)
        worker = server.worker_pid()
        # More than 64 descriptors' worth: the rest wait in the backlog.
        held = hold_connections(self, port, 100)
        server.wait_for_log(r"accept: Too many open files; pausing accepts briefly")
        cpu_before = cpu_seconds(worker)
        time.sleep(3)
        self.assertLess(cpu_seconds(worker) - cpu_before, 1.0, "spinning on accept")
        self.assertLessEqual(server.log().count("accept: Too many open files"), 6)
        self.assertEqual(server.ctl("status").returncode, 0)
        for client in held[:50]:
            client.close()
        # Descriptors freed: the waiting connections are served.
        held[-1].sendall(b"late")
        held[-1].settimeout(30)
        self.assertEqual(receive_exactly(held[-1], 4), b"late")
