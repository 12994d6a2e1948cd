"""Report-only rollout (`enforce: false`) with the real agent against the fake API server:
the signal runs, reports and announces as usual but never writes its taint, and a hot
reload of `enforce` applies or removes the taint on the next tick. kubectl reads the
result the way the README tells an operator to."""
from agent_process import Agent
from node_view import condition, own_taints
from prometheus_stack import free_port
from test_config_reload import ConfigMapVolume, event_reasons
from test_metrics import scrape
from waiting import wait_until

OURS = "autotaint.dev/memory-pressure"
CONDITION = "MemoryUsagePressure"

# The memory signal, whose usage does not follow the load other processes put on this
# machine: high 0.1 / low 0 is pressure on the first sample (0s holds) and never recovers;
# high 99 / low 98 is never pressure here.
TEMPLATE = """\
sampling: {{interval: 1s, source: proc}}
server: {{address: "127.0.0.1:{port}"}}
signals:
  cpu: {{enabled: false}}
  memory: {{enabled: true, highPercent: {high}, lowPercent: {low}, for: 0s, recoverFor: 0s, minHold: 0s, enforce: {enforce}}}
"""

# The README's command for "which nodes would be tainted" during a report-only rollout.
WOULD_TAINT_COLUMNS = (
    "custom-columns=NODE:.metadata.name,"
    f'PRESSURE:.status.conditions[?(@.type=="{CONDITION}")].status,'
    f'MESSAGE:.status.conditions[?(@.type=="{CONDITION}")].message'
)


def gauge(port, name):
    return {labels["signal"]: value for labels, value in scrape(port)[0].get(name, [])}


def events(api, reason):
    return [e for e in api.events() if e["reason"] == reason]


def test_report_only_withholds_the_taint_and_a_reload_enforces_it(tmp_path, fake_api):
    api = fake_api
    port = free_port()
    volume_dir = tmp_path / "volume"
    volume_dir.mkdir()
    config = lambda enforce, high=0.1, low=0: TEMPLATE.format(port=port, high=high, low=low, enforce=enforce)
    volume = ConfigMapVolume(volume_dir, config("false"))
    with Agent(tmp_path, "--kubeconfig", api.kubeconfig, "--node", "node-1", "--config", volume.path) as agent:
        # Report-only: the condition says pressure and that the taint is withheld; no taint.
        wait_until(lambda: (condition(api, CONDITION) or {}).get("status") == "True", 20, "condition True")
        assert "taint withheld (enforce: false)" in condition(api, CONDITION)["message"]
        wait_until(lambda: events(api, "TaintWithheld"), 10, "a TaintWithheld event")
        withheld = events(api, "TaintWithheld")
        assert len(withheld) == 1 and withheld[0]["message"].startswith(f"Would add taint {OURS}=true:NoSchedule: ")
        assert withheld[0]["type"] == "Normal"
        assert own_taints(api, OURS) == []
        assert not {"TaintAdded", "TaintRemoved"} & set(event_reasons(api))
        assert gauge(port, "autotaint_signal_tainted") == {"memory": 1.0}
        assert gauge(port, "autotaint_signal_enforced") == {"memory": 0.0}

        table = api.kubectl("get", "nodes", "-o", WOULD_TAINT_COLUMNS)
        rows = {line.split()[0]: line.split(None, 2)[1:] for line in table.splitlines()[1:]}
        assert rows["node-1"][0] == "True" and "taint withheld" in rows["node-1"][1], table
        assert rows["node-2"][0] == "<none>", table
        described = api.kubectl("describe", "node", "node-1")
        assert "TaintWithheld" in described and "Would add taint" in described, described

        # Enforce by a hot reload: the taint comes on the next tick, the message follows at once.
        volume.update(config("true"))
        wait_until(lambda: own_taints(api, OURS), 10, "the taint once enforced")
        # The Event is posted after the write that it reports, so it may come a moment later.
        wait_until(lambda: events(api, "TaintAdded"), 5, "a TaintAdded event")
        wait_until(lambda: "withheld" not in condition(api, CONDITION)["message"], 5, "the message without 'withheld'")
        assert condition(api, CONDITION)["status"] == "True"
        assert gauge(port, "autotaint_signal_enforced") == {"memory": 1.0}

        # Back to report-only: the taint goes, and the removal says why.
        volume.update(config("false"))
        wait_until(lambda: not own_taints(api, OURS), 10, "the taint removed once report-only")
        wait_until(lambda: events(api, "TaintRemoved"), 5, "a TaintRemoved event")
        removed = events(api, "TaintRemoved")
        assert len(removed) == 1 and "taint withheld (enforce: false)" in removed[0]["message"], removed

        # Usage drops below low while report-only: the would-be removal is announced too.
        volume.update(config("false", high=99, low=98))
        wait_until(lambda: len(events(api, "TaintWithheld")) == 2, 10, "a second TaintWithheld event")
        assert events(api, "TaintWithheld")[1]["message"].startswith(f"Would remove taint {OURS}=true:NoSchedule: ")
        wait_until(lambda: condition(api, CONDITION)["status"] == "False", 5, "condition False")
        assert "report-only (enforce: false)" in condition(api, CONDITION)["message"]
        assert own_taints(api, OURS) == []
        assert agent.terminate()[0] == 0
