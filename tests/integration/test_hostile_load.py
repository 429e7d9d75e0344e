"""Hostile peers against real listeners: clients that send and never read,
silent connections by the thousand, datagram floods and a worker out of
descriptors. wharfd's memory, threads and descriptors stay bounded, refusals
are counted, and a well-behaved client of a neighbouring listener is served
meanwhile."""

import select
import socket
import threading

from clients import receive_exactly
from wharf_harness import WharfTestCase, free_port

MB = 1 << 20


def process_status(pid, field):
    """A number from /proc/PID/status (VmRSS in kB, Threads)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def open_descriptors(pid):
    import os
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
