"""Many real agents against one fake API server, for the fleet guard's end-to-end tests
(test_fleet.py) and its bench (bench/fleet.py): one harness for both.

- `Fleet`: the fake API server (`python3 -m fakeapi` in its own process, bench/harness.py's
  `FakeAPI`, so its CPU and its GIL are not this process's) with Nodes node-00…node-NN, a
  `StandInPrometheus` serving each node's CPU load as the test sets it, and one real
  `autotaint run` per Node, each with its own config file and log file.
- `Timeline`: the fake's taint history (`GET /taint-history` on its admin port: every
  committed write of a Node's taints, in commit order) replayed, to tell how many Nodes
  carried a hard own taint (NoSchedule/NoExecute, key `autotaint.dev/…`) at every moment.
- `NodeSampler`: the same count from all Nodes read every 100 ms, a second check that does
  not depend on the history.
- `guard_summary`: the guard's requests (paths with `/leases` or `/daemonsets`) in the
  fake's request log, by verb, with bytes, holders' renewals told from waiters' attempts;
  `busiest_second`: the most of them in one wall-clock second.
- `LeaseTimeline`: the fake's Lease holder history (`GET /lease-history`: every committed
  change of a slot's holder) replayed: who held which slot at every moment, the releases.

The agents may belong to several DaemonSets (one per node pool: `daemonsets=`, node →
DaemonSet name, default `autotaint`); each pool has its own slots and K, and the fake's
DaemonSets report what the test sets (`Fleet.set_daemonset`), as their controller would.

Nothing here reads an agent's log except to show it when something fails. Every wait has
a deadline, every loop a bound; `Fleet.stop` kills every agent it started, also after a
failure.
"""
import collections
import json
import math
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from agent_process import REPO, Agent, clean_env
from stand_in_prometheus import QUERY, StandInPrometheus
from waiting import wait_until


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: every probe is held until all are bound, since ports
    probed one after another can repeat (two agents of one fleet were given the same one)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()

sys.path.insert(0, str(REPO / "bench"))
from harness import STARTED, FakeAPI  # noqa: E402  (bench/harness.py: the fake in a process of its own)

OWN_PREFIX = "autotaint.dev/"
HARD_EFFECTS = ("NoSchedule", "NoExecute")
NAMESPACE = "default"
DAEMONSET = "autotaint"
SLOT_SELECTOR = "autotaint.dev/role=fleet-slot"
SLOT_NAME = re.compile(r"(?P<daemonset>.+)-slot-(?P<index>[0-9]+)")
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases"
INTERVAL = 1.0  # sampling.interval of every agent here


def retry_cap(nodes: int) -> float:
    """The longest wait between two slot attempts of a waiting node, as the agent computes it
    (FleetSlots.retryCap): N × 300 ms, at least 5 s, at most 30 min."""
    return min(max(5.0, nodes * 0.3), 1800.0)


def slots_for(nodes: int, percent: float) -> int:
    """K = max(1, floor(percent × N / 100)); 0 while the guard is off."""
    return 0 if percent == 0 else max(1, int(percent * nodes // 100))


def fleet_size(daemonset: dict) -> int:
    """N as the agent computes it from its DaemonSet (issue 35): status.numberReady if > 0,
    else numberAvailable if > 0, else desiredNumberScheduled, at most desired; during a rolling
    update of the DaemonSet itself (RollingUpdate, and updatedNumberScheduled < desired or
    observedGeneration < metadata.generation) up to maxUnavailable (an int, or a percent of
    desired rounded up; default 1) of the not-ready pods count as live."""
    status, strategy = daemonset.get("status") or {}, (daemonset.get("spec") or {}).get("updateStrategy") or {}
    desired, ready = status.get("desiredNumberScheduled", 0), status.get("numberReady", 0)
    rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate" and (
        status.get("updatedNumberScheduled", 0) < desired
        or status.get("observedGeneration", 0) < daemonset["metadata"].get("generation", 0))
    if not rolling:
        return min(desired, ready or status.get("numberAvailable", 0) or desired)
    allowed = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1)
    if isinstance(allowed, str):
        allowed = math.ceil(int(allowed.rstrip("%")) * desired / 100)
    return min(desired, ready + min(allowed, desired - ready))


