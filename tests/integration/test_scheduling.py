"""Timers, posted calls and paused input (SDK 1.2), with the scheduler
fixture: the same answers in every mode, misuse answered with an error
status, a waker that outlives its session refused, and a thousand sessions
answered later from the plugin's own thread, in the reactor."""

import random
import resource
import socket
import time

from clients import receive_line, receive_until_closed, stream_connect
from wharf_harness import Wharfd, WharfTestCase, free_port, process_status, test_plugin

MODES = ("sync", "thread", "pool", "fork", "reactor")


def listener(mode, port, **keys):
    return {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": mode,
            "plugin": test_plugin("scheduler"), **keys}


def ask(sock, line, replies=1):
    sock.sendall(line + b"\n")
    return b"".join(receive_line(sock) for _ in range(replies))


class Scheduling(WharfTestCase):
    def test_timers_posts_and_paused_input_in_every_mode(self):
        ports = {mode: free_port() for mode in MODES}
        server = self.wharfd({mode: listener(mode, port) for mode, port in ports.items()})
        for mode, port in ports.items():
            with self.subTest(mode=mode), stream_connect("tcp", f"127.0.0.1:{port}") as sock:
                self.assertEqual(ask(sock, b"tick 3 20", 4),
                                 b"tick 1\ntick 2\ntick 3\nticks done\n")
                self.assertEqual(ask(sock, b"later 50 hello"), b"LATER HELLO\n")
                self.assertEqual(ask(sock, b"pause 300"), b"paused\n")
                # Sent while paused: read only once resumed, after the timer's line.
                self.assertEqual(ask(sock, b"misuse", 2),
                                 b"resumed 0\nmisuse -4 -5 -4\n")
        self.assertStops(server)

    def test_a_long_reply_to_a_reader_that_stops_keeps_wharfd_s_memory_bounded(self):
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                port = free_port()
                server = self.wharfd({"s": listener(mode, port)}, host={"workers": "1"})
                worker = server.worker_pid()
                before = process_status(worker, "VmRSS")
                with stream_connect("tcp", f"127.0.0.1:{port}") as sock:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
                    self.assertEqual(ask(sock, b"stream 256"), b"streaming\n")
                    time.sleep(1)  # reads nothing: the plugin must wait, not queue 256 MiB
                    held = process_status(worker, "VmRSS")
                    received = 0
                    while received < 256 << 20:
                        chunk = sock.recv(1 << 20)
                        self.assertTrue(chunk)
                        received += len(chunk)
                self.assertEqual(received, 256 << 20)
                self.assertLess(held - before, 16 * 1024)  # kB: a few chunks, not the reply
                self.assertStops(server)

    def test_a_waker_that_outlives_its_session_is_refused(self):
        for mode in ("thread", "reactor"):  # fork: each session has its own process
            with self.subTest(mode=mode):
                port = free_port()
                server = self.wharfd({"s": listener(mode, port)})
                with stream_connect("tcp", f"127.0.0.1:{port}") as first:
                    self.assertEqual(ask(first, b"orphan"), b"kept\n")
                deadline = time.monotonic() + 30
                while True:  # once the first session has closed
                    with stream_connect("tcp", f"127.0.0.1:{port}") as second:
                        reply = ask(second, b"post-orphan")
                    # WHARF_CLOSED for the post, and for a timer started in on_session_close
                    if reply == b"orphan -2 -2\n":
                        break
                    self.assertEqual(reply, b"orphan 0 1\n")  # not closed yet
                    self.assertLess(time.monotonic(), deadline)
                    time.sleep(0.05)
                self.assertStops(server)

    def test_a_thousand_sessions_answered_later_from_another_thread_in_the_reactor(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        port = free_port()
        server = self.wharfd({"s": listener("reactor", port, max_connections="2000")},
                             host={"workers": "1"})
        sessions = []
        try:
            for number in range(1000):
                sock = stream_connect("tcp", f"127.0.0.1:{port}")
                sessions.append(sock)
                sock.sendall(b"later %d word%d\n" % (random.randrange(300), number))
            for number, sock in enumerate(sessions):
                self.assertEqual(receive_line(sock), b"LATER WORD%d\n" % number)
        finally:
            for sock in sessions:
                sock.close()
        self.assertStops(server)


class EndReasons(WharfTestCase):
    """Why a session ended (session_end_reason), as on_session_close sees it,
    and WHARF_ENDED from a blocking read when the host ended the session."""

    def ends(self, port, reason, count):
        """Waits until `count` sessions have ended for `reason` (a WHARF_END_* value)."""
        deadline = time.monotonic() + 30
        while True:
            with stream_connect("tcp", f"127.0.0.1:{port}") as probe:
                counts = ask(probe, b"ends").split()[1:]
            if int(counts[reason]) >= count:
                return
            self.assertLess(time.monotonic(), deadline, counts)
            time.sleep(0.05)

    def test_on_session_close_says_why(self):
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                port = free_port()
                server = Wharfd(self, {"s": listener(mode, port, idle_timeout="2s")},
                                host={"admin": "admin.sock", "drain_timeout": "200ms"})
                server.start()
                self.ends(port, 1, 1)  # WHARF_END_PEER: the probes themselves
                with stream_connect("tcp", f"127.0.0.1:{port}") as idle:
                    self.assertEqual(receive_until_closed(idle), b"")
                self.ends(port, 3, 1)  # WHARF_END_IDLE
                with stream_connect("tcp", f"127.0.0.1:{port}") as held:
                    self.assertEqual(ask(held, b"tick 1 1", 2), b"tick 1\nticks done\n")
                    server.listeners["s"]["option.generation"] = "2"  # a new instance
                    server.write_config()
                    self.assertEqual(server.ctl("reload").returncode, 0)
                    self.assertEqual(receive_until_closed(held), b"")  # drain_timeout cut it
                self.ends(port, 4, 1)  # WHARF_END_DRAIN
                self.assertStops(server)

    def test_a_blocking_read_says_the_host_ended_the_session(self):
        port = free_port()
        server = Wharfd(self, {"b": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                     "mode": "thread", "plugin": test_plugin("blocking_echo")}},
                        host={"shutdown_timeout": "200ms"}).start()
        with stream_connect("tcp", f"127.0.0.1:{port}") as held:
            held.sendall(b"x")
            self.assertEqual(held.recv(1), b"x")
            self.assertEqual(server.stop(), 0)
        self.assertIn("ended by the host: reason 5", server.log())  # WHARF_END_SHUTDOWN
        self.assertNotIn("serve failed", server.log())


