"""The fleet guard end to end: 20 real agents, each for its own Node, against one fake API
server, their CPU load set per node through a stand-in Prometheus (fleet_harness.py).
Limit 30 % of 20 Nodes: K = 6 slots.

Every case is judged by an observer independent of the agents: the fake's taint history
replayed (every committed taint write, in commit order, so no moment is missed) and, as a
second check, all Nodes read every 100 ms. Never by the agents' logs.

Timing: agents sample every 1 s and act on the first sample past the threshold (`for`,
`recoverFor`, `minHold` 0 s); leaseDuration 6 s (renewals every 2 s). A waiting node
retries at most the backoff cap after its last attempt: N × 300 ms = 6 s for N = 20
(FleetSlots.retryCap), and every attempt asks for free slots (a LIST by the free-state
label), so a released slot is found by the next attempt of any waiting node.
RETRY_BOUND = cap + one interval (the attempt's requests and the Node write that follows
them) + SLACK (20 agents, the fake and the observer on 2 CPUs).

One 20-agent fleet serves the cases that share its config, reset between them (no load,
every taint gone, every slot free); the guard-off case starts a fleet of its own.
"""
import signal
import time

import pytest

from fleet_harness import (HOLDER_N_MAX_AGE, INTERVAL, N_MAX_AGE, Fleet, NodeSampler, busiest_second, guard_summary,
                           holder_in, is_guard_request, released_while_hard, report, slot_of, slots_for)

N = 20
PERCENT = 30
K = 6
LEASE = 6  # seconds
CAP = 6.0  # the waiting nodes' backoff cap for N = 20
SLACK = 3.0
RETRY_BOUND = CAP + INTERVAL + SLACK
# A dead holder's slot is judged expired only by a waiting node that watches it. Each
# watches one slot: it probes it at first sight and again a third of a lease later (two
# attempts, each at most CAP + INTERVAL apart), moves to the next slot when it changed (a
# live holder) and stays when not. In the worst case nobody watches the dead slot when its
# holder dies, and a node reaches it after visiting the other slots; then it takes the
# slot LEASE after its first sight, at its next attempt.
DISCOVERY_BOUND = K * 2 * (CAP + INTERVAL) + SLACK
BUSY, IDLE = 95, 0


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    f = Fleet(tmp_path_factory.mktemp("fleet"), N, percent=PERCENT, lease_seconds=LEASE)
    try:
        assert f.K == K
        f.wait_sampling()
        yield f
    finally:
        f.stop()


@pytest.fixture(scope="module")
def sampler(fleet):
    s = NodeSampler(fleet, period=0.1)
    yield s
    s.stop()


@pytest.fixture
def case(fleet, sampler):
    """A reset fleet; afterwards, every agent still running (one the case killed restarted)."""
    fleet.reset()
    yield fleet
    fleet.check_alive()


def assert_never_over(fleet, since, until, limit=K, among=None):
    """The taint history's and the 100 ms sampler's maxima of hard-tainted Nodes in the
    window, both ≤ `limit`; returns (history max, sampler max, samples)."""
    timeline = fleet.timeline()
    worst, at, which = timeline.max_hard(since, until, among)
    assert worst <= limit, (f"{worst} Nodes hard-tainted at once at {at:.3f} ({sorted(which)}), limit {limit}:\n"
                            + timeline.excerpt(at - 3, at + 1))
    return worst, timeline


def sampled_max(sampler, since, until, among=None, limit=K):
    worst, samples = sampler.max_hard(since, until, among)
    assert samples >= (until - since) * 3, f"only {samples} samples of the Nodes in {until - since:.0f} s"
    assert worst <= limit, f"the 100 ms sampler saw {worst} hard-tainted Nodes, limit {limit}"
    return worst


def in_pressure(fleet, nodes, soft, timeout=30):
    """`nodes` busy; waits for K hard + `soft` PreferNoSchedule, steady; returns (hard, soft)."""
    fleet.set_all(BUSY, nodes)
    hard, softs = fleet.wait_tainted(K, soft, timeout)
    assert hard | softs == set(nodes), (sorted(hard), sorted(softs), nodes)
    holders = fleet.holders()
    assert sorted(holders.values()) == sorted(hard), f"slot holders {holders} are not the hard-tainted {sorted(hard)}"
    return hard, softs


