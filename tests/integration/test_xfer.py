"""The xfer plugin with the tutorials' own clients (examples/xfer, run as
separate processes): files of 0 B, 1 B, 1 MiB and 100 MiB go up and come
back with the same SHA-256 in both dialects and in thread, pool, fork and
reactor modes, 50 clients at once; malformed headers, path escapes, odd file
types, the size limit, a client that leaves mid-upload, a peer that stops
reading and a hot reload during an upload, on raw sockets."""

import concurrent.futures
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from clients import connect_from, receive_exactly, receive_until_closed
from wharf_harness import PLUGIN_DIR, Wharfd, WharfTestCase, free_port, wait_until

CLIENTS = os.path.join(os.environ["WHARF_SOURCE_DIR"], "examples", "xfer")
MODES = ("thread", "pool", "fork", "reactor")
SIZES = {"zero.bin": 0, "one.bin": 1, "mib.bin": 1 << 20, "hundred.bin": 100 << 20}


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_client(dialect, port, commands, cwd):
    """The tutorial client for `dialect`, fed `commands` (lines) on stdin."""
    result = subprocess.run(
        [sys.executable, os.path.join(CLIENTS, f"{dialect}_client.py"), "127.0.0.1", str(port)],
        input="".join(line + "\n" for line in commands), capture_output=True, text=True,
        cwd=cwd, timeout=240)
    if result.returncode != 0:
        raise AssertionError(f"{dialect} client failed: {result.stdout}{result.stderr}")
    return result.stdout


def framed(head, order="<"):
    body = json.dumps(head).encode() if isinstance(head, dict) else head
    return struct.pack(order + "i", len(body)) + body


def read_framed(sock, order="<"):
    length, = struct.unpack(order + "i", receive_exactly(sock, 4))
    return json.loads(receive_exactly(sock, length))


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    return sock


def closed_after(sock):
    """True if the server closed the connection (end of input or a reset)."""
    try:
        receive_until_closed(sock)
        return True
    except ConnectionResetError:
        return True


class XferCase(WharfTestCase):
    def make_dir(self, prefix):
        directory = tempfile.mkdtemp(prefix=prefix)
        self.addCleanup(shutil.rmtree, directory, True)
        return directory

    def serve(self, listeners, host=None):
        """wharfd with xfer listeners: name -> (mode, dialect, extra keys); returns ports."""
        self.root = self.make_dir("wharf-xfer-root-")
        ports, config = {}, {}
        for name, (mode, dialect, extra) in listeners.items():
            ports[name] = free_port()
            config[name] = dict({"transport": "tcp", "listen": f"127.0.0.1:{ports[name]}",
                                 "mode": mode, "plugin": "xfer", "option.root": self.root,
                                 "option.dialect": dialect}, **extra)
        self.server = self.wharfd(config, host)
        self.addCleanup(self.assertStops, self.server)
        return ports


