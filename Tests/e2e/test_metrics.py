"""/metrics, /healthz and /readyz of the real binary: offline dry run, against the fake
API server, with a sampling loop stalled by a Prometheus that never answers, and scraped
by a real Prometheus whose HTTP API reads the values back. Everything on 127.0.0.1,
every wait bounded, every process stopped."""
import os
import re
import socket
import subprocess
import threading
import time

from agent_process import Agent, binary, clean_env
from prometheus_stack import Prometheus, ensure_installed, free_port, http_get
from waiting import wait_until

NAMES = {
    "autotaint_signal_usage_percent": "gauge",
    "autotaint_signal_state": "gauge",
    "autotaint_signal_tainted": "gauge",
    "autotaint_signal_enforced": "gauge",
    "autotaint_signal_transitions_total": "counter",
    "autotaint_sample_source": "gauge",
    "autotaint_sample_errors_total": "counter",
    "autotaint_api_requests_total": "counter",
    "autotaint_api_conflicts_total": "counter",
    "autotaint_config_reloads_total": "counter",
    "autotaint_config_last_reload_success": "gauge",
    "autotaint_last_tick_timestamp_seconds": "gauge",
    "autotaint_signal_threshold_percent": "gauge",
    "autotaint_sampling_interval_seconds": "gauge",
    "autotaint_build_info": "gauge",
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
}
# Series that appear with their first event (a transition, a missing sample, a request).
LAZY = {"autotaint_signal_transitions_total", "autotaint_sample_errors_total", "autotaint_api_requests_total"}
STATES = ["normal", "pending-high", "pressure", "pending-low", "unknown"]
SERIES = re.compile(r'^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$')


def config(tmp_path, port, *, source="proc", extra="", interval="1s", address=None):
    path = tmp_path / "config.yaml"
    path.write_text(f"""\
sampling: {{interval: {interval}, source: {source}}}
signals:
  cpu: {{highPercent: 80, lowPercent: 30, for: 3s, recoverFor: 3s, minHold: 1s}}
  memory: {{enabled: true}}
heartbeat: 1m
server: {{address: "{f"127.0.0.1:{port}" if address is None else address}"}}
{extra}""")
    return str(path)


def offline_env(tmp_path):
    """No kubeconfig anywhere: `run --dry-run` works on an offline Node."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = clean_env(HOME=str(home))
    for key in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        env.pop(key, None)
    return env


def get(port, path, timeout=5):
    return http_get(f"http://127.0.0.1:{port}{path}", timeout=timeout)


def status(port, path):
    try:
        return get(port, path)[0]
    except OSError:
        return None


def parse(text):
    """{name: [(labels dict, value)]}, plus the HELP and TYPE lines by name."""
    series, helps, types = {}, {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            helps[name] = help_text
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            types[name] = kind
        elif line and not line.startswith("#"):
            m = SERIES.match(line)
            assert m, f"not a sample line: {line!r}"
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m["labels"] or ""))
            series.setdefault(m["name"], []).append((labels, float(m["value"])))
    return series, helps, types


def scrape(port):
    code, body = get(port, "/metrics")
    assert code == 200
    return parse(body.decode())


def check_sane(series, signals=("cpu", "memory")):
    for signal in signals:
        usage = [v for labels, v in series["autotaint_signal_usage_percent"] if labels["signal"] == signal]
        assert len(usage) == 1 and 0 <= usage[0] <= 100, usage
        states = {labels["state"]: v for labels, v in series["autotaint_signal_state"] if labels["signal"] == signal}
        assert sorted(states) == sorted(STATES)
        assert sorted(states.values()) == [0, 0, 0, 0, 1], states  # one-hot
        sources = [v for labels, v in series["autotaint_sample_source"] if labels["signal"] == signal]
        assert sorted(sources) == [0, 1]
        tainted = [v for labels, v in series["autotaint_signal_tainted"] if labels["signal"] == signal]
        assert tainted in ([0.0], [1.0])
    last_tick = series["autotaint_last_tick_timestamp_seconds"][0][1]
    assert abs(time.time() - last_tick) < 10
    assert series["autotaint_config_last_reload_success"] == [({}, 1.0)]
    # What config() wrote: the thresholds and interval in force are exported as written.
    thresholds = {(labels["signal"], labels["bound"]): v for labels, v in series["autotaint_signal_threshold_percent"]}
    assert thresholds[("cpu", "high")] == 80 and thresholds[("cpu", "low")] == 30, thresholds
    assert {signal for signal, _ in thresholds} == set(signals), thresholds
    assert series["autotaint_sampling_interval_seconds"] == [({}, 1.0)]
    assert [labels for labels, _ in series["autotaint_build_info"]] == [{"version": "0.1.0"}]
    assert series["process_resident_memory_bytes"][0][1] > 1_000_000
    assert series["process_cpu_seconds_total"][0][1] > 0


def listening_ports(pid):
    """The TCP ports process `pid` listens on (from its socket descriptors and /proc/net)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                    ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def wait_status(port, path, code, timeout, agent=None):
    def check():
        if agent is not None and agent.process.poll() is not None:
            raise AssertionError(f"agent exited with {agent.process.returncode}:\n{agent.log_path.read_text()}")
        return status(port, path) == code
    wait_until(check, timeout, f"{path} answering {code}")


