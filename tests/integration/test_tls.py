"""tls = on: the host ends TLS for any stream listener, in every mode, and the
plugin sees plaintext. Real clients (Python's ssl, openssl s_client) against
certificates made here with openssl; bad certificates and keys refused by
key, file and reason; handshakes that never finish (silent, dripping, not
TLS at all) closed within tls_handshake_timeout without hurting others; a
certificate replaced and reloaded while a session stays open; a key only
root may read, served by workers that run as nobody."""

import hashlib
import json
import os
import select
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import unittest
import urllib.request

from clients import receive_until_closed, stream_connect
from wharf_harness import WHARFD, Wharfd, WharfTestCase, free_port, test_plugin, wait_until

MODES = ("sync", "thread", "pool", "fork", "reactor")


def make_certificate(folder, name, common_name="localhost"):
    """A self-signed P-256 certificate and its key: (cert path, key path)."""
    cert, key = os.path.join(folder, name + ".pem"), os.path.join(folder, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "30", "-subj", f"/CN={common_name}",
                    "-addext", f"subjectAltName=DNS:{common_name}"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def der_of(cert):
    with open(cert) as pem:
        return ssl.PEM_cert_to_DER_cert(pem.read())


def client_context(version=None):
    """A client that takes any certificate (each test checks the one it got)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if version:
        context.minimum_version = context.maximum_version = version
    return context


def tls_connect(address, version=None, transport="tcp"):
    return client_context(version).wrap_socket(stream_connect(transport, address),
                                               server_hostname="localhost")


def tls_round_trip(connection, payload):
    """Sends `payload` while reading the echo, on one thread (an SSL object
    must not be used by two at once): neither side's buffers can fill and
    stop the other."""
    connection.setblocking(False)
    sent, received = 0, bytearray()
    while len(received) < len(payload):
        writing = [connection] if sent < len(payload) else []
        readable, writable, _ = select.select([connection], writing, [], 60)
        if not readable and not writable:
            raise AssertionError(f"no progress in 60 s: sent {sent}, received {len(received)}")
        try:
            if writable:
                sent += connection.send(payload[sent:sent + 65536])
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    return bytes(received)
                received += chunk
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
    connection.setblocking(True)
    return bytes(received)


class TlsServing(WharfTestCase):
    def setUp(self):
        self.folder = self.enterContext(tempfile.TemporaryDirectory())
        self.cert, self.key = make_certificate(self.folder, "server")

    def tls_keys(self, **extra):
        return dict({"tls": "on", "tls_cert": self.cert, "tls_key": self.key}, **extra)

    def test_every_mode_echoes_through_tls_12_and_13(self):
        ports = {mode: free_port() for mode in MODES}
        self.wharfd({mode: self.tls_keys(transport="tcp", listen=f"127.0.0.1:{port}", mode=mode,
                                         plugin="echo")
                     for mode, port in ports.items()})
        payload = os.urandom(3 << 20)  # past the reactor's output_high_water and the socket buffers
        for mode, port in ports.items():
            for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                with self.subTest(mode=mode, version=version), \
                        tls_connect(f"127.0.0.1:{port}", version) as connection:
                    self.assertEqual(connection.version(), version.name.replace("_", "."))
                    self.assertEqual(connection.getpeercert(binary_form=True), der_of(self.cert))
                    echoed = tls_round_trip(connection, payload)
                    self.assertEqual(hashlib.sha256(echoed).hexdigest(),
                                     hashlib.sha256(payload).hexdigest())

    def test_a_blocking_style_plugin_and_a_unix_socket(self):
        path = os.path.join(self.folder, "echo.sock")
        self.wharfd({"blocking": self.tls_keys(transport="unix", listen=path, mode="thread",
                                               plugin=test_plugin("blocking_echo"))})
        with tls_connect(path, transport="unix") as connection:
            self.assertEqual(tls_round_trip(connection, b"through serve()\n" * 1000),
                             b"through serve()\n" * 1000)

    def test_openssl_s_client(self):
        port = free_port()
        self.wharfd({"r": self.tls_keys(transport="tcp", listen=f"127.0.0.1:{port}",
                                        mode="reactor", plugin="echo")})
        for flag, version in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
            with self.subTest(version=version):
                client = subprocess.Popen(
                    ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", flag,
                     "-servername", "localhost", "-CAfile", self.cert, "-verify_return_error",
                     "-brief"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True)
                self.addCleanup(client.kill)
                client.stdin.write("echoed by wharf\n")
                client.stdin.flush()
                self.assertEqual(client.stdout.readline(), "echoed by wharf\n")
                client.stdin.close()  # s_client closes the connection
                self.assertEqual(client.wait(60), 0)
                report = client.stderr.read()
                self.assertIn(f"Protocol version: {version}", report)
                self.assertIn("Verification: OK", report)

    def test_files_of_any_bytes_and_size_reach_the_workers(self):
        """The master passes each file in a memory file of its own: text
        OpenSSL skips may be in any encoding (Latin-1 here), and ten listeners'
        near-1 MiB files are more than a message between master and worker can
        carry (as JSON they stopped the start, and a reload hung until
        reload_timeout)."""
        with open(self.cert, "rb") as pem:
            certificate = pem.read()
        padding = b"Subject: Soci\xe9t\xe9 G\xe9n\xe9rale\n" + b"# " + b"x" * 1000 + b"\n"
        ports = {}
        for i in range(10):
            padded = os.path.join(self.folder, f"padded{i}.pem")
            with open(padded, "wb") as out:
                out.write(padding * 900 + certificate)
            ports[f"s{i}"] = (free_port(), padded)
        server = self.wharfd({name: self.tls_keys(transport="tcp", listen=f"127.0.0.1:{port}",
                                                  mode="reactor", plugin="echo", tls_cert=cert)
                              for name, (port, cert) in ports.items()},
                             host={"admin": "admin.sock"})
        for name, (port, _) in ports.items():
            with tls_connect(f"127.0.0.1:{port}") as connection:
                self.assertEqual(tls_round_trip(connection, name.encode()), name.encode())
        reload = server.ctl("reload")
        self.assertEqual(reload.returncode, 0, reload.stdout + reload.stderr)

    def test_several_certificates_chosen_by_the_name_the_client_asks_for(self):
        first = make_certificate(self.folder, "first", "first.example")
        second = make_certificate(self.folder, "second", "second.example")
        port = free_port()
        self.wharfd({"sni": self.tls_keys(transport="tcp", listen=f"127.0.0.1:{port}",
                                          mode="reactor", plugin="echo",
                                          tls_cert=f"{first[0]} {second[0]}",
                                          tls_key=f"{first[1]}, {second[1]}")})
        for name, expected in (("second.example", second), ("first.example", first),
                               ("other.example", first), (None, first)):
            with self.subTest(name=name):
                raw = stream_connect("tcp", f"127.0.0.1:{port}")
                with client_context().wrap_socket(raw, server_hostname=name) as connection:
                    self.assertEqual(connection.getpeercert(True), der_of(expected[0]))
                    self.assertEqual(tls_round_trip(connection, b"sni\n"), b"sni\n")

    def test_protocols_and_ciphers_are_the_listeners(self):
        port = free_port()
        self.wharfd({"r": self.tls_keys(transport="tcp", listen=f"127.0.0.1:{port}",
                                        mode="reactor", plugin="echo", tls_protocols="TLSv1.2",
                                        tls_ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")})
        with tls_connect(f"127.0.0.1:{port}") as connection:
            self.assertEqual(connection.version(), "TLSv1.2")
            self.assertEqual(connection.cipher()[0], "ECDHE-ECDSA-AES128-GCM-SHA256")
        with self.assertRaises(ssl.SSLError):
            tls_connect(f"127.0.0.1:{port}", ssl.TLSVersion.TLSv1_3).close()

    def test_an_xfer_download_copies_where_it_would_sendfile(self):
        """xfer sends files with sendfile on session_socket(); a TLS session has
        no socket to give (its bytes are records), so xfer copies through the host."""
        port, root = free_port(), os.path.join(self.folder, "files")
        os.mkdir(root)
        content = os.urandom(5 << 20)
        with open(os.path.join(root, "big.bin"), "wb") as out:
            out.write(content)
        self.wharfd({"x": self.tls_keys(transport="tcp", listen=f"127.0.0.1:{port}",
                                        mode="thread", plugin="xfer",
                                        **{"option.root": root, "option.dialect": "framed"})})
        with tls_connect(f"127.0.0.1:{port}") as connection:
            request = json.dumps({"cmd": "get", "filename": "big.bin"}).encode()
            connection.sendall(struct.pack("i", len(request)) + request)
            stream = connection.makefile("rb")
            header = json.loads(stream.read(struct.unpack("i", stream.read(4))[0]))
            self.assertEqual(header["filesize"], len(content))
            self.assertEqual(hashlib.sha256(stream.read(len(content))).hexdigest(),
                             hashlib.sha256(content).hexdigest())


def make_authority(folder, name):
    """A CA certificate and key, and a function that signs a client
    certificate for a common name with them: (ca path, sign)."""
    ca, ca_key = make_certificate(folder, name, f"{name} authority")

    def sign(common_name):
        key = os.path.join(folder, f"{common_name}.key")
        request = os.path.join(folder, f"{common_name}.csr")
        cert = os.path.join(folder, f"{common_name}.pem")
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", request,
                        "-subj", f"/O=Wharf tests/CN={common_name}"],
                       check=True, capture_output=True, timeout=60)
        subprocess.run(["openssl", "x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key,
                        "-CAcreateserial", "-days", "30", "-out", cert],
                       check=True, capture_output=True, timeout=60)
        return cert, key

    return ca, sign


class TlsFacts(WharfTestCase):
    """What the handshake agreed on reaches the plugin (session_tls, SDK 1.4):
    version, cipher, SNI, ALPN and the verified client's subject; mutual TLS
    refuses a client without a certificate the listener's authority signed."""

    def setUp(self):
        self.folder = self.enterContext(tempfile.TemporaryDirectory())
        cert, key = make_certificate(self.folder, "server")
        self.ca, sign = make_authority(self.folder, "clients")
        self.alice = sign("alice")
        _, sign_other = make_authority(self.folder, "strangers")
        self.mallory = sign_other("mallory")
        self.ports = {name: free_port() for name in ("required", "optional", "plain", "off")}
        common = {"transport": "tcp", "mode": "reactor", "plugin": test_plugin("tls_facts"),
                  "tls": "on", "tls_cert": cert, "tls_key": key}
        self.server = self.wharfd({
            "required": dict(common, listen=f"127.0.0.1:{self.ports['required']}",
                             tls_verify_client="on", tls_client_ca=self.ca,
                             tls_alpn="wharf/2, wharf/1", mode="thread"),
            "optional": dict(common, listen=f"127.0.0.1:{self.ports['optional']}",
                             tls_verify_client="optional", tls_client_ca=self.ca),
            "plain": dict(common, listen=f"127.0.0.1:{self.ports['plain']}"),
            "off": {"transport": "tcp", "mode": "reactor", "plugin": test_plugin("tls_facts"),
                    "listen": f"127.0.0.1:{self.ports['off']}"},
        }, host={"admin": "admin.sock"})

    def facts(self, name, certificate=None, alpn=None, server_name="facts.example",
              version=None):
        context = client_context(version)
        if certificate:
            context.load_cert_chain(*certificate)
        if alpn:
            context.set_alpn_protocols(alpn)
        raw = stream_connect("tcp", f"127.0.0.1:{self.ports[name]}")
        with context.wrap_socket(raw, server_hostname=server_name) as connection:
            connection.sendall(b"?")
            return connection.makefile("rb").readline().decode()

    def test_the_plugin_sees_what_was_agreed(self):
        self.assertEqual(
            self.facts("required", self.alice, ["h2", "wharf/1", "wharf/2"]),
            "protocol=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 sni=facts.example alpn=wharf/2 "
            "subject=CN=alice,O=Wharf tests\n")
        self.assertEqual(
            self.facts("plain", version=ssl.TLSVersion.TLSv1_2, server_name=None),
            "protocol=TLSv1.2 cipher=ECDHE-ECDSA-AES256-GCM-SHA384 sni=none alpn=none "
            "subject=none\n")
        with stream_connect("tcp", f"127.0.0.1:{self.ports['off']}") as plain:
            plain.sendall(b"?")
            self.assertEqual(plain.makefile("rb").readline(), b"tls=none\n")

    def test_mutual_tls_refuses_whom_the_authority_did_not_sign(self):
        for certificate in (None, self.mallory):
            with self.subTest(certificate=certificate), self.assertRaises(
                    (ssl.SSLError, ConnectionResetError, BrokenPipeError, UnicodeDecodeError)):
                # TLS 1.3: the client learns of the refusal at its first read.
                if self.facts("required", certificate, ["wharf/1"]) != "":
                    raise AssertionError("served")
        self.assertEqual(self.facts("optional"),
                         "protocol=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 sni=facts.example "
                         "alpn=none subject=none\n")
        self.assertIn("subject=CN=alice,O=Wharf tests", self.facts("optional", self.alice))
        status = json.loads(self.server.ctl("status", "--json").stdout)
        failures = next(entry["sessions"]["tls"]["failures"] for entry in status["listeners"]
                        if entry["name"] == "required")
        self.assertEqual(failures["client_certificate"], 2)

    def test_a_verified_client_resumes_its_session(self):
        """nginx, HAProxy, Java and browsers resume sessions: with client
        verification on, OpenSSL refused every resumption (a fatal alert)
        until the listener set a session context."""
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=version):
                context = client_context(version)
                context.load_cert_chain(*self.alice)
                session = None
                for attempt in range(3):
                    raw = stream_connect("tcp", f"127.0.0.1:{self.ports['required']}")
                    with context.wrap_socket(raw, server_hostname="facts.example",
                                             session=session) as connection:
                        connection.sendall(b"?")
                        line = connection.makefile("rb").readline().decode()
                        self.assertIn("subject=CN=alice,O=Wharf tests", line)
                        self.assertEqual(connection.session_reused, attempt > 0)
                        session = connection.session

    def test_alpn_with_no_protocol_in_common_is_refused(self):
        with self.assertRaises((ssl.SSLError, ConnectionResetError)):
            self.facts("required", self.alice, ["h2"])
        self.assertIn("alpn=none", self.facts("required", self.alice))  # offered none: goes on