class RoundTrips(XferCase):
    @classmethod
    def setUpClass(cls):
        cls.source = tempfile.mkdtemp(prefix="wharf-xfer-source-")
        cls.digests = {}
        for name, size in SIZES.items():
            path = os.path.join(cls.source, name)
            with open(path, "wb") as f:
                f.write(os.urandom(size))
            cls.digests[name] = sha256(path)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.source, True)

    def test_every_size_both_dialects_every_mode(self):
        ports = self.serve({f"{mode}-{dialect}": (mode, dialect, {})
                            for mode in MODES for dialect in ("framed", "pipe")})
        for name, port in ports.items():
            mode, dialect = name.split("-")
            with self.subTest(mode=mode, dialect=dialect):
                for stored in os.listdir(self.root):
                    os.remove(os.path.join(self.root, stored))
                output = run_client(dialect, port, [f"put {os.path.join(self.source, n)}"
                                                    for n in SIZES], self.source)
                self.assertEqual(output.count("upload successful"), len(SIZES), output)
                for stored in SIZES:  # the client does not wait for the last one to be stored
                    self.server.wait_for_log(rf"listener\.{name}: peer [^ ]+: put "
                                             rf"'{stored}': {SIZES[stored]} bytes stored")
                self.assertEqual(sorted(os.listdir(self.root)), sorted(SIZES))
                for stored in SIZES:
                    self.assertEqual(sha256(os.path.join(self.root, stored)),
                                     self.digests[stored])
                target = self.make_dir("wharf-xfer-got-")
                output = run_client(dialect, port, [f"get {n}" for n in SIZES], target)
                self.assertEqual(output.count("download successful"), len(SIZES), output)
                for got in SIZES:
                    self.assertEqual(sha256(os.path.join(target, got)), self.digests[got])

    def test_fifty_clients_at_once(self):
        ports = self.serve({mode: (mode, "framed", {"pool_threads": "64"} if mode == "pool" else {})
                            for mode in MODES})
        for mode, port in ports.items():
            with self.subTest(mode=mode):
                self.check_fifty_clients(mode, port)

    def check_fifty_clients(self, mode, port):
        uploads = self.make_dir("wharf-xfer-fifty-")
        expected = {}
        for index in range(50):
            name = f"{mode}-{index}.bin"
            data = os.urandom(64 * 1024 + index)
            with open(os.path.join(uploads, name), "wb") as f:
                f.write(data)
            expected[name] = hashlib.sha256(data).hexdigest()

        def one_client(name):
            target = self.make_dir("wharf-xfer-fifty-got-")
            output = run_client("framed", port, [f"put {os.path.join(uploads, name)}",
                                                 f"get {name}"], target)
            return name, output, sha256(os.path.join(target, name))

        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            for name, output, digest in pool.map(one_client, expected):
                self.assertIn("download successful", output)
                self.assertEqual(digest, expected[name], name)
                self.assertEqual(sha256(os.path.join(self.root, name)), expected[name])


