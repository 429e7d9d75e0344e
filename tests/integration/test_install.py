"""`cmake --install BUILD --prefix P` under a scratch prefix: every file lands
under P, and the installed wharfd finds its plugins there by itself (no
plugin_dir), relative to its own bin/."""

import os
import shutil
import subprocess
import tempfile

from clients import receive_exactly, stream_connect
from wharf_harness import Wharfd, WharfTestCase, free_port

BUILD = os.environ["WHARF_BUILD_DIR"]


class InstallUnderAnyPrefix(WharfTestCase):
    def test_everything_lands_under_the_prefix_and_wharfd_finds_its_plugins(self):
        prefix = tempfile.mkdtemp(prefix="wharf-prefix-")
        self.addCleanup(shutil.rmtree, prefix)
        result = subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix],
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr)
        installed = [line.split(": ", 1)[1] for line in result.stdout.splitlines()
                     if line.startswith(("-- Installing: ", "-- Up-to-date: "))]
        self.assertGreater(len(installed), 10, result.stdout)
        outside = [path for path in installed if not path.startswith(prefix + os.sep)]
        self.assertEqual(outside, [])
        plugins = [path for path in installed if path.endswith("/wharf/plugins/echo.so")]
        self.assertEqual(len(plugins), 1, installed)

        address = f"127.0.0.1:{free_port()}"
        server = Wharfd(self, {"e": {"transport": "tcp", "listen": address, "plugin": "echo"}})
        server.host.pop("plugin_dir")  # found by the installed wharfd itself
        server.write_config()
        server.binary = os.path.join(prefix, "bin", "wharfd")
        server.start()
        self.assertIn(f"({plugins[0]})", server.log())
        with stream_connect("tcp", address) as session:
            session.sendall(b"installed")
            self.assertEqual(receive_exactly(session, 9), b"installed")
        self.assertStops(server)


class InstallRefusalsAndTheSdkAlone(WharfTestCase):
    SOURCE = os.environ["WHARF_SOURCE_DIR"]

    def scratch(self, prefix):
        folder = tempfile.mkdtemp(prefix=prefix)
        self.addCleanup(shutil.rmtree, folder)
        return folder

    def test_an_unbuilt_tree_is_refused_before_any_file_is_installed(self):
        # It failed half way, after the SDK's files, on the first program missing.
        build, prefix = self.scratch("wharf-unbuilt-"), self.scratch("wharf-prefix-")
        subprocess.run(["cmake", "-S", self.SOURCE, "-B", build], capture_output=True,
                       check=True, timeout=300)
        result = subprocess.run(["cmake", "--install", build, "--prefix", prefix],
                                capture_output=True, text=True, timeout=300)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"{build} is not built: run cmake --build {build} first, or install the "
                      "SDK alone with --component dev", " ".join(result.stderr.split()))
        self.assertEqual(os.listdir(prefix), [])

    def test_the_sdk_alone_configures_without_the_host_libraries_and_builds_a_plugin(self):
        # Configuring even for the SDK needed Poco, libcap-ng and libsystemd.
        build, prefix = self.scratch("wharf-sdk-build-"), self.scratch("wharf-sdk-")
        without = dict(os.environ, PKG_CONFIG_LIBDIR="/nonexistent")  # no .pc file found
        subprocess.run(["cmake", "-S", self.SOURCE, "-B", build, "-DWHARF_SDK_ONLY=ON",
                        "-DCMAKE_DISABLE_FIND_PACKAGE_Poco=ON"], capture_output=True,
                       check=True, timeout=300, env=without)
        subprocess.run(["cmake", "--install", build, "--prefix", prefix], capture_output=True,
                       check=True, timeout=300)
        example = os.path.join(self.SOURCE, "sdk", "examples", "caesar")
        plugin_build = self.scratch("wharf-caesar-")
        subprocess.run(["cmake", "-S", example, "-B", plugin_build,
                        f"-DCMAKE_PREFIX_PATH={prefix}"], capture_output=True, check=True,
                       timeout=300)
        subprocess.run(["cmake", "--build", plugin_build], capture_output=True, check=True,
                       timeout=300)
        self.assertTrue(os.path.exists(os.path.join(plugin_build, "caesar.so")))
        # The full configure, with the same libraries missing, fails.
        full = subprocess.run(["cmake", "-S", self.SOURCE, "-B", self.scratch("wharf-full-"),
                               "-DCMAKE_DISABLE_FIND_PACKAGE_Poco=ON"], capture_output=True,
                              timeout=300, env=without)
        self.assertNotEqual(full.returncode, 0)
