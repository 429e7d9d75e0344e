"""The time plugin with the clients people use: rdate over TCP and UDP (RFC
868) and SNTP, ntpdate; daytime and stamp with socket clients on every
transport; SNTP junk ignored; RFC 868's 2036 wrap with wharfd under faketime."""

import datetime
import os
import random
import re
import socket
import struct
import subprocess
import time

from clients import DatagramClient, receive_until_closed, stream_connect
from wharf_harness import Wharfd, WharfTestCase, free_port

EPOCH_1900 = 2208988800
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def random_loopback():
    """A loopback address of our own, so the fixed ports 37 and 123 that
    rdate and ntpdate need are free."""
    return "127.%d.%d.%d" % (random.randint(1, 254), random.randint(1, 254),
                             random.randint(2, 254))


def run(*command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, TZ="UTC"))
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")
    return result.stdout


class TimeServices(WharfTestCase):
    def setUp(self):
        self.address = random_loopback()
        self.port = free_port()
        a, p = self.address, self.port
        self.server = self.wharfd({
            "time-tcp": {"transport": "tcp", "listen": f"{a}:37", "plugin": "time"},
            "time-udp": {"transport": "udp", "listen": f"{a}:37", "plugin": "time",
                         "mode": "sync"},
            "sntp": {"transport": "udp", "listen": f"{a}:123", "plugin": "time",
                     "option.format": "sntp", "option.stratum": "2",
                     "option.refid": "192.0.2.1"},
            "daytime-tcp": {"transport": "tcp", "listen": f"{a}:{p}", "plugin": "time",
                            "option.format": "daytime"},
            "daytime-udp": {"transport": "udp", "listen": f"{a}:{p}", "plugin": "time",
                            "option.format": "daytime", "option.timezone": "utc"},
            "stamp-tcp": {"transport": "tcp", "listen": f"{a}:{free_port()}", "plugin": "time",
                          "option.format": "stamp"},
            "stamp-udp": {"transport": "udp", "listen": f"{a}:{free_port()}", "plugin": "time",
                          "option.format": "stamp"},
            "time-unix": {"transport": "unix", "listen": "time.sock", "plugin": "time"},
            "daytime-unix-dgram": {"transport": "unix-dgram", "listen": "daytime.sock",
                                   "plugin": "time", "option.format": "daytime",
                                   "option.min_request": "0"},
            "stamp-unix": {"transport": "unix", "listen": "stamp.sock", "plugin": "time",
                           "option.format": "stamp", "mode": "sync"},
        })
        self.addCleanup(self.assertStops, self.server)

    def listen(self, name):
        return self.server.listeners[name]["listen"]

    def assertNearNow(self, when, tolerance=2):
        self.assertLess(abs(when - time.time()), tolerance, f"{when} vs {time.time()}")

    def rdate_time(self, *flags):
        output = run("rdate", "-p", *flags, self.address)
        printed = re.search(r"\w{3} \w{3} +\d+ \d\d:\d\d:\d\d UTC \d{4}", output).group(0)
        return datetime.datetime.strptime(printed, "%a %b %d %H:%M:%S UTC %Y").replace(
            tzinfo=datetime.timezone.utc).timestamp()

    def test_rdate_over_tcp(self):
        self.assertNearNow(self.rdate_time())

    def test_rdate_over_udp(self):
        self.assertNearNow(self.rdate_time("-u"))

    def test_rdate_sntp_offset_under_a_second(self):
        output = run("rdate", "-n", "-p", "-v", self.address)
        offset = float(re.search(r"adjust local clock by (-?[\d.]+) seconds", output).group(1))
        self.assertLess(abs(offset), 1.0, output)

    def test_ntpdate_offset_under_a_second(self):
        output = run("ntpdate", "-q", self.address)
        match = re.search(r"\(\+0000\) ([+-][\d.]+) \+/- [\d.]+ " + re.escape(self.address) +
                          r" s2 ", output)
        self.assertIsNotNone(match, output)
        self.assertLess(abs(float(match.group(1))), 1.0, output)

    def test_rfc868_over_unix_stream(self):
        with stream_connect("unix", self.server.path("time.sock")) as client:
            data = receive_until_closed(client)
        self.assertEqual(len(data), 4)
        self.assertNearNow(struct.unpack("!I", data)[0] - EPOCH_1900)

    def parse_daytime(self, line):
        self.assertTrue(line.endswith(b"\r\n"), line)
        return datetime.datetime.strptime(line.decode().strip(), "%A, %B %d, %Y %H:%M:%S-UTC") \
            .replace(tzinfo=datetime.timezone.utc).timestamp()

    def test_daytime_on_tcp_udp_and_unix_datagrams(self):
        with stream_connect("tcp", self.listen("daytime-tcp")) as client:
            tcp = receive_until_closed(client)
        self.assertNearNow(self.parse_daytime(tcp))
        with DatagramClient("udp", self.listen("daytime-udp")) as client:
            self.assertNearNow(self.parse_daytime(client.exchange(b"x" * 48)))
        with DatagramClient("unix-dgram", self.server.path("daytime.sock")) as client:
            self.assertNearNow(self.parse_daytime(client.exchange(b"")))  # min_request = 0

    def check_stamp(self, reply, message):
        match = re.fullmatch(rb"\[(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})\] (.*)", reply,
                             re.S)
        self.assertIsNotNone(match, reply)
        self.assertEqual(match.group(2), message)
        stamped = time.mktime(time.strptime(match.group(1).decode(), "%a %b %d %H:%M:%S %Y"))
        self.assertNearNow(stamped)

    def test_stamp_answers_every_message_until_the_client_closes(self):
        for transport, address in [("tcp", self.listen("stamp-tcp")),
                                   ("unix", self.server.path("stamp.sock"))]:
            with self.subTest(transport=transport), stream_connect(transport, address) as client:
                for message in (b"first", b"second message", b"third"):
                    client.sendall(message)
                    self.check_stamp(client.recv(4096), message)

    def test_stamp_over_udp(self):
        with DatagramClient("udp", self.listen("stamp-udp")) as client:
            for message in (b"one" * 16, b"two" * 16):
                self.check_stamp(client.exchange(message), message)

    def test_datagrams_shorter_than_min_request_get_no_amplified_answer(self):
        with DatagramClient("udp", self.listen("stamp-udp")) as client:
            client.sock.sendto(b"short", client.target)  # a spoofed victim would get 5 + 27 bytes
            long_enough = b"m" * 48
            self.check_stamp(client.exchange(long_enough), long_enough)  # the first answer

    def test_sntp_ignores_what_is_not_a_client_request(self):
        with DatagramClient("udp", f"{self.address}:123") as client:
            for junk in (b"", b"short", bytes([0x24]) + bytes(47), bytes([0x03]) + bytes(47)):
                client.sock.sendto(junk, client.target)  # server mode, version 0: ignored
            request = bytearray(48)
            request[0] = (4 << 3) | 3
            request[40:48] = b"ORIGINAT"
            reply = client.exchange(bytes(request))
        self.assertEqual(len(reply), 48)
        self.assertEqual(reply[0], (4 << 3) | 4)
        self.assertEqual(reply[1], 2)
        self.assertEqual(reply[12:16], bytes([192, 0, 2, 1]))
        self.assertEqual(reply[24:32], b"ORIGINAT")
        seconds = struct.unpack("!I", reply[40:44])[0]
        self.assertNearNow(seconds - EPOCH_1900)


