"""Supervision that never waits on plugin code: every worker answers a
heartbeat from the master each second, once none of its event loops has
been stuck in one batch of events for half of worker_timeout. A worker that
is stopped, whose reactor hook never returns, or whose plugin closed the
channel to the master, is killed and replaced; the log names why. Before,
each of these left a dead listener that status called serving."""

import grp
import json
import os
import re
import signal
import socket
import subprocess
import time

from clients import receive_exactly, stream_connect
from wharf_harness import (Wharfd, WharfTestCase, descriptors, free_port, test_plugin,
                            wait_until)


class Heartbeats(WharfTestCase):
    def start(self, mode="reactor", plugin="stall"):
        self.port = free_port()
        self.server = Wharfd(self, {"s": {"transport": "tcp", "listen": f"127.0.0.1:{self.port}",
                                          "mode": mode, "plugin": test_plugin(plugin),
                                          "option.stall_ms": "600000"}},
                             {"admin": "admin.sock", "worker_timeout": "3s"})
        self.server.start()
        return self.server.worker_pid()

    def assertReplacedAndServing(self, old):
        self.server.wait_for_log(r"serving in place of the one that died")
        self.assertNotEqual(self.server.worker_pid(), old)
        with stream_connect("tcp", f"127.0.0.1:{self.port}") as session:
            session.sendall(b"hello")
            self.assertEqual(receive_exactly(session, 5), b"hello")
        self.assertEqual(self.server.ctl("status").returncode, 0)
        self.assertStops(self.server)

    def test_a_stopped_worker_is_replaced(self):
        stopped = self.start()
        os.kill(stopped, signal.SIGSTOP)
        self.server.wait_for_log(rf"worker {stopped} \(main\) has not answered for \d+ ms "
                                 r"\(worker_timeout\); killing it")
        self.assertReplacedAndServing(stopped)

    def test_a_hook_that_never_returns_is_named_and_its_worker_replaced(self):
        """A reactor loop, and mode = sync's loop, which serves each session
        itself (before, a sync hook that never returned stopped the listener
        for good: there was no event loop to watch)."""
        for mode in ("reactor", "sync"):
            with self.subTest(mode=mode):
                stuck = self.start(mode)
                hung = stream_connect("tcp", f"127.0.0.1:{self.port}")
                self.addCleanup(hung.close)
                hung.sendall(b"stall")
                self.server.wait_for_log(rf"worker {stuck} \(main\) has not answered for \d+ ms "
                                         rf"\(worker_timeout\): \[listener\.s\] {mode} loop busy "
                                         r"for \d+ ms; killing it")
                self.assertReplacedAndServing(stuck)

    def test_a_sync_session_that_waits_for_its_peer_is_not_stuck(self):
        """Between hooks a sync session waits for its peer, and a blocking
        plugin's serve() waits for it inside its one hook: neither is a hook
        that never returns, however long the peer is silent."""
        for plugin in ("stall", "blocking_echo"):  # event hooks; one serve() hook
            with self.subTest(plugin=plugin):
                worker = self.start(mode="sync", plugin=plugin)
                with stream_connect("tcp", f"127.0.0.1:{self.port}") as idle:
                    idle.sendall(b"hello")
                    self.assertEqual(receive_exactly(idle, 5), b"hello")
                    # Past worker_timeout (3 s) with the session open on the loop: the
                    # worker answers its heartbeats meanwhile, and is not taken for stuck.
                    time.sleep(5)
                    idle.sendall(b"again")
                    self.assertEqual(receive_exactly(idle, 5), b"again")
                self.assertNotIn("has not answered", self.server.log())
                self.assertEqual(self.server.worker_pid(), worker)
                self.assertStops(self.server)

    def ask(self, line):
        with stream_connect("tcp", f"127.0.0.1:{self.port}") as session:
            session.sendall(line)
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = session.recv(64)
                self.assertTrue(chunk, answer)
                answer += chunk
            return answer

    def test_garbage_on_the_masters_channel_costs_the_worker_not_the_master(self):
        """{"busy": [null]} made the master throw out of its main loop: the
        whole service ended with it."""
        garbling = self.start(mode="thread")
        self.assertEqual(self.ask(b"garble"), b"garbled\n")
        self.server.wait_for_log(rf"worker {garbling} \(main\) closed or garbled its channel to "
                                 r"the master; killing it")
        self.assertIsNone(self.server.process.poll())
        self.assertReplacedAndServing(garbling)

    def test_descriptors_sent_to_the_master_are_not_kept(self):
        """Each message with two descriptors left one open in the master."""
        self.start(mode="thread")
        before = len(descriptors(self.server.process.pid))
        self.assertEqual(self.ask(b"fdflood"), b"flooded\n")
        self.assertEqual(self.ask(b"hello\n"), b"hello\n")
        self.assertEqual(self.server.ctl("status").returncode, 0)  # the master read them all
        self.assertLess(len(descriptors(self.server.process.pid)), before + 10)
        self.assertStops(self.server)

    def test_a_plugin_that_closes_the_masters_channel_gets_its_worker_replaced(self):
        broken = self.start(mode="thread")
        with stream_connect("tcp", f"127.0.0.1:{self.port}") as session:
            session.sendall(b"closefds")
            try:
                session.recv(16)
            except OSError:
                pass
        self.server.wait_for_log(rf"worker {broken} \(main\) closed or garbled its channel to "
                                 r"the master; killing it")
        self.assertReplacedAndServing(broken)


