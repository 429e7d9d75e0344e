"""Live migration of FTP control sessions (SDK 1.6, `migrate = on` in thread
and pool modes): a reload carries logged-in ftplib clients onto the new
plugin code between their commands, on the same control connection, with
their login, folder, TYPE and unread input; the old generation is then
unloaded. What cannot move stays on its code and keeps working: a TLS
control connection, an account the new code no longer has; a session with a
data connection prepared moves once its transfer is done.

The new code is a second build of the plugin with another version
(ftp_next, 1.0.0+next); reloads alternate between the two files."""

import ftplib
import io
import os
import re
import shutil
import socket
import ssl
import tempfile

from ftp_fixture import PASSWORD, FtpServer, crypt_hash
from test_workers import gone
from wharf_harness import PLUGIN_DIR, WHARFD, WharfTestCase, test_plugin, wait_until

WAIT = 60  # seconds: a bound for events, never a measured time
CLIENTS = 20
WHARFD_NEXT = os.environ["WHARFD_NEXT"]
RELEASES = {"ftp": ("1.0.0", os.path.join(PLUGIN_DIR, "ftp.so")),
            "ftp_next": ("1.0.0+next", test_plugin("ftp_next"))}


class FtpMigration(WharfTestCase):
    def start(self, mode="thread", options=None, keys=None, tls=False):
        """wharfd serving the ftp plugin from a file of its own (release "ftp")."""
        self.ftp = FtpServer(self, mode=mode, tls=tls, daemon={"admin": "admin.sock"},
                             options=dict({"max_sessions_per_ip": "0"}, **(options or {})))
        self.server = self.ftp.server
        self.server.binary = getattr(self, "server_binary", WHARFD)  # a copy, to upgrade
        self.plugin = self.server.path("ftp.so")
        shutil.copy(RELEASES["ftp"][1], self.plugin)
        self.release = "ftp"
        self.generation = 1
        self.listener = self.server.listeners["ftp"]
        self.listener.update({"plugin": self.plugin, "migrate": "on"}, **(keys or {}))
        self.server.write_config()
        self.ftp.start()
        self.clients = []

    def reload(self, **options):
        """Installs the other release (copied beside, renamed over), with
        `options` changed, and reloads; returns the generation it makes."""
        self.release = "ftp_next" if self.release == "ftp" else "ftp"
        staging = self.plugin + ".new"
        shutil.copy(RELEASES[self.release][1], staging)
        os.rename(staging, self.plugin)
        self.listener.update({f"option.{key}": value for key, value in options.items()})
        self.server.write_config()
        result = self.server.ctl("reload")
        self.assertEqual(result.returncode, 0, result.stderr + self.server.log())
        self.generation += 1
        return self.generation

    def round_logged(self, generation):
        """The summary line of the migration round to `generation`, once logged."""
        pattern = rf"migrate: to generation {generation}: .*"
        self.server.wait_for_log(pattern, WAIT)
        return re.search(pattern, self.server.log()).group(0)

    def unloaded(self, generation, release):
        version = re.escape(RELEASES[release][0])
        return rf"generation {generation} \(ftp {version}\) unloaded"

    def client(self, user, **kwargs):
        ftp = self.ftp.client(user, **kwargs)
        self.addCleanup(ftp.close)
        self.clients.append(ftp)
        return ftp

    def greeting(self):
        """The first reply a new connection gets (a refusal's 421 too)."""
        with socket.create_connection((self.ftp.host, self.ftp.port), timeout=WAIT) as control, \
                control.makefile("rb") as replies:
            return replies.readline().decode()

    def stop(self):
        for ftp in self.clients:
            ftp.close()
        self.assertStops(self.server)

    def retrieved(self, ftp, name):
        data = bytearray()
        ftp.retrbinary(f"RETR {name}", data.extend)
        return bytes(data)

    def stored(self, ftp, name, data):
        ftp.storbinary(f"STOR {name}", io.BytesIO(data))