class TimeOptions(WharfTestCase):
    def refusal(self, listener):
        server = Wharfd(self, {"t": listener})
        self.assertEqual(server.start(expect_ready=False), 2)
        return server.log()

    def test_bad_options_refuse_the_listener(self):
        tcp = {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}", "plugin": "time"}
        self.assertIn("option.format = sntp needs udp or unix-dgram",
                      self.refusal(dict(tcp, **{"option.format": "sntp"})))
        self.assertIn("option.format = iso: expected rfc868, daytime, stamp or sntp",
                      self.refusal(dict(tcp, **{"option.format": "iso"})))
        self.assertIn("option.timezone = mars: expected utc or local",
                      self.refusal(dict(tcp, **{"option.timezone": "mars"})))
        self.assertIn("option.stratum = 16: expected 1 to 15",
                      self.refusal(dict(tcp, **{"option.stratum": "16"})))
        self.assertIn("unknown option.colour",
                      self.refusal(dict(tcp, **{"option.colour": "red"})))


class Rfc868Wrap(WharfTestCase):
    def test_the_counter_wraps_in_2036(self):
        # wharfd itself runs 4 s after the wrap (2036-02-07 06:28:16 UTC), with
        # libfaketime preloaded into it (the faketime command would stand
        # between wharfd and our signals).
        port = free_port()
        server = Wharfd(self, {"t": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                     "plugin": "time"}},
                        env={"LD_PRELOAD": LIBFAKETIME, "FAKETIME": "@2036-02-07 06:28:20",
                             "TZ": "UTC", "ASAN_OPTIONS": "verify_asan_link_order=0:" +
                             os.environ.get("ASAN_OPTIONS", "")}).start()
        with stream_connect("tcp", f"127.0.0.1:{port}") as client:
            data = receive_until_closed(client)
        self.assertIn(struct.unpack("!I", data)[0], range(4, 64))
        self.assertStops(server)