class Containment(WharfTestCase):
    def test_processes_a_plugin_starts_end_with_its_worker(self):
        """They outlived wharfd's stop; a worker's process group goes with it now."""
        port = free_port()
        server = Wharfd(self, {"s": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                     "mode": "thread", "plugin": test_plugin("stall")}},
                        {"workers": "2"})
        server.start()
        spawned = []
        for _ in range(4):
            with stream_connect("tcp", f"127.0.0.1:{port}") as session:
                session.sendall(b"spawn")
                answer = b""
                while not answer.endswith(b"\n"):
                    chunk = session.recv(64)
                    self.assertTrue(chunk, answer)
                    answer += chunk
                spawned.append(int(answer))
        for pid in spawned:
            self.addCleanup(lambda pid=pid: alive(pid) and os.kill(pid, signal.SIGKILL))
            self.assertTrue(alive(pid))
        # A worker that dies takes what its plugin started; the others' stay.
        victim = server.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        server.wait_for_log(r"serving in place of the one that died")
        self.assertStops(server)
        for pid in spawned:
            self.assertFalse(alive(pid), f"process {pid} outlived wharfd")


class DelegatedCgroups(WharfTestCase):
    """Where the service manager delegates wharfd's cgroup (systemd's
    Delegate=yes), each worker gets one of its own: a process a plugin sends
    out of its worker's process group (setsid) outlived the worker and
    wharfd, and memory_limit never saw it."""

    def start(self, host=None):
        self.cgroup = delegated_cgroup(self)
        self.port = free_port()
        self.server = Wharfd(self, {"s": {"transport": "tcp", "listen": f"127.0.0.1:{self.port}",
                                          "mode": "thread", "plugin": test_plugin("stall")}},
                             dict({"admin": "admin.sock", "workers": "2"}, **(host or {})))
        # Started in the cgroup, as systemd starts a unit's main process.
        self.server.launcher = ["sh", "-c", f'echo $$ > {self.cgroup}/cgroup.procs && exec "$@"',
                                "in-cgroup"]
        self.server.start()

    def escape(self, mebibytes=0):
        """The pid of a process the plugin started and sent out of its worker's group."""
        with stream_connect("tcp", f"127.0.0.1:{self.port}") as session:
            session.sendall(b"escape %d\n" % mebibytes)
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = session.recv(64)
                if not chunk:
                    return None
                answer += chunk
        pid = int(answer)
        if pid <= 0:  # it died before it was ready
            return None
        self.addCleanup(lambda: alive(pid) and os.kill(pid, signal.SIGKILL))
        return pid

    def test_each_worker_has_its_own_and_what_its_plugin_sent_away_ends_with_it(self):
        self.start()
        self.assertEqual(cgroup_of(self.server.process.pid), os.path.join(self.cgroup, "master"))
        workers = self.server.worker_pids()
        for worker in workers:
            self.assertEqual(cgroup_of(worker), os.path.join(self.cgroup, f"worker-{worker}"))
        holders = {}  # escaped pid: the worker whose cgroup holds it
        while set(holders.values()) != set(workers):  # one in each worker
            self.assertLess(len(holders), 50, "every connection went to one worker")
            pid = self.escape()
            self.assertIsNotNone(pid)
            holders[pid] = int(os.path.basename(cgroup_of(pid)).split("-")[1])
        escaped = list(holders)
        for pid in escaped:
            self.assertTrue(alive(pid))
            self.assertNotIn(os.getpgid(pid), workers)  # out of its worker's process group
        victim = holders[escaped[0]]
        os.kill(victim, signal.SIGKILL)
        self.server.wait_for_log(r"serving in place of the one that died")
        for pid, worker in holders.items():
            if worker == victim:
                wait_until(lambda pid=pid: not alive(pid), f"{pid} has ended with its worker")
            else:
                self.assertTrue(alive(pid), f"{pid} died with another worker")
        wait_until(lambda: not os.path.exists(os.path.join(self.cgroup, f"worker-{victim}")),
                   "the dead worker's cgroup is removed")
        escaped.append(self.escape())  # the new worker's too
        self.assertIsNotNone(escaped[-1])
        self.assertStops(self.server)
        for pid in escaped:
            wait_until(lambda pid=pid: not alive(pid), f"{pid} has ended with wharfd")
        self.assertEqual(sorted(name for name in os.listdir(self.cgroup)
                                if os.path.isdir(os.path.join(self.cgroup, name))), ["master"])

    def test_an_upgrade_and_its_rehearsal_keep_to_them(self):
        self.start()
        old_workers = self.server.worker_pids()
        escaped = self.escape()
        self.assertIsNotNone(escaped)
        result = self.server.ctl("upgrade")
        self.assertEqual(result.returncode, 0, result.stderr + self.server.log())
        self.assertIn("rehearsing it", self.server.log())
        self.assertEqual(cgroup_of(self.server.process.pid), os.path.join(self.cgroup, "master"))
        # The handed-over workers drain and go, and what their plugin started with them;
        # the rehearsal's left nothing.
        wait_until(lambda: not set(self.server.worker_pids()) & set(old_workers),
                   "the handed-over workers have drained")
        workers = self.server.worker_pids()
        self.assertEqual(len(workers), 2)
        for worker in workers:
            self.assertEqual(cgroup_of(worker), os.path.join(self.cgroup, f"worker-{worker}"))
        expected = sorted(["master"] + [f"worker-{pid}" for pid in workers])
        wait_until(lambda: sorted(name for name in os.listdir(self.cgroup)
                                        if os.path.isdir(os.path.join(self.cgroup, name)))
                   == expected, f"the cgroups left are {expected}")
        wait_until(lambda: not alive(escaped), f"{escaped} has ended with its worker")
        self.assertStops(self.server)

    def test_memory_limit_holds_each_process_of_a_workers_cgroup(self):
        self.start({"memory_limit": "off"})
        # 128 MiB past what a worker holds now (a sanitizer's shadow memory included).
        limit = (max(resident(pid) for pid in self.server.worker_pids()) >> 20) + 128
        self.server.host["memory_limit"] = str(limit << 20)
        self.server.write_config()
        self.assertEqual(self.server.ctl("reload").returncode, 0)
        workers = self.server.worker_pids()
        self.escape(256)  # it may be killed before it answers
        pattern = (rf"worker (\d+) \(main\): process (\d+) of its cgroup holds \d+ MiB, past "
                   rf"memory_limit \({limit} MiB\); killed it")
        self.server.wait_for_log(pattern)
        holder, hoarder = map(int, re.search(pattern, self.server.log()).groups())
        self.assertIn(holder, workers)
        wait_until(lambda: not alive(hoarder), f"{hoarder} has been killed")
        # It alone: its worker serves on.
        self.assertEqual(self.server.worker_pids(), workers)
        self.assertNotIn("serving in place of the one that died", self.server.log())
        with stream_connect("tcp", f"127.0.0.1:{self.port}") as session:
            session.sendall(b"hello")
            self.assertEqual(receive_exactly(session, 5), b"hello")
        self.assertStops(self.server)


