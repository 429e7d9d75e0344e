"""The echo plugin (RFC 862) and the blocking-style fixture on every transport
(TCP v4 and v6, UDP v4 and v6, Unix stream, Unix datagram) in every mode that
runs them, checked with random payloads from Python sockets and with socat."""

import os
import socket

from clients import (DatagramClient, receive_exactly, run_at_once, socat_round_trip,
                     stream_connect, stream_round_trip)
from wharf_harness import WharfTestCase, free_port, test_plugin

STREAM_SIZES = [1, 1000, 1 << 20]
DATAGRAM_SIZES = [1, 512, 8192, 60000]


class EchoOnEveryTransport(WharfTestCase):
    def start(self, mode, plugin="echo"):
        port4, port6 = free_port(), free_port(socket.AF_INET6)
        self.endpoints = {}
        listeners = {}
        server_dir = None
        for name, transport, address in [
            ("tcp4", "tcp", f"127.0.0.1:{port4}"),
            ("tcp6", "tcp", f"[::1]:{port6}"),
            ("udp4", "udp", f"127.0.0.1:{port4}"),
            ("udp6", "udp", f"[::1]:{port6}"),
            ("unix", "unix", "echo.sock"),
            ("unix-dgram", "unix-dgram", "echo-dgram.sock"),
        ]:
            listeners[name] = {"transport": transport, "listen": address, "mode": mode,
                               "plugin": plugin}
            self.endpoints[name] = (transport, address)
        server = self.wharfd(listeners)
        for name in ("unix", "unix-dgram"):
            transport, relative = self.endpoints[name]
            self.endpoints[name] = (transport, server.path(relative))
        return server

    def check_round_trips(self):
        for name, (transport, address) in self.endpoints.items():
            if transport in ("tcp", "unix"):
                for size in STREAM_SIZES:
                    payload = os.urandom(size)
                    with self.subTest(listener=name, size=size):
                        self.assertEqual(stream_round_trip(transport, address, payload), payload)
            else:
                with DatagramClient(transport, address) as client:
                    for size in DATAGRAM_SIZES:
                        payload = os.urandom(size)
                        with self.subTest(listener=name, size=size):
                            self.assertEqual(client.exchange(payload), payload)

    def test_event_plugin_in_sync_mode(self):
        server = self.start("sync")
        self.check_round_trips()
        self.assertStops(server)

    def test_event_plugin_in_thread_mode(self):
        server = self.start("thread")
        self.check_round_trips()
        self.assertStops(server)

    def test_event_plugin_in_pool_mode(self):
        server = self.start("pool")
        self.check_round_trips()
        self.assertStops(server)

    def test_event_plugin_in_reactor_mode(self):
        server = self.start("reactor")
        self.check_round_trips()
        self.assertStops(server)

    def test_event_plugin_in_fork_mode(self):
        server = self.start("fork")
        self.check_round_trips()
        self.assertStops(server)

    def test_blocking_plugin_in_fork_mode(self):
        server = self.start("fork", test_plugin("blocking_echo"))
        self.check_round_trips()
        self.assertStops(server)

    def test_blocking_plugin_in_pool_mode(self):
        server = self.start("pool", test_plugin("blocking_echo"))
        self.check_round_trips()
        self.assertStops(server)

    def test_blocking_plugin_in_sync_mode(self):
        server = self.start("sync", test_plugin("blocking_echo"))
        self.check_round_trips()
        self.assertStops(server)

    def test_blocking_plugin_in_thread_mode(self):
        server = self.start("thread", test_plugin("blocking_echo"))
        self.check_round_trips()
        self.assertStops(server)

    def test_socat_on_every_transport(self):
        for mode in ("thread", "reactor"):
            server = self.start(mode)
            for name, (transport, address) in self.endpoints.items():
                payload = f"hello over {name} in {mode} mode\n".encode()
                with self.subTest(listener=name, mode=mode):
                    self.assertEqual(socat_round_trip(transport, address, payload), payload)
            self.assertStops(server)


class ConcurrentModes(WharfTestCase):
    def test_serves_sessions_concurrently(self):
        # All connections stay open while each is served in reverse order of
        # opening: one-at-a-time serving could not answer the last one first.
        for mode in ("thread", "pool", "fork", "reactor"):
            with self.subTest(mode=mode):
                port = free_port()
                server = self.wharfd({"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                            "mode": mode, "plugin": "echo"}})
                connections = [stream_connect("tcp", f"127.0.0.1:{port}") for _ in range(8)]
                for index, connection in reversed(list(enumerate(connections))):
                    payload = f"session {index}".encode()
                    connection.sendall(payload)
                    self.assertEqual(receive_exactly(connection, len(payload)), payload)
                for connection in connections:
                    connection.close()
                self.assertStops(server)

    def test_datagrams_from_many_clients_at_once(self):
        for mode in ("thread", "pool", "fork", "reactor"):
            with self.subTest(mode=mode):
                self.check_datagrams_from_many_clients(mode)

    def check_datagrams_from_many_clients(self, mode):
        port = free_port()
        server = self.wharfd({"e": {"transport": "udp", "listen": f"127.0.0.1:{port}",
                                    "mode": mode, "plugin": "echo"}})
        failures = []

        def client(number):
            with DatagramClient("udp", f"127.0.0.1:{port}") as datagrams:
                for sequence in range(50):
                    payload = f"{number}:{sequence}".encode() + os.urandom(100)
                    if datagrams.exchange(payload) != payload:
                        failures.append((number, sequence))

        run_at_once(client, 8)
        self.assertEqual(failures, [])
        self.assertStops(server)