class ManyClients(FtpMigration):
    def test_logged_in_clients_keep_their_sessions_through_two_reloads(self):
        """Twenty clients (alice read-write, anonymous read-only), each in a
        folder and in TYPE A, move at each reload: the same folder, the
        TYPE, a RETR and (alice) a STOR, a NOOP; the half command line one
        sent before the reload is completed after it."""
        self.start()
        data = os.urandom(200_000)
        self.ftp.put("home/alice/docs/data.bin", data)
        self.ftp.put("pub/docs/data.bin", data)
        folders = {}
        for i in range(CLIENTS):
            user = "alice" if i % 2 else "anonymous"
            ftp = self.client(user)
            folders[ftp] = "/docs" if user == "alice" else "/pub/docs"
            ftp.cwd(folders[ftp])
            ftp.sendcmd("TYPE A")
        typed = "ASCII"
        half = self.clients[0]
        half.sock.sendall(b"NO")
        for _ in range(2):
            old_release = self.release
            generation = self.reload()
            summary = self.round_logged(generation)
            self.assertIn(f": {CLIENTS} sessions moved", summary)
            self.assertRegex(summary, r"\b0 left\b")
            self.server.wait_for_log(self.unloaded(generation - 1, old_release), WAIT)
            if half is not None:
                half.sock.sendall(b"OP\r\n")
                self.assertEqual(half.getresp(), "200 NOOP ok.")
                half = None
            for i, ftp in enumerate(self.clients):
                self.assertEqual(ftp.pwd(), folders[ftp])
                self.assertIn(f"TYPE: {typed}", ftp.sendcmd("STAT"))
                self.assertEqual(self.retrieved(ftp, "data.bin"), data)  # TYPE I from here
                if folders[ftp] == "/docs":
                    upload = os.urandom(1000 + i)
                    self.stored(ftp, f"up{i}-{generation}.bin", upload)
                    self.assertEqual(self.ftp.read(f"home/alice/docs/up{i}-{generation}.bin"),
                                     upload)
                self.assertTrue(ftp.voidcmd("NOOP").startswith("200"))
            typed = "BINARY"
        self.stop()


class OneMode(FtpMigration):
    def test_pool_sessions_move(self):
        self.start(mode="pool", keys={"pool_threads": "8"})
        self.ftp.put("pub/docs/readme.txt", b"hello\n")
        clients = [self.client("anonymous") for _ in range(5)]
        for ftp in clients:
            ftp.cwd("/pub/docs")
        generation = self.reload()
        self.assertIn(": 5 sessions moved", self.round_logged(generation))
        self.server.wait_for_log(self.unloaded(1, "ftp"), WAIT)
        for ftp in clients:
            self.assertEqual(ftp.pwd(), "/pub/docs")
            self.assertEqual(self.retrieved(ftp, "readme.txt"), b"hello\n")
        self.stop()


class WhatStays(FtpMigration):
    def test_a_tls_session_stays_on_its_code_and_keeps_working(self):
        self.start(tls=True, options={"tls_session_reuse": "optional"},
                   keys={"migrate_timeout": "1s"})
        self.ftp.put("pub/readme.txt", b"hello\n")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        protected = self.client(None, cls=ftplib.FTP_TLS, context=context)
        protected.login("alice", PASSWORD)  # AUTH TLS first
        protected.prot_p()
        clear = self.client("anonymous")
        generation = self.reload()
        summary = self.round_logged(generation)
        self.assertIn(": 1 sessions moved", summary)
        self.assertRegex(summary, r"\b1 left\b")
        self.assertEqual(protected.pwd(), "/")
        self.stored(protected, "kept.bin", b"over TLS")
        self.assertEqual(self.retrieved(protected, "kept.bin"), b"over TLS")
        self.assertEqual(self.retrieved(clear, "pub/readme.txt"), b"hello\n")
        self.assertNotRegex(self.server.log(), self.unloaded(1, "ftp"))  # it serves the TLS one
        protected.quit()
        self.server.wait_for_log(self.unloaded(1, "ftp"), WAIT)
        self.stop()

    def test_a_prepared_data_connection_holds_the_session_until_its_transfer(self):
        self.start(keys={"migrate_timeout": "30s"})
        self.ftp.put("pub/readme.txt", b"hello\n")
        idle = self.client("anonymous")
        busy = self.client("anonymous")
        busy.cwd("/pub")
        host, port = busy.makepasv()  # PASV: a listener of the old code's, open
        generation = self.reload()
        self.assertEqual(idle.pwd(), "/")  # the idle one is served meanwhile
        self.assertNotRegex(self.server.log(), rf"migrate: to generation {generation}:")
        with socket.create_connection((host, port), timeout=WAIT) as data:
            busy.putcmd("RETR readme.txt")
            self.assertTrue(busy.getresp().startswith("150"))
            received = b""
            while chunk := data.recv(65536):
                received += chunk
        self.assertEqual(received, b"hello\n")
        self.assertTrue(busy.voidresp().startswith("226"))
        summary = self.round_logged(generation)
        self.assertIn(": 2 sessions moved", summary)
        self.assertRegex(summary, r"\b0 left\b")
        self.server.wait_for_log(self.unloaded(1, "ftp"), WAIT)
        self.assertEqual(busy.pwd(), "/pub")
        self.assertTrue(busy.voidcmd("NOOP").startswith("200"))
        self.stop()

    def test_accounts_the_new_code_does_not_have_stay(self):
        """The new code looks each account up again: anonymous logins turned
        off and bob gone from the users file, their sessions stay on the old
        code (and work); alice's moves."""
        self.start()
        self.ftp.put("pub/readme.txt", b"hello\n")
        alice, bob, anonymous = (self.client(user) for user in ("alice", "bob", "anonymous"))
        with open(self.server.path("users"), "w") as users:
            users.write(f"alice:{crypt_hash(PASSWORD)}:home/alice:rw\n")
        generation = self.reload(anonymous="off")
        summary = self.round_logged(generation)
        self.assertIn(": 1 sessions moved", summary)
        log = self.server.log()
        self.assertIn("refused a session from ftp 1.0.0: anonymous logins are off", log)
        self.assertIn("refused a session from ftp 1.0.0: the account bob is no longer in "
                      "option.users", log)
        self.assertEqual(self.retrieved(anonymous, "pub/readme.txt"), b"hello\n")
        self.assertEqual(bob.pwd(), "/")
        self.assertEqual(alice.pwd(), "/")
        with self.assertRaisesRegex(ftplib.error_perm, "^530"):
            self.client(None).login()  # the new code's rule for new sessions
        self.stop()


