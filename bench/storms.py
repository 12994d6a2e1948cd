#!/usr/bin/env python3
"""`make bench-scale`: N real agents at one API server through the storms that hurt API
servers, for N = 50, 100 and 200. Part of `make bench`, not of `make test`.

usage: storms.py BINARY [--sizes 50,100,200] [--steady-seconds 600] [--out bench/storms.json]
                 [--scenarios steady,restart,restart_410,spike,spike_again]

One fleet per N (Tests/e2e/fleet_harness.py: the fake API server in a process of its own,
a stand-in Prometheus, one `autotaint run` per Node, interval 5 s, fleet guard at 30 %,
leaseDuration 2m, each agent serving /readyz on its own port), through four scenarios in
order, each judged from the fake's request log, its Nodes and /proc, never the agents' logs:

1. start-up storm: all N started at once (Popen in a loop; the spread is printed): requests
   in each 1 s window (peak, p99), time until every agent's /readyz answers 200, the
   agents' peak CPU (all of them, in cores) and memory (the largest RSS and anonymous
   memory of one agent), and the fake's own peak CPU;
2. steady state (10 min): requests/s and bytes/s at the API server in total and per node,
   by verb (a watch counted as WATCH), and the CPU of the agents and of the fake;
3. API server restart, twice: the fake refuses every connection for 10 s and drops every
   watch; the second time its watch history is compacted too (after a write that moves
   the resourceVersion past every agent's), so a resumed watch gets 410 Gone. A tenth of
   the nodes enter pressure during the outage. Peak re-watches and Node GETs in any 1 s
   window (a Node read: its GET, or the LIST by name a watch starts from), time until every
   watch is open again, writes lost (nodes not written as their
   load says within 60 s of the restart);
4. cluster-wide spike: every node enters pressure in the same second (the onset: the moment
   the stand-in Prometheus answers 95 % for every node), after at least 61 s in which no
   agent read its DaemonSet, so any N an agent read is older than a minute, as after a long
   idle time (an agent that never was in pressure has read none: it reads N on entering).
   Observed for max(90 s, W + 30 s) + 30 s, W = N × 50 ms the onset window the agents spread
   their first attempts over (FleetSlots.onsetWindow), and longer, up to 300 s, until K
   slots are held: the guard's requests (paths with /leases or /daemonsets) in each 1 s
   window (aligned to the onset, and the busiest 1 s anywhere, absolute and per node), per
   second over the window in all and by kind (fleet_harness.guard_summary: the DaemonSet
   read, probe, LIST, create, take, renew), 409s; from the fake's Lease holder history
   (GET /lease-history) the time until the first and until K slots are held, from its
   taint history the time until every node was in pressure, until the first and until K
   hard taints, and the most hard-tainted Nodes at once against K; the per-second counts by
   kind go into storms.json, and the gap from a probe of a slot to the create or take of it
   that followed (what a round trip took while the agents raced). A create of a free slot
   (no holder, labelled free: the `prepare` a node makes after creating its own slot) is
   counted as `prepare`, not `create`, its 409s as `prepare_409` too. Each agent's epoch
   (its first Node status write, about its first tick: the origin of its holder read phase)
   goes into storms.json as seconds from the onset (`agent_epochs_s`). Where the slot Leases
   stand at the onset is reported too (none exist before the first spike of a spike-only
   run, a tenth of them, free, after the restarts of a full run), and which nodes were in
   pressure before (those have read N);
5. the spike again (spike_again), once every slot of the first is released and 61 s more
   have passed: now every slot Lease exists and is free, as at any spike after the first.

Only some scenarios: `--scenarios spike,spike_again` (the start-up storm always runs: it is
how the fleet comes up; the other scenarios in the order above). A spike-only run takes
about 6 minutes per N. After the tables, when a spike ran, bench/onset_model.py puts its
figures for the same fleets next to the measured ones and models 5,000 nodes (about a
minute more).

Per-node figures at each N show whether the cost is linear in N; the 5,000-node line
multiplies the per-node figure of the largest N (steady state; the spike's 5,000-node
figures come from bench/onset_model.py, which these figures validate). Where the fake's
own CPU is near a whole core, the fake (single Python process), not the agents, set the
figure: the table says so, and how much CPU other processes of the machine took.
"""
import argparse
import collections
import json
import math
import os
import resource
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests/e2e"))
sys.path.insert(0, str(REPO / "bench"))
from fleet_harness import (DAEMONSET, LEASES, SLOT_SELECTOR, Fleet, classify, guard_kind,  # noqa: E402
                           guard_summary, holder_in, is_guard_request)
from harness import kill_all  # noqa: E402
from node_view import is_watch  # noqa: E402
from onset_model import busiest_window  # noqa: E402

