"""What the benchmarks share: the fake API server as a separate process, `autotaint` processes,
and the readings taken from /proc (memory from smaps_rollup, CPU time) and from the fake's
request log. Everything runs on 127.0.0.1; every wait here is bounded.
"""
import collections
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
E2E = REPO / "Tests/e2e"
OWN_TAINT = "autotaint.dev/cpu-pressure"


# Every process started here, so that an interrupted bench leaves none behind (kill_all).
STARTED: list[subprocess.Popen] = []


def start(arguments: list[str], **kw) -> subprocess.Popen:
    process = subprocess.Popen(arguments, **kw)
    STARTED.append(process)
    return process


def kill_all() -> None:
    """Kills what is still running of the processes started here (stress-ng: its whole group)."""
    for process in STARTED:
        if process.poll() is None:
            try:
                if process.pid == os.getpgid(process.pid):
                    os.killpg(process.pid, signal.SIGKILL)
                else:
                    process.kill()
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


# -- readings from /proc -------------------------------------------------------------------

def smaps_rollup(pid: int) -> dict:
    """The kB figures of /proc/PID/smaps_rollup (Rss, Anonymous, Shared_Clean, ...)."""
    figures = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                figures[parts[0].rstrip(":")] = int(parts[1])
    return figures


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces): fields 3 onwards."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def page_faults(pid: int) -> tuple[int, int]:
    """(minor, major) page faults of process `pid` so far, all threads."""
    fields = stat_fields(pid)
    return int(fields[7]), int(fields[9])


def user_system_seconds(pid: int) -> tuple[float, float]:
    """(utime, stime) of the process (all its threads, those gone included); 10 ms resolution."""
    fields = stat_fields(pid)
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads, those gone included); 10 ms resolution."""
    return sum(user_system_seconds(pid))


def thread_switches(pid: int) -> dict[int, tuple[str, int]]:
    """Each live thread's name and context switches so far (voluntary + nonvoluntary, from
    /proc/PID/task/TID/status): each is one wake-up of that thread (a switch in)."""
    threads = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{task}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except (FileNotFoundError, ProcessLookupError):
            continue
        threads[int(task)] = (name, int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"]))
    return threads


def wakeups_per_second(before: dict, after: dict, seconds: float) -> dict[str, float]:
    """Wake-ups per second by thread over a window, threads named "comm (tid)"; a thread that
    started within the window counts from 0, one that ended in it is not seen."""
    return {f"{name} ({tid})": round((count - before.get(tid, (name, 0))[1]) / seconds, 2)
            for tid, (name, count) in sorted(after.items())}


def cpu_ns(pid: int) -> int:
    """CPU time in ns summed over the process's live threads (/proc/PID/task/*/schedstat):
    fine-grained where utime + stime counts 10 ms ticks, but blind to threads already gone."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


class MachineLoad:
    """How busy the whole machine was between start() and stop(), from /proc/stat: the share
    of all CPUs not idle, and the load average at the end."""

    @staticmethod
    def _ticks():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values[:8]), idle  # guest time is already inside user and nice

    def __init__(self):
        self.total, self.idle = self._ticks()

    def stop(self) -> dict:
        total, idle = self._ticks()
        busy = 100 * (1 - (idle - self.idle) / max(1, total - self.total))
        with open("/proc/loadavg") as f:
            load = float(f.read().split()[0])
        return {"machine_busy_percent": round(busy, 1), "loadavg_1m": load}


