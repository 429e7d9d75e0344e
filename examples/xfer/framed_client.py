#!/usr/bin/env python3
"""The socketserver tutorial's file client, framed dialect: every command is
struct.pack('i', n) then n bytes of JSON, {"cmd", "filename", "filesize"}.

    framed_client.py HOST PORT      then, one per line on stdin:
    put PATH                        upload PATH under its base name
    get NAME                        download NAME into the current folder
"""
import json
import os
import socket
import struct
import sys


class FtpClient:
    max_packet_size = 65536
    coding = "utf-8"

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

    def send_header(self, head_dic):
        head_json_bytes = json.dumps(head_dic).encode(self.coding)
        self.socket.sendall(struct.pack("i", len(head_json_bytes)))
        self.socket.sendall(head_json_bytes)

    def recv_exactly(self, size):
        data = bytearray()
        while len(data) < size:
            chunk = self.socket.recv(min(size - len(data), self.max_packet_size))
            if not chunk:
                raise ConnectionError("server closed the connection")
            data += chunk
        return bytes(data)

    def recv_header(self):
        head_len = struct.unpack("i", self.recv_exactly(4))[0]
        return json.loads(self.recv_exactly(head_len).decode(self.coding))

    def put(self, args):
        filename = args[0]
        if not os.path.isfile(filename):
            print("file:%s does not exist" % filename)
            return
        filesize = os.path.getsize(filename)
        self.send_header({"cmd": "put", "filename": os.path.basename(filename),
                          "filesize": filesize})
        with open(filename, "rb") as f:
            while True:
                data = f.read(self.max_packet_size)
                if not data:
                    break
                self.socket.sendall(data)
        print("upload successful", filename)

    def get(self, args):
        self.send_header({"cmd": "get", "filename": args[0]})
        head_dic = self.recv_header()
        if "error" in head_dic:
            print("error:", head_dic["error"])
            return
        filesize, recv_size = head_dic["filesize"], 0
        with open(os.path.basename(head_dic["filename"]), "wb") as f:
            while recv_size < filesize:
                data = self.socket.recv(min(filesize - recv_size, self.max_packet_size))
                if not data:
                    raise ConnectionError("server closed the connection mid-file")
                f.write(data)
                recv_size += len(data)
        print("download successful", head_dic["filename"])


if __name__ == "__main__":
    FtpClient((sys.argv[1], int(sys.argv[2]))).run()
