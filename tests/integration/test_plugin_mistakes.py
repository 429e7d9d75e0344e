"""A plugin author's mistakes fail loudly and hurt nothing else (issue #31),
one fixture each: a C++ entry without extern "C" is refused by name; an
exception out of a raw C++ hook closes that session as an error, logged with
the peer and the exception's text, in the reactor as in thread mode; a
second zone_lock on a thread that holds the lock is refused with
WHARF_INVALID and logged once instead of deadlocking every worker; a hook
that blocks an event loop is logged, and shows in wharf_loop_lag_seconds.
(A library with no entry symbol at all: test_startup_refusals.)"""

import json
import re
import subprocess
import urllib.request

from clients import receive_line, stream_connect
from wharf_harness import WHARFD, Wharfd, WharfTestCase, free_port, test_plugin, wait_until


def ask(sock, line):
    sock.sendall(line + b"\n")
    return receive_line(sock)


def listener(mode, port, fixture, **options):
    return {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": mode,
            "plugin": test_plugin(fixture),
            **{"option." + key: value for key, value in options.items()}}


def scrape(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def samples(text, name):
    """{labels text: value} of one metric in an exposition."""
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name):].rsplit(" ", 1)
            found[labels] = float(value)
    return found


class PluginMistakes(WharfTestCase):
    def status(self, server, name):
        result = server.ctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        reply = json.loads(result.stdout)
        return reply, next(entry for entry in reply["listeners"] if entry["name"] == name)

    def test_a_cpp_entry_without_extern_c_is_refused_by_name(self):
        """--check-config and a start both name the C++ symbol found and the fix
        (before: "no entry symbol wharf_plugin_entry: not a Wharf plugin")."""
        plugin = test_plugin("mangled_entry")
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": plugin}})
        check = subprocess.run([WHARFD, "--config", server.config_path, "--check-config"],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 2, check.stdout + check.stderr)
        for output in (check.stdout + check.stderr, None):
            if output is None:  # and at start
                self.assertEqual(server.start(expect_ready=False), 2, server.log())
                output = server.log()
                self.assertIn("nothing started", output)
            self.assertIn(f"plugin {plugin}: no entry symbol wharf_plugin_entry (it exports the "
                          "C++ name _Z18wharf_plugin_entryPK10wharf_host: declare the entry "
                          'extern "C"', output)

    def test_an_exception_out_of_a_raw_hook_closes_that_session_only(self):
        """The thrower's connection is closed by the server, counted as a hook
        error, logged with its peer and what was thrown; the session beside it,
        the worker and the next client go on (before: the reactor kept the
        connection open for good, and thread mode logged neither hook nor peer)."""
        for mode in ("reactor", "thread"):
            with self.subTest(mode=mode):
                self.check_throwing_hook(mode)

    def check_throwing_hook(self, mode):
        port = free_port()
        server = Wharfd(self, {"t": listener(mode, port, "throwing")},
                        host={"admin": "admin.sock"}).start()
        worker = server.worker_pid()
        with stream_connect("tcp", f"127.0.0.1:{port}") as bystander:
            self.assertEqual(ask(bystander, b"before"), b"before\n")
            with stream_connect("tcp", f"127.0.0.1:{port}") as victim:
                peer = "%s:%d" % victim.getsockname()
                self.assertEqual(ask(victim, b"hello"), b"hello\n")
                victim.sendall(b"throw\n")
                try:  # the server closes it (before, the reactor kept it open for good)
                    self.assertEqual(victim.recv(100), b"")  # bounded: the socket's timeout
                except ConnectionResetError:
                    pass
            self.assertEqual(ask(bystander, b"after"), b"after\n")  # the same session goes on
        server.wait_for_log(
            re.escape(f"peer {peer}: on_session_data failed: an exception escaped it: the "
                      "throwing fixture was told to throw (hooks must not throw); closing the "
                      "session"))
        wait_until(lambda: self.status(server, "t")[1]["sessions"]["active"] == 0,
                   "no session is active")
        reply, entry = self.status(server, "t")
        self.assertEqual(entry["sessions"]["hook_errors"], 1)
        self.assertEqual(entry["sessions"]["ended"]["error"], 1)
        self.assertEqual(entry["sessions"]["ended"]["client"], 1)  # the bystander
        self.assertEqual([w["restarts"] for w in reply["workers"]], [0])
        self.assertEqual(server.worker_pid(), worker)  # not replaced
        with stream_connect("tcp", f"127.0.0.1:{port}") as next_client:
            self.assertEqual(ask(next_client, b"next"), b"next\n")
        self.assertStops(server)

    def test_a_second_zone_lock_on_the_holding_thread_is_refused_not_a_deadlock(self):
        """WHARF_INVALID for the second lock, logged once however often it
        happens, and the lock stays usable by every session (before: the
        thread waited for itself for good, and every later locker with it)."""
        for mode in ("reactor", "thread"):
            with self.subTest(mode=mode):
                port = free_port()
                zone = f"relock_{mode}"
                server = Wharfd(self, {"z": listener(mode, port, "relock", zone=zone)}).start()
                # The first lock succeeds, the second is WHARF_INVALID (-4), the unlock succeeds.
                with stream_connect("tcp", f"127.0.0.1:{port}") as first:
                    self.assertEqual(ask(first, b"relock"), b"relock 0 -4 0\n")
                    self.assertEqual(ask(first, b"relock"), b"relock 0 -4 0\n")
                    with stream_connect("tcp", f"127.0.0.1:{port}") as second:
                        self.assertEqual(ask(second, b"relock"), b"relock 0 -4 0\n")
                        # The lock was given back each time: others still get it.
                        self.assertEqual(ask(second, b"lock"), b"locked 0 0\n")
                    self.assertEqual(ask(first, b"lock"), b"locked 0 0\n")
                message = (f"zone '{zone}': zone_lock on a thread that holds it already (the lock "
                           "is not recursive); refused with WHARF_INVALID (logged once)")
                server.wait_for_log(re.escape(message))
                self.assertStops(server)
                self.assertEqual(server.log().count(message), 1, server.log())

    def test_a_hook_that_blocks_an_event_loop_is_logged_and_measured(self):
        """A hook that sleeps 1.5 s on a reactor loop is logged with listener,
        plugin and hook, and its batch lands above 1 s in wharf_loop_lag_seconds;
        on a thread of its own it blocks no one and is not logged."""
        reactor, thread, metrics = free_port(), free_port(), free_port()
        server = Wharfd(self, {"r": listener("reactor", reactor, "stall"),
                               "t": listener("thread", thread, "stall")},
                        host={"metrics": f"127.0.0.1:{metrics}"}).start()
        for port in (reactor, thread):
            with stream_connect("tcp", f"127.0.0.1:{port}") as sock:
                self.assertEqual(ask(sock, b"stall"), b"stalled\n")
        server.wait_for_log(r"listener \[r\]: plugin 'stall': on_session_data ran for \d+\.\d s on "
                            r"an event loop; the loop's other sessions waited")
        # A thread of its own blocks no one: not logged.
        self.assertNotRegex(server.log(), r"listener \[t\][^\n]* ran for")
        url = f"http://127.0.0.1:{metrics}/metrics"
        labels = '{listener="r",transport="tcp",mode="reactor",plugin="stall"'

        def above_one_second():  # the batch is measured as it ends, after the reply went
            lag = samples(scrape(url), "wharf_loop_lag_seconds_bucket")
            return lag[labels + ',le="+Inf"}'] - lag[labels + ',le="1"}']

        wait_until(lambda: above_one_second() >= 1, "a batch of over a second is measured")
        text = scrape(url)
        lag = samples(text, "wharf_loop_lag_seconds_bucket")
        self.assertEqual(samples(text, "wharf_loop_lag_seconds_count")[labels + "}"],
                         lag[labels + ',le="+Inf"}'])
        self.assertFalse([key for key in lag if 'listener="t"' in key], lag)  # reactors only
        self.assertStops(server)
