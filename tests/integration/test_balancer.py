"""Wharf behind a real HAProxy (Debian's package), on three hosts made of
network namespaces (network_hosts): the middle host runs HAProxy with
send-proxy-v2 round-robin, and the server host two wharfd instances. The
balancer routes between the two sides, so the client can also bypass it.
Skipped where the test may not create namespaces."""

import ftplib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from ftp_fixture import PASSWORD, crypt_hash, sha256
from namespace_testcase import NamespaceTestCase
from network_hosts import echo, in_namespace

HAPROXY = shutil.which("haproxy")


class HAProxyTestCase(NamespaceTestCase):
    """Three hosts and an HAProxy between them; a subclass says what it balances."""

    def setUp(self):
        if HAPROXY is None:
            self.skipTest("needs Debian's haproxy")
        super().setUp()

    def start_haproxy(self, sections, is_up):
        """HAProxy with these config `sections`, once is_up() (run on the client
        host) says it serves."""
        folder = tempfile.mkdtemp(prefix="wharf-haproxy-")
        self.addCleanup(shutil.rmtree, folder, True)
        config = os.path.join(folder, "haproxy.cfg")
        with open(config, "w") as out:
            out.write("global\n  maxconn 2000\n"
                      "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n"
                      "  timeout server 30s\n" + sections)
        haproxy = subprocess.Popen(["ip", "netns", "exec", self.hosts.balancer, HAPROXY, "-db",
                                    "-f", config], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)

        def stop():
            haproxy.terminate()
            haproxy.wait(30)
            haproxy.stdout.close()

        self.addCleanup(stop)
        deadline = time.monotonic() + 30
        while True:
            try:
                if in_namespace(self.hosts.client, is_up):
                    return
            except OSError:
                pass
            self.assertLess(time.monotonic(), deadline, "haproxy did not start")
            time.sleep(0.1)

    def access_log_peers(self, server):
        with open(server.path("access.log")) as log:
            return {field.split("=", 1)[1].rsplit(":", 1)[0]
                    for line in log for field in line.split() if field.startswith("peer=")}