def test_twelve_of_twenty_in_pressure_get_six_hard_and_six_prefer_no_schedule(case, sampler):
    fleet = case
    quiet_from = time.time()
    time.sleep(3 * INTERVAL)
    quiet = fleet.guard(quiet_from, time.time())
    assert quiet["count"] == 0, f"guard requests while no node is in pressure: {quiet}"
    start = time.time()
    hard, soft = in_pressure(fleet, fleet.nodes[:12], soft=6)
    end = time.time()
    worst, _ = assert_never_over(fleet, start, end)
    assert worst == K
    guard = fleet.guard(start, end)
    report("12 of 20", history_max_hard=worst, sampler_max_hard=sampled_max(sampler, start, end), K=K,
           guard_requests=guard["count"], by_verb=guard["by_verb"], seconds=round(end - start, 1))
    for node in sorted(soft):
        message = fleet.condition(node)["message"]
        # The agent may add how N was counted, e.g. "(N: 20 ready of 20 scheduled)", before the ";".
        assert "fleet limit: 6 of 20 nodes (30%) hold a slot" in message and "; PreferNoSchedule instead" in message, \
            (node, message)


def test_all_twenty_entering_pressure_in_the_same_second_race_for_six_slots(case, sampler):
    """All 20 busy at once. The agents' ticks are spread over the second and a probe and
    its write are a few ms apart, so to make the races happen the fake holds each of the
    first lease writes for HOLD s before applying it: every node that probes the same slot
    meanwhile finds it still free, writes too, and gets 409."""
    hold = 1.5
    fleet = case
    start = time.time()
    for method, path in (("POST", r"/namespaces/default/leases$"), ("PATCH", r"/namespaces/default/leases/")):
        fleet.admin("POST", "/faults", {"method": method, "path": path, "count": N, "action": "hang", "seconds": hold})
    fleet.set_all(BUSY)
    hard, soft = fleet.wait_tainted(K, N - K, timeout=40)
    end = time.time()
    worst, _ = assert_never_over(fleet, start, end)
    guard = fleet.guard(start, end)
    assert sorted(fleet.holders().values()) == sorted(hard)
    assert guard["by_status"].get("409", 0) >= 1, f"no race lost: {guard}"
    report("all 20 at once", history_max_hard=worst, sampler_max_hard=sampled_max(sampler, start, end), K=K,
           guard_requests=guard["count"], conflicts_409=guard["by_status"].get("409", 0), by_verb=guard["by_verb"],
           seconds=round(end - start, 1))


def test_three_holders_cooling_down_free_their_slots_for_three_waiting_nodes(case, sampler):
    fleet = case
    busy = fleet.nodes[:12]
    start = time.time()
    hard, soft = in_pressure(fleet, busy, soft=6)
    cooled = sorted(hard)[:3]
    cooled_at = time.time()
    fleet.set_all(IDLE, cooled)
    # The cooled nodes write their Nodes soft, then release, within a few ticks; each release
    # is then found within RETRY_BOUND.
    new_hard, new_soft = fleet.wait_tainted(K, 3, timeout=3 * RETRY_BOUND)
    end = time.time()
    assert not set(cooled) & (new_hard | new_soft), "a cooled node kept its taint"
    hardened = sorted(new_hard - hard)
    assert len(hardened) == 3 and set(hardened) <= soft, (hardened, sorted(soft))
    worst, timeline = assert_never_over(fleet, start, end)
    # The i-th hardening no later than RETRY_BOUND after the i-th release (by then at
    # least i slots had been freed).
    requests = fleet.requests()
    released = sorted((r["time"], r["path"]) for r in requests if r["time"] >= cooled_at and r["method"] == "PATCH"
                      and "/leases/" in r["path"] and r.get("status") == 200 and '"holderIdentity":""' in
                      r.get("body", "").replace(" ", ""))
    assert len(released) == 3, f"{len(released)} releases of a slot after the cool-down"
    releases = [at for at, _ in released]
    hardenings = sorted(timeline.first_hard(n, cooled_at) for n in hardened)
    delays = [round(h - r, 2) for h, r in zip(hardenings, releases)]

    def after_release(at, path):
        """What the freed slot was asked next: seconds after its release, verb, status."""
        return [(round(r["time"] - at, 2), r["method"], r.get("status")) for r in requests
                if r["path"] == path and r["time"] > at][:4]
    assert all(d <= RETRY_BOUND for d in delays), (
        f"hardened {delays} s after the releases, bound {RETRY_BOUND} s; each freed slot's next requests: "
        + "; ".join(f"{path.rsplit('/', 1)[1]}: {after_release(at, path)}" for at, path in released)
        + "\n" + timeline.excerpt(cooled_at, end))
    guard = guard_summary(requests, cooled_at, end)
    report("3 holders cool down", history_max_hard=worst, sampler_max_hard=sampled_max(sampler, start, end), K=K,
           harden_delays_s=delays, bound_s=RETRY_BOUND, guard_requests=guard["count"], by_kind=guard["by_kind"])


