"""Bad config, bad plugins and taken addresses stop wharfd at start with exit
status 2, a message naming file, section, key (or plugin file) and reason,
and nothing bound. --check-config validates without binding."""

import os
import socket
import subprocess

from wharf_harness import WHARFD, Wharfd, WharfTestCase, free_port, test_plugin

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class StartupRefusals(WharfTestCase):
    def refused(self, listeners, host=None):
        server = Wharfd(self, listeners, host)
        code = server.start(expect_ready=False)
        self.assertEqual(code, 2, server.log())
        self.assertIn("nothing started", server.log())
        return server

    def assertNothingListens(self, port):
        with socket.socket() as probe:
            self.assertNotEqual(probe.connect_ex(("127.0.0.1", port)), 0)

    def test_config_error_names_file_line_section_key_and_reason(self):
        port = free_port()
        server = self.refused({"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                     "mode": "turbo", "plugin": "echo"}})
        self.assertIn(f"{server.config_path}:8: [listener.e] mode: unknown mode 'turbo'",
                      server.log())
        self.assertNothingListens(port)

    def test_one_bad_listener_starts_none(self):
        good, bad = free_port(), free_port()
        server = self.refused({
            "good": {"transport": "tcp", "listen": f"127.0.0.1:{good}", "plugin": "echo"},
            "bad": {"transport": "tcp", "listen": f"127.0.0.1:{bad}", "plugin": "nonexistent"},
        })
        self.assertIn("[listener.bad] plugin: plugin 'nonexistent' not found", server.log())
        self.assertNothingListens(good)

    def test_broken_plugins_are_refused_by_file_and_reason(self):
        for fixture, reason in [
            ("no_entry", "no entry symbol wharf_plugin_entry"),
            ("abi_major_mismatch", "built for Wharf ABI 2.1"),
            ("abi_minor_newer", "needs Wharf ABI 1.2, this host offers 1.1"),
            ("load_fails", "'load-fails' failed to initialise: licence file /nonexistent/licence missing"),
            ("instance_refuses", "'instance-refuses' refused listener [listener.e]: option.required is missing"),
        ]:
            with self.subTest(fixture=fixture):
                server = self.refused({"e": {"transport": "tcp",
                                             "listen": f"127.0.0.1:{free_port()}",
                                             "plugin": test_plugin(fixture)}})
                self.assertIn(f"plugin {test_plugin(fixture)}: {reason}", server.log())

    def test_a_file_that_is_not_a_shared_object_is_refused(self):
        server = Wharfd(self, {})
        fake = server.path("fake.so")
        with open(fake, "w") as stream:
            stream.write("not ELF\n")
        server.listeners = {"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                  "plugin": fake}}
        server.write_config()
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertIn(f"plugin {fake}: not a loadable shared object", server.log())

    def test_transport_the_plugin_does_not_serve_is_refused(self):
        server = self.refused({"e": {"transport": "udp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": test_plugin("stream_only")}})
        self.assertIn("listener [listener.e]: plugin 'stream-only'", server.log())
        self.assertIn("does not serve datagram transports (udp)", server.log())

    def test_a_blocking_only_plugin_is_refused_on_the_reactor(self):
        server = self.refused({"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "mode": "reactor", "plugin": test_plugin("blocking_echo")}})
        self.assertIn(f"listener [listener.e]: plugin 'blocking-echo' ({test_plugin('blocking_echo')})"
                      " in mode 'reactor': the plugin is blocking-style only (serve) and this mode"
                      " runs event-style plugins only", server.log())

    def test_address_in_use_is_refused(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            server = self.refused({"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                         "plugin": "echo"}})
            self.assertIn(f"tcp 127.0.0.1:{port}: bind: Address already in use", server.log())

    def test_check_config_accepts_the_shipped_example_without_binding(self):
        os.makedirs("/tmp/wharf-ftp/pub", exist_ok=True)  # as `setup.sh start` does
        result = subprocess.run([WHARFD, "--config", os.path.join(REPO, "etc", "wharf.ini"),
                                 "--check-config"], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("OK", result.stdout)

    def test_check_config_exits_2_on_errors(self):
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": "127.0.0.1:1",
                                     "plugin": "echo", "colour": "blue"}})
        result = subprocess.run([WHARFD, "--config", server.config_path, "--check-config"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 2)
        self.assertIn("[listener.e] colour: unknown key", result.stdout + result.stderr)
