"""Churn, in every mode, with the churn fixture: two hundred clients connect,
send a few lines, read only part of the replies and leave (half with FIN,
half with a reset), while an instance timer posts to every open session
through its waker, each session's own timer writes, and the plugin's thread
answers through wakers. Nothing crashes (the worker is the same process and
was never restarted), no client ever reads another's bytes, and every
session that began also ended: the fixture's opened and closed counters
agree with each other and with the host's session total, and none is
active. Under the sanitizers, what they report in wharfd fails the test.

Before issue #31 the reactor freed a session inside the batch of events that
still named it (its socket, its timer, its mailbox): with this traffic the
worker crashed."""

import json
import os
import socket
import struct
import threading
import time

from wharf_harness import Wharfd, WharfTestCase, free_port, test_plugin, wait_until

CLIENTS = 200
SESSIONS_PER_CLIENT = 2000  # a bound on each client's loop besides its time
GRACE = 30  # seconds past the duration a client that was never served goes on trying


def seconds(mode):
    """How long the clients keep coming (WHARF_CHURN_SECONDS, for every mode)."""
    default = 20 if mode == "reactor" else 5
    return float(os.environ.get("WHARF_CHURN_SECONDS", default))


class Clients:
    """CLIENTS threads, each connecting again and again until `duration` has
    passed and it has been served once (or GRACE more seconds have): it
    sends four lines, reads until the echo of its first, checks that every
    whole line it read was meant for it, and leaves, with a FIN or (every
    other session) a reset."""

    def __init__(self, port, duration):
        self.port = port
        self.deadline = time.monotonic() + duration
        self.lock = threading.Lock()
        self.counts = {"sessions": 0, "served": 0, "clients served": 0, "closed early": 0,
                       "errors": 0}
        self.wrong = []  # lines that were not this client's
        self.errors = []
        self.threads = [threading.Thread(target=self.client, args=(n,)) for n in range(CLIENTS)]

    def run(self):
        for thread in self.threads:
            thread.start()
        for thread in self.threads:
            thread.join()
        return self.counts

    def count(self, what, detail=None):
        with self.lock:
            self.counts[what] += 1
            if detail is not None and len(self.errors) < 20:
                self.errors.append(detail)

    def client(self, number):
        served = False
        for n in range(SESSIONS_PER_CLIENT):
            now = time.monotonic()
            if (served and now > self.deadline) or now > self.deadline + GRACE:
                break
            token = b"c%d-%d" % (number, n)
            try:
                served |= self.session(token, reset=n % 2 == 1)
            except OSError as error:  # reset by a full pool, or fork's max_children
                self.count("errors", f"{token}: {error!r}")
        if served:
            self.count("clients served")

    def session(self, token, reset):
        """One session; whether the echo of its first line came."""
        mine = {b"p", b"s", b"ASYNC " + token} | {token + b"-%d" % i for i in (1, 2, 3)}
        received = b""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        try:
            self.count("sessions")
            sock.sendall(token + b"-1\nasync " + token + b"\n" + token + b"-2\n" + token + b"-3\n")
            while token + b"-1\n" not in received:
                chunk = sock.recv(4096)
                if not chunk:
                    self.count("closed early", f"{token}: closed after {received[-200:]!r}")
                    return False
                received += chunk
            self.count("served")
            return True
        finally:
            wrong = [line for line in received.split(b"\n")[:-1] if line not in mine]
            if wrong:
                with self.lock:
                    self.wrong.append((token, wrong[:3]))
            if reset:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()


class Churn(WharfTestCase):
    def churn(self, mode, refuses=False):
        """Two workers under the clients' churn in `mode`; `refuses`: whether
        the mode refuses sessions beyond its capacity (a pool's queue, fork's
        max_children) by closing them at once. The status's `total` counts
        those refused connections too: the sessions that began are the total
        less the refused, and each has ended (`ended`)."""
        port = free_port()
        server = Wharfd(self, {"c": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                     "mode": mode, "plugin": test_plugin("churn")}},
                        host={"admin": "admin.sock", "workers": "2"}).start()
        before = self.status(server)
        workers = sorted(worker["pid"] for worker in before["workers"])
        clients = Clients(port, seconds(mode))
        counts = clients.run()
        self.assertEqual(clients.wrong[:10], [], "clients read lines meant for others")
        self.assertEqual(counts["clients served"], CLIENTS, (counts, clients.errors))
        if not refuses:  # nothing is refused: no client sees its session cut short
            self.assertEqual((counts["closed early"], counts["errors"]), (0, 0),
                             (counts, clients.errors))

        wait_until(lambda: self.status(server)["listeners"][0]["sessions"]["active"] == 0,
                   "no session is active", limit=60)
        status = self.status(server)
        listener = status["listeners"][0]
        opened, closed = self.opened_closed(listener)
        sessions = listener["sessions"]  # its total counts refused connections too
        began = sessions["total"] - sum(sessions["refused"].values())
        self.assertEqual((opened, closed, sum(sessions["ended"].values())), (began,) * 3,
                         ("on_session_open, on_session_close and the host disagree", sessions))
        self.assertGreaterEqual(began, counts["served"])
        self.assertEqual(sorted(worker["pid"] for worker in status["workers"]), workers)
        self.assertEqual([worker["restarts"] for worker in status["workers"]], [0, 0])
        self.assertEqual(sorted(server.worker_pids()), workers)
        self.assertNotRegex(server.log(), r"killed by signal|serving in place of the one")
        self.assertStops(server)
        return counts

    def status(self, server):
        result = server.ctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def opened_closed(self, listener):
        metrics = listener["plugin_metrics"]
        return (metrics["sessions_opened_total"]["series"].get("", 0),
                metrics["sessions_closed_total"]["series"].get("", 0))

    def test_reactor(self):
        self.churn("reactor")

    def test_thread(self):
        self.churn("thread")

    def test_pool(self):
        self.churn("pool", refuses=True)

    def test_sync(self):
        self.churn("sync")

    def test_fork(self):
        self.churn("fork", refuses=True)
