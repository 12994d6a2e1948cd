#!/usr/bin/env python3
"""A model of the fleet guard's onset (issue 35): N nodes enter pressure at t = 0 and each
races for one of K = max(1, floor(30 % × N)) slot Leases by the rules of
Sources/AutoTaintCore/SlotPolicy.swift, FleetSlots.swift and FleetGate.swift, simulated
request by request against one API server. Printed per N (50, 100, 200, 1,000, 5,000):
the busiest 1 s of guard requests (a sliding window; median, 90th percentile and max over
TRIALS onsets) and per node, the time until K slots are held (median, max), and the guard
requests/s once settled against the budget arithmetic, and the busiest 1 s from minute 3
(or W + 30 s, when later) to minute 10, after the first attempts: where holders that read N
in one second would read it again together. Nothing but arithmetic and random
draws: bench/storms.py measures real agents at N = 50, 100, 200 (`--scenarios
spike,spike_again`), and this model then puts its figures for the same fleets next to the
measured ones from bench/storms.json (`--no-validate`: not).

usage: onset_model.py [--trials 20] [--sizes 50,100,200,1000,5000] [--latency 0.005]
                      [--measured bench/storms.json] [--no-validate] [--seed 1]
                      [--epochs -15,-10] [--no-project]

The rules, as the agent has them at commit 16dedfe (what is simplified is said so):
- Ticks: the agent steps its guard on its sampling ticks, every 5 s (the default
  `sampling.interval`, also the bench's), at a phase of its own (uniform: agents start
  with a random share of an interval). NodeSync is promised no tick is needed before the
  guard's next due instant (SyncPacing, SlotPolicy.nextDue), so a request due at some
  instant goes out on the first tick at or after it. One step makes its requests one
  after another, at most 8 turns (FleetGate.step). A watch event of the node's own Node
  (after its own writes) steps the guard too: modelled once, after the step that entered
  pressure (its PreferNoSchedule and condition writes and their event: 3 latencies
  later), the only time such a step can find something due, a first attempt within 1 s.
- Onset: the load rises at t = 0; each node sees it on its next tick (`for: 0s`). A node
  that never read N (never in pressure since its agent started) reads the DaemonSet on
  that tick; then its first attempt is due onset × W after entering, onset uniform in
  [0, 1), W = N × 50 ms (FleetSlots.onsetWindow). A first attempt due within 1 s is waited
  for in the step (FleetGate.onsetWaitInStep); a later one goes out on the first tick at
  or after it.
- N: besides that read on entering, an attempt that found a slot to write (absent, free,
  offered) reads the DaemonSet first when N is 60 s old or more, and so does a waiting
  node's later attempt (after one that ended without a slot) at its start; neither read
  counts in the attempt's 3. A holder reads it at its own phase of the 75 s period
  (SlotPolicy.holderReadDue): the first instant after its last read at offset FNV-1a(node
  name) mod 75,000 ms from its policy's epoch (the first instant the policy was asked: the
  agent's first tick after it started), so at most 75 s after the read; it goes out on the
  first tick at or after that instant (nextDue includes it). The first attempt after
  entering reads none when it finds every slot held.
- One attempt, at most 3 requests (SlotPolicy.requestsPerAttempt) besides N reads:
  probe (GET) the slot the node watches — at first slot FNV-1a(node name) mod K — when it
  is new to the node, or a third of the lease duration has passed since it began watching
  it (the whole lease duration once seen unchanged twice); absent → create (POST); free →
  take (PATCH); held by another → LIST the free-labelled slots (limit 3, the server's name
  order; FleetSlots.offeredSlot picks among those below K with no holder by the node's
  hash) → offered → take; none offered → the attempt ends with every slot held and the
  next waits uniform [cap/2, cap), cap = N × 300 ms (≥ 5 s, ≤ 30 min). A node whose create
  won (201) makes one more request in the same step, before anything else a holder does:
  prepare = create slot (index + 1) mod K free (no holder, labelled free, so a LIST of free
  slots finds it); 201 or 409 (it exists), either way nothing else changes. A take prepares
  nothing. A probe that finds
  the watched slot's record changed (a live holder renewing) moves the node on to the next
  slot for its next attempt, without a LIST-free attempt in between: so a waiting node's
  attempt costs a LIST alone until the probe is due again. A 409 (create: AlreadyExists,
  take: Conflict) moves on to the next slot at once, within the attempt's 3 requests (a
  create that lost can be followed by a probe and a create of the next slot, which the
  code allows); an attempt cut short that way backs off from 1 s, doubling per failure
  since the last slot held, up to the cap, waited over the period's second half.
- Holders renew (PATCH) once a third of the lease duration (2 m: 40 s) has passed since
  the last renewal was sent, dated at its tick when it is the step's first request, else
  at its send (so one acquired mid-step renews 45 s later, on the tick after).
- The API server applies each request atomically half a latency after it is sent (a
  create or take from a resourceVersion another write moved gets 409), and the answer is
  back one latency after the send (`--latency`, default 5 ms; `--validate` uses the fake's
  median time per guard request in the bench for each N).
- Nothing fails, no node leaves pressure, N does not change. Simplified: a node's cursor
  and watch left from an earlier spike are not carried over (the nodes start stateless),
  which changes only whether a waiting node's second attempt costs a probe and a LIST or
  a LIST alone.

Where the bench's fake differs (what the comparison shows): loaded (N = 200, a core), it
answers the requests of the race slower than its median, so more 409s (the `racing`
column uses the round trip the agents saw), and the watch events of the entry writes come
later, so more first attempts fall within the step's 1 s than modelled.

The agents' epochs (the origin of a holder's read phase): each agent's first tick, uniform
over [-15 s, -10 s) from the onset (`--epochs`), which also sets its tick phase (the epoch
mod 5 s): what the bench's start-up gave at 16dedfe (each agent's first Node status write
10-15 s before the first spike's onset at N = 50 and 100); in the `free` state 3,600 s
earlier (agents running for an hour). The read phases come from the names' hashes, so
where the epochs lie moves each holder's reads but hardly their spread. The validation uses each agent's epoch as storms.py measured it (its first
Node write, `agent_epochs_s`) when storms.json has it, with random tick phases as before.

Initial states (per N):
- `fresh`: no slot Lease exists and no agent has read N: the first spike after install;
- `restarted`: every slot Lease exists and is free, no agent has read N: the first spike
  after every agent restarted (an upgrade, a rollout);
- `free`: every slot Lease exists and is free, every agent read N over a minute before:
  any later spike after a long idle time.
"""
import argparse
import collections
import heapq
import json
import math
import random
import statistics
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

