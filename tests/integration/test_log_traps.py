"""Log files a plugin cannot turn against root: the Debian package's layout
(`user =` the workers' user, which owns the log folder) with the traps a
plugin running as that user can lay there before the master (uid 0) opens
or reopens a file: a symbolic link in the file's place or on the way to it,
a FIFO, a hard link. Only the master opens log files; workers write to the
descriptors it passes them, also after SIGUSR1. `--check-config` creates
nothing."""

import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import unittest

from test_logs import access_entries, exchange, read_lines, wait_for_entries
from wharf_harness import WHARFD, Wharfd, WharfTestCase, free_port, wait_until


@unittest.skipUnless(os.geteuid() == 0, "needs root: the master opens logs as root")
class LogTraps(WharfTestCase):
    def setUp(self):
        try:
            self.nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user nobody")
        # Where a plugin would aim: a folder only root may write, which must
        # stay empty.
        self.victims = tempfile.mkdtemp(prefix="wharf-victims-")
        self.addCleanup(shutil.rmtree, self.victims)

    def server_with_logs(self, **listener):
        """wharfd as the package runs it: workers as nobody, the daemon log
        and an access log in a folder nobody owns (0750, like wharf:adm)."""
        self.port = free_port()
        keys = {"transport": "tcp", "listen": f"127.0.0.1:{self.port}", "plugin": "echo"}
        keys.update(listener)
        server = Wharfd(self, {"e": keys}, {"user": "nobody"})
        os.chmod(server.dir, 0o755)  # the workers (nobody) load what the test puts there
        self.logs = server.path("log")
        os.mkdir(self.logs, 0o750)
        os.chown(self.logs, self.nobody.pw_uid, self.nobody.pw_gid)
        server.host.update({"log": os.path.join(self.logs, "wharfd.log"),
                            "access_log": os.path.join(self.logs, "access.log")})
        server.write_config()
        return server

    def daemon_log(self):
        """The daemon log's text (a refused start writes its reason there)."""
        return "\n".join(read_lines(os.path.join(self.logs, "wharfd.log")))

    def as_nobody(self, action):
        """Runs `action` in a child process as the workers' user: what a
        plugin could do."""
        pid = os.fork()
        if pid == 0:
            try:
                os.setgid(self.nobody.pw_gid)
                os.setuid(self.nobody.pw_uid)
                action()
                os._exit(0)
            except BaseException:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, "the plugin's move failed")

    def test_a_fresh_log_folder_of_the_workers_user(self):
        server = self.server_with_logs().start()
        exchange(self.port, b"hello")
        self.assertEqual([entry["in"] for entry in
                          wait_for_entries(os.path.join(self.logs, "access.log"), 1)], ["5"])
        for name in ("wharfd.log", "access.log"):
            # Made as the user that owns the folder, as logrotate's `create` does.
            self.assertEqual(os.stat(os.path.join(self.logs, name)).st_uid, self.nobody.pw_uid)
        self.assertRegex(server.log(), r"worker: serving 1 listeners as nobody")
        self.assertStops(server)

    def test_sigusr1_refuses_a_symlink_a_plugin_put_in_the_files_place(self):
        server = self.server_with_logs().start()
        exchange(self.port, b"before")
        access = os.path.join(self.logs, "access.log")
        wait_for_entries(access, 1)
        own = os.path.join(self.logs, "wharfd.log")

        def lay_trap():  # as logrotate would move them, then the links
            for name in ("wharfd.log", "access.log"):
                path = os.path.join(self.logs, name)
                os.rename(path, path + ".1")
                os.symlink(os.path.join(self.victims, name), path)
        self.as_nobody(lay_trap)
        server.signal(signal.SIGUSR1)
        wait_until(lambda: sum("is a symbolic link in a folder nobody can write" in line
                               for line in read_lines(own + ".1")) == 2,
                   "the master refusing both links")
        self.assertEqual(os.listdir(self.victims), [])
        # The files in use stay in use: nothing is lost.
        exchange(self.port, b"after!")
        self.assertEqual([entry["in"] for entry in wait_for_entries(access + ".1", 2)],
                         ["6", "6"])
        self.assertStops(server)
        self.assertEqual(os.listdir(self.victims), [])

    def test_a_symlinked_folder_on_the_way_is_refused(self):
        server = self.server_with_logs()
        self.as_nobody(lambda: os.symlink(self.victims, os.path.join(self.logs, "sub")))
        server.host["access_log"] = os.path.join(self.logs, "sub", "access.log")
        server.write_config()
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertIn("sub is a symbolic link in a folder nobody can write", self.daemon_log())
        self.assertEqual(os.listdir(self.victims), [])

    def test_a_symlink_root_put_in_a_folder_only_root_writes_is_followed(self):
        server = self.server_with_logs()
        # The admin's own link (in the test's folder, root's): followed, and
        # the file is opened in the folder it leads to, with the same guard.
        os.symlink(self.logs, server.path("logs-link"))
        server.host["access_log"] = os.path.join(server.path("logs-link"), "access.log")
        server.write_config()
        server.start()
        exchange(self.port, b"linked")
        self.assertEqual(len(wait_for_entries(os.path.join(self.logs, "access.log"), 1)), 1)
        self.assertStops(server)

    def test_a_fifo_is_refused_without_blocking(self):
        server = self.server_with_logs()
        self.as_nobody(lambda: os.mkfifo(os.path.join(self.logs, "access.log")))
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertIn("access.log (not a regular file)", self.daemon_log())

    def test_a_hard_link_to_roots_file_is_opened_only_as_the_workers_user(self):
        # Where fs.protected_hardlinks is off, a plugin may link a file of
        # root's into its folder: the master opens it as the folder's owner,
        # who may not write it.
        victim = os.path.join(self.victims, "shadow")
        with open(victim, "w") as file:
            file.write("root's\n")
        os.chmod(victim, 0o644)
        server = self.server_with_logs()
        os.link(victim, os.path.join(self.logs, "access.log"))  # as root: what the setting allows
        self.assertEqual(server.start(expect_ready=False), 2)
        self.assertIn("access.log (as nobody, who can write its folder): Permission denied",
                      self.daemon_log())
        with open(victim) as file:
            self.assertEqual(file.read(), "root's\n")

    def test_check_config_creates_no_file(self):
        server = self.server_with_logs()
        checked = subprocess.run([WHARFD, "--config", server.config_path, "--check-config"],
                                 capture_output=True, text=True, timeout=120)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        self.assertEqual(os.listdir(self.logs), [])

    def test_a_rotation_reaches_every_worker_and_fork_helper(self):
        server = self.server_with_logs(mode="fork")
        server.host["workers"] = "2"
        server.write_config()
        server.start()
        access = os.path.join(self.logs, "access.log")
        exchange(self.port, b"before")
        wait_for_entries(access, 1)
        self.as_nobody(lambda: os.rename(access, access + ".1"))
        server.signal(signal.SIGUSR1)
        own = os.path.join(self.logs, "wharfd.log")
        wait_until(lambda: sum("log files reopened by the master" in line
                               for line in read_lines(own)) == 2, "both workers taking them")
        for _ in range(4):  # across both workers, through their helpers
            exchange(self.port, b"after!")
        self.assertEqual([entry["in"] for entry in wait_for_entries(access, 4)], ["6"] * 4)
        self.assertEqual(len(access_entries(access + ".1")), 1)
        self.assertEqual(stat.S_IMODE(os.stat(access).st_mode), 0o640)
        self.assertStops(server)
