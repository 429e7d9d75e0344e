"""The master/worker process model: a plugin crash costs one worker, which
the master replaces while connections wait in the accept queue (none is
refused); `isolate` keeps other listeners' sessions out of harm's way (crash
loops: test_crash_attribution); the workers die with the master; workers run as
[host] user; reloads that need new workers and binary upgrades happen under
traffic with no refusal and no reset."""

import errno
import glob
import json
import os
import pwd
import random
import shutil
import signal
import socket
import threading
import urllib.request

from clients import Traffic, receive_exactly, stream_connect
from ftp_fixture import FtpServer
from test_zones import Redis, kv_listener
from wharf_harness import (WHARFD, WharfTestCase, Wharfd, children_of, free_port,
                           test_plugin, wait_until)

WHARFD_NEXT = os.environ["WHARFD_NEXT"]


def uid_of(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Uid:"):
                return int(line.split()[2])  # effective
    raise AssertionError(f"no Uid line for {pid}")


def gone(pid):
    """Whether `pid` has exited with all its threads (a zombie leader may
    still have threads that hold its descriptors)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            zombie = stat.read().rsplit(")", 1)[1].split()[0] == "Z"
        return zombie and len(os.listdir(f"/proc/{pid}/task")) <= 1
    except (FileNotFoundError, ProcessLookupError):  # reaped, even between open and read
        return True


def port_free(address):
    host, port = address.rsplit(":", 1)
    with socket.socket() as probe:
        try:
            probe.bind((host, int(port)))
            return True
        except OSError:
            return False


def capabilities(pid, kind):
    """A process's capability set (`Eff`, `Prm`, `Bnd`) as a bit mask."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"Cap{kind}:"):
                return int(line.split()[1], 16)
    raise AssertionError(f"no Cap{kind} line for {pid}")


CAP_SETGID, CAP_SETUID, CAP_NET_BIND_SERVICE, CAP_KILL, CAP_DAC_READ_SEARCH = 6, 7, 10, 5, 2


def echoes(address, message=b"hello"):
    with stream_connect("tcp", address) as session:
        session.sendall(message)
        return receive_exactly(session, len(message)) == message


class Workers(WharfTestCase):
    def start(self, listeners, host=None, binary=None):
        # Under ASan, a plugin's SIGSEGV kills its worker as it would in production.
        sanitizer = {"ASAN_OPTIONS": "handle_segv=0:" + os.environ.get("ASAN_OPTIONS", "")}
        self.server = Wharfd(self, listeners, dict({"admin": "admin.sock"}, **(host or {})),
                             env=sanitizer)
        if binary:
            self.server.binary = binary
        return self.server.start()

    def ctl(self, *arguments):
        return self.server.ctl(*arguments, timeout=180)  # an upgrade may take a while

    def status(self):
        result = self.ctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def workers_of(self, group):
        return [worker["pid"] for worker in self.status()["workers"]
                if worker["group"] == group and worker["state"] == "serving"]

    def under_traffic(self, address, change, ping_pongs=0):
        """Runs `change()` while clients connect, echo and close in loops (and
        hold `ping_pongs` sessions); returns their counts once traffic has
        flowed on after it."""
        traffic = Traffic("tcp", address, loops=2, ping_pongs=ping_pongs).start()
        try:
            wait_until(lambda: traffic.exchanges() > 50, "traffic flows")
            change()
            served = traffic.exchanges()
            wait_until(lambda: traffic.exchanges() > served + 50, "traffic goes on after it")
        finally:
            counts = traffic.stop()
        counts["errors"] = traffic.errors
        return counts

    def assertUnnoticed(self, counts):
        self.assertEqual((counts["refused"], counts["reset"], counts["wrong"]), (0, 0, 0),
                         counts["errors"])

    def crash(self, address):
        """Makes the faulty plugin crash the worker serving `address`."""
        with stream_connect("tcp", address) as session:
            session.sendall(b"crash")
            try:
                session.recv(16)
            except OSError:
                pass  # reset by the dying worker


class CrashRecovery(Workers):
    def test_a_plugin_crash_costs_one_worker_and_no_connection_in_every_mode(self):
        for mode in ["thread", "pool", "reactor", "sync"]:
            with self.subTest(mode=mode):
                self.check_crash_recovery(mode)

    def check_crash_recovery(self, mode):
        faulty, isolated = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        server = self.start({
            "faulty": {"transport": "tcp", "listen": faulty, "mode": mode,
                       "plugin": test_plugin("faulty")},
            "calm": {"transport": "tcp", "listen": isolated, "mode": "thread", "plugin": "echo",
                     "isolate": "true"}})
        crashed, = self.workers_of("main")
        calm_worker, = self.workers_of("calm")
        calm_session = stream_connect("tcp", isolated)
        calm_session.sendall(b"before")
        self.assertEqual(receive_exactly(calm_session, 6), b"before")

        def crash():
            self.crash(faulty)
            server.wait_for_log(rf"worker {crashed} \(main, serving faulty\) killed by signal 11 "
                                r"\(Segmentation fault\).*; replacing it now")
            server.wait_for_log(r"serving in place of the one that died \(restart 1\)")

        # Sessions the dying worker held are cut; no connection is refused.
        counts = self.under_traffic(faulty, crash)
        self.assertEqual((counts["refused"], counts["wrong"]), (0, 0), counts["errors"])
        self.assertNotIn(crashed, self.workers_of("main"))
        self.assertEqual(self.workers_of("calm"), [calm_worker])
        calm_session.sendall(b"after")  # the isolated listener's session never noticed
        self.assertEqual(receive_exactly(calm_session, 5), b"after")
        calm_session.close()
        status = self.status()
        restarts = {worker["group"]: worker["restarts"] for worker in status["workers"]}
        self.assertEqual(restarts, {"main": 1, "calm": 0})
        self.assertStops(server)

    def test_a_killed_worker_is_replaced(self):
        address = f"127.0.0.1:{free_port()}"
        server = self.start({"e": {"transport": "tcp", "listen": address, "mode": "reactor",
                                   "plugin": "echo"}}, host={"workers": "2"})
        first, second = self.workers_of("main")

        def kill_one():
            os.kill(first, signal.SIGKILL)
            server.wait_for_log(rf"worker {first} \(main, serving e\) killed by signal 9")
            wait_until(lambda: len(self.workers_of("main")) == 2, "a replacement serves")

        counts = self.under_traffic(address, kill_one)
        self.assertEqual((counts["refused"], counts["wrong"]), (0, 0), counts["errors"])
        self.assertIn(second, self.workers_of("main"))
        self.assertStops(server)


class MasterDeath(Workers):
    def test_workers_die_with_the_master_and_free_the_ports(self):
        for user in ["", "nobody"]:  # a user switch clears the parent-death signal: set again
            with self.subTest(user=user):
                self.check_master_death(user)

    def check_master_death(self, user):
        address = f"127.0.0.1:{free_port()}"
        server = self.start({"e": {"transport": "tcp", "listen": address, "plugin": "echo"},
                             "f": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                   "mode": "fork", "plugin": "echo", "isolate": "true"}},
                            host={"workers": "2", "user": user})
        workers = server.worker_pids()
        helpers = [helper for worker in workers for helper in children_of(worker)]
        self.assertEqual(len(workers), 4)
        self.assertEqual(len(helpers), 2)  # each fork worker's helper
        server.process.kill()
        server.process.wait()
        for pid in workers + helpers:
            wait_until(lambda: gone(pid), f"process {pid} has exited")
        wait_until(lambda: port_free(address), "nothing holds the port")