def test_a_killed_holders_slot_goes_to_a_waiting_node_only_after_the_lease_duration(case, sampler):
    """kill -9 of a holder: it cannot release its slot nor remove its taint. Its slot is
    taken by a waiting node once the lease expired (leaseDuration after its last renewal,
    judged by the waiters' own observation, never sooner) and within leaseDuration +
    DISCOVERY_BOUND of that renewal: a waiter has to watch the dead holder's last record
    (at worst after a round over the slots), see it unchanged for leaseDuration, and try
    again (≤ cap).

    What the invariant means here: a dead agent's taint stays on its Node until something
    removes it, and no live agent can count it; so the guard's promise is about the live
    agents' Nodes: at most K of them hard-tainted at every moment. With the dead Node's
    stale taint the count may be K + 1, and only while that taint stays. The DaemonSet
    restarts the agent; on its first tick it finds a hard own taint with no slot to be had
    and downgrades it, and the count is back to K."""
    fleet = case
    busy = fleet.nodes[:12]
    start = time.time()
    hard, soft = in_pressure(fleet, busy, soft=6)
    slot, victim = sorted(fleet.holders().items())[0]
    fleet.kill(victim)
    try:
        killed_holder_case(fleet, sampler, start, slot, victim, soft)
    finally:
        if fleet.agents[victim].process.poll() is not None:
            fleet.start_agent(victim)  # as the DaemonSet would, also when the case failed


def killed_holder_case(fleet, sampler, start, slot, victim, soft):
    killed_at = time.time()
    live = [n for n in fleet.nodes if n != victim]

    def taken():
        holder = fleet.holders().get(slot)
        return holder not in (None, victim) and holder
    deadline = time.monotonic() + LEASE + DISCOVERY_BOUND + 20
    while not (successor := taken()):
        assert time.monotonic() < deadline, f"slot {slot} of the killed {victim} never taken: {fleet.leases()}"
        time.sleep(0.2)
    assert successor in soft, (successor, sorted(soft))
    requests = fleet.requests()
    writes = [r for r in requests if r["path"].endswith(f"/leases/{slot}") or (r["path"].endswith("/leases")
              and f'"{slot}"' in r.get("body", ""))]
    victim_writes = [r["time"] for r in writes if r["method"] in ("PATCH", "POST") and r.get("status") in (200, 201)
                     and f'"{victim}"' in r.get("body", "")]
    takeover = next(r["time"] for r in writes if r["method"] == "PATCH" and r.get("status") == 200
                    and f'"{successor}"' in r.get("body", "") and r["time"] > killed_at)
    last_renewal = max(victim_writes)
    waited = takeover - last_renewal
    # Expired once seen unchanged for LEASE by a node watching it (DISCOVERY_BOUND: reaching
    # it at worst, and the retry after the lease).
    bound = LEASE + DISCOVERY_BOUND + CAP + INTERVAL
    asked = [(round(r["time"] - last_renewal, 2), r["method"], r.get("status")) for r in writes if r["time"] > last_renewal]
    assert LEASE - 0.1 <= waited <= bound, (f"taken {waited:.2f} s after the last renewal; lease {LEASE} s, bound "
                                            f"{bound} s; the slot's requests since (s after it): {asked[:12]}")
    fleet.wait_tainted(K + 1, 5, timeout=RETRY_BOUND)  # the successor hardens; the dead Node's taint stays
    taken_at = time.time()
    worst_live, timeline = assert_never_over(fleet, start, taken_at, among=live)
    worst_all, _, _ = timeline.max_hard(start, taken_at)
    for at, hard_now, _ in timeline.window(killed_at, taken_at):
        assert len(hard_now) <= K or (len(hard_now) == K + 1 and victim in hard_now), (at, sorted(hard_now))
    sampled = sampled_max(sampler, start, taken_at, among=live)

    # The DaemonSet's restart: the stale hard taint is downgraded on the first tick.
    restarted_at = time.time()
    fleet.start_agent(victim)
    after, after_soft = fleet.wait_tainted(K, 6, timeout=15, hold=2)
    end = time.time()
    assert victim in after_soft and victim not in after
    downgraded = next(at for at, hard_now, _ in fleet.timeline().window(restarted_at, end) if victim not in hard_now)
    assert_never_over(fleet, downgraded, end)
    report("kill -9 of a holder", history_max_hard_live_nodes=worst_live, history_max_hard_all=worst_all,
           sampler_max_hard_live_nodes=sampled, K=K, taken_after_last_renewal_s=round(waited, 2), lease_s=LEASE,
           bound_s=bound, stale_taint_downgraded_after_restart_s=round(downgraded - restarted_at, 2),
           guard_requests=guard_summary(requests, killed_at, takeover + 0.001)["count"])


