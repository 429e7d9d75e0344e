"""Handles a plugin keeps past their end (issue #31), with the stale fixture:
a session handle kept after on_session_close, a waker after waker_release,
an instance handle after a reload destroyed its instance. Every host
function answers WHARF_CLOSED (or NULL, 0, "") and reaches nothing: the
bytes meant for the session that ended never reach the session that came
next, nor one open beside it, nothing is freed twice, the worker goes on,
and each such call is counted (wharf_plugin_stale_handles_total in /metrics,
process.plugin_stale_handles in the status).

Before, a handle pointed into the session object: once freed, the next
session's object took its place, and a write through the stale handle sent
the first client's bytes to the next, unrelated client (every time, in the
reactor and in thread mode); the other calls crashed the worker."""

import json
import socket
import urllib.request

from clients import receive_line, receive_until_closed, stream_connect
from wharf_harness import Wharfd, WharfTestCase, free_port, test_plugin, wait_until

# WHARF_CLOSED for every status, 0 pending, WHARF_END_NONE, no waker, no transport.
STALE = (b"stale write -2 close -2 peer -2 pending 0 reason 0 timer -2 waker null post -2 "
         b"post-kept -2 transport ''\n")
# Calls through ended handles: write-stale's write; in the first use-stale:
# write, close, log, peer, pending, end reason, timer, waker, transport, the
# post to the released waker, its second release, and the second release of
# the other (its post and first release are legitimate: it was not released
# yet, and its session's end answers the post); the second use-stale: the
# same, and that post too.
STALE_CALLS = 1 + 12 + 13
# WHARF_CLOSED, or 0 and NULL, for every call through the old instance.
OLD_INSTANCE = b"old options 0 get -2 name -2 timer -2 cancel -2 metric null zone null\n"
# log, option_count, option_get, instance_name, instance_timer_start and
# _cancel, metric_declare, zone_declare
OLD_INSTANCE_CALLS = 8


def ask(sock, line):
    sock.sendall(line + b"\n")
    return receive_line(sock)


def metric_total(url, name):
    """The sum of a metric's samples in the exposition at `url`."""
    with urllib.request.urlopen(url, timeout=30) as response:
        text = response.read().decode()
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line.startswith(name + "{") or line.startswith(name + " ")]
    if not values:
        raise AssertionError(f"no {name} in {url}")
    return sum(values)


class StaleHandles(WharfTestCase):
    def serve(self, mode, **options):
        self.port, metrics = free_port(), free_port()
        self.metrics_url = f"http://127.0.0.1:{metrics}/metrics"
        server = Wharfd(self, {"s": {"transport": "tcp", "listen": f"127.0.0.1:{self.port}",
                                     "mode": mode, "plugin": test_plugin("stale"),
                                     **{"option." + key: value for key, value in options.items()}}},
                        host={"admin": "admin.sock", "metrics": f"127.0.0.1:{metrics}",
                              "workers": "1"})
        return server.start()

    def connect(self):
        return stream_connect("tcp", f"127.0.0.1:{self.port}")

    def active(self, server):
        result = server.ctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)["listeners"][0]["sessions"]["active"]

    def stale_uses(self, server):
        result = server.ctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        worker, = json.loads(result.stdout)["workers"]
        return worker["process"]["plugin_stale_handles"]

    def test_a_kept_session_handle_reaches_no_other_session(self):
        """Client A's session is kept; after it ends, client B (whose session
        takes A's place) uses the handles: every call answers WHARF_CLOSED, B
        reads only its own answers and goes on, a bystander reads nothing more,
        and each call is counted."""
        for mode in ("reactor", "thread"):
            with self.subTest(mode=mode):
                self.check_kept_session_handle(mode)

    def check_kept_session_handle(self, mode):
        server = self.serve(mode)
        worker = server.worker_pid()
        with self.connect() as bystander:
            self.assertEqual(ask(bystander, b"here"), b"here\n")
            with self.connect() as a:
                self.assertEqual(ask(a, b"keep A-SECRET-PAYLOAD"), b"kept\n")
            wait_until(lambda: self.active(server) == 1, "A's session has ended")
            self.assertEqual(self.stale_uses(server), 0)
            # B comes after A has gone, where A's session was (before, B got "to-A: ...").
            with self.connect() as b:
                self.assertEqual(ask(b, b"write-stale"), b"write -2\n")
                self.assertEqual(ask(b, b"use-stale"), STALE)
                self.assertEqual(ask(b, b"B goes on"), b"B goes on\n")  # B was not closed
                self.assertEqual(ask(bystander, b"still here"), b"still here\n")
                # Once more: the handles stay dead, and a third release frees nothing.
                self.assertEqual(ask(b, b"use-stale"), STALE)
                for client in (b, bystander):  # nothing else came, to either
                    client.shutdown(socket.SHUT_WR)
                    self.assertEqual(receive_until_closed(client), b"")
        self.assertEqual(self.stale_uses(server), STALE_CALLS)
        self.assertEqual(metric_total(self.metrics_url, "wharf_plugin_stale_handles_total"),
                         STALE_CALLS)
        self.assertNotIn("through a stale handle", server.log())
        self.assertEqual(server.worker_pid(), worker)
        self.assertStops(server)

    def test_an_instance_handle_kept_across_a_reload_reaches_no_instance(self):
        """The new generation calls through its predecessor's handle once that
        instance is destroyed: WHARF_CLOSED, 0 or NULL, nothing logged, the
        worker unharmed (before: the worker crashed)."""
        server = self.serve("reactor", generation="1")
        worker = server.worker_pid()
        with self.connect() as first:
            self.assertEqual(ask(first, b"old-instance"), b"old none\n")
        # The new generation has two options: an alias of it would count them.
        server.listeners["s"].update({"option.generation": "2", "option.extra": "x"})
        server.write_config()
        result = server.ctl("reload")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        server.wait_for_log(r"generation 1 \(stale 0\.0\.1\) unloaded")
        with self.connect() as second:
            self.assertEqual(ask(second, b"old-instance"), OLD_INSTANCE)
            self.assertEqual(ask(second, b"old-instance"), OLD_INSTANCE)
            self.assertEqual(ask(second, b"the new one serves"), b"the new one serves\n")
        self.assertEqual(self.stale_uses(server), 2 * OLD_INSTANCE_CALLS)
        self.assertNotIn("through the old instance", server.log())
        self.assertEqual(server.worker_pid(), worker)
        self.assertStops(server)