class Shutdown(Workers):
    def test_sigterm_to_every_process_drains_and_cuts_nothing(self):
        address = f"127.0.0.1:{free_port()}"
        server = self.start({"e": {"transport": "tcp", "listen": address, "plugin": "echo"}},
                            host={"workers": "2"})
        sessions = [stream_connect("tcp", address) for _ in range(4)]
        for session in sessions:
            session.sendall(b"a")
            self.assertEqual(receive_exactly(session, 1), b"a")
        for pid in server.worker_pids() + [server.process.pid]:  # as `killall wharfd` does
            os.kill(pid, signal.SIGTERM)
        server.wait_for_log(r"master: signal Terminated: workers stop accepting")
        for session in sessions:  # draining, not cut
            session.sendall(b"b")
            self.assertEqual(receive_exactly(session, 1), b"b")
            session.close()
        self.assertEqual(server.wait(), 0)
        self.assertNotIn("remaining sessions", server.log())


class PrivilegeDrop(Workers):
    def test_workers_run_as_user_and_write_files_as_that_user(self):
        nobody = pwd.getpwnam("nobody")
        ftp = FtpServer(self)
        self.server = ftp.server
        os.chmod(ftp.server.dir, 0o755)  # the worker, as nobody, reads the users file
        os.chown(os.path.join(ftp.root, "home", "alice"), nobody.pw_uid, nobody.pw_gid)
        ftp.server.host.update({"user": "nobody", "admin": "admin.sock"})
        ftp.server.listeners["forked"] = {"transport": "tcp",
                                          "listen": f"127.0.0.1:{free_port()}", "mode": "fork",
                                          "plugin": "echo"}
        ftp.server.write_config()
        ftp.start()
        self.assertNotIn("plugins run as root", ftp.server.log())
        master = ftp.server.process.pid
        self.assertEqual(uid_of(master), 0)
        workers = ftp.server.worker_pids()
        helpers = [helper for worker in workers for helper in children_of(worker)]
        self.assertEqual(len(helpers), 1)
        for pid in workers + helpers:
            self.assertEqual(uid_of(pid), nobody.pw_uid, f"process {pid}")
        # The master is the only root process of this wharfd.
        family = [pid for pid in workers + helpers + [master] if uid_of(pid) == 0]
        self.assertEqual(family, [master])
        client = ftp.client("alice")
        client.storbinary("STOR upload.bin", __import__("io").BytesIO(b"x" * 1000))
        client.quit()
        stored = os.stat(os.path.join(ftp.root, "home", "alice", "upload.bin"))
        self.assertEqual((stored.st_uid, stored.st_size), (nobody.pw_uid, 1000))
        self.assertEqual({worker["user"] for worker in self.status()["workers"]}, {"nobody"})
        self.assertEqual(self.status()["user"], "root")
        self.assertStops(ftp.server)

    def test_the_master_keeps_only_what_it_needs_and_still_binds_low_ports(self):
        address = f"127.0.0.1:{free_port()}"
        server = self.start({"e": {"transport": "tcp", "listen": address, "plugin": "echo"}},
                            host={"user": "nobody"})
        kept = sum(1 << cap for cap in (CAP_SETGID, CAP_SETUID, CAP_NET_BIND_SERVICE, CAP_KILL,
                                        CAP_DAC_READ_SEARCH))
        master = server.process.pid
        for kind in ("Eff", "Prm", "Bnd"):
            self.assertEqual(capabilities(master, kind), kept, kind)
        worker = server.worker_pid()
        self.assertEqual(capabilities(worker, "Eff"), 0)
        self.assertEqual(capabilities(worker, "Bnd"), kept)
        # A reload binds a port below 1024 (on an address of its own), and the
        # master, with five capabilities left, still stops workers that run as nobody.
        low = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}:999"
        server.listeners["low"] = {"transport": "tcp", "listen": low, "plugin": "echo"}
        server.write_config()
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(echoes(low))
        self.assertStops(server)

    def probe(self, address, target):
        """What the neighbour fixture at `address` may do to process `target`:
        {"environ": errno, "fds": …, "getfd": …, "ptrace": …, "kill": …}, 0 where it may."""
        with stream_connect("tcp", address) as session:
            session.sendall(f"probe {target}\n".encode())
            answer = session.recv(128).decode().split()
        results = dict(zip(answer[0::2], (int(code) for code in answer[1::2])))
        self.assertEqual(sorted(results), ["environ", "fds", "getfd", "kill", "ptrace"], answer)
        return results

    def test_a_plugin_cannot_reach_into_another_worker(self):
        """Workers set PR_SET_DUMPABLE back to 1 after the drop: a plugin in an
        isolated worker read the main worker's environment and descriptors,
        took its sockets with pidfd_getfd (the master channel, other listeners'
        listening sockets) and could ptrace it. They stay non-dumpable now,
        unless core_dumps = on (which gives that up, as the README says). One
        user may still signal its own processes: that takes a user per group."""
        for core_dumps, refused in (("off", True), ("on", False)):
            with self.subTest(core_dumps=core_dumps):
                main, probe = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
                server = self.start(
                    {"e": {"transport": "tcp", "listen": main, "plugin": "echo"},
                     "probe": {"transport": "tcp", "listen": probe, "mode": "reactor",
                               "plugin": test_plugin("neighbour"), "isolate": "true"}},
                    host={"user": "nobody", "core_dumps": core_dumps})
                target, = self.workers_of("main")
                results = self.probe(probe, target)
                self.assertEqual(results["kill"], 0, results)
                if refused:
                    for what in ("environ", "fds", "getfd", "ptrace"):
                        self.assertIn(results[what], (errno.EPERM, errno.EACCES), what)
                else:  # the same user and dumpable: nothing stops it
                    self.assertEqual(results["getfd"], 0, results)
                    self.assertEqual(results["environ"], 0, results)
                self.assertTrue(echoes(main))
                self.assertStops(server)

    def test_an_isolated_listener_with_a_user_of_its_own_cannot_even_signal_the_others(self):
        """Every group's workers ran as [host] user: a plugin in an isolated
        worker could kill the main group's workers (even with core_dumps on)."""
        main, probe = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        server = self.start(
            {"e": {"transport": "tcp", "listen": main, "plugin": "echo"},
             "probe": {"transport": "tcp", "listen": probe, "mode": "reactor",
                       "plugin": test_plugin("neighbour"), "isolate": "true",
                       "user": "daemon"}},
            host={"user": "nobody", "core_dumps": "on"})
        target, = self.workers_of("main")
        prober, = self.workers_of("probe")
        self.assertEqual((uid_of(target), uid_of(prober)),
                         (pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("daemon").pw_uid))
        users = {w["group"]: w["user"] for w in self.status()["workers"]}
        self.assertEqual(users, {"main": "nobody", "probe": "daemon"})
        for what, code in self.probe(probe, target).items():
            self.assertIn(code, (errno.EPERM, errno.EACCES), what)
        self.assertTrue(echoes(main))
        # A changed user is a new set of workers, as [host] user's change is.
        server.listeners["probe"]["user"] = "nobody"
        server.write_config()
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("new workers (isolate, or an isolated user, changed)", result.stdout)
        wait_until(lambda: [uid_of(pid) for pid in self.workers_of("probe")] ==
                   [pwd.getpwnam("nobody").pw_uid], "the probe's workers run as nobody")
        self.assertStops(server)

    def test_a_user_outside_isolate_is_refused_by_key(self):
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": "echo", "user": "daemon"}}, {"user": "nobody"})
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertRegex(server.log(), r"wharf\.ini:\d+: \[listener\.e\] user: needs isolate = "
                                       r"true \(the listeners that share workers run as \[host\] "
                                       r"user\)")

    def test_an_unknown_user_is_refused_by_key(self):
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": "echo"}}, {"user": "no-such-user-here"})
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertRegex(server.log(), r"wharf\.ini:\d+: \[host\] user: no such user "
                                       r"'no-such-user-here'")


