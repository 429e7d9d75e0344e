"""Tests that run wharfd on the server host of network_hosts, with peers
whose addresses are not loopback. Skipped where the test may not create
namespaces."""

import json
import os
import subprocess

from network_hosts import Hosts
from wharf_harness import Wharfd, WharfTestCase


class NamespaceTestCase(WharfTestCase):
    """The hosts above, and wharfd on the server host."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to create network namespaces")
        probe = subprocess.run(["ip", "netns", "add", "wharf-probe"], capture_output=True,
                               text=True)
        if probe.returncode != 0:
            self.skipTest("cannot create network namespaces: " + probe.stderr.strip())
        subprocess.run(["ip", "netns", "del", "wharf-probe"], capture_output=True)
        self.hosts = Hosts(self)

    def on_server_host(self, listeners, host=None):
        """A wharfd on the server host."""
        server = Wharfd(self, listeners, host={"admin": "admin.sock", **(host or {})})
        server.host["access_log"] = server.path("access.log")
        server.write_config()
        server.launcher = ["ip", "netns", "exec", self.hosts.server]
        return server.start()

    def sessions(self, server):
        reply = server.ctl("status", "--json")
        self.assertEqual(reply.returncode, 0, reply.stderr)
        return json.loads(reply.stdout)["listeners"][0]["sessions"]

