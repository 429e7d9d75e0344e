"""Building the tests' Rust crates with Debian's toolchain (the cargo package
CI installs: cargo 1.65, rustc 1.63), never a newer one on the PATH, offline."""

import os
import subprocess
import unittest

CARGO, RUSTC = "/usr/bin/cargo", "/usr/bin/rustc"


def require_toolchain():
    """Skips the calling test class on a machine without Debian's cargo."""
    if not (os.access(CARGO, os.X_OK) and os.access(RUSTC, os.X_OK)):
        raise unittest.SkipTest("needs Debian's cargo and rustc (the cargo package)")


def cargo_environment(work):
    """cargo's environment: its target directory and home under `work`."""
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(work, "target"),
               CARGO_HOME=os.path.join(work, "cargo-home"), RUSTC=RUSTC,
               RUSTDOC="/usr/bin/rustdoc", CARGO_NET_OFFLINE="true",
               PATH="/usr/bin:" + os.environ.get("PATH", ""))
    env.pop("RUSTUP_TOOLCHAIN", None)
    return env


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr
