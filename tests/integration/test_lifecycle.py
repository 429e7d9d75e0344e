"""Signals and socket files: SIGTERM/SIGINT stop accepting at once, let open
sessions finish, and exit 0; unix socket files are replaced only when stale
and removed at exit."""

import json
import os
import signal
import subprocess
import socket
import time

from clients import receive_exactly, receive_until_closed, stream_connect
from wharf_harness import WHARFCTL, WHARFD, Wharfd, WharfTestCase, free_port, test_plugin

WHARFCTL = os.path.join(os.path.dirname(WHARFD), "wharfctl")


class GracefulStop(WharfTestCase):
    def check_stop(self, signum, mode):
        port = free_port()
        server = self.wharfd({
            "tcp": {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": mode,
                    "plugin": "echo"},
            "unix": {"transport": "unix", "listen": "echo.sock", "mode": "thread",
                     "plugin": "echo"},
        })
        session = stream_connect("tcp", f"127.0.0.1:{port}")
        session.sendall(b"before")
        self.assertEqual(receive_exactly(session, 6), b"before")
        server.signal(signum)
        # The session in flight goes on being served...
        session.sendall(b"after the signal")
        self.assertEqual(receive_exactly(session, 16), b"after the signal")
        # ...while new connections are refused once wharfd says it stopped accepting.
        while "no longer accepting" not in server.log():
            self.assertIsNone(server.process.poll())
            os.sched_yield()
        for _ in range(500):  # listeners close right after that line
            with socket.socket() as late:
                if late.connect_ex(("127.0.0.1", port)) != 0:
                    break
            time.sleep(0.01)
        else:
            self.fail("still accepting after the signal")
        for _ in range(500):
            if not os.path.exists(server.path("echo.sock")):
                break
            time.sleep(0.01)
        else:
            self.fail("the unix listener still has its socket file")
        self.assertIsNone(server.process.poll(), "exited before its session ended")
        session.close()
        self.assertEqual(server.wait(), 0, server.log())
        self.assertFalse(os.path.exists(server.path("echo.sock")))
        # A clean stop is quiet (tests run as root without [host] user: that warning stays).
        quiet = "".join(line for line in server.log().splitlines(keepends=True)
                        if "plugins run as root" not in line)
        self.assertNotRegex(quiet, r" (Warning|Error) ")

    def test_sigterm_in_thread_mode(self):
        self.check_stop(signal.SIGTERM, "thread")

    def test_sigint_in_sync_mode(self):
        self.check_stop(signal.SIGINT, "sync")

    def test_sigterm_in_pool_mode(self):
        self.check_stop(signal.SIGTERM, "pool")

    def test_sigterm_in_reactor_mode(self):
        self.check_stop(signal.SIGTERM, "reactor")


class UnixSocketFiles(WharfTestCase):
    def unix_listener(self):
        return {"u": {"transport": "unix", "listen": "u.sock", "plugin": "echo"}}

    def test_a_stale_socket_file_is_replaced(self):
        server = Wharfd(self, self.unix_listener())
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(server.path("u.sock"))
        stale.close()  # the file stays, nothing listens
        server.start()
        with stream_connect("unix", server.path("u.sock")) as client:
            client.sendall(b"ok")
            self.assertEqual(receive_exactly(client, 2), b"ok")
        self.assertStops(server)
        self.assertFalse(os.path.exists(server.path("u.sock")))

    def test_a_live_socket_is_never_taken_over(self):
        server = Wharfd(self, self.unix_listener())
        with socket.socket(socket.AF_UNIX) as live:
            live.bind(server.path("u.sock"))
            live.listen()
            self.assertEqual(server.start(expect_ready=False), 2)
            self.assertIn("another process is listening on this socket", server.log())
            self.assertTrue(os.path.exists(server.path("u.sock")))

    def test_a_file_that_is_not_a_socket_is_never_removed(self):
        server = Wharfd(self, self.unix_listener())
        with open(server.path("u.sock"), "w") as precious:
            precious.write("data")
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertIn("exists and is not a socket; not replacing it", server.log())
        with open(server.path("u.sock")) as precious:
            self.assertEqual(precious.read(), "data")

    def test_the_admin_and_metrics_sockets_take_over_nothing(self):
        """`admin` pointing at a regular file deleted it, and `admin` or a
        unix `metrics` socket replaced another process's live socket."""
        for key in ("admin", "metrics"):
            with self.subTest(key=key, what="a regular file"):
                server = Wharfd(self, self.unix_listener())
                server.host[key] = server.path("precious")
                server.write_config()
                with open(server.path("precious"), "w") as precious:
                    precious.write("data")
                self.assertNotEqual(server.start(expect_ready=False), 0)
                self.assertIn("precious: exists and is not a socket; not replacing it",
                              server.log())
                with open(server.path("precious")) as precious:
                    self.assertEqual(precious.read(), "data")
            with self.subTest(key=key, what="a live socket"):
                server = Wharfd(self, self.unix_listener())
                server.host[key] = server.path("live.sock")
                server.write_config()
                with socket.socket(socket.AF_UNIX) as live:
                    live.bind(server.path("live.sock"))
                    live.listen()
                    self.assertNotEqual(server.start(expect_ready=False), 0)
                    self.assertIn("live.sock: another process is listening on this socket",
                                  server.log())
                    with socket.socket(socket.AF_UNIX) as client:
                        client.connect(server.path("live.sock"))  # still the other process's


