"""The Debian packages as an ops person and a plugin author get them: built by
`cpack -G DEB` in a Release build configured for /usr (WHARF_PACKAGE_BUILD),
their contents checked with dpkg-deb, lintian without errors, unpacked into a
scratch root; the package's postinst makes the `wharf` user on this machine
(run as root, as dpkg would), the packaged wharfd checks the packaged config
and finds its plugins, and the SDK example builds against the unpacked
wharf-dev with find_package and with pkg-config. As root on a machine without
systemd as PID 1 (as CI's), the package is also installed for real: a package
upgrade is a hitless binary upgrade, and the whole production profile (metrics,
logs, rotation, socket activation, upgrades under polling) runs as one test.

    WHARF_PACKAGE_BUILD=build-release python3 -m unittest -v test_package
"""

import glob
import grp
import gzip
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import unittest
import urllib.request

BUILD = os.path.abspath(os.environ["WHARF_PACKAGE_BUILD"])
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRIPLET = subprocess.run(["gcc", "-dumpmachine"], capture_output=True, text=True,
                         check=True).stdout.strip()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(*command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def echoes(client, data=b"ping"):
    """Whether an echo server sent `data` back."""
    client.sendall(data)
    answer = b""
    while len(answer) < len(data):
        chunk = client.recv(len(data) - len(answer))
        if not chunk:
            break
        answer += chunk
    return answer == data


def connect_in_a_loop(port, stop, connections, failures):
    """Until `stop`: a connection to the echo server at `port`, an echo, a close;
    each noted in `connections`, and what went wrong in `failures`."""
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
                connections.append(echoes(client) or failures.append("no echo"))
        except OSError as error:
            failures.append(str(error))


class Packages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="wharf-package-")
        # Installed, the package's files can be read by its `wharf` user, which
        # --check-config loads the plugins as (mkdtemp makes the folder 0700).
        os.chmod(cls.work, 0o755)
        run("cpack", "-G", "DEB", "-B", cls.work, cwd=BUILD)
        cls.runtime, = glob.glob(os.path.join(cls.work, "wharf_*.deb"))
        cls.dev, = glob.glob(os.path.join(cls.work, "wharf-dev_*.deb"))
        cls.root = os.path.join(cls.work, "root")
        for package in (cls.runtime, cls.dev):
            run("dpkg-deb", "-x", package, cls.root)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work)

    def contents(self, package):
        return {line.split()[-1].lstrip(".") for line in run("dpkg-deb", "-c", package).splitlines()}

    def test_wharf_holds_the_programs_plugins_config_and_units(self):
        files = self.contents(self.runtime)
        for path in ["/usr/bin/wharfd", "/usr/bin/wharfctl", "/etc/wharf/wharf.ini",
                     "/etc/logrotate.d/wharf",
                     "/lib/systemd/system/wharfd.service", "/lib/systemd/system/wharfd.socket",
                     "/usr/share/doc/wharf/copyright", "/usr/share/doc/wharf/changelog.gz",
                     "/usr/share/doc/wharf/README.md", "/usr/share/doc/wharf/operating.md",
                     "/usr/share/doc/wharf/plugins.md", "/usr/share/doc/wharf/internals.md",
                     "/usr/share/man/man8/wharfd.8.gz", "/usr/share/man/man8/wharfctl.8.gz",
                     "/usr/share/man/man5/wharf.ini.5.gz",
                     "/usr/share/doc/wharf/examples/prometheus/wharf-alerts.yml",
                     "/usr/share/doc/wharf/examples/haproxy/wharf.cfg",
                     "/usr/share/doc/wharf/examples/nginx/wharf-stream.conf",
                     "/usr/share/doc/wharf/examples/kubernetes/wharf.yaml"] + \
                [f"/usr/lib/{TRIPLET}/wharf/plugins/{name}.so" for name in ("echo", "time", "ftp")]:
            self.assertIn(path, files)
        self.assertEqual(run("dpkg-deb", "-f", self.runtime, "Package").strip(), "wharf")
        self.assertIn("adduser", run("dpkg-deb", "-f", self.runtime, "Depends"))
        self.assertEqual(self.control_file(self.runtime, "conffiles"),
                         "/etc/wharf/wharf.ini\n/etc/logrotate.d/wharf\n")
        self.assertIn("adduser --system", self.control_file(self.runtime, "postinst"))
        with open(os.path.join(self.root, "lib/systemd/system/wharfd.service")) as unit:
            self.assertIn("ExecStart=/usr/bin/wharfd --config /etc/wharf/wharf.ini", unit.read())

    def test_wharf_dev_holds_the_sdk(self):
        files = self.contents(self.dev)
        for path in ["/usr/include/wharf/wharf.h", "/usr/include/wharf/wharf.hpp",
                     "/usr/share/cmake/WharfSDK/WharfSDKConfig.cmake",
                     "/usr/share/pkgconfig/wharf-sdk.pc",
                     "/usr/share/pkgconfig/wharf-sdk-cxx.pc",
                     "/usr/share/doc/wharf-dev/examples/upper/upper.cpp",
                     "/usr/share/doc/wharf-dev/examples/caesar/caesar.c",
                     "/usr/share/wharf-sdk/rust/Cargo.toml",
                     "/usr/share/wharf-sdk/rust/src/sys.rs",
                     "/usr/share/wharf-sdk/checker/wharf_layout.c",
                     "/usr/share/doc/wharf-dev/copyright"]:
            self.assertIn(path, files)
        self.assertFalse([path for path in files if "/bin/" in path or TRIPLET in path])

    def control_file(self, package, name):
        directory = tempfile.mkdtemp(dir=self.work)
        run("dpkg-deb", "-e", package, directory)
        with open(os.path.join(directory, name)) as control:
            return control.read()

    def test_the_programs_and_plugins_are_hardened(self):
        """Built without hardening (lintian: hardening-no-bindnow, -no-fortify,
        no stack protector), as dpkg-buildflags' hardening=+all builds them."""
        binaries = [os.path.join(self.root, "usr/bin", name) for name in ("wharfd", "wharfctl")]
        plugins = [os.path.join(self.root, f"usr/lib/{TRIPLET}/wharf/plugins/{name}.so")
                   for name in ("echo", "ftp")]
        for path in binaries + plugins:
            with self.subTest(path=os.path.basename(path)):
                header = run("readelf", "--file-header", "--program-headers", "--dynamic", path)
                self.assertIn("DYN (", header)  # position-independent (PIE for the programs)
                self.assertIn("GNU_RELRO", header)
                self.assertRegex(header, r"\(FLAGS_1\)\s+Flags: NOW|\(BIND_NOW\)")
                # echo.so has no buffer on its stack to protect: stack-protector-strong
                # instruments only functions that have one.
                if not path.endswith("echo.so"):
                    symbols = run("readelf", "--dyn-syms", "--wide", path)
                    self.assertTrue("__stack_chk_fail" in symbols, "no stack protector")
        # FORTIFY: the checked variants of libc's calls, where the compiler could size a buffer.
        symbols = run("readelf", "--dyn-syms", "--wide", binaries[0])
        self.assertTrue(re.search(r"__\w+_chk@", symbols), "no fortified call")

    def test_lintian_finds_no_error(self):
        result = subprocess.run(["lintian", "--fail-on", "error", self.runtime, self.dev],
                                capture_output=True, text=True, timeout=600)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for tag in ("no-manual-page", "command-with-path-in-maintainer-script",
                    "maintainer-script-calls-systemctl"):
            self.assertNotIn(tag, result.stdout)

    def test_the_manual_pages_render_and_say_what_the_readme_and_wharfctl_say(self):
        pages = {name: os.path.join(self.root, "usr/share/man", f"man{name[-1]}", name + ".gz")
                 for name in ("wharfd.8", "wharfctl.8", "wharf.ini.5")}
        texts = {}
        for name, page in pages.items():
            rendered = subprocess.run(["man", "--warnings", "-l", page], capture_output=True,
                                      text=True, timeout=60,
                                      env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING=""))
            self.assertEqual((rendered.returncode, rendered.stderr), (0, ""), name)
            texts[name] = rendered.stdout
        # wharf.ini(5): each key of docs/operating.md's table, with its meaning.
        with open(os.path.join(SOURCE, "docs", "operating.md")) as readme:
            table = readme.read().split("| section | key | meaning | default |\n|---|---|---|---|\n")[1]
        rows = table.splitlines()
        rows = rows[:next((i for i, line in enumerate(rows) if not line.startswith("|")),
                          len(rows))]
        keys = [row.split("|")[2].strip() for row in rows]
        self.assertGreater(len(keys), 20)
        page = re.sub(r"\s+", " ", texts["wharf.ini.5"])
        for key in keys:
            self.assertIn(key.replace("`", "").split(",")[0], page)
        # wharfctl(8): each command its --help lists.
        usage = subprocess.run([os.path.join(self.root, "usr/bin/wharfctl"), "--help"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
        commands = re.findall(r"(?m)^  (\w+)\s", usage.split("commands:")[1])
        self.assertIn("upgrade", commands)
        for command in commands:
            self.assertRegex(texts["wharfctl.8"], rf"(?m)^\s+{command}\b")

    def test_postinst_makes_the_user_and_the_packaged_wharfd_checks_the_packaged_config(self):
        """As `apt-get install` would: the package's own postinst (run here as
        root, as dpkg runs it) makes the system user the config names; then
        the unpacked wharfd checks the unpacked config, finding its plugins
        relative to its bin/."""
        postinst = os.path.join(tempfile.mkdtemp(dir=self.work), "postinst")
        with open(postinst, "w") as script:
            script.write(self.control_file(self.runtime, "postinst"))
        run("sh", postinst, "configure")
        run("sh", postinst, "configure")  # again, as an upgrade does: the user exists already
        self.assertIn("/nonexistent", run("getent", "passwd", "wharf"))
        output = run(os.path.join(self.root, "usr/bin/wharfd"), "--config",
                     os.path.join(self.root, "etc/wharf/wharf.ini"), "--check-config")
        self.assertIn("OK (2 listeners)", output)

    def test_installed_a_package_upgrade_is_a_binary_upgrade_and_purge_cleans_up(self):
        """As dpkg does it on this machine (no systemd as PID 1, as in a
        container): the package installs; a wharfd started on it with the
        packaged admin socket and pid file is upgraded in place when the
        package is upgraded (same master, every connection answered), not
        restarted; removal stops it; purge removes the logs and the enablement,
        and locks the user."""
        self.install_on_this_machine()
        log_folder = os.stat("/var/log/wharf")
        self.assertEqual((oct(log_folder.st_mode & 0o777), grp.getgrgid(log_folder.st_gid).gr_name),
                         ("0o750", "adm"))
        port = free_port()
        config = os.path.join(tempfile.mkdtemp(dir=self.work), "wharf.ini")
        with open("/etc/wharf/wharf.ini") as shipped:
            text = shipped.read().replace("127.0.0.1:7007", f"127.0.0.1:{port}")
        # Only the echo listener: the others' fixed ports may be taken here.
        text = text[:text.index("[listener.time]")] if "[listener.time]" in text else text
        with open(config, "w") as out:
            out.write(text)
        os.chmod(os.path.dirname(config), 0o755)
        wharfd = subprocess.Popen(["/usr/bin/wharfd", "--config", config],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(wharfd.stdout.close)
        self.addCleanup(lambda: wharfd.poll() is None and wharfd.kill())
        for line in wharfd.stdout:
            if " ready, " in line:
                break
        # Its log is read on, so that it never waits on a full pipe.
        threading.Thread(target=wharfd.stdout.read, daemon=True).start()
        with open("/run/wharf/wharfd.pid") as pid_file:
            master = int(pid_file.read())
        self.assertEqual(master, wharfd.pid)
        failures, connections, stop = [], [], threading.Event()

        def clients():
            connect_in_a_loop(port, stop, connections, failures)

        held = socket.create_connection(("127.0.0.1", port), timeout=10)  # across the upgrade
        self.addCleanup(held.close)
        self.assertTrue(echoes(held))
        client = threading.Thread(target=clients)
        client.start()
        try:
            # Without CAP_SYS_PTRACE, as in a container with Docker's default
            # capabilities: the scripts cannot read the master's /proc/PID/exe.
            upgrade = subprocess.run(["setpriv", "--bounding-set=-sys_ptrace", "dpkg", "-i",
                                      self.runtime], capture_output=True, text=True, timeout=600)
        finally:
            stop.set()
            client.join()
        self.assertEqual(upgrade.returncode, 0, upgrade.stdout + upgrade.stderr)
        self.assertIn(f"upgraded from {self.version()} to {self.version()}, pid {master}",
                      upgrade.stdout + upgrade.stderr)
        self.assertEqual(failures, [])
        self.assertGreater(len(connections), 0)
        self.assertTrue(echoes(held))  # the session kept
        held.close()
        self.assertIsNone(wharfd.poll())
        run("setpriv", "--bounding-set=-sys_ptrace", "dpkg", "--purge", "wharf")
        self.assertEqual(wharfd.wait(timeout=120), 0)
        self.assertFalse(os.path.exists("/var/log/wharf"))
        self.assertFalse(os.path.lexists("/etc/systemd/system/multi-user.target.wants/"
                                         "wharfd.service"))
        # Locked, not deleted: files it owns may remain.
        self.assertEqual(run("passwd", "--status", "wharf").split()[1], "L")

    def version(self):
        return run(os.path.join(self.root, "usr/bin/wharfd"), "--version").split()[1]

    def install_on_this_machine(self):
        """dpkg -i of the runtime package, purged after the test."""
        if os.geteuid() != 0:
            self.skipTest("installs a package: needs root")
        if subprocess.run(["dpkg-query", "-W", "wharf"], capture_output=True).returncode == 0:
            self.skipTest("a wharf package is installed here already")
        if os.path.isdir("/run/systemd/system"):
            self.skipTest("systemd runs here: the package would start the real service")
        self.addCleanup(subprocess.run, ["dpkg", "--purge", "wharf"], capture_output=True)
        # A container image's policy-rc.d forbids every service action (exit
        # 101), which the scripts obey: set aside while the test stands for an admin.
        policy = "/usr/sbin/policy-rc.d"
        if os.path.exists(policy):
            os.rename(policy, policy + ".wharf-test")
            self.addCleanup(os.rename, policy + ".wharf-test", policy)
        run("dpkg", "-i", self.runtime)

    def test_the_whole_production_profile(self):
        """Each feature worked alone in the tests' own configuration; together, in
        the package's layout, they broke. This runs them as an ops team does, in
        one go: the installed package; its wharf.ini with metrics on, the master
        log and an access log in the package's fresh /var/log/wharf (wharf:adm
        0750) and user = wharf; echo-tcp's socket passed as the shipped
        wharfd.socket says (systemd-socket-activate); 10 wharfctl upgrades while
        status and /metrics are polled 20 times a second each and clients loop
        (no failed connection, no poll that hangs); two runs of the installed
        logrotate snippet (no line of the master, a worker or the access log
        lost); a reload with a typo, then a good one; a stop within
        shutdown_timeout."""
        activate = shutil.which("systemd-socket-activate")
        if activate is None:
            self.fail("systemd-socket-activate is missing (Debian's systemd package)")
        if shutil.which("logrotate") is None:
            self.fail("logrotate is missing")
        self.install_on_this_machine()
        # The shipped socket unit, at a free port here; the config names it too.
        with open("/lib/systemd/system/wharfd.socket") as unit:
            socket_unit = dict(line.strip().split("=", 1) for line in unit
                               if re.match(r"(ListenStream|FileDescriptorName)=", line))
        echo_port, time_port, metrics_port = free_port(), free_port(), free_port()
        address = socket_unit["ListenStream"].replace("7007", str(echo_port))
        with open("/etc/wharf/wharf.ini") as shipped:
            config = shipped.read()
        config = config.replace("127.0.0.1:7007", address).replace("127.0.0.1:3037",
                                                                    f"127.0.0.1:{time_port}")
        config = config.replace("; metrics = 127.0.0.1:9109", f"metrics = 127.0.0.1:{metrics_port}")
        config = config.replace("; access_log = /var/log/wharf/access.log",
                                "access_log = /var/log/wharf/access.log\n"
                                "log = /var/log/wharf/wharfd.log\nshutdown_timeout = 20s")
        self.assertIn("metrics = ", config)
        self.assertIn("access_log = ", config)
        with open("/etc/wharf/wharf.ini", "w") as out:  # as an operator edits the conffile
            out.write(config)
        admin = ["/usr/bin/wharfctl", "--admin", "/run/wharf/admin.sock"]

        wharfd = subprocess.Popen([activate, "-l", address,
                                   f"--fdname={socket_unit['FileDescriptorName']}",
                                   "/usr/bin/wharfd", "--config", "/etc/wharf/wharf.ini"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: wharfd.poll() is None and wharfd.kill())
        self.addCleanup(wharfd.stderr.close)
        sessions = 0  # that ended: each is a line of the access log
        # The first connection starts wharfd, and waits for it.
        for _ in range(600):
            try:
                first = socket.create_connection(("127.0.0.1", echo_port), timeout=60)
                break
            except ConnectionRefusedError:  # systemd-socket-activate is not listening yet
                threading.Event().wait(0.05)
        with first:
            self.assertTrue(echoes(first, b"early"))
        sessions += 1
        with open("/run/wharf/wharfd.pid") as pid_file:
            master = int(pid_file.read())
        self.assertEqual(master, wharfd.pid)  # the activator exec'd wharfd
        status = json.loads(run(*admin, "status", "--json"))
        for worker in status["workers"]:
            with open(f"/proc/{worker['pid']}/status") as process:
                uid = next(int(line.split()[1]) for line in process if line.startswith("Uid:"))
            self.assertEqual(uid, pwd.getpwnam("wharf").pw_uid)

        failures, hangs, answered = [], [], {"status": 0, "metrics": 0}
        stop = threading.Event()
        connections = []

        def clients():
            connect_in_a_loop(echo_port, stop, connections, failures)

        def poll(what, ask):
            while not stop.wait(0.05):  # 20 times a second
                try:
                    ask()
                    answered[what] += 1
                except (subprocess.TimeoutExpired, socket.timeout, TimeoutError) as error:
                    hangs.append(f"{what}: {error}")
                except (OSError, AssertionError):
                    pass  # refused while the master executes the new image

        def ask_status():
            result = subprocess.run([*admin, "status", "--json"], capture_output=True,
                                    timeout=30)
            if result.returncode != 0:
                raise AssertionError(result.stderr)

        def ask_metrics():
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                        timeout=30) as response:
                response.read()

        held = socket.create_connection(("127.0.0.1", echo_port), timeout=30)  # across it all
        self.addCleanup(held.close)
        self.assertTrue(echoes(held))
        threads = [threading.Thread(target=clients), threading.Thread(target=poll, args=(
            "status", ask_status)), threading.Thread(target=poll, args=("metrics", ask_metrics))]
        for thread in threads:
            thread.start()
        try:
            for _ in range(10):
                result = subprocess.run([*admin, "upgrade"], capture_output=True, text=True,
                                        timeout=300)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertIn(f"pid {master}", result.stdout)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        self.assertEqual((failures, hangs), ([], []))
        self.assertGreater(len(connections), 0)
        self.assertGreater(min(answered.values()), 0, answered)
        sessions += len(connections)
        self.assertTrue(echoes(held))
        status = json.loads(run(*admin, "status", "--json"))
        self.assertEqual((status["pid"], status["upgrades"]), (master, 10))

        def lines(pattern):
            """Lines of every file of `pattern` in /var/log/wharf, rotated ones included."""
            found = []
            for path in sorted(glob.glob(f"/var/log/wharf/{pattern}*")):
                opener = gzip.open if path.endswith(".gz") else open
                with opener(path, "rt") as log:
                    found += log.read().splitlines()
            return found

        def rotate():
            result = subprocess.run(["logrotate", "--force", "--state",
                                     os.path.join(self.work, "logrotate.state"),
                                     "/etc/logrotate.d/wharf"], capture_output=True, text=True,
                                    timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)

        def in_new_log(text):  # waits for `text` in the master log's current file
            for _ in range(600):
                with open("/var/log/wharf/wharfd.log") as log:
                    if text in log.read():
                        return
                threading.Event().wait(0.05)
            self.fail(f"{text!r} not in the current wharfd.log")

        rotate()
        in_new_log("wharfctl reopen: log files reopened")
        # A typo is refused, by file, line and key, and logged to the new file.
        with open("/etc/wharf/wharf.ini", "a") as out:
            out.write("\n[listener.typo]\ntransport = tcpp\n")
        self.assertNotEqual(subprocess.run([*admin, "reload"], capture_output=True).returncode, 0)
        in_new_log("reload refused, nothing changed: /etc/wharf/wharf.ini:")
        with socket.create_connection(("127.0.0.1", echo_port), timeout=30) as client:
            self.assertTrue(echoes(client, b"between rotations"))
        sessions += 1
        rotate()
        in_new_log("wharfctl reopen: log files reopened")
        with open("/etc/wharf/wharf.ini", "w") as out:  # the typo fixed
            out.write(config)
        run(*admin, "reload")
        in_new_log("master: reload: ")
        in_new_log("worker: reload: ")  # the workers' lines too
        with socket.create_connection(("127.0.0.1", echo_port), timeout=30) as client:
            self.assertTrue(echoes(client, b"after"))
        sessions += 1
        held.close()
        sessions += 1
        # Every line of each log, across its three files: the master's ten upgrades, the
        # refused and the applied reload, and one access line per session.
        for _ in range(600):
            if len(lines("access.log")) >= sessions:
                break
            threading.Event().wait(0.05)
        self.assertEqual(len(lines("access.log")), sessions)
        master_log = "\n".join(lines("wharfd.log"))
        self.assertEqual(master_log.count("upgraded from wharfd "), 10)
        self.assertEqual(master_log.count("reload refused, nothing changed"), 1)
        for path in glob.glob("/var/log/wharf/*"):
            self.assertEqual(pwd.getpwuid(os.stat(path).st_uid).pw_name, "wharf", path)
        wharfd.send_signal(signal.SIGTERM)
        self.assertEqual(wharfd.wait(timeout=20 + 30), 0)  # shutdown_timeout, then a hang
        self.assertFalse(os.path.exists("/run/wharf/wharfd.pid"))

    def test_the_sdk_example_builds_against_wharf_dev(self):
        example = os.path.join(SOURCE, "sdk", "examples", "caesar")
        prefix = os.path.join(self.root, "usr")
        cmake_build = os.path.join(self.work, "caesar-cmake")
        run("cmake", "-S", example, "-B", cmake_build, f"-DCMAKE_PREFIX_PATH={prefix}")
        run("cmake", "--build", cmake_build)
        self.assertTrue(os.path.exists(os.path.join(cmake_build, "caesar.so")))
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "share", "pkgconfig"))
        flags = run("pkg-config", "--cflags", "--libs", "wharf-sdk", env=env).split()
        plugin = os.path.join(self.work, "caesar-pc.so")
        run("cc", "-shared", "-fPIC", os.path.join(example, "caesar.c"), *flags, "-o", plugin)
        self.assertTrue(os.path.exists(plugin))


if __name__ == "__main__":
    unittest.main()
