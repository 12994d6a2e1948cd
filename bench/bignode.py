"""`make bench`'s bignode part: the per-tick cost on a 192-CPU node against a 2-CPU one.

Four agents (`autotaint run`, config/autotaint.yaml, TLS, watch, /metrics on, no pressure),
four floors (bench/floor.c) and four libproc2 floors (the same built with -DLIBPROC2: the
loop with its read left to one procps_stat_select, as the agent's tick does), all at once
in one window: each at 1 s and at the default 5 s, over a generated 2-CPU and a generated
192-CPU /proc/stat, /proc/pressure/cpu and /proc/meminfo (bench/fake_proc.py, bind-mounted
over /proc's in a private mount namespace).
Both sizes are regular files advanced once a second, so the kernel's cost of generating
/proc/stat (which grows with the CPUs on a real node, for the floor as for the agent) is
left out, and what differs between the sizes is what the process does with the text:
libproc2 parses every per-CPU line, the floor only the first. The libproc2 floor's own
ratio at 192 CPUs against 2 is what the design's reader costs before the agent adds
anything.

Figures per process: CPU time per tick (all threads, from schedstat), wake-ups/s, RSS.
The target (product.md): agent ÷ floor at 192 CPUs ≤ 1.5 × agent ÷ floor at 2 CPUs, at
each interval. Each agent is checked to have read its generated file: its CPUPressure
condition names the generated node's 10 % usage.
"""
import re
import subprocess
import sys
import time
from pathlib import Path

from fake_proc import SHARE, FakeProc
from harness import LIBPROC2_OPENS, NEVER_PRESSURE, REPO, WAKE_UP_APART, Agent, FakeAPI, agent_environment, \
    condition, cpu_ns, private_files, smaps_rollup, start, thread_switches, wakeups_per_second

sys.path.insert(0, str(REPO / "Tests/e2e"))
from fleet_harness import free_ports  # noqa: E402

SIZES = (2, 192)
INTERVALS = (1, 5)
# Eight periodic floors, each a phase of its own within the second (harness.WAKE_UP_APART).
FLOORS_APART = WAKE_UP_APART / 2
MIB = 1024
GENERATED_USAGE = 100 - SHARE["idle"]


def node_name(cpus: int, interval: int) -> str:
    return f"cpus-{cpus}-every-{interval}s"


