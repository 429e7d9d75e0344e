"""UDP loops and reflection (inetd's check_loop, CVE-1999-0103): one spoofed
datagram whose source is another UDP listener of the same wharfd (echo to
echo, time to echo in the shipped config) started a ping-pong that never
ended; a datagram from a well-known reflecting service's port (chargen 19,
echo 7, ...) was answered too. Spoofed here with a raw socket (root). And
datagram_rate: what one source sends past it is dropped."""

import json
import socket
import struct
import time

from wharf_harness import WharfTestCase, free_port, wait_until


def spoof(source_port, destination_port, payload=b"ping"):
    """A UDP datagram to 127.0.0.1:destination_port that claims to come from
    127.0.0.1:source_port (the kernel adds the IP header; no checksum)."""
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP) as raw:
        header = struct.pack("!HHHH", source_port, destination_port, 8 + len(payload), 0)
        raw.sendto(header + payload, ("127.0.0.1", 0))


class UdpLoops(WharfTestCase):
    def sessions(self, server):
        reply = server.ctl("status", "--json")
        self.assertEqual(reply.returncode, 0, reply.stderr)
        return {entry["name"]: entry["sessions"] for entry in json.loads(reply.stdout)["listeners"]}

    def test_a_spoofed_datagram_between_two_listeners_starts_no_loop(self):
        a, b = free_port(), free_port()
        server = self.wharfd({"a": {"transport": "udp", "listen": f"127.0.0.1:{a}",
                                    "mode": "reactor", "plugin": "echo"},
                              "b": {"transport": "udp", "listen": f"127.0.0.1:{b}",
                                    "mode": "pool", "plugin": "echo", "isolate": "true"}},
                             host={"admin": "admin.sock"})
        spoof(b, a)   # from b's port to a: a's answer would go to b, b's back to a, ...
        spoof(a, b)   # and the other way, across worker groups
        spoof(19, a)  # from chargen's port
        wait_until(lambda: self.sessions(server)["a"]["refused"]["loop"] == 2 and
                   self.sessions(server)["b"]["refused"]["loop"] == 1, "the spoofed ones refused")
        time.sleep(0.2)  # a loop, had one started, would have run thousands of rounds by now
        status = self.sessions(server)
        self.assertEqual((status["a"]["total"], status["b"]["total"]), (0, 0), status)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:  # a real client still is
            client.settimeout(10)
            client.sendto(b"hello", ("127.0.0.1", a))
            self.assertEqual(client.recv(64), b"hello")
        self.assertEqual(self.sessions(server)["a"]["total"], 1)
        self.assertStops(server)

    def test_datagram_rate_drops_what_one_source_sends_past_it(self):
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                port = free_port()
                server = self.wharfd({"e": {"transport": "udp", "listen": f"127.0.0.1:{port}",
                                            "mode": mode, "plugin": "echo",
                                            "datagram_rate": "1"}},  # set: loopback counts
                                     host={"admin": "admin.sock"})
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flood:
                    flood.bind(("127.0.0.2", 0))
                    for number in range(20):
                        flood.sendto(b"%d" % number, ("127.0.0.1", port))
                    wait_until(lambda: self.sessions(server)["e"]["total"] +
                               self.sessions(server)["e"]["refused"]["datagram_rate"] == 20,
                               "all 20 served or refused")
                # A second's worth (one), and one a second since: 20 sent in far
                # less than 10 s leave at least 10 refused.
                self.assertGreaterEqual(self.sessions(server)["e"]["refused"]["datagram_rate"], 10)
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                    other.bind(("127.0.0.3", 0))
                    other.settimeout(10)
                    other.sendto(b"another source", ("127.0.0.1", port))
                    self.assertEqual(other.recv(64), b"another source")
                server.wait_for_log(r"refused 127\.0\.0\.2:\d+ \(datagram_rate\)")
                self.assertStops(server)
