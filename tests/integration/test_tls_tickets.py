"""tls_tickets: a client resumes its TLS session with a ticket whichever
worker its connection lands on, after a reload that renews the certificate
or starts new workers, and after a binary upgrade: the master makes the keys
and passes them to every worker. Keys rotate (`wharfctl rotate-tickets`
here, tls_ticket_rotation's schedule otherwise): a ticket resumes after one
rotation and not after two. tls_tickets = off resumes nothing. Real clients:
Python's ssl with a session object, in TLS 1.2 and 1.3."""

import json
import os
import signal
import ssl
import tempfile
import urllib.request

from clients import stream_connect
from test_tls import ConfigCheck, client_context, der_of, make_certificate
from wharf_harness import WharfTestCase, free_port, test_plugin, wait_until

VERSIONS = (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)


def stopped(pid):
    """Every thread of process `pid` is stopped (SIGSTOP has taken effect)."""
    tasks = os.listdir(f"/proc/{pid}/task")
    states = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                states.append(stat.read().rsplit(")", 1)[1].split()[0])
        except FileNotFoundError:  # a thread that ended meanwhile
            pass
    return all(state in ("T", "t") for state in states)


class Client:
    """One client (one SSLContext, as sessions are bound to theirs) of the
    worker_pid fixture, which answers with the process serving it."""

    def __init__(self, address, version):
        self.address, self.context = address, client_context(version)

    def connect(self, session=None, name="localhost"):
        """(worker pid, whether the session was resumed, the session now held),
        the connection closed; `name`: the SNI name asked for."""
        with self.context.wrap_socket(stream_connect("tcp", self.address), server_hostname=name,
                                      session=session) as connection:
            connection.sendall(b"?")
            line = connection.makefile("rb").readline().decode()  # after any TLS 1.3 ticket
            assert line.startswith("pid="), line
            self.certificate = connection.getpeercert(True)
            return int(line[4:]), connection.session_reused, connection.session


class TicketsCase(WharfTestCase):
    def setUp(self):
        self.folder = self.enterContext(tempfile.TemporaryDirectory())
        self.cert, self.key = make_certificate(self.folder, "server")
        self.address = f"127.0.0.1:{free_port()}"

    def listener(self, **extra):
        return dict({"transport": "tcp", "listen": self.address, "mode": "reactor",
                     "plugin": test_plugin("worker_pid"), "tls": "on", "tls_cert": self.cert,
                     "tls_key": self.key}, **extra)

    def start(self, host=None, **extra):
        self.server = self.wharfd({"s": self.listener(**extra)},
                                  host=dict({"admin": "admin.sock"}, **(host or {})))
        return self.server

    def ctl(self, *arguments):
        result = self.server.ctl(*arguments, timeout=180)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr + self.server.log())
        return result.stdout

    def status(self):
        return json.loads(self.ctl("status", "--json"))

    def serving_pids(self):
        return {worker["pid"] for worker in self.status()["workers"]
                if worker["state"] == "serving"}

    def assertResumesOnEveryWorker(self, client, session):
        """Connects with `session` once on each serving worker (the others
        stopped meanwhile, so that the one left takes the connection: reactor
        workers wait with EPOLLEXCLUSIVE, which wakes the same one each time
        it is waiting); each connection must resume. Returns how many."""
        pids = self.serving_pids()
        for pid in pids:
            others = pids - {pid}
            for other in others:
                os.kill(other, signal.SIGSTOP)
            try:
                for other in others:
                    wait_until(lambda: stopped(other), f"worker {other} stopped")
                served, reused, _ = client.connect(session)
            finally:
                for other in others:
                    os.kill(other, signal.SIGCONT)
            self.assertEqual(served, pid)
            self.assertTrue(reused, f"not resumed on worker {pid}")
        return len(pids)


