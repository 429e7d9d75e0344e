"""bench/tls's native client (bench/tls_client.cpp), exercised briefly so it
cannot rot between bench runs: full handshakes in TLS 1.2 and 1.3 against
wharfd's TLS listeners as the bench drives them (the time plugin: 4 bytes,
then close; echo: 64 bytes back), a server that closes early fails the run,
and a download over TLS in xfer's framed dialect is checked byte for byte (a
wrong or refused one fails)."""

import os
import shutil
import subprocess
import tempfile
import unittest

from test_tls import make_certificate
from wharf_harness import WharfTestCase, free_port

CLIENT = os.path.join(os.environ["WHARF_BUILD_DIR"], "bin", "tls_client")
SIZE = (1 << 20) + 1  # more than one TLS record and the client's buffer, and not a multiple


def client(*arguments):
    """The client's exit status, its report and its error output."""
    # Under ASan a client that gives up (exit 1) would abort on what it did not
    # free first: a bench tool's exit, not a leak of wharfd's.
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
    result = subprocess.run([CLIENT, *map(str, arguments)], capture_output=True, text=True,
                            timeout=60, env=env)
    report = dict(line.split(None, 1) for line in result.stdout.splitlines())
    return result.returncode, report, result.stderr


class TlsClient(WharfTestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="wharf-tls-bench-")
        self.addCleanup(shutil.rmtree, self.work, True)
        cert, key = make_certificate(self.work, "server")
        self.root = os.path.join(self.work, "files")
        os.mkdir(self.root)
        self.source = os.path.join(self.root, "payload.bin")
        with open(self.source, "wb") as out:
            out.write(os.urandom(SIZE))
        self.ports = {name: free_port() for name in ("time", "echo", "xfer")}
        tls = {"transport": "tcp", "tls": "on", "tls_cert": cert, "tls_key": key}
        server = self.wharfd({
            "time": dict(tls, listen=f"127.0.0.1:{self.ports['time']}", mode="reactor",
                         plugin="time"),
            "echo": dict(tls, listen=f"127.0.0.1:{self.ports['echo']}", mode="reactor",
                         plugin="echo"),
            "xfer": dict(tls, listen=f"127.0.0.1:{self.ports['xfer']}", mode="thread",
                         plugin="xfer", **{"option.root": self.root,
                                           "option.dialect": "framed"})})
        self.addCleanup(self.assertStops, server)

    def test_full_handshakes_in_both_versions(self):
        for version, name in (("TLS1.2", "TLSv1.2"), ("TLS1.3", "TLSv1.3")):
            for listener, send, receive in (("time", 0, 4), ("echo", 64, 64)):
                with self.subTest(version=version, listener=listener):
                    status, report, errors = client("handshakes", self.ports[listener], version,
                                                    3, 0, send, receive)
                    self.assertEqual(status, 0, errors)
                    self.assertGreaterEqual(int(report["handshakes"]), 3)
                    self.assertEqual(report["resumed"], "0")
                    self.assertGreater(float(report["handshakes_per_sec"]), 0)
                    self.assertEqual(report["protocol"], name)
                    self.assertIn("GCM", report["cipher"])
                    self.assertEqual(report["group"], "X25519")

    def test_a_server_that_closes_early_fails_the_run(self):
        status, _, errors = client("handshakes", self.ports["time"], "TLS1.3", 1, 0, 0, 8)
        self.assertEqual(status, 1)
        self.assertIn("the server closed after 4 of 8 bytes", errors)

    def test_a_download_over_tls(self):
        status, report, errors = client("get", self.ports["xfer"], "payload.bin", self.source)
        self.assertEqual(status, 0, errors)
        self.assertEqual((report["bytes"], report["protocol"]), (str(SIZE), "TLSv1.3"))

    def test_a_wrong_or_refused_download_fails(self):
        other = os.path.join(self.work, "other.bin")
        with open(self.source, "rb") as source, open(other, "wb") as out:
            data = bytearray(source.read())
            data[-1] ^= 1
            out.write(data)
        status, _, errors = client("get", self.ports["xfer"], "payload.bin", other)
        self.assertEqual(status, 1)
        self.assertIn(f"differs from {other} near byte", errors)
        status, _, errors = client("get", self.ports["xfer"], "missing.bin", self.source)
        self.assertEqual(status, 1)
        self.assertIn("get refused", errors)


if __name__ == "__main__":
    unittest.main()
