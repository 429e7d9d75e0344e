"""Hot reload (SIGHUP, wharfctl reload, watch = true): sessions in flight
finish on the plugin version they started with, sessions after the reload get
the new one, sockets are kept, bad plugins and configs are refused with the
old state serving, old generations are bounded by drain_timeout and
max_generations, and many reloads leave no plugin copy or descriptor behind.

The versioned_v1/versioned_v2 fixtures answer "VERSION[/TAG]:message", so
every answer shows which build and which options served it."""

import json
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time

from clients import DatagramClient, receive_exactly, stream_connect
from wharf_harness import WharfTestCase, Wharfd, descriptors, free_port, test_plugin

WAIT = 30  # seconds: a bound for events, never a measured time
# Reloads in a row for the tests of many (WHARF_RELOADS): the sanitizer
# builds' CI phases run fewer, each loading plugins being slow there.
RELOADS = int(os.environ.get("WHARF_RELOADS", "200"))


def ask(session, message):
    """Sends `message` on a stream session; returns the answer."""
    session.sendall(message)
    answer = bytearray()
    while not answer.endswith(message):
        chunk = session.recv(4096)
        if not chunk:
            break
        answer += chunk
    return bytes(answer)


class Reloading(WharfTestCase):
    def setUp(self):
        self.server = None

    def start(self, listeners, host=None):
        """wharfd serving `listeners` with a private copy of versioned_v1
        (plugin = "PLUGIN" in a listener names it), controlled through an
        admin socket."""
        self.server = Wharfd(self, listeners, dict({"admin": "admin.sock"}, **(host or {})))
        self.plugin = self.server.path("versioned.so")
        shutil.copy(test_plugin("versioned_v1"), self.plugin)
        for keys in listeners.values():
            if keys.get("plugin") == "PLUGIN":
                keys["plugin"] = self.plugin
        self.server.write_config()
        self.server.start()
        return self.server

    def install(self, release):
        """Installs a release the way operators must: copy beside, rename over."""
        staging = self.plugin + ".new"
        shutil.copy(test_plugin(release), staging)
        os.rename(staging, self.plugin)

    def scratch_dir(self):
        """A folder of the test's own (unix sockets outlive one wharfd)."""
        directory = tempfile.mkdtemp(prefix="wharf-reload-")
        self.addCleanup(shutil.rmtree, directory, True)
        return directory

    def ctl(self, *arguments):
        return self.server.ctl(*arguments)

    def reload(self):
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 0, result.stderr + self.server.log())
        return result.stdout

    def status(self, name):
        result = self.ctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        listeners = json.loads(result.stdout)["listeners"]
        return next(l for l in listeners if l["name"] == name and l["state"] == "serving")

    def listen_inode(self, port):
        """The inode of wharfd's TCP socket listening on `port`."""
        with open(f"/proc/{self.server.process.pid}/net/tcp") as table:
            for line in table.readlines()[1:]:
                fields = line.split()
                if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
                    return fields[9]
        return None


