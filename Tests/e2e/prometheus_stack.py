"""A real Prometheus and real node exporters (Debian's packages) on 127.0.0.1 for the
end-to-end tests, plus synthetic /proc/stat files with a chosen CPU load.

Everything listens on 127.0.0.1 on free ports, keeps its data in the test's temporary
directory, and is stopped by `stop()` (the fixtures do it). Every wait is bounded.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from waiting import wait_until

HERE = Path(__file__).resolve().parent
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"
STRESS_NG = shutil.which("stress-ng") or "/usr/bin/stress-ng"
USER_HZ = 100  # ticks per second per CPU in /proc/stat


def ensure_installed():
    """Installs prometheus, prometheus-node-exporter and stress-ng if missing (idempotent)."""
    if all(os.access(p, os.X_OK) for p in (PROMETHEUS, NODE_EXPORTER, STRESS_NG)):
        return
    subprocess.run(["sh", str(HERE / "install-prometheus-deps.sh")], check=True, timeout=600)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    assert url.startswith("http://127.0.0.1:"), url  # these tests talk to nothing else
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Daemon:
    """One background process with its output in a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.process = None
        self._log = None

    def start(self):
        self._log = open(self.log_path, "a")
        self.process = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pause(self):
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def stop(self, timeout: float = 15):
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused process cannot handle SIGTERM
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self._log:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


class SyntheticStat:
    """A /proc/stat-format file whose counters advance as if `busy` percent of each of
    `cpus` CPUs were busy. Used as node exporter's `--path.procfs` (a directory holding
    `stat`) and, bind-mounted over /proc/stat, as the agent's /proc/stat.

    Numbers are fixed-width (zero-padded, which both parsers read as decimal), so an
    in-place rewrite keeps the file's length; `in_place` rewrites the same inode (needed
    under a bind mount), otherwise a new file is renamed over the old one.
    """

    def __init__(self, directory: Path, busy: float, cpus: int = 2, in_place: bool = False, period: float = 0.2):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "stat"
        self.busy = busy
        self.cpus = cpus
        self.in_place = in_place
        self.period = period
        self._start = time.monotonic()
        self._base = 10_000_000
        self._stop = threading.Event()
        self._thread = None
        self.write()

    def content(self) -> bytes:
        elapsed = time.monotonic() - self._start
        busy_ticks = int(elapsed * USER_HZ * self.busy / 100)
        idle_ticks = int(elapsed * USER_HZ * (100 - self.busy) / 100)

        def line(name, n):
            user = n * (self._base + busy_ticks)
            idle = n * (self._base + idle_ticks)
            fields = [user, 0, 0, idle, 0, 0, 0, 0, 0, 0]
            return f"{name:<5}" + " ".join(f"{v:015d}" for v in fields) + "\n"

        text = line("cpu", self.cpus)
        for i in range(self.cpus):
            text += line(f"cpu{i}", 1)
        text += ("intr 000000000000001 0\nctxt 000000000000001\nbtime 1700000000\n"
                 "processes 000000000000001\nprocs_running 1\nprocs_blocked 0\n"
                 "softirq 000000000000001 0 0 0 0 0 0 0 0 0 0\n")
        return text.encode()

    def write(self):
        data = self.content()
        if self.in_place:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.pwrite(fd, data, 0)
            finally:
                os.close(fd)
        else:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, self.path)

    def start(self):
        def loop():
            while not self._stop.wait(self.period):
                self.write()
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def break_in_place(self):
        """Stops the updates and empties the file (same inode): readers now fail."""
        self.stop()
        os.truncate(self.path, 0)


class NodeExporter(Daemon):
    """prometheus-node-exporter with only the cpu collector, on 127.0.0.1:free port;
    `procfs` points it at a directory holding a (synthetic) `stat` instead of /proc."""

    def __init__(self, tmp: Path, name: str, procfs: Path | None = None):
        self.port = free_port()
        argv = [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{self.port}",
                "--collector.disable-defaults", "--collector.cpu", "--log.level=warn"]
        if procfs is not None:
            argv.append(f"--path.procfs={procfs}")
        super().__init__(name, argv, tmp / f"{name}.log")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 20):
        wait_until(lambda: self.running() and http_get(f"http://{self.address}/metrics")[0] == 200,
                   timeout, f"{self.name} on {self.address}:\n{self.log_text()}")
        return self


class Prometheus(Daemon):
    """Prometheus on 127.0.0.1:free port, data in `tmp`, scraping every 1 s.

    `targets` maps an exporter address to the node name its series should carry: a
    relabel rule turns the name into `instance="NAME:9100"`, as a real setup turns a
    pod's node into its instance label.
    """

    def __init__(self, tmp: Path, targets: dict[str, str], name: str = "prometheus"):
        self.port = free_port()
        self.targets = dict(targets)
        self.dir = tmp / name
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "prometheus.yml"
        static = [{"targets": [address], "labels": {"__node": node}} for address, node in targets.items()]
        config.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{
                "job_name": "node",
                "static_configs": static,
                "relabel_configs": [{"source_labels": ["__node"], "regex": "(.+)",
                                     "target_label": "instance", "replacement": "${1}:9100"}],
            }],
        }))
        argv = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn",
                "--storage.tsdb.retention.time=1h"]
        super().__init__(name, argv, self.dir / "prometheus.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30):
        wait_until(lambda: self.running() and http_get(self.url + "/-/ready")[0] == 200,
                   timeout, f"{self.name} ready on {self.url}:\n{self.log_text()}")
        return self

    def query(self, expr: str) -> dict:
        status, body = http_get(self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        answer = json.loads(body)
        assert status == 200 and answer["status"] == "success", (status, body[:300])
        return answer["data"]

    def series(self, expr: str) -> list[tuple[dict, float]]:
        """(labels, value) of each series of an instant-vector query."""
        return [(s["metric"], float(s["value"][1])) for s in self.query(expr)["result"]]

    def wait_for_series(self, expr: str, count: int = 1, timeout: float = 30) -> list[tuple[dict, float]]:
        return wait_until(lambda: len(found := self.series(expr)) >= count and found, timeout,
                          f"{count} series of {expr}")


def stack_config(prometheus_url: str, *, source: str, query: str, stale_after: str = "5s",
                 timeout: str = "1s", high: int = 50, low: int = 30, extra: str = "") -> str:
    """An agent config (YAML) reading from `prometheus_url` every second."""
    return f"""\
sampling:
  interval: 1s
  source: {source}
signals:
  cpu:
    highPercent: {high}
    lowPercent: {low}
    for: 2s
    recoverFor: 2s
    minHold: 1s
prometheus:
  url: {prometheus_url}
  query: '{query}'
  timeout: {timeout}
  staleAfter: {stale_after}
server:
  address: ""
{extra}"""


# The product's default query with a 10 s window instead of 1 m, so a test need not wait a
# minute for the window to fill; the label matching under test is the default's.
FAST_QUERY = '100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle",instance=~"$node(:[0-9]+)?"}[10s])))'
