"""The real agent against the fake API server: taints, conditions and events as kubectl
sees them, under load from stress-ng on this machine's real /proc."""
import re
import shutil
import signal
import time

import pytest

from agent_process import Agent, run, stress
from node_view import agent_requests, condition, is_watch, own_taints, verb_counts
from waiting import wait_until

OURS = "autotaint.dev/cpu-pressure"

# Thresholds low enough for stress-ng on 2 cores to cross, short holds to keep tests short.
CONFIG = """\
sampling: {{interval: 1s, source: proc}}
signals:
  cpu: {{highPercent: {high}, lowPercent: 30, for: 3s, recoverFor: 5s, minHold: 2s}}
heartbeat: 1m
shutdown: {{removeTaints: {remove}}}
server: {{address: ""}}
"""

needs_stress = pytest.mark.skipif(shutil.which("stress-ng") is None, reason="stress-ng is installed by `make test`")


def write_config(tmp_path, high=50, remove="true"):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(high=high, remove=remove))
    return str(path)


def start_agent(tmp_path, api, *extra, high=50, remove="true", node="node-1"):
    return Agent(tmp_path, "--kubeconfig", api.kubeconfig, "--node", node,
                 "--config", write_config(tmp_path, high, remove), *extra)


def described_taints(described):
    """The Taints block of `kubectl describe node`: one taint a line, the first after the label."""
    block = described.split("Taints:", 1)[1].split("Unschedulable:", 1)[0]
    return block.split()


def writes(api):
    """(method, path) of every request that changes something."""
    return [(r["method"], r["path"]) for r in api.requests() if r["method"] not in ("GET", "HEAD")]


@needs_stress
@pytest.mark.http1
def test_pressure_cycle_is_what_kubectl_describe_shows(tmp_path, fake_api):
    api = fake_api
    api.kubectl("taint", "node", "node-1", "example.com/dedicated=db:NoSchedule")
    with start_agent(tmp_path, api) as agent:
        agent.wait_for(lambda e: e["msg"] == "reported condition", timeout=20)
        assert condition(api, "CPUPressure")["status"] == "False"
        api.clear_requests()
        with stress(15) as load:
            wait_until(lambda: own_taints(api, OURS), 30, "our taint under load")
            assert own_taints(api, OURS) == [{"key": OURS, "value": "true", "effect": "NoSchedule"}]
            cond = wait_until(lambda: (c := condition(api, "CPUPressure")) and c["status"] == "True" and c, 5, "condition True")
            assert cond["reason"] == "CPUUsageHigh"
            assert re.fullmatch(r"CPU \d+\.\d% >= 50% for 3s \(proc\)", cond["message"]), cond["message"]

            described = api.kubectl("describe", "node", "node-1")
            # describe sorts taints by effect and key; the stored order is foreign first, ours appended.
            assert sorted(described_taints(described)) == [f"{OURS}=true:NoSchedule", "example.com/dedicated=db:NoSchedule"]
            assert [t["key"] for t in api.node("node-1")["spec"]["taints"]] == ["example.com/dedicated", OURS]
            assert re.search(r"CPUPressure\s+True\s+.*CPUUsageHigh\s+CPU \d+\.\d% >= 50% for 3s \(proc\)",
                             described), described
            assert re.search(r"Normal\s+TaintAdded\s+.*Added taint autotaint.dev/cpu-pressure=true:NoSchedule: CPU",
                             described), described
            load.wait(timeout=60)
        wait_until(lambda: not own_taints(api, OURS), 60, "our taint removed after the load")
        assert [t["key"] for t in api.node("node-1")["spec"]["taints"]] == ["example.com/dedicated"]
        wait_until(lambda: condition(api, "CPUPressure")["status"] == "False", 5, "condition False")
        reasons = [e["reason"] for e in api.events()]
        assert reasons == ["TaintAdded", "TaintRemoved"], reasons
        print("requests during one enter/leave cycle:", verb_counts(api))


@needs_stress
@pytest.mark.http1
def test_foreign_taints_survive_conflicts_and_a_concurrent_writer(tmp_path, fake_api):
    api = fake_api
    api.fault(method="PATCH", path=r"^/api/v1/nodes/node-1$", status=409, count=3,
              message="the object has been modified; please apply your changes to the latest version and try again")
    writer = api.start_foreign_writer(node="node-1", rate=10.0)
    with start_agent(tmp_path, api) as agent:
        agent.wait_for(lambda e: e["msg"] == "reported condition", timeout=20)
        with stress(10) as load:
            wait_until(lambda: own_taints(api, OURS), 30, "our taint despite conflicts")
            load.wait(timeout=60)
        wait_until(lambda: not own_taints(api, OURS), 60, "our taint removed")
        stats = api.stop_foreign_writer()
        assert stats["lost"] == [], stats
        assert stats["writes"] > 20
        taints = api.node("node-1")["spec"]["taints"]
        for taint in writer.expected_taints():
            assert taint in taints
        assert OURS not in [t["key"] for t in taints]
        assert len([r for r in api.requests(method="PATCH") if r["status"] == 409]) >= 3

        # A taint added by hand while the agent writes. Not during the writer above:
        # `kubectl taint` sends no resourceVersion, so it would erase the writer's taints
        # itself (kubernetes-api.md); the agent's own writes always carry one.
        with stress(8) as load:
            api.kubectl("taint", "node", "node-1", "example.com/by-hand=yes:PreferNoSchedule")
            wait_until(lambda: own_taints(api, OURS), 30, "our taint in the second cycle")
            load.wait(timeout=60)
        wait_until(lambda: not own_taints(api, OURS), 60, "our taint removed again")
        assert "example.com/by-hand" in [t["key"] for t in api.node("node-1")["spec"]["taints"]]

        agent_taint_writes = [r for r in api.requests(method="PATCH", path="/api/v1/nodes/node-1")
                              if (r.get("user_agent") or "").startswith("autotaint/")]
        assert len(agent_taint_writes) >= 4
        for request in agent_taint_writes:
            assert '"resourceVersion"' in request["body"], request["body"]
        assert agent.process.poll() is None