INTERVAL = 5.0
PERCENT = 30
LEASE = 120
DOWN_SECONDS = 10
SPIKE_MIN_SECONDS = 90  # product.md: every slot held within 90 s of the onset
SPIKE_MARGIN = 30
SPIKE_LIMIT = 300  # the longest the spike is watched for K slots held
IDLE_READS = 61  # no DaemonSet read for longer than this: every writer reads N first (60 s)
BACK_WITHIN = 120
PROJECTED = 5000
BUSY, IDLE = 95, 0
TICKS = os.sysconf("SC_CLK_TCK")


def raise_open_files() -> None:
    """Every agent holds a watch and a write connection to the fake: 2 × 200 descriptors
    and more; the fake (a child) inherits the raised limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class ProcessSampler:
    """Every 0.5 s: the CPU ticks of every agent, of the fake and of the whole machine, and
    each agent's RSS and anonymous memory, from /proc (bounded: at most `limit` seconds)."""

    def __init__(self, fleet: Fleet, period: float = 0.5, limit: float = 3600):
        self.fleet, self.period, self.limit = fleet, period, limit
        # (time, agents' CPU s, fake's CPU s, the machine's busy CPU s)
        self.samples: list[tuple[float, float, float, float]] = []
        self.peak_rss_kib = self.peak_anon_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _cpu_seconds(pid: int) -> float:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, IndexError, ValueError):
            return 0.0

    @staticmethod
    def _machine_busy_seconds() -> float:
        """All CPUs' busy time (user, nice, system, irq, softirq, steal) from /proc/stat."""
        try:
            fields = [int(f) for f in open("/proc/stat").readline().split()[1:9]]
            return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / TICKS
        except (OSError, ValueError, IndexError):
            return 0.0

    def _memory(self, pid: int) -> None:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    self.peak_rss_kib = max(self.peak_rss_kib, int(line.split()[1]))
                elif line.startswith("RssAnon:"):
                    self.peak_anon_kib = max(self.peak_anon_kib, int(line.split()[1]))
        except OSError:
            pass

    def _run(self):
        deadline = time.monotonic() + self.limit
        while not self._stop.is_set() and time.monotonic() < deadline:
            pids = [a.process.pid for a in list(self.fleet.agents.values())]
            agents = sum(self._cpu_seconds(pid) for pid in pids)
            for pid in pids:
                self._memory(pid)
            self.samples.append((time.time(), agents, self._cpu_seconds(self.fleet.fake.process.pid),
                                 self._machine_busy_seconds()))
            self._stop.wait(self.period)

    def peak_cores(self, since: float, until: float, which: int) -> float:
        """The most CPU, in cores, over any 1 s between samples in the window; `which` 1 for
        the agents, 2 for the fake, 3 for the whole machine."""
        inside = [s for s in self.samples if since <= s[0] <= until]
        peak = 0.0
        for i, (at, *_) in enumerate(inside):
            later = next((s for s in inside[i + 1:] if s[0] - at >= 1.0), None)
            if later:
                peak = max(peak, (later[which] - inside[i][which]) / (later[0] - at))
        return peak

    def mean_cores(self, since: float, until: float, which: int) -> float:
        inside = [s for s in self.samples if since <= s[0] <= until]
        if len(inside) < 2:
            return 0.0
        return (inside[-1][which] - inside[0][which]) / (inside[-1][0] - inside[0][0])

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


def per_second(times: list[float], since: float, until: float) -> list[int]:
    counts = [0] * max(1, math.ceil(until - since))
    for t in times:
        if since <= t < until:
            counts[int(t - since)] += 1
    return counts


def p99(counts: list[int]) -> int:
    ordered = sorted(counts)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


def node_of_watch(entry: dict) -> str | None:
    selector = entry["params"].get("fieldSelector") or ""
    return selector.split("=", 1)[1] if is_watch(entry) and selector.startswith("metadata.name=") else None


def is_node_read(entry: dict) -> bool:
    """A GET of one Node, or the LIST by name a watch starts (or restarts after a 410) from."""
    if entry["method"] != "GET" or is_watch(entry):
        return False
    path = entry["path"]
    return ((path.startswith("/api/v1/nodes/") and path.count("/") == 4)
            or (path == "/api/v1/nodes" and (entry["params"].get("fieldSelector") or "").startswith("metadata.name=")))


def verb(entry: dict) -> str:
    if is_watch(entry):
        return "WATCH nodes"
    path = entry["path"]
    if is_guard_request(entry):
        return f"{entry['method']} {'daemonsets' if '/daemonsets' in path else 'leases'}"
    resource_name = "events" if "/events" in path else "nodes/status" if path.endswith("/status") else "nodes"
    return f"{entry['method']} {resource_name}"


def agent_requests(fleet: Fleet) -> list[dict]:
    return [r for r in fleet.requests() if (r.get("user_agent") or "").startswith("autotaint/")]


