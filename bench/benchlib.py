"""What bench/run and bench/reload share: free ports, server processes that
say when they are ready, the load generator, and the printed table."""

import os
import signal
import socket
import subprocess
import threading
import time

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
    """User + system time process `pid` has used so far, with that of the
    children it has reaped (a forking server's finished sessions)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(map(int, fields[11:15])) / os.sysconf("SC_CLK_TCK")  # [cs]utime, [cs]stime


class CpuGroup:
    """A cgroup of one server's processes, for the CPU time they all used,
    exited ones too, in nanoseconds (cgroup v2's cpu.stat or v1's cpuacct),
    rather than clock ticks that lose a forking server's sessions. None where
    no cgroup can be made (no root, no writable hierarchy)."""

    def __init__(self, folder, read):
        self.folder, self.read = folder, read

    @staticmethod
    def make(name):
        def usage_v2(folder):
            with open(os.path.join(folder, "cpu.stat")) as stat:
                return int(stat.readline().split()[1]) / 1e6  # usage_usec
        def usage_v1(folder):
            with open(os.path.join(folder, "cpuacct.usage")) as usage:
                return int(usage.read()) / 1e9
        for parent, read in [("/sys/fs/cgroup", usage_v2), ("/sys/fs/cgroup/cpuacct", usage_v1)]:
            folder = os.path.join(parent, f"wharf-bench-{name}-{os.getpid()}")
            try:
                os.mkdir(folder)
                read(folder)
                return CpuGroup(folder, read)
            except OSError:
                try:
                    os.rmdir(folder)
                except OSError:
                    pass
        return None

    def join(self):
        """In the child, before exec."""
        with open(os.path.join(self.folder, "cgroup.procs"), "w") as procs:
            procs.write("0")

    def seconds(self):
        return self.read(self.folder)

    def remove(self):
        """Once its processes have gone (the killed take a moment)."""
        for _ in range(50):
            try:
                os.rmdir(self.folder)
                return
            except OSError:
                time.sleep(0.02)


def descendants(pid):
    """Every live process below `pid`, whichever of its threads forked it."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                for child in map(int, listing.read().split()):
                    found += [child] + descendants(child)
        except FileNotFoundError:
            pass
    return found


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

    cpu_group = None  # a subclass that starts its process its own way has none

    def __init__(self, command, ready_text):
        self.cpu_group = CpuGroup.make(os.path.basename(command[0]))
        place = placed("server")

        def prepare():
            if self.cpu_group:
                self.cpu_group.join()
            if place:
                place()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True,
                                        preexec_fn=prepare, start_new_session=True)
        said = []
        for line in self.process.stdout:
            if ready_text in line:
                # Keep reading, so a chatty server never blocks on a full pipe.
                threading.Thread(target=self.process.stdout.read, daemon=True).start()
                return
            said.append(line)
        raise RuntimeError(f"{command[0]} did not start (exit {self.process.wait()}); it said:\n"
                           + "".join(said[-30:]))

    def children(self):
        """The server's child processes (wharfd's workers)."""
        pid = self.process.pid
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            return [int(child) for child in listing.read().split()]

    def cpu_seconds(self):
        """User + system time of the server and every process below it (wharfd's
        workers, a forking server's sessions, live or ended)."""
        if self.cpu_group:
            return self.cpu_group.seconds()
        total = 0.0
        for pid in [self.process.pid] + descendants(self.process.pid):
            try:
                total += cpu_seconds(pid)
            except FileNotFoundError:
                pass  # ended meanwhile: its time is its reaper's now, or lost if not yet reaped
        return total

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
        if self.cpu_group:
            self.cpu_group.remove()


def loadgen(build, *arguments):
    result = subprocess.run([os.path.join(build, "bin", "loadgen"), *map(str, arguments)],
                            capture_output=True, text=True, timeout=600,
                            preexec_fn=placed("load"))
    if result.returncode != 0:
        raise RuntimeError(f"loadgen {arguments}: {result.stderr}")
    return dict(line.split() for line in result.stdout.splitlines())


class LoadgenRunning:
    """`loadgen pingpong` started in the background, every client connected once
    this returns; stop() ends it (SIGINT) and gives its figures. For a bench that
    must keep load on while a change of unknown length finishes."""

    def __init__(self, build, port, clients, size, think_ms=0):
        self.process = subprocess.Popen(
            [os.path.join(build, "bin", "loadgen"), "pingpong", str(port), str(clients), str(size),
             "3600", str(think_ms)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=placed("load"))
        if not self.process.stdout.readline().startswith("connected"):
            self.process.kill()
            raise RuntimeError(f"loadgen did not connect: {self.process.communicate()[1]}")

    def stop(self):
        self.process.send_signal(signal.SIGINT)
        try:
            output, errors = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        figures = dict(line.split() for line in output.splitlines())
        if self.process.returncode != 0 or "p99_us" not in figures:
            raise RuntimeError(f"loadgen ended {self.process.returncode}, no exchange counted "
                               f"or failed: {errors}")
        return figures

    def kill(self):
        self.process.kill()
        self.process.communicate()


def print_table(headers, rows):
    widths = [max(len(str(row[i])) for row in rows + [headers]) for i in range(len(headers))]
    for row in [headers] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
