"""Chaos: the real agent against a fake API server that goes down, fails, throttles, answers
garbage, hangs, rotates its token, expires the watch, and shares the Node with a writer at
full speed. Each case asserts what the Node looks like afterwards, not just that the agent
lived.

The memory signal drives pressure here, flipped by rewriting the config file (the agent
re-reads it every interval): high 0.1 / low 0 is always pressure on any machine, high 99 /
low 98 never is, so no case depends on how busy this machine's CPUs are."""
import json
import os
import re
import time

import pytest

from agent_process import Agent
from node_view import agent_requests, condition, is_watch, own_taints
from prometheus_stack import free_port, http_get
from waiting import wait_until

OURS = "autotaint.dev/memory-pressure"
CONDITION = "MemoryUsagePressure"
NODE_PATH = "/api/v1/nodes/node-1"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"

CONFIG = """\
sampling: {{interval: 1s, source: proc}}
heartbeat: 1m
server: {{address: "{address}"}}
signals:
  cpu: {{enabled: false}}
  memory: {{enabled: true, highPercent: {high}, lowPercent: {low}, for: 1s, recoverFor: 2s, minHold: 1s}}
"""
PRESSURE = {"high": 0.1, "low": 0}
CALM = {"high": 99, "low": 98}


class ChaosAgent(Agent):
    """The agent on node-1 with a config file that `pressure(bool)` rewrites atomically."""

    def __init__(self, tmp_path, api, *, kubeconfig=None, metrics_port=None, fleet=""):
        self.config_path = tmp_path / "config.yaml"
        self.address = f"127.0.0.1:{metrics_port}" if metrics_port else ""
        self.fleet = fleet  # a `fleet:` line for the config, e.g. a short leaseDuration
        self.pressure(False)
        super().__init__(tmp_path, "--kubeconfig", kubeconfig or api.kubeconfig, "--node", "node-1",
                         "--config", str(self.config_path))

    def pressure(self, on: bool):
        staged = self.config_path.with_suffix(".new")
        staged.write_text(CONFIG.format(address=self.address, **(PRESSURE if on else CALM)) + self.fleet)
        os.replace(staged, self.config_path)

    def failures(self):
        return [e for e in self.lines() if e["msg"] == "API request failed; retrying later"]

    def assert_alive(self):
        assert self.process.poll() is None, f"agent exited with {self.process.returncode}"
        self.lines()  # every line it wrote is one JSON object


def started(tmp_path, api, **kw) -> ChaosAgent:
    agent = ChaosAgent(tmp_path, api, **kw)
    agent.wait_for(lambda e: e["msg"] == "reported condition" and e["status"] == "False", timeout=20)
    return agent


def in_pressure(api):
    """Our taint exactly once and the condition True: what the agent's state says."""
    cond = condition(api, CONDITION)
    return own_taints(api, OURS) == [{"key": OURS, "value": "true", "effect": "NoSchedule"}] \
        and cond is not None and cond["status"] == "True"


def calm(api):
    cond = condition(api, CONDITION)
    return own_taints(api, OURS) == [] and cond is not None and cond["status"] == "False"


def event_reasons(api):
    """The reasons of the taint Events (each config flip also posts a ConfigReloaded)."""
    return [e["reason"] for e in api.events() if e["reason"].startswith("Taint")]


def node_attempts(api, since=0.0):
    """The agent's requests on node-1 other than the watch, from `since` (epoch seconds)."""
    return [r for r in agent_requests(api) if r["time"] >= since and not is_watch(r)
            and r["path"].startswith(NODE_PATH)]


def assert_the_watch_follows(api, agent):
    """Our taint removed by hand comes back: only a live watch (or a fresh read) shows the
    agent it is gone. The condition stays True, so its PATCH does not mark the Event as
    posted: wait for the Event itself."""
    api.kubectl("taint", "node", "node-1", f"{OURS}-")
    wait_until(lambda: in_pressure(api) and "TaintRestored" in event_reasons(api), 30, "our taint restored")
    assert event_reasons(api) == ["TaintAdded", "TaintRestored"]
    agent.assert_alive()


