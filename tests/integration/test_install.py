"""`cmake --install BUILD --prefix P` under a scratch prefix: every file lands
under P, and the installed wharfd finds its plugins there by itself (no
plugin_dir), relative to its own bin/."""

import os
import shutil
import subprocess
import tempfile

from clients import receive_exactly, stream_connect
from wharf_harness import Wharfd, WharfTestCase, free_port

BUILD = os.environ["WHARF_BUILD_DIR"]


class InstallUnderAnyPrefix(WharfTestCase):
    def test_everything_lands_under_the_prefix_and_wharfd_finds_its_plugins(self):
        prefix = tempfile.mkdtemp(prefix="wharf-prefix-")
        self.addCleanup(shutil.rmtree, prefix)
        result = subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix],
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr)
        installed = [line.split(": ", 1)[1] for line in result.stdout.splitlines()
                     if line.startswith(("-- Installing: ", "-- Up-to-date: "))]
        self.assertGreater(len(installed), 10, result.stdout)
        outside = [path for path in installed if not path.startswith(prefix + os.sep)]
        self.assertEqual(outside, [])
        plugins = [path for path in installed if path.endswith("/wharf/plugins/echo.so")]
        self.assertEqual(len(plugins), 1, installed)

        address = f"127.0.0.1:{free_port()}"
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": address, "plugin": "echo"}})
        server.host.pop("plugin_dir")  # found by the installed wharfd itself
        server.write_config()
        server.binary = os.path.join(prefix, "bin", "wharfd")
        server.start()
        self.assertIn(f"({plugins[0]})", server.log())
        with stream_connect("tcp", address) as session:
            session.sendall(b"installed")
            self.assertEqual(receive_exactly(session, 9), b"installed")
        self.assertStops(server)