class BehindHAProxy(HAProxyTestCase):
    def setUp(self):
        super().setUp()
        self.instances = [self.instance(7001), self.instance(7002)]
        self.start_haproxy("frontend echo\n  bind 10.77.1.2:7000\n  default_backend wharf\n"
                           "backend wharf\n  balance roundrobin\n"
                           "  server a 10.77.2.2:7001 send-proxy-v2\n"
                           "  server b 10.77.2.2:7002 send-proxy-v2\n",
                           lambda: echo(("10.77.1.2", 7000), b"up?") == b"up?")

    def instance(self, port):
        # One worker: limits such as max_per_source are per worker.
        return self.on_server_host({"echo": {
            "transport": "tcp", "listen": f"10.77.2.2:{port}", "mode": "reactor",
            "plugin": "echo", "proxy_protocol": "v2", "proxy_from": "10.77.2.1",
            "deny": "10.77.1.3", "max_per_source": "4"}}, host={"workers": "1"})

    def through_balancer(self, payload, source="10.77.1.1"):
        return in_namespace(self.hosts.client,
                            lambda: echo(("10.77.1.2", 7000), payload, source))

    def test_echo_reaches_both_instances_as_the_client(self):
        for number in range(20):
            payload = b"round %d" % number
            self.assertEqual(self.through_balancer(payload), payload)
        totals = [self.sessions(server)["total"] for server in self.instances]
        self.assertEqual(sum(totals), 21)  # and the readiness probe
        self.assertTrue(all(total >= 10 for total in totals), totals)
        for server in self.instances:  # never HAProxy's 10.77.2.1
            self.assertEqual(self.access_log_peers(server), {"10.77.1.1"})

    def test_deny_and_max_per_source_act_on_the_client_address(self):
        self.assertEqual(self.through_balancer(b"denied", source="10.77.1.3"), b"")
        refused = [self.sessions(server)["refused"]["access"] for server in self.instances]
        self.assertEqual(sum(refused), 1)

        def hold_many():
            held = []
            try:
                for _ in range(12):  # 4 per instance are allowed: 8 in all
                    client = socket.create_connection(("10.77.1.2", 7000), timeout=20,
                                                      source_address=("10.77.1.1", 0))
                    held.append(client)
                    client.sendall(b"x")
                served = 0
                for client in held:
                    try:
                        served += client.recv(1) == b"x"
                    except ConnectionResetError:
                        pass
                return served
            finally:
                for client in held:
                    client.close()

        self.assertEqual(in_namespace(self.hosts.client, hold_many), 8)
        over = sum(self.sessions(server)["refused"]["max_per_source"] for server in self.instances)
        self.assertEqual(over, 4)

    def test_a_forged_header_that_bypasses_the_balancer_is_refused(self):
        def forge():
            body = (socket.inet_aton("192.0.2.1") + socket.inet_aton("10.77.2.2") +
                    (4000).to_bytes(2, "big") + (7001).to_bytes(2, "big"))
            header = b"\r\n\r\n\x00\r\nQUIT\n\x21\x11" + len(body).to_bytes(2, "big") + body
            return echo(("10.77.2.2", 7001), header + b"trust me")

        self.assertEqual(in_namespace(self.hosts.client, forge), b"")
        self.assertEqual(self.sessions(self.instances[0])["refused"]["proxy_from"], 1)

    def test_a_rolling_reload_and_upgrade_drop_no_connection(self):
        failures, served = [], [0]
        stop = threading.Event()

        def connect_loop():
            while not stop.is_set():
                try:
                    if echo(("10.77.1.2", 7000), b"rolling") != b"rolling":
                        failures.append("short reply")
                    served[0] += 1
                except OSError as error:
                    failures.append(error)

        looping = threading.Thread(target=in_namespace, args=(self.hosts.client, connect_loop))
        looping.start()
        try:
            time.sleep(0.3)
            first, second = self.instances
            self.assertEqual(first.ctl("reload").returncode, 0)
            time.sleep(0.3)
            upgrade = second.ctl("upgrade")
            self.assertEqual(upgrade.returncode, 0, upgrade.stdout + upgrade.stderr)
            time.sleep(0.3)
        finally:
            stop.set()
            looping.join()
        self.assertEqual(failures, [])
        self.assertGreater(served[0], 10)