class PluginReload(Reloading):
    def check_old_session_keeps_old_version(self, mode, transport):
        address = self.server_address(transport)
        self.start({"t": {"transport": transport, "listen": address, "mode": mode,
                          "plugin": "PLUGIN"}})
        with stream_connect(transport, address) as slow:
            self.assertEqual(ask(slow, b"a"), b"1.0.0:a")
            self.install("versioned_v2")
            self.assertIn("[listener.t] generation 2 (versioned 2.0.0) serving", self.reload())
            with stream_connect(transport, address) as fresh:
                self.assertEqual(ask(fresh, b"c"), b"2.0.0:c")
            self.assertEqual(ask(slow, b"b"), b"1.0.0:b")
            self.assertEqual(self.status("t")["plugin"]["version"], "2.0.0")
            self.assertEqual(self.status("t")["plugin"]["generation"], 2)
        self.server.wait_for_log(r"generation 1 \(versioned 1\.0\.0\) unloaded", WAIT)
        self.assertStops(self.server)

    def server_address(self, transport):
        if transport == "unix":
            return os.path.join(self.scratch_dir(), "t.sock")
        return f"127.0.0.1:{free_port()}"

    def test_sessions_in_flight_keep_their_version_in_every_mode(self):
        for mode in ["thread", "pool", "reactor", "fork"]:
            for transport in ["tcp", "unix"]:
                with self.subTest(mode=mode, transport=transport):
                    self.check_old_session_keeps_old_version(mode, transport)

    def test_sighup_reloads_too(self):
        address = f"127.0.0.1:{free_port()}"
        self.start({"t": {"transport": "tcp", "listen": address, "plugin": "PLUGIN"}})
        self.install("versioned_v2")
        self.server.signal(signal.SIGHUP)
        self.server.wait_for_log(r"reload: \[listener\.t\] generation 2", WAIT)
        with stream_connect("tcp", address) as session:
            self.assertEqual(ask(session, b"x"), b"2.0.0:x")
        self.assertStops(self.server)

    def test_datagrams_after_the_switch_go_to_the_new_generation(self):
        for mode in ["reactor", "pool", "fork"]:
            with self.subTest(mode=mode):
                address = f"127.0.0.1:{free_port()}"
                self.start({"u": {"transport": "udp", "listen": address, "mode": mode,
                                  "plugin": "PLUGIN"}})
                with DatagramClient("udp", address) as client:
                    self.assertEqual(client.exchange(b"a"), b"1.0.0:a")
                    self.install("versioned_v2")
                    self.reload()
                    self.assertEqual(client.exchange(b"b"), b"2.0.0:b")
                self.assertStops(self.server)

    def test_changed_options_make_a_new_generation_of_the_same_file(self):
        address = f"127.0.0.1:{free_port()}"
        server = self.start({"t": {"transport": "tcp", "listen": address, "mode": "reactor",
                                   "plugin": "PLUGIN", "option.tag": "red"}})
        with stream_connect("tcp", address) as before:
            self.assertEqual(ask(before, b"a"), b"1.0.0/red:a")
            server.listeners["t"]["option.tag"] = "blue"
            server.write_config()
            self.assertIn("generation 2", self.reload())
            with stream_connect("tcp", address) as after:
                self.assertEqual(ask(after, b"b"), b"1.0.0/blue:b")
            self.assertEqual(ask(before, b"c"), b"1.0.0/red:c")
        self.assertStops(server)

    def test_watch_reloads_a_plugin_replaced_by_rename(self):
        address = f"127.0.0.1:{free_port()}"
        self.start({"t": {"transport": "tcp", "listen": address, "plugin": "PLUGIN"}},
                   host={"watch": "true"})
        self.install("versioned_v2")
        self.server.wait_for_log(r"reload: \[listener\.t\] generation 2", WAIT)
        with stream_connect("tcp", address) as session:
            self.assertEqual(ask(session, b"x"), b"2.0.0:x")
        self.assertStops(self.server)


