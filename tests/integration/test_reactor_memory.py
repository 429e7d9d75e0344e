"""A reactor worker's memory against peers that send and never read: such a
peer's session is closed once it has taken none of its output for
send_timeout, and past [host] output_budget the sessions holding the most
output are cut, biggest first, while the others go on."""

import concurrent.futures
import errno
import json
import os
import signal
import socket
import threading
import time
import uuid

from clients import receive_exactly
from wharf_harness import Wharfd, WharfTestCase, free_port, wait_until


def memory_cgroup(testcase, limit):
    """A cgroup whose memory is limited to `limit` bytes (v2 memory.max, else
    v1 memory.limit_in_bytes), removed on cleanup: its cgroup.procs file.
    Skips the test where none can be made."""
    name = "wharf-test-" + uuid.uuid4().hex[:8]
    for folder, limit_file in ((f"/sys/fs/cgroup/{name}", "memory.max"),
                               (f"/sys/fs/cgroup/memory/{name}", "memory.limit_in_bytes")):
        if not os.path.exists(os.path.join(os.path.dirname(folder), "cgroup.procs")):
            continue  # not a cgroup hierarchy (v1 keeps a plain tmpfs at /sys/fs/cgroup)
        try:
            os.mkdir(folder)
        except OSError:
            continue
        testcase.addCleanup(remove_cgroup, folder)
        try:
            with open(os.path.join(folder, limit_file), "w") as out:
                out.write(str(limit))
            return os.path.join(folder, "cgroup.procs")
        except OSError:
            continue  # v2 without the memory controller in the parent's subtree_control
    testcase.skipTest("no memory cgroup can be made here (needs root and cgroups)")


def remove_cgroup(folder):
    """Removes a test's cgroup once it is empty. Its processes have been
    stopped, but the kernel lets a cgroup go only after it has released their
    exit, a moment later: until then rmdir is EBUSY."""
    def removed():
        try:
            os.rmdir(folder)
            return True
        except OSError as error:
            if error.errno != errno.EBUSY:
                raise
            with open(os.path.join(folder, "cgroup.procs")) as procs:
                for pid in procs.read().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)  # left by a test that failed
                    except ProcessLookupError:
                        pass
            return False
    wait_until(removed, f"{folder} could be removed")


def flood_without_reading(port, limit=64 << 20):
    """A client that sends echo input and reads none of the answers, until
    wharfd stops reading it (or closes it); the client, and bytes sent."""
    client = socket.create_connection(("127.0.0.1", port), timeout=20)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.settimeout(2)
    sent = 0
    try:
        while sent < limit:
            sent += client.send(b"x" * 65536)
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    return client, sent


def read_slowly(reader, total):
    """`total` bytes, 1 MiB each 0.2 s (so output waits in wharfd all along);
    fails if the session ends first."""
    received = 0
    while received < total:
        chunk = receive_exactly(reader, min(1 << 20, total - received))
        if not chunk:
            raise AssertionError(f"closed after {received} of {total} bytes")
        received += len(chunk)
        time.sleep(0.2)


def closed(client):
    client.settimeout(20)
    try:
        while client.recv(1 << 20):
            pass  # what the kernel still held for it
        return True
    except ConnectionResetError:
        return True