def test_an_outage_longer_than_the_lease_leaves_an_excess_of_at_most_one_interval(case, sampler):
    """The API server unreachable for 2 × leaseDuration while 12 nodes are in pressure:
    every holder's lease expires unseen; waiting nodes may take the slots as soon as the
    server is back, and each old holder must downgrade on its first tick back. An excess
    over K is allowed only there, for at most one interval after that holder reconnected
    (its first request logged after the server came back), plus SLACK_RECONNECT for the
    Node write to land on 2 busy CPUs."""
    slack_reconnect = 1.0
    fleet = case
    busy = fleet.nodes[:12]
    start = time.time()
    hard, soft = in_pressure(fleet, busy, soft=6)
    down_at = time.time()
    fleet.admin("POST", "/down", {"seconds": 2 * LEASE})
    time.sleep(2 * LEASE)
    deadline = time.monotonic() + 10
    while True:  # the fake's own timer brings it back
        try:
            fleet.tainted_now()
            break
        except OSError:
            assert time.monotonic() < deadline, "the fake API server did not come back"
            time.sleep(0.1)
    up_at = down_at + 2 * LEASE
    after, after_soft = fleet.wait_tainted(K, 6, timeout=60)
    end = time.time()
    timeline = fleet.timeline()
    assert not [s for s in timeline.steps if down_at + 0.5 < s[0] < up_at - 0.5], "taint writes while the server was down"
    requests = fleet.requests()
    spans = timeline.spans_over(K, down_at, end)
    assert timeline.max_hard(start, down_at)[0] <= K
    excess = []
    for span_start, span_end, worst in spans:
        # Each old holder still hard in the span that lost its slot: it reconnected, then
        # downgraded within one interval.
        for node in sorted(worst & (hard - after)):
            back = min((r["time"] for r in requests if r["time"] >= up_at and f"/nodes/{node}" in r["path"]),
                       default=None)
            gone = next((at for at, h, _ in timeline.window(span_start, end) if node not in h), None)
            assert back is not None and gone is not None, (node, back, gone)
            excess.append((node, round(gone - back, 2)))
            assert gone - back <= INTERVAL + slack_reconnect, (
                f"{node} downgraded {gone - back:.2f} s after reconnecting, bound {INTERVAL + slack_reconnect} s:\n"
                + timeline.excerpt(up_at - 1, span_end + 1))
    worst_count = max((len(w) for _, _, w in spans), default=timeline.max_hard(down_at, end)[0])
    report("outage 2 × leaseDuration", history_max_hard=worst_count, K=K,
           excess_spans_s=[round(e - s, 2) for s, e, _ in spans], holder_downgrade_after_reconnect_s=excess,
           slots_changed_hands=len(after - hard), guard_requests=guard_summary(requests, up_at, end)["count"],
           recovered_after_s=round(end - up_at, 1))


