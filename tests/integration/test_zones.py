"""Shared zones (SDK 1.2), with the kv fixture (a Redis-protocol key-value
store over wharf_kv.h): keys survive reloads while clients write and read,
two workers share one store, a new layout gets a fresh zone, a worker killed
holding the lock leaves it recovered, and misuse is refused by name."""

import concurrent.futures
import glob
import json
import os
import re
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request

from clients import stream_connect
from wharf_harness import Wharfd, WharfTestCase, free_port, test_plugin


class Redis:
    """A client of the kv fixture: RESP commands, replies read whole."""

    def __init__(self, port):
        self.sock = stream_connect("tcp", f"127.0.0.1:{port}")
        self.replies = self.sock.makefile("rb")

    def close(self):
        self.replies.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def command(self, *words):
        parts = [b"*%d\r\n" % len(words)]
        for word in words:
            word = word if isinstance(word, bytes) else str(word).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(word), word))
        self.sock.sendall(b"".join(parts))
        line = self.replies.readline()
        if not line:
            raise ConnectionError("closed")
        if line.startswith(b"$"):
            length = int(line[1:])
            if length < 0:
                return None
            value = self.replies.read(length + 2)[:-2]
            return value
        if line.startswith(b":"):
            return int(line[1:])
        return line.rstrip(b"\r\n")


def kv_listener(port, release=1, **keys):
    return {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": "thread",
            "plugin": test_plugin(f"kv_v{release}"), "option.zone_size": "4194304", **keys}


def zone_space(server):
    """The master's zone space, wharf_PID_RANDOM (from a worker's environment:
    the master sets it after its own start)."""
    for worker in server.worker_pids():
        with open(f"/proc/{worker}/environ", "rb") as environ:
            for entry in environ.read().split(b"\0"):
                if entry.startswith(b"WHARF_ZONE_SPACE="):
                    return entry.split(b"=", 1)[1].decode()
    raise AssertionError("no WHARF_ZONE_SPACE")


def zone_objects(server):
    return sorted(os.path.basename(path)
                  for path in glob.glob(f"/dev/shm/wharf_{server.process.pid}_*"))


