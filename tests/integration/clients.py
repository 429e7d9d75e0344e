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
        sock.settimeout(TIMEOUT)
        sock.connect(address)
    else:
        sock = socket.socket(inet_family(address), socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect(split(address))
    return sock


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