class ReloadWithNewWorkers(Workers):
    def test_changing_workers_under_traffic_refuses_nothing(self):
        address = f"127.0.0.1:{free_port()}"
        server = self.start({"e": {"transport": "tcp", "listen": address, "mode": "thread",
                                   "plugin": "echo"}})
        old = server.worker_pid()

        def more_workers():
            server.host["workers"] = "3"
            server.write_config()
            result = self.ctl("reload")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("new workers ([host] workers changed): 3 serving", result.stdout)

        self.assertUnnoticed(self.under_traffic(address, more_workers, ping_pongs=2))
        wait_until(lambda: gone(old), "the old worker has drained and exited")
        self.assertEqual(len(self.workers_of("main")), 3)
        self.assertStops(server)

    def test_adding_a_fork_listener_under_traffic_refuses_nothing(self):
        address, forked = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        server = self.start({"e": {"transport": "tcp", "listen": address, "mode": "reactor",
                                   "plugin": "echo"}})

        def add_fork_listener():
            server.listeners["forked"] = {"transport": "tcp", "listen": forked, "mode": "fork",
                                          "plugin": "echo"}
            server.write_config()
            result = self.ctl("reload")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertTrue(echoes(forked))

        self.assertUnnoticed(self.under_traffic(address, add_fork_listener))
        self.assertStops(server)

    def test_new_workers_that_cannot_start_leave_the_old_ones_serving(self):
        address = f"127.0.0.1:{free_port()}"
        server = self.start({"e": {"transport": "tcp", "listen": address, "plugin": "echo"}})
        old = server.worker_pid()
        server.host["workers"] = "2"
        server.listeners["e"]["plugin"] = test_plugin("instance_refuses")
        server.write_config()
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 1)
        self.assertIn("did not start", result.stderr)
        self.assertEqual(server.worker_pids(), [old])
        self.assertTrue(echoes(address))
        self.assertStops(server)


    def test_a_refused_reload_leaves_no_new_address_bound(self):
        address, added = f"127.0.0.1:{free_port()}", free_port()
        server = self.start({"e": {"transport": "tcp", "listen": address, "plugin": "echo"}},
                            host={"workers": "2"})
        server.listeners["added"] = {"transport": "tcp", "listen": f"127.0.0.1:{added}",
                                     "plugin": test_plugin("instance_refuses")}
        server.write_config()
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 1)
        self.assertIn("refused listener [listener.added]", result.stderr)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", added))  # neither the master nor a worker holds it
        self.assertTrue(echoes(address))
        self.assertStops(server)