def test_dry_run_serves_the_metrics_with_help_and_type(tmp_path):
    port = free_port()
    with Agent(tmp_path, "--dry-run", "--node", "test-node", "--config", config(tmp_path, port),
               env=offline_env(tmp_path)) as agent:
        agent.wait_for(lambda e: e.get("msg") == "serving /metrics, /healthz, /readyz", 10)
        assert listening_ports(agent.process.pid) == [port]
        # Offline, the first tick's reconcile is with the offline Node: ready after it.
        wait_status(port, "/readyz", 200, 10, agent)
        wait_until(lambda: "autotaint_signal_usage_percent" in scrape(port)[0], 10, "a usage value")
        code, body = get(port, "/healthz")
        assert code == 200 and body.startswith(b"ok: last tick"), body
        series, helps, types = scrape(port)
        for name, kind in NAMES.items():
            if name in LAZY and name not in series:
                continue
            assert types.get(name) == kind, name
            assert helps.get(name), name
        check_sane(series)
        assert {labels["result"] for labels, _ in series["autotaint_config_reloads_total"]} == {"success", "failure"}
        assert get(port, "/nope")[0] == 404
        request = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                  f"http://127.0.0.1:{port}/metrics"], capture_output=True, text=True, timeout=10)
        assert request.stdout == "405"
        code, elapsed = agent.terminate()
        assert code == 0
    # Stopped last: nothing listens once the agent is gone.
    assert status(port, "/healthz") is None


def test_ready_after_the_first_reconcile_with_the_api_server(tmp_path, fake_api):
    api = fake_api
    port = free_port()
    # Down at start: the agent retries its start-up read of the Node (1 s, 2 s, 4 s apart,
    # then exit 2); meanwhile it is alive but not ready.
    api.down(3)
    with Agent(tmp_path, "--kubeconfig", api.kubeconfig, "--node", "node-1", "--config", config(tmp_path, port)) as agent:
        wait_until(lambda: status(port, "/readyz") is not None, 10, "the server to come up")
        assert status(port, "/readyz") == 503
        assert status(port, "/healthz") == 200
        agent.wait_for(lambda e: e.get("msg") == "cannot read the Node", 10)
        assert status(port, "/readyz") == 503
        wait_status(port, "/readyz", 200, 20, agent)
        assert get(port, "/readyz")[1].startswith(b"ready")
        wait_until(lambda: "autotaint_signal_usage_percent" in scrape(port)[0], 10, "a usage value")
        patched = lambda: len([r for r in api.requests() if r["method"] == "PATCH" and r["status"] == 200])
        seen_before = patched()
        series, helps, types = scrape(port)
        seen_after = patched()
        for name, kind in NAMES.items():
            if name in LAZY - {"autotaint_api_requests_total"} and name not in series:
                continue
            assert types.get(name) == kind and helps.get(name), name
        check_sane(series)
        requests = {(labels["verb"], labels["code"]): v for labels, v in series["autotaint_api_requests_total"]}
        assert requests.get(("GET", "0"), 0) >= 1, requests  # refused while down
        assert requests.get(("GET", "200"), 0) >= 1, requests
        assert requests.get(("PATCH", "200"), 0) >= 1, requests  # the conditions
        # The counts agree with what the server saw.
        assert seen_before <= requests[("PATCH", "200")] <= seen_after
        # Ready means "has reconciled since start": an outage later does not take it back
        # (the agent keeps sampling and catches up), while the errors are counted.
        api.down(3)
        time.sleep(1.5)
        assert status(port, "/readyz") == 200
        assert status(port, "/healthz") == 200
        code, _ = agent.terminate()
        assert code == 0


