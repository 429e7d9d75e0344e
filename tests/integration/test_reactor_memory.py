"""A reactor worker's memory against peers that send and never read: such a
peer's session is closed once it has taken none of its output for
send_timeout, and past [host] output_budget the sessions holding the most
output are cut, biggest first, while the others go on."""

import json
import socket
import threading
import time

from clients import receive_exactly
from wharf_harness import WharfTestCase, free_port, wait_until


def flood_without_reading(port, limit=64 << 20):
    """A client that sends echo input and reads none of the answers, until
    wharfd stops reading it (or closes it); the client, and bytes sent."""
    client = socket.create_connection(("127.0.0.1", port), timeout=20)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.settimeout(2)
    sent = 0
    try:
        while sent < limit:
            sent += client.send(b"x" * 65536)
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    return client, sent


def closed(client):
    client.settimeout(20)
    try:
        while client.recv(1 << 20):
            pass  # what the kernel still held for it
        return True
    except ConnectionResetError:
        return True


class ReactorMemory(WharfTestCase):
    def start(self, host=None, **keys):
        self.port = free_port()
        listener = {"transport": "tcp", "listen": f"127.0.0.1:{self.port}", "plugin": "echo",
                    "mode": "reactor", **keys}
        self.server = self.wharfd({"e": listener}, host={"admin": "admin.sock", **(host or {})})

    def ended(self):
        reply = self.server.ctl("status", "--json")
        self.assertEqual(reply.returncode, 0, reply.stderr)
        return json.loads(reply.stdout)["listeners"][0]["sessions"]["ended"]

    def assert_serves(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=20) as other:
            other.sendall(b"still served")
            self.assertEqual(receive_exactly(other, 12), b"still served")

    def test_a_peer_that_reads_none_of_its_output_is_closed_after_send_timeout(self):
        self.start(send_timeout="1s")  # and no idle_timeout: the reactor's default
        client, sent = flood_without_reading(self.port)
        self.assertLess(sent, 64 << 20)  # wharfd stopped reading it
        self.server.wait_for_log(r"peer 127\.0\.0\.1:\d+: send_timeout: the peer read none of "
                                 r"its output; closing")
        self.assertTrue(closed(client))
        client.close()
        self.assertEqual(self.ended()["send_timeout"], 1)
        self.assert_serves()

    def test_a_slow_reader_is_not_closed_by_send_timeout(self):
        self.start(send_timeout="2s")
        total = 12 << 20  # more than the kernel's buffers hold: output waits in wharfd
        with socket.create_connection(("127.0.0.1", self.port), timeout=20) as reader:
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            sender = threading.Thread(target=reader.sendall, args=(b"y" * total,))
            sender.start()
            received = 0
            while received < total:  # 1 MiB each 0.2 s: over 2 s in all, never 2 s idle
                received += len(receive_exactly(reader, min(1 << 20, total - received)))
                time.sleep(0.2)
            sender.join()
        wait_until(lambda: sum(self.ended().values()) == 1, "the session's end")
        self.assertEqual(self.ended()["client"], 1)

    def test_past_the_output_budget_the_biggest_holder_is_cut_and_others_go_on(self):
        self.start(host={"output_budget": str(1 << 20)}, output_high_water=str(4 << 20))
        honest = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        honest.sendall(b"before")
        self.assertEqual(receive_exactly(honest, 6), b"before")
        flooder, _ = flood_without_reading(self.port)
        self.server.wait_for_log(r"output_budget: cut 1 sessions holding \d+ bytes for peers "
                                 r"that do not read")
        self.assertTrue(closed(flooder))
        flooder.close()
        honest.sendall(b"after")
        self.assertEqual(receive_exactly(honest, 5), b"after")
        self.assertEqual(self.ended()["output_budget"], 1)
        honest.close()
        self.assert_serves()
