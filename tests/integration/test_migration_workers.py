"""Live session migration across worker processes (migrate = on; reactor, and
SDK 1.6 thread mode): when the
master replaces its workers (a reload that changes [host] workers, a binary
upgrade), each old worker sends its quiescent sessions, state and connection,
straight to a new worker of the same group, which imports them into its
code: no client is disconnected, and the old worker exits as soon as it holds
no session instead of draining. Refused sessions, TLS sessions and listeners
without migrate stay on the old worker and drain there as before.

The tally_v1 fixture answers a line with "one N" (N counting the session's
lines) and "pid" with the process serving the session. Each session leaves
"pi" unfinished before the change and completes it after: "pid M" comes back
only if the half line travelled with the session's state."""

import json
import os
import re
import shutil
import socket
import tempfile

from test_migration import lines
from test_tls import client_context, make_certificate
from test_workers import gone
from wharf_harness import WHARFD, WharfTestCase, Wharfd, free_port, test_plugin, wait_until

WHARFD_NEXT = os.environ["WHARFD_NEXT"]
WAIT = 60  # seconds: a bound for events, never a measured time
SESSIONS = 150


class AcrossWorkers(WharfTestCase):
    mode = "reactor"

    def start(self, migrate="on", workers=1, keys=None, binary=None):
        self.port = free_port()
        self.sessions = []
        listener = dict({"transport": "tcp", "listen": f"127.0.0.1:{self.port}",
                         "mode": self.mode, "plugin": test_plugin("tally_v1"),
                         "migrate": migrate, "max_connections": str(SESSIONS + 10),
                         "max_per_source": str(SESSIONS + 10)}, **(keys or {}))
        self.server = Wharfd(self, {"t": listener},
                             {"admin": "admin.sock", "workers": str(workers),
                              "drain_timeout": "10m"})
        if binary:
            self.server.binary = binary
        self.server.start()

    def connect(self, tls=False):
        session = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        if tls:
            session = client_context().wrap_socket(session, server_hostname="localhost")
        self.addCleanup(session.close)
        self.sessions.append(session)
        return session

    def open_sessions(self, count=SESSIONS, tls=False):
        """`count` sessions, each with one line counted and "pi" sent of the next."""
        sessions = [self.connect(tls) for _ in range(count)]
        for session in sessions:
            session.sendall(b"x\npi")
        self.assertEqual({answer for s in sessions for answer in lines(s, 1)}, {"one 1"})
        return sessions

    def finish_lines(self, sessions):
        """Completes each session's half line ("pid") and sends one more: the
        pids serving them, once each answered "one 2" (its count carried)."""
        for session in sessions:
            session.sendall(b"d\nx\n")
        pids = set()
        for session in sessions:
            served_by, counted = lines(session, 2)
            self.assertRegex(served_by, r"^pid \d+$")
            self.assertEqual(counted, "one 2")
            pids.add(int(served_by.split()[1]))
        return pids

    def reload_with(self, **host):
        self.server.host.update(host)
        self.server.write_config()
        result = self.server.ctl("reload")
        self.assertEqual(result.returncode, 0, result.stderr + self.server.log())
        return result.stdout

    def reload_to_two_changing(self, count=SESSIONS, **keys):
        """`count` sessions, then a reload to two workers that also changes the
        listener's `keys`: the old worker, its round's line, the sessions."""
        old = self.server.worker_pid()
        sessions = self.open_sessions(count)
        self.server.listeners["t"].update(keys)
        self.reload_with(workers="2")
        return old, self.round_logged(old)[0], sessions

    def status(self):
        result = self.server.ctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def serving_workers(self):
        return {worker["pid"] for worker in self.status()["workers"]
                if worker["state"] == "serving"}

    def round_logged(self, old):
        """The summary lines of the hand-over rounds, once worker `old` logged one."""
        self.server.wait_for_log(rf"\[{old}\].*migrate: to worker \d+: .*", WAIT)
        return re.findall(r"migrate: to worker \d+: .*", self.server.log())

    def stop(self):
        for session in self.sessions:
            session.close()
        self.assertStops(self.server)