class Refusals(XferCase):
    def setUp(self):
        self.ports = self.serve({
            "reactor": ("reactor", "framed", {"option.max_file_size": "1000"}),
            "thread": ("thread", "framed", {"option.max_file_size": "1000"}),
            "pipe": ("reactor", "pipe", {"option.max_file_size": "1000"}),
            "big": ("thread", "framed", {"option.byte_order": "big"}),
        })

    def framed_ports(self):
        return {"reactor": self.ports["reactor"], "thread": self.ports["thread"]}

    def assertRefusedAndClosed(self, port, request, reason):
        with connect(port) as sock:
            sock.sendall(request)
            reply = read_framed(sock)
            self.assertIn(reason, reply.get("error", ""), reply)
            self.assertTrue(closed_after(sock))

    def test_malformed_headers_get_an_error_and_the_session_ends(self):
        cases = [
            (struct.pack("<i", 0), "header length 0"),
            (struct.pack("<i", -5), "header length -5"),
            (struct.pack("<i", 1 << 20), "header length 1048576"),
            (framed(b"{not json"), "not JSON"),
            (framed(b"[1, 2]"), "not a JSON object"),
            (framed({"filename": "a", "filesize": 1}), 'no "cmd"'),
            (framed({"cmd": "put", "filesize": 1}), 'no "filename"'),
            (framed({"cmd": "put", "filename": "a"}), 'no "filesize"'),
            (framed({"cmd": "put", "filename": 5, "filesize": 1}), "not a string"),
            (framed({"cmd": "put", "filename": "a", "filesize": "12"}), "not a whole number"),
            (framed({"cmd": "put", "filename": "a", "filesize": 1.5}), "not a whole number"),
            (framed({"cmd": "put", "filename": "a", "filesize": True}), "not a whole number"),
            (framed({"cmd": "put", "filename": "a", "filesize": -1}), "negative"),
            (framed({"cmd": "put", "filename": "a", "filesize": 1 << 64}), "more than 64 bits"),
            (framed({"cmd": "put", "filename": "a", "filesize": (1 << 64) + 1}),
             "more than 64 bits"),
            (framed({"cmd": "delete", "filename": "a"}), "unknown cmd"),
            (framed(b'{"cmd": {"cmd": {"cmd": "put"}}}'), "not JSON"),
        ]
        for mode, port in self.framed_ports().items():
            for request, reason in cases:
                with self.subTest(mode=mode, reason=reason):
                    self.assertRefusedAndClosed(port, request, reason)
        self.server.wait_for_log(r"peer 127\.0\.0\.1:\d+: malformed header: unknown cmd")
        self.assertEqual(os.listdir(self.root), [])

    def test_names_that_escape_or_hide_are_refused(self):
        outside = os.path.join(os.path.dirname(self.root), "escaped.bin")
        names = ["../escaped.bin", "a/b", "..", ".", ".hidden", "a\x00b", "a\nb", "a\\b", "",
                 "x" * 256, "/etc/passwd"]
        for mode, port in self.framed_ports().items():
            for name in names:
                with self.subTest(mode=mode, name=name):
                    with connect(port) as sock:  # a get is refused; the session goes on
                        sock.sendall(framed({"cmd": "get", "filename": name}))
                        self.assertIn("filename", read_framed(sock)["error"])
                        sock.sendall(framed({"cmd": "get", "filename": "missing"}))
                        self.assertEqual(read_framed(sock), {"error": "no such file"})
                        # Digits in a string are a name, not a number too large.
                        sock.sendall(framed({"cmd": "get", "filename": "9" * 30}))
                        self.assertEqual(read_framed(sock), {"error": "no such file"})
                    self.assertRefusedAndClosed(
                        port, framed({"cmd": "put", "filename": name, "filesize": 3}) + b"abc",
                        "filename")
        self.assertFalse(os.path.exists(outside))
        self.assertEqual(os.listdir(self.root), [])

    def test_the_size_limit_is_checked_before_any_byte_is_stored(self):
        for mode, port in self.framed_ports().items():
            with self.subTest(mode=mode):
                self.assertRefusedAndClosed(
                    port, framed({"cmd": "put", "filename": "large", "filesize": 1001}),
                    "filesize 1001 is over the limit of 1000 bytes")
                self.assertRefusedAndClosed(
                    port, framed({"cmd": "put", "filename": "large", "filesize": 1 << 62}),
                    "over the limit")
                self.assertEqual(os.listdir(self.root), [])
                with connect(port) as sock:
                    sock.sendall(framed({"cmd": "put", "filename": "fits", "filesize": 1000})
                                 + b"f" * 1000 + framed({"cmd": "get", "filename": "fits"}))
                    self.assertEqual(read_framed(sock), {"cmd": "get", "filename": "fits",
                                                         "filesize": 1000})
                    self.assertEqual(receive_exactly(sock, 1000), b"f" * 1000)
                os.remove(os.path.join(self.root, "fits"))

    def test_odd_file_types_are_not_served(self):
        os.mkfifo(os.path.join(self.root, "fifo"))
        os.mkdir(os.path.join(self.root, "folder"))
        os.symlink("/etc/passwd", os.path.join(self.root, "link"))
        for mode, port in self.framed_ports().items():
            for name in ("fifo", "folder", "link"):
                with self.subTest(mode=mode, name=name):
                    with connect(port) as sock:
                        sock.sendall(framed({"cmd": "get", "filename": name}))
                        self.assertEqual(read_framed(sock), {"error": "not a regular file"})
                    self.assertRefusedAndClosed(
                        port, framed({"cmd": "put", "filename": name, "filesize": 1}) + b"x",
                        "not a regular file")
        self.assertTrue(os.path.islink(os.path.join(self.root, "link")))

    def test_a_client_that_leaves_mid_upload_leaves_the_old_file_and_no_partial_one(self):
        keep = os.path.join(self.root, "keep.bin")
        for mode, port in self.framed_ports().items():
            with self.subTest(mode=mode):
                with open(keep, "wb") as f:
                    f.write(b"old contents")
                with connect(port) as sock:
                    sock.sendall(framed({"cmd": "put", "filename": "keep.bin", "filesize": 1000})
                                 + b"n" * 500)
                    time.sleep(0.2)  # let the server take the first half
                self.server.wait_for_log(
                    r"peer 127\.0\.0\.1:\d+: put 'keep\.bin' discarded: the client left after "
                    r"500 of 1000 bytes")
                with open(keep, "rb") as f:
                    self.assertEqual(f.read(), b"old contents")
                self.assertEqual(os.listdir(self.root), ["keep.bin"])
                self.server.lines.clear()

    def test_pipe_dialect_replies(self):
        port = self.ports["pipe"]
        with connect(port) as sock:
            sock.sendall(b"get|missing|0")
            self.assertEqual(sock.recv(100), b"NO|0")
            sock.sendall(b"put|../up|5")
            self.assertEqual(sock.recv(100), b"NO|filename holds a path separator")
            sock.sendall(b"put|big|1001")
            self.assertEqual(sock.recv(100), b"NO|filesize 1001 is over the limit of 1000 bytes")
            sock.sendall(b"put|ok.txt|5")  # the session went on
            self.assertEqual(sock.recv(100), b"OK")
            sock.sendall(b"hello")
            sock.sendall(b"get|ok.txt|0\n")
            self.assertEqual(sock.recv(100), b"YES|5")
            sock.sendall(b"second_active")
            self.assertEqual(receive_exactly(sock, 5), b"hello")
            sock.sendall(b"get|ok.txt|0")
            self.assertEqual(sock.recv(100), b"YES|5")
            sock.sendall(b"third_active")
            self.assertEqual(sock.recv(100), b"NO|expected second_active")
            self.assertTrue(closed_after(sock))
        for header, reason in ((b"delete|a|0", b"NO|unknown cmd (expected put or get)"),
                               (b"put|a|b|c\n", b"NO|header has more than three fields"),
                               (b"put|a|-3\n", b"NO|filesize is not a whole number"),
                               (b"x" * 5000, b"NO|header longer than 4096 bytes")):
            with self.subTest(header=header[:20]), connect(port) as sock:
                sock.sendall(header)
                self.assertEqual(sock.recv(100), reason)
                self.assertTrue(closed_after(sock))

    def test_big_endian_lengths(self):
        with connect(self.ports["big"]) as sock:
            sock.sendall(framed({"cmd": "put", "filename": "b", "filesize": 2}, ">") + b"hi"
                         + framed({"cmd": "get", "filename": "b"}, ">"))
            self.assertEqual(read_framed(sock, ">")["filesize"], 2)
            self.assertEqual(receive_exactly(sock, 2), b"hi")
            sock.sendall(struct.pack("<i", 30))  # little-endian 30 is big-endian 503316480
            self.assertIn("header length 503316480", read_framed(sock, ">")["error"])


