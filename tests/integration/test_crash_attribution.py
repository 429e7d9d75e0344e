"""A plugin that crashes its worker costs that plugin's listener, not its
group: the worker notes which listener's hook it died in, the master
replaces it at once, and only that listener waits in the replacement (100 ms,
doubling while the crashes go on). A death that no hook can be blamed for
(a kill, a crash in the host) slows the worker's replacement down instead."""

import os
import signal
import socket
import threading
import time

from test_workers import Workers, echoes
from wharf_harness import cpu_seconds, free_port, test_plugin, wait_until


def datagram_echoes(address, message=b"tick"):
    host, port = address.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(5)
        client.sendto(message, (host, int(port)))
        return client.recvfrom(64)[0] == message


class CrashAttribution(Workers):
    def crash_storm(self, address, message=b"crash"):
        """Crashes the faulty listener at `address` over and over, from a
        thread; the returned function stops it."""
        stop = threading.Event()

        def storm():
            while not stop.is_set():
                try:
                    self.crash(address, message)
                except OSError:
                    pass
                stop.wait(0.02)

        storming = threading.Thread(target=storm)
        storming.start()

        def calm():
            stop.set()
            storming.join()

        self.addCleanup(calm)
        return calm

    def crash(self, address, message=b"crash"):
        super().crash(address) if message == b"crash" else self.send_and_wait(address, message)

    def send_and_wait(self, address, message):
        with socket.create_connection(address.rsplit(":", 1), timeout=30) as session:
            session.sendall(message)
            try:
                session.recv(16)
            except OSError:
                pass

    def paused_workers(self, name):
        """In how many workers listener `name` waits; None while no worker
        answers for it (one is being replaced)."""
        for listener in self.status()["listeners"]:
            if listener["name"] == name:
                return listener["paused_workers"]
        return None

    def test_a_crash_loop_pauses_its_listener_while_the_others_serve(self):
        faulty, stream, datagram = (f"127.0.0.1:{free_port()}" for _ in range(3))
        server = self.start({
            "faulty": {"transport": "tcp", "listen": faulty, "mode": "thread",
                       "plugin": test_plugin("faulty")},
            "e": {"transport": "tcp", "listen": stream, "mode": "reactor", "plugin": "echo"},
            "u": {"transport": "udp", "listen": datagram, "mode": "reactor", "plugin": "echo"}})
        master_cpu, started = cpu_seconds(server.process.pid), time.monotonic()
        calm = self.crash_storm(faulty)
        server.wait_for_log(r"worker \d+ \(main, serving faulty, e, u\) killed by signal 11 "
                            r"\(Segmentation fault\) in \[faulty\] on_session_data; "
                            r"replacing it now\n")
        for pause in (100, 200, 400, 800, 1600):
            server.wait_for_log(rf"in \[faulty\] on_session_data; replacing it now, with "
                                rf"\[faulty\] paused for {pause} ms \(crash loop\)")

        def others_serve_while_it_waits():
            if self.paused_workers("faulty") != 1:
                return False
            served = echoes(stream) and datagram_echoes(datagram)
            return served and self.paused_workers("faulty") == 1

        wait_until(others_serve_while_it_waits, "e and u serve while faulty waits")
        self.assertIn("faulty (paused)", self.ctl("status").stdout)
        calm()
        # The worker was never held back: only its listener was.
        self.assertNotIn("crash loop: replacing it in", server.log())
        self.assertLess(cpu_seconds(server.process.pid) - master_cpu,
                        0.5 * (time.monotonic() - started))
        wait_until(lambda: self.paused_workers("faulty") == 0, "faulty accepts again")
        server.wait_for_log(r"\[listener\.faulty\] accepting again after its pause")
        self.assertTrue(echoes(faulty))
        self.assertStops(server)

    def test_the_hook_a_worker_died_in_is_named_in_every_mode(self):
        for mode, message, death in (("reactor", b"crash", r"killed by signal 11"),
                                     ("thread", b"deep", r"killed by signal 11"),
                                     ("pool", b"exit", r"exited with status 3"),
                                     ("sync", b"crash", r"killed by signal 11")):
            with self.subTest(mode=mode, message=message):
                faulty = f"127.0.0.1:{free_port()}"
                server = self.start({"faulty": {"transport": "tcp", "listen": faulty,
                                                "mode": mode, "plugin": test_plugin("faulty")}})
                worker, = self.workers_of("main")
                self.crash(faulty, message)
                server.wait_for_log(rf"worker {worker} \(main, serving faulty\) {death}.* in "
                                    r"\[faulty\] on_session_data; replacing it now")
                wait_until(lambda: self.workers_of("main"), "a replacement serves")
                self.assertTrue(echoes(faulty))
                self.assertStops(server)

    def test_a_forged_crash_page_does_not_escape_the_workers_backoff(self):
        address = f"127.0.0.1:{free_port()}"
        flag = os.path.join(self.id().rsplit(".", 1)[-1] + ".flag")
        server = self.start({"forger": {"transport": "tcp", "listen": address, "mode": "thread",
                                        "plugin": test_plugin("forger"),
                                        "option.flag": os.path.abspath(flag)}})
        self.addCleanup(lambda: os.path.exists(flag) and os.remove(flag))
        open(flag, "w").close()  # from now on each new worker forges a crash and exits
        self.crash(address, b"die")  # a real crash in a session hook starts it
        # A worker whose listener waited all its life cannot have crashed in
        # its session hook: the slot's own backoff takes over, and doubles.
        server.wait_for_log(r"exited with status 1 in \[forger\] on_session_data \(not believed: "
                            r"it was not accepting\)")
        server.wait_for_log(r"crash loop: replacing it in [1-9]\d* ms")
        os.remove(flag)
        wait_until(lambda: self.workers_of("main"), "a worker serves again")
        wait_until(lambda: echoes(address), "the listener accepts again")
        self.assertStops(server)

    def test_deaths_no_hook_is_blamed_for_slow_the_workers_replacement(self):
        address = f"127.0.0.1:{free_port()}"
        server = self.start({"e": {"transport": "tcp", "listen": address, "mode": "reactor",
                                   "plugin": "echo"}})
        # Each replacement dies young: the delay doubles from 100 ms.
        for delay in (0, 100, 200, 400):
            wait_until(lambda: self.workers_of("main"), "a replacement serves")
            worker, = self.workers_of("main")
            os.kill(worker, signal.SIGKILL)
            server.wait_for_log(rf"worker {worker} \(main, serving e\) killed by signal 9 "
                                r"\(Killed\)" + (r"; replacing it now" if delay == 0 else
                                                 rf" after \d+ ms; crash loop: replacing it in "
                                                 rf"{delay} ms"))
        wait_until(lambda: self.workers_of("main"), "the last replacement serves")
        self.assertTrue(echoes(address))
        self.assertStops(server)
