"""bench/xfer's native pieces, exercised with small files so they cannot rot
between bench runs: the client (bench/xfer_client.cpp) uploads a file and
downloads it again, verified byte for byte, in both dialects against the C
reference server (bench/xfer_reference.c) and against wharfd's xfer plugin in
reactor and thread mode; an upload returns only once the server has stored
it; a refused get and a download that differs from what it should be fail."""

import os
import shutil
import subprocess
import tempfile
import unittest

from wharf_harness import WharfTestCase, free_port

BIN = os.path.join(os.environ["WHARF_BUILD_DIR"], "bin")
DIALECTS = ("framed", "pipe")
SIZE = (1 << 20) + 1  # more than one of the client's and servers' buffers, and not a multiple


def client(dialect, port, *command):
    """The client's exit status, its report ("bytes", "seconds") and its error output."""
    result = subprocess.run([os.path.join(BIN, "xfer_client"), dialect, str(port), *command],
                            capture_output=True, text=True, timeout=60)
    report = dict(line.split() for line in result.stdout.splitlines())
    return result.returncode, report, result.stderr


class NativeClient(WharfTestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="wharf-xfer-bench-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.source = os.path.join(self.work, "payload.bin")
        with open(self.source, "wb") as out:
            out.write(os.urandom(SIZE))

    def make_root(self):
        return tempfile.mkdtemp(dir=self.work)

    def reference(self, dialect, root):
        """The reference server's port, the server stopped when the test ends."""
        port = free_port()
        server = subprocess.Popen([os.path.join(BIN, "xfer_reference"), dialect, str(port), root],
                                  stdout=subprocess.PIPE, text=True)
        self.addCleanup(server.stdout.close)
        self.addCleanup(server.wait)
        self.addCleanup(server.kill)
        self.assertEqual(server.stdout.readline(), "ready\n")
        return port

    def assertRoundTrip(self, dialect, port, root):
        status, report, errors = client(dialect, port, "put", self.source)
        self.assertEqual((status, report.get("bytes")), (0, str(SIZE)), errors)
        # Stored by the time the put returns: no waiting for the server's log.
        with open(os.path.join(root, "payload.bin"), "rb") as stored, \
                open(self.source, "rb") as source:
            self.assertEqual(stored.read(), source.read())
        downloaded = os.path.join(self.work, "downloaded.bin")
        status, report, errors = client(dialect, port, "get", "payload.bin", downloaded,
                                        self.source)
        self.assertEqual((status, report.get("bytes")), (0, str(SIZE)), errors)
        self.assertGreater(float(report["seconds"]), 0)

    def test_round_trip_against_the_reference(self):
        for dialect in DIALECTS:
            with self.subTest(dialect=dialect):
                root = self.make_root()
                self.assertRoundTrip(dialect, self.reference(dialect, root), root)

    def test_round_trip_against_xfer(self):
        roots = {(mode, dialect): self.make_root() for mode in ("reactor", "thread")
                 for dialect in DIALECTS}
        ports = {listener: free_port() for listener in roots}
        server = self.wharfd({f"{mode}-{dialect}": {
            "transport": "tcp", "listen": f"127.0.0.1:{ports[mode, dialect]}", "mode": mode,
            "plugin": "xfer", "option.root": root, "option.dialect": dialect}
            for (mode, dialect), root in roots.items()})
        self.addCleanup(self.assertStops, server)
        for (mode, dialect), root in roots.items():
            with self.subTest(mode=mode, dialect=dialect):
                self.assertRoundTrip(dialect, ports[mode, dialect], root)

    def test_a_wrong_or_refused_download_fails(self):
        for dialect in DIALECTS:
            with self.subTest(dialect=dialect):
                port = self.reference(dialect, self.make_root())
                self.assertEqual(client(dialect, port, "put", self.source)[0], 0)
                other = os.path.join(self.work, "other.bin")
                with open(self.source, "rb") as source, open(other, "wb") as out:
                    out.write(bytes([source.read(1)[0] ^ 1]) + source.read())
                downloaded = os.path.join(self.work, "downloaded.bin")
                status, _, errors = client(dialect, port, "get", "payload.bin", downloaded,
                                           other)
                self.assertEqual(status, 1)
                self.assertIn("differs from", errors)
                status, _, errors = client(dialect, port, "get", "missing.bin", downloaded,
                                           self.source)
                self.assertEqual(status, 1)
                self.assertIn("get refused", errors)


if __name__ == "__main__":
    unittest.main()