def bignode(binary: str, floor_binary: Path, libproc2_floor_binary: Path, work: Path, seconds: float,
            steady_from: float) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    names = [node_name(c, i) for c in SIZES for i in INTERVALS]
    fake = FakeAPI(work / "fakeapi", names)
    procs, agents, floors = {}, {}, {}  # floors by (kind, cpus, interval)
    try:
        for cpus in SIZES:
            procs[cpus] = FakeProc(work / f"proc-{cpus}", cpus, limit=seconds + 60)
        ports = iter(free_ports(len(names)))
        started = time.monotonic()
        for cpus in SIZES:
            for interval in INTERVALS:
                name = node_name(cpus, interval)
                # Files of its own, as on a node, so its RSS is one agent's (harness.private_files).
                own_binary, own_environment = private_files(binary, work / f"files-{name}", LIBPROC2_OPENS)
                agents[cpus, interval] = Agent(
                    own_binary, "--config", str(REPO / "config/autotaint.yaml"), "--kubeconfig", fake.kubeconfig,
                    "--node", name, log_path=work / f"{name}.log", prefix=procs[cpus].wrap([]),
                    env=agent_environment(AUTOTAINT_SERVER_ADDRESS=f"127.0.0.1:{next(ports)}",
                                          AUTOTAINT_SAMPLING_INTERVAL=f"{interval}s", **NEVER_PRESSURE,
                                          **own_environment))
                for kind, program in (("floor", floor_binary), ("libproc2 floor", libproc2_floor_binary)):
                    floors[kind, cpus, interval] = start(
                        procs[cpus].wrap([str(program), str(interval), str(seconds + 30)]), stdout=subprocess.DEVNULL)
                    time.sleep(FLOORS_APART)  # no two floors' ticks together (the agents' first tick is jittered)
        processes = {**{("agent", *k): a.process for k, a in agents.items()}, **floors}
        wait(started + steady_from, processes)
        begin_at = time.monotonic()
        before = {k: (cpu_ns(p.pid), thread_switches(p.pid)) for k, p in processes.items()}
        wait(started + seconds, processes)
        end_at = time.monotonic()
        after = {k: (cpu_ns(p.pid), thread_switches(p.pid)) for k, p in processes.items()}
        memory = {k: smaps_rollup(p.pid) for k, p in processes.items()}
        readings = {name: (condition(fake.node(name)) or {}).get("message", "") for name in names}
    finally:
        for agent in agents.values():
            agent.kill()
        for floor in floors.values():
            if floor.poll() is None:
                floor.kill()
                floor.wait(timeout=10)
        for proc in procs.values():
            proc.stop()
        fake.stop()
    window = end_at - begin_at
    figures = {"seconds": round(seconds, 1), "steady_window_seconds": round(window, 1), "processes": {}}
    for key in processes:
        kind, cpus, interval = key
        cpu_s = (after[key][0] - before[key][0]) / 1e9
        figures["processes"][f"{kind} {cpus} CPUs {interval}s"] = {
            "kind": kind, "cpus": cpus, "interval_seconds": interval,
            "cpu_us_per_tick": round(1e6 * cpu_s / (window / interval), 2),
            "cpu_percent": round(100 * cpu_s / window, 5),
            "wakeups_per_second": round(sum(wakeups_per_second(before[key][1], after[key][1], window).values()), 3),
            "rss_kib": memory[key]["Rss"], "anonymous_kib": memory[key]["Anonymous"],
        }
    for cpus in SIZES:
        for interval in INTERVALS:
            message = readings[node_name(cpus, interval)]
            usage = re.search(r"CPU (\d+(?:\.\d+)?)%", message)
            if not usage or abs(float(usage.group(1)) - GENERATED_USAGE) > 0.5 or "(proc)" not in message:
                raise RuntimeError(f"the agent on {cpus} CPUs at {interval}s did not report the generated "
                                   f"{GENERATED_USAGE} % from /proc: condition message {message!r}")
    ratios = {}
    for interval in INTERVALS:
        ratios[f"{interval}s"] = {}
        for kind in ("agent", "libproc2 floor"):
            by_size = {}
            for cpus in SIZES:
                cost = figures["processes"][f"{kind} {cpus} CPUs {interval}s"]["cpu_us_per_tick"]
                floor = figures["processes"][f"floor {cpus} CPUs {interval}s"]["cpu_us_per_tick"]
                by_size[cpus] = cost / floor if floor > 0 else None
            prefix = "" if kind == "agent" else f"{kind}: "
            ratios[f"{interval}s"].update({f"{prefix}{cpus} CPUs": round(r, 2) if r else None for cpus, r in by_size.items()})
            if all(by_size.values()):
                ratios[f"{interval}s"][f"{prefix}192 ÷ 2"] = round(by_size[192] / by_size[2], 3)
    figures["agent_over_floor"] = ratios
    figures["conditions"] = readings
    return figures


def wait(deadline: float, processes: dict) -> None:
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
        for key, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(map(str, key))} exited early with {process.returncode}")


def rows(b: dict) -> list[tuple[str, str, str, str]]:
    out = []
    for interval in INTERVALS:
        ratios = b["agent_over_floor"][f"{interval}s"]
        for cpus in SIZES:
            agent = b["processes"][f"agent {cpus} CPUs {interval}s"]
            floor = b["processes"][f"floor {cpus} CPUs {interval}s"]
            libproc2 = b["processes"][f"libproc2 floor {cpus} CPUs {interval}s"]
            ratio = ratios[f"{cpus} CPUs"]
            out.append((f"{cpus} CPUs (generated /proc), {interval}s: agent / floor CPU per tick",
                        f"{agent['cpu_us_per_tick']:.0f} / {floor['cpu_us_per_tick']:.1f} µs"
                        + (f" ({ratio:.1f}×)" if ratio else ""), "", "info"))
            out.append((f"  libproc2 floor CPU per tick", f"{libproc2['cpu_us_per_tick']:.1f} µs", "", "info"))
            out.append((f"  wake-ups/s agent / floor; agent RSS",
                        f"{agent['wakeups_per_second']:.2f} / {floor['wakeups_per_second']:.2f}; "
                        f"{agent['rss_kib'] / MIB:.1f} MiB", "", "info"))
        growth = ratios.get("192 ÷ 2")
        out.append((f"  {interval}s: ratio at 192 CPUs ÷ ratio at 2", f"{growth:.2f}" if growth else "—", "≤ 1.5",
                    ("pass" if growth <= 1.5 else "OVER") if growth else "not measured: a floor too small"))
        own = ratios.get("libproc2 floor: 192 ÷ 2")
        out.append((f"  {interval}s: the same for the libproc2 floor", f"{own:.2f}" if own else "—", "", "info"))
    return out