INTERVAL = 5.0  # sampling.interval: the guard acts on ticks only
LEASE = 120.0  # fleet.leaseDuration in the bench (2m)
PERCENT = 30
ACQUIRING_MAX_AGE = 60.0  # SlotPolicy.fleetSizeMaxAge.acquiring
HOLDING_MAX_AGE = 75.0  # SlotPolicy.fleetSizeMaxAge.holding
HOLDING_PERIOD_MS = 75_000  # the same in whole milliseconds: the holders' read period (holderReadDue)
REQUESTS_PER_ATTEMPT = 3  # SlotPolicy.requestsPerAttempt
FREE_PAGE = 3  # FleetGate.freePage
STEP_LIMIT = 8  # FleetGate.step: at most 8 requests a step
ON_TIME = 0.1  # FleetGate.onTime
ONSET_WAIT_IN_STEP = 1.0  # FleetGate.onsetWaitInStep
SIZES = (50, 100, 200, 1000, 5000)
DAEMONSET = "autotaint"


# -- the agent's arithmetic (FleetSlots) ----------------------------------------------------------

def slots_for(n: int) -> int:
    return max(1, PERCENT * n // 100)


def onset_window(n: int) -> float:
    return min(n * 0.05, 1800.0)


def retry_cap(n: int) -> float:
    return min(max(n * 0.3, 5.0), 1800.0)


def first_slot(identity: str, slots: int) -> int:
    """FleetSlots.firstSlot: FNV-1a over the name's UTF-8 bytes, mod K."""
    h = 0xCBF29CE484222325
    for byte in identity.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h % max(slots, 1)


def node_name(i: int) -> str:
    return f"node-{i:02d}"  # the bench's (Tests/e2e/fleet_harness.py)


def read_phase_ms(identity: str) -> int:
    """SlotPolicy.holderReadDue's phase: FleetSlots.firstSlot(for: name, slots: 75,000)."""
    return first_slot(identity, HOLDING_PERIOD_MS)


def holder_read_due(node) -> float:
    """SlotPolicy.holderReadDue: the first instant after the last read at this node's phase
    of the 75 s period, counted in whole milliseconds from its epoch."""
    since = int((node.read_at - node.epoch) * 1000)  # wholeMilliseconds: towards zero
    wait = (node.read_phase - math.fmod(since, HOLDING_PERIOD_MS) + HOLDING_PERIOD_MS) % HOLDING_PERIOD_MS
    if wait == 0:
        wait = HOLDING_PERIOD_MS
    return node.read_at + wait / 1000


def spike_seconds(n: int) -> float:
    """bench/storms.py's window: max(90 s, W + 30 s) + 30 s."""
    return max(90.0, onset_window(n) + 30) + 30


# -- one node's guard (SlotPolicy, without failures, releases and K changes) -------------------

IDLE, WAITING, HOLDING = 0, 1, 2
ABSENT = "absent"


class Node:
    __slots__ = ("name", "index0", "phase", "tick_phase", "read_at", "onset_at", "onset_pending", "cursor",
                 "watched", "probed", "att_requests", "att_probed", "att_listed", "failures", "not_before", "cap",
                 "holding", "step_tick", "step_iterations", "waited_for_onset", "shortage", "tick_token", "entering",
                 "epoch", "read_phase", "unprepared", "slots_seen", "free_first")

    def __init__(self, name: str, slots: int, n: int, tick_phase: float, knows_n: bool, epoch: float):
        self.name = name
        self.epoch = epoch  # the policy's first instant (SlotPolicy.epoch)
        self.read_phase = read_phase_ms(name)
        self.unprepared = None  # the slot to prepare after creating (or taking a prepared) one
        self.slots_seen = False  # a probe or LIST found a slot of the fleet, or it held one
        self.free_first = False  # this attempt asks for a free slot before any probe
        self.index0 = first_slot(name, slots)
        self.phase = IDLE
        self.tick_phase = tick_phase
        # When N was last read: long ago (an earlier time in pressure), or never.
        self.read_at = -1e9 if knows_n else None
        self.onset_at = None
        self.onset_pending = None  # (entered at, share): entered pressure before any N read
        self.cursor = None
        self.watched = None  # [index, resourceVersion, since, rechecked]
        self.probed = None  # None, ABSENT, or the resourceVersion of an acquirable record
        self.att_requests, self.att_probed, self.att_listed = 0, False, False
        self.failures, self.not_before = 0, None
        # attemptBackoff.cap: set by an N read (RetryBackoff's 5 s before any); every
        # attempt's wait comes after one.
        self.cap = retry_cap(n) if knows_n else 5.0
        self.holding = None  # [index, resourceVersion, renewedAt]
        self.step_tick = 0.0
        self.step_iterations = 0
        self.waited_for_onset = False
        self.shortage = False  # an attempt of this entry into pressure ended without a slot
        self.tick_token = 0  # the one pending tick event that counts
        self.entering = False  # this step entered pressure


class Model:
    """One onset: every node enters pressure at t = 0."""

    def __init__(self, n: int, rng: random.Random, latency: float, free_slots=(), existing=(), knowing=None,
                 entry_event: float | None = None, epochs=(-15.0, -10.0), measured_epochs=None, seeing=None):
        """`knowing`: the names of the nodes that read N before (in an earlier time in pressure,
        long enough ago); None: all of them. `entry_event`: how long after the step that
        entered pressure the watch event of the node's own Node write starts another step
        (default: three latencies, the taint and status writes and the event). `epochs`: each
        agent's first tick (its policy's epoch) is uniform in [epochs[0], epochs[1]) s from the
        onset, its tick phase that instant mod the interval; `measured_epochs`: node → epoch,
        as the bench measured it (tick phases then uniform, as before)."""
        self.n, self.k, self.w, self.rng, self.latency = n, slots_for(n), onset_window(n), rng, latency
        self.entry_event = 3 * latency if entry_event is None else entry_event
        self.nodes = []
        for i in range(n):
            name = node_name(i)
            if measured_epochs and name in measured_epochs:
                epoch, tick_phase = measured_epochs[name], rng.uniform(0, INTERVAL)
            else:
                epoch = rng.uniform(*epochs)
                tick_phase = epoch % INTERVAL
            self.nodes.append(Node(name, self.k, n, tick_phase, knowing is None or name in knowing, epoch))
            self.nodes[-1].slots_seen = bool(seeing) and name in seeing
        # The server: slot index → [holder, resourceVersion, state label]. An existing slot
        # not labelled free (none in the bench) is a retired one: no holder, never listed.
        self.rv = 1
        self.slots: dict[int, list] = {}
        for i in sorted(set(existing) | set(free_slots)):
            self.rv += 1
            self.slots[i] = ["", self.rv, "free" if i in set(free_slots) else "retired", False]
        # The free-labelled slots in the server's order (by name: autotaint-slot-10 before -2).
        self.free_order = sorted((i for i, slot in self.slots.items() if slot[2] == "free"),
                                 key=lambda i: f"{DAEMONSET}-slot-{i}")
        self.log: list[tuple[float, str]] = []  # (time at the server, kind)
        self.conflicts = 0
        self.prepare_conflicts = 0  # of those, 409s of a prepare (the slot existed)
        self.prepared = 0  # slots a prepare created
        self.held = 0
        self.first_held_at = None
        self.k_held_at = None
        self.acquisitions: list[float] = []
        self.events: list = []
        self.seq = 0

    # -- the event queue --
    def push(self, at: float, what: str, node: Node, payload=None):
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, what, node, payload))

    def run(self, until: float):
        for node in self.nodes:
            self.push(node.tick_phase, "tick", node, 0)  # its first tick after the load rose
        while self.events:
            at, _, what, node, payload = heapq.heappop(self.events)
            if at > until:
                break
            if what == "tick":
                if payload != node.tick_token:
                    continue  # a step in between scheduled another
                node.step_tick, node.step_iterations, node.waited_for_onset = at, 0, False
                self.continue_step(node, at + self.latency / 2)  # the tick's sample comes first
            elif what == "event":  # the watch event of the node's own write: NodeSync reconciles
                node.step_tick, node.step_iterations, node.waited_for_onset = at, 0, False
                self.continue_step(node, at)
            elif what == "resume":  # the end of a wait for the first attempt within the step
                self.continue_step(node, at)
            elif what == "serve":
                request, sent_at = payload
                outcome = self.serve(node, request, at)
                self.push(at + self.latency / 2, "answer", node, (request, outcome, sent_at))
            else:
                request, outcome, sent_at = payload
                self.record(node, request, outcome, sent_at, at, self.rng.random())
                self.continue_step(node, at)

    def continue_step(self, node: Node, now: float):
        """FleetGate.step's loop: at most 8 turns, each a request or (once) a wait for a
        first attempt due within a second."""
        if node.step_iterations >= STEP_LIMIT:
            self.schedule_tick(node, now)
            return
        request = self.next_request(node, now)
        number = node.step_iterations
        node.step_iterations += 1
        if request is None:
            due = self.first_attempt_due(node, now)
            if not node.waited_for_onset and due is not None and due - now <= ONSET_WAIT_IN_STEP:
                node.waited_for_onset = True
                self.push(due, "resume", node)
                return
            if node.entering:
                # The step that entered pressure is followed by the node's Node write
                # (PreferNoSchedule) and its watch event, which steps the guard again.
                node.entering = False
                if due is not None:
                    self.push(now + self.entry_event, "event", node)
            self.schedule_tick(node, now)
            return
        sent_at = min(max(node.step_tick, now - ON_TIME), now) if number == 0 else now
        self.push(now + self.latency / 2, "serve", node, (request, sent_at))

    @staticmethod
    def first_attempt_due(node: Node, now: float):
        """SlotPolicy.firstAttemptDue."""
        if node.phase == WAITING and node.onset_at is not None and node.onset_at > now:
            return node.onset_at
        return None

    def schedule_tick(self, node: Node, now: float):
        """The first later tick on which the node has something due (SlotPolicy.nextDue):
        NodeSync is promised no tick is needed before (SyncPacing), so the ticks before it
        are not handed to it; the tick's instant is compared, not the clock's."""
        if node.phase == HOLDING:
            due = min(node.holding[2] + LEASE / 3, holder_read_due(node))
        else:
            due = max([t for t in (node.not_before, node.onset_at) if t is not None], default=now)
        ticks = math.ceil((due - node.tick_phase) / INTERVAL - 1e-6)
        # Not this step's own tick again: a tick step's clock is half a latency past its tick.
        after = math.floor((now - self.latency / 2 - node.tick_phase) / INTERVAL + 1e-6) + 1
        at = node.tick_phase + max(ticks, after, 0) * INTERVAL
        node.tick_token += 1
        self.push(at, "tick", node, node.tick_token)

    # -- SlotPolicy.next --
    def next_request(self, node: Node, now: float):
        if node.phase == IDLE:  # entering pressure
            node.phase = WAITING
            node.entering = True
            node.att_requests, node.att_probed, node.att_listed = 0, False, False
            node.free_first = node.slots_seen
            share = self.rng.random()
            if node.read_at is not None:
                node.onset_at = now + self.w * share
            else:  # N never read: read it now, then wait the share of the window from here
                node.onset_pending = (now, share)
        if node.phase == HOLDING:
            index, rv, renewed = node.holding
            if node.unprepared is not None:
                index, node.unprepared = node.unprepared, None
                return ("prepare", index)
            if now >= holder_read_due(node):
                return ("daemonset",)
            if now - renewed >= LEASE / 3:
                return ("renew", index, rv)
            return None
        if (node.not_before is not None and now < node.not_before) or (node.onset_at is not None and now < node.onset_at):
            return None
        if node.read_at is None:
            return ("daemonset",)
        # A later attempt (one ended without a slot since entering) refreshes an N over a
        # minute old; the first does not.
        if node.shortage and node.att_requests == 0 and now - node.read_at >= ACQUIRING_MAX_AGE:
            return ("daemonset",)
        index = (node.cursor if node.cursor is not None else node.index0) % self.k
        node.cursor = index
        if node.probed is not None and now - node.read_at >= ACQUIRING_MAX_AGE:
            return ("daemonset",)
        if node.probed == ABSENT:
            return ("create", index)
        if node.probed is not None:
            return ("take", index, node.probed)
        request = self.attempt_step(node, index, now)
        if request is None:
            self.end_attempt(node, now, 0.5, every_slot_held=False)
        return request

    def attempt_step(self, node: Node, index: int, now: float):
        if node.att_requests >= REQUESTS_PER_ATTEMPT:
            return None
        if node.free_first and not node.att_listed:
            return ("list",)
        w = node.watched
        due = w is None or w[0] != index or now - w[2] >= LEASE / (1 if w[3] else 3)
        if not node.att_probed and due:
            return ("probe", index)
        return None if node.att_listed else ("list",)

    def end_attempt(self, node: Node, now: float, jitter: float, every_slot_held: bool):
        node.shortage = True
        node.att_requests, node.att_probed, node.att_listed = 0, False, False
        node.free_first = False
        node.onset_at = None
        node.failures += 1
        if every_slot_held:
            period = node.cap
        else:
            period, grown = 1.0, 1
            while grown < node.failures and period < node.cap:
                period *= 2
                grown += 1
            period = min(period, node.cap)
        node.not_before = now + period / 2 + period / 2 * jitter

    # -- the API server --
    def serve(self, node: Node, request: tuple, at: float):
        kind = request[0]
        self.log.append((at, kind))
        if kind == "daemonset":
            return ("size",)
        if kind == "probe":
            slot = self.slots.get(request[1])
            return ("seen", None if slot is None else (slot[0], slot[1]))
        if kind == "list":
            page = self.free_order[:FREE_PAGE]
            free = [i for i in page if i < self.k and self.slots[i][0] == ""]
            if not free:
                return ("none",)
            index = free[first_slot(node.name, len(free))]
            return ("offered", index, self.slots[index][1])
        index = request[1]
        slot = self.slots.get(index)
        if kind == "prepare":  # create free: no holder, labelled free, listed from now on
            if slot is not None:
                self.conflicts += 1
                self.prepare_conflicts += 1
                return ("conflict",)
            self.rv += 1
            self.prepared += 1
            self.slots[index] = ["", self.rv, "free", True]
            self.free_order.append(index)
            self.free_order.sort(key=lambda i: f"{DAEMONSET}-slot-{i}")
            return ("written", self.rv, False)
        if kind == "create":
            if slot is not None:
                self.conflicts += 1
                return ("conflict",)
            self.rv += 1
            self.slots[index] = [node.name, self.rv, "held", False]
            self.acquired(at)
            return ("written", self.rv, False)
        # take, renew: an update from a resourceVersion
        if slot is None or slot[1] != request[2]:
            self.conflicts += 1
            return ("conflict",)
        self.rv += 1
        prepared = False
        if kind == "take":
            if slot[2] == "free":
                self.free_order.remove(index)
            prepared, slot[3] = slot[3], False
            slot[0], slot[2] = node.name, "held"
            self.acquired(at)
        slot[1] = self.rv
        return ("written", self.rv, prepared)

    def acquired(self, at: float):
        self.held += 1
        self.acquisitions.append(at)
        if self.first_held_at is None:
            self.first_held_at = at
        if self.held >= self.k and self.k_held_at is None:
            self.k_held_at = at

    # -- SlotPolicy.record --
    def record(self, node: Node, request: tuple, outcome: tuple, sent_at: float, now: float, jitter: float):
        kind = request[0]
        if node.phase == WAITING:
            node.att_requests += 1
        if kind == "daemonset":
            node.read_at = now
            node.cap = retry_cap(self.n)
            if node.phase == WAITING:
                if node.onset_pending is not None:
                    entered, share = node.onset_pending
                    node.onset_pending = None
                    node.onset_at = entered + self.w * share
                node.att_requests -= 1  # the read only checks K
        elif kind == "probe":
            node.att_probed = True
            self.observe(node, request[1], outcome[1], now)
        elif kind == "list":
            node.att_listed = True
            if outcome[0] == "offered":
                node.slots_seen = True
                node.cursor = outcome[1]
                node.probed = outcome[2]
        elif kind == "prepare":
            pass  # 201 or 409: nothing changes
        elif kind in ("create", "take"):
            if outcome[0] == "written":
                # After a create, or the take of a slot a prepare made (no node held it).
                if (kind == "create" or outcome[2]) and self.k > 1:
                    node.unprepared = (request[1] + 1) % self.k
                node.slots_seen = True
                node.onset_at = None
                node.phase = HOLDING
                node.holding = [request[1], outcome[1], sent_at]
                node.probed = node.watched = None
                node.failures, node.not_before = 0, None
                node.shortage = False
            else:
                node.probed = node.watched = None
                node.cursor = request[1] + 1
                node.att_probed = node.att_listed = node.free_first = False
                if node.att_requests >= REQUESTS_PER_ATTEMPT:
                    self.end_attempt(node, now, jitter, every_slot_held=False)
        elif kind == "renew":
            node.holding = [node.holding[0], outcome[1], sent_at]  # never 409 here: nobody takes a live slot
        if (node.phase == WAITING and node.probed is None and node.cursor is not None
                and self.attempt_step(node, node.cursor % self.k, now) is None):
            self.end_attempt(node, now, jitter, every_slot_held=node.att_listed)

    def observe(self, node: Node, index: int, record, now: float):
        if record is None:
            node.probed = ABSENT
            return
        holder, rv = record
        node.slots_seen = True
        w = node.watched
        expired = w is not None and w[0] == index and w[1] == rv and now - w[2] >= LEASE
        if holder == "" or holder == node.name or expired:
            node.probed = rv
            return
        node.probed = None
        if w is not None and w[0] == index and w[1] != rv:
            node.watched = None  # a live holder: the next slot from the next attempt on
            node.cursor = index + 1
        elif w is None or w[0] != index:
            node.watched = [index, rv, now, False]
        else:
            w[3] = True


# -- the figures of one onset ---------------------------------------------------------------

def busiest_window(times: list[float], width: float = 1.0) -> tuple[int, float]:
    """The most of `times` (sorted) in any [t, t + width), and where it starts."""
    best, start, first = 0, 0.0, 0
    for last, at in enumerate(times):
        while at - times[first] >= width:
            first += 1
        if last - first + 1 > best:
            best, start = last - first + 1, times[first]
    return best, start


INITIAL_STATES = {
    # name: (every slot Lease exists and is free, every agent knows an N over a minute old,
    # every agent takes slots to exist (it saw one, or N was handed over to it), the agents
    # have run for an hour)
    "fresh": (False, False, False, False),
    "restarted": (True, False, False, False),
    "rolled": (True, True, True, False),
    "free": (True, True, True, True),
}


# After the onset settled: the busiest 1 s from minute 3 (or W + 30 s, when later: the first
# attempts are over) to minute 10, where holders that read N in one second at the onset
# would read it again in one second every period, and no waiting node's retry comes yet at
# 5,000 nodes (cap / 2 = 750 s).
LATER = (180.0, 600.0)


def later_window(n: int) -> tuple[float, float]:
    return max(LATER[0], onset_window(n) + 30), LATER[1]
# The `free` state's agents started this much before the other states' (running for an hour).
FREE_EPOCH_SHIFT = -3600.0