@pytest.mark.http1
def test_api_server_down_for_30s_the_agent_catches_up_once_it_is_back(tmp_path, fake_api):
    api = fake_api
    api.kubectl("taint", "node", "node-1", "example.com/dedicated=db:NoSchedule")
    with started(tmp_path, api) as agent:
        back_at = time.monotonic() + 30
        api.down(30)
        agent.pressure(True)  # the agent enters pressure while it cannot write
        agent.wait_for(lambda e: e["msg"] == "transition" and e.get("to") == "pressure", timeout=15)
        wait_until(lambda: len(agent.failures()) >= 1, 30, "a failed attempt during the outage")
        time.sleep(max(0.0, back_at - time.monotonic()))
        wait_until(lambda: in_pressure(api), 75, "our taint and condition after the outage")
        # One log line for the streak, which ends saying how many attempts failed. Backoff,
        # not one attempt a tick: 1 s doubling to 60 s gives at most 6 in 30 s.
        assert [e["kind"] for e in agent.failures()] == ["transport"], agent.failures()
        recovered = [e for e in agent.lines() if e["msg"] == "API requests succeed again"]
        assert len(recovered) == 1 and 2 <= int(recovered[0]["failures"]) <= 7, recovered
        assert [t["key"] for t in api.node("node-1")["spec"]["taints"]] == ["example.com/dedicated", OURS]
        # The fleet guard cannot reach the server either. When its last answer before the
        # Node write was still the outage, the taint goes on PreferNoSchedule and is hardened
        # once the slot is held: a TaintAdded for each. Never the same taint announced twice.
        messages = [e["message"] for e in api.events() if e["reason"].startswith("Taint")]
        assert event_reasons(api) in (["TaintAdded"], ["TaintAdded", "TaintAdded"]), messages
        hard = f"{OURS}=true:NoSchedule"
        assert messages[-1].startswith((f"Added taint {hard}: ", f"Hardened taint {hard} (was PreferNoSchedule)")), messages
        if len(messages) == 2:
            assert messages[0].startswith(f"Added taint {OURS}=true:PreferNoSchedule: "), messages
            assert "fleet guard: no slot: API server unreachable" in messages[0], messages
        agent.assert_alive()


def test_a_5xx_storm_is_retried_with_growing_gaps_then_written(tmp_path, fake_api):
    api = fake_api
    with started(tmp_path, api) as agent:
        storm_start = time.time()
        api.fault(method="PATCH", path=rf"^{NODE_PATH}", status=500, count=None)
        api.fault(method="GET", path=rf"^{NODE_PATH}$", status=503, count=None)
        agent.pressure(True)
        wait_until(lambda: len(node_attempts(api, storm_start)) >= 5, 40, "five attempts into the storm")
        api.clear_faults()
        wait_until(lambda: in_pressure(api), 60, "our taint after the storm")

        attempts = node_attempts(api, storm_start)
        stormed = [r for r in attempts if r["fault"] == "status"]
        assert {r["status"] for r in stormed} <= {500, 503} and len(stormed) >= 5
        # Each failure doubles the wait (1 s base, equal jitter: at least half the period).
        starts = [r["time"] for r in stormed]
        for n, (before, after) in enumerate(zip(starts, starts[1:])):
            assert after - before >= 0.5 * 2 ** n - 0.1, (n, after - before, starts)
        assert event_reasons(api) == ["TaintAdded"]
        # One log line per streak and per change of kind (the PATCH's 500, the GETs' 503),
        # not one per attempt; the streak's end says how many failed.
        assert [e["kind"] for e in agent.failures()] == ["serverError(500)", "serverError(503)"], agent.failures()
        recovered = [e for e in agent.lines() if e["msg"] == "API requests succeed again"]
        assert [int(e["failures"]) for e in recovered] == [len(stormed)], recovered
        agent.assert_alive()


