"""The FTP plugin's protocol, driven by Python's ftplib: every command, the
reply codes of the error cases, MLSD facts, TYPE A conversion, resume,
active and passive modes on IPv4 and IPv6, ABOR and every other command during
a transfer (answered at once), and Telnet on the control connection."""

import ftplib
import io
import os
import signal
import socket
import ssl
import time

from ftp_fixture import PASSWORD, FtpServer, sha256
from wharf_harness import WharfTestCase


class FtpProtocol(WharfTestCase):
    @classmethod
    def setUpClass(cls):
        cls.big = os.urandom(3 * 1024 * 1024 + 17)

    def setUp(self):
        self.ftp_server = FtpServer(self).start()
        self.ftp_server.put("pub/hello.txt", b"hello\nworld\n")
        self.ftp_server.put("pub/big.bin", self.big)

    def tearDown(self):
        self.assertStops(self.ftp_server.server)

    def alice(self):
        return self.ftp_server.client("alice")

    def assertReply(self, code, call, *args):
        with self.assertRaises(ftplib.Error) as caught:
            call(*args)
        self.assertTrue(str(caught.exception).startswith(str(code)), str(caught.exception))

    def test_greeting_login_and_logout(self):
        ftp = self.ftp_server.client()
        self.assertTrue(ftp.getwelcome().startswith("220 "))
        self.assertReply(503, ftp.sendcmd, "PASS x")
        self.assertReply(530, ftp.login, "alice", "wrong")
        self.assertTrue(ftp.login("alice", PASSWORD).startswith("230"))
        self.assertTrue(ftp.sendcmd("REIN").startswith("220"))
        self.assertReply(530, ftp.pwd)
        self.assertTrue(ftp.login().startswith("230"))  # anonymous
        self.assertTrue(ftp.quit().startswith("221"))

    def test_rfc_959_reply_wordings(self):
        ftp = self.ftp_server.client()
        self.assertEqual(self.reply_of(ftp, "PASS x"),
                         "503 Bad sequence of commands: send USER first.")
        self.assertEqual(self.reply_of(ftp, "XYZZY"), "500 Syntax error, command unrecognized.")
        self.assertEqual(self.reply_of(ftp, "SMNT /"), "502 Command not implemented.")
        ftp.login("alice", PASSWORD)
        self.assertEqual(self.reply_of(ftp, "RNTO x"),
                         "503 Bad sequence of commands: send RNFR first.")
        self.assertEqual(self.reply_of(ftp, "MKD"), "501 Syntax: MKD <folder>")
        ftp.quit()

    @staticmethod
    def reply_of(ftp, command):
        try:
            return ftp.sendcmd(command)
        except ftplib.Error as error:
            return str(error)

    def test_every_command_needs_a_login_first(self):
        ftp = self.ftp_server.client()
        for command in ["PWD", "CWD /", "LIST", "RETR pub/hello.txt", "STOR x", "SITE HELP",
                        "SITE CHMOD 777 x", "MKD x", "SIZE pub/hello.txt", "PASV", "MLST /"]:
            with self.subTest(command=command):
                self.assertReply(530, ftp.sendcmd, command)
        for command, code in [("SYST", "215"), ("FEAT", "211"), ("NOOP", "200"), ("HELP", "214")]:
            self.assertTrue(ftp.sendcmd(command).startswith(code))
        ftp.quit()

    def test_information_commands(self):
        ftp = self.alice()
        self.assertEqual(ftp.sendcmd("SYST"), "215 UNIX Type: L8")
        features = ftp.sendcmd("FEAT")
        for feature in ["EPRT", "EPSV", "MDTM", "MFMT", "MLST type*;size*;modify*;perm*;unique*;",
                        "PASV", "REST STREAM", "SIZE", "UTF8"]:
            self.assertIn("\n " + feature + "\n", features)
        self.assertTrue(ftp.sendcmd("OPTS UTF8 ON").startswith("200"))
        self.assertReply(501, ftp.sendcmd, "OPTS BOGUS")
        self.assertIn("RETR", ftp.sendcmd("HELP"))
        self.assertTrue(ftp.sendcmd("HELP RETR").startswith("214"))
        self.assertTrue(ftp.sendcmd("STAT").startswith("211"))
        self.ftp_server.put("home/alice/mine.txt", b"m")
        status = ftp.sendcmd("STAT /")
        self.assertTrue(status.startswith("212-"), status)  # a folder's status
        self.assertIn(" mine.txt\n", status)
        self.assertEqual(ftp.sendcmd("NOOP")[:3], "200")
        self.assertTrue(ftp.sendcmd("ACCT x").startswith("202"))
        self.assertTrue(ftp.sendcmd("ALLO 100").startswith("202"))
        self.assertTrue(ftp.sendcmd("STRU F").startswith("200"))
        self.assertReply(504, ftp.sendcmd, "STRU R")
        self.assertTrue(ftp.sendcmd("MODE S").startswith("200"))
        self.assertReply(504, ftp.sendcmd, "MODE B")
        self.assertReply(504, ftp.sendcmd, "TYPE E")
        self.assertTrue(ftp.sendcmd("SITE HELP").startswith("214"))
        ftp.quit()

    def test_syntax_errors(self):
        ftp = self.alice()
        self.assertReply(500, ftp.sendcmd, "FROB")
        self.assertReply(501, ftp.sendcmd, "RETR")  # missing argument
        self.assertReply(501, ftp.sendcmd, "PWD extra")  # extra argument
        self.assertReply(501, ftp.sendcmd, "REST abc")
        self.assertReply(501, ftp.sendcmd, "PORT 1,2,3")
        self.assertReply(501, ftp.sendcmd, "MFMT 2020 x")
        ftp.quit()

    def test_folders(self):
        ftp = self.alice()
        self.assertEqual(ftp.pwd(), "/")
        self.assertEqual(ftp.sendcmd('MKD new "quoted"'), '257 "/new ""quoted""" created.')
        self.assertEqual(ftp.mkd("sub"), "/sub")
        ftp.cwd("sub")
        self.assertEqual(ftp.pwd(), "/sub")
        self.assertTrue(ftp.sendcmd("CDUP").startswith("250"))
        self.assertEqual(ftp.pwd(), "/")
        self.assertTrue(ftp.sendcmd("XCWD sub").startswith("250"))
        self.assertTrue(ftp.sendcmd("XPWD").startswith('257 "/sub"'))
        self.assertTrue(ftp.sendcmd("XCUP").startswith("250"))
        self.assertReply(550, ftp.cwd, "missing")
        self.assertReply(550, ftp.mkd, "sub")  # exists
        ftp.storbinary("STOR sub/f", io.BytesIO(b"x"))
        self.assertReply(550, ftp.rmd, "sub")  # not empty
        ftp.delete("sub/f")
        self.assertTrue(ftp.rmd("sub").startswith("250"))
        self.assertReply(550, ftp.rmd, "sub")
        self.assertReply(550, ftp.delete, "missing")
        ftp.quit()
        self.assertTrue(os.path.isdir(os.path.join(self.ftp_server.root, "home/alice",
                                                   'new "quoted"')))

    def test_rename(self):
        ftp = self.alice()
        ftp.storbinary("STOR a", io.BytesIO(b"content"))
        self.assertReply(503, ftp.sendcmd, "RNTO b")  # no RNFR
        self.assertReply(550, ftp.sendcmd, "RNFR missing")
        self.assertTrue(ftp.sendcmd("RNFR a").startswith("350"))
        self.assertTrue(ftp.sendcmd("RNTO b").startswith("250"))
        self.assertEqual(ftp.nlst(), ["b"])
        self.assertTrue(ftp.sendcmd("RNFR b").startswith("350"))
        ftp.sendcmd("NOOP")
        self.assertReply(503, ftp.sendcmd, "RNTO c")  # RNTO must follow RNFR at once
        ftp.quit()

    def test_site_chmod_and_type_l8(self):
        ftp = self.alice()
        ftp.storbinary("STOR f", io.BytesIO(b"x"))
        self.assertTrue(ftp.sendcmd("SITE CHMOD 600 f").startswith("200"))
        mode = os.stat(os.path.join(self.ftp_server.root, "home/alice/f")).st_mode & 0o777
        self.assertEqual(mode, 0o600)
        self.assertReply(501, ftp.sendcmd, "SITE CHMOD 9z9 f")
        self.assertReply(550, ftp.sendcmd, "SITE CHMOD 644 missing")
        self.assertTrue(ftp.sendcmd("TYPE L 8").startswith("200"))
        self.assertTrue(ftp.sendcmd("STAT f").startswith("213-"))
        ftp.quit()

    def test_size_mdtm_mfmt(self):
        ftp = self.alice()
        ftp.storbinary("STOR f", io.BytesIO(b"12345"))
        self.assertEqual(ftp.size("f"), 5)
        self.assertReply(550, ftp.size, "missing")
        self.assertReply(550, ftp.size, "/")  # not a file
        self.assertEqual(ftp.sendcmd("MFMT 20200102030405 f"), "213 Modify=20200102030405; f")
        self.assertEqual(ftp.sendcmd("MDTM f"), "213 20200102030405")
        self.assertReply(550, ftp.sendcmd, "MDTM missing")
        ftp.quit()

    def test_retrieve_store_and_checksums(self):
        ftp = self.ftp_server.client("anonymous")
        data = bytearray()
        ftp.retrbinary("RETR pub/big.bin", data.extend)
        self.assertEqual(sha256(data), sha256(self.big))
        self.assertReply(550, ftp.retrbinary, "RETR pub/missing", data.extend)
        self.assertReply(550, ftp.retrbinary, "RETR pub", data.extend)
        ftp.quit()
        ftp = self.alice()
        ftp.storbinary("STOR up.bin", io.BytesIO(self.big))
        self.assertEqual(sha256(self.ftp_server.read("home/alice/up.bin")), sha256(self.big))
        ftp.quit()

    def test_stou_makes_a_unique_file(self):
        ftp = self.alice()
        ftp.set_pasv(True)
        connection, _ = ftp.ntransfercmd("STOU")
        connection.sendall(b"unique")
        connection.close()
        self.assertTrue(ftp.voidresp().startswith("226"))
        names = ftp.nlst()
        self.assertEqual(len(names), 1)
        self.assertEqual(self.ftp_server.read("home/alice/" + names[0]), b"unique")
        ftp.quit()

    def test_resume_download_and_upload(self):
        ftp = self.alice()
        self.ftp_server.put("home/alice/big.bin", self.big)
        tail = bytearray()
        ftp.retrbinary("RETR big.bin", tail.extend, rest=1000000)
        self.assertEqual(sha256(self.big[:1000000] + tail), sha256(self.big))
        self.assertReply(554, ftp.retrbinary, "RETR big.bin", tail.extend, None,
                         len(self.big) + 1)
        ftp.storbinary("STOR part.bin", io.BytesIO(self.big[:500000]))
        ftp.storbinary("STOR part.bin", io.BytesIO(self.big[500000:]), rest=500000)
        self.assertEqual(sha256(self.ftp_server.read("home/alice/part.bin")), sha256(self.big))
        ftp.storbinary("APPE app.bin", io.BytesIO(self.big[:1234]))
        ftp.storbinary("APPE app.bin", io.BytesIO(self.big[1234:]))
        self.assertEqual(sha256(self.ftp_server.read("home/alice/app.bin")), sha256(self.big))
        ftp.quit()

    @staticmethod
    def raw_download(ftp, name):
        """RETR's bytes as the server sent them (retrlines would convert them)."""
        connection = ftp.transfercmd(f"RETR {name}")
        wire = bytearray()
        while chunk := connection.recv(100):
            wire += chunk
        connection.close()
        ftp.voidresp()
        return bytes(wire)

    def test_ascii_mode_converts_line_ends(self):
        ftp = self.alice()
        self.ftp_server.put("home/alice/unix.txt", b"one\ntwo\n")
        ftp.sendcmd("TYPE A")
        self.assertEqual(self.raw_download(ftp, "unix.txt"), b"one\r\ntwo\r\n")
        # A CRLF already in the file is sent as it is, never as CR CR LF.
        self.ftp_server.put("home/alice/mixed.txt", b"ab\r\ncd\r\nlone\rcr\nend\n")
        self.assertEqual(self.raw_download(ftp, "mixed.txt"), b"ab\r\ncd\r\nlone\rcr\r\nend\r\n")
        ftp.storlines("STOR dos.txt", io.BytesIO(b"a\r\nb\r\n"))
        self.assertEqual(self.ftp_server.read("home/alice/dos.txt"), b"a\nb\n")
        connection = ftp.transfercmd("STOR lone.txt")  # raw: storlines would rewrite the CR
        connection.sendall(b"x\r\ny\rz\r\n")
        connection.close()
        ftp.voidresp()
        self.assertEqual(self.ftp_server.read("home/alice/lone.txt"), b"x\ny\rz\n")
        self.assertReply(504, ftp.sendcmd, "REST 5")  # resuming is for TYPE I
        ftp.sendcmd("TYPE I")
        ftp.quit()

    def test_opts_mlst_selects_the_facts_sent(self):
        ftp = self.ftp_server.client("anonymous")
        self.ftp_server.put("pub/f.txt", b"12345")
        self.assertEqual(ftp.sendcmd("OPTS MLST type;SIZE;bogus;"), "200 MLST OPTS type;size;")
        self.assertIn(" MLST type*;size*;modify;perm;unique;", ftp.sendcmd("FEAT"))
        self.assertEqual(ftp.sendcmd("MLST /pub/f.txt").splitlines()[1],
                         " type=file;size=5; /pub/f.txt")
        facts = dict(ftp.mlsd("/pub"))["f.txt"]
        self.assertEqual(facts, {"type": "file", "size": "5"})
        self.assertEqual(ftp.sendcmd("OPTS MLST"), "200 MLST OPTS")  # none selects none
        self.assertEqual(ftp.sendcmd("MLST /pub/f.txt").splitlines()[1], "  /pub/f.txt")
        self.assertEqual(ftp.sendcmd("OPTS MLST modify;"), "200 MLST OPTS modify;")
        self.assertEqual(list(dict(ftp.mlsd("/pub"))["f.txt"]), ["modify"])
        ftp.quit()

    def test_listings_and_facts(self):
        ftp = self.ftp_server.client("anonymous")
        lines = []
        ftp.retrlines("LIST pub", lines.append)
        self.assertEqual(len(lines), 2)
        self.assertRegex(lines[0], r"^-rw-r--r-- +1 ftp +ftp +\d+ \w{3} [ \d]\d \d\d:\d\d (big\.bin|hello\.txt)$")
        lines = []
        ftp.retrlines("LIST -la pub/hello.txt", lines.append)
        self.assertTrue(lines[0].endswith(" 12 " + lines[0].split(" 12 ")[1]))
        self.assertEqual(sorted(ftp.nlst("pub")), ["big.bin", "hello.txt"])
        facts = dict(ftp.mlsd("pub"))
        self.assertEqual(facts["hello.txt"]["type"], "file")
        self.assertEqual(facts["hello.txt"]["size"], "12")
        self.assertEqual(facts["hello.txt"]["perm"], "r")
        self.assertRegex(facts["hello.txt"]["modify"], r"^\d{14}$")
        self.assertIn("unique", facts["hello.txt"])
        self.assertEqual(dict(ftp.mlsd("/"))["pub"]["type"], "dir")
        mlst = ftp.sendcmd("MLST pub/hello.txt")
        self.assertRegex(mlst, r"^250-.*\n type=file;size=12;modify=\d{14};perm=r;unique=\w+; "
                               r"/pub/hello.txt\n250 End$")
        self.assertReply(550, ftp.sendcmd, "MLST missing")
        for command in ("LIST", "NLST", "MLSD"):  # each names itself in its refusal
            self.assertEqual(self.reply_of(ftp, command + " missing"),
                             f"550 {command} failed: No such file or folder.")
        self.assertReply(501, lambda: list(ftp.mlsd("pub/hello.txt")))
        ftp.quit()

    def test_utf8_names(self):
        ftp = self.alice()
        ftp.encoding = "utf-8"
        ftp.storbinary("STOR ünïcødé-日本.txt", io.BytesIO(b"u"))
        self.assertEqual(ftp.nlst(), ["ünïcødé-日本.txt"])
        self.assertTrue(os.path.exists(os.path.join(self.ftp_server.root, "home/alice",
                                                    "ünïcødé-日本.txt")))
        ftp.quit()

    def test_active_mode(self):
        ftp = self.ftp_server.client("anonymous")
        ftp.set_pasv(False)  # PORT
        data = bytearray()
        ftp.retrbinary("RETR pub/big.bin", data.extend)
        self.assertEqual(sha256(data), sha256(self.big))
        self.assertTrue(ftp.sendcmd("EPRT |1|127.0.0.1|40000|").startswith("200"))
        self.assertReply(522, ftp.sendcmd, "EPRT |3|127.0.0.1|40000|")
        ftp.quit()

    def test_epsv_all_refuses_the_other_setups(self):
        ftp = self.ftp_server.client("anonymous")
        self.assertTrue(ftp.sendcmd("EPSV ALL").startswith("200"))
        self.assertReply(501, ftp.sendcmd, "PASV")
        self.assertReply(501, ftp.sendcmd, "PORT 127,0,0,1,200,1")
        self.assertTrue(ftp.sendcmd("EPSV").startswith("229"))
        self.assertReply(522, ftp.sendcmd, "EPSV 2")
        ftp.quit()

    def test_abor_during_a_transfer_and_when_idle(self):
        ftp = self.ftp_server.client("anonymous")
        self.assertTrue(ftp.sendcmd("ABOR").startswith("225"))
        self.ftp_server.put("pub/huge.bin", os.urandom(64 * 1024 * 1024))
        connection = ftp.transfercmd("RETR pub/huge.bin")
        connection.recv(1024)  # the transfer runs; the client stops reading
        ftp.putcmd("ABOR")
        self.assertTrue(ftp.getline().startswith("426"))
        self.assertTrue(ftp.getline().startswith("226"))
        connection.close()
        self.assertTrue(ftp.sendcmd("NOOP").startswith("200"))  # the session goes on
        ftp.quit()

    def test_rest_edge_cases_and_cwd_home(self):
        ftp = self.alice()
        self.ftp_server.put("home/alice/ten.bin", b"0123456789")
        for call in (lambda: ftp.retrbinary("RETR ten.bin", lambda data: None, rest=11),
                     lambda: ftp.storbinary("STOR ten.bin", io.BytesIO(b"x"), rest=11)):
            with self.assertRaises(ftplib.Error) as caught:
                call()
            self.assertEqual(str(caught.exception),
                             "554 REST offset 11 is past the end (10 bytes).")
        ftp.sendcmd("TYPE I")
        ftp.sendcmd("REST 5")
        self.assertReply(503, ftp.sendcmd, "APPE ten.bin")
        ftp.sendcmd("REST 5")
        self.assertReply(503, ftp.sendcmd, "STOU")
        self.assertEqual(self.ftp_server.read("home/alice/ten.bin"), b"0123456789")
        ftp.mkd("deep")
        ftp.cwd("deep")
        self.assertTrue(ftp.sendcmd("CWD").startswith("250"))  # no argument: home
        self.assertEqual(ftp.pwd(), "/")
        ftp.quit()

    def test_user_after_login_starts_a_new_login(self):
        ftp = self.alice()
        ftp.sendcmd("TYPE A")
        self.assertTrue(ftp.sendcmd("USER bob").startswith("331"))
        self.assertReply(530, ftp.pwd)  # the old login is gone
        self.assertTrue(ftp.sendcmd(f"PASS {PASSWORD}").startswith("230"))
        self.assertEqual(ftp.pwd(), "/")
        self.assertTrue(ftp.sendcmd("STAT").find("TYPE: ASCII") > 0)  # parameters stay
        self.assertReply(553, ftp.storbinary, "STOR x", io.BytesIO(b"x"))  # bob is read-only
        ftp.quit()
        self.ftp_server.server.wait_for_log(r"user alice logged out \(USER\)")

    # RFC 959 §5.3.2's grammar: a code outside it is a syntax error (501); a
    # valid one this server does not serve is "not implemented for that
    # parameter" (504).
    def test_type_mode_stru_and_allo_arguments(self):
        ftp = self.alice()
        for command, code in [("TYPE X", "501"), ("TYPE I N", "501"), ("TYPE A Q", "501"),
                              ("TYPE L", "501"), ("TYPE E", "504"), ("TYPE A T", "504"),
                              ("TYPE E N", "504"), ("TYPE L 7", "504"), ("TYPE a n", "200"),
                              ("MODE X", "501"), ("MODE B", "504"), ("MODE c", "504"),
                              ("MODE s", "200"), ("STRU X", "501"), ("STRU R", "504"),
                              ("STRU P", "504"), ("STRU f", "200"), ("ALLO abc", "501"),
                              ("ALLO 10 X 5", "501"), ("ALLO 100", "202"),
                              ("ALLO 100 R 10", "202")]:
            with self.subTest(command=command):
                self.assertEqual(self.reply_of(ftp, command)[:3], code)
        ftp.quit()

    def test_stou_names_the_file_in_its_150_reply(self):  # RFC 1123 §4.1.2.9
        ftp = self.alice()
        with socket.create_connection(ftplib.parse227(ftp.sendcmd("PASV"))) as data:
            ftp.putcmd("STOU")
            started = ftp.getresp()
            data.sendall(b"unique")
        self.assertTrue(ftp.voidresp().startswith("226"))
        self.assertRegex(started, r"^150 FILE: [^ /]+$")
        name = started[len("150 FILE: "):]
        self.assertEqual(self.ftp_server.read("home/alice/" + name), b"unique")
        ftp.quit()

    def test_refused_stores_and_renames_are_553(self):  # RFC 959 §5.4: STOR, APPE, STOU, RNTO
        ftp = self.alice()
        ftp.mkd("folder")
        ftp.storbinary("STOR f", io.BytesIO(b"x"))
        for command in ["STOR missing/f", "APPE folder", "STOR folder"]:
            with self.subTest(command=command):
                self.assertReply(553, ftp.storbinary, command, io.BytesIO(b"x"))
        ftp.sendcmd("RNFR f")
        self.assertReply(553, ftp.sendcmd, "RNTO missing/g")
        ftp.quit()
        self.assertTrue(os.path.isdir(os.path.join(self.ftp_server.root, "home/alice/folder")))
        bob = self.ftp_server.client("bob")  # read-only
        for command in ["STOR x", "APPE x", "STOU"]:
            with self.subTest(command=command):
                self.assertReply(553, bob.storbinary, command, io.BytesIO(b"x"))
        bob.quit()

    def test_size_in_type_a_counts_the_bytes_sent(self):  # RFC 3659 §4
        ftp = self.alice()
        self.ftp_server.put("home/alice/text.txt", b"one\ntwo\r\nthree\n")
        self.assertEqual(ftp.sendcmd("SIZE text.txt"), "213 15")
        ftp.sendcmd("TYPE A")
        self.assertEqual(ftp.sendcmd("SIZE text.txt"), "213 17")  # two bare LFs go as CRLF
        self.assertEqual(len(self.raw_download(ftp, "text.txt")), 17)
        ftp.quit()

    def test_opts_replies(self):  # RFC 2389 §4, RFC 3659 §7.9
        ftp = self.alice()
        self.assertEqual(self.reply_of(ftp, "OPTS UTF8 OFF")[:3], "501")
        self.assertEqual(ftp.sendcmd("OPTS MLST size;"), "200 MLST OPTS size;")
        # a space in the list is a syntax error, and the facts selected stay
        self.assertEqual(self.reply_of(ftp, "OPTS MLST unique type;")[:3], "501")
        self.assertIn(" MLST type;size*;", ftp.sendcmd("FEAT"))
        self.assertEqual(ftp.sendcmd("OPTS MLST"), "200 MLST OPTS")  # no space after
        ftp.quit()

    def test_eprt_and_epsv_syntax(self):  # RFC 2428 §2-3: 501 for syntax, 522 for a protocol
        ftp = self.alice()
        for command, code in [("EPSV x", "501"), ("EPSV 3", "522"),
                              ("EPRT |1|127.0.0.1|40000|junk", "501"),
                              ("EPRT |x|127.0.0.1|40000|", "501"), ("EPRT |3|::1|40000|", "522"),
                              ("EPRT |1|127.0.0.1|40000|", "200")]:
            with self.subTest(command=command):
                self.assertEqual(self.reply_of(ftp, command)[:3], code)
        ftp.quit()

    def test_site_commands_it_does_not_know_are_500(self):  # RFC 959 §5.4: SITE
        ftp = self.alice()
        self.assertEqual(self.reply_of(ftp, "SITE EXEC ls")[:3], "500")
        ftp.quit()


