"""sdk/rust, the wharf-sdk crate, and the Rust examples on it, with Debian's
cargo (1.65) and rustc (1.63), offline: the crate's own test compares its
`sys` types with what the SDK's layout checker (sdk/checker/wharf_layout.c,
compiled against wharf.h) prints; the examples build from their committed
Cargo.lock (--locked); then wharfd serves them in the reactor and thread
modes: rot13's bytes, the ticker's zone counted across two workers, its
instance timer, session timers and wakers, a panicking hook that fails only
its own session, and a zone a C++ plugin (wharf_kv.h) and the Rust one
(wharf_sdk::Kv) both read and write across reloads."""

import os
import shutil
import tempfile
import time

from clients import DatagramClient, receive_exactly, stream_connect, stream_round_trip
from rust_crates import CARGO, cargo_environment, require_toolchain, run
from wharf_harness import Wharfd, WharfTestCase, free_port, test_plugin
from test_zones import Redis, kv_listener

SOURCE = os.environ["WHARF_SOURCE_DIR"]
SDK = os.path.join(SOURCE, "sdk")
EXAMPLES = {"rot13": os.path.join(SDK, "examples", "rust"),
            "ticker": os.path.join(SDK, "examples", "rust_ticker")}
# The crate's other hooks (blocking style, datagrams, writable, options, metrics).
FIXTURES = {"styles": os.path.join(SOURCE, "tests", "fixtures", "rust_styles")}


