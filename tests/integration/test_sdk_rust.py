"""sdk/examples/rust: a Wharf plugin in Rust through the C ABI, no crates.
Its hand-written #[repr(C)] types are checked against wharf.h (a C compiler
prints every size and offset of the header's structs; the crate's test
compares), then it is built with Debian's cargo, offline, and served in the
reactor and thread modes."""

import os
import re
import shutil
import subprocess
import tempfile

from clients import stream_round_trip
from wharf_harness import WharfTestCase, free_port

SOURCE = os.environ["WHARF_SOURCE_DIR"]
HEADER = os.path.join(SOURCE, "sdk", "include", "wharf", "wharf.h")
CRATE = os.path.join(SOURCE, "sdk", "examples", "rust")
STRUCTS = ("wharf_abi_header", "wharf_host", "wharf_host_api", "wharf_plugin")
# Debian's cargo (the package CI installs) before any other on the PATH.
CARGO = shutil.which("cargo", path="/usr/bin") or shutil.which("cargo")


def fields(text, struct):
    """The field names of `typedef struct NAME { ... } NAME;`, in order."""
    body = text[text.index(f"typedef struct {struct} {{"):text.index(f"}} {struct};")]
    body = re.sub(r"/\*.*?\*/", "", body.split("{", 1)[1], flags=re.S)
    names = []
    for declaration in body.split(";"):
        if not declaration.strip():
            continue
        pointer = re.search(r"\(\*(\w+)\)", declaration)
        names.append(pointer.group(1) if pointer else re.findall(r"\w+", declaration)[-1])
    return names


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


class RustPlugin(WharfTestCase):
    def setUp(self):
        if CARGO is None:
            self.skipTest("needs cargo (Debian's package)")
        work = tempfile.TemporaryDirectory(prefix="wharf-rust-")
        self.addCleanup(work.cleanup)
        self.work = work.name

    def layout_file(self):
        with open(HEADER) as header:
            text = header.read()
        lines = ["#include <stddef.h>", "#include <stdio.h>", "#include <wharf/wharf.h>",
                 "int main(void) {"]
        for struct in STRUCTS:
            lines.append(f'  printf("{struct} %zu\\n", sizeof({struct}));')
            for field in fields(text, struct):
                lines.append(f'  printf("{struct}.{field} %zu\\n", offsetof({struct}, {field}));')
        lines += ["  return 0;", "}"]
        probe = os.path.join(self.work, "layout.c")
        with open(probe, "w") as out:
            out.write("\n".join(lines) + "\n")
        binary = os.path.join(self.work, "layout")
        run(["cc", "-I", os.path.join(SOURCE, "sdk", "include"), probe, "-o", binary])
        layout = os.path.join(self.work, "layout.txt")
        with open(layout, "w") as out:
            out.write(run([binary]))
        return layout

    def test_its_types_match_the_header_and_it_serves(self):
        crate = os.path.join(self.work, "crate")
        shutil.copytree(CRATE, crate, ignore=shutil.ignore_patterns("target"))
        env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(self.work, "target"),
                   WHARF_LAYOUT_FILE=self.layout_file(),
                   RUSTC=os.path.join(os.path.dirname(CARGO), "rustc"))  # the same toolchain
        run([CARGO, "test", "--offline", "--release"], cwd=crate, env=env)
        run([CARGO, "build", "--offline", "--release"], cwd=crate, env=env)
        plugin = os.path.join(self.work, "target", "release", "libwharf_rot13.so")
        for mode in ("reactor", "thread"):
            with self.subTest(mode=mode):
                port = free_port()
                server = self.wharfd({"r": {"transport": "tcp", "listen": f"127.0.0.1:{port}",
                                            "mode": mode, "plugin": plugin}})
                self.assertEqual(stream_round_trip("tcp", f"127.0.0.1:{port}", b"Hello, World"),
                                 b"Uryyb, Jbeyq")
                self.assertIn("plugin rot13 1.0.0", server.log())
                server.wait_for_log("rot13 from Rust")
                self.assertStops(server)
