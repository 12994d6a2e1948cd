"""Upgrades without a flap, uninstalls without a leftover (issue 36), end to end: real agents
against the fake API server (fleet_harness.py), whose DaemonSet behaves as the controller's
does: a template change (a new image) bumps metadata.generation, each pod started carries the
generation it was made from (`pod-template-generation`, handed to the agent as the downward API
would), and a deletion is Background (gone at once) or Foreground (deletionTimestamp first).

At SIGTERM an agent whose DaemonSet is at a newer generation than its pod hands over (taint,
slot and conditions stay, reason AgentRestarting) and the new pod adopts them; in every other
case it cleans up. Judged by the fake's taint history replayed, its Lease holder history, its
Events and its request log; the agents' logs only to name what went wrong.
"""
import time

import pytest

from fleet_harness import NAMESPACE, Fleet, micro_time, report
from waiting import wait_until

BUSY = 95
LEASE = 30  # seconds: renewed every 10 s, longer than a pod's replacement here
SLOT = "autotaint-slot-0"  # K = 1 of 4 nodes at 30 %
STOP_BOUND = 5.0  # product.md: a stopping agent is done within 5 s
TAINT_EVENTS = {"TaintAdded", "TaintRemoved", "TaintRestored"}


def hot_fleet(tmp_path) -> Fleet:
    """4 nodes, node-00 in pressure and holding the one slot, the others idle."""
    fleet = Fleet(tmp_path, 4, percent=30, lease_seconds=LEASE)
    try:
        fleet.wait_sampling()
        fleet.set_load("node-00", BUSY)
        fleet.wait_tainted(hard=1, soft=0, timeout=30)
        assert fleet.holders() == {SLOT: "node-00"}
        wait_until(lambda: (fleet.condition("node-01") or {}).get("reason") == "CPUUsageNormal", 30,
                   "node-01 reporting its condition")
    except BaseException:
        fleet.stop()
        raise
    return fleet


def absent_seconds(fleet: Fleet, node: str, since: float, until: float) -> float:
    """How long `node` was without its hard own taint in [since, until], by the taint history."""
    absent, gone_at = 0.0, None
    for at, hard, _ in fleet.timeline().window(since, until):
        if node not in hard and gone_at is None:
            gone_at = at
        elif node in hard and gone_at is not None:
            absent, gone_at = absent + at - gone_at, None
    return absent + (until - gone_at if gone_at is not None else 0.0)


def writes_about(fleet: Fleet, node: str, since: float) -> list[str]:
    """The agents' write requests since `since` that touch `node`'s Node or post Events."""
    return [f"{r['method']} {r['path']}" for r in fleet.requests()
            if r["time"] >= since and r["method"] not in ("GET", "HEAD")
            and (r["path"].startswith(f"/api/v1/nodes/{node}") or "/events" in r["path"])]


def event_reasons(fleet: Fleet, node: str, before: set) -> list[str]:
    return [e["reason"] for e in fleet.events(node=node) if e["metadata"]["uid"] not in before]


def test_a_rolling_update_hands_over_without_a_flap(tmp_path):
    """The DaemonSet's template changes (generation 1 → 2) and its pods are replaced one at a
    time, SIGTERM then the new pod, with the status the controller reports meanwhile. node-00,
    in pressure and holding the slot: its hard taint is never absent, no TaintRemoved/
    TaintAdded, the slot never changes holder and its successor renews it. node-01, idle: no
    write but its condition's reason (AgentRestarting, then the new agent's)."""
    with hot_fleet(tmp_path) as fleet:
        start = time.time()
        before = {e["metadata"]["uid"] for e in fleet.events()}
        daemonset = fleet.admin("POST", "/daemonsets", {"namespace": NAMESPACE, "name": "autotaint",
                                                        "image": "autotaint:0.2.0", "updatedNumberScheduled": 0})
        assert daemonset["metadata"]["generation"] == 2
        exits, restarting = {}, {}
        for updated, node in enumerate(["node-00", "node-01"], start=1):
            code, seconds = fleet.terminate(node)
            exits[node] = (code, round(seconds, 2))
            restarting[node] = fleet.condition(node)
            # The controller's status while it replaces this pod: one not ready.
            fleet.set_daemonset(numberReady=3)
            fleet.start_agent(node)
            wait_until(lambda n=node: fleet.condition(n)["reason"] != "AgentRestarting", 30,
                       f"{node}'s new agent reporting its condition")
            fleet.set_daemonset(numberReady=4, updatedNumberScheduled=updated)
        restarted = time.time()
        # The successor renews the slot it adopted (every LEASE / 3 s).
        wait_until(lambda: micro_time(fleet.leases()[SLOT].get("renewTime")) > restarted, LEASE,
                   "node-00's new agent renewing its slot")
        end = time.time()

        absent = {"node-00": absent_seconds(fleet, "node-00", start, end)}
        reasons = {node: event_reasons(fleet, node, before) for node in ("node-00", "node-01")}
        lease_changes = [e for e in fleet.admin("GET", "/lease-history") if e["time"] >= start]
        idle_writes = writes_about(fleet, "node-01", start)
        report("rolling update", exits=exits, taint_absent_s=round(absent["node-00"], 2), events=reasons,
               slot_holder_changes=len(lease_changes), idle_node_writes=idle_writes)

        for node, (code, seconds) in exits.items():
            assert code == 0 and seconds <= STOP_BOUND, (node, code, seconds, fleet.log_tail(node))
        assert (restarting["node-00"]["status"], restarting["node-00"]["reason"]) == ("True", "AgentRestarting")
        # N for the successor's fleet guard: 4 nodes, one of them being replaced.
        assert restarting["node-00"]["message"].startswith(
            "autotaint is being replaced by a rolling update (fleet size 4); "), restarting["node-00"]
        assert (restarting["node-01"]["status"], restarting["node-01"]["reason"]) == ("False", "AgentRestarting")
        assert absent["node-00"] == 0, fleet.timeline().excerpt(start, end)
        assert fleet.tainted_now() == (frozenset({"node-00"}), frozenset())
        assert not TAINT_EVENTS & set(reasons["node-00"] + reasons["node-01"]), reasons
        assert lease_changes == [], lease_changes
        assert fleet.holders() == {SLOT: "node-00"}
        assert fleet.condition("node-00")["reason"] == "CPUUsageHigh"
        # The old agent's AgentRestarting and the new one's first report: status writes only.
        assert idle_writes == ["PATCH /api/v1/nodes/node-01/status"] * 2, idle_writes