@needs_stress
def test_dry_run_sends_no_write(tmp_path, fake_api):
    api = fake_api
    with start_agent(tmp_path, api, "--dry-run") as agent, stress(8) as load:
        agent.wait_for(lambda e: e["msg"] == "would add taint", timeout=30)
        load.wait(timeout=60)
        assert writes(api) == []
        assert any(r["method"] == "GET" and r["path"] == "/api/v1/nodes/node-1" for r in api.requests())
        assert own_taints(api, OURS) == []


def never_in_pressure(tmp_path):
    """A config file whose one signal never enters pressure: memory, not CPU, whose usage does
    not move with whatever else runs on this machine; 1 s ticks, a 1 m heartbeat."""
    config = tmp_path / "quiet.yaml"
    config.write_text("sampling: {interval: 1s, source: proc}\nheartbeat: 1m\nserver: {address: \"\"}\n"
                      "signals:\n  cpu: {enabled: false}\n  memory: {enabled: true, highPercent: 99, lowPercent: 98}\n")
    return config


def test_steady_state_writes_only_heartbeats(tmp_path, fake_api):
    api = fake_api
    config = never_in_pressure(tmp_path)
    with Agent(tmp_path, "--kubeconfig", api.kubeconfig, "--node", "node-1", "--config", str(config)) as agent:
        agent.wait_for(lambda e: e["msg"] == "reported condition", timeout=20)
        time.sleep(62)
        patches = writes(api)
        assert set(patches) == {("PATCH", "/api/v1/nodes/node-1/status")}, patches
        assert len(patches) <= 2  # the first report, and one heartbeat at 60 s
        counts = verb_counts(api)
        assert counts.get("GET", 0) <= 2, counts  # the start's GET, and the watch's initial LIST
        print("requests in 62 s of steady state:", counts)


@needs_stress
def test_restart_in_pressure_adopts_and_sigterm_cleans_up(tmp_path, fake_api):
    api = fake_api
    api.kubectl("taint", "node", "node-1", f"{OURS}=true:NoSchedule")
    api.kubectl("taint", "node", "node-1", "example.com/keep=1:NoExecute")
    api.clear_requests()
    with stress(30), start_agent(tmp_path, api) as agent:
        agent.wait_for(lambda e: e["msg"] == "adopted own taint", timeout=10)
        agent.wait_for(lambda e: e["msg"] == "reported condition" and e["status"] == "True", timeout=20)
        time.sleep(3)
        taint_writes = [w for w in writes(api) if w == ("PATCH", "/api/v1/nodes/node-1")]
        assert taint_writes == [], "a restart in pressure must not remove and re-add the taint"
        assert own_taints(api, OURS)

        code, seconds = agent.terminate(signal.SIGTERM)
        assert code == 0
        assert seconds < 5
        assert own_taints(api, OURS) == []
        assert [t["key"] for t in api.node("node-1")["spec"]["taints"]] == ["example.com/keep"]
        stopped = condition(api, "CPUPressure")
        assert (stopped["status"], stopped["reason"]) == ("Unknown", "AgentStopped")


@pytest.mark.http1
def test_the_agent_speaks_h2_and_http11_when_that_is_all_the_server_offers(tmp_path, fake_api, fake_protocol):
    """libcurl asks for h2 by ALPN, as kube-apiserver would be asked: every request of the
    agent, its watch included, goes over h2; to a server offering HTTP/1.1 alone, over that."""
    api = fake_api
    config = never_in_pressure(tmp_path)
    with Agent(tmp_path, "--kubeconfig", api.kubeconfig, "--node", "node-1", "--config", str(config)) as agent:
        agent.wait_for(lambda e: e["msg"] == "reported condition", timeout=20)
        wait_until(lambda: any(is_watch(r) for r in agent_requests(api)), 20, "the agent's watch")
    used = agent_requests(api)
    expected = {"h2": "2", "http1.1": "1.1"}[fake_protocol]
    assert {r["http"] for r in used} == {expected}, [(r["method"], r["path"], r["http"]) for r in used]
    assert {"GET", "PATCH"} <= {r["method"] for r in used}


def test_unreachable_api_server_at_start_exits_2(tmp_path, fake_api):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(open(fake_api.kubeconfig).read().replace(f":{fake_api.port}", ":1"))
    result = run("run", "--kubeconfig", str(kubeconfig), "--node", "node-1", "--once",
                 "--config", write_config(tmp_path), timeout=60)
    assert result.returncode == 2, result.stderr
    assert "cannot read the Node" in result.stderr