def one_onset(n: int, seed: int, latency: float, initial: str, window: float, settle: bool,
              free_slots=None, existing=None, knowing=None, epochs=(-15.0, -10.0), measured_epochs=None) -> dict:
    """One onset from `initial` (INITIAL_STATES; or `given`: `free_slots`, `existing` and
    `knowing`, the nodes that read N before, as the bench found them, and `measured_epochs`)."""
    rng = random.Random(seed)
    k, cap, w = slots_for(n), retry_cap(n), onset_window(n)
    if initial != "given":
        leases, knows, seen, long_running = INITIAL_STATES[initial]
        free_slots, existing = (range(k) if leases else ()), ()
        knowing = None if knows else set()
        seeing = {node_name(i) for i in range(n)} if seen else set()
        if long_running:
            epochs = (epochs[0] + FREE_EPOCH_SHIFT, epochs[1] + FREE_EPOCH_SHIFT)
    else:
        # The bench's nodes that read N before were in pressure before: they saw the slots.
        seeing = {node_name(i) for i in range(n)} if knowing is None else set(knowing)
    model = Model(n, rng, latency, free_slots=free_slots, existing=existing or (), knowing=knowing,
                  epochs=epochs, measured_epochs=measured_epochs, seeing=seeing)
    # Settled: from W + cap (every waiting node has made an attempt after its first wait at
    # the cap) for 2 × cap more, at least 10 min; the time to K is looked for until then too.
    settled_from = max(window, w + INTERVAL * 2 + cap)
    settled_until = settled_from + max(600.0, 2 * cap)
    horizon = settled_until if settle else max(window, 300.0)
    model.run(horizon)
    times = sorted(at for at, _ in model.log if at < window)
    busiest, start = busiest_window(times)
    kinds_in_window: dict[str, int] = {}
    for at, kind in model.log:
        if at < window:
            kinds_in_window[kind] = kinds_in_window.get(kind, 0) + 1
    result = {
        "K": k, "busiest": busiest, "busiest_at": start, "window": window, "requests": len(times),
        "per_s": len(times) / window, "by_kind_per_s": {kd: c / window for kd, c in kinds_in_window.items()},
        "first_held": model.first_held_at, "k_held": model.k_held_at, "horizon": horizon,
        "conflicts": model.conflicts, "prepare_conflicts": model.prepare_conflicts, "prepared": model.prepared,
        "held_at_90": sum(1 for at in model.acquisitions if at <= 90.0), "held_at_end": model.held,
        "reads_5s_after_60": reads_in_5s(
            [at for at, kind in model.log if kind == "daemonset" and 60.0 <= at < window], 60.0, window),
    }
    since, until = later_window(n)
    if horizon >= until:
        later = sorted((at, kind) for at, kind in model.log if since <= at < until)
        result["later_busiest"], start = busiest_window([at for at, _ in later])
        result["later_busiest_by_kind"] = dict(collections.Counter(kind for at, kind in later if start <= at < start + 1))
    if settle:
        settled = [kind for at, kind in model.log if settled_from <= at < settled_until]
        span = settled_until - settled_from
        result["settled_per_s"] = len(settled) / span
        result["settled_by_kind"] = {kd: settled.count(kd) / span for kd in set(settled)}
        result["settled_busiest"] = busiest_window(sorted(at for at, _ in model.log
                                                          if settled_from <= at < settled_until))[0]
    return result


