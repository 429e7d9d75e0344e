"""The live status page (GET / on the metrics address) in Debian's headless
Chromium: it renders from status.json alone, shows every listener, its
sessions/s chart moves while the test drives traffic, and the reload and
the worker restart that happened before it was opened are marked. A
screenshot is kept in the build folder (test-artifacts/status-page.png)."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from html.parser import HTMLParser

from clients import echo_round_trip
from wharf_harness import Wharfd, WharfTestCase, free_port, wait_until

BUILD_DIR = os.environ["WHARF_BUILD_DIR"]

CHROMIUM = shutil.which("chromium")


class Elements(HTMLParser):
    """The attributes of every element of a DOM dump, by tag."""

    def __init__(self, text):
        super().__init__()
        self.found = []
        self.text = text
        self.feed(text)

    def handle_starttag(self, tag, attributes):
        self.found.append((tag, dict(attributes)))

    def all(self, tag, **wanted):
        return [attributes for name, attributes in self.found
                if name == tag and all(attributes.get(k) == v for k, v in wanted.items())]


class StatusPage(WharfTestCase):
    def setUp(self):
        if CHROMIUM is None:
            self.skipTest("needs Debian's chromium")
        self.metrics = free_port()
        self.tcp = free_port()
        self.server = Wharfd(self, {
            "echo-tcp": {"transport": "tcp", "listen": f"127.0.0.1:{self.tcp}", "plugin": "echo"},
            "echo-udp": {"transport": "udp", "listen": f"127.0.0.1:{free_port()}", "mode": "sync",
                         "plugin": "echo"}},
            host={"admin": "admin.sock", "metrics": f"127.0.0.1:{self.metrics}",
                  "workers": "2"}).start()
        self.url = f"http://127.0.0.1:{self.metrics}/"

    def chromium(self, *arguments):
        profile = tempfile.mkdtemp(prefix="wharf-chromium-")
        self.addCleanup(shutil.rmtree, profile, True)
        # The page polls every second; virtual time lets five polls' worth of
        # timers run without waiting for them (each fetch is real).
        result = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", *arguments, self.url],
            capture_output=True, text=True, timeout=180)
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        return result.stdout

    def test_the_page_shows_each_listener_and_its_charts_move_with_traffic(self):
        with urllib.request.urlopen(self.url, timeout=30) as response:
            self.assertEqual(response.headers["Content-Type"], "text/html; charset=utf-8")
            page = response.read().decode()
        # Self-contained: nothing to fetch but status.json.
        self.assertIsNone(re.search(r"(src|href)\s*=|https?://|@import", page))
        self.assertIn('fetch("status.json"', page)

        self.assertEqual(self.server.ctl("reload").returncode, 0)
        victim = self.server.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while len(set(self.server.worker_pids()) - {victim}) < 2:
            self.assertLess(time.monotonic(), deadline, self.server.log())
            time.sleep(0.05)

        stop = threading.Event()
        served = []

        def traffic():
            while not stop.is_set():
                served.append(echo_round_trip(self.tcp, b"chart me"))

        driver = threading.Thread(target=traffic)
        driver.start()
        try:
            dom = Elements(self.chromium("--dump-dom"))
            artifacts = os.path.join(BUILD_DIR, "test-artifacts")
            os.makedirs(artifacts, exist_ok=True)
            screenshot = os.path.join(artifacts, "status-page.png")
            if os.path.exists(screenshot):
                os.remove(screenshot)
            self.chromium(f"--screenshot={screenshot}", "--window-size=1280,1000",
                          "--hide-scrollbars")
        finally:
            stop.set()
            driver.join()
        self.assertTrue(served and all(reply == b"chart me" for reply in served))

        rows = {row["data-listener"] for row in dom.all("tr") if "data-listener" in row}
        self.assertEqual(rows, {"echo-tcp", "echo-udp"})
        body, = dom.all("body")
        self.assertGreaterEqual(int(body["data-polls"]), 3)
        rate, = dom.all("canvas", id="sessions-rate")
        self.assertGreater(float(rate["data-peak"]), 0)  # the chart moved with the traffic
        self.assertGreaterEqual(int(rate["data-samples"]), 2)
        self.assertEqual(int(rate["data-events"]), 2)  # the reload and the worker restart
        with open(screenshot, "rb") as image:
            self.assertEqual(image.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(screenshot), 20000)  # more than a blank page

    def test_without_javascript_the_page_shows_each_listener_with_its_counts(self):
        # It showed nothing: the table was filled in by the script alone.
        for _ in range(3):
            self.assertEqual(echo_round_trip(self.tcp, b"no script"), b"no script")
        def served():  # the page as a client without scripts shows it
            with urllib.request.urlopen(self.url, timeout=30) as response:
                return Elements(response.read().decode())

        def cells(dom):
            row = re.search(r'data-listener="echo-tcp">(.*?)</tr>', dom.text, re.S).group(1)
            return re.findall(r"<td[^>]*>([^<]*)</td>", row)

        # A session's bytes count once it has ended, which follows the client's close.
        wait_until(lambda: cells(served())[11] == str(3 * len(b"no script")),
                   "the three sessions' bytes in the served table")
        dom = served()
        rows = {row["data-listener"]: row for row in dom.all("tr") if "data-listener" in row}
        self.assertEqual(set(rows), {"echo-tcp", "echo-udp"})
        values = cells(dom)
        self.assertEqual(values[:3], ["echo-tcp", "serving", "tcp"])
        self.assertEqual(values[9], "3")  # accepted
        self.assertRegex(dom.text, r"master pid %d, up \d+ s, workers 2/2 answering"
                         % self.server.process.pid)