class RefusedReload(Reloading):
    def setUp(self):
        self.address = f"127.0.0.1:{free_port()}"
        self.start({"t": {"transport": "tcp", "listen": self.address, "plugin": "PLUGIN"}})

    def assertServesVersion1(self):
        with stream_connect("tcp", self.address) as session:
            self.assertEqual(ask(session, b"x"), b"1.0.0:x")
        self.assertEqual(self.status("t")["plugin"]["generation"], 1)

    def test_a_broken_plugin_file_is_refused_and_the_old_one_serves(self):
        with open(self.plugin + ".new", "wb") as broken:
            broken.write(b"\x7fELF not really")
        os.rename(self.plugin + ".new", self.plugin)
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"plugin {self.plugin}: not a loadable shared object", result.stderr)
        self.server.wait_for_log("reload refused, nothing changed")  # the reader may lag
        self.assertServesVersion1()
        self.assertStops(self.server)

    def test_a_plugin_refusing_its_options_is_refused(self):
        self.server.listeners["t"]["plugin"] = test_plugin("instance_refuses")
        self.server.write_config()
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 1)
        self.assertIn("refused listener [listener.t]", result.stderr)
        self.assertServesVersion1()
        self.assertStops(self.server)

    def test_a_plugin_stuck_in_on_instance_new_is_killed_and_the_old_config_serves(self):
        """Before, the master gave up waiting after 60 s but the worker stayed
        stuck holding its lock: every later status and reload waited on it."""
        self.server.host["reload_timeout"] = "2s"
        self.server.listeners["t"]["plugin"] = test_plugin("checked")
        self.server.listeners["t"]["option.does"] = "hang"
        self.server.write_config()
        stuck = self.server.worker_pid()
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn(f"worker {stuck} (main) did not apply it within 2000 ms (reload_timeout): "
                      "killed, a new worker replaces it", result.stderr)
        self.server.wait_for_log(r"serving in place of the one that died")
        self.assertNotEqual(self.server.worker_pid(), stuck)
        self.assertServesVersion1()
        self.assertStops(self.server)

    def test_a_broken_config_is_refused_and_nothing_changes(self):
        port = free_port()
        self.server.listeners["added"] = {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                          "plugin": "echo"}
        self.server.listeners["t"]["max_connections"] = "lots"
        self.server.write_config()
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"wharf\.ini:\d+: \[listener\.t\] max_connections: ")
        with self.assertRaises(ConnectionRefusedError):
            stream_connect("tcp", f"127.0.0.1:{port}").close()
        self.assertServesVersion1()
        self.assertStops(self.server)

    def test_an_address_in_use_is_refused_and_nothing_changes(self):
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", 0))
            squatter.listen()
            taken = squatter.getsockname()[1]
            self.server.listeners["t"]["option.tag"] = "new"
            self.server.listeners["added"] = {"transport": "tcp",
                                              "listen": f"127.0.0.1:{taken}", "plugin": "echo"}
            self.server.write_config()
            result = self.ctl("reload")
            self.assertEqual(result.returncode, 1)
            self.assertIn("Address already in use", result.stderr)
        self.assertServesVersion1()
        self.assertStops(self.server)

    def test_adding_a_fork_listener_starts_new_workers(self):
        address = f"127.0.0.1:{free_port()}"
        old_worker = self.server.worker_pid()
        self.server.listeners["forked"] = {"transport": "tcp", "listen": address,
                                           "mode": "fork", "plugin": "echo"}
        self.server.write_config()
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("new workers ([listener.forked] is a new or reshaped fork listener)",
                      result.stdout)
        with stream_connect("tcp", address) as session:
            self.assertEqual(ask(session, b"forked"), b"forked")
        self.assertServesVersion1()
        self.server.wait_for_log(rf"worker {old_worker} \(main, serving t\) exited with status 0",
                                 WAIT)
        self.assertNotIn(old_worker, self.server.worker_pids())
        self.assertStops(self.server)


class ConfigReload(Reloading):
    def test_listeners_are_added_removed_and_reshaped_keeping_sockets(self):
        kept, removed, added = free_port(), free_port(), free_port()
        unix_path = os.path.join(self.scratch_dir(), "kept.sock")
        server = self.start({
            "kept": {"transport": "tcp", "listen": f"127.0.0.1:{kept}", "mode": "thread",
                     "plugin": "PLUGIN"},
            "kept-unix": {"transport": "unix", "listen": unix_path, "mode": "thread",
                          "plugin": "PLUGIN"},
            "removed": {"transport": "tcp", "listen": f"127.0.0.1:{removed}", "plugin": "echo"}})
        inode = self.listen_inode(kept)
        unix_inode = os.stat(unix_path).st_ino
        with stream_connect("tcp", f"127.0.0.1:{removed}") as draining:
            self.assertEqual(ask(draining, b"a"), b"a")
            server.listeners["kept"]["mode"] = "reactor"
            server.listeners["kept-unix"]["max_connections"] = "100"
            del server.listeners["removed"]
            server.listeners["added"] = {"transport": "tcp", "listen": f"127.0.0.1:{added}",
                                         "plugin": "echo"}
            server.write_config()
            changes = self.reload()
            self.assertIn("[listener.kept] replaced", changes)
            self.assertIn("[listener.kept-unix] replaced", changes)
            self.assertIn("[listener.removed] removed", changes)
            self.assertIn("[listener.added] added", changes)
            self.assertEqual(self.listen_inode(kept), inode)
            self.assertEqual(os.stat(unix_path).st_ino, unix_inode)
            self.assertEqual(self.status("kept")["mode"], "reactor")
            with stream_connect("tcp", f"127.0.0.1:{added}") as session:
                self.assertEqual(ask(session, b"n"), b"n")
            with self.assertRaises(ConnectionRefusedError):
                stream_connect("tcp", f"127.0.0.1:{removed}").close()
            self.assertEqual(ask(draining, b"still"), b"still")  # drains, not cut
        self.assertStops(server)