def test_a_failing_first_reconcile_is_not_ready_and_is_counted(tmp_path, fake_api):
    api = fake_api
    port = free_port()
    api.fault(method="PATCH", path="/status$", status=500, count=2)
    with Agent(tmp_path, "--kubeconfig", api.kubeconfig, "--node", "node-1", "--config", config(tmp_path, port)) as agent:
        agent.wait_for(lambda e: e.get("msg") == "API request failed; retrying later", 15)
        assert status(port, "/readyz") == 503
        wait_status(port, "/readyz", 200, 20, agent)
        series, _, _ = scrape(port)
        requests = {(labels["verb"], labels["code"]): v for labels, v in series["autotaint_api_requests_total"]}
        assert requests.get(("PATCH", "500")) == 2, requests
        agent.terminate()


def memory_kib(pid):
    """VmRSS and VmHWM (the peak) of process `pid`, from /proc/PID/status, in KiB."""
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def test_once_ready_the_agent_gives_back_its_start_up_file_pages(tmp_path, fake_api):
    # Judged by the kernel's figures for the process, not by the agent's word: its
    # resident memory falls MiBs below the start-up peak, and it keeps working.
    port = free_port()
    with Agent(tmp_path, "--kubeconfig", fake_api.kubeconfig, "--node", "node-1", "--config", config(tmp_path, port)) as agent:
        wait_status(port, "/readyz", 200, 20, agent)
        pid = agent.process.pid
        wait_until(lambda: memory_kib(pid)[0] < memory_kib(pid)[1] - 2048, 10,
                   "resident memory 2 MiB below its peak")
        released = agent.wait_for(lambda e: e.get("msg") == "start-up file pages released", 5)
        assert "refused" not in released, released
        assert float(released["residentMiBAfter"]) < float(released["residentMiBBefore"]), released
        before = len([r for r in fake_api.requests() if r["method"] == "PATCH" and r["status"] == 200])
        fake_api.update_node("node-1", lambda node: node["spec"].setdefault("taints", []).append(
            {"key": "autotaint.dev/cpu-pressure", "value": "manual", "effect": "NoSchedule"}))
        # The code that corrects a hand-made own taint (removed, or made exact in pressure)
        # still runs after the release.
        wait_until(lambda: not [t for t in fake_api.node("node-1")["spec"].get("taints", [])
                                if t.get("value") == "manual"], 10, "the hand-made own taint corrected")
        assert len([r for r in fake_api.requests() if r["method"] == "PATCH" and r["status"] == 200]) > before
        series, _, _ = scrape(port)
        check_sane(series)
        code, _ = agent.terminate()
        assert code == 0


class HangingServer:
    """Accepts connections and never answers: a Prometheus that hangs."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.held = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self.listener.accept()
                self.held.append(connection)
            except OSError:
                continue

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self.held:
            connection.close()
        self.listener.close()


def test_healthz_fails_when_the_sampling_loop_stalls(tmp_path):
    hanging = HangingServer()
    port = free_port()
    # Every read waits the whole prometheus.timeout (10 s), far more than 3 intervals (3 s).
    path = config(tmp_path, port, source="prometheus", extra=f"""\
