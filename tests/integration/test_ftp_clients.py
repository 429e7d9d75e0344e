"""The FTP plugin with the clients people use: curl (list, get, put, resume,
-Q commands, FTPS), lftp (mirror a tree up and back, FTPS), wget (recursive
get) and ftplib over TLS; and the data-safety guarantee that an interrupted
overwrite leaves the old file whole."""

import ftplib
import io
import os
import socket
import ssl
import subprocess

from ftp_fixture import PASSWORD, FtpServer, sha256
from wharf_harness import WharfTestCase

TIMEOUT = 120


def run(*command):
    result = subprocess.run(command, capture_output=True, timeout=TIMEOUT)
    if result.returncode != 0:
        raise AssertionError(f"{command[0]} failed ({result.returncode}): "
                             f"{result.stderr.decode(errors='replace')}")
    return result.stdout


def make_tree(base, files=60):
    """A tree of files of assorted sizes in nested folders; returns it."""
    for i in range(files):
        folder = os.path.join(base, f"d{i % 4}", f"e{i % 3}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"file{i}.bin"), "wb") as out:
            out.write(os.urandom((i * 7919) % 200000))
    return base


def same_tree(a, b):
    return subprocess.run(["diff", "-r", a, b], capture_output=True).returncode == 0


class FtpWithRealClients(WharfTestCase):
    def setUp(self):
        self.ftp_server = FtpServer(self, tls=True).start()
        self.work = self.ftp_server.server.path("work")
        os.makedirs(self.work)

    def tearDown(self):
        self.assertStops(self.ftp_server.server)

    def local(self, name):
        return os.path.join(self.work, name)

    def test_curl_list_get_put_resume_and_commands(self):
        server = self.ftp_server
        data = os.urandom(2 * 1024 * 1024 + 3)
        server.put("pub/data.bin", data)
        listing = run("curl", "-sS", server.url("/pub/")).decode()
        self.assertRegex(listing, r"-rw-r--r-- .* data\.bin\r?\n")
        self.assertEqual(run("curl", "-sS", "-l", server.url("/pub/")).split(), [b"data.bin"])
        run("curl", "-sS", "-o", self.local("got.bin"), server.url("/pub/data.bin"))
        self.assertEqual(sha256(open(self.local("got.bin"), "rb").read()), sha256(data))
        with open(self.local("part.bin"), "wb") as part:  # a broken-off download, resumed
            part.write(data[:777777])
        run("curl", "-sS", "-C", "-", "-o", self.local("part.bin"), server.url("/pub/data.bin"))
        self.assertEqual(sha256(open(self.local("part.bin"), "rb").read()), sha256(data))
        with open(self.local("up.bin"), "wb") as up:
            up.write(data)
        run("curl", "-sS", "-T", self.local("up.bin"), "--ftp-create-dirs",
            server.url("/new/dir/up.bin", "alice"))
        self.assertEqual(sha256(server.read("home/alice/new/dir/up.bin")), sha256(data))
        server.put("home/alice/half.bin", data[:1000000])  # an upload broken off, resumed
        run("curl", "-sS", "-C", "-", "-T", self.local("up.bin"), server.url("/half.bin", "alice"))
        self.assertEqual(sha256(server.read("home/alice/half.bin")), sha256(data))
        run("curl", "-sS", "-o", "/dev/null", "-Q", "MKD /made", "-Q", "RNFR /new/dir/up.bin",
            "-Q", "RNTO /made/renamed.bin", "-Q", "DELE /half.bin", server.url("/", "alice"))
        self.assertEqual(sha256(server.read("home/alice/made/renamed.bin")), sha256(data))
        self.assertFalse(os.path.exists(os.path.join(server.root, "home/alice/half.bin")))
        run("curl", "-sS", "-o", "/dev/null", "-Q", "DELE /made/renamed.bin", "-Q", "RMD /made",
            server.url("/", "alice"))
        self.assertFalse(os.path.exists(os.path.join(server.root, "home/alice/made")))
        failed = subprocess.run(["curl", "-sS", server.url("/pub/missing")], capture_output=True)
        self.assertEqual(failed.returncode, 78)  # curl: remote file not found (550)

    def test_curl_ftps(self):
        server = self.ftp_server
        data = os.urandom(1024 * 1024)
        with open(self.local("up.bin"), "wb") as up:
            up.write(data)
        run("curl", "-sS", "--ssl-reqd", "-k", "-T", self.local("up.bin"),
            server.url("/tls.bin", "alice"))
        back = run("curl", "-sS", "--ssl-reqd", "-k", server.url("/tls.bin", "alice"))
        self.assertEqual(sha256(back), sha256(data))
        self.assertIn(b"tls.bin", run("curl", "-sS", "--ssl-reqd", "-k", server.url("/", "alice")))

    def lftp(self, script, tls=False):
        settings = ("set ssl:verify-certificate no; set ftp:ssl-force yes; "
                    "set ftp:ssl-protect-data yes; " if tls else "set ftp:ssl-allow no; ")
        return run("lftp", "-c", settings + "set net:max-retries 1; set net:timeout 20; "
                   f"open -u alice,{PASSWORD} -p {self.ftp_server.port} "
                   f"ftp://{self.ftp_server.host}; " + script)

    def test_lftp_mirrors_a_tree_up_and_back(self):
        tree = make_tree(self.local("tree"))
        self.lftp(f"mirror -R {tree} up; mirror up {self.local('back')}")
        self.assertTrue(same_tree(tree, self.local("back")))
        self.assertTrue(same_tree(tree, os.path.join(self.ftp_server.root, "home/alice/up")))

    def test_lftp_over_ftps(self):
        tree = make_tree(self.local("tree"), files=12)
        self.lftp(f"mirror -R {tree} up; mirror up {self.local('back')}", tls=True)
        self.assertTrue(same_tree(tree, self.local("back")))

    def test_wget_recursive_get(self):
        tree = make_tree(os.path.join(self.ftp_server.root, "pub", "tree"), files=20)
        run("wget", "-q", "-r", "-nH", "-P", self.local("wget"),
            self.ftp_server.url("/pub/tree/"))
        self.assertTrue(same_tree(tree, self.local("wget/pub/tree")))

    def test_ftplib_over_tls_is_refused_while_session_reuse_is_required(self):
        server = self.ftp_server
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        ftp = server.client(cls=ftplib.FTP_TLS, context=context)
        ftp.login("alice", PASSWORD)  # AUTH TLS first
        ftp.prot_p()
        # ftplib cannot resume TLS sessions: with reuse required it is refused
        with self.assertRaises((ftplib.Error, ssl.SSLError, OSError)):
            ftp.nlst()
        ftp.close()
        server.server.wait_for_log("did not resume the control connection's TLS session")


class FtpTlsReuseOptional(WharfTestCase):
    def test_ftplib_transfers_over_tls(self):
        server = FtpServer(self, tls=True, options={"tls_session_reuse": "optional"}).start()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        ftp = server.client(cls=ftplib.FTP_TLS, context=context)
        ftp.login("alice", PASSWORD)
        ftp.prot_p()
        data = os.urandom(500000)
        ftp.storbinary("STOR t.bin", io.BytesIO(data))
        back = bytearray()
        ftp.retrbinary("RETR t.bin", back.extend)
        self.assertEqual(sha256(back), sha256(data))
        self.assertEqual(ftp.nlst(), ["t.bin"])
        ftp.quit()
        self.assertStops(server.server)


class TransferLog(WharfTestCase):
    def test_a_cut_download_is_logged_as_incomplete_and_a_whole_one_as_complete(self):
        server = FtpServer(self).start()
        server.put("home/alice/big.bin", os.urandom(8 << 20))
        ftp = server.client("alice")
        back = bytearray()
        ftp.retrbinary("RETR big.bin", back.extend)
        server.server.wait_for_log(r"RETR /big\.bin: 8388608 bytes, complete, user alice")
        connection, _ = ftp.ntransfercmd("RETR big.bin")
        connection.recv(65536)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        connection.close()  # a reset: the client gave up
        server.server.wait_for_log(r"RETR /big\.bin: \d+ bytes, incomplete \(the data connection "
                                   r"failed\), user alice")
        ftp.sock.close()
        self.assertStops(server.server)


class AtomicOverwrite(WharfTestCase):
    def test_an_interrupted_overwrite_keeps_the_old_file(self):
        server = FtpServer(self).start()
        old = os.urandom(300000)
        server.put("home/alice/doc.bin", old)
        ftp = server.client("alice")
        connection, _ = ftp.ntransfercmd("STOR doc.bin")
        connection.sendall(os.urandom(1000000))  # half of a new version...
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        connection.close()  # ...then the client dies (a reset, not an end of file)
        ftp.sock.close()
        server.server.wait_for_log(r"STOR /doc\.bin: \d+ bytes, incomplete \(.+\), not kept, "
                                   r"user alice")
        self.assertEqual(sha256(server.read("home/alice/doc.bin")), sha256(old))
        self.assertEqual(os.listdir(os.path.join(server.root, "home/alice")), ["doc.bin"])
        ftp = server.client("alice")  # a complete overwrite replaces it
        new = os.urandom(400000)
        ftp.storbinary("STOR doc.bin", io.BytesIO(new))
        ftp.quit()
        self.assertEqual(sha256(server.read("home/alice/doc.bin")), sha256(new))
        self.assertEqual(os.listdir(os.path.join(server.root, "home/alice")), ["doc.bin"])
        self.assertStops(server.server)