class FtpSecurityCommands(WharfTestCase):
    """RFC 2228 and RFC 4217's replies to PBSZ, PROT and CCC."""

    def test_pbsz_prot_and_ccc(self):
        server = FtpServer(self, tls=True).start()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        ftp = server.client(cls=ftplib.FTP_TLS, context=context)
        self.assertTrue(FtpProtocol.reply_of(ftp, "CCC").startswith("533"))  # nothing to clear
        ftp.auth()
        for command, code in [("PBSZ x", "501"), ("PBSZ 0", "200"), ("PROT S", "536"),
                              ("PROT E", "536"), ("PROT X", "504"), ("PROT P", "200"),
                              ("CCC", "534")]:
            with self.subTest(command=command):
                self.assertEqual(FtpProtocol.reply_of(ftp, command)[:3], code)
        self.assertEqual(ftp.sendcmd("NOOP")[:3], "200")  # still over TLS
        ftp.quit()
        self.assertStops(server.server)

IAC, IP, DM = b"\xff", b"\xf4", b"\xf2"  # Telnet (RFC 854): Interpret As Command, its commands
WILL, WONT, DO, DONT = b"\xfb", b"\xfc", b"\xfd", b"\xfe"  # each names an option in the next byte


class FtpTelnet(WharfTestCase):
    """Telnet on the control connection (RFC 959 4.1.3, RFC 854): the IP and
    Synch clients send before ABOR as urgent data, option negotiation, and
    bytes left before ABOR, STAT or QUIT."""

    # How clients interrupt a transfer. Each sends another byte as urgent
    # ("out of band") data, which a server without SO_OOBINLINE loses.
    INTERRUPTS = {
        # RFC 854's Synch: IAC DM sent urgent (DM is the urgent byte).
        "rfc 959": [(IAC + IP, 0), (IAC + DM, socket.MSG_OOB), (b"ABOR\r\n", 0)],
        # BSD ftp(1): IAC IP IAC urgent (IAC is), then DM and the command.
        "bsd ftp": [(IAC + IP + IAC, socket.MSG_OOB), (DM + b"ABOR\r\n", 0)],
        # IAC IP urgent (IP is), then IAC DM and the command.
        "ip urgent": [(IAC + IP, socket.MSG_OOB), (IAC + DM + b"ABOR\r\n", 0)],
        # Python's ftplib.abort(): the command alone, urgent (its LF is).
        "ftplib": [(b"ABOR\r\n", socket.MSG_OOB)],
    }

    def setUp(self):
        self.ftp_server = FtpServer(self).start()
        self.ftp_server.put("pub/huge.bin", os.urandom(64 * 1024 * 1024))

    def tearDown(self):
        self.assertStops(self.ftp_server.server)

    def download(self, ftp):
        """A RETR under way that waits on the client, who stops reading."""
        connection = ftp.transfercmd("RETR pub/huge.bin")
        connection.recv(1024)
        return connection

    def test_abor_after_telnet_ip_and_synch_sent_as_urgent_data(self):
        for client, parts in self.INTERRUPTS.items():
            for transfer in (False, True):
                with self.subTest(client=client, transfer=transfer):
                    ftp = self.ftp_server.client("anonymous")
                    connection = self.download(ftp) if transfer else None
                    for data, flags in parts:
                        ftp.sock.sendall(data, flags)
                    if transfer:
                        self.assertTrue(ftp.getline().startswith("426"))
                        self.assertEqual(ftp.getline(), "226 ABOR successful.")
                        connection.close()
                    else:
                        self.assertEqual(ftp.getline(), "225 No transfer to abort.")
                    self.assertEqual(ftp.sendcmd("NOOP"), "200 NOOP ok.")  # nothing left over
                    ftp.quit()

    def test_ftplib_abort_during_a_download_and_outside_one(self):
        ftp = self.ftp_server.client("anonymous")
        self.assertEqual(ftp.abort(), "225 No transfer to abort.")
        connection = self.download(ftp)
        self.assertTrue(ftp.abort().startswith("426"))  # abort() reads one reply
        self.assertEqual(ftp.getline(), "226 ABOR successful.")
        connection.close()
        self.assertEqual(ftp.sendcmd("NOOP"), "200 NOOP ok.")
        ftp.quit()

    def test_option_negotiation_is_taken_out_wherever_it_comes(self):
        ftp = self.ftp_server.client("anonymous")
        # The option byte goes with its command: an LF (option 10) ends no line.
        ftp.sock.sendall(IAC + WILL + b"\x18NO" + IAC + DO + b"\nOP" + IAC + WONT + b"\x01\r\n")
        self.assertEqual(ftp.getline(), "200 NOOP ok.")
        # A command split between two segments: its option byte comes in the second.
        ftp.sock.sendall(b"PWD\r\n" + IAC + DONT)
        self.assertTrue(ftp.getline().startswith("257"))
        ftp.sock.sendall(b"\xc3NOOP\r\n")
        self.assertEqual(ftp.getline(), "200 NOOP ok.")
        connection = self.download(ftp)
        ftp.sock.sendall(IAC + DO + b"\x06ABOR\r\n")
        self.assertTrue(ftp.getline().startswith("426"))
        self.assertEqual(ftp.getline(), "226 ABOR successful.")
        connection.close()
        ftp.quit()

    def test_stray_bytes_before_abor_stat_and_quit(self):
        """What a garbled IP or Synch leaves before ABOR, STAT or QUIT (a DM, a
        0xFF sent as IAC IAC, control bytes) does not stop them; other commands
        behind such bytes are still not text."""
        ftp = self.ftp_server.client("anonymous")
        ftp.sock.sendall(DM + b"ABOR\r\n")
        self.assertEqual(ftp.getline(), "225 No transfer to abort.")
        ftp.sock.sendall(IAC + IAC + DM + b"\x01stat\r\n")
        self.assertTrue(ftp.getmultiline().startswith("211-Wharf FTP server status:"))
        ftp.sock.sendall(DM + b"NOOP\r\n")
        self.assertEqual(ftp.getline(), "500 Command line holds a control character or is not UTF-8.")
        ftp.sock.sendall(b"XABOR\r\n")  # text before the verb: another command
        self.assertEqual(ftp.getline(), "500 Syntax error, command unrecognized.")
        connection = self.download(ftp)
        ftp.sock.sendall(DM + b"STAT\r\n")
        self.assertRegex(ftp.getline(), r"^213 Status: transfer in progress, \d+ bytes so far\.")
        ftp.sock.sendall(IAC + IAC + b"ABOR\r\n")
        self.assertTrue(ftp.getline().startswith("426"))
        self.assertEqual(ftp.getline(), "226 ABOR successful.")
        connection.close()
        ftp.sock.sendall(DM + DM + b"QUIT\r\n")
        self.assertEqual(ftp.getline(), "221 Goodbye.")
        ftp.close()