class TicketsForOneName(TicketsCase):
    def test_a_ticket_resumes_only_under_the_name_it_was_issued_for(self):
        """RFC 6066 §3: a session is not resumed under another SNI name. A
        listener serving a.test and b.test resumed a.test's ticket for a
        client asking for b.test, with a.test's certificate."""
        a = make_certificate(self.folder, "a", "a.test")
        b = make_certificate(self.folder, "b", "b.test")
        self.start(tls_cert=f"{a[0]} {b[0]}", tls_key=f"{a[1]} {b[1]}")
        for version in VERSIONS:
            with self.subTest(version=version):
                client = Client(self.address, version)
                _, reused, session = client.connect(name="a.test")
                self.assertFalse(reused)
                _, reused, _ = client.connect(session, name="b.test")
                self.assertFalse(reused)
                self.assertEqual(client.certificate, der_of(b[0]))
                _, reused, _ = client.connect(session, name="a.test")
                self.assertTrue(reused)
                self.assertEqual(client.certificate, der_of(a[0]))
        self.assertStops(self.server)


class TicketsAcrossWorkers(TicketsCase):
    def test_a_ticket_resumes_on_every_worker_and_is_counted(self):
        """Each worker made its own keys (OpenSSL's, per context): a ticket
        resumed only on the worker that issued it."""
        metrics = free_port()
        self.start(host={"workers": "2", "metrics": f"127.0.0.1:{metrics}"})
        resumed = {}
        for version in VERSIONS:
            with self.subTest(version=version):
                client = Client(self.address, version)
                _, reused, session = client.connect()
                self.assertFalse(reused)
                self.assertTrue(session.has_ticket)
                resumed[version.name.replace("_", ".")] = \
                    self.assertResumesOnEveryWorker(client, session)
        tls = self.status()["listeners"][0]["sessions"]["tls"]
        self.assertEqual(tls["resumed"], resumed)
        self.assertEqual(tls["handshakes"], {name: count + 1 for name, count in resumed.items()})
        exposed = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics",
                                         timeout=30).read().decode()
        for name, count in resumed.items():
            self.assertRegex(exposed, r'wharf_tls_resumed_handshakes_total\{[^}]*listener="s"'
                                      r'[^}]*version="' + name.replace(".", r"\.") + r'"\} ' +
                                      str(count) + "\n")
        self.assertStops(self.server)

    def test_tickets_off_resumes_nothing(self):
        self.start(host={"workers": "2"}, tls_tickets="off")
        for version in VERSIONS:
            with self.subTest(version=version):
                client = Client(self.address, version)
                _, reused, session = client.connect()
                self.assertFalse(session.has_ticket)
                for _ in range(4):
                    _, reused, _ = client.connect(session)
                    self.assertFalse(reused)
        tls = self.status()["listeners"][0]["sessions"]["tls"]
        self.assertEqual(tls["resumed"], {"TLSv1.2": 0, "TLSv1.3": 0})
        self.assertStops(self.server)


class TicketsAcrossChanges(TicketsCase):
    def test_a_reload_that_renews_the_certificate_or_starts_new_workers(self):
        """A renewed certificate replaces the listener's context (its own
        ticket keys, before); new workers made keys of their own."""
        server = self.start(host={"workers": "1"})
        clients = {version: Client(self.address, version) for version in VERSIONS}
        sessions = {version: client.connect()[2] for version, client in clients.items()}
        renewed = make_certificate(self.folder, "renewed")
        server.listeners["s"].update(tls_cert=renewed[0], tls_key=renewed[1])
        server.write_config()
        self.assertIn("TLS certificate and settings replaced", self.ctl("reload"))
        for version, client in clients.items():
            with self.subTest(version=version, reload="certificate"):
                self.assertTrue(client.connect(sessions[version])[1])
        server.host["workers"] = "2"
        server.write_config()
        self.assertIn("new workers", self.ctl("reload"))
        for version, client in clients.items():
            with self.subTest(version=version, reload="workers"):
                self.assertResumesOnEveryWorker(client, sessions[version])
        self.assertStops(server)

    def test_a_binary_upgrade_carries_the_keys(self):
        server = self.start(host={"workers": "2"})
        clients = {version: Client(self.address, version) for version in VERSIONS}
        sessions = {version: client.connect()[2] for version, client in clients.items()}
        before = self.serving_pids()
        self.ctl("upgrade")
        self.assertIn("upgraded from", server.log())
        self.assertTrue(self.serving_pids().isdisjoint(before))
        for version, client in clients.items():
            with self.subTest(version=version):
                self.assertResumesOnEveryWorker(client, sessions[version])
        self.assertStops(server)


