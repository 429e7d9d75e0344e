"""The FTP plugin's options: the shipped example (etc/ftp.ini) passes
--check-config, and each bad option refuses the listener by key and reason."""

import os
import subprocess

from ftp_fixture import FtpServer
from wharf_harness import WHARFD, WharfTestCase

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class FtpConfig(WharfTestCase):
    def check(self, config_path):
        return subprocess.run([WHARFD, "--config", config_path, "--check-config"],
                              capture_output=True, text=True, timeout=60)

    def test_the_shipped_example_is_accepted(self):
        server = FtpServer(self)
        with open(os.path.join(REPO, "etc", "ftp.ini")) as example:
            text = example.read()
        users = server.server.path("users")
        text = text.replace("/srv/ftp", server.root).replace("/etc/wharf/ftp-users", users)
        config = server.server.path("example.ini")
        with open(config, "w") as out:
            out.write(f"[host]\nplugin_dir = {server.server.host['plugin_dir']}\n")
            out.write(text.split("[host]", 1)[1].replace("admin = ", "; admin = "))
        result = self.check(config)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_bad_options_refuse_the_listener_by_key(self):
        cases = [
            ({"root": "/nonexistent/ftp"}, "root /nonexistent/ftp: No such file or directory"),
            ({"anonymous": "write"}, "option.anonymous: 'write' (expected one of off, read)"),
            ({"passive_ports": "5000-4000"}, "option.passive_ports: expected 1024 <= FIRST"),
            ({"tls": "require"}, "option.tls: needs option.tls_cert and option.tls_key"),
            ({"umask": "999"}, "option.umask: '999' is not an octal mask"),
            ({"users": "/nonexistent/users"}, "option.users: cannot read /nonexistent/users"),
            ({"idle_timeout": "soon"}, "option.idle_timeout: 'soon' is not a whole number"),
            ({"zero_copy": "yes"}, "option.zero_copy: 'yes' (expected one of off, on)"),
        ]
        for options, message in cases:
            with self.subTest(options=options):
                server = FtpServer(self, options=options)
                result = self.check(server.server.config_path)
                self.assertEqual(result.returncode, 2)
                self.assertIn("refused listener [listener.ftp]", result.stdout + result.stderr)
                self.assertIn(message, result.stdout + result.stderr)

    def test_the_reactor_mode_is_refused_for_a_blocking_plugin(self):
        server = FtpServer(self, mode="reactor")
        result = self.check(server.server.config_path)
        self.assertEqual(result.returncode, 2)
        self.assertRegex(result.stdout + result.stderr, r"listener \[listener\.ftp\].*ftp.*reactor")

    def test_a_malformed_users_file_is_refused_with_its_line(self):
        server = FtpServer(self)
        with open(server.server.path("users"), "a") as users:
            users.write("carol:plaintext:home/carol:rw\n")
        result = self.check(server.server.config_path)
        self.assertEqual(result.returncode, 2)
        self.assertIn("users:4: expected name:crypt-hash:home:ro|rw", result.stdout + result.stderr)

    def test_passive_ports_inside_the_ephemeral_range_are_warned_of(self):
        with open("/proc/sys/net/ipv4/ip_local_port_range") as range_file:
            first, last = map(int, range_file.read().split())
        inside = FtpServer(self, options={"passive_ports": f"{first}-{first + 9}"}).start()
        inside.server.wait_for_log(rf"passive_ports {first}-{first + 9} overlaps the kernel's "
                                   rf"ephemeral ports \(net.ipv4.ip_local_port_range {first}-"
                                   rf"{last}\)")
        self.assertStops(inside.server)
        outside = FtpServer(self, options={"passive_ports": f"{last + 1}-{last + 10}"}).start()
        self.assertNotIn("overlaps", outside.server.log())
        ftp = outside.client("anonymous")
        port = int(ftp.sendcmd("EPSV").split("|")[3])
        self.assertTrue(last < port <= last + 10)
        ftp.quit()
        self.assertStops(outside.server)