class TlsBehindABalancer(WharfTestCase):
    def test_the_proxy_header_comes_first_then_tls(self):
        """A balancer in TCP mode (HAProxy's send-proxy) writes its PROXY header
        in the clear, then passes the client's TLS through: the plugin sees the
        client the header names, over TLS, in every mode that reads headers."""
        folder = self.enterContext(tempfile.TemporaryDirectory())
        cert, key = make_certificate(folder, "server")
        ports = {mode: free_port() for mode in ("reactor", "thread")}
        self.wharfd({mode: {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": mode,
                            "plugin": test_plugin("addresses"), "tls": "on", "tls_cert": cert,
                            "tls_key": key, "proxy_protocol": "v1", "proxy_from": "127.0.0.1"}
                     for mode, port in ports.items()})
        for mode, port in ports.items():
            with self.subTest(mode=mode):
                raw = stream_connect("tcp", f"127.0.0.1:{port}")
                raw.sendall(f"PROXY TCP4 203.0.113.9 127.0.0.1 41000 {port}\r\n".encode())
                with client_context().wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"?")
                    line = tls.makefile("rb").readline().decode()
                self.assertTrue(line.startswith("peer=203.0.113.9:41000 "), line)
                self.assertIn(" balancer=127.0.0.1:", line)


class TlsHandshakes(WharfTestCase):
    """A handshake that does not finish ends its connection alone, counted
    under ended{how="tls_handshake"} and by reason, and the plugin never
    sees it."""

    def setUp(self):
        self.folder = self.enterContext(tempfile.TemporaryDirectory())
        self.cert, key = make_certificate(self.folder, "server")
        self.ports = {mode: free_port() for mode in ("thread", "reactor")}
        self.metrics = free_port()
        self.server = self.wharfd(
            {mode: {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": mode,
                    "plugin": "echo", "tls": "on", "tls_cert": self.cert, "tls_key": key,
                    "tls_handshake_timeout": "1s", "max_connections": 4,
                    "tls_protocols": "TLSv1.3"}
             for mode, port in self.ports.items()},
            host={"admin": "admin.sock", "metrics": f"127.0.0.1:{self.metrics}"})

    def sessions(self, listener):
        status = json.loads(self.server.ctl("status", "--json").stdout)
        return next(entry["sessions"] for entry in status["listeners"]
                    if entry["name"] == listener)

    def ended(self, listener):
        return self.sessions(listener)["ended"]

    def wait_for_ending(self, listener, count):
        wait_until(lambda: self.ended(listener)["tls_handshake"] >= count,
                   f"{count} tls_handshake endings on {listener}")

    def failures(self, listener):
        return {reason: count for reason, count in self.sessions(listener)["tls"]["failures"].items()
                if count}

    def test_handshakes_are_counted_by_version_and_failures_by_reason(self):
        for mode, port in self.ports.items():
            with self.subTest(mode=mode):
                with tls_connect(f"127.0.0.1:{port}") as connection:
                    self.assertEqual(tls_round_trip(connection, b"counted\n"), b"counted\n")
                with self.assertRaises(ssl.SSLError):  # the listener offers TLS 1.3 only
                    tls_connect(f"127.0.0.1:{port}", ssl.TLSVersion.TLSv1_2).close()
                with stream_connect("tcp", f"127.0.0.1:{port}") as plain:
                    plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    plain.settimeout(60)
                    try:
                        receive_until_closed(plain)
                    except ConnectionResetError:
                        pass
                self.wait_for_ending(mode, 2)
                self.assertEqual(self.failures(mode), {"protocol_version": 1, "not_tls": 1})
                self.assertEqual(self.sessions(mode)["tls"]["handshakes"],
                                 {"TLSv1.2": 0, "TLSv1.3": 1})
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics}/metrics",
                                         timeout=60).read().decode()
        self.assertIn('wharf_tls_handshakes_total{listener="reactor",transport="tcp",'
                      'mode="reactor",plugin="echo",version="TLSv1.3"} 1', metrics)
        self.assertIn('wharf_tls_handshake_failures_total{listener="thread",transport="tcp",'
                      'mode="thread",plugin="echo",reason="not_tls"} 1', metrics)
        not_after = ssl.cert_time_to_seconds(
            subprocess.check_output(["openssl", "x509", "-in", self.cert, "-noout", "-enddate"],
                                    text=True).strip().split("=", 1)[1])
        self.assertIn(f'wharf_tls_certificate_expiry_timestamp_seconds{{listener="reactor"}} '
                      f'{not_after}\n', metrics)

    def test_a_client_that_stalls_mid_handshake_is_closed(self):
        for mode, port in self.ports.items():
            with self.subTest(mode=mode), stream_connect("tcp", f"127.0.0.1:{port}") as stalled:
                stalled.sendall(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello's first bytes
                stalled.settimeout(60)
                self.assertEqual(receive_until_closed(stalled), b"")
                self.wait_for_ending(mode, 1)
                self.assertEqual(self.ended(mode)["error"], 0)
                self.assertEqual(self.failures(mode), {"timeout": 1})

    def test_plaintext_is_refused_and_the_next_client_served(self):
        for mode, port in self.ports.items():
            with self.subTest(mode=mode):
                with stream_connect("tcp", f"127.0.0.1:{port}") as plain:
                    plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    plain.settimeout(60)
                    try:
                        self.assertNotIn(b"GET", receive_until_closed(plain))  # an alert at most
                    except ConnectionResetError:
                        pass  # closed with the request unread
                self.wait_for_ending(mode, 1)
                with tls_connect(f"127.0.0.1:{port}") as connection:
                    self.assertEqual(tls_round_trip(connection, b"after\n"), b"after\n")

    def test_stalled_handshakes_hold_no_place_for_long(self):
        """max_connections = 4: four clients that stall take every place, and
        are closed at tls_handshake_timeout; then a fifth is served."""
        for mode, port in self.ports.items():
            with self.subTest(mode=mode):
                stalled = [stream_connect("tcp", f"127.0.0.1:{port}") for _ in range(4)]
                for connection in stalled:
                    connection.sendall(b"\x16\x03\x01")
                for connection in stalled:
                    connection.settimeout(60)
                    self.assertEqual(receive_until_closed(connection), b"")
                    connection.close()
                with tls_connect(f"127.0.0.1:{port}") as connection:
                    self.assertEqual(tls_round_trip(connection, b"served\n"), b"served\n")


def memory_tls(address):
    """A finished TLS handshake over a raw socket, through memory BIOs: the
    caller then decides how each byte of a record goes out.
    Returns (socket, SSLObject, outgoing BIO)."""
    raw = stream_connect("tcp", address)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = client_context().wrap_bio(incoming, outgoing, server_hostname="localhost")
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            raw.sendall(outgoing.read())
            chunk = raw.recv(65536)
            if not chunk:
                raise AssertionError("closed during the handshake")
            incoming.write(chunk)
    raw.sendall(outgoing.read())
    return raw, tls, outgoing


class TlsSlowClients(WharfTestCase):
    """A client that drips a record a byte at a time is a dripper as without
    TLS: closed once an idle_timeout window passes with fewer than 64 bytes,
    not held until the record is whole (OpenSSL would wait in recv for all of
    it, and SO_RCVTIMEO starts again with each byte)."""

    def test_a_record_dripped_a_byte_at_a_time_frees_the_thread(self):
        folder = self.enterContext(tempfile.TemporaryDirectory())
        cert, key = make_certificate(folder, "server")
        ports = {mode: free_port() for mode in ("thread", "pool")}
        self.wharfd({mode: {"transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": mode,
                            "plugin": "echo", "tls": "on", "tls_cert": cert, "tls_key": key,
                            "idle_timeout": "2s"} for mode, port in ports.items()})
        for mode, port in ports.items():
            with self.subTest(mode=mode):
                raw, tls, outgoing = memory_tls(f"127.0.0.1:{port}")
                with raw:
                    tls.write(b"d" * 4000)
                    record = outgoing.read()
                    raw.settimeout(0.25)
                    sent, closed = 0, False
                    while sent < 200 and not closed:  # a byte each 0.25 s: 8 per idle_timeout
                        try:
                            raw.send(record[sent:sent + 1])
                            sent += 1
                            closed = raw.recv(65536) == b""
                        except socket.timeout:
                            pass
                        except (BrokenPipeError, ConnectionResetError):
                            closed = True
                    self.assertTrue(closed, f"still open after {sent} bytes of a {len(record)}-byte "
                                            "record, a byte at a time")


class TlsUnderLoad(WharfTestCase):
    def setUp(self):
        self.folder = self.enterContext(tempfile.TemporaryDirectory())
        self.pairs = [make_certificate(self.folder, f"pair{i}") for i in range(2)]
        self.cert, self.key = (os.path.join(self.folder, name) for name in ("cert.pem", "key.pem"))
        self.install(0)

    def install(self, index):
        shutil.copy(self.pairs[index][0], self.cert)
        shutil.copy(self.pairs[index][1], self.key)

    def test_a_handshake_flood_does_not_keep_others_out(self):
        """300 connections from one address that start a handshake and stall
        (the reactor's default max_per_source spares loopback) hold no loop:
        a client served in the middle of them, and each flooder closed at
        tls_handshake_timeout and counted."""
        port = free_port()
        server = self.wharfd({"r": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                    "mode": "reactor", "plugin": "echo", "tls": "on",
                                    "tls_cert": self.cert, "tls_key": self.key,
                                    "tls_handshake_timeout": "2s"}},
                             host={"admin": "admin.sock"})
        flood = []
        for _ in range(300):
            connection = stream_connect("tcp", f"127.0.0.1:{port}")
            connection.sendall(b"\x16\x03\x01\x02")
            flood.append(connection)
        with tls_connect(f"127.0.0.1:{port}") as connection:
            self.assertEqual(tls_round_trip(connection, b"served\n"), b"served\n")

        def timeouts():
            status = json.loads(server.ctl("status", "--json").stdout)
            return status["listeners"][0]["sessions"]["tls"]["failures"]["timeout"]

        wait_until(lambda: timeouts() == 300, "300 stalled handshakes closed")
        for connection in flood:
            connection.close()

    def test_certificates_reloaded_under_load_fail_no_connection(self):
        """Clients connect, handshake and echo in a loop on two threads while
        the certificate is replaced and reloaded ten times: none fails, and
        the clients see both certificates."""
        port = free_port()
        server = self.wharfd({"r": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                    "mode": "reactor", "plugin": "echo", "tls": "on",
                                    "tls_cert": self.cert, "tls_key": self.key}},
                             host={"admin": "admin.sock"})
        stop, failures, seen = threading.Event(), [], set()

        def loop():
            while not stop.is_set():
                try:
                    with tls_connect(f"127.0.0.1:{port}") as connection:
                        seen.add(connection.getpeercert(True))
                        if tls_round_trip(connection, b"loop\n") != b"loop\n":
                            failures.append("short echo")
                except (OSError, ssl.SSLError) as error:
                    failures.append(repr(error))

        clients = [threading.Thread(target=loop) for _ in range(2)]
        for client in clients:
            client.start()
        try:
            for reload in range(10):
                self.install((reload + 1) % 2)
                result = server.ctl("reload")
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        finally:
            stop.set()
            for client in clients:
                client.join()
        self.assertEqual(failures, [])
        self.assertEqual(seen, {der_of(cert) for cert, _ in self.pairs})