class Moving(AcrossWorkers):
    def assertMovedOff(self, old, to, sessions):
        """Every session is served by new worker `to` now, and the old worker exits."""
        new = self.serving_workers()
        self.assertNotIn(old, new)
        self.assertIn(to, new)
        self.assertEqual(self.finish_lines(sessions), {to}, self.server.log())
        # The old worker held none once they moved: it exits, long before drain_timeout.
        wait_until(lambda: gone(old), f"old worker {old} has exited", WAIT)
        self.assertStillCounting(sessions)

    def assertStillCounting(self, sessions):
        for session in sessions:
            session.sendall(b"x\n")
        self.assertEqual({answer for s in sessions for answer in lines(s, 1)}, {"one 3"})

    def test_a_reload_to_more_workers_moves_every_session(self):
        self.start()
        old = self.server.worker_pid()
        sessions = self.open_sessions()
        changes = self.reload_with(workers="2")
        self.assertIn("1 handing their migrate = on sessions over", changes)
        summary = self.round_logged(old)
        self.assertEqual(len(summary), 1, summary)
        self.assertRegex(summary[0], rf"^migrate: to worker \d+: {SESSIONS} sessions moved, "
                                     "0 refused, 0 left")
        to = int(re.match(r"migrate: to worker (\d+)", summary[0]).group(1))
        self.assertMovedOff(old, to, sessions)
        self.assertNotIn("drain_timeout", self.server.log())
        self.stop()

    def test_an_upgrade_moves_every_session(self):
        folder = self.enterContext(tempfile.TemporaryDirectory())
        binary = os.path.join(folder, "wharfd")
        shutil.copy(WHARFD, binary)
        self.start(workers=2, binary=binary)
        old = set(self.server.worker_pids())
        sessions = self.open_sessions()
        shutil.copy(WHARFD_NEXT, binary + ".new")
        os.rename(binary + ".new", binary)
        result = self.server.ctl("upgrade", timeout=180)
        self.assertEqual(result.returncode, 0, result.stderr + self.server.log())
        new = self.serving_workers()
        self.assertFalse(new & old)
        # The rounds run after the upgrade's answer: each old worker logs its own.
        for pid in old:
            self.round_logged(pid)
        pids = self.finish_lines(sessions)
        self.assertTrue(pids <= new, (pids, new, self.server.log()))
        for pid in old:
            wait_until(lambda: gone(pid), f"old worker {pid} has exited", WAIT)
        self.assertStillCounting(sessions)
        moved = sum(int(re.search(r": (\d+) sessions moved", line).group(1))
                    for line in re.findall(r"migrate: to worker \d+: .*", self.server.log()))
        self.assertEqual(moved, SESSIONS, self.server.log())
        self.assertIn("the old ones drain, 2 handing their migrate = on sessions over",
                      self.server.log())
        self.stop()