def wait(predicate, timeout: float, what: str, poll: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(poll)
    raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


# -- the scenarios ---------------------------------------------------------------------------

def startup(fleet: Fleet, sampler: ProcessSampler, launched: float) -> dict:
    """Called once the harness has launched every agent; `launched`: when the last one was."""
    started = fleet.started_at
    ready_at: dict[str, float] = {}

    def all_ready():
        for node, port in fleet.ports.items():
            if node not in ready_at and ready(port):
                ready_at[node] = time.time()
        return len(ready_at) == len(fleet.nodes)
    wait(all_ready, 120, "every agent's /readyz", poll=0.2)
    fleet.check_alive()  # a /readyz answered by another process's server is not this agent's
    settled = max(ready_at.values()) + 2 * INTERVAL  # the first ticks' writes, jittered over one interval
    time.sleep(max(0.0, settled - time.time()))
    requests = agent_requests(fleet)
    counts = per_second([r["time"] for r in requests], started, settled)
    return {
        "launch_spread_s": round(launched - started, 2),
        "requests": len([r for r in requests if started <= r["time"] < settled]),
        "peak_requests_per_1s": max(counts), "p99_requests_per_1s": p99(counts),
        "all_ready_after_s": round(max(ready_at.values()) - started, 1),
        "agents_peak_cpu_cores": round(sampler.peak_cores(started, settled, 1), 2),
        "agent_peak_rss_mib": round(sampler.peak_rss_kib / 1024, 1),
        "agent_peak_anon_mib": round(sampler.peak_anon_kib / 1024, 1),
        "fake_peak_cpu_cores": round(sampler.peak_cores(started, settled, 2), 2),
    }


def steady(fleet: Fleet, sampler: ProcessSampler, seconds: float) -> dict:
    begin = time.time()
    time.sleep(seconds)
    end = time.time()
    window = [r for r in agent_requests(fleet) if begin <= r["time"] < end]
    n = len(fleet.nodes)
    by_verb = collections.Counter(verb(r) for r in window)
    total_bytes = sum((r.get("request_bytes") or 0) + (r.get("response_bytes") or 0) for r in window)
    return {
        "seconds": round(end - begin),
        "requests_per_s": round(len(window) / (end - begin), 3),
        "requests_per_node_per_s": round(len(window) / (end - begin) / n, 5),
        "bytes_per_s": round(total_bytes / (end - begin)),
        "bytes_per_node_per_s": round(total_bytes / (end - begin) / n, 1),
        "by_verb_per_node_per_s": {k: round(v / (end - begin) / n, 5) for k, v in sorted(by_verb.items())},
        "agents_cpu_cores": round(sampler.mean_cores(begin, end, 1), 4),
        "agent_cpu_percent_of_a_core": round(100 * sampler.mean_cores(begin, end, 1) / n, 4),
        "fake_cpu_cores": round(sampler.mean_cores(begin, end, 2), 3),
    }


def been_in_pressure(fleet: Fleet) -> set:
    """The nodes this bench has put in pressure so far: their agents have read N."""
    if not hasattr(fleet, "storms_in_pressure"):
        fleet.storms_in_pressure = set()
    return fleet.storms_in_pressure


def restart(fleet: Fleet, sampler: ProcessSampler, compact: bool) -> dict:
    entering = fleet.nodes[: max(1, len(fleet.nodes) // 10)]
    been_in_pressure(fleet).update(entering)
    down_at = time.time()
    fleet.admin("POST", "/down", {"seconds": DOWN_SECONDS, "mode": "refuse"})
    fleet.set_all(BUSY, entering)
    if compact:
        # A write no agent sees moves the resourceVersion past every agent's, then the
        # history goes: every resumed watch is from a compacted resourceVersion.
        fleet.admin("POST", "/nodes", {"name": f"storm-bump-{int(down_at)}"})
        fleet.admin("POST", "/compact")
    time.sleep(max(0.0, down_at + DOWN_SECONDS - time.time()))
    up_at = down_at + DOWN_SECONDS

    missing: set[str] = set()

    def back():
        requests = agent_requests(fleet)
        open_after = {node_of_watch(r) for r in requests if r["time"] >= up_at and r["duration"] is None}
        missing.clear()
        missing.update(set(fleet.nodes) - open_after)
        return not missing and requests
    try:
        wait(back, BACK_WITHIN, "every watch open again after the restart")
    except RuntimeError as error:
        last = {}
        for r in agent_requests(fleet):
            if node_of_watch(r) in missing:
                last[node_of_watch(r)] = r
        detail = "; ".join(f"{n}: last watch at +{last[n]['time'] - up_at:.1f} s, status {last[n]['status']}, "
                           f"duration {last[n]['duration']}" if n in last else f"{n}: no watch"
                           for n in sorted(missing))
        raise RuntimeError(f"{error}: {len(missing)} of {len(fleet.nodes)} not back ({detail})") from None
    back_at = time.time()

    def written():
        nodes = {n["metadata"]["name"]: n for n in fleet.all_nodes()}
        return all(classify(nodes[n]["spec"].get("taints")) for n in entering) and nodes
    lost = 0
    try:
        wait(written, 60, "the outage's writes")
    except RuntimeError:
        nodes = {n["metadata"]["name"]: n for n in fleet.all_nodes()}
        lost = sum(1 for n in entering if not classify(nodes[n]["spec"].get("taints")))
    requests = agent_requests(fleet)
    after = [r for r in requests if r["time"] >= up_at]
    rewatches = [r["time"] for r in after if is_watch(r)]
    gets = [r["time"] for r in after if is_node_read(r)]
    first_rewatch = {}
    for r in after:
        node = node_of_watch(r)
        if node and node not in first_rewatch:
            first_rewatch[node] = r["time"]
    fleet.set_all(IDLE, entering)
    wait(lambda: fleet.tainted_now() == (frozenset(), frozenset()), 120, "every taint gone after the restart")
    until = back_at + 1
    return {
        "history_compacted": compact,
        "every_watch_back_after_s": round(max(first_rewatch.values()) - up_at, 1),
        "peak_rewatches_per_1s": max(per_second(rewatches, up_at, until)),
        "peak_node_gets_per_1s": max(per_second(gets, up_at, until)),
        "node_gets": len([t for t in gets if t < until]),
        "peak_requests_per_1s": max(per_second([r["time"] for r in after], up_at, until)),
        "writes_lost": lost,
        "fake_peak_cpu_cores": round(sampler.peak_cores(up_at, until, 2), 2),
        "agents_peak_cpu_cores": round(sampler.peak_cores(up_at, until, 1), 2),
    }


def onset_window(n: int) -> float:
    """FleetSlots.onsetWindow: a node entering pressure spreads its first slot attempt over
    N × 50 ms (at most 30 min)."""
    return min(n * 0.05, 1800.0)


def spike_seconds(n: int) -> float:
    """How long a spike is watched at least: every first attempt (the onset window, plus the
    tick that notices the load and the tick that makes the attempt) and product.md's 90 s to
    K, whichever is later, plus a margin."""
    return max(SPIKE_MIN_SECONDS, onset_window(n) + 30) + SPIKE_MARGIN


def slot_leases(fleet: Fleet) -> dict[int, dict]:
    """The fleet's slot Leases now, by index: holder and `autotaint.dev/slot-state` label."""
    status, listed = fleet.api("GET", f"{LEASES}?labelSelector={urllib.parse.quote(SLOT_SELECTOR)}")
    assert status == 200, (status, listed)
    slots = {}
    for item in listed["items"]:
        index = slot_index(item["metadata"]["name"])
        if index is not None:
            slots[index] = {"holder": (item.get("spec") or {}).get("holderIdentity") or "",
                            "state": (item["metadata"].get("labels") or {}).get("autotaint.dev/slot-state")}
    return slots


def slot_index(name: str) -> int | None:
    """i of `autotaint-slot-<i>` (the fleet's slots; the harness runs one DaemonSet)."""
    prefix = f"{DAEMONSET}-slot-"
    digits = name[len(prefix):] if name.startswith(prefix) else ""
    return int(digits) if digits.isdigit() else None


def held_over_time(history: list[dict], slots: int) -> list[tuple[float, int]]:
    """The fake's Lease holder history (every committed change of a Lease's holder, renewals
    left out) replayed for the fleet's slots below K: (time, how many held after it)."""
    held: dict[int, str] = {}
    counts = []
    for entry in sorted(history, key=lambda e: e["seq"]):
        index = slot_index(entry["name"])
        if index is None or index >= slots:
            continue
        if entry["type"] == "DELETED" or not entry.get("holder"):
            held.pop(index, None)
        else:
            held[index] = entry["holder"]
        counts.append((entry["time"], len(held)))
    return counts


def first_at_least(counts, count: int, since: float) -> float | None:
    return next((at for at, held in counts if at >= since and held >= count), None)


def lease_name(entry: dict) -> str | None:
    """The slot Lease a logged guard request is about: the path's last segment, or a POST's
    body's name; None for a LIST or a DaemonSet read."""
    path = entry["path"]
    if "/daemonsets" in path:
        return None
    if not path.endswith("/leases"):
        return path.rsplit("/", 1)[1]
    if entry["method"] == "POST":
        try:
            return (json.loads(entry.get("body") or "{}").get("metadata") or {}).get("name")
        except (ValueError, AttributeError):
            return None
    return None


def is_prepare(entry: dict) -> bool:
    """A create of a slot Lease with no holder, labelled free (SlotPolicy's `prepare`: the
    next slot, made by a node that just created its own)."""
    if entry["method"] != "POST" or not entry["path"].endswith("/leases") or "/daemonsets" in entry["path"]:
        return False
    try:
        labels = ((json.loads(entry.get("body") or "{}").get("metadata") or {}).get("labels") or {})
    except (ValueError, AttributeError):
        labels = {}
    return labels.get("autotaint.dev/slot-state") == "free" or holder_in(entry) == ""


def split_prepares(by_kind: dict, requests: list[dict], since: float, until: float) -> tuple[dict, dict]:
    """`by_kind` (guard_summary's, where a prepare counts as a create) with the prepares in
    [since, until) moved to their own kind; and the prepares' statuses."""
    statuses = collections.Counter(str(r.get("status")) for r in requests
                                   if is_guard_request(r) and since <= r["time"] < until and is_prepare(r))
    kinds = dict(by_kind)
    count = sum(statuses.values())
    if count:
        kinds["create"] = kinds.get("create", 0) - count
        if kinds["create"] <= 0:
            kinds.pop("create")
        kinds["prepare"] = count
    return dict(sorted(kinds.items())), dict(statuses)


def agent_epochs(requests: list[dict], nodes: list[str]) -> dict[str, float]:
    """Each agent's first PATCH of its Node's status (the first tick's reconcile, right after
    the guard's policy was first asked: its epoch), as logged by the fake."""
    first: dict[str, float] = {}
    for r in requests:
        path = r["path"]
        if r["method"] == "PATCH" and path.startswith("/api/v1/nodes/") and path.endswith("/status"):
            node = path.split("/")[4]
            if node not in first or r["time"] < first[node]:
                first[node] = r["time"]
    return {node: first[node] for node in nodes if node in first}


def series_and_gaps(requests: list[dict], begin: float, end: float) -> tuple[dict, dict]:
    """The guard's requests in [begin, end) per second from `begin`, by kind; and the gaps
    from a probe of a slot to the next create or take of it (within 2 s), in ms: what a
    round trip took for the agents while they raced (a take after a probe has an N read in
    between when N is over a minute old: two round trips)."""
    seconds = max(1, math.ceil(end - begin))
    series: dict[str, list[int]] = {}
    gaps: dict[str, list[float]] = {"create": [], "take": []}
    holders: dict = {}
    last_probe: dict[str, float] = {}
    for entry in sorted((r for r in requests if is_guard_request(r)), key=lambda r: r["time"]):
        kind = guard_kind(entry, holders)
        if not begin <= entry["time"] < end:
            continue
        if kind == "create" and is_prepare(entry):
            kind = "prepare"
        series.setdefault(kind, [0] * seconds)[int(entry["time"] - begin)] += 1
        name = lease_name(entry)
        if kind == "probe" and name:
            last_probe[name] = entry["time"]
        elif kind in gaps and name in last_probe and entry["time"] - last_probe[name] < 2.0:
            gaps[kind].append(1000 * (entry["time"] - last_probe[name]))
    figures = {}
    for kind, values in gaps.items():
        if values:
            values.sort()
            figures[f"probe_to_{kind}_ms_median"] = round(values[len(values) // 2], 1)
            figures[f"probe_to_{kind}_ms_p90"] = round(values[min(len(values) - 1, math.ceil(0.9 * len(values)) - 1)], 1)
            figures[f"probe_to_{kind}_count"] = len(values)
    return series, figures


def wait_reads_idle(fleet: Fleet) -> float:
    """Until no agent has read its DaemonSet for IDLE_READS s (bounded), so that every writer
    of the spike reads N first, as at a spike after a long idle time. Returns the wait."""
    began = time.time()
    deadline = began + IDLE_READS + 60
    while True:
        reads = [r["time"] for r in agent_requests(fleet) if "/daemonsets" in r["path"]]
        due = (max(reads) if reads else 0.0) + IDLE_READS
        if time.time() >= due or time.time() >= deadline:
            return round(time.time() - began, 1)
        time.sleep(min(5.0, max(0.2, due - time.time())))


def spike(fleet: Fleet, sampler: ProcessSampler) -> dict:
    """Every node into pressure at once; watched for `spike_seconds` and longer, up to
    SPIKE_LIMIT s, until K slots are held; then every node out of pressure again, until
    every taint is gone and every slot released."""
    n, k = len(fleet.nodes), fleet.K
    knowing = sorted(been_in_pressure(fleet))
    idle_wait = wait_reads_idle(fleet)
    before = slot_leases(fleet)
    window = spike_seconds(n)
    load_before = os.getloadavg()[0]
    begin = time.time()  # the onset: the moment the load was set
    fleet.set_all(BUSY)
    been_in_pressure(fleet).update(fleet.nodes)
    time.sleep(max(0.0, begin + window - time.time()))
    end = begin + window
    history = fleet.admin("GET", "/lease-history")
    k_at = first_at_least(held_over_time(history, k), k, begin)
    while k_at is None and time.time() < begin + SPIKE_LIMIT:
        time.sleep(2)
        history = fleet.admin("GET", "/lease-history")
        k_at = first_at_least(held_over_time(history, k), k, begin)
    watched_until = time.time()
    counts = held_over_time(history, k)
    requests = agent_requests(fleet)
    guard = [r for r in requests if is_guard_request(r) and begin <= r["time"] < end]
    summary = guard_summary(requests, begin, end)  # the holders followed from the log's start
    times = [r["time"] for r in guard]
    busiest, busiest_start = busiest_window(sorted(times))
    busiest_kinds = split_prepares(guard_summary(requests, busiest_start, busiest_start + 1)["by_kind"], requests,
                                   busiest_start, busiest_start + 1)[0] if busiest_start else {}
    by_kind, prepares = split_prepares(summary["by_kind"], requests, begin, end)
    epochs = agent_epochs(requests, fleet.nodes)
    timeline = fleet.timeline()
    worst, _, _ = timeline.max_hard(begin, watched_until)
    steps = [(at, hard, soft) for at, hard, soft in timeline.window(begin, watched_until)]
    first_hard = next((at for at, hard, _ in steps if hard), None)
    k_hard = next((at for at, hard, _ in steps if len(hard) >= k), None)
    all_in = next((at for at, hard, soft in steps if len(hard | soft) >= n), None)
    hard, soft = fleet.tainted_now()
    durations = sorted(r["duration"] for r in guard if r.get("duration") is not None)
    series, gaps = series_and_gaps(requests, begin, end)
    fleet.set_all(IDLE)
    wait(lambda: fleet.tainted_now() == (frozenset(), frozenset())
         and not any(s["holder"] for s in slot_leases(fleet).values()),
         120, "every taint gone and every slot released after the spike", poll=1.0)

    def after(at: float | None):
        return round(at - begin, 1) if at is not None else f"> {watched_until - begin:.0f}"
    machine = sampler.mean_cores(begin, end, 3)
    seconds = end - begin
    return {
        "K": k, "N": n, "onset_window_s": onset_window(n), "window_s": round(seconds),
        "idle_wait_s": idle_wait, "load_average_before": round(load_before, 2),
        "slots_at_onset": f"{sum(1 for s in before.values() if not s['holder'] and s['state'] == 'free')}"
                          f" / {len(before)}",
        "free_slots_at_onset": sorted(i for i, s in before.items() if not s["holder"] and s["state"] == "free"),
        "existing_slots_at_onset": sorted(before),
        "nodes_that_read_n_before": knowing,
        "agent_epochs_s": {node: round(at - begin, 3) for node, at in epochs.items()},
        "max_hard_tainted": worst, "hard_at_end": len(hard), "soft_at_end": len(soft),
        "guard_requests": len(guard), "guard_requests_per_s": round(len(guard) / seconds, 2),
        "guard_requests_per_node_per_s": round(len(guard) / seconds / n, 4),
        "peak_guard_requests_per_1s": max(per_second(times, begin, end)),
        "busiest_1s": busiest, "busiest_1s_per_node": round(busiest / n, 3),
        "busiest_1s_at_s": round(busiest_start - begin, 1) if busiest_start else None,
        "busiest_1s_by_kind": busiest_kinds,
        "by_kind": by_kind, "by_verb": summary["by_verb"],
        "by_kind_per_s": {kind: round(count / seconds, 3) for kind, count in by_kind.items()},
        "conflicts_409": summary["by_status"].get("409", 0),
        "prepares": sum(prepares.values()), "prepare_409": prepares.get("409", 0),
        "all_in_pressure_after_s": after(all_in),
        "first_slot_after_s": after(first_at_least(counts, 1, begin)),
        "first_hard_after_s": after(first_hard),
        "K_slots_after_s": after(k_at),
        "K_hard_after_s": after(k_hard),
        "guard_request_ms_median": round(1000 * durations[len(durations) // 2], 1) if durations else None,
        **gaps,
        "per_second_by_kind": series,
        "fake_peak_cpu_cores": round(sampler.peak_cores(begin, end, 2), 2),
        "fake_cpu_cores": round(sampler.mean_cores(begin, end, 2), 2),
        "agents_cpu_cores": round(sampler.mean_cores(begin, end, 1), 2),
        "other_cpu_cores": round(max(0.0, machine - sampler.mean_cores(begin, end, 1)
                                     - sampler.mean_cores(begin, end, 2)), 2),
    }


SCENARIOS = ("steady", "restart", "restart_410", "spike", "spike_again")


def binary_identity(binary: str) -> dict:
    """Which agent was measured: its path, size, modification time and SHA-256."""
    import hashlib
    digest = hashlib.sha256(Path(binary).read_bytes()).hexdigest()
    stat = os.stat(binary)
    return {"path": binary, "bytes": stat.st_size, "sha256": digest,
            "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stat.st_mtime))}


def run_size(binary: str, work: Path, n: int, steady_seconds: float, scenarios=SCENARIOS) -> dict:
    os.environ["AUTOTAINT_BIN"] = binary  # agent_process.binary()
    fleet = Fleet(work / f"n{n}", n, percent=PERCENT, lease_seconds=LEASE, interval=INTERVAL, servers=True)
    launched = time.time()
    sampler = ProcessSampler(fleet)
    try:
        result = {"N": n, "binary": binary_identity(binary), "startup": startup(fleet, sampler, launched)}
        if "steady" in scenarios:
            result["steady"] = steady(fleet, sampler, steady_seconds)
        if "restart" in scenarios:
            result["restart"] = restart(fleet, sampler, compact=False)
        if "restart_410" in scenarios:
            result["restart_410"] = restart(fleet, sampler, compact=True)
        if "spike" in scenarios:
            result["spike"] = spike(fleet, sampler)
        if "spike_again" in scenarios:
            result["spike_again"] = spike(fleet, sampler)
        fleet.check_alive()
        return result
    finally:
        sampler.stop()
        fleet.stop()


# -- the tables --------------------------------------------------------------------------------

def table(title: str, results: list[dict], part: str, rows: list[tuple[str, str]]) -> str:
    head = f"{title}\n  {'':44}" + "".join(f"{'N = ' + str(r['N']):>14}" for r in results)
    lines = [head]
    for label, key in rows:
        lines.append(f"  {label:44}" + "".join(f"{format_value((r.get(part) or {}).get(key)):>14}" for r in results))
    return "\n".join(lines)


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


SPIKE_ROWS = [
    ("K", "K"), ("slot Leases at the onset, free / existing", "slots_at_onset"),
    ("most hard-tainted at once", "max_hard_tainted"), ("hard-tainted at the end", "hard_at_end"),
    ("window watched from the onset, s", "window_s"),
    ("guard requests/s", "guard_requests_per_s"), ("guard requests/s per node", "guard_requests_per_node_per_s"),
    ("peak guard requests in 1 s", "peak_guard_requests_per_1s"),
    ("busiest 1 s (sliding), guard requests", "busiest_1s"), ("busiest 1 s per node", "busiest_1s_per_node"),
    ("busiest 1 s began after the onset, s", "busiest_1s_at_s"),
    ("409 conflicts", "conflicts_409"), ("prepares (creates of a free slot)", "prepares"),
    ("  their 409s", "prepare_409"),
    ("every node in pressure after, s", "all_in_pressure_after_s"),
    ("first slot held after, s", "first_slot_after_s"), ("first hard taint after, s", "first_hard_after_s"),
    ("K slots held after, s", "K_slots_after_s"), ("K Nodes hard-tainted after, s", "K_hard_after_s"),
    ("guard request at the fake, median ms", "guard_request_ms_median"),
    ("probe to create, median ms", "probe_to_create_ms_median"), ("probe to take, median ms", "probe_to_take_ms_median"),
    ("fake's peak CPU, cores", "fake_peak_cpu_cores"), ("fake's mean CPU, cores", "fake_cpu_cores"),
    ("agents' mean CPU, cores", "agents_cpu_cores"), ("other processes' mean CPU, cores", "other_cpu_cores")]
GUARD_KINDS = ("daemonset", "probe", "list", "create", "prepare", "take", "renew", "release", "other")


def report(results: list[dict]) -> str:
    """The tables of the scenarios run (a scenario not run at some N shows `None` there)."""
    def ran(part: str) -> bool:
        return any(part in r for r in results)

    def at(r: dict, part: str) -> dict:
        return r.get(part) or {}
    out = [
        table("1. start-up storm (all N launched at once)", results, "startup", [
            ("launch spread, s", "launch_spread_s"), ("requests until settled", "requests"),
            ("peak requests in 1 s", "peak_requests_per_1s"), ("p99 requests in 1 s", "p99_requests_per_1s"),
            ("every /readyz 200 after, s", "all_ready_after_s"), ("agents' peak CPU, cores", "agents_peak_cpu_cores"),
            ("one agent's peak RSS, MiB", "agent_peak_rss_mib"), ("one agent's peak anonymous, MiB", "agent_peak_anon_mib"),
            ("fake API server's peak CPU, cores", "fake_peak_cpu_cores")]),
    ]
    if ran("steady"):
        out.append(table("2. steady state (interval 5 s)", results, "steady", [
            ("window, s", "seconds"), ("requests/s", "requests_per_s"), ("requests/s per node", "requests_per_node_per_s"),
            ("bytes/s", "bytes_per_s"), ("bytes/s per node", "bytes_per_node_per_s"),
            ("agents' CPU, cores", "agents_cpu_cores"), ("per agent, % of a core", "agent_cpu_percent_of_a_core"),
            ("fake API server's CPU, cores", "fake_cpu_cores")]))
        verbs = sorted({v for r in results for v in at(r, "steady").get("by_verb_per_node_per_s", {})})
        out.append("  by verb, per node per s:\n" + "\n".join(
            f"    {v:42}" + "".join(f"{at(r, 'steady').get('by_verb_per_node_per_s', {}).get(v, 0):>14g}"
                                  for r in results)
            for v in verbs))
    for part, title in (("restart", "3a. API server restart, 10 s, watches dropped"),
                        ("restart_410", "3b. the same with the history compacted (resumed watches get 410)")):
        if ran(part):
            out.append(table(title, results, part, [
                ("every watch back after, s", "every_watch_back_after_s"),
                ("peak re-watches in 1 s", "peak_rewatches_per_1s"),
                ("peak Node reads (GET, LIST) in 1 s", "peak_node_gets_per_1s"), ("Node reads", "node_gets"),
                ("peak requests in 1 s", "peak_requests_per_1s"), ("writes lost", "writes_lost"),
                ("agents' peak CPU, cores", "agents_peak_cpu_cores"), ("fake's peak CPU, cores", "fake_peak_cpu_cores")]))
    for part, title in (("spike", f"4. cluster-wide spike, fleet guard at {PERCENT} %"),
                        ("spike_again", "5. the spike again, every slot Lease existing and free")):
        if not ran(part):
            continue
        out.append(table(title, results, part, SPIKE_ROWS))
        kinds = [kind for kind in GUARD_KINDS if any(kind in at(r, part).get("by_kind_per_s", {}) for r in results)]
        out.append("  by kind, guard requests/s over the window (in the busiest 1 s):\n" + "\n".join(
            f"    {kind:42}" + "".join(
                f"{format_value(at(r, part).get('by_kind_per_s', {}).get(kind, 0)) + ' (' + str(at(r, part).get('busiest_1s_by_kind', {}).get(kind, 0)) + ')':>14}"
                for r in results)
            for kind in kinds))
    if ran("steady"):
        steady_results = [r for r in results if "steady" in r]
        per_node = [r["steady"]["requests_per_node_per_s"] for r in steady_results]
        if max(per_node) == 0:
            linearity = "none at any N: linear in N"
        elif min(per_node) == 0:
            linearity = "none at some N only: the window is too short to judge"
        else:
            spread = max(per_node) / min(per_node)
            linearity = f"largest/smallest {spread:.2f}: {'linear in N' if spread <= 1.25 else 'NOT linear in N'}"
        largest = steady_results[-1]
        out.append(
            f"steady requests/s per node at N = {', '.join(str(r['N']) for r in steady_results)}: "
            f"{', '.join(f'{v:g}' for v in per_node)} ({linearity})\n"
            f"5,000 nodes (per node at N = {largest['N']} × 5,000): "
            f"{largest['steady']['requests_per_node_per_s'] * PROJECTED:.1f} requests/s, "
            f"{largest['steady']['bytes_per_node_per_s'] * PROJECTED / 1e6:.3f} MB/s in steady state")
    busy_fake = [r["N"] for r in results if r["startup"]["fake_peak_cpu_cores"] >= 0.8]
    if busy_fake:
        out.append(f"the fake API server was near a whole core at start-up for N = {busy_fake}: there it, "
                   "not the agents, set the start-up figures")
    for part in ("spike", "spike_again"):
        busy = [r["N"] for r in results if at(r, part).get("fake_peak_cpu_cores", 0) >= 0.8]
        if busy:
            out.append(f"the fake API server was near a whole core in the {part.replace('_', ' ')} for N = {busy}: "
                       "there it, not the agents, may have set the busiest second and the times")
        crowded = [r["N"] for r in results if at(r, part).get("other_cpu_cores", 0) >= 0.3]
        if crowded:
            out.append(f"other processes used 0.3 cores or more of the machine in the {part.replace('_', ' ')} "
                       f"for N = {crowded} (see the table)")
    return "\n\n".join(out)


def modelled(out: str, trials: int = 10) -> str:
    """bench/onset_model.py for the spikes just measured: its figures next to the measured
    ones at these N, then 5,000 nodes (every initial state), `trials` onsets each."""
    import onset_model
    validated = onset_model.validation(Path(out), trials, seed=1)
    projected, _ = onset_model.projection([5000], trials, 0.005, seed=1)
    return f"{validated}\n{projected}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--sizes", default="50,100,200")
    parser.add_argument("--steady-seconds", type=float, default=600)
    parser.add_argument("--out", default=str(REPO / "bench/storms.json"))
    parser.add_argument("--work", default=None)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="which to run, in their order, of " + ", ".join(SCENARIOS)
                        + " (the start-up storm always runs); default all")
    args = parser.parse_args()
    scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip() and name.strip() != "startup"]
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    raise_open_files()
    import tempfile
    work = Path(args.work or tempfile.mkdtemp(prefix="autotaint-storms-"))
    results = []
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            print(f"storms: N = {n} ...", flush=True)
            results.append(run_size(os.path.abspath(args.binary), work, n, args.steady_seconds, scenarios))
            Path(args.out).write_text(json.dumps(results, indent=2))
    finally:
        kill_all()
    print(report(results))
    if any("spike" in r or "spike_again" in r for r in results):
        print("\nthe onset model (bench/onset_model.py) against these spikes, then at 5,000 nodes:\n")
        print(modelled(args.out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