class FtpOverIpv6(WharfTestCase):
    def test_epsv_and_eprt_on_ipv6(self):
        server = FtpServer(self, host="::1").start()
        server.put("pub/f.bin", b"six" * 1000)
        ftp = server.client("anonymous")
        for passive in (True, False):  # EPSV, then EPRT |2|::1|port|
            ftp.set_pasv(passive)
            data = bytearray()
            ftp.retrbinary("RETR pub/f.bin", data.extend)
            self.assertEqual(bytes(data), b"six" * 1000)
        with self.assertRaises(ftplib.error_temp):  # 425: PASV is IPv4 only
            ftp.sendcmd("PASV")
        ftp.quit()
        self.assertStops(server.server)


class FtpOverAUnixSocket(WharfTestCase):
    def test_passive_mode_is_refused_as_there_is_no_address_to_offer(self):
        server = FtpServer(self)
        server.server.listeners["ftp"].update({"transport": "unix", "listen": "ftp.sock"})
        server.server.write_config()
        server.start()
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(20)
            sock.connect(server.server.path("ftp.sock"))
            control = sock.makefile("rwb")

            def command(line):
                control.write(line + b"\r\n")
                control.flush()
                return control.readline()

            self.assertTrue(control.readline().startswith(b"220"))
            self.assertTrue(command(b"USER anonymous").startswith(b"331"))
            self.assertTrue(command(b"PASS guest").startswith(b"230"))
            # Before, EPSV bound an abstract unix socket named after the listener's path.
            self.assertEqual(command(b"EPSV"),
                             b"425 Passive mode needs a TCP control connection.\r\n")
            self.assertTrue(command(b"PASV").startswith(b"425"))
            self.assertTrue(command(b"QUIT").startswith(b"221"))
        self.assertStops(server.server)


