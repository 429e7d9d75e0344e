"""Admission control on real connections: the pool's bounded queue,
max_connections, max_per_source, allow/deny, idle_timeout, max_datagram and
the accept rate. A refused session is closed at once, logged, and counted
by reason in `wharfctl status --json`."""

import json
import socket
import subprocess
import time

from clients import DatagramClient, connect_from, receive_exactly, receive_until_closed
from wharf_harness import WHARFCTL, WharfTestCase, cpu_seconds, free_port

def echoes(client, payload=b"ping"):
    client.sendall(payload)
    return receive_exactly(client, len(payload)) == payload


def refused(client):
    """The server closed it without serving: end of input (or a reset). The
    client speaks first, as an echo client does: a listener whose client
    speaks first is handed a connection only once data came (TCP_DEFER_ACCEPT)."""
    try:
        client.sendall(b"?")
        return receive_until_closed(client) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


class Limits(WharfTestCase):
    def start(self, **keys):
        self.port = free_port()
        listener = {"transport": "tcp", "listen": f"127.0.0.1:{self.port}", "plugin": "echo",
                    "mode": "thread"}
        listener.update(keys)
        self.server = self.wharfd({"e": listener}, host={"admin": "admin.sock"})
        self.addCleanup(self.assertStops, self.server)  # runs even if a later start replaces it

    def refusals(self):
        result = subprocess.run([WHARFCTL, "--admin", self.server.path("admin.sock"), "status",
                                 "--json"], capture_output=True, text=True, timeout=60)
        return json.loads(result.stdout)["listeners"][0]["sessions"]["refused"]

    def test_pool_queues_then_refuses(self):
        self.start(mode="pool", pool_threads="2", queue="1", wait_for_data="0")  # silent ones queue
        served = [connect_from("127.0.0.1", self.port) for _ in range(2)]
        for client in served:
            self.assertTrue(echoes(client))
        queued = connect_from("127.0.0.1", self.port)
        queued.sendall(b"waiting")
        # The queue (1) is full: the next session is refused at once.
        self.assertTrue(refused(connect_from("127.0.0.1", self.port)))
        self.assertEqual(self.refusals()["queue_full"], 1)
        served[0].close()  # a worker frees up and takes the queued session
        self.assertEqual(receive_exactly(queued, 7), b"waiting")
        for client in (served[1], queued):
            client.close()
        self.server.wait_for_log(r"refused 127\.0\.0\.1:\d+ \(queue_full\)")

    def test_max_connections(self):
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                self.check_max_connections(mode)

    def check_max_connections(self, mode):
        self.start(max_connections="2", mode=mode)
        held = [connect_from("127.0.0.1", self.port) for _ in range(2)]
        for client in held:
            self.assertTrue(echoes(client))
        self.assertTrue(refused(connect_from("127.0.0.1", self.port)))
        held[0].close()
        # The slot frees when the session's thread ends; retry until then.
        for _ in range(200):
            client = connect_from("127.0.0.1", self.port)
            try:
                if echoes(client):
                    break
            except (ConnectionResetError, BrokenPipeError):
                pass
            finally:
                client.close()
        else:
            self.fail("a slot never freed")
        held[1].close()
        self.assertGreaterEqual(self.refusals()["max_connections"], 1)

    def test_max_per_source(self):
        self.start(max_per_source="1")
        first = connect_from("127.0.0.2", self.port)
        self.assertTrue(echoes(first))
        self.assertTrue(refused(connect_from("127.0.0.2", self.port)))
        other = connect_from("127.0.0.3", self.port)
        self.assertTrue(echoes(other))
        first.close()
        other.close()
        self.assertEqual(self.refusals()["max_per_source"], 1)

    def test_allow_and_deny_most_specific_wins(self):
        self.start(allow="127.0.0.0/8", deny="127.0.0.0/24, 127.0.0.1")
        self.assertTrue(refused(connect_from("127.0.0.1", self.port)))
        self.assertTrue(refused(connect_from("127.0.0.9", self.port)))
        allowed = connect_from("127.0.1.9", self.port)
        self.assertTrue(echoes(allowed))
        allowed.close()
        self.assertEqual(self.refusals()["access"], 2)
        self.server.wait_for_log(r"refused 127\.0\.0\.9:\d+ \(access\)")

    def test_idle_timeout_closes_a_silent_session(self):
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                self.check_idle_timeout(mode)

    def check_idle_timeout(self, mode):
        self.start(idle_timeout="300ms", mode=mode)
        client = connect_from("127.0.0.1", self.port)
        self.assertTrue(echoes(client))
        self.assertEqual(receive_until_closed(client), b"")  # no input: wharfd closed it
        client.close()
        self.server.wait_for_log(r"peer 127\.0\.0\.1:\d+: idle_timeout: no traffic; closing")

    def test_a_dripping_peer_holds_its_thread_no_longer_than_a_silent_one(self):
        for mode in ("thread", "pool", "fork"):
            with self.subTest(mode=mode):
                self.start(idle_timeout="1s", mode=mode, wait_for_data="0")
                dripper = connect_from("127.0.0.1", self.port)
                honest = connect_from("127.0.0.1", self.port)
                ended = False
                for _ in range(40):  # a byte each 0.3 s: never silent for idle_timeout
                    try:
                        dripper.sendall(b"d")
                        ended = dripper.recv(1) == b""
                    except (ConnectionResetError, BrokenPipeError):
                        ended = True
                    if ended:
                        break
                    self.assertTrue(echoes(honest, b"h" * 100))  # 200 bytes a window: progress
                    time.sleep(0.3)
                self.assertTrue(ended, "the dripper was never closed")
                self.server.wait_for_log(r"idle_timeout: fewer than 64 bytes either way within "
                                         r"idle_timeout; closing")
                self.assertTrue(echoes(honest))  # the honest client goes on
                dripper.close()
                honest.close()

    def test_idle_timeout_closes_a_peer_that_never_reads(self):
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                self.check_peer_that_never_reads(mode)

    def check_peer_that_never_reads(self, mode):
        self.start(idle_timeout="300ms", mode=mode)
        client = connect_from("127.0.0.1", self.port)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.settimeout(2)
        sent = 0
        try:  # until the echoes fill both sides' buffers and wharfd stops reading
            while sent < 256 << 20:
                sent += client.send(b"x" * 65536)
        except (socket.timeout, ConnectionResetError, BrokenPipeError):
            pass
        self.assertLess(sent, 256 << 20)
        # Neither sending nor reading: closed, and the thread or descriptor is free again.
        self.server.wait_for_log(r"peer 127\.0\.0\.1:\d+: idle_timeout: no traffic; closing")
        client.close()
        other = connect_from("127.0.0.1", self.port)
        self.assertTrue(echoes(other))
        other.close()

    def test_accept_rate_pauses_and_never_refuses(self):
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                self.check_accept_rate(mode)

    def check_accept_rate(self, mode):
        self.start(accept_rate="2", mode=mode)
        cpu_before, wall_before = cpu_seconds(self.server.worker_pid()), time.monotonic()
        clients = [connect_from("127.0.0.1", self.port) for _ in range(5)]
        for client in clients:
            self.assertTrue(echoes(client))  # served, some after a pause
            client.close()
        self.assertEqual(sum(self.refusals().values()), 0)
        # Pausing waits; it does not spin on the still-readable listening socket.
        cpu = cpu_seconds(self.server.worker_pid()) - cpu_before
        self.assertLess(cpu, 0.5 * (time.monotonic() - wall_before))