prometheus: {{url: "http://127.0.0.1:{hanging.port}", timeout: 10s, staleAfter: 2s}}
""")
    try:
        with Agent(tmp_path, "--dry-run", "--node", "test-node", "--config", path, env=offline_env(tmp_path)) as agent:
            wait_until(lambda: status(port, "/healthz") is not None, 10, "the server to come up")
            started = time.monotonic()
            wait_status(port, "/healthz", 503, 8, agent)
            assert time.monotonic() - started < 6
            code, body = get(port, "/healthz")
            assert code == 503 and body.startswith(b"stalled: last tick") and b"more than 3 intervals" in body, body
            # The server itself is not stalled: /metrics is answered at once.
            began = time.monotonic()
            series, _, _ = scrape(port)
            assert time.monotonic() - began < 1
            # Not ready either: the first tick has not completed.
            assert status(port, "/readyz") == 503
            assert hanging.held, "the agent never reached the hanging Prometheus"
            code, elapsed = agent.terminate(timeout=20)
            assert code == 0
    finally:
        hanging.close()


def test_a_real_prometheus_scrapes_the_agent(tmp_path):
    ensure_installed()
    port = free_port()
    prometheus = None
    with Agent(tmp_path, "--dry-run", "--node", "test-node", "--config", config(tmp_path, port),
               env=offline_env(tmp_path)) as agent:
        try:
            wait_status(port, "/readyz", 200, 10, agent)
            prometheus = Prometheus(tmp_path, {f"127.0.0.1:{port}": "agent-node"}).start()
            prometheus.wait_ready()
            found = prometheus.wait_for_series('autotaint_signal_usage_percent', count=2, timeout=30)
            by_signal = {labels["signal"]: value for labels, value in found}
            assert sorted(by_signal) == ["cpu", "memory"]
            assert all(0 <= v <= 100 for v in by_signal.values()), by_signal
            assert all(labels["job"] == "node" and labels["instance"] == "agent-node:9100" for labels, _ in found)
            # Prometheus read the HELP/TYPE it needs: the scrape had no errors and the
            # series are typed (metadata API).
            assert prometheus.series('up{job="node"}') == [({"__name__": "up", "instance": "agent-node:9100",
                                                              "job": "node"}, 1.0)]
            status_code, body = http_get(prometheus.url + "/api/v1/metadata?metric=autotaint_signal_state")
            assert status_code == 200 and b'"type":"gauge"' in body, body
            state = prometheus.series('sum by (signal) (autotaint_signal_state)')
            assert sorted(v for _, v in state) == [1.0, 1.0]  # one-hot per signal
            # The value Prometheus holds is one the agent served (memory moves slowly).
            memory_now = [v for labels, v in scrape(port)[0]["autotaint_signal_usage_percent"] if labels["signal"] == "memory"][0]
            assert abs(by_signal["memory"] - memory_now) < 10
        finally:
            if prometheus is not None:
                prometheus.stop()
        agent.terminate()


def test_an_empty_server_address_serves_nothing(tmp_path):
    port = free_port()
    path = config(tmp_path, port, address="")
    with Agent(tmp_path, "--dry-run", "--node", "test-node", "--config", path, env=offline_env(tmp_path)) as agent:
        agent.wait_for(lambda e: e.get("msg") == "no server: server.address is empty", 10)
        agent.wait_for(lambda e: e.get("msg") == "sample", 10)
        assert listening_ports(agent.process.pid) == []
        code, _ = agent.terminate()
        assert code == 0, agent.log_path.read_text()


def test_a_port_in_use_exits_2_at_start(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run([binary(), "run", "--dry-run", "--node", "test-node", "--config", config(tmp_path, port)],
                                capture_output=True, text=True, timeout=20, env=offline_env(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "Address already in use" in result.stderr