class Limits(FtpMigration):
    def test_moved_sessions_count_once_toward_max_sessions_per_ip(self):
        self.start(options={"max_sessions_per_ip": "3"})
        clients = [self.client("anonymous") for _ in range(3)]
        generation = self.reload()
        self.assertIn(": 3 sessions moved", self.round_logged(generation))
        self.server.wait_for_log(self.unloaded(1, "ftp"), WAIT)
        full = "421 Too many connections from your address.\r\n"
        self.assertEqual(self.greeting(), full)  # counted once each, not twice, not none
        clients[0].quit()
        self.clients.remove(clients[0])
        wait_until(self.admitted, "the place of the client that left came free", WAIT)
        self.assertEqual(self.greeting(), full)
        self.stop()

    def admitted(self):
        """Whether a new client got in (it stays) rather than a 421."""
        ftp = ftplib.FTP(timeout=WAIT)
        try:
            ftp.connect(self.ftp.host, self.ftp.port)
        except ftplib.error_temp:
            ftp.close()
            return False
        self.addCleanup(ftp.close)
        self.clients.append(ftp)
        return True


class ThroughUpgrade(FtpMigration):
    def test_logged_in_clients_keep_their_sessions_through_an_upgrade(self):
        """wharfctl upgrade replaces master and workers: each old worker hands
        its logged-in control sessions to a new one (another binary, another
        process), which resumes them: the same connection, login, folder,
        TYPE and half-sent command; the old workers exit without draining."""
        folder = self.enterContext(tempfile.TemporaryDirectory())
        binary = os.path.join(folder, "wharfd")
        shutil.copy(WHARFD, binary)
        self.server_binary = binary
        self.start(keys={})
        data = os.urandom(100_000)
        self.ftp.put("home/alice/docs/data.bin", data)
        clients = [self.client("alice") for _ in range(6)]
        for ftp in clients:
            ftp.cwd("/docs")
            ftp.sendcmd("TYPE A")
        clients[0].sock.sendall(b"NO")
        old = set(self.server.worker_pids())
        shutil.copy(WHARFD_NEXT, binary + ".new")
        os.rename(binary + ".new", binary)
        result = self.server.ctl("upgrade", timeout=180)
        self.assertEqual(result.returncode, 0, result.stderr + self.server.log())
        for pid in old:
            self.server.wait_for_log(rf"\[{pid}\].*migrate: to worker \d+: .*", WAIT)
        moved = sum(int(count) for count in
                    re.findall(r"migrate: to worker \d+: (\d+) sessions moved", self.server.log()))
        self.assertEqual(moved, len(clients), self.server.log())
        for pid in old:  # they held no session any more: no drain_timeout to wait out
            wait_until(lambda pid=pid: gone(pid), f"old worker {pid} has exited", WAIT)
        clients[0].sock.sendall(b"OP\r\n")
        self.assertEqual(clients[0].getresp(), "200 NOOP ok.")
        for i, ftp in enumerate(clients):
            self.assertEqual(ftp.pwd(), "/docs")
            self.assertIn("TYPE: ASCII", ftp.sendcmd("STAT"))
            self.assertEqual(self.retrieved(ftp, "data.bin"), data)
            upload = os.urandom(500 + i)
            self.stored(ftp, f"after-upgrade-{i}.bin", upload)
            self.assertEqual(self.ftp.read(f"home/alice/docs/after-upgrade-{i}.bin"), upload)
        self.stop()
