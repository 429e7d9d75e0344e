"""Bad config, bad plugins and taken addresses stop wharfd at start with exit
status 2, a message naming file, section, key (or plugin file) and reason,
and nothing bound. --check-config validates without binding."""

import os
import pwd
import re
import socket
import subprocess
import tempfile
import unittest

from wharf_harness import (PLUGIN_DIR, WHARFD, Wharfd, WharfTestCase, free_port,
                           sanitized_build, test_plugin, under_address_space_limit)

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
        with open(os.path.join(os.environ["WHARF_SOURCE_DIR"], "sdk/include/wharf/wharf.h")) as h:
            minor = int(re.search(r"#define WHARF_ABI_MINOR (\d+)", h.read()).group(1))
        for fixture, reason in [
            ("no_entry", "no entry symbol wharf_plugin_entry"),
            ("abi_major_mismatch", f"built for Wharf ABI 2.{minor}"),
            ("abi_minor_newer", f"needs Wharf ABI 1.{minor + 1}, this host offers 1.{minor}"),
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
        self.assertIn(f"{server.config_path}:8: [listener.e] plugin: {fake} is not a shared "
                      "library (no ELF header)", server.log())

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
        subprocess.run([os.path.join(REPO, "setup.sh"), "prepare-examples"], check=True,
                       timeout=60)  # as `setup.sh start` does
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


@unittest.skipUnless(os.geteuid() == 0, "needs root: the check drops to [host] user")
class CheckAsTheWorkersUser(WharfTestCase):
    """Started as root with `user` set (systemd's ExecStartPre, an upgrade's
    check), --check-config loads the plugins in a child that has become that
    user: plugin code never runs as root, a file only root may read fails
    the check as it would fail the start, and a plugin that crashes is named
    with its signal."""

    def check(self, **options):
        server = Wharfd(self, {"c": dict({"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                          "plugin": test_plugin("checked")},
                                         **{"option." + key: value
                                            for key, value in options.items()})},
                        host={"user": "nobody"})
        os.chmod(server.dir, 0o755)
        # Under ASan, let the crash be a crash (ASan would catch SIGSEGV and abort).
        sanitizer = {"ASAN_OPTIONS": "handle_segv=0:" + os.environ.get("ASAN_OPTIONS", "")}
        return subprocess.run([WHARFD, "--config", server.config_path, "--check-config"],
                              capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, **sanitizer))

    def test_plugins_load_as_the_workers_user(self):
        result = self.check(does="refuse_root")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(": OK (1 listeners)", result.stdout)

    def test_a_file_the_workers_user_cannot_read_fails_the_check(self):
        secret = os.path.join(self.enterContext(tempfile.TemporaryDirectory()), "users")
        with open(secret, "w") as users:
            users.write("alice:x\n")
        os.chmod(secret, 0o600)
        result = self.check(does="read", path=secret)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertIn(f"cannot read {secret}", result.stderr)
        self.assertIn("nothing started", result.stderr)

    def test_an_isolated_listener_s_plugin_loads_as_its_own_user(self):
        secret = os.path.join(self.enterContext(tempfile.TemporaryDirectory()), "users")
        with open(secret, "w") as users:
            users.write("alice:x\n")
        os.chmod(secret, 0o600)
        os.chown(secret, pwd.getpwnam("nobody").pw_uid, -1)
        os.chmod(os.path.dirname(secret), 0o755)
        listener = {"transport": "tcp", "plugin": test_plugin("checked"),
                    "option.does": "read", "option.path": secret}
        server = Wharfd(self, {"c": dict(listener, listen=f"127.0.0.1:{free_port()}"),
                               "d": dict(listener, listen=f"127.0.0.1:{free_port()}",
                                         isolate="true", user="daemon")},
                        host={"user": "nobody"})
        os.chmod(server.dir, 0o755)

        def check():
            return subprocess.run([WHARFD, "--config", server.config_path, "--check-config"],
                                  capture_output=True, text=True, timeout=120)

        result = check()
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertIn(f"cannot read {secret}", result.stderr)
        server.listeners["d"]["user"] = "nobody"
        server.write_config()
        result = check()
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(": OK (2 listeners)", result.stdout)

    def test_a_crash_is_named_by_listener_plugin_and_signal(self):
        result = self.check(does="crash")
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertIn("[listener.c] plugin " + test_plugin("checked") +
                      ": killed by signal 11 (Segmentation fault) while loading (as user nobody)",
                      result.stderr)


class HostileConfig(WharfTestCase):
    """Values a careless operator writes: each is refused by --check-config
    with file:line, section, key and reason (before, each passed the check
    and then failed or misbehaved at start or at run time)."""

    def check(self, listeners, host=None, text=None):
        server = Wharfd(self, listeners, host)
        if text is not None:
            with open(server.config_path, "w") as config:
                config.write(text)
        return server, subprocess.run([WHARFD, "--config", server.config_path, "--check-config"],
                                      capture_output=True, text=True, timeout=120)

    def assertRefused(self, listeners, message, host=None):
        server, result = self.check(listeners, host)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertIn(message.format(config=server.config_path), result.stdout + result.stderr)

    def echo(self, **keys):
        listener = {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}", "plugin": "echo"}
        listener.update(keys)
        return listener

    def test_absurd_counts(self):
        for keys, message in [
            ({"mode": "pool", "pool_threads": "100000"},
             "{config}:10: [listener.e] pool_threads: '100000' is not a whole number from 1 to "
             "4096"),
            ({"mode": "pool", "queue": "99999999999"},
             "[listener.e] queue: '99999999999' is not a whole number from 0 to 1000000"),
            ({"mode": "fork", "max_children": "1000000"},
             "[listener.e] max_children: '1000000' is not a whole number from 1 to 4096"),
            ({"max_connections": "18446744073709551615"},
             "[listener.e] max_connections: '18446744073709551615' is not a whole number"),
            ({"backlog": "99999999"}, "[listener.e] backlog: '99999999' is not a whole number"),
        ]:
            with self.subTest(keys=keys):
                self.assertRefused({"e": self.echo(**keys)}, message)

    def test_wait_for_data_where_it_means_nothing(self):
        self.assertRefused({"e": self.echo(mode="reactor", wait_for_data="5s")},
                           "[listener.e] wait_for_data: applies to mode = sync, thread, pool, fork "
                           "only")
        self.assertRefused({"e": self.echo(transport="udp", wait_for_data="5s")},
                           "[listener.e] wait_for_data: applies to stream transports only")

    def test_durations_beyond_the_maximum(self):
        for key, value in [("shutdown_timeout", "10000000h"), ("drain_timeout", "1e300"),
                           ("shutdown_timeout", "1e300ms")]:
            with self.subTest(key=key, value=value):
                self.assertRefused({"e": self.echo()},
                                   f"[host] {key}: '{value}' is longer than the maximum 168h",
                                   host={key: value})
        self.assertRefused({"e": self.echo(idle_timeout="9999999h")},
                           "[listener.e] idle_timeout: '9999999h' is longer than the maximum 168h")

    def test_the_wildcard_beside_a_specific_address_on_one_port(self):
        port = free_port()
        self.assertRefused(
            {"any": self.echo(listen=f"*:{port}"), "local": self.echo(listen=f"127.0.0.1:{port}")},
            "[listener.local] listen: address already used by [listener.any]")

    def test_a_pools_old_workers_key_is_warned_of_by_line(self):
        # A pool's threads were `workers`, as [host] calls its processes.
        _, result = self.check({"e": self.echo(mode="pool", workers="3")})
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertRegex(result.stdout + result.stderr,
                         r"Warning .*:\d+: \[listener\.e\] workers: renamed pool_threads "
                         r"\(the threads of a pool; \[host\] workers are processes\): rename it")

    def test_a_threads_count_beyond_the_address_space_limit(self):
        if sanitized_build():
            self.skipTest("a sanitizer build does not run under ulimit -v")
        server, _ = self.check({"e": self.echo(mode="pool", pool_threads="1000")})
        result = subprocess.run(under_address_space_limit(3000000) +
                                [WHARFD, "--config", server.config_path, "--check-config"],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertIn("[listener.e] pool_threads: 1000 threads of", result.stdout + result.stderr)
        self.assertIn("(ulimit -v: 3000000 KiB)", result.stdout + result.stderr)

    def test_too_many_listeners(self):
        port = free_port()
        listeners = {f"l{i}": {"transport": "unix", "listen": f"s{i}.sock", "plugin": "echo"}
                     for i in range(1025)}
        self.assertRefused(listeners, "[listener.l1024] more than 1024 listeners")

    def test_a_byte_order_mark_is_not_part_of_the_first_line(self):
        server, _ = self.check({"e": self.echo()})
        with open(server.config_path, encoding="utf-8") as config:
            text = config.read()
        with open(server.config_path, "w", encoding="utf-8-sig") as config:
            config.write(text)
        with open(server.config_path, "rb") as config:
            self.assertEqual(config.read(3), b"\xef\xbb\xbf")
        result = subprocess.run([WHARFD, "--config", server.config_path, "--check-config"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_a_hundred_thousand_options_are_read_in_linear_time(self):
        port = free_port()
        text = (f"[host]\nplugin_dir = {PLUGIN_DIR}\n[listener.e]\ntransport = tcp\n"
                f"listen = 127.0.0.1:{port}\nplugin = echo\n" +
                "".join(f"option.k{i} = v\n" for i in range(100000)))
        # Quadratic, this took 12 s to check; linear, well under a second.
        # The bound is a generous ceiling for a loaded sanitizer build.
        server, result = self.check({}, text=text)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