class ConfigCheck(WharfTestCase):
    """--check-config of one TCP echo listener with the keys given (a certificate at hand)."""

    def setUp(self):
        self.folder = self.enterContext(tempfile.TemporaryDirectory())
        self.cert, self.key = make_certificate(self.folder, "server")

    def check(self, **keys):
        listener = dict({"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                         "plugin": "echo"}, **keys)
        server = Wharfd(self, {"s": listener})
        result = subprocess.run([WHARFD, "--config", server.config_path, "--check-config"],
                                capture_output=True, text=True, timeout=60)
        return result.returncode, result.stdout + result.stderr

    def assertRefused(self, expected, **keys):
        code, output = self.check(**keys)
        self.assertEqual(code, 2, output)
        self.assertRegex(output, r"wharf\.ini:\d+: \[listener\.s\] " + expected)


class TlsConfig(ConfigCheck):
    """A certificate or key OpenSSL would not use is refused when the config is
    read, naming file, line, section, key and OpenSSL's reason."""

    def setUp(self):
        super().setUp()
        self.other_cert, self.other_key = make_certificate(self.folder, "other")

    def test_refusals(self):
        garbage = os.path.join(self.folder, "garbage.pem")
        with open(garbage, "w") as out:
            out.write("not a certificate\n")
        self.assertRefused(r"tls_key: .*/other\.key: does not match the certificate in "
                           r".*/server\.pem", tls="on", tls_cert=self.cert, tls_key=self.other_key)
        self.assertRefused(r"tls_cert: .*/garbage\.pem: no PEM certificate", tls="on",
                           tls_cert=garbage, tls_key=self.key)
        self.assertRefused(r"tls_key: .*/garbage\.pem: no PEM private key", tls="on",
                           tls_cert=self.cert, tls_key=garbage)
        self.assertRefused(r"tls_cert: cannot read .*/missing\.pem: No such file", tls="on",
                           tls_cert=os.path.join(self.folder, "missing.pem"), tls_key=self.key)
        self.assertRefused(r"tls_cert: missing \(required\)", tls="on", tls_key=self.key)
        self.assertRefused(r"tls_key: 2 certificates but 1 keys: give one key per certificate",
                           tls="on", tls_cert=f"{self.cert} {self.other_cert}", tls_key=self.key)
        self.assertRefused(r"tls_key: .*/other\.key: does not match the certificate in "
                           r".*/server\.pem", tls="on", tls_cert=f"{self.other_cert} {self.cert}",
                           tls_key=f"{self.other_key} {self.other_key}")
        self.assertRefused(r"tls_protocols: unknown protocol 'TLSv1\.1'", tls="on",
                           tls_cert=self.cert, tls_key=self.key, tls_protocols="TLSv1.1 TLSv1.2")
        self.assertRefused(r"tls_ciphers: no cipher OpenSSL knows in 'NOTACIPHER'", tls="on",
                           tls_cert=self.cert, tls_key=self.key, tls_ciphers="NOTACIPHER")
        self.assertRefused(r"tls_handshake_timeout: must be more than 0 and at most 60s",
                           tls="on", tls_cert=self.cert, tls_key=self.key,
                           tls_handshake_timeout="2m")
        self.assertRefused(r"tls_cert: applies with tls = on only", tls_cert=self.cert)
        self.assertRefused(r"tls: applies to stream transports \(tcp, unix\) only", tls="on",
                           tls_cert=self.cert, tls_key=self.key, transport="udp")
        code, output = self.check(tls="on", tls_cert=self.cert, tls_key=self.key)
        self.assertEqual(code, 0, output)

    def test_a_plugin_that_uses_the_socket_itself_is_refused(self):
        """ftp reads and writes its control connection itself (and does TLS of
        its own): behind host TLS every session failed; now the listener is
        refused, by name, before anything starts."""
        code, output = self.check(tls="on", tls_cert=self.cert, tls_key=self.key, plugin="ftp",
                                  mode="thread", **{"option.root": self.folder})
        self.assertEqual(code, 2, output)
        self.assertIn("listener [listener.s]: plugin 'ftp'", output)
        self.assertIn("(WHARF_CAP_OWN_SOCKET)", output)


    def test_a_key_with_a_passphrase_is_refused_not_asked_for(self):
        """On a terminal, OpenSSL's default would ask for the passphrase there
        and wait (script(1) gives the check one)."""
        locked = os.path.join(self.folder, "locked.key")
        subprocess.run(["openssl", "pkey", "-in", self.key, "-out", locked, "-aes256",
                        "-passout", "pass:secret"], check=True, capture_output=True, timeout=60)
        listener = {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}", "plugin": "echo",
                    "tls": "on", "tls_cert": self.cert, "tls_key": locked}
        server = Wharfd(self, {"s": listener})
        command = f"{WHARFD} --config {server.config_path} --check-config"
        result = subprocess.run(["script", "-qec", command, "/dev/null"], stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=60)
        self.assertNotIn("pass phrase", result.stdout)
        self.assertRegex(result.stdout, r"\[listener\.s\] tls_key: .*locked\.key: no PEM private "
                                        r"key, or one with a passphrase")


class TlsReload(WharfTestCase):
    def setUp(self):
        self.folder = self.enterContext(tempfile.TemporaryDirectory())
        self.first = make_certificate(self.folder, "first", "first.example")
        self.second = make_certificate(self.folder, "second", "second.example")
        self.cert, self.key = os.path.join(self.folder, "cert.pem"), os.path.join(self.folder,
                                                                                  "key.pem")
        self.install(self.first)

    def install(self, pair):
        shutil.copy(pair[0], self.cert)
        shutil.copy(pair[1], self.key)

    def test_a_new_certificate_serves_new_sessions_and_open_ones_go_on(self):
        """The listener is kept (its counters, its plugin instance, the
        sessions it serves, which drain_timeout would otherwise cut): only new
        connections get the new context. A fork listener's helper holds the
        context it was forked with, so there new workers take over."""
        for mode in ("reactor", "thread", "fork"):
            with self.subTest(mode=mode):
                self.install(self.first)
                port = free_port()
                server = self.wharfd({"s": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                            "mode": mode, "plugin": "echo", "tls": "on",
                                            "tls_cert": self.cert, "tls_key": self.key}},
                                     host={"admin": "admin.sock", "drain_timeout": "1s"})
                address = f"127.0.0.1:{port}"
                with tls_connect(address) as held:
                    self.assertEqual(held.getpeercert(True), der_of(self.first[0]))
                    self.assertEqual(tls_round_trip(held, b"before\n"), b"before\n")
                    self.install(self.second)
                    reload = server.ctl("reload")
                    self.assertEqual(reload.returncode, 0, reload.stdout + reload.stderr)
                    if mode == "fork":
                        self.assertIn("new workers", reload.stdout + reload.stderr)
                    else:
                        self.assertIn("[listener.s] TLS certificate and settings replaced",
                                      reload.stdout)
                        self.assertNotIn("replaced (", reload.stdout)
                    with tls_connect(address) as fresh:
                        self.assertEqual(fresh.getpeercert(True), der_of(self.second[0]))
                    self.assertEqual(tls_round_trip(held, b"across the reload\n"),
                                     b"across the reload\n")
                    if mode != "fork":  # the same listener: it counts on
                        status = json.loads(server.ctl("status", "--json").stdout)
                        self.assertGreaterEqual(status["listeners"][0]["sessions"]["total"], 2)
                        self.assertEqual(len(status["listeners"]), 1)
                    # A bad certificate is refused by name; the good one serves on.
                    with open(self.cert, "w") as out:
                        out.write("truncated by a careless deploy\n")
                    refused = server.ctl("reload")
                    self.assertEqual(refused.returncode, 1)
                    self.assertRegex(refused.stdout + refused.stderr,
                                     r"\[listener\.s\] tls_cert: .*cert\.pem: no PEM certificate")
                    with tls_connect(address) as fresh:
                        self.assertEqual(fresh.getpeercert(True), der_of(self.second[0]))
                    self.assertEqual(tls_round_trip(held, b"still\n"), b"still\n")
                self.assertStops(server)


    def test_with_watch_a_renewal_applies_itself(self):
        """[host] watch = true: a renewal that renames new files over the old
        ones (as certbot's deploy hooks do) reaches new sessions with no
        reload asked for; open sessions go on; a broken file is refused by
        name and the certificate before it serves on."""
        port = free_port()
        server = self.wharfd({"s": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                    "mode": "reactor", "plugin": "echo", "tls": "on",
                                    "tls_cert": self.cert, "tls_key": self.key}},
                             host={"watch": "true"})
        address = f"127.0.0.1:{port}"

        def served():
            with tls_connect(address) as fresh:
                return fresh.getpeercert(True)

        def rename_over(source, target):
            shutil.copy(source, target + ".new")
            os.rename(target + ".new", target)

        with tls_connect(address) as held:
            self.assertEqual(held.getpeercert(True), der_of(self.first[0]))
            rename_over(self.second[1], self.key)
            rename_over(self.second[0], self.cert)
            wait_until(lambda: served() == der_of(self.second[0]), "the renewal served")
            self.assertIn("watch: a TLS certificate, key or CA file changed", server.log())
            self.assertEqual(tls_round_trip(held, b"still\n"), b"still\n")
        with open(self.cert + ".new", "w") as out:
            out.write("truncated by a careless deploy\n")
        os.rename(self.cert + ".new", self.cert)
        server.wait_for_log(r"reload refused, nothing changed: .*tls_cert: .*cert\.pem: no PEM "
                            r"certificate")
        self.assertEqual(served(), der_of(self.second[0]))
        self.assertStops(server)


