"""Live session migration (SDK 1.5) through the SDK's wrappers: the tally
fixture written on wharf.hpp (tests/fixtures/tally.cpp: exportState,
importSession) and on the Rust crate (tests/fixtures/rust_tally:
Plugin::MIGRATE, export, import), two releases each, answering a line with
"one N" / "two N". A reload to release 2 carries a session's count, its
half-read line and a state larger than the host's first export buffer; a
refused export or import, or one that throws (C++) or panics (Rust), leaves
the session on release 1; the old state is freed without the session's close
hook, which only a real end calls."""

import os
import shutil
import tempfile

from rust_crates import CARGO, cargo_environment, require_toolchain, run
from test_migration import Migrating, ask, lines

SOURCE = os.environ["WHARF_SOURCE_DIR"]
PADDING = 10000  # bytes of state: more than the 4 KiB the host offers export first


class Checks:
    """The tests, for a class naming two releases (`first`, `second`) and how
    its wrapper fails a hook (`failing`, and the log line it makes)."""

    def failure_logged(self, hook):
        raise NotImplementedError

    def test_the_count_a_half_line_and_a_large_state_travel(self):
        self.start(self.first)
        session = self.connect()
        self.assertEqual(ask(session, "a"), "one 1")
        self.assertEqual(ask(session, f"pad {PADDING}"), f"padded {PADDING}")
        self.assertEqual(ask(session, "from"), "none")
        session.sendall(b"b\nfro")  # one segment: answered, and "fro" held
        self.assertEqual(lines(session, 1), ["one 2"])
        self.install(self.second)
        self.assertIn(": 1 sessions moved, 0 refused", self.round_logged(2))
        self.server.wait_for_log(r"generation 1 \(tally 1\.0\.0\) unloaded", 30)
        session.sendall(b"m\n")  # "from", half of it read by release 1
        self.assertEqual(lines(session, 1), ["1.0.0"])
        self.assertEqual(ask(session, "c"), "two 3")
        self.assertEqual(ask(session, "padding"), f"{PADDING} intact")
        log = self.server.log()
        self.assertIn("tally one: a session's state freed", log)
        self.assertNotIn("tally: session ended", log)  # it did not end
        session.close()
        self.server.wait_for_log(r"tally: session ended \(reason ", 30)
        self.server.wait_for_log("tally two: a session's state freed", 30)
        self.stop()

    def test_a_refused_import_leaves_the_session_on_its_code(self):
        self.refused_on_import("refuse")

    def test_a_failing_import_is_a_refusal(self):
        self.refused_on_import(self.failing)
        self.assertRegex(self.server.log(), self.failure_logged("import"))

    def test_a_refused_export_leaves_the_session_on_its_code(self):
        self.refused_on_export("refuse")

    def test_a_failing_export_is_a_refusal(self):
        self.refused_on_export(self.failing)
        self.assertRegex(self.server.log(), self.failure_logged("export"))

    def refused_on_import(self, how):
        self.start(self.first)
        old = self.connect()
        self.assertEqual(ask(old, "a"), "one 1")
        self.install(self.second, **{"import": how})
        self.assertIn("0 sessions moved, 0 refused by session_export, 1 by session_import, "
                      "0 left", self.round_logged(2))
        self.assertEqual(ask(old, "b"), "one 2")  # served on by release 1
        self.assertEqual(ask(old, "from"), "none")
        self.assertEqual(ask(self.connect(), "c"), "two 1")
        self.assertNotIn("tally one: a session's state freed", self.server.log())
        self.stop()

    def refused_on_export(self, how):
        self.start(self.first, keys={"option.export": how})
        old = self.connect()
        self.assertEqual(ask(old, "a"), "one 1")
        self.install(self.second)
        self.assertIn("0 sessions moved, 1 refused by session_export, 0 by session_import",
                      self.round_logged(2))
        self.assertEqual(ask(old, "b"), "one 2")
        self.stop()


class CxxTally(Checks, Migrating):
    first, second, failing = "tally_cpp_v1", "tally_cpp_v2", "throw"

    def failure_logged(self, hook):
        return rf"plugin error: {hook} refused by throwing"


class RustTally(Checks, Migrating):
    first, second, failing = "v1", "v2", "panic"
    releases = {}

    @classmethod
    def setUpClass(cls):
        require_toolchain()
        cls.work = tempfile.mkdtemp(prefix="wharf-rust-tally-")
        env = cargo_environment(cls.work)
        crate = os.path.join(SOURCE, "tests", "fixtures", "rust_tally")
        # One crate, two releases: each build replaces the library, so it is copied away.
        for release, features in (("v1", []), ("v2", ["--features", "v2"])):
            run([CARGO, "build", "--offline", "--locked", "--release", *features], cwd=crate,
                env=env)
            cls.releases[release] = os.path.join(cls.work, f"tally_{release}.so")
            shutil.copy(os.path.join(cls.work, "target", "release", "libwharf_tally.so"),
                        cls.releases[release])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def release_file(self, release):
        return self.releases[release]

    def failure_logged(self, hook):
        return rf"plugin panicked: {hook} panics as asked \(at src/lib\.rs:\d+\) in {hook}"
