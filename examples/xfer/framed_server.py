#!/usr/bin/env python3
"""The socketserver tutorial's file server, framed dialect, for comparison
with wharfd's xfer plugin (bench/xfer): socketserver.ThreadingTCPServer,
a thread per client, 8 KiB reads as in the tutorial. It trusts its clients
(no name or size checks): do not expose it.

    framed_server.py PORT ROOT
"""
import json
import os
import socketserver
import struct
import sys


class FtpHandler(socketserver.BaseRequestHandler):
    max_packet_size = 8192
    coding = "utf-8"

    def recv_exactly(self, size):
        data = bytearray()
        while len(data) < size:
            chunk = self.request.recv(size - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return bytes(data)

    def send_header(self, head_dic):
        head_json_bytes = json.dumps(head_dic).encode(self.coding)
        self.request.sendall(struct.pack("i", len(head_json_bytes)) + head_json_bytes)

    def handle(self):
        while True:
            try:
                head_len = struct.unpack("i", self.recv_exactly(4))[0]
                head_dic = json.loads(self.recv_exactly(head_len).decode(self.coding))
            except ConnectionError:
                return
            getattr(self, head_dic["cmd"])(head_dic)

    def put(self, args):
        file_path = os.path.join(self.server.root, args["filename"])
        filesize, recv_size = args["filesize"], 0
        with open(file_path, "wb") as f:
            while recv_size < filesize:
                recv_data = self.request.recv(min(self.max_packet_size, filesize - recv_size))
                if not recv_data:
                    return
                f.write(recv_data)
                recv_size += len(recv_data)

    def get(self, args):
        file_path = os.path.join(self.server.root, args["filename"])
        if not os.path.isfile(file_path):
            self.send_header({"error": "no such file"})
            return
        self.send_header({"cmd": "get", "filename": args["filename"],
                          "filesize": os.path.getsize(file_path)})
        with open(file_path, "rb") as f:
            while True:
                data = f.read(self.max_packet_size)
                if not data:
                    break
                self.request.sendall(data)


class FtpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    server = FtpServer(("127.0.0.1", int(sys.argv[1])), FtpHandler)
    server.root = sys.argv[2]
    print("ready", flush=True)
    server.serve_forever()