class TlsUpgrade(WharfTestCase):
    def test_an_upgrade_after_a_renewal_that_deleted_the_old_files(self):
        """A renewal that points the config at new files and deletes the old
        ones, then `wharfctl upgrade`: the new master adopts the config the
        old one served with the files as the old one had read them (it read
        them from disk again, failed, and the service ended), then takes the
        config on disk, as an upgrade does."""
        folder = self.enterContext(tempfile.TemporaryDirectory())
        old, new = make_certificate(folder, "old"), make_certificate(folder, "new")
        port = free_port()
        address = f"127.0.0.1:{port}"
        server = self.wharfd({"s": {"transport": "tcp", "listen": address, "mode": "reactor",
                                    "plugin": "echo", "tls": "on", "tls_cert": old[0],
                                    "tls_key": old[1]}}, host={"admin": "admin.sock"})
        with tls_connect(address) as held:
            server.listeners["s"].update(tls_cert=new[0], tls_key=new[1])
            server.write_config()
            os.unlink(old[0])
            os.unlink(old[1])
            upgrade = server.ctl("upgrade")
            self.assertEqual(upgrade.returncode, 0, upgrade.stdout + upgrade.stderr + server.log())
            self.assertIn("upgraded from", server.log())
            self.assertEqual(tls_round_trip(held, b"across the upgrade\n"),
                             b"across the upgrade\n")
        with tls_connect(address) as fresh:
            self.assertEqual(fresh.getpeercert(True), der_of(new[0]))
        self.assertStops(server)

    def test_an_upgrade_with_files_larger_than_an_environment_string(self):
        """The files travel to the new master in a memory file: in the
        environment (at most 128 KiB a string) a CA bundle made the new
        binary fail to start and the upgrade was refused."""
        folder = self.enterContext(tempfile.TemporaryDirectory())
        cert, key = make_certificate(folder, "server")
        authority, sign = make_authority(folder, "clients")
        bundle = os.path.join(folder, "bundle.pem")
        with open(authority) as pem, open(bundle, "w") as out:
            out.write(("# " + "x" * 1000 + "\n") * 300 + pem.read())
        address = f"127.0.0.1:{free_port()}"
        server = self.wharfd({"s": {"transport": "tcp", "listen": address, "mode": "reactor",
                                    "plugin": test_plugin("tls_facts"), "tls": "on",
                                    "tls_cert": cert, "tls_key": key,
                                    "tls_verify_client": "on", "tls_client_ca": bundle}},
                             host={"admin": "admin.sock"})
        upgrade = server.ctl("upgrade")
        self.assertEqual(upgrade.returncode, 0, upgrade.stdout + upgrade.stderr + server.log())
        context = client_context()
        context.load_cert_chain(*sign("bob"))
        with context.wrap_socket(stream_connect("tcp", address)) as connection:
            connection.sendall(b"?")
            self.assertIn("subject=CN=bob", connection.makefile("rb").readline().decode())
        self.assertStops(server)


