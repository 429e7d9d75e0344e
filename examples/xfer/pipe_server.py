#!/usr/bin/env python3
"""The selectors tutorial's file server, pipe dialect, for comparison with
wharfd's xfer plugin (bench/xfer): one thread, a selectors loop that reads
a header when a client is readable and then moves the file in 8 KiB reads
as the tutorial does. It trusts its clients: do not expose it.

    pipe_server.py PORT ROOT
"""
import os
import selectors
import socket
import sys

sel = selectors.DefaultSelector()
root = sys.argv[2]


def accept(server, mask):
    conn, addr = server.accept()
    conn.setblocking(True)
    sel.register(conn, selectors.EVENT_READ, read)


def read(conn, mask):
    header = conn.recv(1024).decode("utf-8")
    if not header:
        sel.unregister(conn)
        conn.close()
        return
    cmd, filename, filesize = header.split("|")
    path = os.path.join(root, filename)
    if cmd == "put":
        conn.send(b"OK")
        filesize, recv_size = int(filesize), 0
        with open(path, "wb") as f:
            while recv_size < filesize:
                data = conn.recv(min(8192, filesize - recv_size))
                if not data:
                    break
                f.write(data)
                recv_size += len(data)
    elif cmd == "get":
        if not os.path.isfile(path):
            conn.send(b"NO|0")
            return
        conn.send(("YES|%d" % os.path.getsize(path)).encode("utf-8"))
        if conn.recv(1024) != b"second_active":
            return
        with open(path, "rb") as f:
            while True:
                data = f.read(8192)
                if not data:
                    break
                conn.sendall(data)


if __name__ == "__main__":
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(sys.argv[1])))
    server.listen(100)
    server.setblocking(False)
    sel.register(server, selectors.EVENT_READ, accept)
    print("ready", flush=True)
    while True:
        for key, mask in sel.select():
            key.data(key.fileobj, mask)
