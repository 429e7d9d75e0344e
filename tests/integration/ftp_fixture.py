"""An FTP server under test: wharfd with the ftp plugin on a folder of its
own, an anonymous read-only login and two accounts (alice rw, bob ro), and
helpers to log in with Python's ftplib."""

import ftplib
import hashlib
import os
import socket
import subprocess

from wharf_harness import Wharfd, free_port

PASSWORD = "s3cret-pass"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def crypt_hash(password):
    return subprocess.run(["openssl", "passwd", "-6", password], capture_output=True, text=True,
                          check=True).stdout.strip()


class FtpServer:
    def __init__(self, testcase, mode="thread", options=None, host="127.0.0.1", tls=False,
                 daemon=None):
        self.port = free_port(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.host = host
        address = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        keys = {"transport": "tcp", "listen": address, "mode": mode, "plugin": "ftp"}
        self.server = Wharfd(testcase, {"ftp": keys}, daemon)  # daemon: [host] keys
        self.root = self.server.path("root")
        os.makedirs(os.path.join(self.root, "pub"))
        os.makedirs(os.path.join(self.root, "home", "alice"))
        os.makedirs(os.path.join(self.root, "home", "bob"))
        users = self.server.path("users")
        with open(users, "w") as out:
            out.write("# test accounts\n")
            out.write(f"alice:{crypt_hash(PASSWORD)}:home/alice:rw\n")
            out.write(f"bob:{crypt_hash(PASSWORD)}:home/bob:ro\n")
        keys.update({"option.root": self.root, "option.anonymous": "read",
                     "option.users": users, "option.login_failure_delay": "10ms"})
        if tls:
            self.cert, self.key = self.server.path("cert.pem"), self.server.path("key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                            self.key, "-out", self.cert, "-days", "2", "-subj", "/CN=localhost"],
                           capture_output=True, check=True)
            keys.update({"option.tls": "allow", "option.tls_cert": self.cert,
                         "option.tls_key": self.key})
        keys.update({f"option.{k}": v for k, v in (options or {}).items()})
        self.server.write_config()

    def start(self):
        self.server.start()
        return self

    def put(self, relative, data):
        """Creates a file in the served folder (not through FTP)."""
        path = os.path.join(self.root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(data)
        return path

    def read(self, relative):
        with open(os.path.join(self.root, relative), "rb") as source:
            return source.read()

    def url(self, path="/", user=None):
        credentials = f"{user}:{PASSWORD}@" if user else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ftp://{credentials}{host}:{self.port}{path}"

    def client(self, user=None, password=PASSWORD, cls=ftplib.FTP, **kwargs):
        ftp = cls(timeout=20, **kwargs)
        ftp.connect(self.host, self.port)
        if user == "anonymous":
            ftp.login()
        elif user:
            ftp.login(user, password)
        return ftp