class BytesAsTheyFlow(XferCase):
    """In the blocking modes xfer moves files past the host (sendfile, splice): a
    download's bytes reached the listener's counters only when the session ended.
    It reports them as they go, and the kernel's totals at the end count none twice."""

    def test_a_long_transfer_counts_while_it_runs_and_once(self):
        metrics = free_port()
        port = self.serve({"t": ("thread", "framed", {})},
                          host={"metrics": f"127.0.0.1:{metrics}"})["t"]
        with open(os.path.join(self.root, "big.bin"), "wb") as f:
            f.write(os.urandom(32 << 20))

        def counted(name):
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics",
                                        timeout=30) as response:
                text = response.read().decode()
            return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                       if line.startswith(name + "{"))

        sent = b""
        with connect(port) as sock:
            request = framed({"cmd": "get", "filename": "big.bin"})
            sock.sendall(request)
            sent += request
            self.assertEqual(read_framed(sock)["filesize"], 32 << 20)
            receive_exactly(sock, 4 << 20)
            time.sleep(1.1)  # past the session's first second: from here its bytes count as they go
            receive_exactly(sock, 8 << 20)  # then the client stops reading
            wait_until(lambda: counted("wharf_listener_sent_bytes_total") >= 4 << 20,
                       "a running download's bytes in wharf_listener_sent_bytes_total")
            receive_exactly(sock, (32 << 20) - (12 << 20))
            upload = framed({"cmd": "put", "filename": "up.bin", "filesize": 16 << 20})
            sock.sendall(upload + b"u" * (4 << 20))
            time.sleep(1.1)
            sock.sendall(b"u" * (6 << 20))  # and leaves the rest for later
            sent += upload + b"u" * (10 << 20)
            wait_until(lambda: counted("wharf_listener_received_bytes_total") >= 4 << 20,
                       "a running upload's bytes in wharf_listener_received_bytes_total")
            sock.sendall(b"u" * (6 << 20))
            sent += b"u" * (6 << 20)
            stored = os.path.join(self.root, "up.bin")
            wait_until(lambda: os.path.exists(stored) and os.path.getsize(stored) == 16 << 20,
                       "the upload stored")
        # Once the session has ended, the kernel's totals: what the client sent, exactly.
        wait_until(lambda: counted("wharf_listener_received_bytes_total") >= len(sent),
                   f"{len(sent)} bytes received in all")
        self.assertEqual(counted("wharf_listener_received_bytes_total"), len(sent))  # once
        self.assertGreaterEqual(counted("wharf_listener_sent_bytes_total"), 32 << 20)
        self.assertLess(counted("wharf_listener_sent_bytes_total"), 33 << 20)


