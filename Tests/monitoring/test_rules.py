"""deploy/monitoring as a kustomize base and its PrometheusRule as promtool sees it: the rule
groups pass `promtool check rules`, and `promtool test rules` (rules-test.yaml) passes with a
firing and a silent case for every alert; each alert has its summary, description and a
runbook section in docs/monitoring.md; the PodMonitor scrapes the DaemonSet's metrics port."""
import json
import re
import shutil
import subprocess

import pytest
import yaml

from monitoring_stack import MONITORING, REPO, rule_groups, write_rule_file
from prometheus_stack import ensure_installed

TESTS = yaml.safe_load((MONITORING.parents[1] / "Tests" / "monitoring" / "rules-test.yaml").read_text())
ALERTS = [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]


@pytest.fixture(scope="module")
def promtool():
    ensure_installed()
    path = shutil.which("promtool") or "/usr/bin/promtool"
    assert shutil.os.access(path, shutil.os.X_OK), "promtool (Debian's prometheus package) is missing"
    return path


def test_promtool_checks_the_rule_groups(promtool, tmp_path):
    rules = write_rule_file(tmp_path / "autotaint-rules.yaml")
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in rule_groups())} rules found" in result.stdout


def test_promtool_unit_tests_pass(promtool, tmp_path):
    write_rule_file(tmp_path / "autotaint-rules.yaml")
    shutil.copy(MONITORING.parents[1] / "Tests" / "monitoring" / "rules-test.yaml", tmp_path)
    result = subprocess.run([promtool, "test", "rules", "rules-test.yaml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def test_promtool_unit_tests_can_fail(promtool, tmp_path):
    """The same tests against rules whose fleet share counts report-only taints: they fail."""
    rules = write_rule_file(tmp_path / "autotaint-rules.yaml")
    text = rules.read_text().replace("autotaint_signal_tainted * autotaint_signal_enforced", "autotaint_signal_tainted")
    assert text != rules.read_text()
    rules.write_text(text)
    shutil.copy(MONITORING.parents[1] / "Tests" / "monitoring" / "rules-test.yaml", tmp_path)
    result = subprocess.run([promtool, "test", "rules", "rules-test.yaml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "alertname: AutotaintTaintStuck" in output, output


@pytest.mark.parametrize("alert", [rule["alert"] for rule in ALERTS])
def test_every_alert_is_tested_firing_and_silent(alert):
    cases = [case for test in TESTS["tests"] for case in test.get("alert_rule_test", []) if case["alertname"] == alert]
    assert any(case["exp_alerts"] for case in cases), f"{alert}: no case where it fires"
    assert any(not case["exp_alerts"] for case in cases), f"{alert}: no case where it stays silent"


@pytest.mark.parametrize("alert", ALERTS, ids=[rule["alert"] for rule in ALERTS])
def test_every_alert_has_a_summary_a_description_and_a_runbook(alert):
    assert alert["labels"]["severity"] in {"warning", "critical"}
    assert alert["annotations"]["summary"] and alert["annotations"]["description"]
    assert f"Runbook: docs/monitoring.md, {alert['alert']}." in " ".join(alert["annotations"]["description"].split())
    runbooks = (REPO / "docs" / "monitoring.md").read_text()
    # A runbook runs to the next heading, or to the end of the page for the last one.
    section = re.search(rf"^#### `{alert['alert']}`\n(.*?)(?=^#|\Z)", runbooks, re.M | re.S)
    assert section, f"docs/monitoring.md has no runbook section #### `{alert['alert']}`"
    for part in ("**Means**", "**Look at**", "**Do**"):
        assert part in section.group(1), f"{alert['alert']}: the runbook has no {part}"


def test_the_rules_read_only_series_the_agent_exports_or_kube_state_metrics(binary_metric_names):
    text = json.dumps(rule_groups())
    used = set(re.findall(r"\b(autotaint_[a-z_]+|kube_[a-z_]+|process_[a-z_]+)\b", text))
    assert used - binary_metric_names <= {
        "kube_daemonset_status_desired_number_scheduled", "kube_daemonset_status_number_ready",
        "kube_node_status_condition"}, used - binary_metric_names


@pytest.fixture(scope="module")
def binary_metric_names():
    """Every metric name the agent's catalogue declares (its Swift source, the one list)."""
    source = (REPO / "Sources" / "AutoTaintAgent" / "AgentMetrics.swift").read_text()
    names = set(re.findall(r'"(autotaint_[a-z_]+)"', source))
    names |= set(re.findall(r'"(process_[a-z_]+)"', (REPO / "Sources" / "AutoTaintAgent" / "ProcessStats.swift").read_text()))
    names |= {"autotaint_api_requests_total"}  # KubeRequestMetrics.requestsName, made in KubeClient
    return names


def kustomize(path) -> list[dict]:
    result = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return list(yaml.safe_load_all(result.stdout))


def test_kustomize_renders_the_podmonitor_the_rule_and_the_dashboard():
    objects = {(o["kind"], o["metadata"]["name"]): o for o in kustomize(MONITORING)}
    assert set(objects) == {("PodMonitor", "autotaint"), ("PrometheusRule", "autotaint"),
                            ("ConfigMap", "autotaint-dashboard")}
    daemonset = next(d for d in yaml.safe_load_all((REPO / "daemonset.yaml").read_text()) if d["kind"] == "DaemonSet")
    for obj in objects.values():
        assert obj["metadata"]["namespace"] == daemonset["metadata"]["namespace"]
    dashboard = objects[("ConfigMap", "autotaint-dashboard")]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["autotaint-dashboard.json"]) == json.loads(
        (MONITORING / "autotaint-dashboard.json").read_text())
    rule = objects[("PrometheusRule", "autotaint")]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1" and rule["spec"]["groups"] == rule_groups()


def test_the_podmonitor_scrapes_the_daemonsets_metrics_port_and_labels_the_node():
    monitor = yaml.safe_load((MONITORING / "podmonitor.yaml").read_text())
    daemonset = next(d for d in yaml.safe_load_all((REPO / "daemonset.yaml").read_text()) if d["kind"] == "DaemonSet")
    template = daemonset["spec"]["template"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1" and monitor["kind"] == "PodMonitor"
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= template["metadata"]["labels"].items()
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    ports = {p["name"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
    assert endpoint["port"] == "http-metrics" and endpoint["port"] in ports and endpoint["path"] == "/metrics"
    relabel = {r["targetLabel"]: r for r in endpoint["relabelings"]}
    assert relabel["node"]["sourceLabels"] == ["__meta_kubernetes_pod_node_name"]
    # The rules select job="autotaint".
    expressions = " ".join(rule["expr"] for group in rule_groups() for rule in group["rules"])
    assert relabel["job"]["replacement"] == "autotaint" and 'job="autotaint"' in expressions