class SharedZones(WharfTestCase):
    def serve(self, listeners, **host):
        server = Wharfd(self, listeners, host={"admin": "admin.sock", **host})
        server.start()
        return server

    def reload(self, server):
        server.write_config()
        result = server.ctl("reload")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_fifty_clients_lose_no_key_over_twenty_reloads(self):
        port = free_port()
        # Every generation may keep its sessions (the default, 4, cuts the oldest's).
        server = self.serve({"kv": kv_listener(port)}, max_generations="64")
        committed, lock = [], threading.Lock()
        failures, stop = [], threading.Event()

        def client(number):
            written = 0
            try:
                while not stop.is_set():
                    # A session lives over a few reloads, then a new one (a new generation) follows.
                    with Redis(port) as redis:
                        for _ in range(40):
                            # At most 200 keys a client, then reads alone: the 4 MiB zone
                            # holds them however long the reloads take (ASan, a busy machine).
                            probes = []
                            if written < 200:
                                key = b"c%d-%d" % (number, written)
                                if redis.command("SET", key, key * 3) != b"+OK":
                                    failures.append(f"SET {key} refused")
                                written += 1
                                probes.append(key)
                            with lock:
                                if probes:
                                    committed.append(probes[0])
                                probes.append(random.choice(committed))
                            for probe in probes:
                                if redis.command("GET", probe) != probe * 3:
                                    failures.append(f"client {number}: {probe} lost")
                            time.sleep(0.005)
            except (OSError, ConnectionError) as error:
                failures.append(f"client {number}: {error}")

        clients = [threading.Thread(target=client, args=(n,)) for n in range(50)]
        for thread in clients:
            thread.start()
        try:
            for generation in range(2, 22):  # 20 reloads, the other release every other time
                time.sleep(0.1)
                server.listeners["kv"]["plugin"] = test_plugin(f"kv_v{1 + generation % 2}")
                server.listeners["kv"]["option.generation"] = str(generation)
                self.reload(server)
        finally:
            stop.set()
            for thread in clients:
                thread.join()
        self.assertEqual(failures, [])
        self.assertGreater(len(committed), 1000)  # the clients wrote through the reloads
        with Redis(port) as redis:
            self.assertEqual(redis.command("DBSIZE"), len(committed))
            for key in committed:
                self.assertEqual(redis.command("GET", key), key * 3)
        self.assertIn("zone 'kv' (4194304 bytes, layout 1) kept", server.log())
        self.assertStops(server)
        self.assertEqual(zone_objects(server), [])  # removed as wharfd stopped

    def connections_to_each_worker(self, port, workers):
        """One connection to each of `workers` distinct worker processes."""
        found, deadline = {}, time.monotonic() + 30
        while len(found) < workers:
            self.assertLess(time.monotonic(), deadline, "the workers never all answered")
            redis = Redis(port)
            pid = redis.command("PID")
            if pid in found:
                redis.close()
            else:
                found[pid] = redis
        return found

    def test_the_cpp_wrapper_s_zone_counts_across_workers_and_a_reload(self):
        # greeter counts the sessions it greeted in a zone through wharf::Zone
        # (Lock, allocate, root, at): 2 workers, 4 threads at once, a reload.
        port = free_port()
        greeter = {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": "thread",
                   "plugin": test_plugin("greeter"), "option.zone": "greeted"}
        server = self.serve({"g": greeter}, workers="2")

        def greet(_):
            with stream_connect("tcp", f"127.0.0.1:{port}") as session:
                self.assertIn(b" from g to 127.0.0.1:", session.makefile("rb").readline())

        def count():
            with stream_connect("tcp", f"127.0.0.1:{port}") as session:
                replies = session.makefile("rb")
                replies.readline()  # the greeting: this session counts too
                session.sendall(b"count")
                return int(replies.readline())

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(greet, range(30)))
        self.assertEqual(count(), 31)
        server.listeners["g"]["option.greeting"] = "ahoy"  # a new generation, the same zone
        self.reload(server)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(greet, range(30)))
        self.assertEqual(count(), 62)
        self.assertIn("zone 'greeted' (65536 bytes, layout 1) kept", server.log())
        self.assertStops(server)

    def test_a_key_written_through_one_worker_is_read_through_the_other(self):
        port = free_port()
        server = self.serve({"kv": kv_listener(port)}, workers="2")
        one, other = self.connections_to_each_worker(port, 2).values()
        self.assertEqual(one.command("SET", "shared", "by one"), b"+OK")
        self.assertEqual(other.command("GET", "shared"), b"by one")
        self.assertEqual(other.command("DEL", "shared"), 1)
        self.assertIsNone(one.command("GET", "shared"))
        one.close()
        other.close()
        self.assertStops(server)

    def test_redis_s_own_clients_see_one_store_through_two_workers(self):
        port = free_port()
        server = self.serve({"kv": kv_listener(port, mode="reactor")}, workers="2")
        cli = ["redis-cli", "-p", str(port)]
        benchmark = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", "5000",
                                    "-r", "100000", "-c", "20", "-P", "8", "-q"],
                                   capture_output=True, text=True, timeout=120)
        self.assertEqual(benchmark.returncode, 0, benchmark.stderr)
        self.assertEqual(subprocess.run(cli + ["SET", "greeting", "ahoy"], capture_output=True,
                                        text=True, timeout=30).stdout, "OK\n")
        answers = set()
        for _ in range(12):  # connections land on either worker: every one sees the same store
            output = subprocess.run(cli + ["DBSIZE"], capture_output=True, text=True,
                                    timeout=30).stdout
            answers.add(int(output))
            self.assertEqual(subprocess.run(cli + ["GET", "greeting"], capture_output=True,
                                            text=True, timeout=30).stdout, "ahoy\n")
        self.assertEqual(len(answers), 1, answers)
        self.assertGreater(answers.pop(), 1000)  # random keys of 5,000 SETs, and the greeting
        self.assertStops(server)

    def test_incr_loses_no_increment_across_workers_or_session_processes(self):
        # A get then a set (the old sdk/README snippet) lost increments with two
        # workers; wharf_kv_incr reads and writes under one hold of the lock.
        for mode, workers in (("thread", "2"), ("fork", "1")):
            with self.subTest(mode=mode):
                port = free_port()
                server = self.serve({"kv": kv_listener(port, mode=mode)}, workers=workers)
                benchmark = subprocess.run(  # redis-benchmark's INCR: one key, 20 at once
                    ["redis-benchmark", "-p", str(port), "-t", "incr", "-n", "10000", "-c", "20",
                     "-q"], capture_output=True, text=True, timeout=300)
                self.assertEqual(benchmark.returncode, 0, benchmark.stderr)
                with Redis(port) as redis:
                    self.assertEqual(redis.command("INCRBY", "counter:__rand_int__", 0), 10000)
                    self.assertEqual(redis.command("SET", "text", "abc"), b"+OK")
                    self.assertEqual(redis.command("INCR", "text"),
                                     b"-ERR value is not an integer")
                    self.assertEqual(redis.command("SETNX", "text", "new"), 0)  # it is there
                    self.assertEqual(redis.command("CAS", "text", "xyz", "new"), 0)
                    self.assertEqual(redis.command("CAS", "text", "abc", "new"), 1)
                    self.assertEqual(redis.command("GET", "text"), b"new")
                    self.assertEqual(redis.command("SETNX", "fresh", "first"), 1)
                    self.assertEqual(redis.command("SETNX", "fresh", "second"), 0)
                    self.assertEqual(redis.command("GET", "fresh"), b"first")
                if mode == "thread":
                    pids = self.connections_to_each_worker(port, 2)  # both workers counted
                    self.assertEqual(len(pids), 2)
                    for redis in pids.values():
                        redis.close()
                self.assertStops(server)

    def test_fork_mode_session_processes_share_the_zone(self):
        port = free_port()
        server = self.serve({"kv": kv_listener(port, mode="fork")})
        with Redis(port) as first:
            self.assertEqual(first.command("SET", "forked", "yes"), b"+OK")
            with Redis(port) as second:
                self.assertNotEqual(first.command("PID"), second.command("PID"))
                self.assertEqual(second.command("GET", "forked"), b"yes")
        self.assertStops(server)

    def test_a_new_layout_gets_a_fresh_zone_or_reads_the_old_one_which_goes_with_its_users(self):
        port = free_port()
        server = self.serve({"kv": kv_listener(port)})
        held = Redis(port)
        self.assertEqual(held.command("SET", "k", "layout 1"), b"+OK")
        self.assertEqual(zone_objects(server), [f"{zone_space(server)}.kv.1"])
        # Not to be guessed from the pid: 64 random bits.
        self.assertRegex(zone_space(server), rf"^wharf_{server.process.pid}_[0-9a-f]{{16}}$")
        server.listeners["kv"]["option.layout"] = "2"
        self.reload(server)
        with Redis(port) as fresh:
            self.assertIsNone(fresh.command("GET", "k"))  # a fresh zone, as documented
            self.assertEqual(fresh.command("SET", "k", "layout 2"), b"+OK")
        self.assertEqual(held.command("GET", "k"), b"layout 1")  # the old session: the old zone
        # A third version reads the old layout's zone beside its own, as a migration would.
        server.listeners["kv"].update({"option.layout": "3", "option.migrate_from": "1"})
        self.reload(server)
        with Redis(port) as migrating:
            self.assertEqual(migrating.command("OLDGET", "k"), b"layout 1")
            self.assertIsNone(migrating.command("GET", "k"))
        held.close()
        del server.listeners["kv"]["option.migrate_from"]  # the next version reads its own alone
        server.listeners["kv"]["option.generation"] = "4"
        self.reload(server)
        deadline = time.monotonic() + 30
        while zone_objects(server) != [f"{zone_space(server)}.kv.3"]:
            self.assertLess(time.monotonic(), deadline, zone_objects(server))
            time.sleep(0.05)
        self.assertStops(server)

    def test_a_worker_killed_holding_the_lock_leaves_it_recovered(self):
        port = free_port()
        server = self.serve({"kv": kv_listener(port)}, workers="2")
        with Redis(port) as redis:
            self.assertEqual(redis.command("SET", "before", "kept"), b"+OK")
        holder = Redis(port)
        victim = holder.command("PID")
        self.assertEqual(holder.command("HOLD"), b"+HELD")
        os.kill(victim, signal.SIGKILL)
        holder.close()
        deadline = time.monotonic() + 30
        while True:  # the other worker, or the one started in the victim's place
            try:
                with Redis(port) as redis:
                    if redis.command("PID") != victim:
                        self.assertEqual(redis.command("SET", "after", "written"), b"+OK")
                        self.assertEqual(redis.command("GET", "before"), b"kept")
                        break
            except (OSError, ConnectionError):
                pass
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        server.wait_for_log(r"zone 'kv': a process died holding its lock; recovered")
        self.assertStops(server)

    def test_a_zone_whose_header_was_written_over_is_kept_aside_and_logged(self):
        """Before, the replacement worker silently made it anew, empty."""
        port = free_port()
        server = self.serve({"kv": kv_listener(port)})
        with Redis(port) as redis:
            self.assertEqual(redis.command("SET", "k", "v"), b"+OK")
            victim = redis.command("PID")
        zone = f"/dev/shm/{zone_space(server)}.kv.1"
        with open(zone, "r+b") as scribbled:  # what a plugin could do through its pointer
            scribbled.write(b"\0" * 4096)
        os.kill(victim, signal.SIGKILL)
        server.wait_for_log(r"serving in place of the one that died")
        server.wait_for_log(r"zone 'kv': its header is not a ready zone's \(a plugin wrote over it, "
                            r"or its maker died\): kept aside as " + re.escape(zone + ".corrupt"))
        self.assertTrue(os.path.exists(zone + ".corrupt"))
        self.addCleanup(lambda: os.path.exists(zone + ".corrupt") and os.unlink(zone + ".corrupt"))
        with Redis(port) as redis:
            self.assertEqual(redis.command("GET", "k"), None)  # a new, empty zone
        self.assertStops(server)
        self.assertTrue(os.path.exists(zone + ".corrupt"))  # left for the operator

    def test_misuse_is_refused_by_name_and_changes_nothing(self):
        # Too large: the listener is refused, so nothing starts.
        server = Wharfd(self, {"kv": kv_listener(free_port(), **{"option.zone_size": str(2 << 30)})})
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertIn("zone refused: zone 'kv': 2147483648 bytes; a zone has 64 KiB to 1 GiB",
                      server.log())
        # The same name from two listeners: the second is refused.
        server = Wharfd(self, {"a": kv_listener(free_port()), "b": kv_listener(free_port())})
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertIn("zone refused: zone 'kv' belongs to listener [a]", server.log())
        # Also from another worker group, with another layout: one of the two is refused.
        server = Wharfd(self, {"a": kv_listener(free_port()),
                               "b": kv_listener(free_port(), isolate="true",
                                                **{"option.layout": "2"})})
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertRegex(server.log(), r"zone refused: zone 'kv' belongs to listener \[[ab]\]")
        # Another size while in use: the reload is refused and the store serves on.
        port = free_port()
        server = self.serve({"kv": kv_listener(port)})
        with Redis(port) as redis:
            self.assertEqual(redis.command("SET", "k", "v"), b"+OK")
            server.listeners["kv"]["option.zone_size"] = str(8 << 20)
            server.write_config()
            self.assertNotEqual(server.ctl("reload").returncode, 0)
            # The log is read on a thread of its own: wait for the line (it lagged under load).
            server.wait_for_log(r"zone 'kv' is 4194304 bytes; a declaration of 8388608 cannot "
                                r"have it while it is in use")
            self.assertEqual(redis.command("GET", "k"), b"v")
        with Redis(port) as redis:
            self.assertEqual(redis.command("GET", "k"), b"v")
        self.assertStops(server)

    def test_a_zone_name_made_first_by_someone_else_is_not_used(self):
        port, other = free_port(), free_port()
        server = self.serve({"echo": {"transport": "tcp", "listen": f"127.0.0.1:{other}",
                                      "plugin": "echo"}})
        squatted = f"/dev/shm/{zone_space(server)}.kv.1"  # a name the squatter knew
        descriptor = os.open(squatted, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        os.fchmod(descriptor, 0o666)  # whoever made it lets others read and write it
        os.ftruncate(descriptor, 4194304)
        os.close(descriptor)
        self.addCleanup(lambda: os.path.exists(squatted) and os.unlink(squatted))
        server.listeners["kv"] = kv_listener(port)
        server.write_config()
        self.assertNotEqual(server.ctl("reload").returncode, 0)
        # The log is read on a thread of its own: wait for the line (it lagged under load).
        server.wait_for_log(re.escape(f"zone refused: zone 'kv': {squatted} belongs to uid "
                                      f"{os.geteuid()} or is open to others; not used"))
        self.assertStops(server)

    def test_status_and_metrics_show_each_zone_s_size_and_use(self):
        port, metrics = free_port(), free_port()
        server = self.serve({"kv": kv_listener(port)}, workers="2",
                            metrics=f"127.0.0.1:{metrics}")
        with Redis(port) as redis:
            for number in range(100):
                self.assertEqual(redis.command("SET", f"k{number}", "v" * 100), b"+OK")
        status = json.loads(server.ctl("status", "--json").stdout)
        (listener,) = status["listeners"]
        (zone,) = listener["zones"]
        self.assertEqual((zone["name"], zone["layout"], zone["size"]), ("kv", 1, 4194304))
        # The table (a 64-byte header, 65536 buckets of 8 bytes) and 100 entries of 256 bytes.
        self.assertEqual(zone["used"], 64 + 1024 * 1024 + 100 * 256)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=30) as reply:
            text = reply.read().decode()
        self.assertIn('wharf_zone_used_bytes{listener="kv",zone="kv"} %d'
                      % zone["used"], text)
        self.assertIn('wharf_zone_size_bytes{listener="kv",zone="kv"} 4194304',
                      text)
        if shutil.which("promtool"):
            check = subprocess.run(["promtool", "check", "metrics"], input=text,
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertStops(server)

    def test_a_removed_listener_s_zone_is_released(self):
        port, other = free_port(), free_port()
        server = self.serve({"kv": kv_listener(port),
                             "echo": {"transport": "tcp", "listen": f"127.0.0.1:{other}",
                                      "plugin": "echo"}})
        self.assertEqual(len(zone_objects(server)), 1)
        del server.listeners["kv"]
        self.reload(server)
        deadline = time.monotonic() + 30
        while zone_objects(server):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        with socket.socket() as probe:
            self.assertNotEqual(probe.connect_ex(("127.0.0.1", port)), 0)
        self.assertStops(server)