class Line:
    """A line-oriented session with the ticker."""

    def __init__(self, port):
        self.sock = stream_connect("tcp", f"127.0.0.1:{port}")
        self.replies = self.sock.makefile("rb")

    def ask(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self.read()

    def read(self):
        return self.replies.readline().decode().rstrip("\n")

    def close(self):
        self.replies.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def ticker_listener(port, mode, **options):
    keys = {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": mode,
            "plugin": RustSdk.plugins["ticker"]}
    keys.update({f"option.{key}": value for key, value in options.items()})
    return keys


class RustSdk(WharfTestCase):
    plugins = {}

    @classmethod
    def setUpClass(cls):
        require_toolchain()
        cls.work = tempfile.mkdtemp(prefix="wharf-rust-")
        cls.env = cargo_environment(cls.work)
        # The examples build where they are, from their committed lockfiles
        # (--locked: cargo writes nothing there, and fails on a stale or
        # unreadable one), into one target directory that builds the crate once.
        for name, crate in {**EXAMPLES, **FIXTURES}.items():
            run([CARGO, "build", "--offline", "--locked", "--release"], cwd=crate, env=cls.env)
            cls.plugins[name] = os.path.join(cls.work, "target", "release", f"libwharf_{name}.so")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_the_installed_crate_s_types_match_the_installed_header(self):
        # The SDK alone, installed as wharf-dev installs it: the crate in
        # share/wharf-sdk/rust, its test finding the checker at ../checker and
        # the headers at ../../../include (and cargo writes its lockfile there,
        # not into the source tree).
        build, prefix = os.path.join(self.work, "sdk-build"), os.path.join(self.work, "prefix")
        run(["cmake", "-S", SOURCE, "-B", build, "-DWHARF_SDK_ONLY=ON"])
        run(["cmake", "--install", build, "--prefix", prefix, "--component", "dev"])
        crate = os.path.join(prefix, "share", "wharf-sdk", "rust")
        self.assertTrue(os.path.isfile(os.path.join(prefix, "share", "wharf-sdk", "checker",
                                                    "wharf_layout.c")))
        self.assertFalse(os.path.exists(os.path.join(crate, "Cargo.lock")))
        output = run([CARGO, "test", "--offline"], cwd=crate, env=self.env)
        self.assertIn("test sys_matches_the_header ... ok", output)
        self.assertIn("test kv::tests::hashes_as_wharf_kv_hash ... ok", output)
        self.assertIn("test every_operation_of_the_table ... ok", output)
        self.assertIn("src/lib.rs - (line 8) - compile ... ok", output)  # the crate's example

    def test_the_examples_lockfiles_are_in_the_format_debian_s_cargo_reads(self):
        # setUpClass built them --locked with cargo 1.65, which refuses a
        # version 4 lockfile; this names the cause if a newer cargo rewrote one.
        for name, crate in {**EXAMPLES, **FIXTURES}.items():
            with open(os.path.join(crate, "Cargo.lock")) as lockfile:
                self.assertIn("\nversion = 3\n", lockfile.read(), name)
        # What makes cargo 1.78 and later write version 3 rather than 4.
        for crate in [*EXAMPLES.values(), *FIXTURES.values(), os.path.join(SDK, "rust")]:
            with open(os.path.join(crate, "Cargo.toml")) as manifest:
                self.assertIn('\nrust-version = "1.63"\n', manifest.read(), crate)

    def test_rot13_serves_in_the_reactor_and_thread_modes(self):
        for mode in ("reactor", "thread"):
            with self.subTest(mode=mode):
                port = free_port()
                server = self.wharfd({"r": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                            "mode": mode, "plugin": self.plugins["rot13"]}})
                self.assertEqual(stream_round_trip("tcp", f"127.0.0.1:{port}", b"Hello, World"),
                                 b"Uryyb, Jbeyq")
                self.assertIn("plugin rot13 1.0.0", server.log())
                server.wait_for_log("rot13 from Rust")
                self.assertStops(server)

    def test_the_ticker_counts_in_one_zone_across_two_workers(self):
        for mode in ("reactor", "thread"):
            with self.subTest(mode=mode):
                port = free_port()
                server = self.wharfd({"t": ticker_listener(port, mode, tick_ms=50)},
                                     host={"workers": "2"})
                pids, opened, deadline = set(), 0, time.monotonic() + 30
                while len(pids) < 2:  # sessions until both workers have served one
                    self.assertLess(time.monotonic(), deadline, "one worker served every session")
                    with Line(port) as session:
                        opened += 1
                        pids.add(session.ask("count").split()[-1])
                with Line(port) as session:
                    words = session.ask("count").split()
                    self.assertEqual(int(words[1]), opened + 1)  # every worker's sessions
                    self.assertEqual(session.ask("wait 20"), "timer fired")
                    self.assertEqual(session.ask("watch"), "tick")  # posted by the instance timer
                    ticks = int(session.ask("count").split()[3])
                    time.sleep(0.3)
                    self.assertGreater(int(session.ask("count").split()[3]), ticks)
                server.wait_for_log("ticker: first tick")
                self.assertStops(server)

    def test_a_panic_in_a_hook_fails_only_its_own_session(self):
        for mode in ("reactor", "thread"):
            with self.subTest(mode=mode):
                port = free_port()
                server = self.wharfd({"t": ticker_listener(port, mode)}, host={"workers": "1"})
                with Line(port) as bystander:
                    self.assertEqual(bystander.ask("set k v"), "ok")
                    with Line(port) as doomed:
                        doomed.sock.sendall(b"panic\n")
                        self.assertEqual(doomed.replies.read(), b"")  # closed, nothing sent
                    server.wait_for_log(r"plugin panicked: asked to panic \(at src/lib\.rs:\d+\) "
                                        r"in data")
                    self.assertEqual(bystander.ask("get k"), "v")  # the same worker goes on
                with Line(port) as after:
                    self.assertEqual(after.ask("get k"), "v")
                self.assertNotIn("' panicked at", server.log())  # not the default hook's noise
                self.assertEqual(len(server.worker_pids()), 1)
                self.assertStops(server)

    def test_a_cpp_plugin_and_the_rust_plugin_share_a_wharf_kv_zone(self):
        # kv_v1 (C++ over wharf_kv.h) and the ticker (wharf_sdk::Kv) take
        # turns on one listener and its zone "kv": each reads what the other wrote.
        port = free_port()
        server = Wharfd(self, {"kv": kv_listener(port)}, host={"admin": "admin.sock"}).start()
        with Redis(port) as redis:
            self.assertEqual(redis.command("SET", "shared", "from-cpp"), b"+OK")
            self.assertEqual(redis.command("INCR", "hits"), 1)

        def reload(keys):
            server.listeners["kv"] = keys
            server.write_config()
            result = server.ctl("reload")
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

        reload(ticker_listener(port, "thread", zone="kv", zone_size="4194304"))
        server.wait_for_log(r"zone 'kv' \(4194304 bytes, layout 1\) kept")
        with Line(port) as session:
            self.assertEqual(session.ask("get shared"), "from-cpp")
            self.assertEqual(session.ask("incr hits"), "2")
            self.assertEqual(session.ask("set back from-rust"), "ok")
        reload(kv_listener(port))
        with Redis(port) as redis:
            self.assertEqual(redis.command("GET", "back"), b"from-rust")
            self.assertEqual(redis.command("INCR", "hits"), 3)
        self.assertStops(server)

    def styles(self, mode, transport="tcp", **options):
        port = free_port()
        keys = {"transport": transport, "listen": f"127.0.0.1:{port}", "mode": mode,
                "plugin": self.plugins["styles"]}
        keys.update({f"option.{key}": value for key, value in options.items()})
        return port, self.wharfd({"r": keys}, host={"workers": "1"})

    def test_blocking_style_serves_and_a_panic_in_serve_ends_only_its_session(self):
        port, server = self.styles("thread", prefix="echo")
        server.wait_for_log(r"styles: r stream options \[prefix=echo\]")
        with Line(port) as bystander:
            self.assertEqual(bystander.ask("hello"), "echo hello")
            with Line(port) as doomed:
                doomed.sock.sendall(b"panic\n")
                self.assertEqual(doomed.replies.read(), b"")
            server.wait_for_log(r"plugin panicked: panic in serve \(at src/lib\.rs:\d+\) in serve")
            self.assertEqual(bystander.ask("again"), "echo again")
        server.wait_for_log(r"styles: serving 127\.0\.0\.1:\d+")
        self.assertStops(server)

    def test_event_style_writes_a_long_reply_from_writable(self):
        port, server = self.styles("reactor")
        with Line(port) as session:
            session.sock.sendall(b"big 1000000\n")
            self.assertEqual(receive_exactly(session.sock, 1000000), b"x" * 1000000)
            with Line(port) as doomed:
                doomed.sock.sendall(b"panic\n")
                self.assertEqual(doomed.replies.read(), b"")
            server.wait_for_log(r"plugin panicked: panic in data \(at src/lib\.rs:\d+\) in data")
            session.sock.sendall(b"big 10\n")
            self.assertEqual(receive_exactly(session.sock, 10), b"x" * 10)
            with Line(port) as doomed:
                doomed.sock.sendall(b"timer-panic\n")
                self.assertEqual(doomed.replies.read(), b"")
            server.wait_for_log(r"plugin panicked: panic in a session timer \(at src/lib\.rs:\d+\) "
                                r"in a session timer")
            session.sock.sendall(b"big 10\n")
            self.assertEqual(receive_exactly(session.sock, 10), b"x" * 10)
        self.assertStops(server)

    def test_a_panic_in_an_instance_timer_is_logged_and_stops_that_timer(self):
        port, server = self.styles("thread", timer_panics="yes")
        server.wait_for_log(r"plugin panicked: panic in a timer \(at src/lib\.rs:\d+\) "
                            r"in an instance timer")
        time.sleep(0.1)  # ten more periods: it ran once
        self.assertEqual(server.log().count("panic in a timer"), 1, server.log())
        with Line(port) as session:
            self.assertEqual(session.ask("still"), "you said still")
        self.assertStops(server)

    def test_datagrams_and_a_panic_in_on_datagram(self):
        port, server = self.styles("reactor", transport="udp")
        server.wait_for_log(r"styles: r datagram options \[\]")
        with DatagramClient("udp", f"127.0.0.1:{port}") as client:
            self.assertEqual(client.exchange(b"abc"), b"cba")
            client.sock.sendto(b"panic", client.target)
            server.wait_for_log(r"plugin panicked: panic in datagram \(at src/lib\.rs:\d+\) "
                                r"in datagram")
            self.assertEqual(client.exchange(b"wharf"), b"frahw")
        self.assertStops(server)

    def test_an_instance_the_plugin_refuses_names_its_reason(self):
        server = Wharfd(self, {"r": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "mode": "thread", "plugin": self.plugins["styles"],
                                     "option.refuse": "yes"}})
        self.assertNotEqual(server.start(expect_ready=False), 0)
        self.assertIn("refused listener [listener.r]: refused as asked", server.log())