def test_a_holder_cut_off_past_its_lease_sheds_its_taint_within_one_interval_of_coming_back(case, sampler):
    """SIGSTOP of a holder for longer than leaseDuration: to the API server it is a holder
    cut off, its lease unrenewed. A waiting node takes the slot once it expired and hardens,
    so while the holder stays cut off K + 1 Nodes are hard: the one exception the invariant
    allows, the cut-off holder's own stale taint. On SIGCONT its first tick finds the slot
    lost (it gave up at 2/3 of the lease) and writes its taint soft past the write backoff:
    the excess ends within one interval of its coming back, plus SLACK_RECONNECT for the
    Node write to land on 2 busy CPUs. The live agents' Nodes never exceed K."""
    slack_reconnect = 1.0
    fleet = case
    busy = fleet.nodes[:12]
    start = time.time()
    hard, soft = in_pressure(fleet, busy, soft=6)
    slot, victim = sorted(fleet.holders().items())[0]
    live = [n for n in fleet.nodes if n != victim]
    process = fleet.agents[victim].process
    process.send_signal(signal.SIGSTOP)
    stopped_at = time.time()
    try:
        deadline = time.monotonic() + LEASE + DISCOVERY_BOUND + 20
        while fleet.holders().get(slot) in (None, victim):
            assert time.monotonic() < deadline, f"slot {slot} of the stopped {victim} never taken: {fleet.leases()}"
            time.sleep(0.2)
        successor = fleet.holders()[slot]
        assert successor in soft, (successor, sorted(soft))
        fleet.wait_tainted(K + 1, 5, timeout=RETRY_BOUND, hold=1)  # the successor hardens beside the stale taint
    finally:
        resumed_at = time.time()
        process.send_signal(signal.SIGCONT)
    after, after_soft = fleet.wait_tainted(K, 6, timeout=15, hold=2)
    end = time.time()
    assert victim in after_soft and successor in after, (victim, successor, sorted(after))
    timeline = fleet.timeline()
    downgraded = next(at for at, hard_now, _ in timeline.window(resumed_at, end) if victim not in hard_now)
    shed_after = downgraded - resumed_at
    assert shed_after <= INTERVAL + slack_reconnect, (
        f"{victim} shed its hard taint {shed_after:.2f} s after it came back, bound {INTERVAL + slack_reconnect} s:\n"
        + timeline.excerpt(resumed_at - 1, downgraded + 1))
    worst_live, _ = assert_never_over(fleet, start, end, among=live)
    for at, hard_now, _ in timeline.window(start, end):
        assert len(hard_now) <= K or (len(hard_now) == K + 1 and victim in hard_now
                                      and stopped_at <= at < downgraded), (at, sorted(hard_now))
    excess = [round(b - a, 2) for a, b, _ in timeline.spans_over(K, start, end)]
    report("holder cut off (SIGSTOP) past its lease", history_max_hard_live_nodes=worst_live,
           history_max_hard_all=timeline.max_hard(start, end)[0],
           sampler_max_hard_live_nodes=sampled_max(sampler, start, end, among=live), K=K,
           stopped_s=round(resumed_at - stopped_at, 1), shed_after_coming_back_s=round(shed_after, 2),
           excess_spans_s=excess,
           guard_requests=fleet.guard(resumed_at, end)["count"])


def test_leases_forbidden_means_overflow_with_the_reason_in_condition_and_event(case, sampler):
    """An install with the old rbac.yaml: every lease request is 403. Fail safe: no slot,
    PreferNoSchedule for every node in pressure, the condition and a FleetLimitReached
    Event say why. A node entering pressure writes PreferNoSchedule at once, before its
    first slot attempt (spread over the onset window), so the cause is waited for."""
    fleet = case
    busy = fleet.nodes[:12]
    start = time.time()
    earlier = {e["metadata"]["name"] for e in fleet.events()}
    fleet.admin("POST", "/faults", {"method": "*", "path": "/namespaces/default/leases", "count": None,
                                    "action": "status", "status": 403})
    fleet.set_all(BUSY, busy)
    hard, soft = fleet.wait_tainted(0, 12, timeout=30)

    def names_the_cause(message):
        return "forbidden" in message or "403" in message

    def condition_says(node):
        message = fleet.condition(node)["message"]
        return "fleet guard:" in message and names_the_cause(message)

    def event_says(node):
        return [e for e in fleet.events("FleetLimitReached", node) if e["metadata"]["name"] not in earlier
                and e["type"] == "Warning" and names_the_cause(e["message"])]
    deadline = time.monotonic() + 10
    while missing := [n for n in busy if not (condition_says(n) and event_says(n))]:
        assert time.monotonic() < deadline, (
            f"the condition or a FleetLimitReached Event does not name the 403 for {missing}: "
            f"{missing[0]}: condition {fleet.condition(missing[0])['message']!r}, events "
            f"{[e['message'] for e in fleet.events('FleetLimitReached', missing[0])][-3:]}")
        time.sleep(0.3)
    message = fleet.condition(busy[0])["message"]
    end = time.time()
    worst, _ = assert_never_over(fleet, start, end, limit=0)
    guard = fleet.guard(start, end)
    assert guard["by_status"].get("403", 0) >= 12, guard
    report("leases forbidden", history_max_hard=worst, sampler_max_hard=sampled_max(sampler, start, end, limit=0),
           K=K, guard_requests=guard["count"], by_status=guard["by_status"], condition=repr(message))


