"""proxy_protocol: a listener behind a load balancer takes each connection's
client from the PROXY header (v1 or v2) before admission, in every mode.
allow/deny, max_per_source, the access log and plugins see the client; a
header from outside proxy_from, a missing, malformed or slow one closes the
connection and is counted by reason. Headers here are written by the test;
test_balancer.py puts a real HAProxy in front."""

import json
import os
import re
import shutil
import socket
import subprocess
import struct
import time

from clients import receive_exactly, receive_line, receive_until_closed
from wharf_harness import Wharfd, WharfTestCase, cpu_seconds, free_port, test_plugin

MODES = ("sync", "thread", "pool", "fork", "reactor")


def v1(client, port):
    return f"PROXY TCP4 {client} 127.0.0.1 {port} 7\r\n".encode()


def v2(client, port, tlvs=b""):
    addresses = socket.inet_aton(client) + socket.inet_aton("127.0.0.1") + struct.pack("!HH", port, 7)
    body = addresses + tlvs
    return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body)


def closed(client):
    """Whether wharfd closed the connection without a byte. With unread
    bytes in its queue (the header it refused), the kernel resets it."""
    try:
        return receive_until_closed(client) == b""
    except ConnectionResetError:
        return True


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=20)


class ProxyProtocol(WharfTestCase):
    def start(self, mode="thread", version="any", **keys):
        self.port = free_port()
        listener = {"transport": "tcp", "listen": f"127.0.0.1:{self.port}", "mode": mode,
                    "plugin": "echo", "proxy_protocol": version, "proxy_from": "127.0.0.1"}
        listener.update(keys)
        self.server = Wharfd(self, {"e": listener}, host={"admin": "admin.sock"})
        self.access = self.server.path("access.log")
        self.server.host["access_log"] = self.access
        self.server.write_config()
        return self.server.start()

    def counts(self):
        reply = json.loads(self.server.ctl("status", "--json").stdout)
        return reply["listeners"][0]["sessions"]

    def peers_logged(self, count):
        """The peers of the first `count` access log lines."""
        deadline = time.monotonic() + 30
        while True:
            peers = []
            if os.path.exists(self.access):
                with open(self.access) as log:
                    peers = [field.split("=", 1)[1] for line in log for field in line.split()
                             if field.startswith("peer=")]
            if len(peers) >= count:
                return peers
            self.assertLess(time.monotonic(), deadline, peers)
            time.sleep(0.02)

    def test_every_mode_serves_the_client_the_header_names(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                self.start(mode)
                for number, header in enumerate((v1("203.0.113.9", 4000), v2("198.51.100.7", 5000))):
                    with connect(self.port) as client:
                        # The header and the first data in one segment: the data stays.
                        client.sendall(header + b"hello %d" % number)
                        self.assertEqual(receive_exactly(client, 7), b"hello %d" % number)
                self.assertEqual(sorted(self.peers_logged(2)),
                                 ["198.51.100.7:5000", "203.0.113.9:4000"])
                self.assertStops(self.server)

    def test_plugins_see_the_client_this_end_and_the_balancer(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                self.start(mode, plugin=test_plugin("addresses"))
                with connect(self.port) as client:
                    client.sendall(v2("198.51.100.7", 5000) + b"?")
                    balancer = "127.0.0.1:%d" % client.getsockname()[1]
                    self.assertEqual(receive_line(client),
                                     f"peer=198.51.100.7:5000 local=127.0.0.1:{self.port} "
                                     f"balancer={balancer}\n".encode())
                self.assertStops(self.server)

    def test_without_a_balancer_plugins_see_the_socket_s_ends(self):
        port = free_port()
        server = Wharfd(self, {
            "tcp": {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": "reactor",
                    "plugin": test_plugin("addresses")},
            "udp": {"transport": "udp", "listen": f"127.0.0.1:{port}", "mode": "thread",
                    "plugin": test_plugin("addresses")}}).start()
        with connect(port) as client:
            client.sendall(b"?")
            self.assertEqual(receive_line(client),
                             f"peer=127.0.0.1:{client.getsockname()[1]} local=127.0.0.1:{port} "
                             f"balancer=none\n".encode())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(20)
            client.sendto(b"?", ("127.0.0.1", port))
            self.assertEqual(client.recv(256),
                             f"peer=127.0.0.1:{client.getsockname()[1]} local=127.0.0.1:{port} "
                             f"balancer=none\n".encode())
        self.assertStops(server)

    def test_access_control_and_limits_act_on_the_client(self):
        self.start("reactor", deny="203.0.113.0/24", max_per_source="1")
        with connect(self.port) as denied:
            denied.sendall(v2("203.0.113.9", 4000) + b"hi")
            self.assertTrue(closed(denied))
        with connect(self.port) as first, connect(self.port) as second:
            first.sendall(v1("198.51.100.7", 1) + b"one")
            self.assertEqual(receive_exactly(first, 3), b"one")
            second.sendall(v1("198.51.100.7", 2) + b"two")  # the same client: over max_per_source
            self.assertTrue(closed(second))
            with connect(self.port) as other:  # another client behind the same balancer
                other.sendall(v1("198.51.100.8", 3) + b"three")
                self.assertEqual(receive_exactly(other, 5), b"three")
        refused = self.counts()["refused"]
        self.assertEqual((refused["access"], refused["max_per_source"]), (1, 1))

    def test_bad_missing_slow_and_untrusted_headers_close_the_connection(self):
        self.start("thread", version="v2", proxy_timeout="300ms")
        with connect(self.port) as plain:  # no header: the data is not a header
            plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
            self.assertTrue(closed(plain))
        with connect(self.port) as wrong_version:
            wrong_version.sendall(v1("203.0.113.9", 1))
            self.assertTrue(closed(wrong_version))
        with connect(self.port) as bad_tlv:
            bad_tlv.sendall(v2("203.0.113.9", 1, tlvs=b"\x04\x00\x09ab"))
            self.assertTrue(closed(bad_tlv))
        with connect(self.port) as slow:  # half a header, then silence
            slow.sendall(v2("203.0.113.9", 1)[:10])
            self.assertTrue(closed(slow))
        with connect(self.port) as silent:
            self.assertTrue(closed(silent))
        with socket.socket() as forged:  # from outside proxy_from
            forged.bind(("127.0.0.2", 0))
            forged.settimeout(20)
            forged.connect(("127.0.0.1", self.port))
            forged.sendall(v2("203.0.113.9", 1) + b"hi")
            self.assertTrue(closed(forged))
        refused = self.counts()["refused"]
        self.assertEqual((refused["proxy_header"], refused["proxy_from"]), (5, 1))
        self.assertEqual(self.counts()["total"], 0)
        with connect(self.port) as good:  # and a good one is served
            good.sendall(v2("203.0.113.9", 1) + b"ok")
            self.assertEqual(receive_exactly(good, 2), b"ok")
        self.server.wait_for_log(r"refused 127\.0\.0\.1:\d+ \(proxy_header\): no PROXY protocol "
                                 r"header")
        self.server.wait_for_log(r"refused 127\.0\.0\.1:\d+ \(proxy_header\): v2 header with "
                                 r"malformed TLVs")

    def test_a_header_split_over_segments_is_read_whole(self):
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                self.start(mode)
                with connect(self.port) as client:
                    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    header = v2("192.0.2.44", 4444)
                    for start in range(0, len(header), 5):
                        client.sendall(header[start:start + 5])
                        time.sleep(0.01)
                    client.sendall(b"whole")
                    self.assertEqual(receive_exactly(client, 5), b"whole")
                self.assertEqual(self.peers_logged(1), ["192.0.2.44:4444"])
                self.assertStops(self.server)

    def test_half_headers_cost_no_cpu_while_they_wait(self):
        # What came of a header is taken off the socket, so a connection that
        # sends half of one is not readable again until more comes: the loop
        # sleeps instead of trying it again and again.
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                self.start(mode, proxy_timeout="3s")
                worker = self.server.worker_pid()
                halves = [connect(self.port) for _ in range(20)]
                for half in halves:
                    half.sendall(v2("203.0.113.9", 1)[:20])
                time.sleep(0.2)
                before = cpu_seconds(worker)
                time.sleep(1.5)
                self.assertLess(cpu_seconds(worker) - before, 0.5, "spinning on half headers")
                for half in halves:
                    self.assertTrue(closed(half))  # proxy_timeout
                    half.close()
                self.assertEqual(self.counts()["refused"]["proxy_header"], 20)
                self.assertStops(self.server)

    def test_behind_nginx_with_the_shipped_stream_example(self):
        # etc/nginx/wharf-stream.conf, pointed at this wharfd: nginx sends v1.
        nginx, module = shutil.which("nginx"), "/usr/lib/nginx/modules/ngx_stream_module.so"
        if nginx is None or not os.path.exists(module):
            self.skipTest("needs Debian's nginx and libnginx-mod-stream")
        self.start("reactor", version="v1")
        front = free_port()
        with open(os.path.join(os.environ["WHARF_SOURCE_DIR"], "etc/nginx/wharf-stream.conf")) as f:
            example = f.read()
        example = re.sub(r"server 10\.0\.2\.11:7007;\s*server 10\.0\.2\.12:7007;",
                         f"server 127.0.0.1:{self.port};", example)
        example = example.replace("listen 7007;", f"listen 127.0.0.1:{front};")
        config = self.server.path("nginx.conf")
        with open(config, "w") as out:
            out.write(f"load_module {module};\npid {self.server.path('nginx.pid')};\n"
                      "error_log stderr;\nevents {}\n" + example)
        output = self.server.path("nginx.log")
        with open(output, "w") as log:
            balancer = subprocess.Popen([nginx, "-p", self.server.dir, "-c", config, "-g",
                                         "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(balancer.wait, 30)
        self.addCleanup(balancer.terminate)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", front), timeout=20,
                                              source_address=("127.0.0.5", 0)) as client:
                    client.sendall(b"via nginx")
                    self.assertEqual(receive_exactly(client, 9), b"via nginx")
                    port = client.getsockname()[1]
                break
            except (ConnectionRefusedError, ConnectionResetError):
                with open(output) as log:
                    self.assertLess(time.monotonic(), deadline, "nginx did not start: " + log.read())
                time.sleep(0.1)
        self.assertEqual(self.peers_logged(1), [f"127.0.0.5:{port}"])  # not nginx's 127.0.0.1

    def test_config_never_trusts_a_header_by_default(self):
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": "echo", "proxy_protocol": "v2"}})
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertIn("[listener.e] proxy_protocol: needs proxy_from: the addresses of the "
                      "balancers that may send a header", server.log())
        server = Wharfd(self, {"u": {"transport": "udp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": "echo", "proxy_protocol": "v1",
                                     "proxy_from": "127.0.0.1"}})
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertIn("[listener.u] proxy_protocol: applies to stream transports (tcp, unix) only",
                      server.log())
