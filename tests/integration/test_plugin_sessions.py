"""What a plugin sees and what its failures cost: options, listener name and
peer reach the plugin (C++ wrapper fixture); a failing hook or a throwing C++
plugin closes its own session only, and wharfd keeps serving."""

import json
import os

from clients import (DatagramClient, receive_exactly, receive_line, receive_until_closed,
                     stream_connect)
from wharf_harness import Wharfd, WharfTestCase, free_port, test_plugin, wait_until


class PluginSessions(WharfTestCase):
    def test_options_listener_name_and_peer_reach_the_plugin(self):
        port = free_port()
        server = self.wharfd({
            "greet": {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": "thread",
                      "plugin": test_plugin("greeter"), "option.greeting": "ahoy"},
            "greet-udp": {"transport": "udp", "listen": f"127.0.0.1:{port}", "mode": "sync",
                          "plugin": test_plugin("greeter"), "option.greeting": "ahoy"},
        })
        with stream_connect("tcp", f"127.0.0.1:{port}") as connection:
            local = "%s:%d" % connection.getsockname()
            greeting = f"ahoy from greet to {local}\n".encode()
            self.assertEqual(receive_exactly(connection, len(greeting)), greeting)
            connection.sendall(b"and back")
            self.assertEqual(receive_exactly(connection, 8), b"and back")
        with DatagramClient("udp", f"127.0.0.1:{port}") as client:
            self.assertEqual(client.exchange(b"there"), b"ahoy there")
        self.assertStops(server)

    def test_on_session_writable_means_the_same_in_every_mode(self):
        # Called once after each hook that wrote, once that output has gone, also when it went
        # straight out (the reactor used to skip it then, and a streaming plugin stalled).
        modes = ("sync", "thread", "pool", "fork", "reactor")
        ports = {mode: free_port() for mode in modes}
        server = self.wharfd({mode: {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                     "mode": mode, "plugin": test_plugin("pump")}
                              for mode, port in ports.items()})
        expected = b"start\n" + b"".join(b"part %d\n" % i for i in range(1, 6)) + \
            b"end after 6 writable calls\n"
        for mode, port in ports.items():
            with self.subTest(mode=mode), stream_connect("tcp", f"127.0.0.1:{port}") as sock:
                sock.sendall(b"5\n")
                self.assertEqual(receive_until_closed(sock), expected)
        self.assertStops(server)

    def greeter(self, mode):
        """wharfd with the C++ greeter fixture in `mode`: its port, and it."""
        port = free_port()
        return port, self.wharfd({"greet": {"transport": "tcp", "mode": mode,
                                            "listen": f"127.0.0.1:{port}",
                                            "plugin": test_plugin("greeter")}})

    def test_the_cpp_wrapper_s_timers_wakers_and_session_facts(self):
        for mode in ("sync", "thread", "pool", "reactor"):
            with self.subTest(mode=mode):
                port, server = self.greeter(mode)
                with stream_connect("tcp", f"127.0.0.1:{port}") as sock:
                    receive_line(sock)  # the greeting
                    sock.sendall(b"later")
                    # From a session timer, another thread and an instance timer: in any order.
                    self.assertEqual(sorted(receive_line(sock) for _ in range(3)),
                                     [b"chimed\n", b"tock\n", b"woken\n"])
                    sock.sendall(b"where")
                    self.assertEqual(receive_line(sock), b"tcp 127.0.0.1:%d\n" % port)
                    sock.sendall(b"mine")  # a posted task gets the session's own object
                    self.assertEqual(receive_line(sock), b"mine, post 1\n")
                # onClose hears why: the peer closed (WHARF_END_PEER, 1).
                server.wait_for_log(r"greeter session ended, reason 1")
                self.assertStops(server)

    def test_a_cpp_post_dropped_by_a_session_that_ended_says_so(self):
        # A post that was queued but never ran (the session ended first) could be
        # learnt of only from a destructor's side effect; post(task, dropped) says so.
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                port, server = self.greeter(mode)
                with stream_connect("tcp", f"127.0.0.1:{port}") as sock:
                    receive_line(sock)
                    sock.sendall(b"dropme")
                    self.assertEqual(receive_until_closed(sock), b"")  # never run
                with stream_connect("tcp", f"127.0.0.1:{port}") as sock:
                    receive_line(sock)
                    sock.sendall(b"drops")
                    self.assertEqual(receive_line(sock), b"drops 1\n")
                self.assertStops(server)

    def test_the_cpp_wrapper_s_plugin_load_and_unload_hooks(self):
        # A C++ plugin had no hook for the library's load and unload (to start
        # and join threads of its own): static onPluginLoad / onPluginUnload.
        refused = Wharfd(self, {"greet": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                          "plugin": test_plugin("greeter")}},
                         env={"GREETER_REFUSE_LOAD": "1"})
        self.assertEqual(refused.start(expect_ready=False), 2, refused.log())
        self.assertIn("told to refuse the load", refused.log())
        port = free_port()
        server = Wharfd(self, {"greet": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                         "plugin": test_plugin("greeter")}})
        unloads = server.path("unloads")
        server.env = {"GREETER_UNLOAD_FILE": unloads}
        server.start()
        with stream_connect("tcp", f"127.0.0.1:{port}") as sock:
            self.assertEqual(receive_line(sock), b"hello from greet to 127.0.0.1:%d\n"
                             % sock.getsockname()[1])
        self.assertFalse(os.path.exists(unloads))
        self.assertStops(server)
        with open(unloads) as lines:  # the worker's library, as it stopped
            self.assertEqual(lines.read(), "greeter unloaded\n")

    def test_a_cpp_write_to_a_closed_session_is_not_a_plugin_error(self):
        # wharf::Session::write threw on a hang-up: a peer that left was logged
        # as a plugin error and counted in hook_errors. It returns false now.
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                port = free_port()
                server = Wharfd(self, {"greet": {"transport": "tcp", "mode": mode,
                                                 "listen": f"127.0.0.1:{port}",
                                                 "plugin": test_plugin("greeter")}},
                                host={"admin": "admin.sock"})
                server.start()
                with stream_connect("tcp", f"127.0.0.1:{port}") as sock:
                    receive_line(sock)  # the greeting
                    sock.sendall(b"hangup")
                    self.assertEqual(receive_until_closed(sock), b"")


                def sessions():
                    reply = server.ctl("status", "--json")
                    return json.loads(reply.stdout)["listeners"][0]["sessions"]

                wait_until(lambda: sessions()["active"] == 0, "the session's end")
                self.assertEqual(sessions()["hook_errors"], 0)
                self.assertNotIn("plugin error", server.log())
                self.assertStops(server)

    def test_a_throwing_cpp_plugin_closes_only_that_session(self):
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                self.check_throwing_plugin(mode)

    def check_throwing_plugin(self, mode):
        port = free_port()
        server = self.wharfd({"greet": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                        "mode": mode, "plugin": test_plugin("greeter")}})
        bystander = stream_connect("tcp", f"127.0.0.1:{port}")
        receive_exactly(bystander, len(b"hello from greet to ") + 1)
        with stream_connect("tcp", f"127.0.0.1:{port}") as victim:
            victim.sendall(b"throw now")
            self.assertNotIn(b"throw now", receive_until_closed(victim))
        bystander.recv(4096)  # the rest of its greeting
        probe = os.urandom(64)
        bystander.sendall(probe)
        self.assertEqual(receive_exactly(bystander, 64), probe)
        bystander.close()
        server.wait_for_log("plugin error: asked to throw")
        self.assertStops(server)

    def test_a_failing_hook_closes_only_that_session(self):
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                self.check_failing_hook(mode)

    def check_failing_hook(self, mode):
        port = free_port()
        server = self.wharfd({
            "faulty": {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": mode,
                       "plugin": test_plugin("faulty")},
            "faulty-udp": {"transport": "udp", "listen": f"127.0.0.1:{port}", "mode": mode,
                           "plugin": test_plugin("faulty")},
        })
        bystander = stream_connect("tcp", f"127.0.0.1:{port}")
        with stream_connect("tcp", f"127.0.0.1:{port}") as victim:
            victim.sendall(b"fail please")
            self.assertEqual(receive_until_closed(victim), b"")
        bystander.sendall(b"still here")
        self.assertEqual(receive_exactly(bystander, 10), b"still here")
        bystander.close()
        with DatagramClient("udp", f"127.0.0.1:{port}") as client:
            client.sock.sendto(b"fail this datagram", client.target)
            self.assertEqual(client.exchange(b"but not this"), b"but not this")
        server.wait_for_log(r"listener\.faulty: peer 127\.0\.0\.1:\d+: on_session_data failed")
        server.wait_for_log(r"listener\.faulty-udp: peer 127\.0\.0\.1:\d+: on_datagram failed")
        self.assertStops(server)
