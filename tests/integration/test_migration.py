"""Live session migration (migrate = on, SDK 1.5 and 1.6): a reload carries the
open sessions of a reactor listener (and, 1.6, of the modes that give each
session a thread) onto the new plugin code, each with the state
its plugin exported, on the same connection, with nothing cut; the old
generation is unloaded once it holds none. Sessions that are not quiescent
move once they are (or stay, past migrate_timeout); refusals leave them on
their code, as without migration.

The tally_v1/tally_v2 fixtures answer each line with "one N" / "two N", N
counting the session's lines: the format shows which code served it, the
count that its state travelled."""

import json
import os
import re
import resource
import shutil
import socket

from wharf_harness import WharfTestCase, Wharfd, free_port, test_plugin, wait_until

WAIT = 60  # seconds: a bound for events, never a measured time
SESSIONS = int(os.environ.get("WHARF_MIGRATION_SESSIONS", "1000"))
RELOADS = 20


def lines(session, count):
    """`count` answer lines from `session`."""
    data = b""
    while data.count(b"\n") < count:
        chunk = session.recv(65536)
        if not chunk:
            raise AssertionError(f"the session was closed after {data!r}")
        data += chunk
    return data.decode().splitlines()


def ask(session, line):
    session.sendall(line.encode() + b"\n")
    return lines(session, 1)[0]


class Migrating(WharfTestCase):
    sessions = None
    mode = "reactor"

    def start(self, release="tally_v1", keys=None):
        self.port = free_port()
        self.sessions = []
        self.server = Wharfd(self, {}, {"admin": "admin.sock"})
        self.plugin = self.server.path("tally.so")
        shutil.copy(self.release_file(release), self.plugin)
        self.server.listeners = {"t": dict({
            "transport": "tcp", "listen": f"127.0.0.1:{self.port}", "mode": self.mode,
            "plugin": self.plugin, "migrate": "on"}, **(keys or {}))}
        self.server.write_config()
        self.server.start()

    def release_file(self, release):
        """The plugin file of `release`: a fixture the build made."""
        return test_plugin(release)

    def install(self, release, **options):
        """A new release (copied beside, renamed over) and the listener's options; reloads."""
        staging = self.plugin + ".new"
        shutil.copy(self.release_file(release), staging)
        os.rename(staging, self.plugin)
        listener = self.server.listeners["t"]
        for key in [key for key in listener if key.startswith("option.")]:
            del listener[key]
        listener.update({f"option.{key}": value for key, value in options.items()})
        self.server.write_config()
        result = self.server.ctl("reload")
        self.assertEqual(result.returncode, 0, result.stderr + self.server.log())

    def connect(self):
        session = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        self.addCleanup(session.close)
        self.sessions.append(session)
        return session

    def stop(self):
        """Closes the clients, then stops wharfd (which would wait for them)."""
        for session in self.sessions:
            session.close()
        self.assertStops(self.server)

    def round_logged(self, generation):
        """The summary line of the migration round to `generation`, once logged."""
        pattern = rf"migrate: to generation {generation}: .*"
        self.server.wait_for_log(pattern, WAIT)
        return re.search(pattern, self.server.log()).group(0)

    def migrated(self):
        result = self.server.ctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        listener = json.loads(result.stdout)["listeners"][0]
        return listener["sessions"]["migrated"], listener["sessions"]["ended"]


class ManySessions(Migrating):
    def setUp(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 2 * SESSIONS + 100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * SESSIONS), hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))

    def test_sessions_move_through_twenty_reloads_and_lose_nothing(self):
        """Every session answers every request in the format of the code
        loaded last, its count goes on, none is cut, and every old generation
        is unloaded."""
        self.start(keys={"max_connections": str(SESSIONS + 10),
                         "max_per_source": str(SESSIONS + 10)})
        sessions = [self.connect() for _ in range(SESSIONS)]
        # Each send ends a line and begins the next: the half line each session's code
        # holds at a reload travels with its state.
        for session in sessions:
            session.sendall(b"x\nx")
        self.assertEqual({answer for s in sessions for answer in lines(s, 1)}, {"one 1"})
        for reload in range(1, RELOADS + 1):
            release, tag = ("tally_v2", "two") if reload % 2 else ("tally_v1", "one")
            self.install(release)
            generation = reload + 1
            summary = self.round_logged(generation)
            self.assertIn(f": {SESSIONS} sessions moved, 0 refused by session_export, 0 by "
                          "session_import, 0 left", summary)
            self.server.wait_for_log(rf"generation {generation - 1} \(tally [12]\.0\.0\) unloaded",
                                     WAIT)
            for session in sessions:
                session.sendall(b"\nx")
            answers = {answer for s in sessions for answer in lines(s, 1)}
            self.assertEqual(answers, {f"{tag} {reload + 1}"}, summary)
        migrated, ended = self.migrated()
        self.assertEqual(migrated, {"moved": RELOADS * SESSIONS, "refused": 0, "left": 0})
        self.assertEqual(sum(ended.values()), 0, ended)
        self.stop()


