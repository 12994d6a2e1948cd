"""The fleet guard per DaemonSet (issue 35), end to end: real agents against one fake API
server (fleet_harness.py), each fleet of its own size:

- two DaemonSets (node pools) in one namespace: each its own slots (`<daemonSet>-slot-<i>`)
  and its own K;
- the fleet shrinking under its holders (the DaemonSet's status drops from 25 ready pods to
  10): holders of slots ≥ the new K write their taints soft, then release, within 90 s.

Judged, as in test_fleet.py, by observers independent of the agents: the fake's taint history
replayed, all Nodes read every 100 ms, the fake's Lease holder history; never the agents' logs.
The cases that fit test_fleet.py's 20-agent fleet (a failed zone, a rolling update of the
DaemonSet, 20 entering pressure at once) are there.
"""
import time

from fleet_harness import (DAEMONSET, INTERVAL, N_MAX_AGE, Fleet, NodeSampler, is_guard_request,
                           released_while_hard, report, slot_of, slots_for)

PERCENT = 30
LEASE = 6  # seconds
BUSY = 95
# A holder re-reads N every 75 s; a holder of a slot ≥ K then writes its taint soft and
# releases: within 90 s of the DaemonSet's status change (the bound).
RELEASE_BOUND = 90.0
# Nodes entering pressure together fill K slots within this (the onset window, ≈ N × 50 ms,
# the first attempts, one Node write each), on 2 CPUs shared with the fake and the observers.
FILL_BOUND = 30.0
GPU = "autotaint-gpu"


def test_two_daemonsets_in_one_namespace_keep_separate_budgets(tmp_path):
    """10 nodes of DaemonSet `autotaint` and 4 of `autotaint-gpu`, 30 %, every node in
    pressure: at most 3 and 1 hard-tainted at once in each pool, and each pool reaches its K,
    on slots named and labelled by its DaemonSet."""
    nodes = [f"node-{i:02d}" for i in range(14)]
    with Fleet(tmp_path, len(nodes), percent=PERCENT, lease_seconds=LEASE,
               daemonsets=dict.fromkeys(nodes[10:], GPU)) as fleet:
        assert fleet.pool_K == {DAEMONSET: 3, GPU: 1}
        fleet.wait_sampling()
        sampler = NodeSampler(fleet)
        try:
            start = time.time()
            fleet.set_all(BUSY)

            def each_pool_at_its_k(hard, soft):
                return (hard | soft == set(nodes)
                        and all(len(hard & set(members)) == fleet.pool_K[name]
                                for name, members in fleet.pools.items()))
            hard, soft = fleet.wait_steady(each_pool_at_its_k, "3 hard of autotaint's 10, 1 of autotaint-gpu's 4",
                                           FILL_BOUND)
            end = time.time()
        finally:
            sampler.stop()
        timeline = fleet.timeline()
        figures = {}
        for name, members in fleet.pools.items():
            k = fleet.pool_K[name]
            worst, at, which = timeline.max_hard(start, end, among=members)
            assert worst <= k, (f"{name}: {worst} Nodes hard-tainted at once at {at:.3f} ({sorted(which)}), "
                                f"K {k}:\n" + timeline.excerpt(at - 3, at + 1))
            sampled, samples = sampler.max_hard(start, end, among=members)
            assert samples >= (end - start) * 3 and sampled <= k, (name, sampled, samples)
            reached = timeline.max_hard(start, end, among=members)[1]
            holders = fleet.holders(name)
            assert set(holders) == {f"{name}-slot-{i}" for i in range(k)}, (name, holders)
            assert set(holders.values()) == hard & set(members), (name, holders, sorted(hard))
            figures[name] = {"K": k, "history_max_hard": worst, "sampler_max_hard": sampled,
                             "K_reached_after_s": round(reached - start, 2)}
        slots = fleet.leases()
        for slot, spec in slots.items():  # every slot is one of a pool's K, labelled by its DaemonSet
            pool = next((name for name in fleet.pools if slot_of(slot, name) is not None), None)
            assert pool is not None and slot_of(slot, pool) < fleet.pool_K[pool], (slot, sorted(slots))
            labels = spec["labels"]
            assert labels.get("app.kubernetes.io/name") == "autotaint" and labels.get("autotaint.dev/fleet") == pool \
                and labels.get("autotaint.dev/slot-state") == "held", (slot, labels)
        lists = sorted({r["params"].get("labelSelector", "") for r in fleet.requests() if is_guard_request(r)
                        and r["method"] == "GET" and r["path"].endswith("/leases")})
        report("two DaemonSets, 10 + 4 nodes", pools=figures, slot_leases=sorted(slots),
               slot_list_selectors=lists, seconds=round(end - start, 1))


