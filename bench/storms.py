#!/usr/bin/env python3
"""`make bench-scale`: N real agents at one API server through the storms that hurt API
servers, for N = 50, 100 and 200. Part of `make bench`, not of `make test`.

usage: storms.py BINARY [--sizes 50,100,200] [--steady-seconds 600] [--out bench/storms.json]

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
4. cluster-wide spike: every node enters pressure in the same second: guard requests/s
   over the next 60 s, their peak in 1 s, and the most hard-tainted Nodes at once (the
   fake's taint history replayed) against K.

Per-node figures at each N show whether the cost is linear in N; the 5,000-node line
multiplies the per-node figure of the largest N. Where the fake's own CPU is near a whole
core, the fake (single Python process), not the agents, set the figure: the table says so.
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
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests/e2e"))
sys.path.insert(0, str(REPO / "bench"))
from fleet_harness import Fleet, classify, guard_summary, is_guard_request  # noqa: E402
from harness import kill_all  # noqa: E402
from node_view import is_watch  # noqa: E402

INTERVAL = 5.0
PERCENT = 30
LEASE = 120
DOWN_SECONDS = 10
SPIKE_SECONDS = 60
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
    """Every 0.5 s: the CPU ticks of every agent and of the fake, and each agent's RSS and
    anonymous memory, from /proc (bounded: at most `limit` seconds)."""

    def __init__(self, fleet: Fleet, period: float = 0.5, limit: float = 1800):
        self.fleet, self.period, self.limit = fleet, period, limit
        self.samples: list[tuple[float, float, float]] = []  # (time, agents' CPU s, fake's CPU s)
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
            self.samples.append((time.time(), agents, self._cpu_seconds(self.fleet.fake.process.pid)))
            self._stop.wait(self.period)

    def peak_cores(self, since: float, until: float, which: int) -> float:
        """The most CPU, in cores, over any 1 s between samples in the window; `which` 1 for
        the agents, 2 for the fake."""
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


def restart(fleet: Fleet, sampler: ProcessSampler, compact: bool) -> dict:
    entering = fleet.nodes[: max(1, len(fleet.nodes) // 10)]
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


def spike(fleet: Fleet, sampler: ProcessSampler) -> dict:
    begin = time.time()
    fleet.set_all(BUSY)
    time.sleep(SPIKE_SECONDS)
    end = time.time()
    guard = [r for r in agent_requests(fleet) if is_guard_request(r) and begin <= r["time"] < end]
    summary = guard_summary(guard)
    worst, _, _ = fleet.timeline().max_hard(begin, end)
    hard, soft = fleet.tainted_now()
    fleet.set_all(IDLE)
    return {
        "K": fleet.K, "max_hard_tainted": worst, "hard_at_end": len(hard), "soft_at_end": len(soft),
        "guard_requests": len(guard), "guard_requests_per_s": round(len(guard) / (end - begin), 2),
        "peak_guard_requests_per_1s": max(per_second([r["time"] for r in guard], begin, end)),
        "conflicts_409": summary["by_status"].get("409", 0),
        "fake_peak_cpu_cores": round(sampler.peak_cores(begin, end, 2), 2),
    }


def run_size(binary: str, work: Path, n: int, steady_seconds: float) -> dict:
    os.environ["AUTOTAINT_BIN"] = binary  # agent_process.binary()
    fleet = Fleet(work / f"n{n}", n, percent=PERCENT, lease_seconds=LEASE, interval=INTERVAL, servers=True)
    launched = time.time()
    sampler = ProcessSampler(fleet)
    try:
        result = {"N": n, "startup": startup(fleet, sampler, launched)}
        result["steady"] = steady(fleet, sampler, steady_seconds)
        result["restart"] = restart(fleet, sampler, compact=False)
        result["restart_410"] = restart(fleet, sampler, compact=True)
        result["spike"] = spike(fleet, sampler)
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
        lines.append(f"  {label:44}" + "".join(f"{format_value(r[part].get(key)):>14}" for r in results))
    return "\n".join(lines)


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def report(results: list[dict]) -> str:
    out = [
        table("1. start-up storm (all N launched at once)", results, "startup", [
            ("launch spread, s", "launch_spread_s"), ("requests until settled", "requests"),
            ("peak requests in 1 s", "peak_requests_per_1s"), ("p99 requests in 1 s", "p99_requests_per_1s"),
            ("every /readyz 200 after, s", "all_ready_after_s"), ("agents' peak CPU, cores", "agents_peak_cpu_cores"),
            ("one agent's peak RSS, MiB", "agent_peak_rss_mib"), ("one agent's peak anonymous, MiB", "agent_peak_anon_mib"),
            ("fake API server's peak CPU, cores", "fake_peak_cpu_cores")]),
        table("2. steady state (interval 5 s)", results, "steady", [
            ("window, s", "seconds"), ("requests/s", "requests_per_s"), ("requests/s per node", "requests_per_node_per_s"),
            ("bytes/s", "bytes_per_s"), ("bytes/s per node", "bytes_per_node_per_s"),
            ("agents' CPU, cores", "agents_cpu_cores"), ("per agent, % of a core", "agent_cpu_percent_of_a_core"),
            ("fake API server's CPU, cores", "fake_cpu_cores")]),
    ]
    verbs = sorted({v for r in results for v in r["steady"]["by_verb_per_node_per_s"]})
    out.append("  by verb, per node per s:\n" + "\n".join(
        f"    {v:42}" + "".join(f"{r['steady']['by_verb_per_node_per_s'].get(v, 0):>14g}" for r in results)
        for v in verbs))
    for part, title in (("restart", "3a. API server restart, 10 s, watches dropped"),
                        ("restart_410", "3b. the same with the history compacted (resumed watches get 410)")):
        out.append(table(title, results, part, [
            ("every watch back after, s", "every_watch_back_after_s"), ("peak re-watches in 1 s", "peak_rewatches_per_1s"),
            ("peak Node reads (GET, LIST) in 1 s", "peak_node_gets_per_1s"), ("Node reads", "node_gets"),
            ("peak requests in 1 s", "peak_requests_per_1s"), ("writes lost", "writes_lost"),
            ("agents' peak CPU, cores", "agents_peak_cpu_cores"), ("fake's peak CPU, cores", "fake_peak_cpu_cores")]))
    out.append(table(f"4. cluster-wide spike, fleet guard at {PERCENT} % ({SPIKE_SECONDS} s)", results, "spike", [
        ("K", "K"), ("most hard-tainted at once", "max_hard_tainted"), ("hard-tainted at the end", "hard_at_end"),
        ("guard requests/s", "guard_requests_per_s"), ("peak guard requests in 1 s", "peak_guard_requests_per_1s"),
        ("409 conflicts", "conflicts_409"), ("fake's peak CPU, cores", "fake_peak_cpu_cores")]))
    per_node = [r["steady"]["requests_per_node_per_s"] for r in results]
    if max(per_node) == 0:
        linearity = "none at any N: linear in N"
    elif min(per_node) == 0:
        linearity = "none at some N only: the window is too short to judge"
    else:
        spread = max(per_node) / min(per_node)
        linearity = f"largest/smallest {spread:.2f}: {'linear in N' if spread <= 1.25 else 'NOT linear in N'}"
    largest = results[-1]
    out.append(
        f"steady requests/s per node at N = {', '.join(str(r['N']) for r in results)}: "
        f"{', '.join(f'{v:g}' for v in per_node)} ({linearity})\n"
        f"5,000 nodes (per node at N = {largest['N']} × 5,000): "
        f"{largest['steady']['requests_per_node_per_s'] * PROJECTED:.1f} requests/s, "
        f"{largest['steady']['bytes_per_node_per_s'] * PROJECTED / 1e6:.3f} MB/s in steady state")
    busy_fake = [r["N"] for r in results if r["startup"]["fake_peak_cpu_cores"] >= 0.8]
    if busy_fake:
        out.append(f"the fake API server was near a whole core at start-up for N = {busy_fake}: there it, "
                   "not the agents, set the start-up figures")
    return "\n\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--sizes", default="50,100,200")
    parser.add_argument("--steady-seconds", type=float, default=600)
    parser.add_argument("--out", default=str(REPO / "bench/storms.json"))
    parser.add_argument("--work", default=None)
    args = parser.parse_args()
    raise_open_files()
    import tempfile
    work = Path(args.work or tempfile.mkdtemp(prefix="autotaint-storms-"))
    results = []
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            print(f"storms: N = {n} ...", flush=True)
            results.append(run_size(os.path.abspath(args.binary), work, n, args.steady_seconds))
            Path(args.out).write_text(json.dumps(results, indent=2))
    finally:
        kill_all()
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