class OneSession(Migrating):
    def test_a_partial_line_and_the_old_version_travel(self):
        self.start()
        session = self.connect()
        self.assertEqual(ask(session, "a"), "one 1")
        self.assertEqual(ask(session, "from"), "none")
        # One segment, read at once: the old code answers the line and holds the half.
        session.sendall(b"b\nhal")
        self.assertEqual(lines(session, 1), ["one 2"])
        self.install("tally_v2")
        self.round_logged(2)
        session.sendall(b"f\n")
        self.assertEqual(lines(session, 1), ["two 3"])
        self.assertEqual(ask(session, "from"), "1.0.0")
        self.stop()

    def test_a_refused_import_leaves_the_session_on_its_code(self):
        self.start()
        old = self.connect()
        self.assertEqual(ask(old, "a"), "one 1")
        self.install("tally_v2", **{"import": "refuse"})
        self.assertIn("0 sessions moved, 0 refused by session_export, 1 by session_import, "
                      "0 left", self.round_logged(2))
        self.assertEqual(ask(old, "b"), "one 2")  # served on by generation 1
        self.assertEqual(ask(self.connect(), "c"), "two 1")
        self.assertEqual(self.migrated()[0], {"moved": 0, "refused": 1, "left": 0})
        self.stop()

    def test_a_refused_export_leaves_the_session_on_its_code(self):
        self.start(keys={"option.export": "refuse"})
        old = self.connect()
        self.assertEqual(ask(old, "a"), "one 1")
        self.install("tally_v2")
        self.assertIn("0 sessions moved, 1 refused by session_export", self.round_logged(2))
        self.assertEqual(ask(old, "b"), "one 2")
        self.stop()

    def test_a_busy_session_moves_once_it_is_quiescent(self):
        """A timer started or a waker held: the session has work in flight
        with the old code, which it keeps until that is over."""
        self.start()
        timing, holding, idle = self.connect(), self.connect(), self.connect()
        for session in (timing, holding, idle):
            self.assertEqual(ask(session, "a"), "one 1")
        timing.sendall(b"timer\n")
        holding.sendall(b"hold\n")
        self.assertEqual(ask(idle, "b"), "one 2")  # the loop has run both lines by now
        self.install("tally_v2")
        wait_until(lambda: self.moved(idle), "the idle session moved")
        self.assertEqual(ask(idle, "c"), "two 3")
        self.assertEqual(ask(timing, "b"), "one 2")  # still the old code's
        timing.sendall(b"cancel\n")
        holding.sendall(b"release\n")
        wait_until(lambda: ask(timing, "from") == "1.0.0", "the timer's session moved")
        wait_until(lambda: ask(holding, "from") == "1.0.0", "the waker's session moved")
        self.assertEqual(ask(timing, "c"), "two 3")
        self.assertEqual(ask(holding, "b"), "two 2")
        self.assertIn("3 sessions moved, 0 refused by session_export, 0 by session_import, "
                      "0 left", self.round_logged(2))
        self.server.wait_for_log(r"generation 1 \(tally 1\.0\.0\) unloaded", WAIT)
        self.stop()

    def moved(self, session):
        return ask(session, "from") == "1.0.0"

    def test_a_session_busy_past_migrate_timeout_stays(self):
        self.start(keys={"migrate_timeout": "1s"})
        busy = self.connect()
        self.assertEqual(ask(busy, "a"), "one 1")
        busy.sendall(b"timer\n")
        self.assertEqual(ask(busy, "from"), "none")
        self.install("tally_v2")
        self.assertIn("0 sessions moved, 0 refused by session_export, 0 by session_import, "
                      "1 left", self.round_logged(2))
        busy.sendall(b"cancel\n")
        self.assertEqual(ask(busy, "b"), "one 2")  # left where it was: no later round
        self.assertEqual(self.migrated()[0], {"moved": 0, "refused": 0, "left": 1})
        self.stop()

    def test_a_plugin_that_carries_nothing_keeps_its_sessions(self):
        self.start(release="versioned_v1", keys={"migrate": "off"})
        old = self.connect()
        old.sendall(b"a")
        self.assertEqual(old.recv(100), b"1.0.0:a")
        self.server.listeners["t"]["migrate"] = "on"
        self.install("tally_v2")
        self.assertIn("0 sessions moved, 0 refused by session_export, 0 by session_import, 1 not "
                      "carried (generation 1 (versioned 1.0.0) has no session_export), 0 left",
                      self.round_logged(2))
        old.sendall(b"b")
        self.assertEqual(old.recv(100), b"1.0.0:b")
        self.assertEqual(self.migrated()[0], {"moved": 0, "refused": 1, "left": 0})
        self.stop()

    def test_what_a_refused_import_began_is_undone(self):
        """The new code's import started a timer, took a waker, paused input
        and closed the session, then refused it: none of that stays with the
        session, which the old code serves on (and a later round moves)."""
        self.start()
        session = self.connect()
        self.assertEqual(ask(session, "a"), "one 1")
        self.install("tally_v2", meddle="import")
        self.assertIn("1 by session_import", self.round_logged(2))
        self.assertEqual(ask(session, "b"), "one 2")  # not paused, not closed, no "leaked"
        self.install("tally_v1")  # generation 2 unloaded: its timer would run unloaded code
        self.round_logged(3)
        self.server.wait_for_log(r"generation 2 \(tally 2\.0\.0\) unloaded", WAIT)
        self.assertEqual(ask(session, "c"), "one 3")
        self.assertEqual(ask(session, "from"), "1.0.0")  # moved by generation 3's round
        self.stop()

    def test_the_old_state_going_cannot_touch_the_session(self):
        """From on_session_close with WHARF_END_MIGRATED a write, a timer, a
        waker, a pause and a close are refused: the moved session goes on."""
        self.start(keys={"option.meddle": "close"})
        session = self.connect()
        self.assertEqual(ask(session, "a"), "one 1")
        self.install("tally_v2")
        self.assertIn("1 sessions moved", self.round_logged(2))
        self.assertEqual(ask(session, "b"), "two 2")  # no "meddled", not paused, not closed
        self.assertEqual(ask(session, "c"), "two 3")
        self.stop()

    def test_an_export_cannot_write(self):
        self.start(keys={"option.meddle": "export"})
        session = self.connect()
        self.assertEqual(ask(session, "a"), "one 1")
        self.install("tally_v2")
        self.assertIn("1 sessions moved", self.round_logged(2))
        self.assertEqual(ask(session, "b"), "two 2")  # the first line after: no "exported"
        self.stop()

    def test_a_reload_without_migrate_ends_the_round(self):
        """A busy session kept a round going; a reload with migrate = off
        ends it, uncounted, and no session moves back to its target."""
        self.start(keys={"migrate_timeout": "30s"})
        busy = self.connect()
        self.assertEqual(ask(busy, "a"), "one 1")
        busy.sendall(b"timer\n")
        self.install("tally_v2")
        self.assertEqual(ask(busy, "b"), "one 2")  # busy: still generation 1's
        listener = self.server.listeners["t"]
        listener["migrate"] = "off"
        del listener["migrate_timeout"]
        self.install("tally_v1")
        self.assertIn("the rest left to a newer reload's round", self.round_logged(2))
        fresh = self.connect()
        self.assertEqual(ask(fresh, "a"), "one 1")
        busy.sendall(b"cancel\n")
        self.assertEqual(ask(busy, "from"), "none")  # no round moves it any more
        self.assertEqual(ask(fresh, "from"), "none")  # generation 3's, never moved back to 2
        self.assertEqual(self.migrated()[0], {"moved": 0, "refused": 0, "left": 0})
        self.stop()

    def test_a_newer_round_supersedes_an_older_one_without_counting_it(self):
        self.start(keys={"migrate_timeout": "30s"})
        busy, idle = self.connect(), self.connect()
        self.assertEqual(ask(busy, "a"), "one 1")
        self.assertEqual(ask(idle, "a"), "one 1")
        busy.sendall(b"timer\n")
        self.install("tally_v2")
        wait_until(lambda: self.moved(idle), "the idle session moved")
        self.install("tally_v1")
        self.assertIn("1 sessions moved, 0 refused by session_export, 0 by session_import, the "
                      "rest left to a newer reload's round", self.round_logged(2))
        busy.sendall(b"cancel\n")
        self.assertIn("2 sessions moved, 0 refused by session_export, 0 by session_import, 0 left",
                      self.round_logged(3))
        self.assertEqual(ask(busy, "b"), "one 2")
        self.assertEqual(ask(idle, "b"), "one 2")
        self.assertEqual(self.migrated()[0], {"moved": 3, "refused": 0, "left": 0})
        self.stop()

    def test_echo_sessions_move(self):
        self.start(keys={"plugin": "echo"})
        session = self.connect()
        session.sendall(b"ping")
        self.assertEqual(session.recv(100), b"ping")
        self.server.listeners["t"]["option.any"] = "new options: a new generation"
        self.server.write_config()
        self.assertEqual(self.server.ctl("reload").returncode, 0, self.server.log())
        self.assertIn("1 sessions moved", self.round_logged(2))
        self.server.wait_for_log(r"generation 1 \(echo 1\.0\.0\) unloaded", WAIT)
        session.sendall(b"pong")
        self.assertEqual(session.recv(100), b"pong")
        self.stop()