class Staying(AcrossWorkers):
    def assertAllStayWhenImportIs(self, option, why):
        """With the new code's tally option.import = `option`, a reload to two
        workers moves no session: each is refused for `why` and answers on."""
        self.start()
        old, summary, sessions = self.reload_to_two_changing(**{"option.import": option})
        self.assertRegex(summary, rf"^migrate: to worker \d+: 0 sessions moved, "
                                  rf"{SESSIONS} refused \({why}\), 0 left")
        self.assertEqual(self.finish_lines(sessions), {old})
        self.assertFalse(gone(old))

    def test_sessions_the_new_code_refuses_stay_on_the_old_worker(self):
        self.assertAllStayWhenImportIs("refuse", "refused by session_import")
        migrated = self.status()["listeners"][0]["sessions"]["migrated"]
        self.assertEqual(migrated, {"moved": 0, "refused": SESSIONS, "left": 0})
        self.stop()

    def test_a_state_too_big_to_send_stays_and_the_others_move(self):
        self.start()
        old = self.server.worker_pid()
        big = self.connect()
        big.sendall(b"big\n")
        self.assertEqual(lines(big, 1), ["big"])
        self.sessions.remove(big)
        sessions = self.open_sessions()
        big.sendall(b"x\npi")
        self.assertEqual(lines(big, 1), ["one 1"])
        self.reload_with(workers="2")
        summary = self.round_logged(old)
        self.assertRegex(summary[0], rf"^migrate: to worker \d+: {SESSIONS} sessions moved, "
                                     r"1 refused \(its state is over 256 KiB, too big to send\)")
        to = int(re.match(r"migrate: to worker (\d+)", summary[0]).group(1))
        self.assertEqual(self.finish_lines(sessions), {to})
        self.assertEqual(self.finish_lines([big]), {old})
        big.close()
        self.stop()

    def test_a_new_worker_that_dies_taking_sessions_leaves_them_on_the_old_one(self):
        """Two-phase: a session is the old worker's until the new one answers;
        the link closing (the new worker died in session_import) thaws every
        session waiting, on its connection, which nothing shut down."""
        self.assertAllStayWhenImportIs("crash", "the new worker has gone")
        self.stop()

    def test_sessions_of_another_mode_stay(self):
        """A reload that also changes the mode: the new worker's code would
        get state written for the other style's hooks, so it takes none."""
        if self.mode != "reactor":
            self.skipTest("one direction is enough: reactor to thread")
        self.start()
        old, summary, sessions = self.reload_to_two_changing(5, mode="thread")
        self.assertRegex(summary, r"^migrate: to worker \d+: 0 sessions moved, 5 refused "
                                     r"\(a session of another mode\)")
        self.assertEqual(self.finish_lines(sessions), {old})
        self.stop()

    def test_without_migrate_sessions_drain_on_the_old_worker(self):
        self.start(migrate="off")
        old = self.server.worker_pid()
        sessions = self.open_sessions()
        self.assertNotIn("handing", self.reload_with(workers="2"))
        self.server.wait_for_log("replaced by new workers", WAIT)
        self.assertEqual(self.finish_lines(sessions), {old})
        self.assertFalse(gone(old))
        self.assertNotIn("migrate: to worker", self.server.log())
        self.stop()

    def test_tls_sessions_stay_on_the_old_worker(self):
        folder = self.enterContext(tempfile.TemporaryDirectory())
        cert, key = make_certificate(folder, "server")
        self.start(keys={"tls": "on", "tls_cert": cert, "tls_key": key})
        old = self.server.worker_pid()
        sessions = self.open_sessions(10, tls=True)
        self.reload_with(workers="2")
        summary = self.round_logged(old)
        self.assertRegex(summary[0], r"^migrate: to worker \d+: 0 sessions moved, 0 refused, "
                                     r"0 left \(not quiescent within migrate_timeout\), 10 stay")
        self.assertEqual(self.finish_lines(sessions), {old})
        self.assertFalse(gone(old))
        self.stop()


class ThreadsMoving(Moving):
    """SDK 1.6: blocking-style sessions (tally's serve) move too, each handed
    over by its plugin between lines and resumed on a thread of the new worker."""
    mode = "thread"

    def test_a_session_imported_with_a_null_state_is_resumed_with_what_it_wrote(self):
        """session_import may take a session with a null state: the new worker
        still resumes it (not serve() anew) and first sends what it wrote."""
        self.start()
        _, summary, sessions = self.reload_to_two_changing(1, **{"option.import": "stateless"})
        self.assertRegex(summary, r"^migrate: to worker \d+: 1 sessions moved")
        session = sessions[0]
        self.assertEqual(lines(session, 1), ["arrived"])
        session.sendall(b"\nfrom\n")  # the half line "pi" went with the old state
        self.assertEqual(lines(session, 2), ["one 1", "stateless"])
        self.stop()


class ThreadsStaying(Staying):
    mode = "thread"
    # tally's serve() polls its socket for the bell, which a tls = on session
    # does not lend it: such a session never offers itself (it drains).
    test_tls_sessions_stay_on_the_old_worker = None


class PoolAcrossWorkers(AcrossWorkers):
    mode = "pool"

    def test_sessions_beyond_the_new_workers_free_threads_stay(self):
        """A session waits frozen until the new worker imports it: one that
        would wait in the new pool's queue for a thread stays instead."""
        self.start(keys={"pool_threads": "4"})
        old, summary, sessions = self.reload_to_two_changing(3, pool_threads="2")
        self.assertRegex(summary, r"^migrate: to worker \d+: 2 sessions moved, 1 refused "
                                  r"\(the new worker has no thread for it\), 0 left")
        to = int(re.match(r"migrate: to worker (\d+)", summary).group(1))
        self.assertEqual(sorted(self.finish_lines(sessions)), sorted({old, to}))
        self.stop()