class ReactorMemory(WharfTestCase):
    def start(self, host=None, **keys):
        self.port = free_port()
        listener = {"transport": "tcp", "listen": f"127.0.0.1:{self.port}", "plugin": "echo",
                    "mode": "reactor", **keys}
        self.server = self.wharfd({"e": listener}, host={"admin": "admin.sock", **(host or {})})

    def ended(self):
        reply = self.server.ctl("status", "--json")
        self.assertEqual(reply.returncode, 0, reply.stderr)
        return json.loads(reply.stdout)["listeners"][0]["sessions"]["ended"]

    def assert_serves(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=20) as other:
            other.sendall(b"still served")
            self.assertEqual(receive_exactly(other, 12), b"still served")

    def test_a_peer_that_reads_none_of_its_output_is_closed_after_send_timeout(self):
        self.start(send_timeout="1s")  # and no idle_timeout: the reactor's default
        client, sent = flood_without_reading(self.port)
        self.assertLess(sent, 64 << 20)  # wharfd stopped reading it
        self.server.wait_for_log(r"peer 127\.0\.0\.1:\d+: send_timeout: the peer read none of "
                                 r"its output; closing")
        self.assertTrue(closed(client))
        client.close()
        self.assertEqual(self.ended()["send_timeout"], 1)
        self.assert_serves()

    def test_a_peer_that_never_reads_what_the_kernel_holds_is_aborted_after_send_timeout(self):
        self.start(send_timeout="1s")
        with socket.socket() as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel's least
            client.settimeout(20)
            client.connect(("127.0.0.1", self.port))
            # More than this client's receive buffer takes, less than wharfd's
            # socket's send buffer: nothing waits in wharfd, so only the kernel
            # (TCP_USER_TIMEOUT) sees a peer that never reads.
            client.sendall(b"k" * 12000)
            wait_until(lambda: sum(self.ended().values()) == 1, "the session's end")
        self.assertEqual(self.ended()["send_timeout"], 1)
        self.server.wait_for_log(r"peer 127\.0\.0\.1:\d+: send_timeout: the peer took none of its "
                                 r"output the kernel held; closing")
        self.assert_serves()

    def test_the_default_output_budget_is_an_eighth_of_the_cgroups_memory(self):
        procs = memory_cgroup(self, 128 << 20)  # a container's limit: the budget is 16 MiB
        self.port = free_port()
        # memory_limit's default here is 64 MiB, which a sanitizer's shadow memory and
        # quarantine pass by themselves (test_supervision tests the limit).
        self.server = Wharfd(self, {"e": {"transport": "tcp", "listen": f"127.0.0.1:{self.port}",
                                          "plugin": "echo", "mode": "reactor"}},
                             host={"admin": "admin.sock", "memory_limit": "off"})
        self.server.launcher = ["sh", "-c", f'echo $$ > {procs} && exec "$@"', "sh"]
        self.server.start()
        # 1 MiB (output_high_water) waits in wharfd for each: past 16 MiB, far
        # below the host's default (an eighth of its memory, at most 1 GiB).
        with concurrent.futures.ThreadPoolExecutor(24) as pool:
            held = [client for client, _ in pool.map(lambda _: flood_without_reading(self.port),
                                                     range(24))]
        self.addCleanup(lambda: [client.close() for client in held])
        self.server.wait_for_log(r"output_budget: cut \d+ sessions holding \d+ bytes for peers "
                                 r"that do not read; the worker holds \d+ of 16777216")
        self.assert_serves()

    def test_a_slow_reader_is_not_closed_by_send_timeout(self):
        self.start(send_timeout="3s")
        total = 24 << 20  # more than the kernel's buffers hold, for over 3 s
        with socket.create_connection(("127.0.0.1", self.port), timeout=20) as reader:
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            sender = threading.Thread(target=reader.sendall, args=(b"y" * total,))
            sender.start()
            read_slowly(reader, total)
            sender.join()
        wait_until(lambda: sum(self.ended().values()) == 1, "the session's end")
        self.assertEqual(self.ended()["client"], 1)

    def test_past_the_output_budget_a_peer_that_reads_nothing_is_cut_not_a_slow_reader(self):
        # Two listeners, one worker, one budget: the reader on the other
        # listener holds more than the budget itself, but it reads.
        self.port, other = free_port(), free_port()
        self.server = self.wharfd({
            "e": {"transport": "tcp", "listen": f"127.0.0.1:{self.port}", "plugin": "echo",
                  "mode": "reactor", "output_high_water": str(4 << 20)},
            "b": {"transport": "tcp", "listen": f"127.0.0.1:{other}", "plugin": "echo",
                  "mode": "reactor", "output_high_water": str(4 << 20)}},
            host={"admin": "admin.sock", "output_budget": str(1 << 20)})
        total = 24 << 20
        with socket.create_connection(("127.0.0.1", other), timeout=20) as reader:
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            sender = threading.Thread(target=reader.sendall, args=(b"r" * total,))
            sender.start()
            self.assertEqual(len(receive_exactly(reader, 1 << 20)), 1 << 20)
            flooder, _ = flood_without_reading(self.port)
            read_slowly(reader, total - (1 << 20))
            sender.join()
        self.server.wait_for_log(r"output_budget: cut 1 sessions holding \d+ bytes for peers "
                                 r"that do not read")
        self.assertTrue(closed(flooder))
        flooder.close()
        ended = self.ended()  # listener e's
        self.assertEqual(ended["output_budget"], 1)
        self.assert_serves()