@pytest.mark.parametrize("case", ["node left the DaemonSet", "node left after a spec edit", "deleted (background)",
                                  "deleted (foreground)"])
def test_a_pod_that_is_not_replaced_cleans_up(tmp_path, case):
    """SIGTERM with no successor coming: the DaemonSet deleted (gone at once, or with
    deletionTimestamp first), or this pod deleted while the DaemonSet's pod template stays
    (the node no longer matches its node selector), also after another part of its spec
    changed (metadata.generation moved, the template generation did not). Within 5 s:
    taint removed, condition Unknown/AgentStopped, slot released."""
    with hot_fleet(tmp_path) as fleet:
        start = time.time()
        before = {e["metadata"]["uid"] for e in fleet.events()}
        if case == "node left after a spec edit":
            # e.g. updateStrategy edited: the API server bumps the generation only
            fleet.set_daemonset(generation=2, templateGeneration=1)
        if case.startswith("deleted"):
            propagation = "Foreground" if "foreground" in case else "Background"
            fleet.admin("DELETE", f"/daemonsets?namespace={NAMESPACE}&name=autotaint&propagation={propagation}")
        code, seconds = fleet.terminate("node-00")
        condition = fleet.condition("node-00")
        releases = fleet.lease_timeline().releases(start)
        report(f"stop, {case}", exit=(code, round(seconds, 2)), events=event_reasons(fleet, "node-00", before),
               condition=(condition["status"], condition["reason"]),
               releases=[(e["name"], e["previousHolder"], round(e["time"] - start, 2)) for e in releases])

        assert code == 0 and seconds <= STOP_BOUND, (code, seconds, fleet.log_tail("node-00"))
        assert fleet.tainted_now() == (frozenset(), frozenset())
        assert (condition["status"], condition["reason"]) == ("Unknown", "AgentStopped")
        assert [(e["name"], e["previousHolder"]) for e in releases] == [(SLOT, "node-00")]
        assert "TaintRemoved" in event_reasons(fleet, "node-00", before)


@pytest.mark.parametrize("mode", ["refused", "hanging"])
def test_an_unreachable_api_server_at_sigterm_cleans_up_within_5s(tmp_path, mode):
    """The API server refuses connections, or takes every request and never answers: the
    agent cannot tell a rolling update, so it tries to clean up, and exits within 5 s."""
    with hot_fleet(tmp_path) as fleet:
        start = time.time()
        if mode == "refused":
            fleet.admin("POST", "/down", {"seconds": 60, "mode": "refuse"})
        else:
            fleet.admin("POST", "/faults", {"action": "hang", "seconds": 60, "count": None})
        code, seconds = fleet.terminate("node-00")
        attempted = [f"{r['method']} {r['path']}" for r in fleet.requests() if r["time"] >= start
                     and (r["path"].startswith("/api/v1/nodes/node-00") or "/daemonsets/" in r["path"])]
        report(f"stop, API server {mode}", exit=(code, round(seconds, 2)), requests=attempted)
        assert code == 0 and seconds <= STOP_BOUND, (code, seconds, fleet.log_tail("node-00"))
        if mode == "hanging":
            # The fake took the requests: the DaemonSet read, then the clean-up's taint write.
            assert attempted[:2] == ["GET /apis/apps/v1/namespaces/default/daemonsets/autotaint",
                                     "PATCH /api/v1/nodes/node-00"], attempted
        fleet.admin("DELETE", "/faults")
        fleet.admin("POST", "/up")
