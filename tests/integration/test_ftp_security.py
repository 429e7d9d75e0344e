"""The FTP plugin's security rows, one test each: FTP bounce, data
connection theft, escaping the root, brute force, anonymous writes, session
caps, hostile command lines, idle clients, huge listings, and commands
before login; and files planted in the tree (FIFOs, devices, names with CR
or LF, symlinks out of the jail) and set-id modes."""

import ftplib
import io
import os
import re
import signal
import socket
import ssl
import stat
import subprocess
import time

from ftp_fixture import PASSWORD, FtpServer, sha256
from wharf_harness import WharfTestCase, wait_until


class FtpServerCase(WharfTestCase):
    def start(self, **options):
        self.ftp_server = FtpServer(self, options=options).start()
        return self.ftp_server

    def tearDown(self):
        self.assertStops(self.ftp_server.server)

    def assertReply(self, code, call, *args):
        with self.assertRaises(ftplib.Error) as caught:
            call(*args)
        self.assertTrue(str(caught.exception).startswith(str(code)), str(caught.exception))


class FtpSecurity(FtpServerCase):
    def test_ftp_bounce_is_refused(self):
        server = self.start()
        with socket.socket() as victim:  # another host: must never be connected to
            victim.bind(("127.0.0.2", 0))
            victim.listen()
            victim.settimeout(0.5)
            port = victim.getsockname()[1]
            ftp = server.client("anonymous")
            self.assertReply(501, ftp.sendcmd, f"PORT 127,0,0,2,{port >> 8},{port & 255}")
            self.assertReply(501, ftp.sendcmd, f"EPRT |1|127.0.0.2|{port}|")
            self.assertReply(501, ftp.sendcmd, "PORT 127,0,0,1,0,21")  # a privileged port
            self.assertReply(501, ftp.sendcmd, "EPRT |1|127.0.0.1|25|")
            self.assertReply(425, ftp.sendcmd, "LIST")  # no data connection was set up
            with self.assertRaises(socket.timeout):
                victim.accept()
            ftp.quit()
        server.server.wait_for_log("FTP bounce")

    def test_a_passive_connection_from_another_address_is_refused(self):
        server = self.start()
        server.put("pub/f.txt", b"for the client only")
        ftp = server.client("anonymous")
        port = int(ftp.sendcmd("EPSV").split("|||")[1].rstrip("|)"))
        thief = socket.socket()
        thief.bind(("127.0.0.2", 0))
        thief.settimeout(5)
        thief.connect(("127.0.0.1", port))
        ftp.putcmd("RETR pub/f.txt")
        self.assertEqual(thief.recv(100), b"")  # closed, nothing sent
        thief.close()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            self.assertTrue(ftp.getresp().startswith("150"))
            data = bytearray()
            while chunk := client.recv(100):
                data += chunk
        self.assertEqual(bytes(data), b"for the client only")
        self.assertTrue(ftp.voidresp().startswith("226"))
        ftp.quit()
        server.server.wait_for_log("refused a data connection from 127.0.0.2")

    def test_paths_never_leave_the_root(self):
        server = self.start()
        outside = self.ftp_server.server.path("outside")
        os.makedirs(outside)
        with open(os.path.join(outside, "secret"), "w") as secret:
            secret.write("secret")
        os.chmod(os.path.join(outside, "secret"), 0o600)
        home = os.path.join(server.root, "home", "alice")
        os.symlink(outside, os.path.join(home, "escape"))
        os.symlink(os.path.join(outside, "secret"), os.path.join(home, "secret-link"))
        os.symlink("../../../outside", os.path.join(home, "relative-escape"))
        ftp = server.client("alice")
        for path in ["../../../outside/secret", "/../outside/secret", "escape/secret",
                     "secret-link", "relative-escape/secret", "..%2f..%2foutside%2fsecret",
                     "../../pub/../../outside/secret"]:
            with self.subTest(path=path):
                self.assertReply(550, ftp.retrbinary, "RETR " + path, lambda data: None)
                self.assertReply(550, ftp.size, path)
        self.assertTrue(ftp.sendcmd("CWD ../../..").startswith("250"))
        self.assertEqual(ftp.pwd(), "/")
        self.assertReply(553, ftp.storbinary, "STOR escape/planted", io.BytesIO(b"x"))
        self.assertReply(553, ftp.storbinary, "APPE secret-link", io.BytesIO(b"x"))
        self.assertReply(550, ftp.mkd, "escape/newdir")
        self.assertReply(550, ftp.sendcmd, "SITE CHMOD 777 secret-link")
        self.assertReply(550, ftp.nlst, "escape")  # resolved inside the root: not there
        ftp.quit()
        self.assertEqual(sorted(os.listdir(outside)), ["secret"])
        with open(os.path.join(outside, "secret")) as secret:
            self.assertEqual(secret.read(), "secret")
        self.assertEqual(os.stat(os.path.join(outside, "secret")).st_mode & 0o777, 0o600)

    def test_brute_force_is_slowed_then_cut(self):
        server = self.start(max_login_failures="3")
        ftp = server.client()
        self.assertReply(530, ftp.login, "alice", "guess1")
        self.assertReply(530, ftp.login, "alice", "guess2")
        self.assertReply(421, ftp.login, "alice", "guess3")
        with self.assertRaises((EOFError, ConnectionError, ftplib.Error)):
            ftp.sendcmd("NOOP")
        server.server.wait_for_log(r"failed login for alice \(3\)")
        self.assertTrue(server.client("alice").quit().startswith("221"))  # others may log in

    def test_an_account_guessed_from_many_addresses_is_locked(self):
        """In every mode, and across workers: each session process (fork) and
        each worker counted alone, so fork mode never locked (30 failures from
        30 addresses, then the right password: 230)."""
        for mode, workers in (("thread", "1"), ("fork", "1"), ("pool", "2")):
            with self.subTest(mode=mode, workers=workers):
                server = FtpServer(self, mode=mode, daemon={"workers": workers},
                                   options={"max_login_failures": "100",
                                            "max_account_failures": "5",
                                            "account_lockout": "60m"}).start()
                self.ftp_server = server
                for n in range(5):  # each guess from another address, as a botnet would
                    with socket.create_connection((server.host, server.port), timeout=20,
                                                  source_address=(f"127.0.0.{n + 10}", 0)) as raw:
                        ftp = ftplib.FTP(timeout=20)
                        ftp.sock, ftp.af = raw, raw.family
                        ftp.file = raw.makefile("r", encoding="latin-1")
                        ftp.welcome = ftp.getresp()
                        self.assertReply(530, ftp.login, "alice", f"guess{n}")
                        ftp.close()
                server.server.wait_for_log(r"account alice locked for 3600 s after 5 failed logins")
                for _ in range(3):  # even the right one, whichever worker or process takes it
                    client = server.client()
                    self.assertReply(530, client.login, "alice", PASSWORD)
                    client.close()
                self.assertEqual(server.server.log().count("locked for"), 1)
                self.assertTrue(server.client("bob").quit().startswith("221"))  # not the others
                self.assertStops(server.server)

    def test_anonymous_is_read_only(self):
        server = self.start()
        server.put("pub/f.txt", b"keep")
        ftp = server.client("anonymous")
        for code, call, args in [(553, ftp.storbinary, ("STOR pub/new", io.BytesIO(b"x"))),
                                 (553, ftp.storbinary, ("APPE pub/f.txt", io.BytesIO(b"x"))),
                                 (550, ftp.mkd, ("pub/d",)), (550, ftp.delete, ("pub/f.txt",)),
                                 (550, ftp.rmd, ("pub",)), (550, ftp.sendcmd, ("RNFR pub/f.txt",)),
                                 (550, ftp.sendcmd, ("SITE CHMOD 777 pub/f.txt",)),
                                 (550, ftp.sendcmd, ("MFMT 20200101000000 pub/f.txt",))]:
            with self.subTest(command=args[0]):
                self.assertReply(code, call, *args)  # RFC 959 5.4: 553 for STOR and APPE
        ftp.quit()
        self.assertEqual(server.read("pub/f.txt"), b"keep")
        bob = server.client("bob")  # a read-only account too
        self.assertReply(553, bob.storbinary, "STOR x", io.BytesIO(b"x"))
        bob.quit()

    def test_anonymous_can_be_off(self):
        server = self.start(anonymous="off")
        ftp = server.client()
        self.assertReply(530, ftp.login)
        ftp.close()

    def test_session_caps_overall_and_per_address(self):
        server = self.start(max_sessions="3", max_sessions_per_ip="2")
        first, second = server.client(), server.client()
        with self.assertRaises(ftplib.error_temp) as refused:  # 421 at greeting
            server.client()
        self.assertTrue(str(refused.exception).startswith("421"))
        third = ftplib.FTP(timeout=20, source_address=("127.0.0.2", 0))
        third.connect(server.host, server.port)  # another address: room for it
        with self.assertRaises(ftplib.error_temp):  # the overall cap of 3
            ftplib.FTP(timeout=20, source_address=("127.0.0.3", 0)).connect(server.host,
                                                                            server.port)
        for ftp in (first, second, third):
            ftp.quit()

    def test_hostile_command_lines_get_500_and_the_session_goes_on(self):
        server = self.start()
        with socket.create_connection((server.host, server.port), timeout=20) as raw:
            reader = raw.makefile("rb")
            self.assertTrue(reader.readline().startswith(b"220"))
            for line in [b"A" * 100000 + b"\r\n", b"NOOP\x00x\r\n", b"NOOP \xff\xf1\xc3\r\n",
                         b"\r\n", b"USER \xc3\x28\r\n"]:
                raw.sendall(line)
                self.assertTrue(reader.readline().startswith(b"500"), line[:20])
            raw.sendall(b"NOOP\r\n")
            self.assertTrue(reader.readline().startswith(b"200"))

    def test_a_command_line_with_a_control_character_gets_500(self):
        # RFC 854's NVT has a CR only in CR LF (and CR NUL): a bare one, or any
        # other control character, made folders no listing shows ("MKD a\rb").
        server = self.start()
        with socket.create_connection((server.host, server.port), timeout=20) as raw:
            reader = raw.makefile("rb")
            self.assertTrue(reader.readline().startswith(b"220"))
            raw.sendall(f"USER alice\r\nPASS {PASSWORD}\r\n".encode())
            self.assertTrue(reader.readline().startswith(b"331"))
            self.assertTrue(reader.readline().startswith(b"230"))
            for line in [b"MKD a\rb\r\n", b"MKD tab\tbed\r\n", b"MKD esc\x1b[2J\r\n",
                         b"USER a\rb\r\n"]:
                raw.sendall(line)
                self.assertTrue(reader.readline().startswith(b"500"), line)
            raw.sendall(b"PWD\r\n")  # still logged in
            self.assertTrue(reader.readline().startswith(b'257 "/"'))
        self.assertEqual(os.listdir(os.path.join(server.root, "home", "alice")), [])

    def test_idle_clients_time_out_but_long_transfers_do_not(self):
        server = self.start(idle_timeout="1s")
        server.put("pub/big.bin", os.urandom(4 * 1024 * 1024))
        ftp = server.client("anonymous")
        received = bytearray()

        def slow_reader(chunk):  # a transfer longer than idle_timeout
            received.extend(chunk)
            time.sleep(0.02)

        ftp.retrbinary("RETR pub/big.bin", slow_reader, blocksize=32768)
        self.assertEqual(len(received), 4 * 1024 * 1024)
        self.assertTrue(ftp.getline().startswith("421"))  # then idle: cut
        ftp.close()

    def test_a_client_that_reads_no_reply_is_closed_after_idle_timeout(self):
        server = self.start(idle_timeout="1s")
        for n in range(1000):
            server.put(f"pub/file-{n:04}.txt", b"")
        with socket.socket() as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            client.connect(("127.0.0.1", server.port))
            client.sendall(b"USER anonymous\r\nPASS x@y\r\n" + b"STAT /pub\r\n" * 200)
            # ... and reads nothing: 200 replies of 60 kB cannot all be sent.
            server.server.wait_for_log(r"closing: the client read no reply for idle_timeout "
                                       r"\(1 s\)")
        self.assertEqual(server.client("anonymous").sendcmd("NOOP")[:3], "200")

    def test_an_unused_passive_port_is_closed_after_data_timeout(self):
        server = self.start(data_timeout="1s")
        ftp = server.client("anonymous")
        port = int(ftp.sendcmd("EPSV").split("|")[3])
        server.server.wait_for_log(r"closed a passive port no transfer used within data_timeout")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=20).close()
        self.assertEqual(ftp.sendcmd("NOOP")[:3], "200")  # the session goes on
        self.assertEqual(ftp.nlst("/pub"), [])  # with a new passive port
        ftp.quit()

    def test_listings_are_bounded(self):
        server = self.start(max_list_entries="5")
        for i in range(20):
            server.put(f"pub/f{i:02}", b"")
        ftp = server.client("anonymous")
        self.assertEqual(len(ftp.nlst("pub")), 5)
        ftp.quit()
        server.server.wait_for_log("cut at max_list_entries")

    def test_tls_required_refuses_clear_logins(self):
        server = FtpServer(self, tls=True)
        server.server.listeners["ftp"]["option.tls"] = "require"
        server.server.write_config()
        self.ftp_server = server.start()
        ftp = server.client()
        self.assertReply(530, ftp.login, "alice", PASSWORD)
        ftp.close()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        ftp = server.client(cls=ftplib.FTP_TLS, context=context)
        ftp.login("alice", PASSWORD)  # AUTH TLS first: accepted
        self.assertReply(521, ftp.nlst)  # data in the clear (no PROT P): refused
        self.assertReply(503, ftp.sendcmd, "PROT P")  # PBSZ comes first
        ftp.sendcmd("PBSZ 0")
        self.assertReply(534, ftp.sendcmd, "PROT C")
        ftp.quit()
        listing = subprocess.run(["curl", "-sS", "--ssl-reqd", "-k", server.url("/", "alice")],
                                 capture_output=True, timeout=60)
        self.assertEqual(listing.returncode, 0, listing.stderr)


