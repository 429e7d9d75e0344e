"""mode = fork: a process per session from a single-threaded helper. A child
that crashes is reaped and logged while other sessions go on; max_children
refuses the excess; no zombie is left; shutdown cuts children; heavy load
with debug logging neither deadlocks nor loses a session."""

import collections
import os
import signal
import time

from clients import receive_exactly, receive_until_closed, run_at_once, stream_connect
from wharf_harness import (Wharfd, WharfTestCase, children_of, descriptors, free_port,
                           test_plugin, wait_until)


def helper_pid(server):
    return int(server.log().split("fork helper process ")[1].split()[0])


def descriptor_kinds(pid):
    """How many of each kind `pid` holds past the standard streams; the
    plugin copies it runs (memfds) are left out, not the worker's crash page."""
    kinds = collections.Counter()
    for fd, target in descriptors(pid).items():
        if fd > 2 and not (target.startswith("/memfd:wharf-") and "crash-page" not in target):
            kinds[target.split(":[")[0] if target.startswith("socket:") else target] += 1
    return dict(kinds)


def session_socket_port(pid):
    """The peer port of the TCP socket `pid` holds (its only socket)."""
    inode = next(target[len("socket:["):-1] for target in descriptors(pid).values()
                 if target.startswith("socket:"))
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[9] == inode:
                return int(fields[2].split(":")[1], 16)
    return None


