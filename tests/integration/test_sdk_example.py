"""The SDK as a third party uses it: install it, build the plain-C example
(sdk/examples/caesar) and the C++ ones (sdk/examples/upper, and paced with
1.2's timers and paused input) out of tree with
find_package(WharfSDK) and with pkg-config, with no flags of the author's
own (a default g++ is C++17: the SDK must ask for C++20 itself), and load
every build into wharfd. The versions the SDK states agree."""

import json
import os
import re
import socket
import subprocess
import tempfile

from clients import DatagramClient, receive_exactly, stream_round_trip
from wharf_harness import Wharfd, WharfTestCase, free_port

SOURCE = os.environ["WHARF_SOURCE_DIR"]
BUILD = os.environ["WHARF_BUILD_DIR"]
EXAMPLE = os.path.join(SOURCE, "sdk", "examples", "caesar")
CXX_EXAMPLE = os.path.join(SOURCE, "sdk", "examples", "upper")
TIMER_EXAMPLE = os.path.join(SOURCE, "sdk", "examples", "paced")


def run(*command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


class OutOfTreeExample(WharfTestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.TemporaryDirectory(prefix="wharf-sdk-")
        prefix = os.path.join(cls.work.name, "prefix")
        run("cmake", "--install", BUILD, "--prefix", prefix)
        # find_package(WharfSDK) + wharf_add_plugin()
        example_build = os.path.join(cls.work.name, "cmake-build")
        run("cmake", "-S", EXAMPLE, "-B", example_build, f"-DCMAKE_PREFIX_PATH={prefix}")
        run("cmake", "--build", example_build)
        cls.cmake_plugin = os.path.join(example_build, "caesar.so")
        # pkg-config, as a Makefile would
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "share", "pkgconfig"))
        flags = run("pkg-config", "--cflags", "--libs", "wharf-sdk", env=env).split()
        cls.pkgconfig_plugin = os.path.join(cls.work.name, "caesar-pc.so")
        run("cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
            os.path.join(EXAMPLE, "caesar.c"), *flags, "-o", cls.pkgconfig_plugin)
        cxx_build = os.path.join(cls.work.name, "cxx-cmake-build")
        run("cmake", "-S", CXX_EXAMPLE, "-B", cxx_build, f"-DCMAKE_PREFIX_PATH={prefix}")
        run("cmake", "--build", cxx_build)
        cls.cxx_cmake_plugin = os.path.join(cxx_build, "upper.so")
        cxx_flags = run("pkg-config", "--cflags", "--libs", "wharf-sdk-cxx", env=env).split()
        cls.cxx_pkgconfig_plugin = os.path.join(cls.work.name, "upper-pc.so")
        run("c++", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
            "-fvisibility=hidden", os.path.join(CXX_EXAMPLE, "upper.cpp"), *cxx_flags,
            "-o", cls.cxx_pkgconfig_plugin)
        paced_build = os.path.join(cls.work.name, "paced-build")
        run("cmake", "-S", TIMER_EXAMPLE, "-B", paced_build, f"-DCMAKE_PREFIX_PATH={prefix}")
        run("cmake", "--build", paced_build)
        cls.paced_plugin = os.path.join(paced_build, "paced.so")
        cls.prefix, cls.env = prefix, env

    @classmethod
    def tearDownClass(cls):
        cls.work.cleanup()

    def check_plugin(self, plugin):
        port = free_port()
        server = self.wharfd({
            "rot13": {"transport": "tcp", "listen": f"127.0.0.1:{port}", "plugin": plugin},
            "shift1": {"transport": "udp", "listen": f"127.0.0.1:{port}", "plugin": plugin,
                       "option.shift": "1"},
        })
        self.assertEqual(stream_round_trip("tcp", f"127.0.0.1:{port}", b"Hello, World"),
                         b"Uryyb, Jbeyq")
        with DatagramClient("udp", f"127.0.0.1:{port}") as client:
            self.assertEqual(client.exchange(b"HAL"), b"IBM")
        self.assertIn("plugin caesar 1.0.0", server.log())
        self.assertStops(server)

    def test_built_with_find_package(self):
        self.check_plugin(self.cmake_plugin)

    def test_built_with_pkg_config(self):
        self.check_plugin(self.pkgconfig_plugin)

    def check_cxx_plugin(self, plugin):
        port = free_port()
        server = self.wharfd({"u": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                    "plugin": plugin, "mode": "reactor", "option.prefix": "up:"}})
        self.assertEqual(stream_round_trip("tcp", f"127.0.0.1:{port}", b"hello\n"), b"up:HELLO\n")
        self.assertIn("plugin upper 1.0.0", server.log())
        self.assertStops(server)

    def test_cxx_example_built_with_find_package(self):
        self.check_cxx_plugin(self.cxx_cmake_plugin)

    def test_cxx_example_built_with_pkg_config(self):
        self.check_cxx_plugin(self.cxx_pkgconfig_plugin)

    def test_the_timer_example_paces_lines_and_pauses_a_flood(self):
        for mode in ("thread", "reactor"):
            with self.subTest(mode=mode):
                port = free_port()
                server = self.wharfd({"p": {
                    "transport": "tcp", "listen": f"127.0.0.1:{port}", "mode": mode,
                    "plugin": self.paced_plugin, "option.lines_per_second": "1000",
                    "option.backlog": "20"}}, host={"admin": "admin.sock"})
                lines = b"".join(b"line %d\n" % number for number in range(200))
                with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
                    client.sendall(lines)  # all at once: more than the backlog
                    self.assertEqual(receive_exactly(client, len(lines)), lines)
                    client.sendall(b"after\n")  # read only if input was resumed
                    self.assertEqual(receive_exactly(client, 6), b"after\n")
                server.wait_for_log(r"pausing input: \d+ lines waiting")
                status = json.loads(server.ctl("status", "--json").stdout)
                pauses = status["listeners"][0]["plugin_metrics"]["pauses_total"]["series"]
                self.assertEqual(pauses, {"": 1})
                self.assertStops(server)

    def test_the_sdk_states_one_version(self):
        with open(os.path.join(SOURCE, "sdk", "include", "wharf", "wharf.h")) as header:
            text = header.read()
        version = re.search(r'#define WHARF_SDK_VERSION "([0-9.]+)"', text).group(1)
        major = re.search(r"#define WHARF_ABI_MAJOR (\d+)", text).group(1)
        minor = re.search(r"#define WHARF_ABI_MINOR (\d+)", text).group(1)
        self.assertTrue(version.startswith(f"{major}.{minor}."), version)
        for module in ("wharf-sdk", "wharf-sdk-cxx"):
            self.assertEqual(run("pkg-config", "--modversion", module, env=self.env).strip(),
                             version)
        with open(os.path.join(self.prefix, "share", "cmake", "WharfSDK",
                               "WharfSDKConfigVersion.cmake")) as config:
            self.assertIn(f'set(PACKAGE_VERSION "{version}")', config.read())
        for example in (EXAMPLE, CXX_EXAMPLE):
            with open(os.path.join(example, "CMakeLists.txt")) as lists:
                self.assertIn(f"find_package(WharfSDK {major}.{minor} REQUIRED)", lists.read())

    def test_both_builds_export_only_the_entry_point(self):
        for plugin in (self.cmake_plugin, self.pkgconfig_plugin, self.cxx_cmake_plugin,
                       self.cxx_pkgconfig_plugin):
            with self.subTest(plugin=plugin):
                symbols = run("nm", "-D", "--defined-only", plugin).split()
                self.assertEqual(symbols[2::3], ["wharf_plugin_entry"])

    def test_a_bad_option_refuses_the_listener_with_the_plugins_message(self):
        server = Wharfd(self, {"bad": {"transport": "tcp", "listen": f"127.0.0.1:{free_port()}",
                                       "plugin": self.cmake_plugin, "option.shift": "99"}})
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertIn("option.shift must be a whole number from 0 to 25, not '99'", server.log())