# How old a waiting node's N may be when it tries for a slot (issue 35), and a holder's: it
# re-reads N every 75 s, and so releases a slot >= K within 90 s of a change.
N_MAX_AGE = 60.0
HOLDER_N_MAX_AGE = 75.0


def micro_time(text: str | None) -> float:
    """Seconds since the epoch of a MicroTime (`2026-12-04T17:32:26.123456Z`); 0 for none."""
    if not text:
        return 0.0
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def classify(taints) -> str | None:
    """'hard' when the Node carries an own NoSchedule/NoExecute taint, 'soft' when only an
    own PreferNoSchedule one, None when neither."""
    own = [t for t in taints or [] if t.get("key", "").startswith(OWN_PREFIX)]
    if any(t.get("effect") in HARD_EFFECTS for t in own):
        return "hard"
    if any(t.get("effect") == "PreferNoSchedule" for t in own):
        return "soft"
    return None


def report(name: str, **figures) -> None:
    """A case's measured figures, one line in the test's output (pytest -s)."""
    print(f"\nfleet case {name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))


# -- the observer: the taint history replayed ---------------------------------------------------

class Timeline:
    """The taint history replayed: after each committed taint write, which Nodes carry a
    hard own taint and which only a PreferNoSchedule one. Nodes start with no taints."""

    def __init__(self, entries: list[dict]):
        self.entries = sorted(entries, key=lambda e: e["seq"])
        state: dict[str, str | None] = {}
        self.steps: list[tuple[float, frozenset, frozenset, dict]] = []  # (time, hard, soft, entry)
        for entry in self.entries:
            state[entry["node"]] = classify(entry.get("taints"))
            hard = frozenset(n for n, c in state.items() if c == "hard")
            soft = frozenset(n for n, c in state.items() if c == "soft")
            self.steps.append((entry["time"], hard, soft, entry))

    def at(self, moment: float) -> tuple[frozenset, frozenset]:
        """(hard Nodes, soft Nodes) at `moment`."""
        current = (frozenset(), frozenset())
        for at, hard, soft, _ in self.steps:
            if at > moment:
                break
            current = (hard, soft)
        return current

    def window(self, since: float, until: float = float("inf")):
        """The states in force during [since, until]: the one at `since`, then each change."""
        hard, soft = self.at(since)
        yield since, hard, soft
        for at, hard, soft, _ in self.steps:
            if since < at <= until:
                yield at, hard, soft

    def max_hard(self, since: float, until: float = float("inf"), among=None) -> tuple[int, float, frozenset]:
        """The most Nodes (of `among`, default all) carrying a hard own taint at once in the
        window: (count, when first reached, which)."""
        best = (-1, since, frozenset())
        for at, hard, _ in self.window(since, until):
            counted = hard if among is None else hard & frozenset(among)
            if len(counted) > best[0]:
                best = (len(counted), at, counted)
        return best

    def max_soft(self, since: float, until: float = float("inf")) -> int:
        return max(len(soft) for _, _, soft in self.window(since, until))

    def spans_over(self, limit: int, since: float, until: float = float("inf"),
                   among=None) -> list[tuple[float, float, frozenset]]:
        """The stretches of the window in which more than `limit` Nodes (of `among`, default
        all) were hard-tainted: (start, end, the most Nodes at once in it); a stretch still
        open ends at `until` (or now)."""
        spans, start, worst = [], None, frozenset()
        for at, hard, _ in self.window(since, until):
            if among is not None:
                hard = hard & frozenset(among)
            if len(hard) > limit:
                if start is None:
                    start, worst = at, hard
                elif len(hard) > len(worst):
                    worst = hard
            elif start is not None:
                spans.append((start, at, worst))
                start = None
        if start is not None:
            spans.append((start, min(until, time.time()), worst))
        return spans

    def first_hard(self, node: str, since: float) -> float | None:
        """When `node` first carried a hard own taint after `since`."""
        for at, hard, _, entry in self.steps:
            if at > since and node in hard:
                return at
        return None

    def excerpt(self, since: float, until: float = float("inf"), limit: int = 60) -> str:
        """The history's lines in the window, for a failure message."""
        lines = []
        for at, hard, soft, entry in self.steps:
            if since <= at <= until:
                effects = ",".join(f"{t['key'].removeprefix(OWN_PREFIX)}:{t.get('effect')}"
                                   for t in entry.get("taints") or []) or "-"
                lines.append(f"  {at:.3f} seq {entry['seq']} {entry['node']} [{effects}] → hard {len(hard)} "
                             f"soft {len(soft)}")
        if len(lines) > limit:
            lines = lines[:limit // 2] + [f"  … {len(lines) - limit} more …"] + lines[-limit // 2:]
        return "\n".join(lines)


class NodeSampler:
    """Reads all Nodes every `period` s in a thread (the fake's admin `GET /nodes`, or a
    LIST over the Kubernetes API when the admin port has none) and keeps, per sample, the
    hard- and soft-tainted Nodes. Stops by itself after `limit` seconds."""

    def __init__(self, fleet: "Fleet", period: float = 0.1, limit: float = 900):
        self.fleet, self.period = fleet, period
        self.samples: list[tuple[float, frozenset, frozenset]] = []
        self.errors = 0
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit
        self._thread = threading.Thread(target=self._run, daemon=True, name="node-sampler")
        self._thread.start()

    def _run(self):
        tick = time.monotonic()
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                at = time.time()
                hard, soft = self.fleet.tainted_now()
                self.samples.append((at, hard, soft))
            except (OSError, ValueError, RuntimeError):
                self.errors += 1
            tick += self.period
            self._stop.wait(max(0.0, tick - time.monotonic()))

    def max_hard(self, since: float, until: float = float("inf"), among=None) -> tuple[int, int]:
        """(most hard-tainted Nodes in one sample, samples taken) in the window."""
        counts = [len(h if among is None else h & frozenset(among)) for at, h, _ in self.samples if since <= at <= until]
        return (max(counts) if counts else -1), len(counts)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


# -- the guard's requests in the fake's request log ------------------------------------------

def is_guard_request(entry: dict) -> bool:
    path = entry["path"]
    return ((entry.get("user_agent") or "").startswith("autotaint/")
            and (("/leases" in path and "/kube-node-lease/" not in path) or "/daemonsets" in path))


def holder_in(entry: dict) -> str | None:
    """The holderIdentity a logged Lease write names (None when its body names none)."""
    try:
        return (json.loads(entry.get("body") or "{}").get("spec") or {}).get("holderIdentity")
    except (ValueError, AttributeError):
        return None


def guard_kind(entry: dict, holders: dict) -> str:
    """What a guard request was: `daemonset` (the N read), `list`, `probe` (GET of one slot),
    `create`, `take` (a PATCH that names a holder other than the slot's last one), `renew`
    (a PATCH by the slot's holder), `release` (a PATCH emptying the holder), or `other`.
    `holders`: each slot's holder as the log so far has it; updated here."""
    path, method = entry["path"], entry["method"]
    if "/daemonsets" in path:
        return "daemonset"
    name = path.rsplit("/", 1)[1] if not path.endswith("/leases") else None
    if name is None:
        if method == "GET":
            return "list"
        if method == "POST":
            holder = holder_in(entry)
            if entry.get("status") == 201:
                try:
                    created = json.loads(entry.get("body") or "{}").get("metadata", {}).get("name")
                except (ValueError, AttributeError):
                    created = None
                if created:
                    holders[created] = holder
            return "create"
        return "other"
    if method == "GET":
        return "probe"
    if method in ("PATCH", "PUT"):
        holder = holder_in(entry)
        previous = holders.get(name)
        kind = "release" if holder == "" else "renew" if holder is not None and holder == previous else "take"
        if entry.get("status") == 200:
            holders[name] = holder
        return kind
    return "other"


def guard_summary(requests: list[dict], since: float = 0.0, until: float = float("inf")) -> dict:
    """The guard's requests logged in [since, until): how many by verb and resource (`GET
    lease`, `LIST leases`, `POST leases`, `PATCH lease`, `GET daemonset`), by kind (see
    `guard_kind`; the slots' holders are followed from the start of the log), by status, and
    their bytes (request and response bodies, when the fake logs them: `request_bytes`,
    `response_bytes`; else the logged request body, ≤ 4 KiB, and no response figure)."""
    holders: dict[str, str | None] = {}
    verbs, kinds, statuses = collections.Counter(), collections.Counter(), collections.Counter()
    request_bytes = response_bytes = 0
    responses_known = True
    count = 0
    for entry in requests:
        if not is_guard_request(entry):
            continue
        kind = guard_kind(entry, holders)  # before the window too, to know the holders
        if not since <= entry["time"] < until:
            continue
        count += 1
        kinds[kind] += 1
        path = entry["path"]
        resource = "daemonset" if "/daemonsets" in path else "leases" if path.endswith("/leases") else "lease"
        verb = "LIST" if kind == "list" else entry["method"]
        verbs[f"{verb} {resource}"] += 1
        statuses[str(entry.get("status"))] += 1
        request_bytes += entry.get("request_bytes", len((entry.get("body") or "").encode()))
        if "response_bytes" in entry:
            response_bytes += entry["response_bytes"] or 0
        else:
            responses_known = False
    return {"count": count, "by_verb": dict(sorted(verbs.items())), "by_kind": dict(sorted(kinds.items())),
            "by_status": dict(sorted(statuses.items())), "request_bytes": request_bytes,
            "response_bytes": response_bytes if responses_known else None}


def busiest_second(requests: list[dict], since: float = 0.0, until: float = float("inf")) -> tuple[int, int | None]:
    """The guard's requests logged in [since, until) bucketed by wall-clock second: (the most in
    one second, that second as epoch seconds; None when there were none)."""
    per_second = collections.Counter(int(entry["time"]) for entry in requests
                                     if is_guard_request(entry) and since <= entry["time"] < until)
    if not per_second:
        return 0, None
    second, count = max(per_second.items(), key=lambda item: (item[1], -item[0]))
    return count, second


# -- the slots' holders: the fake's Lease holder history replayed ------------------------------

def slot_of(name: str, daemonset: str | None = None) -> int | None:
    """The index of slot Lease `name` (`<daemonset>-slot-<i>`), None when it is no slot (of
    `daemonset`, when given)."""
    match = SLOT_NAME.fullmatch(name)
    if match is None or (daemonset is not None and match["daemonset"] != daemonset):
        return None
    return int(match["index"])


class LeaseTimeline:
    """The fake's Lease holder history (every committed change of a Lease's holder, renewals
    left out) replayed for the slot Leases: who held which slot by the record at every moment,
    and each release (a write or delete emptying a holder)."""

    def __init__(self, entries: list[dict]):
        self.entries = [e for e in sorted(entries, key=lambda e: e["seq"]) if slot_of(e["name"]) is not None]
        held: dict[str, str] = {}
        self.steps: list[tuple[float, dict, dict]] = []  # (time, slot → holder after it, entry)
        for entry in self.entries:
            if entry["type"] == "DELETED" or not entry.get("holder"):
                held.pop(entry["name"], None)
            else:
                held[entry["name"]] = entry["holder"]
            self.steps.append((entry["time"], dict(held), entry))

    @staticmethod
    def _of(held: dict, daemonset: str | None) -> dict:
        return {name: holder for name, holder in held.items() if slot_of(name, daemonset) is not None}

    def held_at(self, moment: float, daemonset: str | None = None) -> dict[str, str]:
        """slot → holder at `moment` (of `daemonset`'s slots, when given)."""
        held: dict = {}
        for at, after, _ in self.steps:
            if at > moment:
                break
            held = after
        return self._of(held, daemonset)

    def first_held(self, count: int, since: float, daemonset: str | None = None) -> float | None:
        """The first moment after `since` at which at least `count` slots were held."""
        for at, held, _ in self.steps:
            if at > since and len(self._of(held, daemonset)) >= count:
                return at
        return None

    def releases(self, since: float, until: float = float("inf"), daemonset: str | None = None) -> list[dict]:
        """The history's entries in the window that emptied a slot its holder had."""
        return [entry for at, _, entry in self.steps if since <= at <= until and entry.get("previousHolder")
                and (entry["type"] == "DELETED" or not entry.get("holder"))
                and slot_of(entry["name"], daemonset) is not None]

    def takes(self, since: float, until: float = float("inf"), daemonset: str | None = None) -> list[dict]:
        """The history's entries in the window that gave a slot a new holder."""
        return [entry for at, _, entry in self.steps if since <= at <= until and entry.get("holder")
                and entry["holder"] != entry.get("previousHolder") and slot_of(entry["name"], daemonset) is not None]


def released_while_hard(timeline: Timeline, releases: list[dict]) -> list[str]:
    """The releases whose holder's Node still carried a hard own taint when the release was
    committed (the agent writes its taint soft first, then releases: none)."""
    return [f"{e['name']} by {e['previousHolder']} at {e['time']:.3f}" for e in releases
            if e["previousHolder"] in timeline.at(e["time"])[0]]


# -- the fleet ------------------------------------------------------------------------------------

class Fleet:
    """`count` Nodes (node-00…), a stand-in Prometheus, and one agent per Node, all with
    `fleet: {maxTaintedPercent: percent, leaseDuration: lease}` and thresholds 80/50 %
    with no `for`, `recoverFor` or `minHold`: a node is in pressure on the first sample
    at ≥ 80 % and out of it on the first at ≤ 50 %.

    `daemonsets`: node → the DaemonSet (node pool) its agent belongs to (`fleet.daemonSet`
    in its config), default `autotaint`; each pool's DaemonSet in the fake reports one
    ready pod per node of the pool until the test sets otherwise (`set_daemonset`)."""

    def __init__(self, work: Path, count: int = 20, *, percent: float = 30, lease_seconds: int = 6,
                 extra_fleet: str = "", interval: float = INTERVAL, servers: bool = False,
                 daemonsets: dict[str, str] | None = None):
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.nodes = [f"node-{i:02d}" for i in range(count)]
        self.percent, self.lease_seconds, self.extra_fleet = percent, lease_seconds, extra_fleet
        self.interval = interval
        # With `servers`, each agent serves /metrics, /healthz and /readyz on its own port.
        self.ports = dict(zip(self.nodes, free_ports(len(self.nodes)))) if servers else {}
        unknown = set(daemonsets or {}) - set(self.nodes)
        assert not unknown, f"daemonsets names nodes the fleet has not: {sorted(unknown)}"
        self.daemonset_of = {node: (daemonsets or {}).get(node, DAEMONSET) for node in self.nodes}
        self.pools: dict[str, list[str]] = {}  # DaemonSet → its nodes
        for node in self.nodes:
            self.pools.setdefault(self.daemonset_of[node], []).append(node)
        self.pool_K = {name: slots_for(len(nodes), percent) for name, nodes in self.pools.items()}
        self.K = sum(self.pool_K.values())  # one pool: slots_for(count, percent)
        self.cap = retry_cap(count)
        self.agents: dict[str, Agent] = {}
        self.runs: collections.Counter = collections.Counter()
        self.n_changed = False  # a DaemonSet reported another N than its pool's size since the last reset
        self.fake = self.prometheus = None
        try:
            self.fake = FakeAPI(self.work / "fakeapi", self.nodes)
            self.info = self.fake.info
            self._tls = ssl.create_default_context(cafile=self.info["ca"])
            self.reset_daemonsets()
            self.prometheus = StandInPrometheus()
            self.prometheus.set_all(0, self.nodes)
            self.started_at = time.time()
            for node in self.nodes:
                self.start_agent(node)
        except BaseException:
            self.stop()
            raise

    # -- the fake, through its admin port and its Kubernetes API --
    def admin(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.info["admin_url"] + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def api(self, method: str, path: str, body=None, content_type: str | None = None) -> tuple[int, dict]:
        """One request to the fake's Kubernetes API over TLS with the token: (status, JSON)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.info["url"] + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.info['token']}")
        request.add_header("Accept", "application/json")
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, context=self._tls, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw.strip().startswith(b"{") else {}

    def set_daemonset(self, name: str = DAEMONSET, *, reset: bool = False, **fields) -> dict:
        """Sets what DaemonSet `name`'s controller reports (the fake's `POST /daemonsets`: status
        counts such as numberReady, generation, maxUnavailable; each kept until set again, None
        back to its default, `reset` all of them first); returns its status as a client GETs it."""
        self.admin("POST", "/daemonsets", dict(fields, namespace=NAMESPACE, name=name, reset=reset))
        daemonset = self.daemonset(name)
        if fleet_size(daemonset) != len(self.pools.get(name, ())):
            self.n_changed = True
        return daemonset["status"]

    def daemonset(self, name: str = DAEMONSET) -> dict:
        status, daemonset = self.api("GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/daemonsets/{name}")
        assert status == 200, (status, daemonset)
        return daemonset

    def reset_daemonsets(self) -> None:
        """Every pool's DaemonSet reports one pod per node of the pool, all ready and up to
        date (set through the admin port where it can be, else the fake's default: one per Node)."""
        for name, nodes in self.pools.items():
            try:
                self.admin("POST", "/daemonsets", {"namespace": NAMESPACE, "name": name, "reset": True,
                                                   "desiredNumberScheduled": len(nodes)})
            except urllib.error.HTTPError as error:
                if error.code != 404:
                    raise
            status = self.daemonset(name)["status"]
            assert status["desiredNumberScheduled"] == len(nodes) == status["numberReady"], (name, status)

    def all_nodes(self) -> list[dict]:
        try:
            listed = self.admin("GET", "/nodes")
            return listed["items"] if isinstance(listed, dict) else listed
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
        status, listed = self.api("GET", "/api/v1/nodes")
        if status != 200:
            raise RuntimeError(f"LIST nodes: {status}")
        return listed["items"]

    def node(self, name: str) -> dict:
        return self.admin("GET", f"/nodes/{name}")

    def tainted_now(self) -> tuple[frozenset, frozenset]:
        """(hard-tainted Nodes, soft-tainted Nodes) as the fake holds them now."""
        kinds = {n["metadata"]["name"]: classify(n["spec"].get("taints")) for n in self.all_nodes()}
        return (frozenset(n for n, c in kinds.items() if c == "hard"),
                frozenset(n for n, c in kinds.items() if c == "soft"))

    def timeline(self) -> Timeline:
        return Timeline(self.admin("GET", "/taint-history"))

    def requests(self) -> list[dict]:
        return self.fake.requests()

    def guard(self, since: float = 0.0, until: float = float("inf")) -> dict:
        return guard_summary(self.requests(), since, until)

    def leases(self, daemonset: str | None = None) -> dict[str, dict]:
        """The slot Leases by name (their spec, resourceVersion and labels), as a client lists
        them; only `daemonset`'s (`<daemonset>-slot-<i>`) when given."""
        status, listed = self.api("GET", f"{LEASES}?labelSelector={urllib.parse.quote(SLOT_SELECTOR)}")
        assert status == 200, (status, listed)
        return {item["metadata"]["name"]: dict(item["spec"], resourceVersion=item["metadata"]["resourceVersion"],
                                               labels=item["metadata"].get("labels") or {})
                for item in listed["items"] if slot_of(item["metadata"]["name"], daemonset) is not None}

    def holders(self, daemonset: str | None = None) -> dict[str, str]:
        """slot name → holder, for the slots held now (by the record, expired or not)."""
        return {name: spec["holderIdentity"] for name, spec in self.leases(daemonset).items()
                if spec.get("holderIdentity")}

    def renewed_holders(self) -> dict[str, str]:
        """The held slots renewed within their lease duration by this machine's clock (the
        agents run here): a dead agent's slot drops out once its lease ran out."""
        now = time.time()
        return {name: spec["holderIdentity"] for name, spec in self.leases().items() if spec.get("holderIdentity")
                and now - micro_time(spec.get("renewTime")) <= (spec.get("leaseDurationSeconds") or self.lease_seconds)}

    def lease_timeline(self) -> LeaseTimeline:
        return LeaseTimeline(self.admin("GET", "/lease-history"))

    def events(self, reason: str | None = None, node: str | None = None) -> list[dict]:
        status, listed = self.api("GET", f"/api/v1/namespaces/{NAMESPACE}/events")
        assert status == 200, (status, listed)
        return [e for e in listed["items"] if (reason is None or e.get("reason") == reason)
                and (node is None or e.get("involvedObject", {}).get("name") == node)]

    def condition(self, node: str, kind: str = "CPUPressure") -> dict | None:
        return next((c for c in self.node(node)["status"].get("conditions") or [] if c["type"] == kind), None)

    # -- the agents --
    def config_text(self, node: str | None = None) -> str:
        """The config of `node`'s agent (its pool's DaemonSet named unless the default)."""
        daemonset = self.daemonset_of.get(node, DAEMONSET)
        pool = f", daemonSet: {daemonset}" if daemonset != DAEMONSET else ""
        return f"""\
sampling: {{interval: {self.interval:g}s, source: prometheus}}
signals:
  cpu: {{highPercent: 80, lowPercent: 50, for: 0s, recoverFor: 0s, minHold: 0s}}
prometheus:
  url: {self.prometheus.url}
  query: '{QUERY}'
  timeout: 1s
  staleAfter: 10s
heartbeat: 5m
fleet: {{maxTaintedPercent: {self.percent:g}, leaseDuration: {self.lease_seconds}s{pool}{self.extra_fleet}}}
"""

    def start_agent(self, node: str) -> Agent:
        """Starts (or starts again) the agent of `node`, with its own directory per run, as
        kubelet starts the pod its DaemonSet's controller makes for the Node now: with the
        pod's `pod-template-generation` label in $POD_TEMPLATE_GENERATION (the downward API)."""
        pod = self.admin("POST", "/daemonset-pods",
                         {"namespace": NAMESPACE, "daemonSet": self.daemonset_of[node], "node": node})
        self.runs[node] += 1
        directory = self.work / "agents" / node / f"run-{self.runs[node]}"
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "config.yaml"
        address = f"127.0.0.1:{self.ports[node]}" if node in self.ports else ""
        config.write_text(self.config_text(node) + f'server: {{address: "{address}"}}\n')
        self.agents[node] = Agent(directory, "--config", str(config), "--kubeconfig", self.info["kubeconfig"],
                                  "--node", node, env=clean_env(
                                      POD_NAMESPACE=NAMESPACE,
                                      POD_TEMPLATE_GENERATION=pod["metadata"]["labels"]["pod-template-generation"]))
        STARTED.append(self.agents[node].process)  # an interrupted bench's kill_all() ends it too
        return self.agents[node]

    def terminate(self, node: str) -> tuple[int, float]:
        """SIGTERM to `node`'s agent, as kubelet stops a pod: (exit code, seconds to exit)."""
        return self.agents[node].terminate(signal.SIGTERM, timeout=30)

    def kill(self, node: str) -> None:
        """kill -9 of `node`'s agent: it cannot clean up."""
        agent = self.agents[node]
        agent.process.send_signal(signal.SIGKILL)
        agent.process.wait(timeout=10)

    def alive(self) -> list[str]:
        return [n for n, a in self.agents.items() if a.process.poll() is None]

    def check_alive(self, expected=None) -> None:
        dead = [n for n in (expected or self.nodes) if self.agents[n].process.poll() is not None]
        assert not dead, "agents exited: " + "; ".join(
            f"{n} (code {self.agents[n].process.returncode}): {self.log_tail(n)}" for n in dead)

    def log_tail(self, node: str, lines: int = 15) -> str:
        try:
            return "\n".join(self.agents[node].log_path.read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- the load --
    def set_load(self, node: str, percent: float) -> None:
        self.prometheus.set_load(node, percent)

    def set_all(self, percent: float, nodes=None) -> None:
        self.prometheus.set_all(percent, nodes if nodes is not None else self.nodes)

    # -- waits --
    def wait_sampling(self, timeout: float = 30) -> None:
        """Until every agent samples: the stand-in has answered each node's query at least twice."""
        deadline = time.monotonic() + timeout
        while not all(self.prometheus.queries.get(n, 0) >= 2 for n in self.nodes):
            self.check_alive()
            assert time.monotonic() < deadline, f"not every agent queried Prometheus: {self.prometheus.queries}"
            time.sleep(0.2)

    def wait_tainted(self, hard: int, soft: int, timeout: float, hold: float = 3.0) -> tuple[frozenset, frozenset]:
        """Waits until exactly `hard` Nodes carry a hard own taint and `soft` only a
        PreferNoSchedule one, unchanged for `hold` s; returns (hard, soft)."""
        return self.wait_steady(lambda h, s: len(h) == hard and len(s) == soft,
                                f"{hard} hard + {soft} soft own taints", timeout, hold)

    def wait_steady(self, wanted, what: str, timeout: float, hold: float = 3.0) -> tuple[frozenset, frozenset]:
        """Waits until `wanted(hard Nodes, soft Nodes)` holds of the Nodes, unchanged for `hold`
        s; returns (hard, soft)."""
        seen = {"state": None, "since": 0.0}

        def settled():
            state = self.tainted_now()
            if state != seen["state"]:
                seen.update(state=state, since=time.monotonic())
            return wanted(*state) and time.monotonic() - seen["since"] >= hold and state
        try:
            return wait_until(settled, timeout, f"{what}, steady for {hold:g}s")
        except AssertionError as error:
            state = seen["state"] or (frozenset(), frozenset())
            raise AssertionError(f"{error}; last seen hard {sorted(state[0])} soft {sorted(state[1])}; "
                                 f"slots {self.holders()}") from None

    def reset(self, timeout: float = 90) -> None:
        """No load anywhere, no fault, the server up, every DaemonSet reporting all its pods
        ready, every agent running (one a failed case killed is started again); waits until
        no Node carries an own taint and no slot is held by a live record. After an outage
        the agents' Node writes may be backing off (up to 60 s), hence the long timeout.
        After a case that changed a DaemonSet's N, also until every agent's N is younger
        than the reset (N_MAX_AGE): an agent may still count with the old one until then."""
        self.set_all(0)
        self.admin("DELETE", "/faults")
        self.admin("POST", "/up")
        self.reset_daemonsets()
        restored_at, n_changed, self.n_changed = time.monotonic(), self.n_changed, False
        for node in self.nodes:
            if self.agents[node].process.poll() is not None:
                self.start_agent(node)
        wait_until(lambda: self.tainted_now() == (frozenset(), frozenset()) and not self.renewed_holders(), timeout,
                   "no own taint on any Node and every slot free")
        if n_changed:
            time.sleep(max(0.0, restored_at + N_MAX_AGE + self.interval - time.monotonic()))

    def stop(self) -> None:
        """SIGTERM to every agent (they clean up within 5 s), SIGKILL to what is left, then
        the stand-in Prometheus and the fake."""
        for agent in self.agents.values():
            if agent.process.poll() is None:
                agent.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for agent in self.agents.values():
            try:
                agent.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 (killed below whatever went wrong)
                pass
            agent.stop()  # SIGKILL if still running; closes the log
        if self.prometheus:
            self.prometheus.stop()
        if self.fake:
            self.fake.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