class FullDisk(XferCase):
    def small_file_system(self):
        """A 1 MiB tmpfs, unmounted on cleanup; skips the test where it cannot be mounted."""
        tiny = self.make_dir("wharf-xfer-tiny-")
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", tiny],
                                 capture_output=True)
        if mounted.returncode != 0:
            self.skipTest("mounting a small tmpfs needs root")
        self.addCleanup(subprocess.run, ["umount", "-l", tiny])
        return tiny

    def test_a_full_file_system_refuses_the_put_and_keeps_nothing(self):
        tiny = self.small_file_system()
        ports = {mode: free_port() for mode in ("thread", "reactor")}
        self.server = self.wharfd({mode: {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                          "mode": mode, "plugin": "xfer", "option.root": tiny}
                                   for mode, port in ports.items()})
        self.addCleanup(self.assertStops, self.server)
        for mode, port in ports.items():
            with self.subTest(mode=mode), connect(port) as sock:
                size = 2 << 20
                # Refused on its header alone: the space is reserved before any byte comes.
                sock.sendall(framed({"cmd": "put", "filename": "full.bin", "filesize": size}))
                self.assertEqual(read_framed(sock)["error"], f"no space for {size} bytes")
                self.assertTrue(closed_after(sock))
                self.server.wait_for_log(rf"listener\.{mode}: peer [^ ]+: put 'full\.bin' "
                                         rf"refused: no space for {size} bytes; closing")
                self.assertEqual(os.listdir(tiny), [])
                self.assertEqual(os.statvfs(tiny).f_bfree, os.statvfs(tiny).f_blocks)

    def test_an_upload_that_fits_reserves_its_space_before_its_bytes_come(self):
        tiny = self.small_file_system()
        port = free_port()
        self.server = self.wharfd({"x": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                         "mode": "reactor", "plugin": "xfer",
                                         "option.root": tiny}})
        self.addCleanup(self.assertStops, self.server)
        with connect(port) as first, connect(port) as second:
            first.sendall(framed({"cmd": "put", "filename": "first.bin", "filesize": 700_000})
                          + b"a" * 1000)
            wait_until(lambda: os.statvfs(tiny).f_bfree * os.statvfs(tiny).f_bsize < 400_000,
                       "the first upload's 700,000 bytes reserved")
            # Before, the second filled the space the first still needed, and the
            # first failed midway; now the second is told at once.
            second.sendall(framed({"cmd": "put", "filename": "second.bin", "filesize": 500_000}))
            self.assertEqual(read_framed(second)["error"], "no space for 500000 bytes")
            first.sendall(b"a" * 699_000)
            wait_until(lambda: os.path.exists(os.path.join(tiny, "first.bin")), "first.bin stored")
        self.assertEqual(sha256(os.path.join(tiny, "first.bin")),
                         hashlib.sha256(b"a" * 700_000).hexdigest())