def test_429_with_retry_after_2_waits_2s_before_the_next_attempt(tmp_path, fake_api):
    api = fake_api
    with started(tmp_path, api) as agent:
        api.fault(method="PATCH", path=rf"^{NODE_PATH}$", status=429, retry_after=2, count=3)
        agent.pressure(True)
        wait_until(lambda: in_pressure(api), 40, "our taint after three 429s")
        attempts = node_attempts(api)
        throttled = [i for i, r in enumerate(attempts) if r["status"] == 429]
        assert len(throttled) == 3, [(r["method"], r["status"]) for r in attempts]
        for i in throttled:
            answered = attempts[i]["time"] + attempts[i]["duration"]
            waited = attempts[i + 1]["time"] - answered
            assert waited >= 2.0 - 0.05, (i, waited)  # the server's 2 s, not the 0.5–1 s backoff
        # One line for the streak, its wait as the Kubernetes duration actually kept.
        assert [e["kind"] for e in agent.failures()] == ["throttled"], agent.failures()
        assert re.fullmatch(r"2s|1s9\d\dms", agent.failures()[0]["retryIn"]), agent.failures()
        agent.assert_alive()


def test_garbage_and_truncated_answers_are_errors_and_nothing_is_written_twice(tmp_path, fake_api):
    api = fake_api
    api.kubectl("taint", "node", "node-1", "example.com/keep=1:NoExecute")
    # The start-up read of the Node: first garbage, then an answer cut in half.
    api.fault(method="GET", path=rf"^{NODE_PATH}$", action="garbage", count=1)
    api.fault(method="GET", path=rf"^{NODE_PATH}$", action="truncate", count=1)
    with started(tmp_path, api) as agent:
        startup = [e["error"] for e in agent.lines() if e["msg"] == "cannot read the Node"]
        assert len(startup) == 2, startup
        assert all(error.startswith("GET nodes/node-1: ") for error in startup), startup

        # The taint PATCH is applied but its answer is cut: the agent cannot know whether it
        # was, and must find out by reading (here the watch brings the Node) before writing again.
        api.fault(method="PATCH", path=rf"^{NODE_PATH}$", action="truncate", count=1)
        agent.pressure(True)
        wait_until(lambda: in_pressure(api), 40, "our taint after the cut answer")
        assert [(e["verb"], e["kind"]) for e in agent.failures()] == [("PATCH", "transport")], agent.failures()
        taint_writes = [r for r in node_attempts(api) if r["method"] == "PATCH" and r["path"] == NODE_PATH]
        assert len(taint_writes) == 1, taint_writes
        assert [t["key"] for t in api.node("node-1")["spec"]["taints"]] == ["example.com/keep", OURS]
        assert event_reasons(api) == ["TaintAdded"]  # announced once found applied

        # Garbage on the watch: the Node is read again and followed as before.
        api.fault(method="GET", path=r"^/api/v1/nodes$", action="garbage", count=1,
                  body='{"type":"MODIFIED","object":{"kind":"Node","metadata":{"name":')
        api.down(1)  # drops the open watch; its reconnection gets the garbage
        wait_until(lambda: any(r["fault"] == "garbage" and is_watch(r) for r in agent_requests(api)), 20,
                   "the garbage watch answer")
        assert_the_watch_follows(api, agent)


def test_a_hanging_request_times_out_and_the_loop_goes_on(tmp_path, fake_api):
    api = fake_api
    port = free_port()
    with started(tmp_path, api, metrics_port=port) as agent:
        api.fault(method="PATCH", path=rf"^{NODE_PATH}$", action="hang", seconds=45, then="close", count=1)
        agent.pressure(True)
        hung = wait_until(lambda: [r for r in node_attempts(api) if r["fault"] == "hang"], 20, "the hung PATCH")[0]

        def last_tick():
            code, body = http_get(f"http://127.0.0.1:{port}/metrics")
            line = next(l for l in body.decode().splitlines() if l.startswith("autotaint_last_tick_timestamp_seconds"))
            return float(line.split()[-1])

        first = last_tick()
        wait_until(lambda: last_tick() >= first + 3, 10, "ticks while the request hangs")
        assert http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200

        wait_until(lambda: in_pressure(api), 40, "our taint after the hung request timed out")
        # Written long before the hang would have ended: the 10 s request timeout fired.
        timed_out = [e for e in agent.failures() if e["verb"] == "PATCH"]
        assert [e["kind"] for e in timed_out] == ["transport"], agent.failures()
        assert "timed out" in timed_out[0]["error"].lower() or "timeout" in timed_out[0]["error"].lower(), timed_out
        written = next(r for r in node_attempts(api) if r["method"] == "PATCH" and r["status"] == 200
                       and r["path"] == NODE_PATH)
        assert written["time"] < hung["time"] + 30, (written["time"] - hung["time"])
        agent.assert_alive()