class FtpInEveryBlockingMode(WharfTestCase):
    def test_pool_and_fork(self):
        for mode in ["pool", "fork", "sync"]:
            with self.subTest(mode=mode):
                server = FtpServer(self, mode=mode).start()
                data = os.urandom(200000)
                ftp = server.client("alice")
                ftp.storbinary("STOR f", io.BytesIO(data))
                back = bytearray()
                ftp.retrbinary("RETR f", back.extend)
                self.assertEqual(sha256(back), sha256(data))
                ftp.quit()
                self.assertStops(server.server)


class FtpZeroCopyDownloads(WharfTestCase):
    def test_spliced_downloads_arrive_whole_resume_and_leave_ascii_converted(self):
        # option.zero_copy = on: binary downloads go through a pipe (FilePipe),
        # never the session's buffer; ASCII ones still convert their line ends.
        server = FtpServer(self, options={"zero_copy": "on"}).start()
        big = os.urandom(3 * 1024 * 1024 + 17)
        server.put("pub/big.bin", big)
        server.put("pub/lines.txt", b"one\ntwo\n")
        ftp = server.client("anonymous")
        whole, tail = bytearray(), bytearray()
        ftp.retrbinary("RETR pub/big.bin", whole.extend)
        ftp.retrbinary("RETR pub/big.bin", tail.extend, rest=1000000)
        self.assertEqual(sha256(whole), sha256(big))
        self.assertEqual(sha256(big[:1000000] + tail), sha256(big))
        lines = []
        ftp.retrlines("RETR pub/lines.txt", lines.append)  # TYPE A: CRLF on the wire
        self.assertEqual(lines, ["one", "two"])
        ftp.quit()
        self.assertStops(server.server)


