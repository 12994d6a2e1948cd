"""`make bench`'s fleet part: what the fleet guard costs the API server, with real agents.

20 agents (Tests/e2e/fleet_harness.py: one fake API server, a stand-in Prometheus, one
`autotaint run` per Node) all in pressure, limit 30 % (K = 6 holders, 14 waiting nodes),
leaseDuration 1m: a holder renews every 20 s, so the 60 s window after steady state holds
exactly three renewals of each. The guard's requests in that window (paths with /leases or
/daemonsets in the fake's request log) give, in total and per node:

- renewals per holder per second (a PATCH naming the slot's holder as holder);
- a waiting node's attempts per second (its LISTs of free slots: one an attempt) and its
  lease requests per second (probes, LISTs, creates, take-overs);
- bytes per request (request + response bodies, as the fake counts them), by kind.

The 5,000-node projection (K = 1,500, 3,500 waiting) is docs/fleet-guard.md's arithmetic,
with the measured sizes: renewals scale with 1/leaseDuration (the default 2m halves the
measured 1m rate); a waiting node that found every slot held attempts again after half to
all of `agent_retry_cap(N)`, 0.75 of it on average, and attempts that far apart each make a
DaemonSet read (a later attempt refreshes an N over a minute old), a probe (the watched
slot is due after a third of a lease) and a LIST; a holder reads N every 75 s. The measured
attempts per waiting node here are checked against the same model at 20 nodes, so the
projection rests on a rate the agents were seen to keep.
"""
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests/e2e"))
from fleet_harness import Fleet, guard_kind, guard_summary, is_guard_request  # noqa: E402

PROJECTED_NODES, PROJECTED_SLOTS = 5000, 1500
DEFAULT_LEASE = 120.0
HOLDER_SIZE_READ_PERIOD = 75.0  # a holder re-reads N every 75 s (SlotPolicy.fleetSizeMaxAge.holding)
WAITER_SIZE_READ_PERIOD = 60.0  # a waiting node's later attempts refresh an N over a minute old
BUDGET_REQUESTS, BUDGET_BYTES = 75, 1e6  # product.md, "Performance targets": settled


def agent_retry_cap(nodes: int) -> float:
    """A waiting node's backoff cap as the agent computes it (FleetSlots.retryCap in
    Sources/AutoTaintCore/FleetSlots.swift): N × 300 ms, at least 5 s, at most 30 min."""
    return min(max(5.0, nodes * 0.3), 1800.0)


def fleet(binary: str, work: Path, agents_count: int = 20, seconds: float = 60, lease_seconds: int = 60) -> dict:
    os.environ["AUTOTAINT_BIN"] = binary  # agent_process.binary()
    with Fleet(work, agents_count, percent=30, lease_seconds=lease_seconds) as f:
        slots, waiting = f.K, agents_count - f.K
        started = time.monotonic()
        f.set_all(95)
        f.wait_tainted(slots, waiting, timeout=90, hold=3)
        steady_seconds = time.monotonic() - started
        begin = time.time()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 1.0))
            f.check_alive()
        end = time.time()
        hard, soft = f.tainted_now()
        requests = f.requests()
    summary = guard_summary(requests, begin, end)
    window = end - begin
    kinds = summary["by_kind"]
    renewals = kinds.get("renew", 0)
    waiter_lease = sum(kinds.get(k, 0) for k in ("probe", "create", "take", "list"))
    size_reads = kinds.get("daemonset", 0)
    sizes = bytes_by_kind(requests, begin, end)
    total_bytes = (summary["request_bytes"] or 0) + (summary["response_bytes"] or 0)
    per_request = total_bytes / summary["count"] if summary["count"] else 0.0

    renew_per_holder = renewals / slots / window
    waiter_rate = waiter_lease / waiting / window
    attempts_per_waiter = kinds.get("list", 0) / waiting / window
    cap_here, cap_there = agent_retry_cap(agents_count), agent_retry_cap(PROJECTED_NODES)
    attempt_there = 0.75 * cap_there  # equal jitter: between cap/2 and cap, 0.75 cap on average
    waiting_there = PROJECTED_NODES - PROJECTED_SLOTS
    projected = {  # requests/s at 5,000 nodes, and the measured size of each kind
        "renewals": (PROJECTED_SLOTS * renew_per_holder * lease_seconds / DEFAULT_LEASE, sizes.get("renew", 0)),
        "holders_daemonset_reads": (PROJECTED_SLOTS / HOLDER_SIZE_READ_PERIOD, sizes.get("daemonset", 0)),
        "waiting_probes": (waiting_there / attempt_there, sizes.get("probe", 0)),
        "waiting_free_lists": (waiting_there / attempt_there, sizes.get("list", 0)),
        "waiting_daemonset_reads": (waiting_there / max(WAITER_SIZE_READ_PERIOD, attempt_there),
                                    sizes.get("daemonset", 0)),
    }
    projected_total = sum(rate for rate, _ in projected.values())
    projected_bytes = sum(rate * size for rate, size in projected.values())
    return {
        "agents": agents_count, "slots": slots, "waiting": waiting, "lease_seconds": lease_seconds,
        "window_seconds": round(window, 1), "steady_after_seconds": round(steady_seconds, 1),
        "hard_at_end": len(hard), "soft_at_end": len(soft),
        "guard_requests": summary["count"], "by_verb": summary["by_verb"], "by_kind": kinds,
        "by_status": summary["by_status"],
        "requests_per_second": round(summary["count"] / window, 3),
        "bytes_per_second": round(total_bytes / window, 1),
        "response_bytes_logged": summary["response_bytes"] is not None,
        "bytes_per_request": round(per_request, 1), "bytes_per_request_by_kind": sizes,
        "renewals_per_holder_per_second": round(renew_per_holder, 5),
        "waiting_requests_per_waiter_per_second": round(waiter_rate, 4),
        "attempts_per_waiter_per_second": round(attempts_per_waiter, 4),
        # Half to all of the cap after an attempt that found every slot held.
        "attempts_per_waiter_per_second_model": round(1 / (0.75 * cap_here), 4),
        "daemonset_reads_per_node_per_second": round(size_reads / agents_count / window, 5),
        "retry_cap_seconds": cap_here,
        "projection_5000": {k: round(rate, 2) for k, (rate, _) in projected.items()},
        "projection_5000_requests_per_second": round(projected_total, 1),
        "projection_5000_bytes_per_second": round(projected_bytes),
        "projection_note": f"leaseDuration 2m, cap {cap_there:g} s at {PROJECTED_NODES} nodes",
    }