class ForkMode(WharfTestCase):
    def start(self, plugin="echo", log_level="information", **keys):
        self.port = free_port()
        listener = {"transport": "tcp", "listen": f"127.0.0.1:{self.port}", "mode": "fork",
                    "plugin": plugin}
        listener.update(keys)
        # Under ASan, let a crash be a crash (ASan would catch SIGSEGV and exit 1).
        sanitizer = {"ASAN_OPTIONS": "handle_segv=0:" + os.environ.get("ASAN_OPTIONS", "")}
        self.server = Wharfd(self, {"f": listener}, host={"log_level": log_level},
                             env=sanitizer).start()
        return self.server

    def session(self):
        client = stream_connect("tcp", f"127.0.0.1:{self.port}")
        client.sendall(b"hello")
        self.assertEqual(receive_exactly(client, 5), b"hello")
        return client

    def test_a_crashing_child_is_reaped_and_logged_others_go_on(self):
        server = self.start(plugin=test_plugin("faulty"))
        bystander = self.session()
        with stream_connect("tcp", f"127.0.0.1:{self.port}") as victim:
            victim.sendall(b"crash now")
            self.assertEqual(receive_until_closed(victim), b"")
        server.wait_for_log(r"session process \d+ \(peer 127\.0\.0\.1:\d+\) killed by signal 11 "
                            r"\(Segmentation fault\)")
        bystander.sendall(b"still here")
        self.assertEqual(receive_exactly(bystander, 10), b"still here")
        bystander.close()
        self.session().close()  # and new sessions are served
        self.assertStops(server)

    def test_sessions_past_max_children_are_refused(self):
        server = self.start(max_children="2", wait_for_data="0")  # silent peers take processes
        held = [self.session(), self.session()]
        with stream_connect("tcp", f"127.0.0.1:{self.port}") as refused:
            self.assertEqual(receive_until_closed(refused), b"")
        server.wait_for_log(r"refused 127\.0\.0\.1:\d+ \(max_children\)")
        for client in held:
            client.close()
        self.assertStops(server)

    def test_no_zombies_after_sessions_end(self):
        server = self.start()
        helper = helper_pid(server)
        clients = [self.session() for _ in range(10)]
        self.assertEqual(len(children_of(helper)), 10)
        for client in clients:
            client.close()
        for _ in range(500):
            if not children_of(helper):
                break
            time.sleep(0.01)
        self.assertEqual(children_of(helper), [])
        self.assertStops(server)
        self.assertFalse(os.path.exists(f"/proc/{helper}"))

    def test_sigquit_ends_the_children(self):
        server = self.start()
        clients = [self.session() for _ in range(3)]
        server.signal(signal.SIGQUIT)
        for client in clients:
            self.assertEqual(receive_until_closed(client), b"")
            client.close()
        self.assertEqual(server.wait(), 0, server.log())
        self.assertIn("Quit: closing 3 remaining sessions", server.log())

    def test_heavy_load_with_debug_logging(self):
        # Forking from a multi-threaded wharfd could deadlock on a lock held
        # by another thread (the logger's, malloc's); the helper never is.
        server = self.start(log_level="debug", max_children="200")
        failures = []

        def client(number):
            try:
                for round_trip in range(3):
                    with stream_connect("tcp", f"127.0.0.1:{self.port}") as connection:
                        payload = f"{number}.{round_trip}".encode() + os.urandom(32)
                        connection.sendall(payload)
                        if receive_exactly(connection, len(payload)) != payload:
                            failures.append(number)
            except OSError as error:
                failures.append((number, error))

        run_at_once(client, 60)
        self.assertEqual(failures, [])
        self.assertStops(server)

    def test_a_session_process_holds_none_of_the_workers_own_descriptors(self):
        # Listeners on both sides of the fork listener in the config, and a
        # second fork listener: the helper is forked while the worker holds the
        # master's channel, listening sockets passed or taken, dispatchers'
        # epoll sets and eventfds, and the other helper's channel.
        port = free_port()
        listeners = {
            "before": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}"},
            "loop": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                     "mode": "reactor"},
            "other": {"transport": "udp", "listen": f"127.0.0.1:{free_port()}", "mode": "fork"},
            "f": {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": "fork"},
            "after": {"transport": "unix", "listen": "after.sock"},
        }
        for keys in listeners.values():
            keys["plugin"] = "echo"
        server = Wharfd(self, listeners).start()
        with stream_connect("tcp", f"127.0.0.1:{port}") as client:
            client.sendall(b"hello")
            self.assertEqual(receive_exactly(client, 5), b"hello")
            worker = server.worker_pid()
            helper = next(pid for pid in children_of(worker) if children_of(pid))
            session = children_of(helper)[0]
            self.assertEqual(descriptor_kinds(session), {"socket": 1}, descriptors(session))
            self.assertEqual(session_socket_port(session), client.getsockname()[1])
            self.assertEqual(descriptor_kinds(helper), {"socket": 1, "anon_inode:[signalfd]": 1},
                             descriptors(helper))
            self.assertGreater(descriptor_kinds(worker)["socket"], 6, descriptors(worker))
            # The worker maps its crash page and closes the descriptor before it
            # forks; the mapping stays out of the processes it forks.
            self.assertNotIn("crash-page", " ".join(descriptors(worker).values()))
            for pid in (helper, session):
                with open(f"/proc/{pid}/maps") as maps:
                    self.assertNotIn("wharf-crash-page", maps.read())
            with open(f"/proc/{worker}/maps") as maps:
                self.assertIn("wharf-crash-page", maps.read())
        self.assertStops(server)

    def test_a_thread_another_plugin_runs_holds_no_lock_a_session_process_needs(self):
        # busy_thread's instance runs a thread that converts times in a loop,
        # holding glibc's time-zone lock most of the time. A helper forked
        # after it started would inherit that lock held at random, and every
        # child it forks would hang for good on the access-log line's
        # timestamp (gmtime_r takes the same lock). The helpers are forked
        # before any plugin is loaded: every fork listener logs its session.
        ports = [free_port() for _ in range(4)]
        listeners = {"busy": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                              "mode": "thread", "plugin": test_plugin("busy_thread")}}
        for number, port in enumerate(ports):
            listeners[f"f{number}"] = {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                       "mode": "fork", "plugin": "echo"}
        server = Wharfd(self, listeners)
        access = server.path("access.log")
        server.host["access_log"] = access
        server.write_config()
        server.start()
        for port in ports:
            with stream_connect("tcp", f"127.0.0.1:{port}") as client:
                client.sendall(b"hello")
                self.assertEqual(receive_exactly(client, 5), b"hello")

        def logged():
            with open(access) as lines:
                return {field for line in lines for field in line.split()
                        if field.startswith("listener=")}

        wait_until(lambda: len(logged()) == len(ports), "every fork listener logs its session")
        self.assertEqual(logged(), {f"listener=f{number}" for number in range(len(ports))})
        self.assertStops(server)

    def test_a_plugin_that_is_not_fork_safe_is_refused(self):
        server = Wharfd(self, {"f": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                     "mode": "fork", "plugin": test_plugin("not_concurrent")}})
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertIn("the mode serves sessions in forked processes and the plugin does not "
                      "declare WHARF_CAP_FORK_SAFE", server.log())