def clock_listener(mode, port, **keys):
    return {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": mode,
            "plugin": test_plugin("clock"), **keys}


class InstanceTimers(WharfTestCase):
    """Timers of an instance (instance_timer_start), with the clock fixture:
    they run on the instance's own thread in every mode, are refused in a
    fork-mode session process, and end before on_instance_destroy."""

    def ticks(self, port, at_least):
        """Asks new sessions until the ticker has ticked `at_least` times; the last answer."""
        deadline = time.monotonic() + 30
        while True:
            with stream_connect("tcp", f"127.0.0.1:{port}") as sock:
                answer = ask(sock, b"ticks").split()
            if int(answer[1]) >= at_least:
                return answer
            self.assertLess(time.monotonic(), deadline, answer)
            time.sleep(0.02)

    def test_they_run_on_the_instance_s_own_thread_in_every_mode(self):
        ports = {mode: free_port() for mode in MODES}
        server = self.wharfd({mode: clock_listener(mode, port) for mode, port in ports.items()})
        for mode, port in ports.items():
            with self.subTest(mode=mode):
                if mode != "fork":  # ticks N released 0 threads 1: it runs, on one thread
                    self.assertEqual(self.ticks(port, 3)[2:],
                                     [b"released", b"0", b"threads", b"1"])
                with stream_connect("tcp", f"127.0.0.1:{port}") as sock:
                    self.assertEqual(ask(sock, b"where"),  # -6: WHARF_BUFFER_TOO_SMALL
                                     b"tcp 127.0.0.1:%d small -6\n" % port)
                    if mode == "fork":  # sessions in processes of their own: WHARF_UNSUPPORTED
                        self.assertEqual(ask(sock, b"ticks"), b"ticks 0 released 0 threads 0\n")
                        self.assertEqual(ask(sock, b"once 1"), b"refused -3\n")
                        self.assertEqual(ask(sock, b"misuse"), b"misuse -3 -3 -3 0 -3\n")
                        continue
                    self.assertEqual(ask(sock, b"once 1"), b"chimed\n")
                    # NULL callback and a two-day delay: WHARF_INVALID; an unknown id:
                    # WHARF_NOT_FOUND; 63 more beside the ticker, then WHARF_ERROR.
                    self.assertEqual(ask(sock, b"misuse"), b"misuse -4 -4 -5 63 -1\n")
                self.assertEqual(self.ticks(port, 1)[5], b"1")  # "once" ran on the same thread
        self.assertStops(server)

    def test_session_facts_name_the_transport_and_this_end(self):
        port = free_port()
        server = self.wharfd({
            "v6": {**clock_listener("thread", port), "listen": f"[::1]:{port}"},
            "u": {**clock_listener("reactor", 0), "transport": "unix", "listen": "u.sock"},
        })
        with stream_connect("tcp", f"[::1]:{port}") as sock:
            self.assertEqual(ask(sock, b"where"), b"tcp [::1]:%d small -6\n" % port)
        path = server.path("u.sock")
        with stream_connect("unix", path) as sock:
            self.assertEqual(ask(sock, b"where"), b"unix %s small -6\n" % path.encode())
        self.assertStops(server)

    def test_a_failing_callback_ends_its_timer_only(self):
        port = free_port()
        server = self.wharfd({"c": clock_listener("thread", port, **{"option.fail_at": "3"})})
        server.wait_for_log(r"an instance timer's callback failed \(status -1\); "
                            r"the timer is cancelled")
        answer = self.ticks(port, 3)
        self.assertEqual(answer[:4], [b"ticks", b"3", b"released", b"1"])
        with stream_connect("tcp", f"127.0.0.1:{port}") as sock:
            self.assertEqual(ask(sock, b"once 1"), b"chimed\n")  # the instance goes on
        self.assertStops(server)

    def test_no_timer_outlives_its_instance_across_reloads(self):
        port = free_port()
        server = Wharfd(self, {"c": clock_listener("reactor", port, **{"option.tick_ms": "1"})},
                        host={"admin": "admin.sock"})
        server.start()
        for generation in range(2, 7):
            self.ticks(port, 1)
            with stream_connect("tcp", f"127.0.0.1:{port}") as held:
                held.sendall(b"once 200\n")  # pending as its instance goes
                server.listeners["c"]["option.generation"] = str(generation)
                server.write_config()
                self.assertEqual(server.ctl("reload").returncode, 0)
                self.assertEqual(receive_line(held), b"chimed\n")  # drained, not cut
        self.assertStops(server)
        log = server.log()
        # WHARF_CLOSED for a timer started from on_instance_destroy
        self.assertEqual(log.count("clock: ticker released 1, running callbacks 0, "
                                   "a new timer -2"), 6, log)
        self.assertNotIn("ticker released 0", log)