@pytest.mark.http1
def test_a_rotated_token_is_read_again_after_a_401(tmp_path, fake_api):
    api = fake_api
    # As kube-apiserver (Go) does over h2: the 401 of a write is answered on its HEADERS,
    # before its body is read, and the stream then reset with NO_ERROR (HTTP/1.1: no effect).
    api.set_early_answer(True)
    with started(tmp_path, api, kubeconfig=api.kubeconfig_tokenfile) as agent:
        api.rotate_token(keep_old=False)  # the old token now gets 401; the file holds the new one
        rotated = time.time()
        agent.pressure(True)
        wait_until(lambda: in_pressure(api), 30, "our taint with the new token")
        after = [r for r in agent_requests(api) if r["time"] >= rotated and not is_watch(r)]
        # The first request with the old token (the ConfigReloaded Event, or the taint PATCH)
        # is refused once, then sent again at once with the token read again from the file.
        answers = [(r["method"], r["path"], r["status"]) for r in after]
        assert after[0]["status"] == 401 and after[1]["status"] in (200, 201), answers
        assert (after[0]["method"], after[0]["path"]) == (after[1]["method"], after[1]["path"]), answers
        # Everything after is answered; a 404 only for the fleet guard's probe of a slot
        # Lease nobody has created yet (it then creates it).
        absent_slot = [r for r in after if r["method"] == "GET" and "/leases/autotaint-slot-" in r["path"]
                       and r["status"] == 404]
        assert all(r["status"] in (200, 201) for r in after[1:] if r not in absent_slot), answers
        assert agent.failures() == []  # the retry with the re-read token is part of the same call
        agent.assert_alive()


@pytest.mark.http1
def test_a_watch_that_expires_with_410_is_listed_again_and_followed(tmp_path, fake_api):
    api = fake_api
    with started(tmp_path, api) as agent:
        agent.pressure(True)
        wait_until(lambda: in_pressure(api), 20, "our taint")
        # Drop the watch's connection, and while it reconnects let history move on and be
        # compacted, so its resourceVersion is too old: the real server's 410 Expired. The
        # last write is to another Node, so node-1's own resourceVersion is too old as well:
        # only a LIST gives a resourceVersion a watch can start from (client-go's reflector).
        api.down(2)
        api.update_node("node-1", lambda n: n["metadata"].setdefault("labels", {}).update({"chaos": "1"}))
        api.update_node("node-2", lambda n: n["metadata"].setdefault("labels", {}).update({"chaos": "1"}))
        api.compact()
        agent.wait_for(lambda e: "expired" in e["msg"] and "reading the node again" in e["msg"], timeout=30)
        relisted_at = max(r["time"] for r in agent_requests(api) if r["method"] == "GET" and not is_watch(r)
                          and r["path"] == "/api/v1/nodes"
                          and r["params"].get("fieldSelector") == "metadata.name=node-1")
        wait_until(lambda: any(is_watch(r) and r["time"] > relisted_at for r in agent_requests(api)), 15,
                   "a new watch after the re-list")
        assert_the_watch_follows(api, agent)