class Spread(Workers):
    def test_workers_share_the_sockets_and_status_sums_them(self):
        address = f"127.0.0.1:{free_port()}"
        server = self.start({"e": {"transport": "tcp", "listen": address, "mode": "reactor",
                                   "plugin": "echo"}}, host={"workers": "2"})
        sessions = []
        for n in range(40):  # held open, so both workers take some
            session = stream_connect("tcp", address)
            session.sendall(b"%d" % n)
            self.assertEqual(receive_exactly(session, len(b"%d" % n)), b"%d" % n)
            sessions.append(session)
        status = self.status()
        listener, = status["listeners"]
        self.assertEqual(listener["workers"], 2)
        self.assertEqual((listener["sessions"]["active"], listener["sessions"]["total"]), (40, 40))
        self.assertEqual(len(status["workers"]), 2)
        self.assertEqual(sorted(w["pid"] for w in status["workers"]), sorted(server.worker_pids()))
        for session in sessions:
            session.close()
        self.assertStops(server)


def descriptor_table_size(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("FDSize:"):
                return int(line.split()[1])
    raise AssertionError(f"no FDSize line for {pid}")


class DescriptorRoom(Workers):
    def test_each_worker_makes_room_for_its_sessions_descriptors_before_it_serves(self):
        # Grown while serving, each doubling of the table stalls the call that
        # needed the slot 10 to 20 ms (an RCU grace period): 256 slots of its
        # own and two per admitted session are made before the threads start.
        address = f"127.0.0.1:{free_port()}"
        server = self.start({"e": {"transport": "tcp", "listen": address, "mode": "reactor",
                                   "plugin": "echo", "max_connections": "1500"}},
                            host={"workers": "2"})
        pids = server.worker_pids()
        self.assertEqual(len(pids), 2)
        for pid in pids:
            self.assertGreaterEqual(descriptor_table_size(pid), 256 + 2 * 1500)
            self.assertLess(len(os.listdir(f"/proc/{pid}/fd")), 100)  # room, not descriptors
        with stream_connect("tcp", address) as session:
            session.sendall(b"still echoes")
            self.assertEqual(receive_exactly(session, 12), b"still echoes")
        self.assertStops(server)


class BinaryUpgrade(Workers):
    def install(self, source):
        """Replaces the binary at the running master's path, as a package would."""
        shutil.copy(source, self.binary + ".new")
        os.rename(self.binary + ".new", self.binary)

    def start_copy(self, listeners, host=None):
        """wharfd run from a copy of the binary that a test may replace."""
        bin_dir = os.path.join(self.scratch_root(), "bin")
        os.makedirs(bin_dir)
        self.binary = os.path.join(bin_dir, "wharfd")
        shutil.copy(WHARFD, self.binary)
        return self.start(listeners, host, binary=self.binary)

    def scratch_root(self):
        directory = __import__("tempfile").mkdtemp(prefix="wharf-upgrade-")
        self.addCleanup(shutil.rmtree, directory)
        return directory

    def test_an_upgrade_under_traffic_refuses_and_resets_nothing(self):
        address = f"127.0.0.1:{free_port()}"
        server = self.start_copy({"e": {"transport": "tcp", "listen": address,
                                        "mode": "reactor", "plugin": "echo"}},
                                 host={"workers": "2", "user": "nobody"})  # a master with few caps
        master = server.process.pid
        version = self.status()["version"]
        old_workers = server.worker_pids()

        def upgrade():
            self.install(WHARFD_NEXT)
            result = self.ctl("upgrade")
            self.assertEqual(result.returncode, 0, result.stderr + server.log())
            self.assertEqual(result.stdout,
                             f"wharfd: upgraded from {version} to {version}+next, pid {master}\n")

        self.assertUnnoticed(self.under_traffic(address, upgrade, ping_pongs=3))
        self.assertIn(f"upgrade: {self.binary} passed --check-config; rehearsing it", server.log())
        self.assertNotIn("from before rehearsals", server.log())
        status = self.status()
        self.assertEqual((status["pid"], status["version"], status["upgrades"]),
                         (master, f"{version}+next", 1))
        for pid in old_workers:  # their ping-pong sessions ended with stop(): they drain
            wait_until(lambda: gone(pid), f"old worker {pid} has exited")
        self.assertEqual({w["version"] for w in self.status()["workers"]}, {f"{version}+next"})
        self.assertTrue(echoes(address))
        self.assertStops(server)

    def test_upgrades_with_metrics_on_while_status_and_metrics_are_polled(self):
        """The master closed its control threads before the exec and waited for
        them, while one of them (a status request, a scrape) waited for the
        master: with [host] metrics set, every upgrade hung the master for good."""
        address = f"127.0.0.1:{free_port()}"
        metrics = free_port()
        server = self.start_copy({"e": {"transport": "tcp", "listen": address,
                                        "mode": "reactor", "plugin": "echo"}},
                                 host={"metrics": f"127.0.0.1:{metrics}"})
        stop = threading.Event()
        polls = {"answered": 0}

        def poll():  # as a probe would: status and /metrics, over and over
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics",
                                                timeout=5) as reply:
                        reply.read()
                    polls["answered"] += 1
                except OSError:
                    pass  # the old master's server is closing, the new one not yet open
                server.ctl("status", timeout=30)

        pollers = [threading.Thread(target=poll) for _ in range(2)]
        for poller in pollers:
            poller.start()
        try:
            for binary in (WHARFD_NEXT, WHARFD, WHARFD_NEXT):
                self.install(binary)
                result = self.ctl("upgrade")
                self.assertEqual(result.returncode, 0, result.stderr + server.log())
        finally:
            stop.set()
            for poller in pollers:
                poller.join()
        self.assertGreater(polls["answered"], 0)
        self.assertEqual(self.status()["upgrades"], 3)
        self.assertTrue(echoes(address))
        self.assertStops(server)

    def test_the_master_and_its_workers_are_named_wharfd_across_an_upgrade(self):
        """For ps, pkill -x and the logrotate snippet: workers (an exec of
        /proc/self/exe) were named "exe", and a master an upgrade started from a
        descriptor (fexecve), on kernels before 6.14, after the descriptor's number."""
        server = self.start_copy({"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                        "plugin": "echo"}})
        master = server.process.pid

        def names():
            pids = [master] + [worker["pid"] for worker in self.status()["workers"]]
            named = {}
            for pid in pids:
                try:
                    with open(f"/proc/{pid}/comm") as comm:
                        named[pid] = comm.read().strip()
                except FileNotFoundError:
                    pass  # a worker that ended (an upgrade's leftover) since status listed it
            self.assertIn(master, named)
            self.assertGreater(len(named), 1, "no worker of status was still running")
            return named

        self.assertEqual(set(names().values()), {"wharfd"})
        self.install(WHARFD_NEXT)
        result = self.ctl("upgrade")
        self.assertEqual(result.returncode, 0, result.stderr + server.log())
        self.assertEqual(set(names().values()), {"wharfd"})
        self.assertStops(server)

    def test_a_replaced_worker_runs_the_masters_image_not_the_file_at_its_path(self):
        """Workers were started by exec of the path wharfd was started from: a
        broken file there made every replacement exit, for good."""
        address = f"127.0.0.1:{free_port()}"
        server = self.start_copy({"e": {"transport": "tcp", "listen": address,
                                        "plugin": "echo"}})
        version = self.status()["version"]
        worker = server.worker_pid()
        with open(self.binary + ".new", "w") as broken:
            broken.write("#!/bin/sh\necho 'this build is broken' >&2\nexit 3\n")
        os.chmod(self.binary + ".new", 0o755)
        os.rename(self.binary + ".new", self.binary)
        os.kill(worker, signal.SIGKILL)
        # Until the replacement has answered the master, its entry has no version.
        wait_until(lambda: [(w.get("pid"), w.get("version")) for w in self.status()["workers"]]
                   not in ([], [(worker, version)]) and
                   all("version" in w for w in self.status()["workers"]),
                   "a replacement worker serves")
        self.assertTrue(echoes(address))
        self.assertEqual([w["version"] for w in self.status()["workers"]], [version])
        self.assertNotEqual(server.worker_pid(), worker)
        self.assertNotIn("this build is broken", server.log())
        self.assertStops(server)

    def install_script(self, master_path):
        """Installs, as the binary at the master's path, a script that is
        WHARFD_NEXT for `--check-config` (so the check passes) and runs
        `master_path` (shell) for anything else: the new binary as master."""
        with open(self.binary + ".new", "w") as script:
            script.write("#!/bin/sh\n"
                         f'case " $* " in *" --check-config "*) exec {WHARFD_NEXT} "$@";; esac\n'
                         + master_path)
        os.chmod(self.binary + ".new", 0o755)
        os.rename(self.binary + ".new", self.binary)

    def hanging_master(self):
        """A master path that notes its pid and signal state, then hangs."""
        marks = self.scratch_root()
        # The shell reads its own signal state with builtins alone: a child (grep)
        # reading /proc/$$/status raced with dash, which blocks every signal while it
        # forks and waits (seen under load).
        self.install_script(f"echo $$ > {marks}/pid.new && mv {marks}/pid.new {marks}/pid\n"
                            "while read -r key value; do case $key in SigBlk:|SigIgn:) "
                            f"printf '%s\\t%s\\n' \"$key\" \"$value\" >> {marks}/signals;; "
                            "esac; done < /proc/self/status\n"
                            "exec sleep 600\n")
        return os.path.join(marks, "pid"), os.path.join(marks, "signals")

    def test_a_binary_that_fails_as_master_is_refused_with_nothing_cut(self):
        """The master executed a new binary that passed --check-config; one that
        then failed as master ended the master and, with it, every worker."""
        address = f"127.0.0.1:{free_port()}"
        server = self.start_copy({"e": {"transport": "tcp", "listen": address,
                                        "mode": "reactor", "plugin": "echo"}},
                                 host={"workers": "2"})
        master, workers = server.process.pid, sorted(server.worker_pids())

        def upgrade():
            self.install_script("echo 'the master path is broken' >&2\nexit 4\n")
            result = self.ctl("upgrade")
            self.assertEqual(result.returncode, 1, result.stdout)
            self.assertIn(f"{self.binary} as master (rehearsal) exited with status 4: "
                          "the master path is broken", result.stderr)

        self.assertUnnoticed(self.under_traffic(address, upgrade))
        self.assertIn("upgrade refused, the old binary serves on: ", server.log())
        self.assertEqual((self.status()["pid"], sorted(server.worker_pids())), (master, workers))
        self.assertEqual(self.status()["last_upgrade"]["result"], "refused")
        self.assertTrue(echoes(address))
        self.assertStops(server)

    def test_a_binary_that_hangs_as_master_is_refused_within_wharfctls_timeout(self):
        """It hung as master, with the old workers unsupervised; and status waited
        for the upgrade meanwhile."""
        address = f"127.0.0.1:{free_port()}"
        server = self.start_copy({"e": {"transport": "tcp", "listen": address,
                                        "plugin": "echo"}})
        master, worker = server.process.pid, server.worker_pid()
        pid_file, signals_file = self.hanging_master()
        outcome = {}
        upgrading = threading.Thread(
            target=lambda: outcome.update(result=server.ctl("upgrade", timeout=15)))
        upgrading.start()
        wait_until(lambda: os.path.exists(pid_file), "the new binary runs as master")
        with open(pid_file) as noted:
            rehearsal = int(noted.read())
        answered = server.ctl("status", "--json", timeout=3)  # while the rehearsal hangs
        self.assertEqual(answered.returncode, 0, answered.stderr)
        status = json.loads(answered.stdout)
        self.assertEqual((status["pid"], [w["pid"] for w in status["workers"]]), (master, [worker]))
        self.assertTrue(echoes(address))
        upgrading.join()
        result = outcome["result"]
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertRegex(result.stderr, rf"upgrade refused, the old binary serves on: {self.binary} "
                                        r"as master \(rehearsal\) did not finish in \d+ s")
        self.assertTrue(gone(rehearsal))
        # What it started with: no signal blocked, none ignored (SIGPIPE by the master).
        wait_until(lambda: os.path.exists(signals_file), "the new binary's signal state noted")
        with open(signals_file) as signals:
            self.assertEqual(signals.read(), "SigBlk:\t0000000000000000\n"
                                             "SigIgn:\t0000000000000000\n")
        self.assertEqual(server.worker_pids(), [worker])
        self.assertTrue(echoes(address))
        self.assertStops(server)

    def test_sigterm_stops_wharfd_while_an_upgrade_waits_for_the_new_binary(self):
        """SIGTERM was blocked while the master waited for the new binary (and in
        a hung new binary, which kept the mask): only SIGKILL stopped it."""
        address = f"127.0.0.1:{free_port()}"
        server = self.start_copy({"e": {"transport": "tcp", "listen": address,
                                        "plugin": "echo"}})
        worker = server.worker_pid()
        pid_file, _ = self.hanging_master()
        upgrading = threading.Thread(target=lambda: server.ctl("upgrade", timeout=170))
        upgrading.start()
        wait_until(lambda: os.path.exists(pid_file), "the new binary runs as master")
        with open(pid_file) as noted:
            rehearsal = int(noted.read())
        self.assertStops(server)
        upgrading.join()
        self.assertIn("stopped: wharfd is stopping", server.log())
        self.assertTrue(gone(rehearsal) and gone(worker))

    def test_a_binary_from_before_rehearsals_is_checked_then_executed(self):
        """A rollback to a release from before rehearsals is an upgrade too."""
        address = f"127.0.0.1:{free_port()}"
        server = self.start_copy({"e": {"transport": "tcp", "listen": address,
                                        "plugin": "echo"}})
        version = self.status()["version"]
        self.install_script('case " $* " in *" --rehearse-upgrade "*)\n'
                            "  echo \"wharfd: unknown argument '--rehearse-upgrade'\" >&2\n"
                            "  exit 2;;\nesac\n"
                            f'exec {WHARFD_NEXT} "$@"\n')
        result = self.ctl("upgrade")
        self.assertEqual(result.returncode, 0, result.stderr + server.log())
        self.assertEqual(self.status()["version"], f"{version}+next")
        self.assertIn(f"upgrade: {self.binary} is from before rehearsals: it was only checked",
                      server.log())
        self.assertTrue(echoes(address))
        self.assertStops(server)

    def test_zones_keep_their_data_across_an_upgrade_and_its_rehearsal_leaves_none(self):
        """The rehearsal's workers make zones of their own (its space): they
        must go with it, and the serving workers' data must stay."""
        port = free_port()
        server = self.start_copy({"kv": kv_listener(port)})
        with Redis(port) as client:
            self.assertEqual(client.command("SET", "kept", "across"), b"+OK")
        kv_zones = lambda: set(glob.glob("/dev/shm/wharf_*.kv.*"))
        before = kv_zones()
        self.install(WHARFD_NEXT)
        result = self.ctl("upgrade")
        self.assertEqual(result.returncode, 0, result.stderr + server.log())
        self.assertIn("passed --check-config; rehearsing it", server.log())
        with Redis(port) as client:
            self.assertEqual(client.command("GET", "kept"), b"across")
        # The check's and the rehearsal's spaces are named by their pids, gone now: nothing
        # of theirs is left. Only "kv" zones made since the upgrade began are this test's;
        # the maker is looked up before the zone, as a master that stops removes its zones
        # and then exits (other tests run beside this one and stop theirs).
        for zone in kv_zones() - before:
            pid = int(os.path.basename(zone).split("_")[1])
            maker_gone = not os.path.exists(f"/proc/{pid}")
            self.assertFalse(maker_gone and os.path.exists(zone), f"{zone} outlived its maker")
        self.assertStops(server)

    def test_a_worker_handed_over_by_an_upgrade_still_names_the_hook_it_dies_in(self):
        """The new master had no crash page for the workers it took over: a
        crash in one blamed no hook."""
        address = f"127.0.0.1:{free_port()}"
        server = self.start_copy({"faulty": {"transport": "tcp", "listen": address,
                                             "mode": "thread", "plugin": test_plugin("faulty")}},
                                 {"user": "nobody"})
        old = server.worker_pid()
        held = stream_connect("tcp", address)  # a session the old worker keeps as it drains
        self.addCleanup(held.close)
        held.sendall(b"ping")
        self.assertEqual(receive_exactly(held, 4), b"ping")
        self.install(WHARFD_NEXT)
        result = self.ctl("upgrade")
        self.assertEqual(result.returncode, 0, result.stderr + server.log())
        held.sendall(b"crash")
        server.wait_for_log(rf"worker {old} \(main, serving faulty\) killed by signal 11 "
                            r"\(Segmentation fault\) in \[faulty\] on_session_data")
        self.assertTrue(echoes(address))
        self.assertStops(server)

    def test_a_broken_binary_leaves_the_old_one_serving(self):
        address = f"127.0.0.1:{free_port()}"
        server = self.start_copy({"e": {"transport": "tcp", "listen": address,
                                        "plugin": "echo"}})
        worker = server.worker_pid()
        with open(self.binary + ".new", "w") as broken:
            broken.write("#!/bin/sh\necho 'this build is broken' >&2\nexit 3\n")
        os.chmod(self.binary + ".new", 0o755)
        os.rename(self.binary + ".new", self.binary)
        result = self.ctl("upgrade")
        self.assertEqual(result.returncode, 1)
        self.assertIn("--check-config exited with status 3: this build is broken", result.stderr)
        server.signal(signal.SIGUSR2)
        server.wait_for_log(r"SIGUSR2: upgrading")
        # The second refusal, SIGUSR2's: until it is logged its check may still be running,
        # a child of the master too.
        refusal = "upgrade refused, the old binary serves on: "
        wait_until(lambda: server.log().count(refusal) == 2, "SIGUSR2's upgrade refused")
        self.assertIn(refusal + self.binary + " --check-config exited with status 3: "
                      "this build is broken", server.log().split("SIGUSR2: upgrading")[1])
        self.assertEqual(server.worker_pids(), [worker])
        self.assertTrue(echoes(address))
        self.assertEqual(self.status()["last_upgrade"]["result"], "refused")
        self.assertStops(server)
