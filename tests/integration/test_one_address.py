"""With no limits configured, one client address cannot take a listener from
the others: the default max_per_source gives one address an eighth of what
the listener serves at once (at least 4). Peers with real addresses come from
the client host of network_hosts; wharfd runs on its server host."""

import socket
import subprocess
import unittest

from namespace_testcase import NamespaceTestCase
from network_hosts import echo, in_namespace
from wharf_harness import wait_until

ATTACKER, OTHER = "10.77.1.1", "10.77.1.3"


class OneAddress(NamespaceTestCase):
    def serve(self, mode, **keys):
        self.server = self.on_server_host({"e": {
            "transport": "tcp", "listen": "10.77.2.2:7000", "mode": mode, "plugin": "echo",
            **keys}})

    def hold_silent(self, count):
        """`count` connections from ATTACKER that send a byte and then
        nothing (a connection that sent nothing is not even handed over:
        TCP_DEFER_ACCEPT), kept open until the test ends."""

        def connect():
            held = []
            for _ in range(count):
                client = socket.socket()
                self.addCleanup(client.close)
                client.bind((ATTACKER, 0))
                client.connect(("10.77.2.2", 7000))
                client.sendall(b"x")
                held.append(client)
            return held

        return in_namespace(self.hosts.client, connect)

    def refused_per_source(self):
        return self.sessions(self.server)["refused"]["max_per_source"]

    def assert_others_are_served(self):
        self.assertEqual(in_namespace(self.hosts.client,
                                      lambda: echo(("10.77.2.2", 7000), b"still here", OTHER)),
                         b"still here")

    def test_a_pool_gives_one_address_half_its_workers_at_most(self):
        self.serve("pool")  # 8 workers: an eighth is 1, the floor 4
        self.hold_silent(6)
        wait_until(lambda: self.refused_per_source() == 2, "two refusals for max_per_source")
        self.assert_others_are_served()
        self.assertEqual(self.sessions(self.server)["active"], 4)

    def test_a_thread_listener_gives_one_address_an_eighth_of_its_sessions(self):
        self.serve("thread")  # max_connections 1024
        self.hold_silent(130)
        wait_until(lambda: self.refused_per_source() == 2, "two refusals for max_per_source")
        self.assert_others_are_served()
        self.assertNotIn("tcp_syncookies", self.server.log())  # on, the default: no warning

    def test_a_reactor_listener_sized_by_max_connections(self):
        self.serve("reactor", max_connections="64")
        self.hold_silent(10)
        wait_until(lambda: self.refused_per_source() == 2, "two refusals for max_per_source")
        self.assert_others_are_served()

    def test_one_udp_source_is_held_to_the_default_datagram_rate(self):
        self.server = self.on_server_host({"e": {
            "transport": "udp", "listen": "10.77.2.2:7000", "mode": "reactor", "plugin": "echo"}})

        def flood():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.bind((ATTACKER, 0))
                for _ in range(5000):
                    client.sendto(b"x" * 16, ("10.77.2.2", 7000))

        def probe():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.bind((OTHER, 0))
                client.settimeout(10)
                client.sendto(b"still here", ("10.77.2.2", 7000))
                return client.recv(64)

        # Until the worker has read past a second's worth (1000): a slow one (a
        # sanitizer build on a busy machine) reads one burst's few hundred that
        # the socket buffer kept, and the kernel drops the rest.
        def flooded_until_refused():
            in_namespace(self.hosts.client, flood)
            return self.sessions(self.server)["refused"]["datagram_rate"] > 0

        wait_until(flooded_until_refused, "refusals for datagram_rate")
        self.assertEqual(in_namespace(self.hosts.client, probe), b"still here")

    def test_deferral_without_syn_cookies_is_warned_about(self):
        # Silent peers wait in the SYN queue (TCP_DEFER_ACCEPT); without SYN cookies
        # they can fill it and keep everyone else out, whatever max_per_source says.
        subprocess.run(["ip", "netns", "exec", self.hosts.server, "sysctl", "-qw",
                        "net.ipv4.tcp_syncookies=0"], check=True, timeout=60)
        self.serve("thread")
        self.server.wait_for_log(r"listener\.e: connections wait for their first data in the "
                                 r"kernel \(TCP_DEFER_ACCEPT, 60 s\), but "
                                 r"net\.ipv4\.tcp_syncookies is 0")
        self.assert_others_are_served()

    def test_max_per_source_zero_turns_the_default_off(self):
        self.serve("pool", max_per_source="0")
        self.hold_silent(10)  # 8 workers busy, 2 queued
        wait_until(lambda: self.sessions(self.server)["active"] == 10, "ten sessions")
        self.assertEqual(self.refused_per_source(), 0)


if __name__ == "__main__":
    unittest.main()