class RuntimeFiles(WharfTestCase):
    """[host] pid_file and the control socket's folder, as a machine without
    systemd has them: /run/wharf does not exist after a boot."""

    def test_pid_file_and_a_missing_runtime_folder(self):
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": "echo"}},
                        host={"admin": "run/admin.sock", "pid_file": "run/wharfd.pid"})
        server.start()
        with open(server.path("run/wharfd.pid")) as pid_file:
            self.assertEqual(pid_file.read(), f"{server.process.pid}\n")
        status = subprocess.run([WHARFCTL, "--admin", server.path("run/admin.sock"), "status"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(status.returncode, 0, status.stderr)
        # A second wharfd with the same pid file: refused, naming the first.
        second = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": "echo"}},
                        host={"pid_file": server.path("run/wharfd.pid")})
        self.assertEqual(second.start(expect_ready=False), 2)
        self.assertIn(f"names wharfd {server.process.pid}, which is running", second.log())
        with open(server.path("run/wharfd.pid")) as pid_file:
            self.assertEqual(int(pid_file.read()), server.process.pid)
        self.assertStops(server)
        self.assertEqual(os.listdir(server.path("run")), [])

    def test_a_stale_pid_file_is_replaced(self):
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": "echo"}},
                        host={"pid_file": "wharfd.pid"})
        with open(server.path("wharfd.pid"), "w") as stale:
            stale.write(f"{os.getpid()}\n")  # a live process, but not a wharfd
        server.start()
        with open(server.path("wharfd.pid")) as pid_file:
            self.assertEqual(int(pid_file.read()), server.process.pid)
        self.assertStops(server)


class ShutdownDeadline(WharfTestCase):
    def start(self, host, **listener):
        self.port = free_port()
        keys = {"transport": "tcp", "listen": f"127.0.0.1:{self.port}", "mode": "thread",
                "plugin": "echo"}
        keys.update(listener)
        self.server = self.wharfd({"e": keys}, host=host)

    def open_session(self):
        session = stream_connect("tcp", f"127.0.0.1:{self.port}")
        session.sendall(b"hi")
        self.assertEqual(receive_exactly(session, 2), b"hi")
        return session

    def wait_until_admitted(self, total):
        for _ in range(500):
            status = subprocess.run([WHARFCTL, "--admin", self.server.path("admin.sock"),
                                     "status", "--json"], capture_output=True, text=True,
                                    timeout=60)
            if json.loads(status.stdout)["listeners"][0]["sessions"]["total"] >= total:
                return
            time.sleep(0.01)
        self.fail(f"wharfd never admitted {total} sessions")

    def assertCut(self, session):
        try:
            self.assertEqual(receive_until_closed(session), b"")
        except ConnectionResetError:
            pass  # closed with unread input: the kernel resets
        session.close()

    def test_sessions_past_shutdown_timeout_are_cut_and_wharfd_exits_0(self):
        self.start({"shutdown_timeout": "300ms"})
        session = self.open_session()
        self.server.signal(signal.SIGTERM)
        self.assertCut(session)  # the client never closed: wharfd did, at the deadline
        self.assertEqual(self.server.wait(), 0, self.server.log())
        self.assertIn("shutdown_timeout: closing 1 remaining sessions", self.server.log())

    def test_sigquit_cuts_at_once(self):
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                self.start({"shutdown_timeout": "1h"}, mode=mode)
                sessions = [self.open_session() for _ in range(3)]
                self.server.signal(signal.SIGQUIT)
                for session in sessions:
                    self.assertCut(session)
                self.assertEqual(self.server.wait(), 0, self.server.log())
                self.assertIn("Quit: closing 3 remaining sessions", self.server.log())

    def test_a_second_sigterm_cuts_at_once(self):
        self.start({"shutdown_timeout": "1h"})
        session = self.open_session()
        self.server.signal(signal.SIGTERM)
        self.server.wait_for_log("letting sessions finish for up to 3600000 ms")
        self.server.signal(signal.SIGTERM)
        self.assertCut(session)
        self.assertEqual(self.server.wait(), 0, self.server.log())

    def test_blocking_plugins_and_pool_queues_are_cut_too(self):
        self.start({"shutdown_timeout": "200ms", "admin": "admin.sock"}, mode="pool",
                   workers="1", queue="4", plugin=test_plugin("blocking_echo"))
        served = self.open_session()
        queued = stream_connect("tcp", f"127.0.0.1:{self.port}")
        queued.sendall(b"never served")
        self.wait_until_admitted(2)  # the second one is in the pool's queue, not the backlog
        self.server.signal(signal.SIGTERM)
        self.assertCut(served)
        self.assertCut(queued)
        self.assertEqual(self.server.wait(), 0, self.server.log())
        self.assertIn("shutdown_timeout: closing 2 remaining sessions", self.server.log())


class ThreadReclaim(WharfTestCase):
    def test_finished_session_threads_are_gone(self):
        port = free_port()
        server = self.wharfd({"e": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                    "mode": "thread", "plugin": "echo"}})
        tasks = f"/proc/{server.worker_pid()}/task"
        baseline = len(os.listdir(tasks))
        held = [stream_connect("tcp", f"127.0.0.1:{port}") for _ in range(20)]
        for session in held:
            session.sendall(b"x")
            receive_exactly(session, 1)
        self.assertEqual(len(os.listdir(tasks)), baseline + 20)
        for session in held:
            session.close()
        for _ in range(500):
            if len(os.listdir(tasks)) == baseline:
                break
            time.sleep(0.01)
        self.assertEqual(len(os.listdir(tasks)), baseline)
        self.assertStops(server)
