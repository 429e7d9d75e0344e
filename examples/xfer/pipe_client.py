#!/usr/bin/env python3
"""The selectors tutorial's file client, pipe dialect: a text header
"cmd|filename|filesize". A put waits for "OK", then sends the bytes; a get
reads "YES|size" (or "NO|0"), sends "second_active", then reads the bytes.

    pipe_client.py HOST PORT        then, one per line on stdin:
    put PATH                        upload PATH under its base name
    get NAME                        download NAME into the current folder
"""
import os
import socket
import sys


class FtpClient:
    max_packet_size = 65536

    def __init__(self, server_address):
        self.socket = socket.create_connection(server_address)

    def run(self):
        while True:
            try:
                inp = input(">>: ").strip()
            except EOFError:
                break
            if not inp:
                continue
            cmd, *args = inp.split()
            if hasattr(self, cmd):
                getattr(self, cmd)(args)
            else:
                print("unknown command:", cmd)
        self.socket.close()

    def put(self, args):
        filename = args[0]
        if not os.path.isfile(filename):
            print("file:%s does not exist" % filename)
            return
        filesize = os.path.getsize(filename)
        header = "put|%s|%s" % (os.path.basename(filename), filesize)
        self.socket.send(header.encode("utf-8"))
        res = self.socket.recv(1024).decode("utf-8")
        if res != "OK":
            print("error:", res)
            return
        with open(filename, "rb") as f:
            while True:
                data = f.read(self.max_packet_size)
                if not data:
                    break
                self.socket.sendall(data)
        print("upload successful", filename)

    def get(self, args):
        filename = args[0]
        self.socket.send(("get|%s|0" % filename).encode("utf-8"))
        res = self.socket.recv(1024).decode("utf-8")
        flag, size = res.split("|", 1)
        if flag != "YES":
            print("error:", res)
            return
        filesize, recv_size = int(size), 0
        self.socket.send(b"second_active")
        with open(os.path.basename(filename), "wb") as f:
            while recv_size < filesize:
                data = self.socket.recv(min(filesize - recv_size, self.max_packet_size))
                if not data:
                    raise ConnectionError("server closed the connection mid-file")
                f.write(data)
                recv_size += len(data)
        print("download successful", filename)


if __name__ == "__main__":
    FtpClient((sys.argv[1], int(sys.argv[2]))).run()