class FtpBehindHAProxy(HAProxyTestCase):
    """FTP through the balancer: the control connection with PROXY v2, round
    robin over two wharfd instances serving one folder, and each instance's
    passive port range forwarded by the balancer to that instance, with PROXY
    v2 as well, so that the data connections' client is checked."""

    RANGES = {2121: "30000-30009", 2122: "30010-30019"}

    def setUp(self):
        super().setUp()
        self.root = tempfile.mkdtemp(prefix="wharf-ftp-root-")
        self.addCleanup(shutil.rmtree, self.root, True)
        os.makedirs(os.path.join(self.root, "home", "alice"))
        self.users = os.path.join(self.root, "users")
        with open(self.users, "w") as out:
            out.write(f"alice:{crypt_hash(PASSWORD)}:home/alice:rw\n")
        self.instances = [self.instance(port) for port in self.RANGES]
        sections = ("frontend ftp\n  bind 10.77.1.2:21\n  default_backend ftp\n"
                    "backend ftp\n  balance roundrobin\n")
        for name, port in zip("ab", self.RANGES):
            sections += f"  server {name} 10.77.2.2:{port} send-proxy-v2\n"
        for name, passive in zip("ab", self.RANGES.values()):
            # No port on the server: a connection goes to the port it came to.
            sections += (f"listen data-{name}\n  bind 10.77.1.2:{passive}\n"
                         f"  server {name} 10.77.2.2 send-proxy-v2\n")
        self.start_haproxy(sections, self.greets)

    def instance(self, port):
        return self.on_server_host({"ftp": {
            "transport": "tcp", "listen": f"10.77.2.2:{port}", "mode": "thread", "plugin": "ftp",
            "proxy_protocol": "v2", "proxy_from": "10.77.2.1",
            "option.root": self.root, "option.users": self.users,
            "option.passive_ports": self.RANGES[port], "option.masquerade_address": "10.77.1.2"}})

    @staticmethod
    def greets():
        with socket.create_connection(("10.77.1.2", 21), timeout=5) as control:
            return control.recv(100).startswith(b"220")

    def curl(self, *arguments):
        return subprocess.run(["ip", "netns", "exec", self.hosts.client, "curl", "-sS",
                               "--max-time", "60", "--interface", "10.77.1.1", *arguments],
                              capture_output=True, timeout=90)

    def test_curl_uploads_and_downloads_through_the_balancer_in_passive_mode(self):
        payload = os.urandom(3 * 1024 * 1024)
        source = os.path.join(self.root, "payload.bin")
        with open(source, "wb") as out:
            out.write(payload)
        url = f"ftp://alice:{PASSWORD}@10.77.1.2/"
        # EPSV (curl's first choice) and PASV (the masquerade address), four
        # times each: the round robin sends two of each to either instance.
        for number in range(8):
            passive = [] if number % 2 == 0 else ["--disable-epsv"]
            upload = self.curl(*passive, "-T", source, url + f"up{number}.bin")
            self.assertEqual(upload.returncode, 0, upload.stderr)
            download = self.curl(*passive, url + f"up{number}.bin")
            self.assertEqual(download.returncode, 0, download.stderr)
            self.assertEqual(sha256(download.stdout), sha256(payload))
        for server in self.instances:
            self.assertGreaterEqual(self.sessions(server)["total"], 8)
            self.assertEqual(self.access_log_peers(server), {"10.77.1.1"})  # not HAProxy's

    def test_a_data_connection_from_another_client_is_refused(self):
        with open(os.path.join(self.root, "home", "alice", "file.txt"), "wb") as out:
            out.write(b"for alice only\n")

        def steal_then_fetch():
            ftp = ftplib.FTP(timeout=20, source_address=("10.77.1.1", 0))
            ftp.connect("10.77.1.2", 21)
            ftp.login("alice", PASSWORD)
            host, port = ftplib.parse227(ftp.sendcmd("PASV"))
            self.assertEqual(host, "10.77.1.2")
            # Another host of the client's side races alice to her port,
            # through the balancer: its PROXY header names 10.77.1.3.
            thief = socket.create_connection((host, port), timeout=20,
                                             source_address=("10.77.1.3", 0))
            time.sleep(0.5)  # so that HAProxy has passed it on first
            try:
                ftp.sendcmd("TYPE I")
                data = socket.create_connection((host, port), timeout=20,
                                                source_address=("10.77.1.1", 0))
                reply = ftp.sendcmd("RETR file.txt")
                received = b""
                while chunk := data.recv(65536):
                    received += chunk
                data.close()
                try:
                    stolen = thief.recv(100)
                except ConnectionResetError:
                    stolen = b""
                return reply, received, ftp.voidresp(), stolen
            finally:
                thief.close()
                ftp.close()

        opened, received, done, stolen = in_namespace(self.hosts.client, steal_then_fetch)
        self.assertEqual(opened[:3], "150")
        self.assertEqual(received, b"for alice only\n")
        self.assertEqual(done[:3], "226")
        self.assertEqual(stolen, b"")
        refusal = "refused a data connection from 10.77.1.3 (the client is 10.77.1.1)"
        deadline = time.monotonic() + 30  # the log comes through a reader thread
        while not any(refusal in server.log() for server in self.instances):
            self.assertLess(time.monotonic(), deadline, "no instance logged the refusal")
            time.sleep(0.05)