def test_a_writer_at_full_speed_for_60s_loses_no_taint(tmp_path, fake_api):
    api = fake_api
    writer = api.start_foreign_writer(node="node-1", rate=1000.0, max_taints=4)
    with started(tmp_path, api) as agent:
        deadline = time.monotonic() + 60
        flips = 0
        while time.monotonic() < deadline and flips < 20:
            agent.pressure(flips % 2 == 0)
            flips += 1
            time.sleep(min(4.0, max(0.0, deadline - time.monotonic())))
        stats = api.stop_foreign_writer()
        wanted = flips % 2 == 1  # the last flip
        wait_until(lambda: in_pressure(api) if wanted else calm(api), 30, "the agent's last state on the Node")

        print("foreign writer:", {k: stats[k] for k in ("writes", "conflicts", "errors")},
              "agent conflicts:", sum(1 for r in agent_requests(api) if r["status"] == 409))
        assert stats["lost"] == [], stats
        assert stats["writes"] > 300, stats  # it did race the agent
        taints = api.node("node-1")["spec"]["taints"]
        for taint in writer.expected_taints():
            assert taint in taints
        foreign = [t for t in taints if t["key"] != OURS]
        assert len(foreign) == len(stats["owned"])
        assert [t for t in taints if t["key"] == OURS] == ([{"key": OURS, "value": "true", "effect": "NoSchedule"}]
                                                           if wanted else [])
        transitions = [e["to"] for e in agent.lines() if e["msg"] == "transition"]
        reasons = event_reasons(api)
        assert reasons.count("TaintAdded") == transitions.count("pressure") >= 4, (reasons, transitions)
        assert reasons.count("TaintRemoved") == transitions.count("normal"), (reasons, transitions)
        assert "TaintRestored" not in reasons  # nobody but the agent touched its taint
        for request in node_attempts(api):
            if request["method"] == "PATCH" and request["path"] == NODE_PATH:
                assert json.loads(request["body"])["metadata"]["resourceVersion"], request["body"]
        agent.assert_alive()


def lease_requests(api):
    """The agent's requests for the fleet guard's slot Leases, oldest first."""
    return [r for r in agent_requests(api) if r["path"].startswith(LEASES)]


def releases(api):
    return [r for r in lease_requests(api) if r["method"] == "PATCH" and r["status"] == 200
            and '"holderIdentity":""' in r["body"]]


def test_a_429_on_a_slot_lease_holds_the_guards_next_request_back_for_its_retry_after(tmp_path, fake_api):
    api = fake_api
    api.fault(method="GET", path=rf"^{LEASES}/", status=429, retry_after=2, count=1)
    with started(tmp_path, api) as agent:
        agent.pressure(True)
        wait_until(lambda: in_pressure(api), 40, "our hard taint, its slot held")
        leases = lease_requests(api)
        throttled = [i for i, r in enumerate(leases) if r["status"] == 429]
        assert len(throttled) == 1 and throttled[0] + 1 < len(leases), [(r["method"], r["status"]) for r in leases]
        i = throttled[0]
        gap = leases[i + 1]["time"] - (leases[i]["time"] + leases[i]["duration"])
        print(f"\nthe next slot Lease request {gap:.2f} s after a 429 with Retry-After: 2")
        # The guard's own attempt backoff would try again after 0.5 to 1 s.
        assert gap >= 2.0 - 0.05, gap
        agent.assert_alive()


def test_a_holder_cut_off_past_its_lease_that_leaves_pressure_releases_its_slot_once_back(tmp_path, fake_api):
    """Holding slot 0 with leaseDuration 6 s, the agent is cut off for 15 s: it counts
    itself without a slot at 4 s, leaves pressure while still cut off, and on its return
    must still clear the Lease that names it (other nodes would otherwise wait out the
    lease) and remove its stale hard taint at once, not after its grown write backoff."""
    api = fake_api
    with started(tmp_path, api, fleet="fleet: {leaseDuration: 6s}\n") as agent:
        agent.pressure(True)
        wait_until(lambda: in_pressure(api), 40, "our hard taint, its slot held")
        down_at = time.time()
        api.down(15)
        time.sleep(6)
        agent.pressure(False)
        wait_until(lambda: not api.server.is_down(), 20, "the fake back")
        back_at = time.time()
        wait_until(lambda: own_taints(api, OURS) == [] and releases(api), 30, "the taint gone and the slot released")
        untainted = next(e["time"] for e in api.server.taint_history()
                         if e["time"] > down_at and not [t for t in e["taints"] if t["key"] == OURS])
        released = releases(api)[0]["time"]
        print(f"\nback at +{back_at - down_at:.1f} s: taint removed {untainted - back_at:.2f} s later, "
              f"slot released {released - back_at:.2f} s later")
        # Without the end of the outage's wait, the write backoff had reached 8 to 16 s.
        assert untainted - back_at <= 8.0, untainted - back_at
        assert released - back_at <= 10.0, released - back_at
        holders = [json.loads(r["body"])["spec"]["holderIdentity"] for r in lease_requests(api)
                   if r["method"] == "PATCH" and r["status"] == 200]
        assert holders[-1] == "", holders
        agent.assert_alive()