def reads_in_5s(times: list[float], since: float, until: float) -> int:
    """The most of `times` in 5 consecutive whole seconds (counted from t = 0) in [since, until)."""
    counts = [0] * max(1, math.ceil(until) - int(since))
    for at in times:
        counts[int(at) - int(since)] += 1
    return max(sum(counts[i:i + 5]) for i in range(max(1, len(counts) - 4)))


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def budget(n: int) -> float:
    """The budget arithmetic: renewals K/40 + holders' N reads K/75 + the waiting nodes'
    attempts, 2 requests every 0.75 × cap on average."""
    k = slots_for(n)
    return k / (LEASE / 3) + k / HOLDING_MAX_AGE + (n - k) * 2 / (0.75 * retry_cap(n))


def fmt_time(values: list, horizon: float) -> str:
    """median / max of times, a time never reached counting as later than `horizon`."""
    def text(value: float) -> str:
        return f">{horizon:.0f}" if value == math.inf else f"{value:.0f}"
    values = [math.inf if v is None else v for v in values]
    return f"{text(quantile(values, 0.5))} / {text(max(values))}"


def projection(sizes, trials: int, latency: float, seed: int, epochs=(-15.0, -10.0)) -> tuple[str, dict]:
    lines = [
        f"The onset at N nodes, {trials} trials each (latency {latency * 1000:g} ms, interval {INTERVAL:g} s, "
        f"leaseDuration {LEASE:g} s); busiest 1 s and the means over the bench's window "
        "max(90, W + 30) + 30 s from the onset;",
        "settled: the mean from W + cap for 2 × cap (≥ 10 min), against the budget arithmetic K/40 + K/75 + "
        "(N - K) × 2 / (0.75 cap); 3-10 min: the busiest 1 s from minute 3 (or W + 30 s if later) to minute 10 "
        "after the onset (median / max); "
        "409s: all (of them a prepare's); prepared: slots a prepare created.",
        f"The agents' epochs (first ticks) uniform in [{epochs[0]:g}, {epochs[1]:g}) s from the onset "
        f"({FREE_EPOCH_SHIFT:g} s more in the free state).",
        "",
        f"{'N':>5} {'state':>9} {'K':>5} {'W s':>5} {'cap s':>6} | {'busiest 1 s med/p90/max':>24} {'per node':>8} "
        f"{'at s':>5} | {'req/s':>6} | {'1st slot s':>10} {'K held s med/max':>16} {'409s':>9} {'prepared':>8} | "
        f"{'settled/s':>9} {'budget/s':>8} {'settled busiest':>15} {'3-10 min':>9} | {'held at 90 s':>12} "
        f"{'at the end':>10}",
    ]
    figures = {}
    for n in sizes:
        for initial in INITIAL_STATES:
            window = spike_seconds(n)
            runs = [one_onset(n, seed * 100003 + t, latency, initial, window, settle=True, epochs=epochs)
                    for t in range(trials)]
            peaks = [r["busiest"] for r in runs]
            figures[(n, initial)] = runs
            lines.append(
                f"{n:>5} {initial:>9} {slots_for(n):>5} {onset_window(n):>5g} {retry_cap(n):>6g} | "
                f"{statistics.median(peaks):>8g} /{quantile(peaks, 0.9):>6} /{max(peaks):>6}  "
                f"{statistics.median(peaks) / n:>8.3f} {statistics.median(r['busiest_at'] for r in runs):>5.0f} | "
                f"{statistics.mean(r['per_s'] for r in runs):>6.1f} | "
                f"{statistics.median(r['first_held'] for r in runs):>10.1f} "
                f"{fmt_time([r['k_held'] for r in runs], runs[0]['horizon']):>16} "
                f"{statistics.median(r['conflicts'] for r in runs):>4g} ({statistics.median(r['prepare_conflicts'] for r in runs):>2g}) "
                f"{statistics.median(r['prepared'] for r in runs):>8g} | "
                f"{statistics.mean(r['settled_per_s'] for r in runs):>9.1f} {budget(n):>8.1f} "
                f"{max(r['settled_busiest'] for r in runs):>15} "
                f"{statistics.median(r['later_busiest'] for r in runs):>4g}/{max(r['later_busiest'] for r in runs):>4} | "
                f"{statistics.median(r['held_at_90'] for r in runs):>12g} {statistics.median(r['held_at_end'] for r in runs):>10g}")
    if 5000 in sizes:
        lines.append("")
        lines.append("product.md's targets at 5,000 nodes (K = 1,500): no second over 150 guard requests, K slots "
                     "held within 90 s of the onset, settled ≤ 75 requests/s:")
        for initial in INITIAL_STATES:
            runs = figures[(5000, initial)]
            peaks = [r["busiest"] for r in runs]
            times = [math.inf if r["k_held"] is None else r["k_held"] for r in runs]
            settled = statistics.mean(r["settled_per_s"] for r in runs)
            lines.append(
                f"  {initial:>9}: busiest 1 s median {statistics.median(peaks):g}, max {max(peaks)} "
                f"(over 150 in {sum(p > 150 for p in peaks)} of {len(peaks)} trials); "
                f"K held after median {fmt_time([r['k_held'] for r in runs], runs[0]['horizon']).split(' / ')[0]} s "
                f"({sum(t <= 90 for t in times)} of {len(times)} within 90 s; "
                f"held at 90 s median {statistics.median(r['held_at_90'] for r in runs):g}); "
                f"settled {settled:.1f}/s ({'within' if settled <= 75 else 'OVER'} 75), "
                f"its busiest 1 s {max(r['settled_busiest'] for r in runs)}; busiest 1 s from "
                f"{later_window(5000)[0]:g} s to {later_window(5000)[1]:g} s median "
                f"{statistics.median(r['later_busiest'] for r in runs):g}, max "
                f"{max(r['later_busiest'] for r in runs)} "
                f"({max(runs, key=lambda r: r['later_busiest'])['later_busiest_by_kind']})")
    lines.append("")
    lines.append("settled, by kind, requests/s (mean over trials):")
    for (n, initial), runs in figures.items():
        kinds = sorted({kd for r in runs for kd in r["settled_by_kind"]})
        lines.append(f"  N = {n:>5} {initial:>9}: " + ", ".join(
            f"{kd} {statistics.mean(r['settled_by_kind'].get(kd, 0) for r in runs):.2f}" for kd in kinds))
    lines.append("")
    lines.append("over the onset window, by kind, requests/s (mean over trials):")
    for (n, initial), runs in figures.items():
        kinds = sorted({kd for r in runs for kd in r["by_kind_per_s"]})
        lines.append(f"  N = {n:>5} {initial:>9}: " + ", ".join(
            f"{kd} {statistics.mean(r['by_kind_per_s'].get(kd, 0) for r in runs):.2f}" for kd in kinds))
    return "\n".join(lines), figures