class StalledPeers(XferCase):
    def test_a_download_to_a_peer_that_never_reads_ends_at_idle_timeout(self):
        ports = self.serve({mode: (mode, "framed", {"idle_timeout": "300ms"})
                            for mode in ("thread", "reactor")})
        with open(os.path.join(self.root, "large.bin"), "wb") as f:
            f.truncate(64 << 20)
        for mode, port in ports.items():
            with self.subTest(mode=mode):
                sock = connect(port)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.sendall(framed({"cmd": "get", "filename": "large.bin"}))
                self.server.wait_for_log(rf"listener\.{mode}: peer 127\.0\.0\.1:\d+: "
                                         r"idle_timeout")
                sock.close()

    def test_an_upload_that_stalls_ends_at_idle_timeout_and_leaves_nothing(self):
        ports = self.serve({mode: (mode, "framed", {"idle_timeout": "300ms"})
                            for mode in ("thread", "reactor")})
        for mode, port in ports.items():
            with self.subTest(mode=mode), connect(port) as sock:
                sock.sendall(framed({"cmd": "put", "filename": "stalled.bin", "filesize": 1000})
                             + b"s" * 10)
                self.assertTrue(closed_after(sock))  # closed by wharfd, not by the test
                self.server.wait_for_log(rf"listener\.{mode}: peer [^ ]+: idle_timeout")
                self.server.wait_for_log(rf"listener\.{mode}: peer [^ ]+: put 'stalled\.bin' "
                                         r"discarded: the client left after 10 of 1000 bytes")
        self.assertEqual(os.listdir(self.root), [])

    def test_an_upload_that_stalls_on_the_reactor_ends_at_stall_timeout(self):
        # The reactor has no idle_timeout by default: xfer's own stall_timeout ends it.
        port = self.serve({"x": ("reactor", "framed", {"option.stall_timeout": "300ms"})})["x"]
        with connect(port) as sock:
            sock.sendall(framed({"cmd": "put", "filename": "stalled.bin", "filesize": 1000})
                         + b"s" * 10)
            self.assertEqual(read_framed(sock)["error"],
                             "too slow: fewer than 65536 bytes within stall_timeout")
            self.assertTrue(closed_after(sock))
        self.server.wait_for_log(r"peer [^ ]+: put 'stalled\.bin' stalled: fewer than 65536 bytes "
                                 r"within stall_timeout, after 10 of 1000; closing")
        self.assertEqual(os.listdir(self.root), [])

    def test_uploads_under_way_are_capped_by_max_in_flight_and_per_address(self):
        ports = self.serve({mode: (mode, "framed", {"option.max_in_flight": "1000",
                                                    "option.max_file_size": "400"})
                            for mode in ("thread", "reactor")}, host={"log_level": "debug"})

        def put(sock, name, size, data=b""):
            sock.sendall(framed({"cmd": "put", "filename": name, "filesize": size}) + data)

        def refusal_of_put(source, port, name, size):
            """The error a put of `size` bytes from `source` gets; the session then ends."""
            with connect_from(source, port) as sock:
                put(sock, name, size)
                error = read_framed(sock)["error"]
                self.assertTrue(closed_after(sock))
                return error

        for mode, port in ports.items():
            with self.subTest(mode=mode):
                first, second = connect_from("127.0.0.1", port), connect_from("127.0.0.2", port)
                put(first, "first.bin", 400, b"f" * 10)
                put(second, "second.bin", 400, b"s" * 10)
                self.server.wait_for_log(r"put 'first\.bin': receiving 400 bytes")
                self.server.wait_for_log(r"put 'second\.bin': receiving 400 bytes")
                # One address may claim its share (a quarter, or max_file_size if more) at most.
                self.assertEqual(refusal_of_put("127.0.0.1", port, "greedy.bin", 100),
                                 "busy: this address's uploads under way have declared 400 "
                                 "bytes, and this one would take them past its share of "
                                 "max_in_flight (400); try again later")
                self.assertEqual(refusal_of_put("127.0.0.3", port, "other.bin", 300),
                                 "busy: uploads under way have declared 800 bytes, and this "
                                 "one would take them past max_in_flight (1000); try again "
                                 "later")
                first.close()  # its claim is given back: the next put goes through
                self.server.wait_for_log(r"put 'first\.bin' discarded: the client left after 10 "
                                         r"of 400 bytes")
                with connect_from("127.0.0.3", port) as other:
                    put(other, "other.bin", 300, b"o" * 300)
                    wait_until(lambda: os.path.exists(os.path.join(self.root, "other.bin")),
                               "other.bin stored")
                second.close()
                os.unlink(os.path.join(self.root, "other.bin"))
                self.server.lines.clear()

    def test_a_slow_reader_keeps_its_download(self):
        ports = self.serve({mode: (mode, "framed", {"idle_timeout": "500ms"})
                            for mode in ("thread", "reactor")})
        data = os.urandom(4 << 20)
        with open(os.path.join(self.root, "slow.bin"), "wb") as f:
            f.write(data)
        for mode, port in ports.items():
            with self.subTest(mode=mode), connect(port) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
                sock.sendall(framed({"cmd": "get", "filename": "slow.bin"}))
                self.assertEqual(read_framed(sock)["filesize"], len(data))
                got = bytearray()
                while len(got) < len(data):  # seconds in all, never silent for 500 ms
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                    time.sleep(0.05)
                self.assertEqual(len(got), len(data))
                self.assertEqual(bytes(got), data)