class TicketRotation(TicketsCase):
    def test_a_ticket_resumes_after_one_rotation_and_not_after_two(self):
        self.start(host={"workers": "2"})
        for version in VERSIONS:
            with self.subTest(version=version):
                client = Client(self.address, version)
                first = client.connect()[2]
                self.assertEqual(self.ctl("rotate-tickets"),
                                 "wharfd: session ticket keys rotated for 1 listeners\n")
                second = client.connect()[2]  # sealed with the key that is now current
                self.assertResumesOnEveryWorker(client, first)
                self.ctl("rotate-tickets")
                _, reused, _ = client.connect(first)
                self.assertFalse(reused)
                self.assertResumesOnEveryWorker(client, second)
        self.assertIn("session ticket keys rotated: s", self.server.log())
        self.assertStops(self.server)

    def test_a_purge_leaves_no_ticket_from_before_not_even_the_next_keys(self):
        """Every worker holds the next key ahead of its rotation: two
        rotations left a ticket sealed with it opening (a key thought exposed
        opened tickets for a day more). purge-tickets replaces all three."""
        self.start()
        for version in VERSIONS:
            with self.subTest(version=version):
                client = Client(self.address, version)
                client.connect()
                self.ctl("rotate-tickets")
                sealed = client.connect()[2]  # with the key that was next
                self.assertEqual(self.ctl("purge-tickets"),
                                 "wharfd: session ticket keys replaced for 1 listeners\n")
                self.assertFalse(client.connect(sealed)[1])
                fresh = client.connect()[2]
                self.assertTrue(client.connect(fresh)[1])
        self.assertIn("session ticket keys replaced, all of them: s", self.server.log())
        self.assertStops(self.server)

    def test_a_fork_listeners_helper_takes_the_rotated_keys(self):
        """A fork listener's sessions handshake in processes its helper forks,
        with the helper's copy of the keys: the worker passes it the rotated
        ones (it sealed and opened with those it was forked with for good)."""
        self.start(mode="fork")
        for version in VERSIONS:
            with self.subTest(version=version):
                client = Client(self.address, version)
                first = client.connect()[2]
                self.ctl("rotate-tickets")
                second = client.connect()[2]
                self.assertTrue(client.connect(first)[1])
                self.ctl("rotate-tickets")
                self.assertFalse(client.connect(first)[1])
                self.assertTrue(client.connect(second)[1])
        self.assertStops(self.server)

    def test_a_listener_without_tickets_is_not_rotated(self):
        self.start(tls_tickets="off")
        self.assertEqual(self.ctl("rotate-tickets"),
                         "wharfd: session ticket keys rotated for 0 listeners\n")
        self.assertStops(self.server)


class TicketConfig(ConfigCheck):
    def test_refusals_by_key(self):
        tls = {"tls": "on", "tls_cert": self.cert, "tls_key": self.key}
        self.assertRefused(r"tls_ticket_rotation: must be at least 1m and at most 24h",
                           tls_ticket_rotation="30s", **tls)
        self.assertRefused(r"tls_ticket_rotation: must be at least 1m and at most 24h",
                           tls_ticket_rotation="25h", **tls)
        self.assertRefused(r"tls_ticket_rotation: 'soon' is not a duration",
                           tls_ticket_rotation="soon", **tls)
        self.assertRefused(r"tls_tickets: 'sometimes' is not a yes/no value",
                           tls_tickets="sometimes", **tls)
        self.assertRefused(r"tls_ticket_rotation: applies with tls_tickets = on only",
                           tls_tickets="off", tls_ticket_rotation="1h", **tls)
        self.assertRefused(r"tls_tickets: applies with tls = on only", tls_tickets="on")
        for rotation in ("1m", "24h", "90m"):
            code, output = self.check(tls_ticket_rotation=rotation, **tls)
            self.assertEqual(code, 0, output)