# -- the model against the bench ----------------------------------------------------------------

def validation(path: Path, trials: int, seed: int) -> str:
    results = json.loads(path.read_text())
    lines = [f"The model against the bench ({path}): the same N, the same node names (so the same first slots), "
             "the slot Leases as they stood at the bench's onset, the nodes that had read N; latency: the fake's "
             "median time per guard request (model), and the median round trip the agents saw while racing "
             "(model, racing): from a probe of a slot to the create of it, or half that to the take of it (an N "
             f"read in between); {trials} trials each. model: median [p10–p90] (max); * the measured figure "
             "lies within the trials' range.", ""]
    for result in results:
        n = result["N"]
        for part in ("spike", "spike_again"):
            measured = result.get(part)
            if not measured:
                continue
            window = float(measured.get("window_s") or spike_seconds(n))
            latencies = {"model": (measured.get("guard_request_ms_median") or 5.0) / 1000}
            if measured.get("probe_to_create_ms_median"):
                latencies["model, racing"] = measured["probe_to_create_ms_median"] / 1000
            elif measured.get("probe_to_take_ms_median"):
                latencies["model, racing"] = measured["probe_to_take_ms_median"] / 2000
            epochs = measured.get("agent_epochs_s")  # node → its first Node write, s from the onset
            runs = {name: [one_onset(n, seed * 7919 + t, latency, "given", window, settle=False,
                                     free_slots=measured.get("free_slots_at_onset", []),
                                     existing=measured.get("existing_slots_at_onset", []),
                                     knowing=set(measured.get("nodes_that_read_n_before", [])),
                                     measured_epochs=epochs)
                           for t in range(trials)]
                    for name, latency in latencies.items()}
            lines.append(f"N = {n}, {part}: slot Leases at the onset, free / existing {measured.get('slots_at_onset')}; "
                         f"nodes that had read N {len(measured.get('nodes_that_read_n_before', []))}; window {window:g} s; "
                         + (f"epochs measured, {min(epochs.values()):.0f} to {max(epochs.values()):.0f} s; " if epochs
                            else "epochs not measured (modelled); ")
                         + "; ".join(f"{name} latency {latency * 1000:.1f} ms" for name, latency in latencies.items()))
            lines.append(f"  {'':40}{'measured':>10}" + "".join(f"  {name:>32}" for name in runs))
            series = measured.get("per_second_by_kind", {})
            reads = series.get("daemonset", [])
            measured_band = max((sum(reads[i:i + 5]) for i in range(60, max(61, len(reads) - 4))), default=None) \
                if len(reads) > 60 else None

            def row(label, value, pick, digits=1):
                cells = []
                for name, trial_runs in runs.items():
                    values = [pick(r) for r in trial_runs]
                    reached = [v for v in values if v is not None]
                    if not reached:
                        cells.append("not reached")
                        continue
                    text = (f"{statistics.median(reached):.{digits}f} [{quantile(reached, 0.1):.{digits}f}–"
                            f"{quantile(reached, 0.9):.{digits}f}] ({max(reached):.{digits}f})")
                    if len(reached) < len(values):
                        text += f" {len(values) - len(reached)} not"
                    slack = 0.0006 + 0.005 * abs(value) if isinstance(value, (int, float)) else 0
                    inside = isinstance(value, (int, float)) and min(reached) - slack <= value <= max(reached) + slack
                    cells.append(text + (" *" if inside else "  "))
                lines.append(f"  {label:40}{format_measured(value):>10}" + "".join(f"  {c:>32}" for c in cells))
            row("busiest 1 s, guard requests", measured.get("busiest_1s"), lambda r: r["busiest"], 0)
            row("guard requests/s over the window", measured.get("guard_requests_per_s"), lambda r: r["per_s"], 2)
            for kind in ("daemonset", "probe", "list", "create", "prepare", "take", "renew"):
                row(f"  {kind}/s", measured.get("by_kind_per_s", {}).get(kind, 0.0),
                    lambda r, kind=kind: r["by_kind_per_s"].get(kind, 0.0), 2)
            row("DaemonSet reads, most in 5 s after 60 s", measured_band, lambda r: r["reads_5s_after_60"], 0)
            row("409 conflicts", measured.get("conflicts_409"), lambda r: r["conflicts"], 0)
            row("  of them a prepare's", measured.get("prepare_409"), lambda r: r["prepare_conflicts"], 0)
            row("first slot held after, s", measured.get("first_slot_after_s"), lambda r: r["first_held"])
            row("K slots held after, s", measured.get("K_slots_after_s"), lambda r: r["k_held"])
            lines.append("")
    return "\n".join(lines)


def format_measured(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    parser.add_argument("--latency", type=float, default=0.005, help="one guard request's round trip, s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--measured", default=str(REPO / "bench/storms.json"))
    parser.add_argument("--no-validate", action="store_true")
    parser.add_argument("--no-project", action="store_true", help="the validation only")
    parser.add_argument("--epochs", default="-15,-10",
                        help="the agents' first ticks (their policies' epochs), uniform in [a, b) s from the onset")
    args = parser.parse_args()
    epochs = tuple(float(v) for v in args.epochs.split(","))
    text = "" if args.no_project else projection([int(s) for s in args.sizes.split(",")], args.trials, args.latency,
                                                  args.seed, epochs)[0]
    print(text)
    measured = Path(args.measured)
    if not args.no_validate:
        print()
        if measured.exists():
            print(validation(measured, args.trials, args.seed))
        else:
            print(f"no {measured}: run bench/storms.py (e.g. --scenarios spike,spike_again) to validate the model")


if __name__ == "__main__":
    main()