class DrainBounds(Reloading):
    def test_drain_timeout_cuts_sessions_left_on_an_old_generation(self):
        address = f"127.0.0.1:{free_port()}"
        self.start({"t": {"transport": "tcp", "listen": address, "mode": "reactor",
                          "plugin": "PLUGIN"}}, host={"drain_timeout": "200ms"})
        with stream_connect("tcp", address) as slow:
            self.assertEqual(ask(slow, b"a"), b"1.0.0:a")
            self.install("versioned_v2")
            self.reload()
            self.assertEqual(slow.recv(100), b"")  # cut
        self.server.wait_for_log(r"drain_timeout: closing 1 sessions still on generation 1", WAIT)
        self.server.wait_for_log(r"generation 1 \(versioned 1\.0\.0\) unloaded", WAIT)
        self.assertStops(self.server)

    def test_max_generations_cuts_the_oldest(self):
        address = f"127.0.0.1:{free_port()}"
        self.start({"t": {"transport": "tcp", "listen": address, "mode": "thread",
                          "plugin": "PLUGIN"}}, host={"max_generations": "2"})
        with stream_connect("tcp", address) as first:
            self.assertEqual(ask(first, b"a"), b"1.0.0:a")
            self.install("versioned_v2")
            self.reload()
            with stream_connect("tcp", address) as second:
                self.assertEqual(ask(second, b"b"), b"2.0.0:b")
                self.install("versioned_v1")
                self.reload()
                self.assertEqual(first.recv(100), b"")  # generation 1: one too many
                self.assertEqual(ask(second, b"c"), b"2.0.0:c")
                self.assertEqual(self.status("t")["plugin"]["generations_loaded"], 2)
        self.assertStops(self.server)


class ReloadStorm(Reloading):
    """Clients connect, ask and close in loops, and hold ping-pong sessions,
    on TCP and unix stream in thread and reactor modes, while the plugin file
    is replaced (by rename) and the config changed, alternately, RELOADS times (200 unless WHARF_RELOADS says):
    no connection may be refused or reset, no answer may be wrong."""


    def test_no_client_notices_reloads_in_a_row(self):
        directory = self.scratch_dir()
        targets = {}
        listeners = {}
        for mode in ["thread", "reactor"]:
            for transport in ["tcp", "unix"]:
                name = f"{transport}-{mode}"
                address = (os.path.join(directory, name + ".sock") if transport == "unix"
                           else f"127.0.0.1:{free_port()}")
                targets[name] = (transport, address)
                listeners[name] = {"transport": transport, "listen": address, "mode": mode,
                                   "plugin": "PLUGIN", "option.tag": "t0"}
        server = self.start(listeners)
        answer = re.compile(rb"^[12]\.0\.0/t\d+:(.*)$", re.S)
        stop = threading.Event()
        failures = []
        counts = {"exchanges": 0}
        lock = threading.Lock()

        def check(reply, message):
            match = answer.match(reply)
            if not match or match.group(1) != message:
                raise AssertionError(f"wrong answer {reply!r} to {message!r}")

        def connect_loop(transport, address):
            n = 0
            while not stop.is_set():
                message = b"c%d" % n
                n += 1
                try:
                    with stream_connect(transport, address) as session:
                        check(ask(session, message), message)
                    with lock:
                        counts["exchanges"] += 1
                except Exception as error:  # refused, reset, wrong: all failures
                    failures.append(f"{transport} {address}: {error!r}")
                    return

        def ping_pong(transport, address):
            try:
                with stream_connect(transport, address) as session:
                    n = 0
                    while not stop.is_set():
                        message = b"p%d" % n
                        n += 1
                        check(ask(session, message), message)
                        with lock:
                            counts["exchanges"] += 1
            except Exception as error:
                failures.append(f"{transport} {address} ping-pong: {error!r}")

        clients = [threading.Thread(target=function, args=target)
                   for target in targets.values() for function in (connect_loop, ping_pong)]
        for client in clients:
            client.start()
        try:
            for reload_number in range(1, RELOADS + 1):
                if failures:
                    break
                if reload_number % 2:
                    self.install("versioned_v2" if reload_number % 4 == 1 else "versioned_v1")
                else:
                    for keys in server.listeners.values():
                        keys["option.tag"] = f"t{reload_number}"
                    server.write_config()
                result = self.ctl("reload")
                if result.returncode != 0:
                    failures.append(f"reload {reload_number}: {result.stderr}")
        finally:
            stop.set()
            for client in clients:
                client.join()
        self.assertEqual(failures, [], server.log()[-5000:])
        self.assertGreater(counts["exchanges"], RELOADS)
        self.assertEqual(sum(sum(l["sessions"]["refused"].values())
                             for l in json.loads(self.ctl("status", "--json").stdout)["listeners"]),
                         0)
        self.assertStops(server)