class PlantedFiles(FtpServerCase):
    """Files planted on disk by someone with shell access to the tree: they
    must not hold a session, forge listings, or disclose the host's paths."""

    def test_a_fifo_or_device_is_refused_at_once_and_the_server_still_stops(self):
        server = self.start()
        home = os.path.join(server.root, "home", "alice")
        os.mkfifo(os.path.join(home, "pipe"))
        os.mknod(os.path.join(home, "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        ftp = server.client("alice")
        for name in ("pipe", "null"):
            with self.subTest(name=name):
                self.assertReply(550, ftp.retrbinary, f"RETR {name}", lambda data: None)
                self.assertReply(553, ftp.storbinary, f"APPE {name}", io.BytesIO(b"x"))
        self.assertEqual(ftp.sendcmd("NOOP")[:3], "200")  # the session goes on
        ftp.quit()

    def test_names_with_cr_or_lf_or_not_in_utf8_never_reach_a_listing(self):
        server = self.start()
        server.put("pub/plain.txt", b"x")
        forged = b"evil\r\n-rw-r--r--   1 ftp ftp 0 Jan  1  2020 forged"
        for name in (forged, b"latin1-caf\xe9", b"telnet-\xff-iac"):
            with open(os.path.join(os.fsencode(server.root), b"pub", name), "wb"):
                pass
        ftp = server.client("anonymous")
        lines = []
        ftp.retrlines("LIST /pub", lines.append)
        self.assertEqual([line.split()[-1] for line in lines], ["plain.txt"])
        self.assertEqual(ftp.nlst("/pub"), ["plain.txt"])
        self.assertEqual([name for name, _ in ftp.mlsd("/pub")], ["plain.txt"])
        self.assertNotIn("forged", ftp.sendcmd("STAT /pub"))
        ftp.quit()
        server.server.wait_for_log(r"listing of /pub: left out 3 names with control characters "
                                   r"or not in UTF-8")
        self.assertNotIn("forged", server.server.log())

    def test_links_out_of_the_jail_are_listed_without_their_target(self):
        server = self.start()
        os.symlink("/etc/passwd", os.path.join(server.root, "pub", "outside"))
        os.symlink("../../etc", os.path.join(server.root, "pub", "up"))
        os.symlink("plain.txt", os.path.join(server.root, "pub", "inside"))
        server.put("pub/plain.txt", b"x")
        ftp = server.client("anonymous")
        lines = []
        ftp.retrlines("LIST /pub", lines.append)
        shown = {line.split()[8]: line for line in lines}
        self.assertTrue(shown["inside"].endswith("inside -> plain.txt"), lines)
        self.assertTrue(shown["outside"].endswith(" outside"), lines)
        self.assertTrue(shown["up"].endswith(" up"), lines)
        self.assertNotIn("/etc", "\n".join(lines))
        ftp.quit()

    def test_any_legal_name_can_be_stored_and_a_longer_one_is_refused_before_the_data(self):
        server = self.start()
        ftp = server.client("alice")
        longest = "n" * 255
        ftp.storbinary(f"STOR {longest}", io.BytesIO(b"kept"))
        self.assertEqual(server.read(f"home/alice/{longest}"), b"kept")
        ftp.storbinary(f"STOR {longest}", io.BytesIO(b"replaced"))  # the atomic overwrite too
        self.assertEqual(server.read(f"home/alice/{longest}"), b"replaced")
        with self.assertRaises(ftplib.error_perm) as caught:
            ftp.storbinary("STOR " + "n" * 256, io.BytesIO(b"x"))
        self.assertTrue(str(caught.exception).startswith("553 File name too long"))
        ftp.quit()

    def test_control_characters_in_names_never_reach_the_log_raw(self):
        server = self.start()
        ftp = server.client("alice")
        # refused with the line (500), before any path or name is logged
        self.assertReply(500, ftp.storbinary, "STOR esc\x1b[31mred", io.BytesIO(b"x"))
        self.assertReply(500, ftp.sendcmd, "USER esc\x1b[31mred")
        ftp.storbinary("STOR plain", io.BytesIO(b"x"))
        ftp.quit()
        server.server.wait_for_log(r"STOR /plain: 1 bytes")
        self.assertNotIn("\x1b", server.server.log())

    def test_site_chmod_refuses_set_id_and_sticky_bits(self):
        server = self.start()
        path = server.put("home/alice/tool", b"#!/bin/sh\n")
        os.chmod(path, 0o644)
        ftp = server.client("alice")
        for mode in ("4777", "2755", "1777"):
            with self.subTest(mode=mode):
                self.assertReply(550, ftp.sendcmd, f"SITE CHMOD {mode} tool")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o644)
        self.assertEqual(ftp.sendcmd("SITE CHMOD 755 tool")[:3], "200")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o755)
        ftp.quit()