def delegated_cgroup(testcase):
    """A cgroup v2 folder marked delegated (as systemd marks a Delegate=yes
    unit's), removed with what it holds on cleanup."""
    mount = cgroup2_mount()
    if mount is None or os.geteuid() != 0:
        testcase.skipTest("no cgroup v2 folder can be made here (needs root and cgroup2)")
    folder = os.path.join(mount, f"wharf-test-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.mkdir(folder)
    except OSError as error:  # read-only, or another namespace's
        testcase.skipTest(f"no cgroup v2 folder can be made here: {error}")
    testcase.addCleanup(remove_cgroup_tree, folder)
    try:
        # What systemd 251 and later set (trusted.delegate too, which a master
        # without CAP_SYS_ADMIN cannot read).
        os.setxattr(folder, "user.delegate", b"1")
    except OSError as error:  # a kernel before 5.7
        testcase.skipTest(f"cgroup v2 here takes no user.* attribute: {error}")
    probe = subprocess.run(["sh", "-c", f"echo $$ > {folder}/cgroup.procs"], capture_output=True,
                           text=True)
    if probe.returncode != 0:  # a container's cgroup with controllers on, say
        testcase.skipTest(f"no process can be moved into a new cgroup here: {probe.stderr}")
    return folder


def remove_cgroup_tree(folder):
    for below, folders, _ in os.walk(folder, topdown=False):
        for name in folders:
            kill_and_remove(os.path.join(below, name))
    kill_and_remove(folder)


def kill_and_remove(folder):
    with open(os.path.join(folder, "cgroup.kill"), "w") as kill:
        kill.write("1")
    deadline = time.monotonic() + 10
    while True:
        try:
            os.rmdir(folder)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def cgroup2_mount():
    """Where cgroup v2 is mounted (/sys/fs/cgroup/unified on a hybrid host); None without it."""
    with open("/proc/self/mountinfo") as mounts:
        for line in mounts:
            fields, _, kind = line.partition(" - ")
            if kind.startswith("cgroup2 "):
                return fields.split()[4]
    return None


def cgroup_of(pid):
    """The folder of `pid`'s cgroup v2, below the mount (as delegated_cgroup names it)."""
    with open(f"/proc/{pid}/cgroup") as cgroups:
        for line in cgroups:
            if line.startswith("0::"):
                return os.path.normpath(cgroup2_mount() + line[3:].strip())
    return None


def alive(pid):
    """Whether `pid` runs (a zombie waiting for its reaper does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # reaped, even between open and read
        return False


def resident(pid):
    """What process `pid` holds of its own: anonymous resident plus swapped out, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        return sum(int(line.split()[1]) * 1024 for line in status
                   if line.startswith(("RssAnon:", "VmSwap:")))


class MemoryLimit(WharfTestCase):
    def test_a_worker_past_memory_limit_is_named_killed_and_replaced(self):
        """A plugin could allocate without bound (3 GB seen), with no limit and
        no log line, until the kernel's OOM killer chose some process."""
        hog, echo = free_port(), free_port()
        server = Wharfd(self, {"hog": {"transport": "tcp", "listen": f"127.0.0.1:{hog}",
                                       "mode": "reactor", "plugin": test_plugin("hog")},
                               "e": {"transport": "tcp", "listen": f"127.0.0.1:{echo}",
                                     "mode": "reactor", "plugin": "echo", "isolate": "true"}},
                        {"admin": "admin.sock", "memory_limit": "off"})
        server.start()
        pids = {w["group"]: w["pid"] for w in json.loads(server.ctl("status", "--json").stdout)
                ["workers"]}
        # 256 MiB past what the worker holds now (a sanitizer's shadow memory included),
        # applied by a reload.
        limit = (resident(pids["main"]) >> 20) + 256
        server.host["memory_limit"] = str(limit << 20)
        server.write_config()
        self.assertEqual(server.ctl("reload").returncode, 0)
        with stream_connect("tcp", f"127.0.0.1:{hog}") as session:
            for _ in range(10):  # 320 MiB, then it holds them (unless it is killed sooner)
                try:
                    session.sendall(b"grow 32\n")
                    if not session.recv(64).startswith(b"held "):
                        break
                except ConnectionResetError:
                    break
            server.wait_for_log(rf"worker {pids['main']} \(main\) holds \d+ MiB, past "
                                rf"memory_limit \({limit} MiB\); killing it, a new worker "
                                r"replaces it")
        server.wait_for_log(r"serving in place of the one that died")
        with stream_connect("tcp", f"127.0.0.1:{hog}") as session:
            session.sendall(b"grow 1\n")
            self.assertEqual(session.recv(64), b"held 1\n")  # a fresh worker
        with stream_connect("tcp", f"127.0.0.1:{echo}") as session:  # another group: untouched
            session.sendall(b"hello")
            self.assertEqual(receive_exactly(session, 5), b"hello")
        self.assertIn(pids["e"], server.worker_pids())
        self.assertStops(server)

    def test_a_proc_the_master_cannot_read_is_said_not_silently_ignored(self):
        """With /proc mounted hidepid=2 and a gid= group the master is not in,
        a master that kept no CAP_SYS_PTRACE (workers run as another user)
        reads no worker's memory: memory_limit held nothing, and nothing said so."""
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": "echo"}}, {"user": "nobody"})
        server.launcher = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                           f'mount -t proc -o hidepid=2,gid={grp.getgrnam("nogroup").gr_gid} '
                           'proc /proc && exec "$@"', "hidepid"]
        server.start()
        server.wait_for_log(rf"memory_limit: cannot read /proc/{server.worker_pid()}/status "
                            r"\(is /proc mounted with hidepid\?\); the limit is not enforced")
        self.assertStops(server)

    def test_memory_limit_is_checked_with_the_config(self):
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "plugin": "echo"}}, {"memory_limit": "1000"})
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertRegex(server.log(), r"wharf\.ini:\d+: \[host\] memory_limit: ")
