"""deploy/monitoring/autotaint-dashboard.json: its shape (a datasource variable, a node
variable, every panel on the variable datasource, the panels docs/monitoring.md describes),
and every query of every panel and variable run, with the variables filled in, through the
HTTP API of a real Prometheus that scrapes the real agent and runs the PrometheusRule's
recording rules."""
import json
import re
import time

import pytest

from monitoring_stack import MONITORING
from waiting import wait_until

DASHBOARD = json.loads((MONITORING / "autotaint-dashboard.json").read_text())
PANELS = {panel["title"]: panel for panel in DASHBOARD["panels"]}
VARIABLES = {variable["name"]: variable for variable in DASHBOARD["templating"]["list"]}
# What Grafana puts in for its own variables at a 1 s scrape interval (4 scrapes and more).
GRAFANA_VARIABLES = {"$__rate_interval": "30s", "$__interval": "1s", "$__range": "5m"}
# Panels whose every query must return data from one agent, a minute after its start, with a
# one-node fleet from kube-state-metrics. "Sample errors by reason" is empty while every tick
# has its values, as here.
MAY_BE_EMPTY = {"Sample errors by reason"}


def queries(panel):
    return [target["expr"] for target in panel["targets"]]


def fill(expr: str, values: dict) -> str:
    for name, value in {**GRAFANA_VARIABLES, **{f"${k}": v for k, v in values.items()}}.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, expr
    return expr


def test_the_datasource_and_the_node_are_variables():
    assert VARIABLES["datasource"]["type"] == "datasource" and VARIABLES["datasource"]["query"] == "prometheus"
    assert VARIABLES["node"]["type"] == "query" and VARIABLES["node"]["multi"] and VARIABLES["node"]["includeAll"]
    for panel in DASHBOARD["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], panel["title"]
    assert len({panel["id"] for panel in DASHBOARD["panels"]}) == len(DASHBOARD["panels"])


def test_the_panels_do_not_overlap():
    cells = {}
    for panel in DASHBOARD["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                cells[(x, y)] = panel["title"]


def test_the_panels_the_issue_and_the_docs_name():
    assert set(PANELS) == {
        "Usage against thresholds: $signal", "State", "Tainted nodes", "Fleet share tainted",
        "Fleet slots held vs K", "Nodes in fleet overflow", "API requests by code", "Sample errors by reason",
        "Config reloads", "Last tick age, in sampling intervals", "Agent CPU", "Agent memory", "Versions"}
    assert PANELS["Usage against thresholds: $signal"]["repeat"] == "signal"
    usage = " ".join(queries(PANELS["Usage against thresholds: $signal"]))
    assert 'bound="high"' in usage and 'bound="low"' in usage
    assert PANELS["State"]["type"] == "state-timeline"
    mapped = PANELS["State"]["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert [mapped[str(i)]["text"] for i in range(5)] == ["normal", "pending-high", "pressure", "pending-low", "unknown"]


def test_per_node_panels_follow_the_node_variable():
    fleet = {"Tainted nodes", "Fleet share tainted", "Fleet slots held vs K", "Nodes in fleet overflow", "Versions"}
    for title, panel in PANELS.items():
        for expr in queries(panel):
            if title not in fleet:
                assert 'node=~"$node"' in expr, (title, expr)


def wait_for_answer(prometheus, expr: str, timeout: float = 60) -> list:
    return wait_until(lambda: prometheus.query(expr), timeout, f"data for {expr}", poll=1)


def test_every_query_runs_against_the_real_agent(monitored):
    prometheus = monitored.prometheus
    # A request that is not 2xx shows in the API panel too: the fake server refuses one PATCH.
    monitored.api.fault(method="PATCH", count=1, status=500)
    monitored.volume.update(monitored.config(high=0.1, low=0))  # a reload and a transition
    # The variables, as Grafana's label_values(selector, label) runs them.
    for name in ("node", "signal"):
        selector, label = re.fullmatch(r"label_values\((.*), (\w+)\)", VARIABLES[name]["query"]["query"]).groups()
        values = wait_until(lambda: prometheus.api(f"label/{label}/values",
                                                   **{"match[]": fill(selector, {"node": "node-1"})}), 30, name)
        assert values == (["node-1"] if name == "node" else ["cpu", "memory"]), (name, values)
    # Every panel with every signal; the rate windows need a few scrapes first.
    wait_until(lambda: prometheus.query('count_over_time(autotaint_build_info[30s]) > 10'), 40, "10 scrapes")
    for title, panel in PANELS.items():
        for signal in ("cpu", "memory"):
            for expr in queries(panel):
                filled = fill(expr, {"node": "node-1", "signal": signal})
                prometheus.query(filled)  # asserts the API's "success"
                if title not in MAY_BE_EMPTY:
                    assert wait_for_answer(prometheus, filled), (title, filled)
    codes = wait_until(lambda: {s["metric"]["code"] for s in prometheus.query(
        fill(queries(PANELS["API requests by code"])[0], {"node": "node-1"}))} >= {"200", "500"} or None, 30, "codes")
    assert codes
    # The same over a range, as a time series panel asks.
    for panel in DASHBOARD["panels"]:
        for expr in queries(panel):
            prometheus.api("query_range", query=fill(expr, {"node": "node-1", "signal": "memory"}),
                           start=f"{time.time() - 60:.0f}", end=f"{time.time():.0f}", step="5")


@pytest.mark.parametrize("title,expected", [
    ("Agent memory", lambda v: 1e6 < v < 200e6),
    ("Agent CPU", lambda v: 0 <= v < 2),
    ("Fleet share tainted", lambda v: v == 1.0),
    # One node (N = 1, so K = 1) in memory pressure takes the one slot.
    ("Fleet slots held vs K", lambda v: v == 1.0),
])
def test_the_agents_own_figures_are_plausible(monitored, title, expected):
    prometheus = monitored.prometheus
    monitored.volume.update(monitored.config(high=0.1, low=0))
    wait_until(lambda: prometheus.query('count_over_time(autotaint_build_info[30s]) > 5'), 40, "5 scrapes")
    expr = fill(queries(PANELS[title])[0], {"node": "node-1"})
    values = wait_until(lambda: [float(s["value"][1]) for s in prometheus.query(expr)
                                 if expected(float(s["value"][1]))], 30, f"{title}: {expr}")
    assert len(values) == 1, values
