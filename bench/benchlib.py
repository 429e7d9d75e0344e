"""What bench/run and bench/reload share: free ports, server processes that
say when they are ready, the load generator, and the printed table."""

import os
import signal
import socket
import subprocess
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Where servers and the load generator run. pin_cores() gives each its own
# core, as a load-testing rig would, so the scheduler never stacks session
# threads onto the load generator's core; the same for every server measured.
PLACEMENT = {"server": None, "load": None}


def pin_cores():
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= 2:
        PLACEMENT["load"] = {cores[0]}
        PLACEMENT["server"] = set(cores[1:])
    return PLACEMENT


def cpu_seconds(pid):
    """User + system time process `pid` has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def placed(role):
    cores = PLACEMENT[role]
    return (lambda: os.sched_setaffinity(0, cores)) if cores else None


def free_port():
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp.bind(("127.0.0.1", port))
        return port


class Server:
    """A server process that says it is ready on stdout or stderr, in a
    process group of its own: stopping it ends its children too."""

    def __init__(self, command, ready_text):
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True,
                                        preexec_fn=placed("server"), start_new_session=True)
        for line in self.process.stdout:
            if ready_text in line:
                # Keep reading, so a chatty server never blocks on a full pipe.
                threading.Thread(target=self.process.stdout.read, daemon=True).start()
                return
        raise RuntimeError(f"{command[0]} did not start")

    def children(self):
        """The server's child processes (wharfd's workers)."""
        pid = self.process.pid
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            return [int(child) for child in listing.read().split()]

    def cpu_seconds(self):
        """User + system time of the server and its children (wharfd's workers)."""
        return sum(cpu_seconds(pid) for pid in [self.process.pid] + self.children())

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # children left behind (per-session ones)
        except ProcessLookupError:
            pass


def loadgen(build, *arguments):
    result = subprocess.run([os.path.join(build, "bin", "loadgen"), *map(str, arguments)],
                            capture_output=True, text=True, timeout=600,
                            preexec_fn=placed("load"))
    if result.returncode != 0:
        raise RuntimeError(f"loadgen {arguments}: {result.stderr}")
    return dict(line.split() for line in result.stdout.splitlines())


def print_table(headers, rows):
    widths = [max(len(str(row[i])) for row in rows + [headers]) for i in range(len(headers))]
    for row in [headers] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