def drop_page_cache(path: str) -> None:
    """Evicts `path` from the page cache, so the next start reads it from disk through
    read-ahead, as on a node that has just pulled the image, not through whatever folios
    writing it (the linker, strip, cp) left; those can map more of it than a node would."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def private_files(binary: str, directory: Path, opened_later: tuple[str, ...] = ()) -> tuple[str, dict]:
    """A copy of `binary`, of every library `ldd` lists for it and of those named in
    `opened_later` (sonames it dlopens, where the machine has them) in `directory`, out of the
    page cache, and the environment that makes the loader map those copies: a process run so
    shares no file page with the other agents of the bench, as an agent on a node shares
    none with other processes (its image's files are its own). The loader itself (~0.2 MiB)
    stays the machine's. Returns (the binary's copy, LD_LIBRARY_PATH to run it with)."""
    directory.mkdir(parents=True, exist_ok=True)
    listing = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True, timeout=30).stdout
    known = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True, timeout=30).stdout
    libraries = {Path(path).name: path for path in re.findall(r"=> (/\S+) \(0x", listing)}
    for soname in opened_later:
        if found := re.search(rf"^\s*{re.escape(soname)} \(.*\) => (/\S+)$", known, re.MULTILINE):
            libraries[soname] = found.group(1)
    copies = [directory / Path(binary).name]
    shutil.copy2(binary, copies[0])
    for name, library in libraries.items():
        copies.append(directory / name)
        shutil.copy2(library, copies[-1])
    for copy in copies:
        with open(copy, "rb") as file:
            os.fsync(file.fileno())  # written pages are dirty until then, and DONTNEED keeps dirty ones
        drop_page_cache(str(copy))
    return str(copies[0]), {"LD_LIBRARY_PATH": str(directory)}


# Between the starts of two periodic processes of a part: a wake-up that coincides with
# another process's finds the CPU already awake and costs about half of one alone (four
# floors started together: 30-66 µs a tick, the first the dearest; started 83 ms apart:
# 72-77 µs each), so processes started together would measure each other's timing.
WAKE_UP_APART = 0.25

# The agent in steady state: a threshold only a machine busy to the last tick reaches, and
# then for an hour, so whatever else runs here does not put it into pressure.
NEVER_PRESSURE = {"AUTOTAINT_SIGNALS_CPU_HIGHPERCENT": "100", "AUTOTAINT_SIGNALS_CPU_LOWPERCENT": "99",
                  "AUTOTAINT_SIGNALS_CPU_FOR": "1h"}

# What libproc2 dlopens (for NUMA), where the machine has it.
LIBPROC2_OPENS = ("libnuma.so", "libnuma.so.1")


def file_mappings_outside(pid: int, directory: Path) -> list[str]:
    """The shared objects process `pid` maps from anywhere but `directory`, the loader aside."""
    rows = (line.split() for line in Path(f"/proc/{pid}/maps").read_text().splitlines())
    paths = {Path(row[5]) for row in rows if len(row) >= 6 and ".so" in row[5]}
    return sorted(str(p) for p in paths if p.parent != directory and not p.name.startswith("ld-linux"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the fake API server ---------------------------------------------------------------------

class FakeAPI:
    """`python3 -m fakeapi` from Tests/e2e in its own process (so its CPU time is its own and it
    is not slowed by this one), with nodes `nodes`; read back through its admin port and, as a
    client would, through the Kubernetes API over TLS."""

    def __init__(self, state_dir: Path, nodes: list[str]):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        arguments = [sys.executable, "-m", "fakeapi", "--port", "0", "--admin-port", "0",
                     "--state-dir", str(self.state_dir)]
        for node in nodes:
            arguments += ["--node", node]
        self.process = start(arguments, cwd=E2E, stdout=subprocess.DEVNULL,
                                        stderr=open(self.state_dir / "fakeapi.log", "w"))
        info_path = self.state_dir / "server.json"
        deadline = time.monotonic() + 20
        while not (info_path.exists() and info_path.stat().st_size):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the fake API server did not start; see {self.state_dir}/fakeapi.log")
            time.sleep(0.05)
        time.sleep(0.1)  # server.json is written atomically; the kubeconfig before it
        self.info = json.loads(info_path.read_text())
        self.kubeconfig = self.info["kubeconfig"]
        self._tls = ssl.create_default_context(cafile=self.info["ca"])
        self._connection = None

    def _admin(self, method: str, path: str):
        request = urllib.request.Request(self.info["admin_url"] + path, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def requests(self) -> list[dict]:
        """The request log (not the fake's own internal writer), each with time, method, path,
        params, status and user_agent."""
        return self._admin("GET", "/requests")

    def clear_requests(self) -> None:
        self._admin("DELETE", "/requests")

    def node(self, name: str) -> dict:
        """GET /api/v1/nodes/NAME over TLS with the token, on one kept-alive connection."""
        for attempt in range(2):
            try:
                if self._connection is None:
                    self._connection = http.client.HTTPSConnection(
                        "127.0.0.1", self.info["port"], context=self._tls, timeout=5)
                self._connection.request("GET", f"/api/v1/nodes/{name}", headers={
                    "Authorization": f"Bearer {self.info['token']}", "Accept": "application/json",
                    "User-Agent": "bench-poller"})
                response = self._connection.getresponse()
                body = response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET node {name}: {response.status} {body[:200]!r}")
                return json.loads(body)
            except (OSError, http.client.HTTPException):
                self._connection = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def own_taints(node: dict, key: str = OWN_TAINT) -> list[dict]:
    return [t for t in node.get("spec", {}).get("taints") or [] if t["key"] == key]


def condition(node: dict, kind: str = "CPUPressure") -> dict | None:
    return next((c for c in node.get("status", {}).get("conditions") or [] if c["type"] == kind), None)


def verb_counts(requests: list[dict], since: float = 0.0, until: float = float("inf")) -> dict:
    """The agents' requests (user agent autotaint/…) logged in [since, until), by verb and
    resource: `GET nodes/NAME` → `GET node`, a watch → `WATCH nodes`, `PATCH nodes/NAME/status`
    → `PATCH node/status`, `POST namespaces/default/events` → `POST events`."""
    counts = collections.Counter()
    for r in requests:
        if not (r.get("user_agent") or "").startswith("autotaint/") or not since <= r["time"] < until:
            continue
        watch = r.get("params", {}).get("watch") in ("true", "1")
        parts = r["path"].removeprefix("/api/v1/").split("/")
        if parts[0] == "nodes":
            resource = "nodes" if len(parts) == 1 else "node" + "".join("/" + p for p in parts[2:])
        else:
            resource = parts[-1] if len(parts) % 2 else parts[-2]
        counts[f"{'WATCH' if watch else r['method']} {resource}"] += 1
    return dict(sorted(counts.items()))


# -- autotaint processes -------------------------------------------------------------------------

def agent_environment(**overrides: str) -> dict:
    """This environment without AUTOTAINT_* or NODE_NAME, plus `overrides` (AUTOTAINT_… keys)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTAINT_") and k != "NODE_NAME"}
    environment.update(overrides)
    return environment


class Agent:
    """`BINARY run ARGS…` (or any subcommand with `command`), its stderr in `log_path` or dropped.
    `prefix` runs it under another program (valgrind)."""

    def __init__(self, binary: str, *args: str, log_path: Path | None = None, env: dict | None = None,
                 command: str = "run", prefix: list[str] | None = None):
        self.log_path = log_path
        self._log = open(log_path, "w") if log_path else subprocess.DEVNULL
        self.process = start([*(prefix or []), binary, command, *args], stdout=subprocess.DEVNULL,
                                        stderr=self._log, env=env if env is not None else agent_environment())
        self.pid = self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_lines(self) -> list[dict]:
        lines = []
        for raw in self.log_path.read_text().splitlines():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                pass  # valgrind's own lines
        return lines

    def terminate(self, timeout: float = 30) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds until it exited). Killed after `timeout`."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self._log is not subprocess.DEVNULL:
            self._log.close()


def wait_until(predicate, timeout: float, poll: float = 0.1):
    """The first truthy value of `predicate()` within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value or None
        time.sleep(poll)
