"""An API server restart under 10 real agents (the reduced form of `make bench-scale`'s
scenario 3): the fake refuses every connection for 10 s and drops every watch, and comes
back with its history intact. Judged from the fake's request log and its Nodes, never from
the agents' logs:

- every agent's watch is back (a watch request after the restart still open);
- an agent with nothing to write resumes its watch from the last resourceVersion it saw:
  no GET or LIST of its Node after the restart;
- the re-watches are spread by the agents' jittered backoff, not sent in the same 100 ms;
- no write is lost: nodes that entered pressure during the outage carry the taint after it,
  nodes that left it carry none, and every Node's condition says what its load is.

Fleet guard off (maxTaintedPercent: 0): the guard has its own outage case (test_fleet.py).
"""
import collections
import time

from fleet_harness import Fleet, classify
from node_view import is_watch
from waiting import wait_until

N = 10
DOWN_SECONDS = 10
BACK_WITHIN = 60  # issue: every watch back within 60 s
BUSY, IDLE = 95, 0


def watches_of(requests, node):
    return [r for r in requests if is_watch(r) and r["params"].get("fieldSelector") == f"metadata.name={node}"]


def test_an_api_server_restart_brings_every_watch_back_spread_and_loses_no_write(tmp_path):
    with Fleet(tmp_path, N, percent=0) as fleet:
        entering, leaving, quiet = fleet.nodes[:3], fleet.nodes[3:5], fleet.nodes[5:]
        fleet.set_all(BUSY, leaving)
        fleet.wait_tainted(len(leaving), 0, timeout=30)
        wait_until(lambda: all(any(r["duration"] is None for r in watches_of(fleet.requests(), n))
                               for n in fleet.nodes), 30, "every agent watching its Node")

        down_at = time.time()
        fleet.admin("POST", "/down", {"seconds": DOWN_SECONDS, "mode": "refuse"})
        fleet.set_all(BUSY, entering)
        fleet.set_all(IDLE, leaving)
        time.sleep(DOWN_SECONDS)
        up_at = down_at + DOWN_SECONDS

        def every_watch_back():
            requests = fleet.requests()
            return all(any(r["time"] >= up_at and r["duration"] is None for r in watches_of(requests, n))
                       for n in fleet.nodes) and requests
        requests = wait_until(every_watch_back, BACK_WITHIN, "every agent's watch open again after the restart")
        back = {n: min(r["time"] for r in watches_of(requests, n) if r["time"] >= up_at) for n in fleet.nodes}
        all_back = max(back.values()) - up_at

        hard, _ = fleet.wait_tainted(len(entering), 0, timeout=BACK_WITHIN)
        assert hard == set(entering), (sorted(hard), entering)
        for node in fleet.nodes:
            condition = fleet.condition(node)
            assert condition["status"] == ("True" if node in entering else "False"), (node, condition)

        requests = fleet.requests()
        for node in quiet:
            reads = [r for r in requests if r["time"] >= up_at and r["method"] == "GET" and not is_watch(r)
                     and (r["path"] == f"/api/v1/nodes/{node}" or r["params"].get("fieldSelector") == f"metadata.name={node}")]
            assert not reads, f"{node} read its Node again instead of resuming its watch: {reads[:2]}"
            resumed = next(r for r in watches_of(requests, node) if r["time"] >= up_at)
            assert resumed["params"].get("resourceVersion"), resumed
            assert classify(fleet.node(node)["spec"].get("taints")) is None

        times = sorted(back.values())
        per_100ms = collections.Counter(int((t - up_at) * 10) for t in times)
        per_second = collections.Counter(int(t - up_at) for t in times)
        assert max(per_100ms.values()) < N, f"all {N} re-watches in one 100 ms: {[round(t - up_at, 3) for t in times]}"
        assert times[-1] - times[0] > 0.1
        print(f"\napi restart, {N} agents: every watch back {all_back:.1f} s after the server, re-watches at "
              f"{[round(t - up_at, 2) for t in times]} s, peak {max(per_second.values())} in a 1 s window, "
              f"{max(per_100ms.values())} in 100 ms")
