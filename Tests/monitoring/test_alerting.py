"""The PrometheusRule's alerts in a real Prometheus that scrapes the real agent (against the
fake API server): each goes from inactive to firing and back because of what the agent
reports, not because of series a test wrote. Every alert's `for` is shortened to E2E_HOLD;
the expressions are the PrometheusRule's."""
import signal

from conftest import PRESSURE, QUIET
from node_view import own_taints
from waiting import wait_until

OURS = "autotaint.dev/memory-pressure"
# Inactive to firing: a few scrapes and evaluations (1 s each) plus E2E_HOLD; back: the same.
ALERT_TIMEOUT = 30


def test_a_rejected_config_fires_and_a_good_one_clears_it(monitored):
    prometheus = monitored.prometheus
    wait_until(lambda: prometheus.query('autotaint_config_last_reload_success{node="node-1"} == 1'), 20,
               "the agent scraped with a good config")
    assert prometheus.alert_state("AutotaintConfigRejected") == "inactive"

    # low above high: the agent refuses it and keeps the last good config.
    monitored.volume.update(monitored.config(high=50, low=70))
    monitored.agent.wait_for(lambda e: e.get("msg", "").startswith("config rejected"), 20)
    prometheus.wait_alert("AutotaintConfigRejected", "firing", ALERT_TIMEOUT)
    firing = prometheus.api("alerts")["alerts"]
    rejected = [a for a in firing if a["labels"]["alertname"] == "AutotaintConfigRejected"]
    assert rejected[0]["labels"]["node"] == "node-1" and rejected[0]["state"] == "firing", firing
    assert rejected[0]["annotations"]["summary"] == "autotaint on node-1 rejected its config 10 minutes ago."

    monitored.volume.update(monitored.config(**QUIET))
    monitored.agent.wait_for(lambda e: e.get("msg") == "config reloaded", 20)
    prometheus.wait_alert("AutotaintConfigRejected", "inactive", ALERT_TIMEOUT)


def test_a_tainted_one_node_fleet_fires_fleet_capacity_and_taint_stuck(monitored):
    prometheus, api = monitored.prometheus, monitored.api
    wait_until(lambda: prometheus.query("autotaint:fleet_tainted_ready_nodes:ratio == 0"), 20,
               "the fleet share, 0, from the agent and kube-state-metrics")
    for alert in ("AutotaintFleetCapacity", "AutotaintTaintStuck"):
        assert prometheus.alert_state(alert) == "inactive"

    monitored.volume.update(monitored.config(**PRESSURE))
    wait_until(lambda: own_taints(api, OURS), 20, "the memory taint on node-1")
    prometheus.wait_alert("AutotaintFleetCapacity", "firing", ALERT_TIMEOUT)
    prometheus.wait_alert("AutotaintTaintStuck", "firing", ALERT_TIMEOUT)
    assert [float(s["value"][1]) for s in prometheus.query("autotaint:fleet_tainted_ready_nodes:ratio")] == [1.0]
    stuck = [a for a in prometheus.api("alerts")["alerts"] if a["labels"]["alertname"] == "AutotaintTaintStuck"]
    assert stuck[0]["labels"]["signal"] == "memory" and stuck[0]["labels"]["node"] == "node-1", stuck

    monitored.volume.update(monitored.config(**QUIET))
    wait_until(lambda: not own_taints(api, OURS), 20, "the memory taint gone")
    prometheus.wait_alert("AutotaintFleetCapacity", "inactive", ALERT_TIMEOUT)
    prometheus.wait_alert("AutotaintTaintStuck", "inactive", ALERT_TIMEOUT)


def test_an_agent_that_cannot_be_scraped_fires_agent_down(monitored):
    prometheus = monitored.prometheus
    wait_until(lambda: prometheus.query('up{job="autotaint",node="node-1"} == 1'), 20, "the agent scraped")
    assert prometheus.alert_state("AutotaintAgentDown") == "inactive"
    # Stopped, the process answers no scrape (its server thread is stopped too).
    monitored.agent.process.send_signal(signal.SIGSTOP)
    try:
        prometheus.wait_alert("AutotaintAgentDown", "firing", ALERT_TIMEOUT)
    finally:
        monitored.agent.process.send_signal(signal.SIGCONT)
    prometheus.wait_alert("AutotaintAgentDown", "inactive", ALERT_TIMEOUT)
