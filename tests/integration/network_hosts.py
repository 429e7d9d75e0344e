"""Several hosts on one machine, made of network namespaces: a client
(10.77.1.1 and 10.77.1.3), a middle host (10.77.1.2, and 10.77.2.1 towards the
servers) that routes between the two sides, and a server host (10.77.2.2).
Tests that need peers with addresses other than loopback run wharfd on the
server host (namespace_testcase.py). bench/hostile uses them too."""

import ctypes
import socket
import subprocess
import threading
import uuid

CLONE_NEWNET = 0x40000000
LIBC = ctypes.CDLL(None, use_errno=True)


def run(*command):
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)


def in_namespace(name, work):
    """work() on a thread that has entered network namespace `name`: the
    sockets it makes are that host's."""
    outcome = {}

    def enter_and_work():
        try:
            with open(f"/run/netns/{name}") as namespace:
                if LIBC.setns(namespace.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            outcome["value"] = work()
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=enter_and_work)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def echo(address, payload, source=None):
    """One session to `address` (from `source`): what came back, b"" if closed."""
    with socket.socket() as client:
        client.settimeout(20)
        if source:
            client.bind((source, 0))
        client.connect(address)
        client.sendall(payload)
        received = b""
        try:
            while len(received) < len(payload):
                chunk = client.recv(65536)
                if not chunk:
                    break
                received += chunk
        except ConnectionResetError:
            pass
        return received


class Hosts:
    """The three namespaces and the links between them; removed on cleanup."""

    def __init__(self, testcase):
        tag = uuid.uuid4().hex[:6]
        self.client, self.balancer, self.server = (f"wharf-{role}-{tag}" for role in "cbs")
        for name in (self.client, self.balancer, self.server):
            run("ip", "netns", "add", name)
            testcase.addCleanup(subprocess.run, ["ip", "netns", "del", name], capture_output=True)
            run("ip", "-n", name, "link", "set", "lo", "up")
        self.link(self.client, "10.77.1.1/24", self.balancer, "10.77.1.2/24", f"wc{tag}", f"wb{tag}")
        self.link(self.balancer, "10.77.2.1/24", self.server, "10.77.2.2/24", f"wd{tag}", f"ws{tag}")
        run("ip", "-n", self.client, "addr", "add", "10.77.1.3/24", "dev", f"wc{tag}")
        run("ip", "-n", self.client, "route", "add", "10.77.2.0/24", "via", "10.77.1.2")
        run("ip", "-n", self.server, "route", "add", "10.77.1.0/24", "via", "10.77.2.1")
        run("ip", "netns", "exec", self.balancer, "sysctl", "-qw", "net.ipv4.ip_forward=1")

    @staticmethod
    def link(left, left_address, right, right_address, left_name, right_name):
        run("ip", "link", "add", left_name, "netns", left, "type", "veth", "peer", "name",
            right_name, "netns", right)
        for namespace, device, address in ((left, left_name, left_address),
                                           (right, right_name, right_address)):
            run("ip", "-n", namespace, "addr", "add", address, "dev", device)
            run("ip", "-n", namespace, "link", "set", device, "up")