@unittest.skipUnless(os.geteuid() == 0, "needs root: workers run as nobody")
class TlsKeyOnlyRootReads(WharfTestCase):
    """The master reads the key (as root) and passes it to the workers: they
    run as nobody and could not read it, at start or at a reload."""

    def test_workers_as_nobody_serve_a_key_only_root_may_read(self):
        folder = self.enterContext(tempfile.TemporaryDirectory())
        os.chmod(folder, 0o700)
        cert, key = make_certificate(folder, "server")
        os.chmod(key, 0o600)
        port = free_port()
        server = self.wharfd({"s": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                    "mode": "reactor", "plugin": "echo", "tls": "on",
                                    "tls_cert": cert, "tls_key": key}},
                             host={"user": "nobody", "admin": "admin.sock"})
        with open(f"/proc/{server.worker_pid()}/status") as status:
            uid = next(line.split()[1] for line in status if line.startswith("Uid:"))
        self.assertEqual(int(uid), int(subprocess.check_output(["id", "-u", "nobody"])))
        with tls_connect(f"127.0.0.1:{port}") as connection:
            self.assertEqual(tls_round_trip(connection, b"as nobody\n"), b"as nobody\n")
        reload = server.ctl("reload")
        self.assertEqual(reload.returncode, 0, reload.stdout + reload.stderr)
        with tls_connect(f"127.0.0.1:{port}") as connection:
            self.assertEqual(tls_round_trip(connection, b"reloaded\n"), b"reloaded\n")


if __name__ == "__main__":
    unittest.main()