class DatagramLimits(WharfTestCase):
    def test_oversized_datagrams_are_dropped_and_denied_peers_ignored(self):
        port = free_port()
        server = self.wharfd({"u": {"transport": "udp", "listen": f"127.0.0.1:{port}",
                                    "plugin": "echo", "max_datagram": "100",
                                    "deny": "127.0.0.5"}})
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as denied:
            denied.bind(("127.0.0.5", 0))
            denied.sendto(b"hello", ("127.0.0.1", port))
            server.wait_for_log(r"refused 127\.0\.0\.5:\d+ \(access\)")
        with DatagramClient("udp", f"127.0.0.1:{port}") as client:
            for _ in range(2000):  # counted each, logged at most 10 a second
                client.sock.sendto(b"x" * 101, client.target)
            client.sock.settimeout(1)
            for _ in range(30):  # the burst may fill the socket's buffer: a datagram is lost
                try:
                    echoed = client.exchange(b"y" * 100)
                    break
                except TimeoutError:
                    continue
            self.assertEqual(echoed, b"y" * 100)
        server.wait_for_log(r"refused 127\.0\.0\.1:\d+ \(max_datagram\)")
        self.assertLess(server.log().count("(max_datagram)"), 100)
        self.assertStops(server)


class RefusalLogging(WharfTestCase):
    def test_a_flood_of_refusals_is_counted_but_not_all_logged(self):
        port = free_port()
        server = self.wharfd({"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                    "plugin": "echo", "deny": "127.0.0.66"}},
                             host={"admin": "admin.sock"})
        for _ in range(60):
            refused(connect_from("127.0.0.66", port))
        time.sleep(1.1)  # a new one-second window
        refused(connect_from("127.0.0.66", port))
        server.wait_for_log(r"refused 127\.0\.0\.66:\d+ \(access\) after \d+ more refusals "
                            r"not logged")
        status = subprocess.run([WHARFCTL, "--admin", server.path("admin.sock"), "status",
                                 "--json"], capture_output=True, text=True, timeout=60)
        self.assertEqual(json.loads(status.stdout)["listeners"][0]["sessions"]["refused"]
                         ["access"], 61)
        self.assertLess(server.log().count("refused 127.0.0.66"), 61)
        self.assertStops(server)