class BlockingSessions(Migrating):
    """SDK 1.6: in the modes that give each session a thread, serve() polls
    session_handover_fd and hands its session over between lines; the newer
    code's resume goes on with it on the same thread and connection."""
    mode = "thread"

    def moved_through(self, count, reloads, keys=None):
        self.start(keys=keys)
        sessions = [self.connect() for _ in range(count)]
        for session in sessions:
            session.sendall(b"pid\nx\nx")
        pids = {answer for s in sessions for answer in lines(s, 2) if answer.startswith("pid")}
        self.assertEqual(len(pids), 1)
        for reload in range(1, reloads + 1):
            release, tag = ("tally_v2", "two") if reload % 2 else ("tally_v1", "one")
            self.install(release)
            summary = self.round_logged(reload + 1)
            self.assertIn(f": {count} sessions moved, 0 refused by session_export, 0 by "
                          "session_import, 0 left", summary)
            self.assertIn("longest hand-over", summary)
            self.server.wait_for_log(rf"generation {reload} \(tally [12]\.0\.0\) unloaded", WAIT)
            for session in sessions:
                session.sendall(b"\nx")
            self.assertEqual({answer for s in sessions for answer in lines(s, 1)},
                             {f"{tag} {reload + 1}"}, summary)
        for session in sessions:
            session.sendall(b"\npid\n")
        self.assertEqual({answer for s in sessions for answer in lines(s, 2)[1:]}, pids)
        self.assertEqual(self.migrated()[0], {"moved": reloads * count, "refused": 0, "left": 0})
        self.stop()

    def test_thread_sessions_move_with_their_state(self):
        """Every session answers in the format of the code loaded last, its
        count and half-sent line go on, the old generation is unloaded."""
        self.moved_through(50, 6)

    def test_pool_sessions_move(self):
        self.mode = "pool"
        self.moved_through(6, 2, {"pool_threads": "8"})

    def test_a_sync_session_moves(self):
        self.mode = "sync"
        self.moved_through(1, 2)

    def test_a_hand_over_from_another_thread_is_refused(self):
        """A plugin thread that is not the session's would race serve() for
        the session while the newer code imports it: WHARF_INVALID (-4),
        nothing changes, and the session's own hand-over then moves it."""
        self.start(keys={"option.meddle": "thread"})
        session = self.connect()
        self.assertEqual(ask(session, "a"), "one 1")
        self.install("tally_v2")
        self.assertEqual(lines(session, 1), ["elsewhere -4"])
        self.assertIn("1 sessions moved", self.round_logged(2))
        self.assertEqual(ask(session, "b"), "two 2")
        self.assertEqual(ask(session, "from"), "1.0.0")
        self.stop()

    def test_what_an_import_writes_is_held_up_to_1_mib(self):
        """An import's writes wait in memory until the session is the newer
        code's: a blocking session's at most 1 MiB, then WHARF_BUFFER_TOO_SMALL
        (-6); the client gets them, then the session goes on."""
        self.start()
        session = self.connect()
        self.assertEqual(ask(session, "a"), "one 1")
        self.install("tally_v2", **{"import": "flood"})
        session.sendall(b"from\n")
        received = b""
        while not received.endswith(b"\n"):
            chunk = session.recv(1 << 20)
            self.assertTrue(chunk, received[-100:])
            received += chunk
        self.assertEqual(received, b"." * (1 << 20) + b"flood 1048576 -6\n")
        self.assertEqual(ask(session, "b"), "two 2")
        self.stop()

    def test_a_busy_session_moves_once_it_hands_itself_over(self):
        self.start(keys={"migrate_timeout": "30s"})
        session = self.connect()
        self.assertEqual(ask(session, "hold"), "held")
        self.install("tally_v2")
        self.assertEqual(ask(session, "a"), "one 1")  # holding: still generation 1's
        self.assertEqual(ask(session, "release"), "released")
        self.assertIn("1 sessions moved", self.round_logged(2))
        self.assertEqual(ask(session, "b"), "two 2")
        self.assertEqual(ask(session, "from"), "1.0.0")
        self.stop()

    def test_a_session_busy_past_migrate_timeout_stays(self):
        self.start(keys={"migrate_timeout": "250ms"})
        session = self.connect()
        self.assertEqual(ask(session, "hold"), "held")
        self.install("tally_v2")
        self.assertIn("0 sessions moved, 0 refused by session_export, 0 by session_import, "
                      "1 left", self.round_logged(2))
        self.assertEqual(ask(session, "release"), "released")
        self.assertEqual(ask(session, "a"), "one 1")  # the bell went quiet: it stays
        self.assertEqual(ask(session, "from"), "none")
        self.assertEqual(self.migrated()[0], {"moved": 0, "refused": 0, "left": 1})
        self.stop()

    def test_a_refused_import_leaves_the_session_on_its_code(self):
        self.start()
        session = self.connect()
        self.assertEqual(ask(session, "a"), "one 1")
        self.install("tally_v2", **{"import": "refuse"})
        self.assertIn("0 sessions moved, 0 refused by session_export, 1 by session_import, "
                      "0 left", self.round_logged(2))
        self.assertEqual(ask(session, "b"), "one 2")
        self.assertEqual(ask(self.connect(), "c"), "two 1")
        self.stop()

    def test_what_a_refused_import_began_is_undone(self):
        """The newer code's import closed the session, then refused it: the
        old code serves it on."""
        self.start()
        session = self.connect()
        self.assertEqual(ask(session, "a"), "one 1")
        self.install("tally_v2", meddle="import")
        self.assertIn("1 by session_import", self.round_logged(2))
        self.assertEqual(ask(session, "b"), "one 2")
        self.stop()

    def test_an_event_style_plugin_in_a_blocking_mode_is_refused_with_migrate(self):
        """Event hooks driven by a thread keep no point to move at: a reload
        to such a plugin with migrate = on is refused, and nothing changes."""
        self.mode = "sync"  # tally_cpp runs one session at a time
        self.start(release="tally_v1")
        session = self.connect()
        self.assertEqual(ask(session, "a"), "one 1")
        staging = self.plugin + ".new"
        shutil.copy(self.release_file("tally_cpp_v2"), staging)  # event style only
        os.rename(staging, self.plugin)
        result = self.server.ctl("reload")
        self.assertNotEqual(result.returncode, 0, self.server.log())
        self.assertIn("migrate = on, and in mode = sync the plugin runs event-style sessions, "
                      "which move only in mode = reactor", result.stderr)
        self.assertEqual(ask(session, "b"), "one 2")
        self.stop()