class FtpWhenWharfdStops(WharfTestCase):
    """A transfer cut by shutdown_timeout ends with 426 and 421 on the control
    connection, not a bare close (thread and pool modes: the session gets the
    end of its control input first and says goodbye)."""

    def test_a_cut_transfer_is_answered_426_then_421(self):
        for mode in ("thread", "pool"):
            with self.subTest(mode=mode):
                self.check_cut_transfer(mode)

    def check_cut_transfer(self, mode):
        ftp_server = FtpServer(self, mode=mode)
        ftp_server.server.host["shutdown_timeout"] = "300ms"
        ftp_server.server.write_config()
        ftp_server.start()
        ftp_server.put("pub/large.bin", os.urandom(64 << 20))
        ftp = ftp_server.client("anonymous")
        ftp.voidcmd("TYPE I")
        data = ftp.transfercmd("RETR /pub/large.bin")
        self.assertTrue(data.recv(65536))  # under way; the reader is slow (10 s for the file)
        ftp_server.server.signal(signal.SIGTERM)
        received = 0
        while chunk := data.recv(65536):  # wharfd ends the transfer after shutdown_timeout
            received += len(chunk)
            time.sleep(0.01)
        data.close()
        self.assertLess(received, 48 << 20)
        with self.assertRaises(ftplib.error_temp) as aborted:
            ftp.voidresp()
        self.assertTrue(str(aborted.exception).startswith("426 "), aborted.exception)
        self.assertTrue(ftp.getline().startswith("421 "))
        self.assertEqual(ftp_server.server.wait(), 0)
        self.assertIn("shutdown_timeout: closing 1 remaining sessions", ftp_server.server.log())


