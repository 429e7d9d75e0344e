"""Minimal clients for the four transports, built on Python's socket module,
plus socat for the checks that should use a separate real client."""

import os
import socket
import subprocess
import tempfile
import threading

TIMEOUT = 20


def inet_family(address):
    return socket.AF_INET6 if address.startswith("[") else socket.AF_INET


def split(address):
    host, port = address.rsplit(":", 1)
    return host.strip("[]"), int(port)


def stream_connect(transport, address):
    if transport == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = address
    else:
        sock = socket.socket(inet_family(address), socket.SOCK_STREAM)
        target = split(address)
    sock.settimeout(TIMEOUT)
    try:
        sock.connect(target)
    except OSError:
        sock.close()
        raise
    return sock


def connect_from(source, port):
    """A TCP connection to 127.0.0.1:port from the loopback address `source`."""
    client = socket.socket()
    client.settimeout(20)
    client.bind((source, 0))
    client.connect(("127.0.0.1", port))
    return client


def receive_exactly(sock, count):
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def receive_until_closed(sock):
    data = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(data)
        data += chunk


def receive_line(sock):
    """Bytes up to and with the first newline (or all, if the peer closes first)."""
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return bytes(data)


def echo_round_trip(port, payload):
    """One TCP exchange with an echo on 127.0.0.1:port: what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(payload)
        return receive_exactly(client, len(payload))


def stream_round_trip(transport, address, payload):
    """Sends payload (from a thread, so a large echo cannot deadlock on full
    buffers), half-closes, returns everything received until the server closes."""
    with stream_connect(transport, address) as sock:
        def send():
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        sender = threading.Thread(target=send)
        sender.start()
        received = receive_until_closed(sock)
        sender.join()
        return received


class DatagramClient:
    """A datagram socket bound to its own address, so replies can reach it."""

    def __init__(self, transport, address):
        if transport == "unix-dgram":
            self.dir = tempfile.mkdtemp(prefix="wharf-client-")
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.bind(os.path.join(self.dir, "client.sock"))
            self.target = address
        else:
            self.dir = None
            self.sock = socket.socket(inet_family(address), socket.SOCK_DGRAM)
            self.target = split(address)
        self.sock.settimeout(TIMEOUT)

    def exchange(self, payload):
        self.sock.sendto(payload, self.target)
        return self.sock.recv(70000)

    def close(self):
        self.sock.close()
        if self.dir:
            os.unlink(os.path.join(self.dir, "client.sock"))
            os.rmdir(self.dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def socat_address(transport, address, client_socket_dir=None):
    if transport == "tcp":
        return ("TCP6:" if address.startswith("[") else "TCP4:") + address
    if transport == "udp":
        return ("UDP6:" if address.startswith("[") else "UDP4:") + address
    if transport == "unix":
        return "UNIX-CONNECT:" + address
    return f"UNIX-SENDTO:{address},bind={os.path.join(client_socket_dir, 'socat.sock')}"


def socat_round_trip(transport, address, payload):
    """Pipes payload through socat to the server; returns what socat printed."""
    with tempfile.TemporaryDirectory(prefix="wharf-socat-") as directory:
        result = subprocess.run(
            ["socat", "-t", "2", "-T", "5", "-", socat_address(transport, address, directory)],
            input=payload, capture_output=True, timeout=TIMEOUT)
        if result.returncode != 0:
            raise AssertionError(f"socat failed: {result.stderr.decode(errors='replace')}")
        return result.stdout


class Traffic:
    """Clients that connect, ask and close in a loop, and clients that hold a
    ping-pong session, from threads, until stop(): what a service's users see
    while it changes underneath. Each exchange sends a message and expects it
    echoed; refusals, resets and wrong answers are counted, and a client goes
    on (reconnecting) after one."""

    def __init__(self, transport, address, loops=1, ping_pongs=0):
        self.target = (transport, address)
        self.counts = {"exchanges": 0, "refused": 0, "reset": 0, "wrong": 0}
        self.errors = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._loop, args=(n,)) for n in range(loops)]
        self._threads += [threading.Thread(target=self._ping_pong, args=(n,))
                          for n in range(ping_pongs)]

    def start(self):
        for thread in self._threads:
            thread.start()
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self.counts

    def exchanges(self):
        with self._lock:
            return self.counts["exchanges"]

    def _count(self, what, error=None):
        with self._lock:
            self.counts[what] += 1
            if error is not None and len(self.errors) < 20:
                self.errors.append(f"{what}: {error!r}")

    def _exchange(self, session, message):
        session.sendall(message)
        answer = receive_exactly(session, len(message))
        if len(answer) < len(message):
            raise ConnectionResetError(f"closed after {answer!r}")
        if answer != message:
            raise ValueError(f"{answer!r} is no echo of {message!r}")

    def _failed(self, error):
        if isinstance(error, ConnectionRefusedError):
            self._count("refused", error)
        elif isinstance(error, ValueError):
            self._count("wrong", error)
        else:
            self._count("reset", error)
        self._stop.wait(0.01)

    def _loop(self, number):
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                with stream_connect(*self.target) as session:
                    self._exchange(session, b"loop%d-%d" % (number, n))
                self._count("exchanges")
            except (OSError, ValueError) as error:
                self._failed(error)

    def _ping_pong(self, number):
        n = 0
        while not self._stop.is_set():
            try:
                with stream_connect(*self.target) as session:
                    while not self._stop.is_set():
                        n += 1
                        self._exchange(session, b"ping%d-%d" % (number, n))
                        self._count("exchanges")
                        self._stop.wait(0.005)
            except (OSError, ValueError) as error:
                self._failed(error)


def run_at_once(client, count):
    """Runs client(0) … client(count - 1) on threads of their own, all at
    once, and returns when every one has."""
    threads = [threading.Thread(target=client, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