class ReloadLeavesNothingBehind(Reloading):
    def loaded_copies(self):
        """The plugin copies mapped into the worker, and its open descriptors."""
        pid = self.server.worker_pid()
        with open(f"/proc/{pid}/maps") as maps:
            copies = {line.split()[4] for line in maps if "/memfd:wharf-" in line}  # inodes
        return len(copies), len(os.listdir(f"/proc/{pid}/fd"))

    def settled_copies(self):
        """loaded_copies() at its lowest over half a second: one sample can
        catch a descriptor the worker holds for a moment (CI once saw a
        baseline one above the count the worker settles at)."""
        samples = []
        for _ in range(10):
            samples.append(self.loaded_copies())
            time.sleep(0.05)
        return min(samples)

    def test_reloads_then_drain_return_to_baseline(self):
        address = f"127.0.0.1:{free_port()}"
        self.start({"t": {"transport": "tcp", "listen": address, "mode": "thread",
                          "plugin": "PLUGIN"},
                    "r": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                          "mode": "reactor", "plugin": "PLUGIN"}})
        baseline = self.settled_copies()
        at_start = descriptors(self.server.worker_pid())
        with stream_connect("tcp", address) as held:  # pins generation 1 until closed
            ask(held, b"a")
            for reload_number in range(RELOADS // 2):
                self.install("versioned_v2" if reload_number % 2 == 0 else "versioned_v1")
                self.reload()
            self.assertEqual(self.loaded_copies()[0], baseline[0] + 1)  # 1 and the current
        deadline = time.monotonic() + WAIT
        while self.loaded_copies() != baseline and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.loaded_copies(), baseline,
                         f"at the start: {at_start}\nnow: {descriptors(self.server.worker_pid())}")
        self.assertEqual(os.listdir(self.server.dir).count("versioned.so.new"), 0)
        self.assertStops(self.server)

    def test_a_plugin_that_must_never_be_unloaded_stays_mapped_unused(self):
        address = f"127.0.0.1:{free_port()}"
        self.start({"t": {"transport": "tcp", "listen": address, "plugin": "PLUGIN"}})
        baseline = self.loaded_copies()[0]
        self.install("versioned_pinned")
        self.reload()
        self.install("versioned_v2")
        self.reload()
        self.server.wait_for_log(r"generation 2 \(versioned 3\.0\.0\) unloaded", WAIT)
        with stream_connect("tcp", address) as session:
            self.assertEqual(ask(session, b"x"), b"2.0.0:x")
        self.assertEqual(self.loaded_copies()[0], baseline + 1)  # v2, and 3.0.0 kept mapped
        # The kept image's name stays its own: the next loads get the code installed.
        for release in ("versioned_v1", "versioned_v2", "versioned_v1"):
            self.install(release)
            self.reload()
            with stream_connect("tcp", address) as session:
                self.assertEqual(ask(session, b"x"), release[-1].encode() + b".0.0:x")
        self.assertStops(self.server)