class Refusals(WharfTestCase):
    def refused(self, keys, key, reason):
        server = Wharfd(self, {"t": dict({"transport": "tcp",
                                          "listen": f"127.0.0.1:{free_port()}",
                                          "plugin": "echo"}, **keys)})
        self.assertEqual(server.start(expect_ready=False), 2, server.log())
        self.assertRegex(server.log(), rf"\[listener\.t\] {key}: {reason}")

    def test_fork_sessions_do_not_migrate(self):
        self.refused({"mode": "fork", "migrate": "on"}, "migrate",
                     "applies to mode = sync, thread, pool, reactor only")

    def test_migrate_timeout_is_bounded(self):
        for timeout in ("61s", "100ms"):
            with self.subTest(timeout=timeout):
                self.refused({"mode": "reactor", "migrate": "on", "migrate_timeout": timeout},
                             "migrate_timeout", r"must be from 250ms \(")

    def test_migrate_timeout_needs_migrate(self):
        self.refused({"mode": "reactor", "migrate_timeout": "10s"}, "migrate_timeout",
                     "needs migrate = on")

    def test_a_plugin_that_carries_nothing_is_refused_with_migrate(self):
        server = Wharfd(self, {"t": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "mode": "reactor", "migrate": "on",
                                     "plugin": test_plugin("versioned_v1")}})
        self.assertEqual(server.start(expect_ready=False), 2, server.log())
        self.assertIn("migrate = on, and the plugin carries no sessions (it has neither "
                      "session_export nor session_import, SDK 1.5, nor resume, 1.6)", server.log())

    def test_datagrams_do_not_migrate(self):
        self.refused({"mode": "reactor", "transport": "udp", "migrate": "on"}, "migrate",
                     "applies to stream transports only")
