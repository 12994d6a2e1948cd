"""Fixtures for deploy/monitoring: the PrometheusRule's rule groups, and the end-to-end tests'
fake API server (imported from Tests/e2e, not copied).

Run: `python3 -m pytest -q -p no:cacheprovider Tests/monitoring` (make monitoring; needs
promtool and prometheus from Debian's `prometheus`, stress-ng, kubectl, and AUTOTAINT_BIN or
.build/release/autotaint)."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
E2E = HERE.parents[1] / "Tests" / "e2e"
sys.path.insert(0, str(E2E))
sys.path.insert(0, str(HERE))

from borrowed_fixtures import fake_api  # noqa: E402,F401

import pytest  # noqa: E402

from agent_process import Agent  # noqa: E402
from monitoring_stack import KubeStateMetricsStub, RulesPrometheus, ready_nodes, write_rule_file  # noqa: E402
from prometheus_stack import ensure_installed, free_port  # noqa: E402
from test_config_reload import ConfigMapVolume  # noqa: E402

# The memory signal, whose usage does not follow the load other processes put on this
# machine: high 0.1 / low 0 is pressure on the first sample (0s holds), high 99 / low 98 is
# never pressure here. cpu is on too, never in pressure, so the dashboard has two signals.
AGENT_CONFIG = """\
sampling: {{interval: 1s, source: proc}}
server: {{address: "127.0.0.1:{port}"}}
signals:
  cpu: {{highPercent: 100, lowPercent: 99, for: 1h}}
  memory: {{enabled: true, highPercent: {high}, lowPercent: {low}, for: 0s, recoverFor: 0s, minHold: 0s}}
"""
QUIET = {"high": 99, "low": 98}
PRESSURE = {"high": 0.1, "low": 0}
# Every alert's `for` in the e2e rule file: the states change within seconds.
E2E_HOLD = "2s"


class Monitored:
    """The real agent against the fake API server, with its config in a ConfigMap-like
    volume, scraped by a real Prometheus that runs the PrometheusRule's groups, beside a
    kube-state-metrics stand-in for a one-node fleet (node-1)."""

    def __init__(self, tmp_path, api):
        self.api = api
        self.port = free_port()
        volume_dir = tmp_path / "volume"
        volume_dir.mkdir()
        self.volume = ConfigMapVolume(volume_dir, self.config(**QUIET))
        self.agent = Agent(tmp_path, "--kubeconfig", api.kubeconfig, "--node", "node-1", "--config", self.volume.path)
        self.kube_state_metrics = KubeStateMetricsStub(ready_nodes("node-1"))
        rule_file = write_rule_file(tmp_path / "autotaint-rules.yaml", hold=E2E_HOLD)
        self.prometheus = RulesPrometheus(tmp_path, rule_file, {f"127.0.0.1:{self.port}": "node-1"},
                                          self.kube_state_metrics.address)

    def config(self, **thresholds) -> str:
        return AGENT_CONFIG.format(port=self.port, **thresholds)


@pytest.fixture
def monitored(tmp_path, fake_api):
    ensure_installed()
    setup = Monitored(tmp_path, fake_api)
    with setup.kube_state_metrics, setup.agent:
        setup.agent.wait_for(lambda e: e.get("msg") == "serving /metrics, /healthz, /readyz", 20)
        setup.prometheus.start()
        try:
            setup.prometheus.wait_ready()
            yield setup
        finally:
            setup.prometheus.stop()