class SessionCapsAcrossProcesses(WharfTestCase):
    """max_sessions_per_ip was counted in each process: in fork mode every
    session process counted alone (no cap at all), and each worker had its own.
    The counts live in the listener's zone now, and a session process killed
    outright gives its place back."""

    def refused(self, server):
        ftp = ftplib.FTP(timeout=20)
        try:
            ftp.connect(server.host, server.port)
            ftp.quit()
            return False
        except ftplib.error_temp as error:  # 421 at the greeting
            self.assertTrue(str(error).startswith("421"), str(error))
            return True
        finally:
            ftp.close()

    def test_fork_sessions_and_several_workers_count_toward_one_cap(self):
        for mode, daemon in (("fork", None), ("thread", {"workers": "2"})):
            with self.subTest(mode=mode):
                server = FtpServer(self, mode=mode, daemon=daemon,
                                   options={"max_sessions_per_ip": "2"}).start()
                held = [server.client(), server.client()]
                self.assertEqual([self.refused(server) for _ in range(4)], [True] * 4)
                held.pop().quit()
                wait_until(lambda: not self.refused(server), "a place given back")
                for ftp in held:
                    ftp.quit()
                self.assertStops(server.server)

    def test_a_killed_session_process_gives_its_place_back(self):
        server = FtpServer(self, mode="fork", options={"max_sessions_per_ip": "1"}).start()
        ftp = server.client()
        self.assertTrue(self.refused(server))
        listing = subprocess.run(["ss", "-tnpH", "state", "established",
                                  f"( sport = :{server.port} )"], capture_output=True, text=True)
        owner, = set(re.findall(r"pid=(\d+)", listing.stdout))
        os.kill(int(owner), signal.SIGKILL)
        wait_until(lambda: not self.refused(server), "the dead process's place given back")
        ftp.close()
        self.assertStops(server.server)

    def test_by_default_one_address_holds_a_quarter_of_the_passive_ports(self):
        # One PASV port per session: 10 sessions from one address took a range of 10.
        server = FtpServer(self, options={"passive_ports": "61100-61107"}).start()
        held = [server.client(), server.client()]  # 8 ports: 2 per address
        self.assertTrue(self.refused(server))
        other = ftplib.FTP(timeout=20, source_address=("127.0.0.2", 0))
        other.connect(server.host, server.port)  # another address has room
        for ftp in held + [other]:
            ftp.quit()
        self.assertStops(server.server)
