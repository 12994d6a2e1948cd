"""deploy/monitoring's pieces as a real Prometheus runs them on 127.0.0.1: the PrometheusRule's
rule groups as a rule file, a stand-in for kube-state-metrics (a static exposition of the few
series the rules read from it), and a Prometheus that scrapes the agent and the stand-in every
second, evaluates the rules every second and answers queries. Every wait is bounded."""
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from prometheus_stack import PROMETHEUS, Daemon, free_port, http_get
from waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "monitoring"


def rule_groups() -> list[dict]:
    """The PrometheusRule's spec.groups, as a rule file takes them."""
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert rule["kind"] == "PrometheusRule"
    return rule["spec"]["groups"]


def write_rule_file(path: Path, hold: str | None = None) -> Path:
    """The rule groups in a rule file. `hold` replaces every alert's `for`, so a test need not
    wait the real 10 minutes; the expressions are the PrometheusRule's, unchanged."""
    groups = rule_groups()
    if hold is not None:
        for group in groups:
            for rule in group["rules"]:
                if "alert" in rule:
                    rule["for"] = hold
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


class KubeStateMetricsStub:
    """An HTTP server on 127.0.0.1 whose /metrics is `text`: the kube-state-metrics series the
    rules join with, for a fleet of the nodes a test names. `text` may be replaced."""

    def __init__(self, text: str):
        self.text = text
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = stub.text.encode()
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def ready_nodes(*nodes: str) -> str:
    """kube-state-metrics' view of a fleet whose `nodes` are Ready and run autotaint's pod."""
    lines = [f'kube_node_status_condition{{node="{n}",condition="Ready",status="true"}} 1' for n in nodes]
    lines += [f'kube_daemonset_status_desired_number_scheduled{{namespace="autotaint",daemonset="autotaint"}} {len(nodes)}',
              f'kube_daemonset_status_number_ready{{namespace="autotaint",daemonset="autotaint"}} {len(nodes)}']
    return "\n".join(lines) + "\n"


class RulesPrometheus(Daemon):
    """Prometheus on 127.0.0.1 with `rule_file`, scraping the agents (address → node name, as
    job "autotaint" with a `node` label, as the PodMonitor labels them) and kube-state-metrics
    every second."""

    def __init__(self, tmp: Path, rule_file: Path, agents: dict[str, str], kube_state_metrics: str):
        self.port = free_port()
        self.dir = tmp / "prometheus"
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "prometheus.yml"
        config.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rule_file)],
            "scrape_configs": [
                {"job_name": "autotaint",
                 "static_configs": [{"targets": [address], "labels": {"node": node}} for address, node in agents.items()]},
                {"job_name": "kube-state-metrics", "honor_labels": True,
                 "static_configs": [{"targets": [kube_state_metrics]}]},
            ],
        }))
        argv = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn",
                "--storage.tsdb.retention.time=1h"]
        super().__init__("prometheus", argv, self.dir / "prometheus.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30):
        wait_until(lambda: self.running() and http_get(self.url + "/-/ready")[0] == 200,
                   timeout, f"prometheus ready on {self.url}:\n{self.log_text()}")
        return self

    def api(self, path: str, **params) -> dict:
        """GET /api/v1/PATH; asserts success and returns `data`."""
        query = urllib.parse.urlencode(params, doseq=True)
        status, body = http_get(f"{self.url}/api/v1/{path}" + (f"?{query}" if query else ""), timeout=10)
        answer = json.loads(body)
        assert status == 200 and answer["status"] == "success", (path, params, status, body[:500])
        return answer["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def alert_state(self, name: str) -> str:
        """inactive, pending or firing, as /api/v1/rules reports the alerting rule."""
        for group in self.api("rules", type="alert")["groups"]:
            for rule in group["rules"]:
                if rule["name"] == name:
                    return rule["state"]
        raise AssertionError(f"no alerting rule {name} loaded")

    def wait_alert(self, name: str, state: str, timeout: float) -> float:
        """Waits for the alert to reach `state`; returns the seconds it took."""
        started = time.monotonic()
        wait_until(lambda: self.alert_state(name) == state, timeout, f"{name} {state}", poll=0.25)
        return time.monotonic() - started