# -- N from the DaemonSet's status (issue 35) ---------------------------------------------------
# The fake's DaemonSet reports what its controller would; holders re-read N every 75 s, and
# a holder of a slot >= the new K writes its taint soft, then releases: within RELEASE_BOUND
# of the status change. A waiting node counts with an N at most N_MAX_AGE old: a case that
# changes N makes the next reset wait until no agent counts with it any more, so the failed
# zone comes last.
RELEASE_BOUND = 90.0


def test_a_rolling_update_of_the_daemonset_changes_no_holder(case, sampler):
    """12 in pressure, 6 hold. The DaemonSet's own rolling update, driven as its controller
    reports it: generation 2 (observed a moment later), maxUnavailable 10 %, then 2 pods at a
    time replaced (numberReady 18, numberUnavailable 2 while updatedNumberScheduled goes 0,
    2, … 18, half a second with all 20 ready between steps; then all ready and updated). The
    ten steps last until every holder has re-read N (HOLDER_N_MAX_AGE after it took its slot;
    about 75 s), nearly all of it with 2 pods not ready. The agents keep running. N stays 20
    (2 not-ready pods count as live during the update) and K 6: no holder releases, the
    hard Nodes stay the same 6."""
    fleet = case
    busy = fleet.nodes[:12]
    start = time.time()
    hard, soft = in_pressure(fleet, busy, soft=6)
    before = fleet.holders()
    began = time.time()
    taken = [e["time"] for e in fleet.lease_timeline().takes(start, began)]
    assert len(taken) == K, taken
    reread_by = max(taken) + HOLDER_N_MAX_AGE + 2 * INTERVAL  # every holder has read N again by then
    step = max(3.0, (reread_by - began - 1.0) / (N // 2) - 0.5)
    statuses = [fleet.set_daemonset(generation=2, observedGeneration=1, maxUnavailable="10%")]
    time.sleep(1.0)
    not_ready = []  # (from, to): the stretches with 2 pods not ready
    for updated in range(0, N, 2):
        statuses.append(fleet.set_daemonset(observedGeneration=None, updatedNumberScheduled=updated,
                                            numberReady=N - 2))
        not_ready.append((time.time(), time.time() + step))
        time.sleep(step)
        statuses.append(fleet.set_daemonset(updatedNumberScheduled=updated + 2, numberReady=None))
        not_ready[-1] = (not_ready[-1][0], time.time())
        time.sleep(0.5)
    time.sleep(2 * INTERVAL)
    ended = time.time()
    during = [st for st in statuses if st["numberReady"] == N - 2]
    assert len(during) == N // 2 and all(st["numberUnavailable"] == 2 and st["observedGeneration"] == 2
                                         for st in during), during
    assert statuses[-1] == fleet.daemonset()["status"] and statuses[-1]["updatedNumberScheduled"] == N
    assert not fleet.n_changed, "N by the issue's rule left 20 while the update was driven"
    releases = fleet.lease_timeline().releases(began, ended)
    assert not releases, f"holders released during the rolling update: {releases}"
    guard = fleet.guard(began, ended)
    deleted = [r for r in fleet.requests() if began <= r["time"] <= ended and r["method"] == "DELETE"
               and "/leases/" in r["path"] and r.get("status") == 200]
    assert not guard["by_kind"].get("release") and not deleted, (guard, deleted)
    assert fleet.holders() == before, (before, fleet.holders())
    timeline = fleet.timeline()
    changed = [(round(at - began, 2), sorted(hard_now)) for at, hard_now, _ in timeline.window(began, ended)
               if hard_now != hard]
    assert not changed, f"the hard Nodes changed during the rolling update (s after it began): {changed[:5]}"
    # The case proves something only if agents read N while 2 pods were not ready (numberReady
    # alone would give N 18, K 5).
    reads = [r["time"] for r in fleet.requests() if began <= r["time"] <= ended and is_guard_request(r)
             and "/daemonsets/" in r["path"] and r.get("status") == 200]
    in_steps = [at for at in reads if any(a <= at <= b for a, b in not_ready)]
    assert in_steps, f"no DaemonSet read while 2 pods were not ready: reads at {[round(t - began, 1) for t in reads]}"
    assert not_ready[-1][1] >= reread_by - 0.5, (not_ready[-1], reread_by)
    sampled, samples = sampler.max_hard(began, ended)
    report("rolling update of the DaemonSet", K=K, hard_throughout=len(hard), sampler_max_hard=sampled,
           seconds=round(ended - began, 1), step_s=round(step, 1), releases=len(releases), daemonset_reads=len(reads),
           reads_with_2_not_ready=len(in_steps), read_times_s=[round(t - began, 1) for t in reads],
           guard_requests=guard["count"])


def test_twenty_entering_pressure_in_one_second_fill_the_k_slots(case, sampler):
    """All 20 busy at once, with no fault: the agents' first slot attempts are spread over a
    window that grows with N. K slots held within 90 s, never more than K hard; measured: the
    busiest second's guard requests, the time until K slots were held (the fake's Lease
    holder history) and K Nodes hard (its taint history), the spread of the first lease writes."""
    fleet = case
    start = time.time()
    fleet.set_all(BUSY)
    hard, soft = fleet.wait_tainted(K, N - K, timeout=RELEASE_BOUND)
    end = time.time()
    worst, timeline = assert_never_over(fleet, start, end)
    sampled = sampled_max(sampler, start, end)
    held_at = fleet.lease_timeline().first_held(K, start)
    hard_at = next(at for at, hard_now, _ in timeline.window(start, end) if len(hard_now) >= K)
    assert held_at is not None and held_at - start <= RELEASE_BOUND, held_at
    assert hard_at - start <= RELEASE_BOUND
    requests = fleet.requests()
    busiest, second = busiest_second(requests, start, end)
    per_second = [sum(1 for r in requests if is_guard_request(r) and int(r["time"]) == int(start) + i)
                  for i in range(min(10, int(end - start) + 1))]
    first_write = {}
    for r in requests:  # each node's first lease write (its holderIdentity names it)
        if start <= r["time"] <= end and is_guard_request(r) and r["method"] in ("POST", "PATCH", "PUT"):
            first_write.setdefault(holder_in(r), r["time"])
    first_write.pop(None, None)
    report("20 at once, no fault", history_max_hard=worst, sampler_max_hard=sampled, K=K,
           k_slots_held_after_s=round(held_at - start, 2), k_hard_after_s=round(hard_at - start, 2),
           busiest_second_guard_requests=busiest, busiest_second_after_s=second - int(start) if second else None,
           guard_requests_per_second=per_second, guard_requests=fleet.guard(start, end)["count"],
           nodes_writing_a_lease=len(first_write),
           first_lease_writes_spread_s=round(max(first_write.values()) - min(first_write.values()), 2)
           if first_write else None)


def test_a_failed_zone_brings_k_down_to_the_live_nodes_within_90_s(case, sampler):
    """Every node in pressure (6 hard, 14 soft); then a zone of 6 nodes dies: their agents
    are killed (kill -9: no cleanup, their Nodes keep whatever taint they had) and the
    DaemonSet reports 14 ready and available pods, as its controller would. N = 14, K = 4:
    within 90 s of that status change at most 4 of the live Nodes are hard-tainted, and 4
    are (the waiting nodes fill the slots). The zone holds slot 0 and 5 waiting nodes, so 5
    live Nodes stay hard: the live holders of slots 4 and 5 must let go; the dead holder's
    slot expires, is below the new K and may be taken. The live Nodes never exceed the old K."""
    fleet = case
    start = time.time()
    hard, soft = in_pressure(fleet, fleet.nodes, soft=N - K)
    before = fleet.holders()
    zone = [before["autotaint-slot-0"]] + sorted(soft)[:5]
    live = [n for n in fleet.nodes if n not in zone]
    try:
        for node in zone:
            fleet.kill(node)
        changed_at = time.time()
        status = fleet.set_daemonset(numberReady=N - len(zone))
        assert (status["numberReady"], status["numberAvailable"], status["numberUnavailable"],
                status["desiredNumberScheduled"]) == (14, 14, 6, 20), status
        k = slots_for(len(live), PERCENT)
        slots = {f"autotaint-slot-{i}" for i in range(k)}

        def settled(hard_now, soft_now):  # slots 0–3 held by live nodes, 4 and 5 let go
            held = fleet.holders()
            return (len(hard_now & set(live)) == k and set(live) <= hard_now | soft_now
                    and set(held) == slots and set(held.values()) <= set(live))
        after, after_soft = fleet.wait_steady(settled, f"{k} of the live nodes hard, on slots 0–{k - 1}",
                                              RELEASE_BOUND + RETRY_BOUND + 10)
        end = time.time()
        fleet.check_alive(live)
        timeline = fleet.timeline()
        spans = timeline.spans_over(k, changed_at, end, among=live)
        down_to_k = (spans[-1][1] if spans else changed_at) - changed_at
        assert down_to_k <= RELEASE_BOUND, (f"more than {k} live Nodes hard until {down_to_k:.1f} s after the "
                                            "status change:\n" + timeline.excerpt(changed_at, end))
        worst_live, _ = assert_never_over(fleet, start, end, among=live)
        sampled = sampled_max(sampler, start, end, among=live)
        # Slots 4 and 5 are let go, and only they; a waiting node whose N was read before the
        # change (it may be up to N_MAX_AGE old) may take one of them once more, and let it go.
        leases = fleet.lease_timeline()
        releases = [(e["name"], e["previousHolder"], round(e["time"] - changed_at, 1))
                    for e in leases.releases(changed_at, end)]
        assert {r[0] for r in releases} == {f"autotaint-slot-{i}" for i in range(k, K)}, releases
        takes = [(e["name"], e["holder"], round(e["time"] - changed_at, 1)) for e in leases.takes(changed_at, end)]
        late = [t for t in takes if slot_of(t[0]) >= k and t[2] > N_MAX_AGE + INTERVAL]
        assert not late, f"slots ≥ {k} taken with an N older than {N_MAX_AGE:g} s: {late}"
        assert not released_while_hard(timeline, leases.releases(changed_at, end))
        message = fleet.condition(sorted(after_soft & set(live))[0])["message"]
        report("a zone of 6 of 20 dies", K_before=K, K_after=k, history_max_hard_live_nodes=worst_live,
               sampler_max_hard_live_nodes=sampled, live_hard_at_end=len(after & set(live)),
               dead_hard_at_end=len(after - set(live)), live_at_most_k_after_s=round(down_to_k, 1),
               bound_s=RELEASE_BOUND, releases_s_after_change=releases, takes_s_after_change=takes,
               condition=repr(message))
    finally:
        for node in zone:  # the zone comes back, also when the case failed
            if fleet.agents[node].process.poll() is not None:
                fleet.start_agent(node)


def test_the_guard_off_taints_every_node_in_pressure_and_asks_nothing_of_leases(tmp_path):
    """maxTaintedPercent: 0 is today's behaviour: every node in pressure gets NoSchedule,
    and not one request goes to /leases or /daemonsets."""
    with Fleet(tmp_path, N, percent=0, lease_seconds=LEASE) as fleet:
        start = time.time()
        fleet.set_all(BUSY)
        hard, soft = fleet.wait_tainted(N, 0, timeout=30)
        time.sleep(2 * INTERVAL)
        fleet.check_alive()
        end = time.time()
        worst = fleet.timeline().max_hard(start, end)[0]
        requests = fleet.requests()
        guard = guard_summary(requests)
        leases = [f"{r['method']} {r['path']}" for r in requests if (r.get("user_agent") or "").startswith("autotaint/")
                  and ("/leases" in r["path"] or "/daemonsets" in r["path"])]
        assert not leases, leases[:5]
        report("guard off", history_max_hard=worst, K="off", guard_requests=guard["count"],
               requests_total=len(requests))
