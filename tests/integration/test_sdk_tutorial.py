"""sdk/README.md's tutorial, "a plugin in fifteen minutes", followed as a new
user would: its files are taken from the page as written, the SDK is
installed, the plugin built out of tree with the page's commands, run with
the page's listener, and reloaded as version 2.0.0 while a client stays
connected (its session stays on 1.0.0; new ones get 2.0.0)."""

import configparser
import os
import re
import shlex
import socket
import subprocess
import tempfile

from clients import receive_line
from wharf_harness import Wharfd, WharfTestCase, free_port

SOURCE = os.environ["WHARF_SOURCE_DIR"]
BUILD = os.environ["WHARF_BUILD_DIR"]
PAGE = os.path.join(SOURCE, "sdk", "README.md")


def run(command, cwd, prefix):
    """A command of the page, with $HOME/wharf-sdk as this test's prefix."""
    command = command.replace("$HOME/wharf-sdk", prefix)
    result = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                            timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"{command} failed:\n{result.stdout}{result.stderr}")


def greet(sock, text):
    sock.sendall(text + b"\n")
    return receive_line(sock)


class Tutorial(WharfTestCase):
    def test_the_tutorial_works_as_written(self):
        with open(PAGE) as page:
            text = page.read()
        files = dict(re.findall(r"```\w+ file=(\S+)\n(.*?)```", text, re.S))
        commands = [line.split("#")[0].strip()
                    for block in re.findall(r"```sh\n(.*?)```", text, re.S)
                    for line in block.splitlines()]
        self.assertEqual(sorted(files), ["hello.ini", "hello/CMakeLists.txt", "hello/hello.c"])
        work = tempfile.TemporaryDirectory(prefix="wharf-tutorial-")
        self.addCleanup(work.cleanup)
        for name, body in files.items():
            os.makedirs(os.path.dirname(os.path.join(work.name, name)), exist_ok=True)
            with open(os.path.join(work.name, name), "w") as out:
                out.write(body)
        prefix = os.path.join(work.name, "wharf-sdk")
        install, configure, build, edit = (
            next(c for c in commands if c.startswith(start))
            for start in ("cmake --install", "cmake -S hello", "cmake --build hello", "sed -i"))
        run(install.replace("cmake --install build", f"cmake --install {shlex.quote(BUILD)}"),
            work.name, prefix)
        run(configure, work.name, prefix)
        run(build, work.name, prefix)

        # The page's listener, on a free port; its [host] keys as written but the socket path.
        ini = configparser.ConfigParser()
        ini.read(os.path.join(work.name, "hello.ini"))
        port = free_port()
        keys = dict(ini["listener.hello"])
        keys["listen"] = f"127.0.0.1:{port}"
        keys["plugin"] = os.path.join(work.name, keys["plugin"])
        host = dict(ini["host"], admin="admin.sock")
        server = Wharfd(self, {"hello": keys}, host=host)
        check = subprocess.run([server.binary, "--config", server.config_path, "--check-config"],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        server.start()
        with socket.create_connection(("127.0.0.1", port), timeout=20) as early:
            self.assertEqual(greet(early, b"world"), b"hello, world\n")
            run(edit, work.name, prefix)
            run(build, work.name, prefix)
            self.assertEqual(server.ctl("reload").returncode, 0)
            server.wait_for_log(r"generation 2 \(hello 2\.0\.0\) serving")
            with socket.create_connection(("127.0.0.1", port), timeout=20) as late:
                self.assertEqual(greet(late, b"there"), b"hi again, there\n")
            self.assertEqual(greet(early, b"still"), b"hello, still\n")  # 1.0.0 to its end
        server.wait_for_log(r"generation 1 \(hello 1\.0\.0\) unloaded")
        self.assertRegex(server.log(), r"listener\.hello: peer 127\.0\.0\.1:\d+: greeted")
        self.assertStops(server)

    def test_the_reference_lists_every_host_function_and_hook_of_the_header(self):
        with open(os.path.join(SOURCE, "sdk", "include", "wharf", "wharf.h")) as header:
            text = header.read()
        with open(PAGE) as page:
            rows = re.findall(r"^\| `(\w+)` \| (host|hook) \| (1\.\d+) \|", page.read(), re.M)
        documented = {name: (kind, since) for name, kind, since in rows}
        api = text[text.index("typedef struct wharf_host_api {"):text.index("} wharf_host_api;")]
        since, expected = "1.0", {}
        for line in api.splitlines():  # functions are grouped under "--- added in 1.N"
            added = re.search(r"--- added in (1\.\d+)", line)
            if added:
                since = added.group(1)
            for name in re.findall(r"\(\*(\w+)\)\(", line):
                expected[name] = ("host", since)
        plugin = text[text.index("typedef struct wharf_plugin {"):text.index("} wharf_plugin;")]
        since = "1.0"
        for line in plugin.splitlines():  # hooks appended later come under "--- added in 1.N"
            added = re.search(r"--- added in (1\.\d+)", line)
            if added:
                since = added.group(1)
            for name in re.findall(r"\(\*(\w+)\)\(", line):
                expected[name] = ("hook", since)
        self.assertEqual(documented, expected)