def test_the_fleet_shrinking_under_seven_holders_gets_down_to_the_new_k_within_90_s(tmp_path):
    """25 nodes, K 7, 12 in pressure (7 hard, 5 soft); then the DaemonSet reports 10 pods
    (desired and ready): K 3. Within 90 s of that status change at most 3 Nodes are hard,
    never more than 7 on the way; the holders of slots 3–6 write their taints soft before
    they release, those of slots 0–2 keep theirs. A waiting node may count with the old N
    for up to N_MAX_AGE, so it may take a slot ≥ 3 (and harden) only that long after the change."""
    with Fleet(tmp_path, 25, percent=PERCENT, lease_seconds=LEASE) as fleet:
        assert fleet.K == 7
        fleet.wait_sampling()
        sampler = NodeSampler(fleet)
        try:
            busy = fleet.nodes[:12]
            start = time.time()
            fleet.set_all(BUSY, busy)
            hard, soft = fleet.wait_tainted(7, 5, timeout=FILL_BOUND)
            before = fleet.holders()
            assert sorted(before.values()) == sorted(hard), (before, sorted(hard))
            changed_at = time.time()
            status = fleet.set_daemonset(desiredNumberScheduled=10)
            assert status["desiredNumberScheduled"] == status["numberReady"] == 10, status
            k = slots_for(10, PERCENT)
            after, after_soft = fleet.wait_tainted(k, len(busy) - k, timeout=RELEASE_BOUND + 15)
            end = time.time()
        finally:
            sampler.stop()
        timeline = fleet.timeline()
        spans = timeline.spans_over(k, changed_at, end)
        shrink = (spans[-1][1] if spans else changed_at) - changed_at
        assert shrink <= RELEASE_BOUND, (f"more than {k} Nodes hard until {shrink:.1f} s after the status change:\n"
                                         + timeline.excerpt(changed_at, end))
        worst, at, which = timeline.max_hard(start, end)
        assert worst <= 7, f"{worst} hard at {at:.3f}: {sorted(which)}\n" + timeline.excerpt(at - 3, at + 1)
        sampled, _ = sampler.max_hard(start, end)
        assert sampled <= 7, sampled
        kept = {before[f"autotaint-slot-{i}"] for i in range(k)}
        assert after == kept, f"hard at the end {sorted(after)}, the holders of slots 0–{k - 1} were {sorted(kept)}"
        assert set(fleet.holders()) == {f"autotaint-slot-{i}" for i in range(k)}, fleet.holders()
        leases = fleet.lease_timeline()
        releases, takes = leases.releases(changed_at, end), leases.takes(changed_at, end)
        assert {e["name"] for e in releases} == {f"autotaint-slot-{i}" for i in range(k, 7)}, releases
        late = [(e["name"], e["holder"], round(e["time"] - changed_at, 1)) for e in takes
                if slot_of(e["name"]) < k or e["time"] - changed_at > N_MAX_AGE + INTERVAL]
        assert not late, f"slots taken after the change with an N older than {N_MAX_AGE:g} s, or below K: {late}"
        assert not released_while_hard(timeline, releases), released_while_hard(timeline, releases)
        delays = {e["previousHolder"]: round(e["time"] - changed_at, 1) for e in releases}
        acquired = {e["holder"]: e["time"] for e in leases.takes(start, changed_at)}
        held_for = {e["previousHolder"]: round(e["time"] - acquired[e["previousHolder"]], 1) for e in releases
                    if e["previousHolder"] in acquired}  # a holder re-reads N 75 s after its last read
        report("N 25 → 10 under 7 holders", K_before=7, K_after=k, history_max_hard=worst, sampler_max_hard=sampled,
               shrink_s=round(shrink, 1), bound_s=RELEASE_BOUND, released_s_after_change=delays,
               released_s_after_acquiring=held_for, status_changed_s_after_start=round(changed_at - start, 1),
               takes_after_change=len(takes), guard_requests=fleet.guard(changed_at, end)["count"])