class Configuration(WharfTestCase):
    def refused(self, options):
        root = tempfile.mkdtemp(prefix="wharf-xfer-root-")
        self.addCleanup(shutil.rmtree, root, True)
        keys = {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}", "plugin": "xfer",
                "option.root": root}
        keys.update(options)
        server = Wharfd(self, {"x": keys})
        self.assertEqual(server.start(expect_ready=False), 2, server.log())
        return server.log()

    def test_bad_options_refuse_the_listener_by_key(self):
        for options, message in (
                ({"option.dialect": "xml"}, "option.dialect: 'xml' (expected one of framed, pipe)"),
                ({"option.max_file_size": "lots"}, "option.max_file_size: 'lots' is not a size"),
                ({"option.max_file_size": "17T"}, "option.max_file_size: '17T' is not a size"),
                ({"option.byte_order": "middle"}, "option.byte_order: 'middle'"),
                ({"option.max_header": "10"}, "option.max_header: at least 64 bytes"),
                ({"option.max_in_flight": "65T"}, "option.max_in_flight: '65T' is not a size"),
                ({"option.max_in_flight": "100"}, "option.max_in_flight: less than max_file_size"),
                ({"option.stall_timeout": "soon"}, "option.stall_timeout: 'soon'"),
                ({"option.rot": "/tmp"}, "option.rot: unknown"),
                ({"option.root": "/nonexistent/folder"}, "option.root '/nonexistent/folder'")):
            with self.subTest(options=options):
                log = self.refused(options)
                self.assertIn("[listener.x]", log)
                self.assertIn(message, log)


class HotReload(XferCase):
    def test_an_upload_in_flight_completes_on_the_old_generation(self):
        self.root = self.make_dir("wharf-xfer-root-")
        plugin = os.path.join(self.make_dir("wharf-xfer-plugin-"), "xfer.so")
        shutil.copy(os.path.join(PLUGIN_DIR, "xfer.so"), plugin)
        port = free_port()
        self.server = self.wharfd({"x": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                         "mode": "reactor", "plugin": plugin,
                                         "option.root": self.root}},
                                  host={"admin": "admin.sock"})
        self.addCleanup(self.assertStops, self.server)
        data = os.urandom(8 << 20)
        with connect(port) as sock:
            sock.sendall(framed({"cmd": "put", "filename": "long.bin", "filesize": len(data)})
                         + data[:len(data) // 2])
            shutil.copy(plugin, plugin + ".new")  # a new build, installed by rename
            os.rename(plugin + ".new", plugin)
            result = self.server.ctl("reload")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("[listener.x] generation 2", result.stdout)
            with connect(port) as fresh:  # new sessions go to generation 2 meanwhile
                fresh.sendall(framed({"cmd": "get", "filename": "long.bin"}))
                self.assertEqual(read_framed(fresh), {"error": "no such file"})
            sock.sendall(data[len(data) // 2:] + framed({"cmd": "get", "filename": "long.bin"}))
            self.assertEqual(read_framed(sock)["filesize"], len(data))
            self.assertEqual(receive_exactly(sock, len(data)), data)
        with open(os.path.join(self.root, "long.bin"), "rb") as f:
            self.assertEqual(f.read(), data)


if __name__ == "__main__":
    unittest.main()