def bytes_by_kind(requests: list[dict], since: float, until: float) -> dict:
    """Mean request + response bytes of each kind of guard request in the window."""
    holders, sizes = {}, {}
    for entry in requests:
        if not is_guard_request(entry):
            continue
        kind = guard_kind(entry, holders)
        if since <= entry["time"] < until:
            sent = entry.get("request_bytes", len((entry.get("body") or "").encode()))
            sizes.setdefault(kind, []).append(sent + (entry.get("response_bytes") or 0))
    return {k: round(statistics.fmean(v), 1) for k, v in sorted(sizes.items())}


def rows(f: dict) -> list[tuple[str, str, str, str]]:
    """bench.py's table rows for this part."""
    per_kind = ", ".join(f"{k} {v:g}" for k, v in f["by_kind"].items()) or "none"
    return [
        (f"fleet guard, {f['agents']} agents all in pressure (K = {f['slots']}, leaseDuration {f['lease_seconds']}s, "
         f"{f['window_seconds']:.0f} s): requests/s, bytes/s",
         f"{f['requests_per_second']:.2f}/s, {f['bytes_per_second']:.0f} B/s ({per_kind})", "", "info"),
        ("  per holder: renewals/s; per waiting node: lease requests/s, attempts/s (model); per node: DaemonSet reads/s",
         f"{f['renewals_per_holder_per_second']:.4f}; {f['waiting_requests_per_waiter_per_second']:.4f}, "
         f"{f['attempts_per_waiter_per_second']:.4f} ({f['attempts_per_waiter_per_second_model']:.4f}); "
         f"{f['daemonset_reads_per_node_per_second']:.4f}", "", "info"),
        ("  bytes per request by kind (request + response)",
         ", ".join(f"{k} {v:.0f} B" for k, v in f["bytes_per_request_by_kind"].items()), "", "info"),
        ("  bytes per guard request (request + response)",
         f"{f['bytes_per_request']:.0f} B" + ("" if f["response_bytes_logged"] else " (requests only)"), "", "info"),
        ("  projected to 5,000 nodes: renewals; holders' N reads; waiting nodes' probes; their LISTs; their N reads",
         "; ".join(f"{v:g}/s" for v in f["projection_5000"].values()), "", "info"),
        (f"  projected to 5,000 nodes, K = 1,500 ({f['projection_note']})",
         f"{f['projection_5000_requests_per_second']:.1f} req/s, {f['projection_5000_bytes_per_second'] / 1e6:.3f} MB/s",
         f"≤ {BUDGET_REQUESTS} req/s, ≤ 1 MB/s",
         "pass" if f["projection_5000_requests_per_second"] <= BUDGET_REQUESTS
         and f["projection_5000_bytes_per_second"] <= BUDGET_BYTES else "OVER"),
    ]


if __name__ == "__main__":  # the part alone: python3 bench/fleet.py BINARY
    import json
    import tempfile
    figures = fleet(str(Path(sys.argv[1]).resolve()), Path(tempfile.mkdtemp(prefix="autotaint-fleet.")))
    print(json.dumps(figures, indent=2))
    for row in rows(figures):
        print("  ".join(row))