class CommandsDuringATransfer(WharfTestCase):
    """Every command that comes during a transfer is answered at once, in order,
    as pyftpdlib does: a client that waits for a reply before it reads or sends
    more data deadlocked when replies came only after the transfer (QUIT during
    a STOR waited for the data, the client for the 221). Passive and active,
    plain and TLS."""

    SIZE = 64 * 1024 * 1024

    def setUp(self):
        self.ftp_server = FtpServer(self, tls=True,
                                    options={"tls_session_reuse": "optional"}).start()
        self.ftp_server.put("home/alice/huge.bin", os.urandom(self.SIZE))

    def tearDown(self):
        self.assertStops(self.ftp_server.server)

    def client(self, tls):
        if not tls:
            return self.ftp_server.client("alice")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        ftp = self.ftp_server.client(cls=ftplib.FTP_TLS, context=context)
        ftp.login("alice", PASSWORD)
        ftp.prot_p()
        return ftp

    def variants(self):
        for tls in (False, True):
            for passive in (True, False):
                with self.subTest(tls=tls, passive=passive):
                    ftp = self.client(tls)
                    ftp.set_pasv(passive)
                    yield ftp

    def test_each_command_is_answered_while_the_data_waits(self):
        for ftp in self.variants():
            connection = ftp.transfercmd("RETR huge.bin")
            connection.recv(1024)  # then the client reads no more data until it has its replies
            ftp.sock.sendall(b"STAT\r\n")
            self.assertRegex(ftp.getline(), r"^213 Status: transfer in progress, \d+ bytes so far\.")
            ftp.sock.sendall(b"PWD\r\nNOOP\r\nSIZE huge.bin\r\n")  # one segment, in order
            self.assertTrue(ftp.getline().startswith("257"))
            self.assertTrue(ftp.getline().startswith("200"))
            self.assertEqual(ftp.getline().strip(), f"213 {self.SIZE}")
            for needs_data in ("RETR huge.bin", "PASV", "LIST"):
                ftp.sock.sendall(needs_data.encode() + b"\r\n")
                self.assertTrue(ftp.getline().startswith("425"), needs_data)
            ftp.sock.sendall(b"ABOR\r\n")
            self.assertTrue(ftp.getline().startswith("426"))
            self.assertTrue(ftp.getline().startswith("226"))
            connection.close()
            self.assertTrue(ftp.sendcmd("NOOP").startswith("200"))  # the session goes on
            ftp.quit()

    def test_quit_during_a_retr_is_answered_then_the_file_completes(self):
        for ftp in self.variants():
            connection = ftp.transfercmd("RETR huge.bin")
            received = len(connection.recv(1024))
            ftp.sock.sendall(b"QUIT\r\n")
            self.assertTrue(ftp.getline().startswith("221"))  # before the client reads on
            while chunk := connection.recv(1 << 20):
                received += len(chunk)
            connection.close()
            self.assertEqual(received, self.SIZE)
            self.assertTrue(ftp.getline().startswith("226"))
            self.assertEqual(ftp.sock.recv(100), b"")  # then the server closes
            ftp.close()

    def test_quit_during_a_stor_is_answered_then_the_rest_is_stored(self):
        data = os.urandom(8 * 1024 * 1024)
        for ftp in self.variants():
            connection = ftp.transfercmd("STOR up.bin")
            connection.sendall(data[:1 << 20])
            ftp.sock.sendall(b"QUIT\r\n")
            self.assertTrue(ftp.getline().startswith("221"))  # before the client sends on
            connection.sendall(data[1 << 20:])
            if isinstance(connection, ssl.SSLSocket):
                connection = connection.unwrap()
            connection.close()
            self.assertTrue(ftp.getline().startswith("226"))
            self.assertEqual(ftp.sock.recv(100), b"")
            ftp.close()
            self.assertEqual(sha256(self.ftp_server.read("home/alice/up.bin")), sha256(data))

    def test_after_quit_nothing_more_runs_and_the_client_may_hang_up(self):
        # Commands behind QUIT still ran (a DELE after the 221); and a client that
        # closed its control connection after the 221, as ftplib's quit() does,
        # aborted the upload it was still sending.
        data = os.urandom(4 * 1024 * 1024)
        for ftp in self.variants():
            self.ftp_server.put("home/alice/keep.txt", b"kept")
            connection = ftp.transfercmd("STOR up.bin")
            connection.sendall(data[:1 << 20])
            ftp.sock.sendall(b"QUIT\r\nDELE keep.txt\r\n")
            self.assertTrue(ftp.getline().startswith("221"))
            ftp.close()  # the control connection goes; the data goes on
            connection.sendall(data[1 << 20:])
            if isinstance(connection, ssl.SSLSocket):
                connection = connection.unwrap()
            connection.close()
            self.ftp_server.server.wait_for_log(
                r"STOR /up\.bin: %d bytes, complete, user alice" % len(data))
            self.assertEqual(sha256(self.ftp_server.read("home/alice/up.bin")), sha256(data))
            self.assertEqual(self.ftp_server.read("home/alice/keep.txt"), b"kept")
            self.ftp_server.server.lines.clear()

    def test_a_rest_during_a_transfer_is_refused(self):
        # It got 350, and the transfer's end then cleared it: the client resumed at
        # 0, believing it had asked for 5.
        ftp = self.client(False)
        connection = ftp.transfercmd("RETR huge.bin")
        connection.recv(1024)
        ftp.sock.sendall(b"REST 5\r\n")
        self.assertTrue(ftp.getline().startswith("503"))
        ftp.sock.sendall(b"ABOR\r\n")
        self.assertTrue(ftp.getline().startswith("426"))
        self.assertTrue(ftp.getline().startswith("226"))
        connection.close()
        ftp.quit()
